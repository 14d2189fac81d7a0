//! The termin engine (SPEC §4): applies IT-1…IT-13 and EM-1…EM-4 to every person of a DSF extract, accrues
//! what is due by the end of the termin (T-1), nets it against the ledger (T-2), sums per municipality and
//! decides who is paid (T-3), and builds the new ledger (T-4).
//!
//! One person at a time goes through [`Engine::assess`] (rules → accruals per line key) and
//! [`net_person`] (accrued − already paid). `tilskudd explain` calls exactly these two functions with
//! tracing switched on, so its trail reproduces the person's `grunnlag.csv` lines by construction.

use crate::domain::avvik::Avvik;
pub use crate::domain::basis::RuleSet;
use crate::domain::basis::{
    BasisLine, Counts, KommuneSum, LedgerTotals, LineStats, TerminResult, TerminSummary,
};
use crate::domain::ids::{Duf, Fnr, Knr};
use crate::domain::kommune::KommuneRegister;
use crate::domain::ledger::{LedgerLine, LineKey};
use crate::domain::person::{Extract, Flytting, Person};
use crate::domain::rates::{MissingRate, RateCode, RateTable};
use crate::domain::rules::em;
use crate::domain::rules::it::{self, Exclusion, Newborn, Residence};
use crate::domain::termin::Termin;
use chrono::{Datelike, NaiveDate};
use rayon::prelude::*;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

/// A fast non-cryptographic hasher (the rotate–xor–multiply of rustc's FxHash) for the engine's indexes
/// by fnr, sak and rate: SipHash was a visible share of a national run. The keys come from the
/// operator's own files, so hash flooding is not a concern.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// What a termin run is asked to compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    pub termin: Termin,
    /// Registration cut-off (IT-2), default the quarter's last day. Events dated after it are not known
    /// to this termin [model (a)].
    pub basis_date: NaiveDate,
    /// First settlement year paid automatically (IT-3).
    pub auto_from: i32,
}

impl Params {
    pub fn new(termin: Termin, basis_date: Option<NaiveDate>, auto_from: i32) -> Params {
        Params {
            termin,
            basis_date: basis_date.unwrap_or_else(|| termin.basis_date()),
            auto_from,
        }
    }
}

/// One step of a person's trail, for `explain`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub rule: &'static str,
    pub text: String,
}

/// One month of one calendar year of one grant, for `explain` (IT-10/IT-13 arithmetic).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonthShare {
    pub month: u32,
    /// The last day of month m − 2 (IT-10).
    pub reference: NaiveDate,
    pub owner: Knr,
    /// IT-13 share of the yearly amount.
    pub amount: Decimal,
    /// `None`: counted. `Some(rule)`: not counted, and the rule that cut it (IT-11, EM-3, IT-12).
    pub cut_by: Option<&'static str>,
}

/// One grant for one calendar year, for `explain`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YearCalc {
    pub kode: RateCode,
    pub ar: i32,
    pub tilskuddsar: u8,
    /// The yearly rate.
    pub sats: Decimal,
    /// `true` for år 2–5 and EM (due month by month); `false` for år 1 and one-offs (due whole).
    pub monthly: bool,
    /// Twelve months for IT/EM years; empty for one-offs (wholly to the settlement municipality, IT-9).
    pub months: Vec<MonthShare>,
}

/// What was accrued for one line key (T-1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accrual {
    pub key: LineKey,
    pub tilskuddsar: u8,
    /// Months counted (monthly grants only).
    pub maneder: Option<u8>,
    pub sats: Decimal,
    pub opptjent: Decimal,
    pub regler: RuleSet,
}

/// Whether the person is paid for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Included,
    Excluded(Exclusion),
}

/// The rules applied to one person.
#[derive(Clone, Debug)]
pub struct Assessment {
    pub fnr: Fnr,
    pub duf: Option<Duf>,
    pub status: Status,
    /// Effective settlement date and municipality (IT-4 replaces them for newborns).
    pub settlement_date: NaiveDate,
    pub settlement_kommune: Knr,
    /// Rule warnings (`mor_ikke_funnet`, `referent_ikke_funnet`) and the exclusion, if any.
    pub avvik: Vec<Avvik>,
    /// Sorted by key.
    pub accruals: Vec<Accrual>,
    /// (year, code) of every rate looked up.
    pub rates_used: Vec<(i32, RateCode)>,
    /// Filled only when tracing (`explain`).
    pub steps: Vec<Step>,
    /// Filled only when tracing (`explain`).
    pub years: Vec<YearCalc>,
}

impl Assessment {
    pub fn settlement_year(&self) -> i32 {
        self.settlement_date.year()
    }
}

/// The engine over one extract, rate table and ledger. Indexes are built once; [`Engine::assess`] is pure.
pub struct Engine<'a> {
    pub params: Params,
    pub extract: &'a Extract,
    pub rates: &'a RateTable,
    pub ledger: &'a [LedgerLine],
    persons: FxMap<Fnr, &'a Person>,
    /// Moves known on the basis date, per person, in date order (ties in file order).
    moves: FxMap<Fnr, Vec<&'a Flytting>>,
    /// IT-8: persons per `sak_id`, IT-4 newborns not counted, all accepted rows counted.
    sak_counts: FxMap<&'a str, u32>,
    ledger_by_fnr: FxMap<Fnr, Vec<&'a LedgerLine>>,
    /// IT-13 month amounts of every rate, computed once per (year, code) instead of once per person.
    month_amounts: FxMap<(i32, RateCode), [Decimal; 12]>,
}

fn known(d: Option<NaiveDate>, basis: NaiveDate) -> Option<NaiveDate> {
    // [model (a)] events dated after the basis date are not yet known to this termin.
    d.filter(|d| *d <= basis)
}

