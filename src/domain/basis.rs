//! The result of a termin (SPEC §4, §6): basis lines, municipality sums, the new ledger and the control
//! figures. Plain data handed from the engine to the writers; renderers never compute amounts.

use crate::domain::avvik::Avvik;
use crate::domain::ids::{Duf, Knr};
use crate::domain::ledger::{LedgerLine, LineKey};
use crate::domain::rates::RateCode;
use crate::domain::termin::Termin;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// One line of `grunnlag.csv`: one (person, municipality, code, year) with anything accrued or paid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasisLine {
    pub key: LineKey,
    pub duf: Option<Duf>,
    /// Grant year n (IT-6); for EM the count of calendar years since settlement, 1-based.
    pub tilskuddsar: u8,
    /// Months counted, for monthly grants (år 2–5, EM); `None` for år 1 and one-offs (whole amounts).
    pub maneder: Option<u8>,
    /// The yearly rate used (0 when nothing is accrued any more and the line only deducts).
    pub sats: Decimal,
    pub opptjent: Decimal,
    pub tidligere_utbetalt: Decimal,
    /// `opptjent − tidligere_utbetalt` (T-2).
    pub a_utbetale: Decimal,
    /// Rule ids that produced the line, e.g. `IT-6|IT-8|IT-10|IT-13`.
    pub regler: RuleSet,
}

/// Every rule id a basis line can cite (SPEC §4), in SPEC order. [`RuleSet`] stores indexes into it.
pub const RULE_IDS: [&str; 23] = [
    "IT-1", "IT-2", "IT-3", "IT-4", "IT-5", "IT-6", "IT-7", "IT-8", "IT-9", "IT-10", "IT-11",
    "IT-12", "IT-13", "EM-1", "EM-2", "EM-3", "EM-4", "T-1", "T-2", "T-3", "T-4", "T-5",
    // Never cited by the engine: shown should an unknown id ever be pushed (see `RuleSet::push_back`).
    "?",
];
const UNKNOWN_RULE: u8 = 22;

/// The rule ids of one line, in order: twelve bytes inline, so a line costs no heap allocation (issue 6:
/// a national run has millions of lines). At most [`RuleSet::CAPACITY`] ids; the engine cites at most 9
/// (`IT-3 IT-4 IT-6 IT-7 IT-10 IT-12 IT-13 IT-11 T-2`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RuleSet {
    ids: [u8; 11],
    len: u8,
}

impl RuleSet {
    pub const CAPACITY: usize = 11;

    /// The index of `id` in [`RULE_IDS`] (usable in constants).
    pub const fn index(id: &str) -> Option<u8> {
        let mut i = 0;
        while i < RULE_IDS.len() - 1 {
            let a = RULE_IDS[i].as_bytes();
            let b = id.as_bytes();
            if a.len() == b.len() {
                let mut j = 0;
                while j < a.len() && a[j] == b[j] {
                    j += 1;
                }
                if j == a.len() {
                    return Some(i as u8);
                }
            }
            i += 1;
        }
        None
    }

    /// A set from known ids, for constants: `const R: RuleSet = RuleSet::of(&["IT-6", "IT-7"]);` fails to
    /// compile on an unknown id or more than [`Self::CAPACITY`] ids.
    pub const fn of(ids: &[&str]) -> RuleSet {
        assert!(
            ids.len() <= Self::CAPACITY,
            "too many rule ids for a RuleSet"
        );
        let mut r = RuleSet {
            ids: [0; 11],
            len: 0,
        };
        let mut i = 0;
        while i < ids.len() {
            match Self::index(ids[i]) {
                Some(x) => r.ids[i] = x,
                None => panic!("unknown rule id"),
            }
            i += 1;
        }
        r.len = ids.len() as u8;
        r
    }

    /// Appends `id`. An id outside [`RULE_IDS`] is recorded as `?` rather than dropped, so a mistake shows
    /// in the output instead of vanishing; a full set keeps its ids (neither happens: see the tests).
    pub fn push_back(&mut self, id: &str) {
        debug_assert!(Self::index(id).is_some(), "unknown rule id {id}");
        debug_assert!((self.len as usize) < Self::CAPACITY, "RuleSet full");
        if (self.len as usize) < Self::CAPACITY {
            self.ids[self.len as usize] = Self::index(id).unwrap_or(UNKNOWN_RULE);
            self.len += 1;
        }
    }

