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

    /// The ids as indexes into [`RULE_IDS`], in order (for writers that prepare the ids' text once).
    pub fn indexes(&self) -> &[u8] {
        &self.ids[..self.len as usize]
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
    fn block_sums_are_the_merged_sums_to_the_scale() {
        use crate::domain::ledger::LineKey;
        let fnr = |i: u32| {
            (i..i + 200)
                .find_map(|x| Fnr::with_control_digits(&format!("0181{x:05}")))
                .unwrap()
        };
        let d = |x: &str| x.parse::<Decimal>().unwrap();
        // Amounts of every scale, zeros with a scale and a sign, sums that cancel to zero.
        let amounts = [
            "164000", "8333.33", "-8333.33", "0", "0.00", "-0.00", "12.5", "-164000",
        ];
        let kommuner = ["0301", "4601", "5001"];
        let codes = [RateCode::Ar1, RateCode::Ar2, RateCode::Eldr];
        let mut lines = Vec::new();
        for p in 0..40u32 {
            let f = fnr(100 + p * 300);
            let mut keys = Vec::new();
            for j in 0..(p % 4 + 1) {
                let i = (p * 3 + j * 5) as usize;
                keys.push((
                    Knr::parse(kommuner[i % 3]).unwrap(),
                    codes[(i / 3) % 3],
                    2020 + j as i32,
                    i,
                ));
            }
            keys.sort();
            keys.dedup_by_key(|k| (k.0, k.1, k.2));
            for (k, kode, ar, i) in keys {
                let a = d(amounts[i % amounts.len()]);
                let t = d(amounts[(i + 3) % amounts.len()]);
                lines.push(BasisLine {
                    key: LineKey {
                        fnr: f,
                        kommune: k,
                        kode,
                        ar,
                    },
                    duf: None,
                    tilskuddsar: 1,
                    maneder: None,
                    sats: a,
                    opptjent: a,
                    tidligere_utbetalt: t,
                    a_utbetale: a - t,
                    regler: RuleSet::default(),
                });
            }
        }
        assert!(lines.is_sorted_by_key(|l| l.key));
        // Blocks of whole persons, as the engine cuts them, merged the way LineStats::merge did.
        let persons: Vec<&[BasisLine]> = lines.chunk_by(|a, b| a.key.fnr == b.key.fnr).collect();
        let mut merged = LineStats::default();
        let mut acc = StatsAcc::default();
        for block in persons.chunks(7) {
            let block: Vec<BasisLine> = block.iter().flat_map(|p| p.iter().cloned()).collect();
            // The block's own stats as the maps held them, then merged.
            let b = BlockStats::of_lines(&block);
            let mut one = StatsAcc::default();
            one.add(&b);
            merged.merge(&one.into_stats());
            acc.add(&b);
        }
        let via_acc = acc.into_stats();
        assert_eq!(via_acc, merged);
        // Equal to the scale and the sign of zero (Debug shows both), not only in value.
        let show = |s: &LineStats| format!("{:?}", (&s.per_kode, &s.per_kommune, &s.total));
        assert_eq!(show(&via_acc), show(&merged));
        assert_eq!(via_acc, LineStats::of_lines(&lines));
        // A cell of scale-0 amounts keeps scale 0 (164000, not 164000.00).
        assert!(show(&via_acc).contains("164000,") || show(&via_acc).contains("164000 "));
    }

    /// `OreSum` against `Decimal`'s own `+=` from zero, compared bit for bit (value, scale, sign of zero)
    /// over sequences of edge terms: zeros of every scale and sign, cancellations, other scales, i64
    /// overflow, mantissas beyond 64 bits.
    #[test]
    fn ore_sums_are_the_decimal_sums() {
        let d = |x: &str| x.parse::<Decimal>().unwrap();
        let terms: Vec<Decimal> = [
            "0",
            "-0",
            "0.00",
            "-0.00",
            "0.0",
            "0.000",
            "0.01",
            "-0.01",
            "8333.33",
            "-8333.33",
            "164000",
            "-164000",
            "164000.00",
            "12.5",
            "-12.50",
            "0.005",
            "92233720368547758.07",
            "-92233720368547758.08",
            "92233720368547758.08",
            "79228162514264337593543950.33",
            "-1.00",
            "1.00",
        ]
        .iter()
        .map(|x| d(x))
        .collect();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut checked = 0;
        for round in 0..20_000 {
            let len = (next() % 9) as usize;
            // Mostly scale-2 terms (the fast path), now and then any other.
            let seq: Vec<Decimal> = (0..len)
                .map(|_| {
                    let r = next();
                    if round % 3 == 0 || r % 5 == 0 {
                        terms[(r >> 8) as usize % terms.len()]
                    } else {
                        Decimal::new((r >> 20) as i64 % 2000 - 1000, 2)
                    }
                })
                .collect();
            let mut want = Decimal::ZERO;
            let mut got = OreSum::default();
            for t in &seq {
                want += *t;
                got.add(*t);
                assert_eq!(got.get().serialize(), want.serialize(), "{seq:?}");
                checked += 1;
            }
        }
        assert!(checked > 50_000);
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
    /// with [`LineStats::merge`]. (The engine adds blocks with [`BlockStats`] and [`StatsAcc`] instead:
    /// the same sums, in the same order, without a map per block.)
    pub fn add_lines(&mut self, lines: &[BasisLine]) {
        let mut acc = StatsAcc::default();
        acc.add(&BlockStats::of_lines(lines));
        self.merge(&acc.into_stats());
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

/// The totals of one block of whole persons' lines (sorted by fnr), per (municipality, code), before
/// they are added to a [`StatsAcc`]. Each line's amounts are added once, into the cell of its
/// (municipality, code); the municipality totals and the grand total are sums of the cells. Persons are
/// counted per total: a person's lines follow each other, and within them the first line of a
/// (municipality, code) or of a municipality counts the person there (a handful of lines: linear scans).
/// A cell sums in whole øre ([`OreSum`]), giving the same `Decimal`s as adding them.
#[derive(Default)]
pub struct BlockStats {
    /// Municipalities in order of first appearance: the municipality, its persons, and per code
    /// `1 + index` of its cell in `cells` (0: no line).
    slots: Vec<(Knr, u64, [u32; CODES])>,
    cells: Vec<LineAgg>,
    persons: u64,
}

const CODES: usize = RateCode::ALL.len();

/// Slots of a municipality number (a `Knr` holds four digits, ID-3: below 10 000).
const KNR_SLOTS: usize = 10_000;

impl BlockStats {
    pub fn of_lines(lines: &[BasisLine]) -> BlockStats {
        let mut b = BlockStats::default();
        if lines.is_empty() {
            return b;
        }
        SLOT_OF.with_borrow_mut(|slot_of| {
            if slot_of.len() != KNR_SLOTS {
                *slot_of = vec![0u32; KNR_SLOTS]; // kommunenummer → 1 + its slot (0: none yet)
            }
            let mut cells: Vec<CellSums> = Vec::new();
            for person in lines.chunk_by(|a, b| a.key.fnr == b.key.fnr) {
                b.persons += 1;
                for (i, l) in person.iter().enumerate() {
                    let before = &person[..i];
                    let k = l.key.kommune;
                    // `Knr::parse` is its only constructor: four digits, < 10 000.
                    let at = usize::from(k.code()).min(KNR_SLOTS - 1);
                    let slot = match slot_of[at] {
                        // `get`: an entry left by an earlier block (even one that unwound) may point
                        // past this block's slots.
                        n if n > 0 && b.slots.get(n as usize - 1).is_some_and(|s| s.0 == k) => {
                            n as usize - 1
                        }
                        _ => {
                            b.slots.push((k, 0, [0; CODES]));
                            slot_of[at] = b.slots.len() as u32;
                            b.slots.len() - 1
                        }
                    };
                    let code = l.key.kode as usize;
                    let cell = match b.slots[slot].2[code] {
                        0 => {
                            cells.push(CellSums::default());
                            b.slots[slot].2[code] = cells.len() as u32;
                            cells.len() - 1
                        }
                        n => n as usize - 1,
                    };
                    let new_k = !before
                        .iter()
                        .any(|x| x.key.kommune == k && x.key.kode == l.key.kode);
                    cells[cell].add(l, new_k);
                    if !before.iter().any(|x| x.key.kommune == k) {
                        b.slots[slot].1 += 1;
                    }
                }
            }
            // The table is left empty for the thread's next block.
            for (k, _, _) in &b.slots {
                slot_of[usize::from(k.code()).min(KNR_SLOTS - 1)] = 0;
            }
            b.cells = cells.iter().map(CellSums::agg).collect();
        });
        b
    }
}

thread_local! {
    /// [`BlockStats::of_lines`]' table of municipality slots, kept per thread (all zero between blocks)
    /// instead of 40 kB zeroed per block.
    static SLOT_OF: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A [`LineAgg`] of one block's cell being summed ([`OreSum`]).
#[derive(Default)]
struct CellSums {
    persons: u64,
    lines: u64,
    opptjent: OreSum,
    tidligere_utbetalt: OreSum,
    a_utbetale: OreSum,
    to_ledger: u64,
}

impl CellSums {
    /// One line of the cell, `new_person` when its person is counted here for the first time.
    #[inline]
    fn add(&mut self, l: &BasisLine, new_person: bool) {
        self.persons += u64::from(new_person);
        self.lines += 1;
        self.opptjent.add(l.opptjent);
        self.tidligere_utbetalt.add(l.tidligere_utbetalt);
        self.a_utbetale.add(l.a_utbetale);
        self.to_ledger += u64::from(!l.a_utbetale.is_zero());
    }

    fn agg(&self) -> LineAgg {
        LineAgg {
            persons: self.persons,
            lines: self.lines,
            opptjent: self.opptjent.get(),
            tidligere_utbetalt: self.tidligere_utbetalt.get(),
            a_utbetale: self.a_utbetale.get(),
            to_ledger: self.to_ledger,
        }
    }
}

/// A running sum of `Decimal`s from `Decimal::ZERO` that is exactly the `Decimal` that `+=` gives — the
/// value, the scale and the sign of zero — kept in whole øre while every non-zero term is (scale 2, an
/// `i64` mantissa: every amount of the engine, IT-13), and as a `Decimal` from the first term that is
/// not (or an `i64` overflow). rust_decimal's addition, which this follows: a zero sum plus `x` is `x`
/// itself, a sum plus a zero is the sum unchanged, and two non-zero terms of scale 2 give the exact
/// result at scale 2 with a zero result positive (held by `ore_sums_are_the_decimal_sums`).
#[derive(Clone, Copy, Debug)]
enum OreSum {
    /// `ore ≠ 0`: the sum is `ore` øre at scale 2. `ore = 0`: the sum is `zero`.
    Ore {
        ore: i64,
        zero: Decimal,
    },
    Dec(Decimal),
}

impl Default for OreSum {
    fn default() -> Self {
        OreSum::Ore {
            ore: 0,
            zero: Decimal::ZERO,
        }
    }
}

impl OreSum {
    #[inline]
    fn add(&mut self, x: Decimal) {
        if let OreSum::Ore { ore, zero } = self {
            if x.is_zero() {
                if *ore == 0 {
                    *zero = x;
                }
                return;
            }
            if x.scale() == 2 {
                if let Ok(m) = i64::try_from(x.mantissa()) {
                    if *ore == 0 {
                        *ore = m;
                        return;
                    }
                    if let Some(sum) = ore.checked_add(m) {
                        if sum == 0 {
                            *zero = Decimal::new(0, 2);
                        }
                        *ore = sum;
                        return;
                    }
                }
            }
            *self = OreSum::Dec(self.get());
        }
        if let OreSum::Dec(d) = self {
            *d += x;
        }
    }

    fn get(&self) -> Decimal {
        match *self {
            OreSum::Ore { ore: 0, zero } => zero,
            OreSum::Ore { ore, .. } => Decimal::new(ore, 2),
            OreSum::Dec(d) => d,
        }
    }
}

/// [`LineStats`] being added up block by block, in order: one slot per municipality with a cell per code
/// (a table indexed by municipality number finds it), turned into the maps once at the end
/// ([`StatsAcc::into_stats`]). Every sum gets the additions, in the order, that [`LineStats::merge`] of
/// each block's stats gave it, except the merge's first `0 + x` per block: rust_decimal returns the other
/// operand unchanged when one side is zero, so the `Decimal`s are the same to the scale and the sign of
/// zero (held by `block_sums_are_the_merged_sums_to_the_scale`).
#[derive(Default)]
pub struct StatsAcc {
    slot_of: Vec<u32>,
    /// The municipality, its total, and per code its total if any line was added.
    slots: Vec<(Knr, LineAgg, [Option<LineAgg>; CODES])>,
    total: LineAgg,
}

impl StatsAcc {
    /// Adds the stats of a block of persons none of whose persons was added before.
    pub fn add(&mut self, b: &BlockStats) {
        if self.slot_of.is_empty() {
            self.slot_of = vec![0; KNR_SLOTS];
        }
        // As the block's own LineStats: its municipality totals and its grand total are sums of its
        // cells (slots in order of appearance, codes in code order), each added to the running totals.
        let mut total = LineAgg {
            persons: b.persons,
            ..LineAgg::default()
        };
        for (k, persons, cells) in &b.slots {
            let at = usize::from(k.code()).min(KNR_SLOTS - 1);
            let slot = match self.slot_of[at] {
                n if n > 0 && self.slots[n as usize - 1].0 == *k => n as usize - 1,
                _ => {
                    self.slots
                        .push((*k, LineAgg::default(), Default::default()));
                    self.slot_of[at] = self.slots.len() as u32;
                    self.slots.len() - 1
                }
            };
            let mut m = LineAgg {
                persons: *persons,
                ..LineAgg::default()
            };
            let acc = &mut self.slots[slot];
            for (code, &c) in cells.iter().enumerate() {
                if c == 0 {
                    continue;
                }
                let a = &b.cells[c as usize - 1];
                if a.lines > 0 {
                    m.add_sums(a);
                    total.add_sums(a);
                    acc.2[code].get_or_insert_with(LineAgg::default).merge(a);
                }
            }
            acc.1.merge(&m);
        }
        self.total.merge(&total);
    }

    pub fn into_stats(self) -> LineStats {
        let mut s = LineStats {
            total: self.total,
            ..LineStats::default()
        };
        for (k, m, cells) in self.slots {
            s.per_kommune.insert(k, m);
            for (kode, a) in RateCode::ALL.iter().zip(cells) {
                if let Some(a) = a {
                    s.per_kode.insert((k, *kode), a);
                }
            }
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
    /// Avvik `ukjent_person_i_reskontro` (T-2) a streaming sink wrote itself ([`LineSink::orphans`]):
    /// counted here, not held in `avvik`; `avvik.csv` holds them after the persons' avvik.
    ///
    /// [`LineSink::orphans`]: crate::domain::engine::LineSink::orphans
    pub orphans_written: u64,
}

impl TerminSummary {
    /// Every avvik of the run: those held in `avvik` and those a sink wrote itself.
    pub fn avvik_count(&self) -> u64 {
        self.avvik.len() as u64 + self.orphans_written
    }

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
                orphans_written: 0,
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