impl<'a> Engine<'a> {
    pub fn new(
        params: Params,
        extract: &'a Extract,
        rates: &'a RateTable,
        ledger: &'a [LedgerLine],
    ) -> Engine<'a> {
        let mut persons: FxMap<Fnr, &Person> =
            FxMap::with_capacity_and_hasher(extract.personer.len(), Default::default());
        for p in &extract.personer {
            // The reader refuses duplicates; should one slip through, the first row wins.
            persons.entry(p.fnr).or_insert(p);
        }
        let mut moves: FxMap<Fnr, Vec<&Flytting>> = FxMap::default();
        for f in &extract.flyttinger {
            if f.flyttedato <= params.basis_date {
                moves.entry(f.fnr).or_default().push(f);
            }
        }
        for v in moves.values_mut() {
            v.sort_by_key(|f| f.flyttedato); // stable: same-date moves keep file order (SPEC §1.4)
        }
        let mut engine = Engine {
            params,
            extract,
            rates,
            ledger,
            persons,
            moves,
            sak_counts: FxMap::default(),
            ledger_by_fnr: FxMap::default(),
            month_amounts: rates
                .iter()
                .map(|r| ((r.ar, r.kode), it::it13_month_amounts(r.belop)))
                .collect(),
        };
        let mut sak_counts: FxMap<&str, u32> = FxMap::default();
        for p in &extract.personer {
            if !engine.is_it4_newborn(p) {
                *sak_counts.entry(p.sak_id.as_str()).or_default() += 1;
            }
        }
        engine.sak_counts = sak_counts;
        let mut by_fnr: FxMap<Fnr, Vec<&LedgerLine>> = FxMap::default();
        for l in ledger {
            by_fnr.entry(l.key.fnr).or_default().push(l);
        }
        engine.ledger_by_fnr = by_fnr;
        engine
    }

    pub fn person(&self, fnr: &Fnr) -> Option<&'a Person> {
        self.persons.get(fnr).copied()
    }

    /// The ledger lines of one person, in ledger order.
    pub fn paid_lines(&self, fnr: &Fnr) -> &[&'a LedgerLine] {
        self.ledger_by_fnr
            .get(fnr)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// [model] For the IT-8 count: a person with `mor_fnr` born after the mother's settlement (mother in
    /// the extract), or on/after its own `bosettingsdato` when the mother is absent.
    fn is_it4_newborn(&self, p: &Person) -> bool {
        match p.mor_fnr {
            None => false,
            Some(m) => match self.persons.get(&m) {
                Some(mother) => p.fodselsdato > mother.bosettingsdato,
                None => p.fodselsdato >= p.bosettingsdato,
            },
        }
    }

    /// A person's residence over time, from a given settlement (IT-10), with the moves known now.
    fn residence(&self, fnr: &Fnr, settled: NaiveDate, first: Knr) -> Residence {
        let moves = self
            .moves
            .get(fnr)
            .map(|v| v.iter().map(|f| (f.flyttedato, f.til_kommune)).collect())
            .unwrap_or_default();
        Residence {
            settled,
            first,
            moves,
        }
    }

    /// IT-7 / EM-2: the rate of the calendar year, with its twelve IT-13 month amounts; a missing rate
    /// stops the run (SPEC §1.6).
    fn rate(
        &self,
        year: i32,
        kode: RateCode,
        used: &mut Vec<(i32, RateCode)>,
    ) -> Result<(Decimal, &[Decimal; 12]), MissingRate> {
        let r = self.rates.get(year, kode)?;
        let months = self
            .month_amounts
            .get(&(year, kode))
            .ok_or(MissingRate { year, kode })?;
        used.push((year, kode));
        Ok((r.belop, months))
    }

    /// Applies every rule to one person. `trace` fills the explanatory steps and month tables (explain).
    pub fn assess(&self, p: &Person, trace: bool) -> Result<Assessment, MissingRate> {
        let prm = self.params;
        let mut a = Assessment {
            fnr: p.fnr,
            duf: p.duf,
            status: Status::Included,
            settlement_date: p.bosettingsdato,
            settlement_kommune: p.bosettingskommune,
            avvik: Vec::new(),
            accruals: Vec::new(),
            rates_used: Vec::new(),
            steps: Vec::new(),
            years: Vec::new(),
        };
        macro_rules! step {
            ($rule:expr, $($fmt:tt)*) => {
                if trace {
                    a.steps.push(Step { rule: $rule, text: format!($($fmt)*) });
                }
            };
        }
        let file = self.extract.personer_file.as_str();
        let exclude = |a: &mut Assessment, e: Exclusion, why: String| {
            a.status = Status::Excluded(e);
            a.avvik.push(
                Avvik::rejected(
                    file,
                    Some(p.line),
                    Some(e.column()),
                    e.code(),
                    format!("{}: {why}", e.rule()),
                )
                .with_fnr(Some(p.fnr)),
            );
        };

        // IT-4 first determines the effective settlement (the exclusion itself is checked in rule order below).
        let mut newborn = Newborn::No;
        if let Some(mor) = p.mor_fnr {
            match self.persons.get(&mor) {
                Some(m) => {
                    newborn = it::it4_newborn(p.fodselsdato, m.bosettingsdato);
                    if let Newborn::Within { limit } = newborn {
                        let mres = self.residence(&m.fnr, m.bosettingsdato, m.bosettingskommune);
                        a.settlement_date = p.fodselsdato;
                        a.settlement_kommune = mres.on(p.fodselsdato);
                        step!(
                            "IT-4",
                            "born {} after the mother's settlement {} and no later than {} (6 months): newborn; settlement date = birth date {}, municipality = mother's residence that day {}",
                            p.fodselsdato, m.bosettingsdato, limit, a.settlement_date, a.settlement_kommune
                        );
                    } else if newborn == Newborn::No {
                        step!("IT-4", "born {} on or before the mother's settlement {}: not a newborn, own row used", p.fodselsdato, m.bosettingsdato);
                    }
                }
                None => {
                    a.avvik.push(
                        Avvik::warning(
                            file,
                            Some(p.line),
                            Some("mor_fnr"),
                            "mor_ikke_funnet",
                            format!("IT-4: mother {} is not in the extract; the child's own row is used", mor.masked()),
                        )
                        .with_fnr(Some(p.fnr)),
                    );
                    step!(
                        "IT-4",
                        "mother {} not in the extract (warning mor_ikke_funnet): own row used",
                        mor.masked()
                    );
                }
            }
        }
        let ys = a.settlement_date.year();

        // IT-1
        if let Err(e) = it::it1_target_group(p.malgruppe) {
            step!(
                "IT-1",
                "malgruppe = {}: not in the target group → out ({})",
                p.malgruppe,
                e.code()
            );
            exclude(&mut a, e, format!("malgruppe is '{}'", p.malgruppe));
            return Ok(a);
        }
        step!("IT-1", "malgruppe = {}: in the target group", p.malgruppe);

        // IT-2
        if let Err(e) = it::it2_registered(a.settlement_date, p.registrert_dato, prm.basis_date) {
            step!(
                "IT-2",
                "settlement {} / registered {} not both on or before the basis date {} → out ({}); paid in a later termin",
                a.settlement_date, p.registrert_dato, prm.basis_date, e.code()
            );
            let why = format!(
                "settled {} and registered {}, basis date {}: counts from a later termin",
                a.settlement_date, p.registrert_dato, prm.basis_date
            );
            exclude(&mut a, e, why);
            return Ok(a);
        }
        step!(
            "IT-2",
            "settled {} and registered {}, both on or before the basis date {}",
            a.settlement_date,
            p.registrert_dato,
            prm.basis_date
        );

        // IT-3
        let first_year = match it::it3_first_accruing_year(ys, p.tidligere_utlost, prm.auto_from) {
            Ok(y) => {
                if y > ys {
                    step!("IT-3", "settled {ys} before automatic payment ({}), tidligere_utlost = ja: only calendar years ≥ {y} accrue [model (b)]", prm.auto_from);
                } else {
                    step!(
                        "IT-3",
                        "settled {ys}, in or after the automatic-payment start {}",
                        prm.auto_from
                    );
                }
                y
            }
            Err(e) => {
                step!("IT-3", "settled {ys} before automatic payment ({}) and tidligere_utlost = nei → out ({})", prm.auto_from, e.code());
                exclude(
                    &mut a,
                    e,
                    format!("settled in {ys}, before automatic payment started in {}, and no grant triggered before: the municipality must apply", prm.auto_from),
                );
                return Ok(a);
            }
        };

        // IT-4 exclusion
        if let Newborn::TooLate { limit } = newborn {
            step!("IT-4", "born {} more than 6 months after the mother's settlement (limit {limit}) → out (fodt_etter_6_mnd)", p.fodselsdato);
            exclude(
                &mut a,
                Exclusion::FodtEtter6Mnd,
                format!(
                    "born {}, later than {limit} (6 months after the mother's settlement)",
                    p.fodselsdato
                ),
            );
            return Ok(a);
        }

        // IT-5
        if p.malgruppe.is_family() {
            if let (Some(r), Some(sd)) = (p.referanse_fnr, p.familie_soknadsdato) {
                match self.persons.get(&r) {
                    Some(rp) => match it::it5_family_five_years(rp.bosettingsdato, sd) {
                        Ok(limit) => step!("IT-5", "family permit applied for {sd}, no later than {limit} (referent settled {} + 5 years)", rp.bosettingsdato),
                        Err(e) => {
                            let limit = it::add_months(rp.bosettingsdato, 60);
                            step!("IT-5", "family permit applied for {sd}, later than {limit} (referent settled {} + 5 years) → out ({})", rp.bosettingsdato, e.code());
                            exclude(&mut a, e, format!("applied {sd}, more than 5 years after the referent's settlement {}", rp.bosettingsdato));
                            return Ok(a);
                        }
                    },
                    None => {
                        a.avvik.push(
                            Avvik::warning(
                                file,
                                Some(p.line),
                                Some("referanse_fnr"),
                                "referent_ikke_funnet",
                                format!("IT-5: referent {} is not in the extract; the 5-year rule could not be checked", r.masked()),
                            )
                            .with_fnr(Some(p.fnr)),
                        );
                        step!("IT-5", "referent {} not in the extract (warning referent_ikke_funnet): 5-year rule not checked", r.masked());
                    }
                }
            }
        }

        // --- Included: accrue (T-1). ---
        let res = self.residence(&p.fnr, a.settlement_date, a.settlement_kommune);
        let death = match (
            known(p.dodsdato, prm.basis_date),
            known(p.utvandringsdato, prm.basis_date),
        ) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        if trace {
            for (d, k) in &res.moves {
                step!("IT-10", "move on {d} to {k}");
            }
            if let Some(e) = death {
                step!("IT-11", "death/emigration on {e}: år 2–5 carry nothing after {}-{:02}; år 1 and one-offs are kept whole", e.year(), e.month());
            }
        }
        // IT-10: without moves every month belongs to the settlement municipality; the reference date is
        // then only needed for the explain trail.
        let owner_of = |y: i32, m: u32| -> (Knr, NaiveDate) {
            if res.moves.is_empty() && !trace {
                (res.first, NaiveDate::MIN)
            } else {
                it::it10_owner(&res, y, m, death)
            }
        };
        // A person has few line keys (a handful per grant year): a small vector searched linearly beats a
        // map, and is sorted by key once at the end.
        let mut acc: Vec<Accrual> = Vec::with_capacity(16);
        let newborn_rule = matches!(newborn, Newborn::Within { .. });
        let it3_rule = first_year > ys;

        let n_max = it::it6_grant_years(p.malgruppe);
        step!(
            "IT-6",
            "grant years 1..{n_max} = calendar years {ys}..{} ({})",
            it::it6_calendar_year(ys, n_max),
            p.malgruppe
        );

        for n in 1..=n_max {
            let y = it::it6_calendar_year(ys, n);
            if y < first_year {
                step!(
                    "IT-3",
                    "år {n} ({y}) is before {first_year}: not accrued here"
                );
                continue;
            }
            if n == 1 {
                // IT-8 category; IT-12: år 1 is due in full in the first termin the person counts.
                let is_child = it::it8_is_child(p.fodselsdato, ys);
                let alone = self.sak_counts.get(p.sak_id.as_str()).copied().unwrap_or(0) <= 1;
                let code = it::it8_year1_code(p.enslig_mindrearig, is_child, alone);
                step!(
                    "IT-8",
                    "år 1 category {code}: enslig_mindrearig = {}, born {} (turns 18 in {}; child = {is_child}), persons in sak '{}' (newborns not counted) = {}",
                    yn(p.enslig_mindrearig), p.fodselsdato, p.fodselsdato.year() + 18, p.sak_id,
                    self.sak_counts.get(p.sak_id.as_str()).copied().unwrap_or(0)
                );
                let (sats, month_amounts) = self.rate(y, code, &mut a.rates_used)?;
                let mut regler = RuleSet::of(&["IT-6", "IT-7", "IT-8", "IT-10", "IT-12", "IT-13"]);
                if newborn_rule {
                    regler.front("IT-4");
                }
                let mut months = Vec::new();
                for m in 1..=12 {
                    let (owner, reference) = owner_of(y, m);
                    let amount = month_amounts[m as usize - 1];
                    add(
                        &mut acc,
                        LineKey {
                            fnr: p.fnr,
                            kommune: owner,
                            kode: code,
                            ar: y,
                        },
                        n,
                        false,
                        sats,
                        amount,
                        &regler,
                    );
                    if trace {
                        months.push(MonthShare {
                            month: m,
                            reference,
                            owner,
                            amount,
                            cut_by: None,
                        });
                    }
                }
                if trace {
                    a.years.push(YearCalc {
                        kode: code,
                        ar: y,
                        tilskuddsar: n,
                        sats,
                        monthly: false,
                        months,
                    });
                }
                // IT-9 one-offs, wholly to the settlement municipality.
                let age = it::age_on(p.fodselsdato, a.settlement_date);
                match it::it9_one_offs(p.fodselsdato, a.settlement_date) {
                    Some(code) => {
                        step!(
                            "IT-9",
                            "age {age} on the settlement date {}: one-off {code}",
                            a.settlement_date
                        );
                        let (sats, _) = self.rate(y, code, &mut a.rates_used)?;
                        let mut regler = RuleSet::of(&["IT-7", "IT-9", "IT-12"]);
                        if newborn_rule {
                            regler.front("IT-4");
                        }
                        add(
                            &mut acc,
                            LineKey {
                                fnr: p.fnr,
                                kommune: a.settlement_kommune,
                                kode: code,
                                ar: y,
                            },
                            n,
                            false,
                            sats,
                            sats,
                            &regler,
                        );
                        if trace {
                            a.years.push(YearCalc {
                                kode: code,
                                ar: y,
                                tilskuddsar: n,
                                sats,
                                monthly: false,
                                months: Vec::new(),
                            });
                        }
                    }
                    None => step!(
                        "IT-9",
                        "age {age} on the settlement date {}: no one-off (ELDR ≥ 60, BHT < 6)",
                        a.settlement_date
                    ),
                }
                continue;
            }
            // år 2–5: month by month (IT-10, IT-11, IT-12, IT-13).
            let Some(code) = RateCode::for_grant_year(n) else {
                continue;
            };
            let due: [(u32, Option<&'static str>); 12] = std::array::from_fn(|i| {
                let m = i as u32 + 1;
                let cut = if !it::it11_month_counts(death, y, m) {
                    Some("IT-11")
                } else if !it::it12_month_due(prm.termin, y, m) {
                    Some("IT-12")
                } else {
                    None
                };
                (m, cut)
            });
            if due.iter().all(|(_, c)| c.is_some()) {
                if trace && due.iter().any(|(_, c)| *c == Some("IT-11")) {
                    step!(
                        "IT-11",
                        "år {n} ({y}): no month left after death/emigration"
                    );
                } else {
                    step!("IT-12", "år {n} ({y}): no month due yet in {}", prm.termin);
                }
                continue;
            }
            let (sats, month_amounts) = self.rate(y, code, &mut a.rates_used)?;
            let mut regler = RuleSet::of(&["IT-6", "IT-7", "IT-10", "IT-12", "IT-13"]);
            if newborn_rule {
                regler.front("IT-4");
            }
            if it3_rule {
                regler.front("IT-3");
            }
            if due.iter().any(|(_, c)| *c == Some("IT-11")) {
                regler.push_back("IT-11");
            }
            let line = MonthlyYear {
                fnr: p.fnr,
                kode: code,
                ar: y,
                tilskuddsar: n,
                sats,
            };
            if let Some(calc) = accrue_months(
                &mut acc,
                &line,
                month_amounts,
                &due,
                &regler,
                &owner_of,
                trace,
            ) {
                a.years.push(calc);
            }
        }

        // EM-1…EM-4
        if em::em1_eligible(p.enslig_mindrearig, p.bosatt_etter_avtale) {
            let b = p.fodselsdato.year();
            let stop = [
                known(p.dodsdato, prm.basis_date),
                known(p.utvandringsdato, prm.basis_date),
                known(p.gjenforent_dato, prm.basis_date),
            ]
            .into_iter()
            .flatten()
            .min();
            step!(
                "EM-1",
                "unaccompanied minor settled by agreement: EM grant from {}-{:02} to December {} (year of turning 20){}",
                a.settlement_date.year(), a.settlement_date.month(), b + 20,
                stop.map(|s| format!(", stopping after {}-{:02} (death/emigration/reunion {s})", s.year(), s.month())).unwrap_or_default()
            );
            for y in em::em3_years(a.settlement_date, b) {
                if y < first_year {
                    step!("IT-3", "EM {y} is before {first_year}: not accrued here");
                    continue;
                }
                let Some(code) = em::em2_category(y, b) else {
                    continue;
                };
                let due: [(u32, Option<&'static str>); 12] = std::array::from_fn(|i| {
                    let m = i as u32 + 1;
                    let cut = if !em::em3_month_counts(a.settlement_date, b, stop, y, m) {
                        Some("EM-3")
                    } else if !it::it12_month_due(prm.termin, y, m) {
                        Some("IT-12")
                    } else {
                        None
                    };
                    (m, cut)
                });
                if due.iter().all(|(_, c)| c.is_some()) {
                    continue;
                }
                let n = u8::try_from(y - ys + 1).unwrap_or(u8::MAX); // [model (c)] EM tilskuddsar = Y − Y_s + 1
                step!("EM-2", "{y}: {y} − {b} = {} → {code}", y - b);
                let (sats, month_amounts) = self.rate(y, code, &mut a.rates_used)?;
                let mut regler = RuleSet::of(&["EM-1", "EM-2", "EM-3", "EM-4"]);
                if it3_rule {
                    regler.front("IT-3");
                }
                let line = MonthlyYear {
                    fnr: p.fnr,
                    kode: code,
                    ar: y,
                    tilskuddsar: n,
                    sats,
                };
                if let Some(calc) = accrue_months(
                    &mut acc,
                    &line,
                    month_amounts,
                    &due,
                    &regler,
                    &owner_of,
                    trace,
                ) {
                    a.years.push(calc);
                }
            }
        } else if p.enslig_mindrearig {
            step!("EM-1", "unaccompanied minor not settled by agreement (bosatt_etter_avtale = nei): no EM grant");
        }

        acc.sort_unstable_by_key(|x| x.key); // keys are unique
        a.accruals = acc;
        a.rates_used.sort();
        a.rates_used.dedup();
        Ok(a)
    }

    /// Runs the whole termin (T-1…T-4) and keeps every line and the new ledger in memory (tests,
    /// `explain`, small runs). `tilskudd termin` streams instead: [`Engine::run_streaming`].
    pub fn run(&self, kommuner: Option<&KommuneRegister>) -> Result<TerminResult, MissingRate> {
        let mut sink = CollectLines::default();
        let summary = match self.run_streaming(kommuner, &mut sink) {
            Ok(s) => s,
            Err(RunError::MissingRate(e)) => return Err(e),
            // Collecting into memory cannot fail.
            Err(RunError::Sink(e)) => unreachable!("collecting lines failed: {e}"),
        };
        let lines = sink.lines;
        let paying: BTreeSet<Knr> = summary
            .kommuner
            .iter()
            .filter(|k| k.utbetales)
            .map(|k| k.kommune)
            .collect();
        let new_ledger = new_ledger(self.params.termin, self.ledger, &lines, &paying);
        Ok(TerminResult {
            summary,
            lines,
            new_ledger,
        })
    }

    /// The whole termin's sums without its lines (T-3 for `explain`): memory for the persons only.
    pub fn run_sums(
        &self,
        kommuner: Option<&KommuneRegister>,
    ) -> Result<TerminSummary, MissingRate> {
        match self.run_streaming(kommuner, &mut SumsOnly) {
            Ok(s) => Ok(s),
            Err(RunError::MissingRate(e)) => Err(e),
            // Discarding lines cannot fail.
            Err(RunError::Sink(e)) => unreachable!("discarding lines failed: {e}"),
        }
    }

    /// Runs the whole termin (T-1…T-4), handing the basis lines to `sink` block by block in
    /// (fnr, kommune, kode, ar) order instead of holding them: memory grows with the persons only
    /// (issue 6). Persons are assessed in parallel; what reaches the sink, and in which order, does not
    /// depend on the number of threads. Each block comes with the lines of the ledger read in whose person
    /// falls in the block's range of person numbers (sorted by (key, termin)), so that the sink can write
    /// the new ledger in order (T-4, [`merge_ledger`]).
    pub fn run_streaming<S: LineSink>(
        &self,
        kommuner: Option<&KommuneRegister>,
        sink: &mut S,
    ) -> Result<TerminSummary, RunError> {
        let personer = &self.extract.personer;
        // Persons in fnr order (stable for equal numbers): each person's lines come out sorted by key, so
        // the whole basis is in (fnr, kommune, kode, ar) order without sorting millions of lines.
        // Sorted as (number, index) pairs: the 11 digits as an integer order like the text (fixed width),
        // and the index keeps equal numbers in extract order — no indirection per comparison.
        let mut keyed: Vec<(u64, usize)> = personer
            .iter()
            .enumerate()
            .map(|(i, p)| (fnr_number(&p.fnr), i))
            .collect();
        keyed.par_sort_unstable();
        // T-4 order of the ledger read in: (key, termin), ties in the order read.
        let mut old: Vec<&LedgerLine> = self.ledger.iter().collect();
        old.par_sort_by_key(|l| (l.key, l.termin)); // stable
        let old_fnr: Vec<u64> = old.iter().map(|l| fnr_number(&l.key.fnr)).collect();
        let mut counts = Counts {
            personer_lest: personer.len() as u64,
            flyttinger_lest: self.extract.flyttinger.len() as u64,
            ledger_linjer_lest: self.ledger.len() as u64,
            ..Counts::default()
        };
        let mut stats = LineStats::default();
        let mut person_avvik: Vec<(usize, Vec<Avvik>)> = Vec::new();
        let mut rates_used = BTreeSet::new();
        let mut first_err: Option<(usize, MissingRate)> = None;
        const BLOCK: usize = 512;
        // In chunks, so that only one chunk's results exist at a time. Each chunk is cut into blocks
        // assessed in parallel; the blocks are handed to the sink in order.
        for (c, chunk) in keyed.chunks(BLOCK * 128).enumerate() {
            let chunk_start = c * BLOCK * 128;
            let blocks: Vec<Block<S::Part>> = chunk
                .par_chunks(BLOCK)
                .enumerate()
                .map(|(b, block)| {
                    let start = chunk_start + b * BLOCK;
                    // The ledger lines of this block: person numbers after the previous block's last
                    // (from the very start for the first block) up to this block's last (to the very
                    // end for the last block).
                    let lo = if start == 0 {
                        0
                    } else {
                        old_fnr.partition_point(|&f| f <= keyed[start - 1].0)
                    };
                    let hi = if start + block.len() == keyed.len() {
                        old.len()
                    } else {
                        old_fnr.partition_point(|&f| f <= block[block.len() - 1].0)
                    };
                    let mut b = Block::default();
                    let mut lines = Vec::with_capacity(block.len() * 4);
                    if first_err.is_none() {
                        self.assess_block(block, &mut lines, &mut b);
                    }
                    b.stats.add_lines(&lines);
                    b.part = Some(sink.block(&lines, &old[lo..hi]));
                    b
                })
                .collect();
            for b in blocks {
                if let Some((i, e)) = b.first_err {
                    if first_err.as_ref().is_none_or(|(j, _)| i < *j) {
                        first_err = Some((i, e));
                    }
                }
                counts.personer_utelatt += b.counts.personer_utelatt;
                counts.personer_utelatt_med_trekk += b.counts.personer_utelatt_med_trekk;
                counts.personer_brukt += b.counts.personer_brukt;
                counts.personer_uten_belop += b.counts.personer_uten_belop;
                rates_used.extend(b.rates_used);
                person_avvik.extend(b.avvik);
                stats.merge(&b.stats);
                if first_err.is_none() {
                    if let Some(part) = b.part {
                        sink.accept(part)?;
                    }
                }
            }
            if first_err.is_some() {
                break;
            }
        }
        if first_err.is_some() {
            // The error names the first person in extract order that needs a missing rate, whatever
            // the thread count: look at every person, writing nothing more.
            let rest = (keyed.len().div_ceil(BLOCK * 128) * BLOCK * 128).min(keyed.len());
            let _ = rest;
            let errs: Vec<(usize, MissingRate)> = keyed
                .par_chunks(BLOCK)
                .filter_map(|block| {
                    let mut b = Block::<()>::default();
                    let mut lines = Vec::new();
                    self.assess_block(block, &mut lines, &mut b);
                    b.first_err
                })
                .collect();
            if let Some((_, e)) = errs.into_iter().min_by_key(|(i, _)| *i) {
                return Err(RunError::MissingRate(e));
            }
        }
        // avvik.csv lists persons in extract order.
        person_avvik.sort_by_key(|(i, _)| *i);
        let mut avvik: Vec<Avvik> = person_avvik.into_iter().flat_map(|(_, v)| v).collect();
        // T-2: ledger lines whose person is absent from the extract are left alone.
        let mut ledger_in = LedgerTotals::default();
        for l in self.ledger {
            ledger_in.lines += 1;
            ledger_in.sum += l.belop;
            if self.person(&l.key.fnr).is_none() {
                counts.ledger_linjer_uten_person += 1;
                let (fil, linje) = split_origin(&l.origin);
                avvik.push(
                    Avvik::warning(
                        &fil,
                        linje,
                        Some("fnr"),
                        "ukjent_person_i_reskontro",
                        format!(
                            "T-2: ledger line ({} {} {} {}, termin {}) belongs to a person not in the extract; left alone, carried to the new ledger",
                            l.key.kommune, l.key.kode, l.key.ar, crate::domain::money::fmt_money(l.belop), l.termin
                        ),
                    )
                    .with_fnr(Some(l.key.fnr)),
                );
            }
        }
        let kommuner_out = sum_kommuner(&stats, kommuner);
        Ok(TerminSummary {
            termin: self.params.termin,
            basis_date: self.params.basis_date,
            kommuner: kommuner_out,
            avvik,
            rates_used: rates_used.into_iter().collect(),
            counts,
            stats,
            ledger_in,
        })
    }

    /// T-1/T-2 for a block of persons (indexes into the extract, in fnr order): their lines appended to
    /// `lines`, their counts, avvik and rates in `b`.
    fn assess_block<P>(
        &self,
        block: &[(u64, usize)],
        lines: &mut Vec<BasisLine>,
        b: &mut Block<P>,
    ) {
        let personer = &self.extract.personer;
        for &(_, i) in block {
            let p = &personer[i];
            let a = match self.assess(p, false) {
                Ok(a) => a,
                Err(e) => {
                    // The first missing rate in extract order (deterministic).
                    if b.first_err.as_ref().is_none_or(|(j, _)| i < *j) {
                        b.first_err = Some((i, e));
                    }
                    continue;
                }
            };
            let before = lines.len();
            net_person_into(&a, self.paid_lines(&p.fnr), lines);
            let has_lines = lines.len() > before;
            match (a.status, has_lines) {
                (Status::Excluded(_), false) => b.counts.personer_utelatt += 1,
                (Status::Excluded(_), true) => {
                    b.counts.personer_utelatt += 1;
                    b.counts.personer_utelatt_med_trekk += 1;
                }
                (Status::Included, true) => b.counts.personer_brukt += 1,
                (Status::Included, false) => b.counts.personer_uten_belop += 1,
            }
            for r in a.rates_used {
                if !b.rates_used.contains(&r) {
                    b.rates_used.push(r);
                }
            }
            if !a.avvik.is_empty() {
                b.avvik.push((i, a.avvik));
            }
        }
    }
}