    /// Puts `id` first (see [`Self::push_back`] for unknown ids).
    pub fn front(&mut self, id: &str) {
        debug_assert!(Self::index(id).is_some(), "unknown rule id {id}");
        debug_assert!((self.len as usize) < Self::CAPACITY, "RuleSet full");
        if (self.len as usize) < Self::CAPACITY {
            let n = self.len as usize;
            self.ids.copy_within(0..n, 1);
            self.ids[0] = Self::index(id).unwrap_or(UNKNOWN_RULE);
            self.len += 1;
        }
    }

    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.ids[..self.len as usize]
            .iter()
            .map(|&i| RULE_IDS[usize::from(i)])
    }

    pub fn contains(&self, id: &str) -> bool {
        self.iter().any(|x| x == id)
    }

    pub fn to_vec(&self) -> Vec<&'static str> {
        self.iter().collect()
    }

    /// `IT-6|IT-10|IT-13`, as `grunnlag.csv` writes them.
    pub fn join(&self, sep: &str) -> String {
        self.to_vec().join(sep)
    }
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<const N: usize> PartialEq<[&str; N]> for RuleSet {
    fn eq(&self, other: &[&str; N]) -> bool {
        self.iter().eq(other.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::Fnr;

    #[test]
    fn rule_sets_keep_order_and_show_unknown_ids() {
        const BASE: RuleSet = RuleSet::of(&["IT-6", "IT-7", "IT-10", "IT-12", "IT-13"]);
        let mut r = BASE;
        r.front("IT-4");
        r.front("IT-3");
        r.push_back("IT-11");
        r.push_back("T-2");
        // The longest list the engine cites (an år 2–5 line of a newborn, IT-3, death, a deduction): 9.
        assert_eq!(
            r.join("|"),
            "IT-3|IT-4|IT-6|IT-7|IT-10|IT-12|IT-13|IT-11|T-2"
        );
        assert_eq!(r.len(), 9);
        assert!(r.contains("IT-11") && !r.contains("IT-1"));
        assert_eq!(
            r,
            ["IT-3", "IT-4", "IT-6", "IT-7", "IT-10", "IT-12", "IT-13", "IT-11", "T-2"]
        );
        // Every id of the table but the sentinel is known; "IT-1" is not mistaken for "IT-10".
        for (i, id) in RULE_IDS[..RULE_IDS.len() - 1].iter().enumerate() {
            assert_eq!(RuleSet::index(id), Some(i as u8), "{id}");
        }
        assert_eq!(RuleSet::index("IT-14"), None);
        assert_eq!(std::mem::size_of::<RuleSet>(), 12);
    }

    #[test]
    fn line_stats_count_persons_once_per_total() {
        use crate::domain::ledger::LineKey;
        let fnr = |i: u32| {
            (i..i + 200)
                .find_map(|x| Fnr::with_control_digits(&format!("0181{x:05}")))
                .unwrap()
        };
        let (a, b) = (fnr(100), fnr(600));
        assert!(a < b);
        let line = |f: Fnr, k: &str, kode: RateCode, ar: i32, amount: i64| BasisLine {
            key: LineKey {
                fnr: f,
                kommune: Knr::parse(k).unwrap(),
                kode,
                ar,
            },
            duf: None,
            tilskuddsar: 2,
            maneder: Some(12),
            sats: Decimal::from(amount),
            opptjent: Decimal::from(amount),
            tidligere_utbetalt: Decimal::from(1),
            a_utbetale: Decimal::from(amount - 1),
            regler: RuleSet::of(&["IT-6"]),
        };
        // Person a: 0301 AR-2 2023 and 2024, 0301 ELDR, 4601 AR-2 2024; person b: 0301 AR-2 2024.
        let lines = vec![
            line(a, "0301", RateCode::Ar2, 2023, 100),
            line(a, "0301", RateCode::Ar2, 2024, 200),
            line(a, "0301", RateCode::Eldr, 2023, 1000),
            line(a, "4601", RateCode::Ar2, 2024, 50),
            line(b, "0301", RateCode::Ar2, 2024, 300),
        ];
        let s = LineStats::of_lines(&lines);
        let k = |x: &str| Knr::parse(x).unwrap();
        let ar2 = &s.per_kode[&(k("0301"), RateCode::Ar2)];
        // 3 lines, 2 persons; opptjent 100 + 200 + 300; a_utbetale 99 + 199 + 299.
        assert_eq!((ar2.persons, ar2.lines), (2, 3));
        assert_eq!(
            (ar2.opptjent, ar2.a_utbetale),
            (Decimal::from(600), Decimal::from(597))
        );
        assert_eq!(s.per_kode[&(k("0301"), RateCode::Eldr)].persons, 1);
        let oslo = &s.per_kommune[&k("0301")];
        // 4 lines of 2 persons in 0301: 100 + 200 + 1000 + 300 = 1600, tidligere 4.
        assert_eq!(
            (oslo.persons, oslo.lines, oslo.opptjent),
            (2, 4, Decimal::from(1600))
        );
        assert_eq!(oslo.tidligere_utbetalt, Decimal::from(4));
        assert_eq!(s.per_kommune[&k("4601")].persons, 1);
        // 2 persons, 5 lines, 1650 accrued, 5 lines to the ledger.
        assert_eq!(
            (s.total.persons, s.total.lines, s.total.to_ledger),
            (2, 5, 5)
        );
        assert_eq!(s.total.opptjent, Decimal::from(1650));
        // The table is indexed by `kode as usize`: RateCode::ALL must list the codes in that order.
        assert!(RateCode::ALL
            .iter()
            .enumerate()
            .all(|(i, c)| *c as usize == i));
        // Blocks of whole persons add up to the same stats.
        let mut parts = LineStats::default();
        parts.add_lines(&lines[..4]);
        parts.add_lines(&lines[4..]);
        assert_eq!(parts, s);
    }

    #[test]
    #[cfg(not(debug_assertions))]
    fn an_unknown_id_is_shown_not_dropped() {
        let mut r = RuleSet::of(&["IT-6"]);
        r.push_back("XX-1");
        assert_eq!(r.join("|"), "IT-6|?");
    }
}

/// One line of `kommuner.csv` (T-3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KommuneSum {
    pub kommune: Knr,
    pub navn: Option<String>,
    /// Sum to pay per code (only codes with lines).
    pub per_kode: BTreeMap<RateCode, Decimal>,
    pub sum: Decimal,
    /// `sum > 0` (T-3).
    pub utbetales: bool,
}

/// Counts that must add up (SPEC non-negotiable: rows in = rows used + rows rejected).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub personer_lest: u64,
    /// Rejected by the readers (bad row).
    pub personer_avvist: u64,
    /// Valid rows excluded by a rule (IT-1…IT-5) or not yet registered (IT-2).
    pub personer_utelatt: u64,
    /// Included persons with at least one basis line.
    pub personer_brukt: u64,
    /// Valid, included persons for whom nothing was accrued or paid this termin (e.g. nothing due yet).
    pub personer_uten_belop: u64,
    /// Of `personer_utelatt`: excluded persons who still have lines, deducting what was paid before (T-2).
    /// `personer_lest = personer_avvist + personer_utelatt + personer_brukt + personer_uten_belop`.
    pub personer_utelatt_med_trekk: u64,
    pub flyttinger_lest: u64,
    pub flyttinger_avvist: u64,
    pub ledger_linjer_lest: u64,
    /// Ledger lines left alone because their person is absent from the extract (T-2).
    pub ledger_linjer_uten_person: u64,
}

/// Totals of a set of basis lines (rapport.xlsx `Sammendrag`, the manifest, the payment check).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineAgg {
    /// Distinct persons among the lines.
    pub persons: u64,
    pub lines: u64,
    pub opptjent: Decimal,
    pub tidligere_utbetalt: Decimal,
    pub a_utbetale: Decimal,
    /// Lines with `a_utbetale ≠ 0`: what T-4 records in the new ledger when the municipality is paid.
    pub to_ledger: u64,
}

impl LineAgg {
    fn add(&mut self, l: &BasisLine, new_person: bool) {
        self.persons += u64::from(new_person);
        self.lines += 1;
        self.opptjent += l.opptjent;
        self.tidligere_utbetalt += l.tidligere_utbetalt;
        self.a_utbetale += l.a_utbetale;
        self.to_ledger += u64::from(!l.a_utbetale.is_zero());
    }

    fn merge(&mut self, o: &LineAgg) {
        self.persons += o.persons;
        self.add_sums(o);
    }

    /// Everything but the persons (who may be the same in two aggregates of one person's lines).
    fn add_sums(&mut self, o: &LineAgg) {
        self.lines += o.lines;
        self.opptjent += o.opptjent;
        self.tidligere_utbetalt += o.tidligere_utbetalt;
        self.a_utbetale += o.a_utbetale;
        self.to_ledger += o.to_ledger;
    }
}