/// Where a streaming run ([`Engine::run_streaming`]) puts its basis lines.
pub trait LineSink: Sync {
    /// What [`LineSink::block`] makes of one block (e.g. the block's CSV bytes).
    type Part: Send;
    /// Called on a worker thread for each block of whole persons' lines, in (fnr, kommune, kode, ar)
    /// order, with the ledger lines read in (`--paid`) of the block's range of person numbers, sorted by
    /// (key, termin) — including lines of persons absent from the extract. Blocks may be called in any
    /// order and at the same time.
    fn block(&self, lines: &[BasisLine], ledger: &[&LedgerLine]) -> Self::Part;
    /// Called on the run's thread with each block's part, in order. An error stops the run.
    fn accept(&mut self, part: Self::Part) -> std::io::Result<()>;
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    MissingRate(#[from] MissingRate),
    #[error("writing the basis: {0}")]
    Sink(#[from] std::io::Error),
}

/// A sink that keeps no line ([`Engine::run_sums`]).
struct SumsOnly;

impl LineSink for SumsOnly {
    type Part = ();
    fn block(&self, _lines: &[BasisLine], _ledger: &[&LedgerLine]) {}
    fn accept(&mut self, _part: ()) -> std::io::Result<()> {
        Ok(())
    }
}

/// A sink that keeps every line in memory ([`Engine::run`]).
#[derive(Default)]
struct CollectLines {
    lines: Vec<BasisLine>,
}

impl LineSink for CollectLines {
    type Part = Vec<BasisLine>;
    fn block(&self, lines: &[BasisLine], _ledger: &[&LedgerLine]) -> Vec<BasisLine> {
        lines.to_vec()
    }
    fn accept(&mut self, part: Vec<BasisLine>) -> std::io::Result<()> {
        self.lines.extend(part);
        Ok(())
    }
}

/// What the termin run keeps of a block of persons (assessed on one thread, in fnr order).
struct Block<P> {
    counts: Counts,
    /// Distinct (year, code) pairs, in first-use order (few: the rate table is small).
    rates_used: Vec<(i32, RateCode)>,
    avvik: Vec<(usize, Vec<Avvik>)>,
    /// The missing rate of the block's first person in extract order that needs one.
    first_err: Option<(usize, MissingRate)>,
    stats: LineStats,
    part: Option<P>,
}

impl<P> Default for Block<P> {
    fn default() -> Self {
        Block {
            counts: Counts::default(),
            rates_used: Vec::new(),
            avvik: Vec::new(),
            first_err: None,
            stats: LineStats::default(),
            part: None,
        }
    }
}

/// The fnr's 11 digits as a number (< 10^11): orders like the fnr itself.
fn fnr_number(f: &Fnr) -> u64 {
    f.as_str()
        .bytes()
        .fold(0u64, |a, b| a * 10 + u64::from(b.wrapping_sub(b'0')))
}

fn yn(b: bool) -> &'static str {
    if b {
        "ja"
    } else {
        "nei"
    }
}

/// One monthly grant year of a person (år 2–5, or an EM year): what its lines are keyed and rated by.
struct MonthlyYear {
    fnr: Fnr,
    kode: RateCode,
    ar: i32,
    tilskuddsar: u8,
    sats: Decimal,
}

/// IT-10 + IT-13 for a monthly grant year (år 2–5 and EM-4 alike): each month's IT-13 share goes to the
/// municipality that owns the month, unless a rule (`due[m].1`: IT-11, IT-12, EM-3) cut it. With `trace`,
/// returns the month-by-month record that `explain` prints.
fn accrue_months(
    acc: &mut Vec<Accrual>,
    year: &MonthlyYear,
    month_amounts: &[Decimal; 12],
    due: &[(u32, Option<&'static str>); 12],
    regler: &RuleSet,
    owner_of: &dyn Fn(i32, u32) -> (Knr, NaiveDate),
    trace: bool,
) -> Option<YearCalc> {
    let mut months = Vec::new();
    for &(m, cut) in due {
        let (owner, reference) = owner_of(year.ar, m);
        let amount = month_amounts[m as usize - 1];
        if cut.is_none() {
            let key = LineKey {
                fnr: year.fnr,
                kommune: owner,
                kode: year.kode,
                ar: year.ar,
            };
            add(acc, key, year.tilskuddsar, true, year.sats, amount, regler);
        }
        if trace {
            months.push(MonthShare {
                month: m,
                reference,
                owner,
                amount,
                cut_by: cut,
            });
        }
    }
    trace.then_some(YearCalc {
        kode: year.kode,
        ar: year.ar,
        tilskuddsar: year.tilskuddsar,
        sats: year.sats,
        monthly: true,
        months,
    })
}

#[allow(clippy::too_many_arguments)]
fn add(
    acc: &mut Vec<Accrual>,
    key: LineKey,
    n: u8,
    monthly: bool,
    sats: Decimal,
    amount: Decimal,
    regler: &RuleSet,
) {
    // The first accrual of a key fixes its year, rate and rules (as a map's `or_insert` did).
    let i = match acc.iter().rposition(|x| x.key == key) {
        Some(i) => i,
        None => {
            acc.push(Accrual {
                key,
                tilskuddsar: n,
                maneder: monthly.then_some(0),
                sats,
                opptjent: Decimal::ZERO,
                regler: *regler,
            });
            acc.len() - 1
        }
    };
    let e = &mut acc[i];
    e.opptjent += amount;
    if let Some(m) = e.maneder.as_mut() {
        *m += 1;
    }
}

/// `file:line` of a ledger line's origin (line `None` if not given).
fn split_origin(origin: &str) -> (String, Option<u64>) {
    match origin.rsplit_once(':') {
        Some((f, l)) => match l.parse() {
            Ok(n) => (f.to_string(), Some(n)),
            Err(_) => (origin.to_string(), None),
        },
        None => (origin.to_string(), None),
    }
}

/// T-2 for one person: every key with anything accrued or paid gets a line `accrued − paid`. Keys paid
/// before but no longer accrued (a late move, an exclusion, …) become deductions (sats 0).
pub fn net_person(a: &Assessment, paid: &[&LedgerLine]) -> Vec<BasisLine> {
    let mut out = Vec::new();
    net_person_into(a, paid, &mut out);
    out
}

/// [`net_person`], appending the lines to `out`.
pub fn net_person_into(a: &Assessment, paid: &[&LedgerLine], out: &mut Vec<BasisLine>) {
    if paid.is_empty() {
        // Nothing paid before (the common case): every accrual is a line as it is.
        out.extend(
            a.accruals
                .iter()
                .filter(|x| !x.opptjent.is_zero())
                .map(|x| BasisLine {
                    key: x.key,
                    duf: a.duf,
                    tilskuddsar: x.tilskuddsar,
                    maneder: x.maneder,
                    sats: x.sats,
                    opptjent: x.opptjent,
                    tidligere_utbetalt: Decimal::ZERO,
                    a_utbetale: x.opptjent,
                    regler: x.regler,
                }),
        );
        return;
    }
    let mut paid_by_key: BTreeMap<LineKey, Decimal> = BTreeMap::new();
    for l in paid {
        *paid_by_key.entry(l.key).or_default() += l.belop;
    }
    let mut acc_iter = a.accruals.iter().peekable();
    let mut keys: BTreeSet<LineKey> = a.accruals.iter().map(|x| x.key).collect();
    keys.extend(paid_by_key.keys().copied());
    for key in keys {
        let accrual = match acc_iter.peek() {
            Some(x) if x.key == key => acc_iter.next(),
            _ => None,
        };
        let tidligere = paid_by_key.get(&key).copied().unwrap_or_default();
        let line = match accrual {
            Some(x) => {
                let mut regler = x.regler;
                if !tidligere.is_zero() {
                    regler.push_back("T-2");
                }
                BasisLine {
                    key,
                    duf: a.duf,
                    tilskuddsar: x.tilskuddsar,
                    maneder: x.maneder,
                    sats: x.sats,
                    opptjent: x.opptjent,
                    tidligere_utbetalt: tidligere,
                    a_utbetale: x.opptjent - tidligere,
                    regler,
                }
            }
            None => {
                if tidligere.is_zero() {
                    continue;
                }
                let mut regler = RuleSet::default();
                if let Status::Excluded(e) = a.status {
                    regler.push_back(e.rule());
                }
                regler.push_back("T-2");
                BasisLine {
                    key,
                    duf: a.duf,
                    tilskuddsar: u8::try_from((key.ar - a.settlement_year() + 1).max(0))
                        .unwrap_or(u8::MAX),
                    maneder: None,
                    sats: Decimal::ZERO,
                    opptjent: Decimal::ZERO,
                    tidligere_utbetalt: tidligere,
                    a_utbetale: -tidligere,
                    regler,
                }
            }
        };
        if line.opptjent.is_zero() && line.tidligere_utbetalt.is_zero() {
            continue;
        }
        out.push(line);
    }
}

/// T-3: per municipality, the sum per code and in total; paid only when the sum is positive.
pub fn sum_kommuner(stats: &LineStats, register: Option<&KommuneRegister>) -> Vec<KommuneSum> {
    let mut by: BTreeMap<Knr, KommuneSum> = BTreeMap::new();
    for ((k, kode), agg) in &stats.per_kode {
        let e = by.entry(*k).or_insert_with(|| KommuneSum {
            kommune: *k,
            navn: register.and_then(|r| r.latest(*k)).map(|r| r.navn.clone()),
            per_kode: BTreeMap::new(),
            sum: Decimal::ZERO,
            utbetales: false,
        });
        e.per_kode.insert(*kode, agg.a_utbetale);
        e.sum += agg.a_utbetale;
    }
    by.into_values()
        .map(|mut k| {
            k.utbetales = k.sum > Decimal::ZERO;
            k
        })
        .collect()
}

/// One line of the new ledger (T-4): carried from the ledger read in, or a basis line of this termin.
#[derive(Clone, Copy, Debug)]
pub enum LedgerEntry<'a> {
    Old(&'a LedgerLine),
    /// A line with `a_utbetale ≠ 0`; recorded only if its municipality is paid now (T-3).
    New(&'a BasisLine),
}

/// T-4 order of the new ledger: `old` (sorted by (key, termin)) merged with the non-zero `lines` of this
/// `termin` (sorted by key) into (fnr, kommunenummer, kode, ar, termin) order [model (h)], the old line
/// first on equal (key, termin). Whether a new line is kept (its municipality paid) is the caller's.
pub fn merge_ledger<'a>(
    termin: Termin,
    old: &'a [&'a LedgerLine],
    lines: &'a [BasisLine],
    mut f: impl FnMut(LedgerEntry<'a>),
) {
    let mut old = old.iter().peekable();
    let mut new = lines.iter().filter(|l| !l.a_utbetale.is_zero()).peekable();
    loop {
        let take_old = match (old.peek(), new.peek()) {
            (Some(o), Some(n)) => (o.key, o.termin) <= (n.key, termin),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if take_old {
            if let Some(o) = old.next() {
                f(LedgerEntry::Old(o));
            }
        } else if let Some(n) = new.next() {
            f(LedgerEntry::New(n));
        }
    }
}

/// T-4: the ledger read in plus every non-zero line of the municipalities paid now (termin = this one),
/// sorted by (fnr, kommunenummer, kode, ar, termin) [model (h)]; ties keep input order.
pub fn new_ledger(
    termin: Termin,
    old: &[LedgerLine],
    lines: &[BasisLine],
    paying: &BTreeSet<Knr>,
) -> Vec<LedgerLine> {
    let mut old: Vec<&LedgerLine> = old.iter().collect();
    old.sort_by_key(|l| (l.key, l.termin)); // stable: ties keep the order read
    let mut out = Vec::with_capacity(old.len() + lines.len());
    merge_ledger(termin, &old, lines, |e| match e {
        LedgerEntry::Old(o) => out.push(o.clone()),
        LedgerEntry::New(l) => {
            if paying.contains(&l.key.kommune) {
                out.push(LedgerLine {
                    termin,
                    key: l.key,
                    belop: l.a_utbetale,
                    origin: String::new(),
                });
            }
        }
    });
    out
}

/// Two ledger lines record the same payment (termin and key) with different amounts: the ledger is
/// inconsistent and no amount can be trusted (T-2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the ledger records termin {termin}, {kommune} {kode} {ar} for {fnr} twice with different amounts ({a} in {origin_a}, {b} in {origin_b}); correct the ledger files")]
pub struct LedgerConflict {
    pub termin: Termin,
    pub kommune: Knr,
    pub kode: RateCode,
    pub ar: i32,
    /// Masked.
    pub fnr: String,
    pub a: String,
    pub origin_a: String,
    pub b: String,
    pub origin_b: String,
}

/// T-2 guard: a payment is one line per (termin, key). When the same payment appears twice with the same
/// amount (typically `--paid` given both Q1's and Q2's `utbetalt.csv`, the second already holding the
/// first) the repeat is dropped with a warning `dobbel_reskontrolinje`; with a different amount the run
/// stops. [model]
pub fn dedupe_ledger(
    lines: Vec<LedgerLine>,
) -> Result<(Vec<LedgerLine>, Vec<Avvik>), Box<LedgerConflict>> {
    let mut seen: HashMap<(Termin, LineKey), usize> = HashMap::with_capacity(lines.len());
    let mut out: Vec<LedgerLine> = Vec::with_capacity(lines.len());
    let mut avvik = Vec::new();
    for l in lines {
        match seen.get(&(l.termin, l.key)) {
            Some(&i) => {
                let first = &out[i];
                if first.belop != l.belop {
                    return Err(Box::new(LedgerConflict {
                        termin: l.termin,
                        kommune: l.key.kommune,
                        kode: l.key.kode,
                        ar: l.key.ar,
                        fnr: l.key.fnr.masked(),
                        a: crate::domain::money::fmt_money(first.belop),
                        origin_a: first.origin.clone(),
                        b: crate::domain::money::fmt_money(l.belop),
                        origin_b: l.origin.clone(),
                    }));
                }
                let (fil, linje) = split_origin(&l.origin);
                avvik.push(
                    Avvik::warning(
                        &fil,
                        linje,
                        None,
                        "dobbel_reskontrolinje",
                        format!(
                            "T-2: the same payment ({} {} {} {}, termin {}) is already in {}; counted once",
                            l.key.kommune,
                            l.key.kode,
                            l.key.ar,
                            crate::domain::money::fmt_money(l.belop),
                            l.termin,
                            first.origin
                        ),
                    )
                    .with_fnr(Some(l.key.fnr)),
                );
            }
            None => {
                seen.insert((l.termin, l.key), out.len());
                out.push(l);
            }
        }
    }
    Ok((out, avvik))
}