/// What the writers need to know of ALL basis lines without holding them (issue 6: a national run streams
/// its lines to `grunnlag.csv`): totals per (municipality, code), per municipality and overall.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineStats {
    pub per_kode: BTreeMap<(Knr, RateCode), LineAgg>,
    pub per_kommune: BTreeMap<Knr, LineAgg>,
    pub total: LineAgg,
}

impl LineStats {
    /// Adds whole persons' lines, sorted by fnr (the engine's order): a person is counted once in each
    /// total it has lines in (a change of fnr is a new person). Stats of disjoint sets of persons add up
    /// with [`LineStats::merge`].
    pub fn add_lines(&mut self, lines: &[BasisLine]) {
        // Each line's amounts are added once, per (municipality, code), into a table indexed by
        // municipality number and code (no map lookup per line); the municipality totals and the grand
        // total are sums of those (per call, not per line). Persons are counted per total: a person's
        // lines follow each other, and within them the first line of a (municipality, code) or of a
        // municipality counts the person there (a handful of lines: linear scans).
        const CODES: usize = RateCode::ALL.len();
        let mut slot_of = vec![0u16; 10_000]; // kommunenummer → 1 + its slot (0: none yet)
        let mut slots: Vec<(Knr, [LineAgg; CODES], u64)> = Vec::new();
        let mut total_persons = 0u64;
        for person in lines.chunk_by(|a, b| a.key.fnr == b.key.fnr) {
            total_persons += 1;
            for (i, l) in person.iter().enumerate() {
                let before = &person[..i];
                let k = l.key.kommune;
                // A Knr holds four digits (ID-3; `Knr::parse` is its only constructor): < 10 000.
                let at = usize::from(k.code());
                let slot = match slot_of[at] {
                    0 => {
                        slots.push((k, Default::default(), 0));
                        slot_of[at] = slots.len() as u16;
                        slots.len() - 1
                    }
                    n => usize::from(n) - 1,
                };
                let new_k = !before
                    .iter()
                    .any(|x| x.key.kommune == k && x.key.kode == l.key.kode);
                slots[slot].1[l.key.kode as usize].add(l, new_k);
                if !before.iter().any(|x| x.key.kommune == k) {
                    slots[slot].2 += 1;
                }
            }
        }
        let mut local = LineStats::default();
        local.total.persons = total_persons;
        for (k, per_code, persons) in slots {
            let m = local.per_kommune.entry(k).or_default();
            m.persons += persons;
            for (kode, a) in RateCode::ALL.iter().zip(per_code) {
                if a.lines > 0 {
                    m.add_sums(&a);
                    local.total.add_sums(&a);
                    local.per_kode.insert((k, *kode), a);
                }
            }
        }
        self.merge(&local);
    }

    pub fn merge(&mut self, o: &LineStats) {
        for (k, a) in &o.per_kode {
            self.per_kode.entry(*k).or_default().merge(a);
        }
        for (k, a) in &o.per_kommune {
            self.per_kommune.entry(*k).or_default().merge(a);
        }
        self.total.merge(&o.total);
    }

    /// Stats of any lines, sorted by fnr first when they are not (test fixtures build lines in any order).
    pub fn of_lines(lines: &[BasisLine]) -> LineStats {
        let mut s = LineStats::default();
        if lines.is_sorted_by_key(|l| l.key.fnr) {
            s.add_lines(lines);
        } else {
            let mut v = lines.to_vec();
            v.sort_by_key(|l| l.key.fnr); // stable
            s.add_lines(&v);
        }
        s
    }
}

/// Count and sum of ledger lines (T-4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LedgerTotals {
    pub lines: u64,
    pub sum: Decimal,
}

/// Everything one termin run produces except the lines themselves and the new ledger, which a national
/// run streams to `grunnlag.csv` and `utbetalt.csv` instead of holding them (issue 6).
#[derive(Clone, Debug)]
pub struct TerminSummary {
    pub termin: Termin,
    pub basis_date: NaiveDate,
    /// Sorted by kommune.
    pub kommuner: Vec<KommuneSum>,
    pub avvik: Vec<Avvik>,
    /// (year, code) of every rate used.
    pub rates_used: Vec<(i32, RateCode)>,
    pub counts: Counts,
    pub stats: LineStats,
    /// The ledger read in (`--paid`), carried whole into the new ledger (T-4).
    pub ledger_in: LedgerTotals,
}

impl TerminSummary {
    /// The lines this termin adds to the ledger (T-4): the non-zero lines of the municipalities paid now
    /// (`utbetales`, after any left out of the bank file).
    pub fn ledger_now(&self) -> LedgerTotals {
        let mut t = LedgerTotals::default();
        for k in self.kommuner.iter().filter(|k| k.utbetales) {
            if let Some(a) = self.stats.per_kommune.get(&k.kommune) {
                t.lines += a.to_ledger;
                t.sum += a.a_utbetale;
            }
        }
        t
    }

    /// Whether every non-zero line enters the new ledger (every municipality with such lines is paid).
    pub fn all_paid(&self) -> bool {
        self.kommuner.iter().all(|k| {
            k.utbetales
                || self
                    .stats
                    .per_kommune
                    .get(&k.kommune)
                    .is_none_or(|a| a.to_ledger == 0)
        })
    }
}

/// Everything one termin run produces, the lines and the new ledger included (tests, `explain`, small
/// runs; `tilskudd termin` streams them instead). Reads as its [`TerminSummary`] (`r.kommuner`, `r.avvik`).
#[derive(Clone, Debug)]
pub struct TerminResult {
    pub summary: TerminSummary,
    /// Sorted by (fnr, kommune, kode, ar) — the [`LineKey`] order, so that it can be streamed per person.
    pub lines: Vec<BasisLine>,
    /// The ledger read in plus the lines paid now (T-4), sorted.
    pub new_ledger: Vec<LedgerLine>,
}

impl TerminResult {
    /// A result from its parts (test fixtures); the line stats are computed from `lines`, and the lines
    /// of `new_ledger` that are not this termin's new ones count as the ledger read in.
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        termin: Termin,
        basis_date: NaiveDate,
        lines: Vec<BasisLine>,
        kommuner: Vec<KommuneSum>,
        new_ledger: Vec<LedgerLine>,
        avvik: Vec<Avvik>,
        rates_used: Vec<(i32, RateCode)>,
        counts: Counts,
    ) -> TerminResult {
        let mut ledger_in = LedgerTotals::default();
        for l in new_ledger
            .iter()
            .filter(|l| !l.origin.is_empty() || l.termin != termin)
        {
            ledger_in.lines += 1;
            ledger_in.sum += l.belop;
        }
        TerminResult {
            summary: TerminSummary {
                termin,
                basis_date,
                kommuner,
                avvik,
                rates_used,
                counts,
                stats: LineStats::of_lines(&lines),
                ledger_in,
            },
            lines,
            new_ledger,
        }
    }
}

impl TerminResult {
    /// Recomputes the line stats after `lines` were changed by hand (test fixtures).
    pub fn recount(&mut self) {
        self.summary.stats = LineStats::of_lines(&self.lines);
    }
}

impl std::ops::Deref for TerminResult {
    type Target = TerminSummary;
    fn deref(&self) -> &TerminSummary {
        &self.summary
    }
}

impl std::ops::DerefMut for TerminResult {
    fn deref_mut(&mut self) -> &mut TerminSummary {
        &mut self.summary
    }
}
