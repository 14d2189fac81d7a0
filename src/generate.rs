//! `tilskudd generate`: a synthetic but realistic national DSF extract (SPEC §1.3–1.4), a municipality
//! register (§1.5) and a complete example rate table (§1.6), deterministic per seed (issue #6).
//!
//! Design (see `docs/generate.md`):
//! - One tiny PRNG ([`SplitMix64`]) drives everything; no `HashMap` is iterated, so a seed fixes every byte.
//! - Persons are produced case by case (`sak_id`) by [`Generator`]; memory is independent of the number of
//!   persons except for the person-number allocator (two counters per calendar day since 1900, ~200 kB).
//!   `personer.csv` and `flyttinger.csv` are written in two passes over the same deterministic stream, so
//!   neither file is held in memory.
//! - Every person number is synthetic (month + 80, ID-1) with both control digits, unique by construction:
//!   each (birth date, sex) has its own counter over the individual numbers allowed by the century rules.
//! - The first cases are a fixed "showcase" (one of each interesting situation, see [`SHOWCASE`]) so that
//!   even a small extract exercises every rule; random cases follow until `--persons` is reached.

pub mod floor;

use crate::domain::ids::{mod11_control, Duf, Fnr, Knr, Kontonr, Orgnr};
use crate::domain::person::{Extract, Flytting, Malgruppe, Person};
use crate::domain::rates::RateCode;
use crate::output::{csv_writer, OutputDir};
use chrono::{Datelike, Duration, NaiveDate};
use std::collections::VecDeque;
use std::io::{self, Write};
use std::path::Path;
use thiserror::Error;

/// Default run year: the latest settlement year and the year of the extract date (31 December).
pub const DEFAULT_YEAR: i32 = 2024;
/// First settlement year paid automatically (SPEC IT-3 default `--auto-from`): earlier random cases get
/// `tidligere_utlost` = ja with probability 80 %.
pub const AUTO_PAYMENT_FROM: i32 = 2021;
/// First and last year of the example rate table.
pub const RATE_FIRST_YEAR: i32 = 2015;
pub const RATE_LAST_YEAR: i32 = 2030;
/// `kilde` of every generated rate (status `eksempel`).
pub const EXAMPLE_KILDE: &str = "eksempel – syntetisk verdi for test og demo, ikke IMDis sats";

/// The descriptions of the showcase cases, in the order they are generated (documentation and tests).
pub const SHOWCASE: [&str; 21] = [
    "single adult, moves in the settlement year",
    "single adult, two moves within two months",
    "single adult, dies",
    "couple, both emigrate",
    "unaccompanied minor (15), reunited with parents",
    "unaccompanied minor (16), moves once",
    "family of three, newborn 3 months after the mother's settlement (within 6 months)",
    "single mother and child, newborn 8 months after her settlement (beyond 6 months)",
    "refugee, referent of the familie_humanitar case",
    "familie_humanitar: spouse and child joining the previous case",
    "refugee settled 8 years before the run year, referent of the next case",
    "familie_flyktning applying more than 5 years after the referent's settlement",
    "utenfor (not in the target group)",
    "family settled 6 years before the run year, tidligere_utlost = ja",
    "single adult settled 7 years before the run year, tidligere_utlost = nei",
    "single adult aged exactly 60 on the settlement date",
    "family with a child aged exactly 6 and one aged 2 on the settlement date",
    "late registration across a quarter end (settled 20.09, registered 15.10)",
    "late registration across a year end (settled 28.12, registered 20.01)",
    "single adult not settled by agreement (bosatt_etter_avtale = nei)",
    "elderly couple (66 and 71)",
];

/// The run years the generator supports (`--year`).
pub const YEARS: std::ops::RangeInclusive<i32> = 2010..=2039;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub persons: u64,
    pub seed: u64,
    /// Run year: settlements up to and including it, every date on or before 31 December of it.
    pub year: i32,
    /// How many municipalities of [`KOMMUNER`] to use (the largest first), 2..=len.
    pub kommuner: usize,
}

impl Config {
    pub fn new(persons: u64, seed: u64) -> Config {
        Config {
            persons,
            seed,
            year: DEFAULT_YEAR,
            kommuner: KOMMUNER.len(),
        }
    }

    pub fn check(&self) -> Result<(), ConfigError> {
        if !YEARS.contains(&self.year) {
            return Err(ConfigError::Year(self.year));
        }
        if !(2..=KOMMUNER.len()).contains(&self.kommuner) {
            return Err(ConfigError::Kommuner(self.kommuner, KOMMUNER.len()));
        }
        Ok(())
    }

    /// The extract date: 31 December of the run year. No generated date is later.
    pub fn end(&self) -> NaiveDate {
        ymd(self.year, 12, 31)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    #[error("--year {0}: must be between 2010 and 2039 (person numbers born 2000–2039 use individual numbers 500–999)")]
    Year(i32),
    #[error("--kommuner {0}: must be between 2 and {1} (moves need two municipalities)")]
    Kommuner(usize, usize),
}

// ---------------------------------------------------------------------------------------------------------
// PRNG

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for synthetic data. Fixed forever so a
/// seed keeps producing the same extract.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`; 0 gives 0), by multiply-high (bias below 2⁻³² for our small `n`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// Index chosen with the given weights (not all zero).
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut x = self.below(total.max(1));
        for (i, w) in weights.iter().enumerate() {
            let w = u64::from(*w);
            if x < w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }
}

// ---------------------------------------------------------------------------------------------------------
// Municipalities

/// Real 2024 kommunenummer and names (after the 2024 county splits: Østfold 31xx, Akershus 32xx, Buskerud
/// 33xx, Vestfold 39xx, Telemark 40xx, Troms 55xx, Finnmark 56xx; Ålesund 1508 after the Haram split), with a
/// weight roughly proportional to population, largest first. `--kommuner N` takes the first N.
/// Bø is Bø i Nordland (1867; Bø i Telemark merged into Midt-Telemark in 2020); Våler is Våler i Innlandet
/// (3419; 3018 Våler i Viken became 3114 in 2024).
pub const KOMMUNER: [(&str, &str, u32); 39] = [
    ("0301", "Oslo", 60),
    ("4601", "Bergen", 28),
    ("5001", "Trondheim", 20),
    ("1103", "Stavanger", 14),
    ("3201", "Bærum", 12),
    ("4204", "Kristiansand", 11),
    ("3301", "Drammen", 10),
    ("3203", "Asker", 9),
    ("3205", "Lillestrøm", 9),
    ("1108", "Sandnes", 8),
    ("3107", "Fredrikstad", 8),
    ("5501", "Tromsø", 7),
    ("3907", "Sandefjord", 6),
    ("1508", "Ålesund", 5),
    ("1804", "Bodø", 5),
    ("3105", "Sarpsborg", 5),
    ("3905", "Tønsberg", 5),
    ("4003", "Skien", 5),
    ("1106", "Haugesund", 4),
    ("3103", "Moss", 4),
    ("3909", "Larvik", 4),
    ("4203", "Arendal", 4),
    ("1505", "Kristiansund", 3),
    ("1506", "Molde", 3),
    ("3101", "Halden", 3),
    ("3303", "Kongsberg", 3),
    ("3305", "Ringerike", 3),
    ("3403", "Hamar", 3),
    ("3405", "Lillehammer", 3),
    ("3407", "Gjøvik", 3),
    ("4001", "Porsgrunn", 3),
    ("1806", "Narvik", 2),
    ("1833", "Rana", 2),
    ("3901", "Horten", 2),
    ("4627", "Askøy", 2),
    ("5006", "Steinkjer", 2),
    ("5601", "Alta", 2),
    ("1867", "Bø", 1),
    ("3419", "Våler", 1),
];

/// One row of the generated `kommuner.csv` (SPEC §1.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KommuneRow {
    pub nr: Knr,
    pub navn: &'static str,
    pub orgnr: Orgnr,
    pub kontonummer: Kontonr,
}

/// The first `n` municipalities of [`KOMMUNER`] (weight order) with synthetic org.nr and account.
pub fn kommune_rows(n: usize) -> Vec<KommuneRow> {
    KOMMUNER
        .iter()
        .take(n)
        .map(|(nr, navn, _)| {
            // Invariant: every entry of KOMMUNER is 4 ASCII digits.
            let knr = Knr::parse(nr).expect("KOMMUNER holds 4-digit numbers");
            KommuneRow {
                nr: knr,
                navn,
                orgnr: synthetic_orgnr(knr.code()),
                kontonummer: synthetic_kontonr(knr.code()),
            }
        })
        .collect()
}

/// A synthetic organisation number (ID-4) derived from the kommunenummer: `97` + knr + two digits, then the
/// control digit (weights 3 2 7 6 5 4 3 2); the two digits are the first that give a usable control digit.
/// Not the municipality's real number (`97…` numbers are not municipal ones).
pub fn synthetic_orgnr(knr: u16) -> Orgnr {
    (0..100u16)
        .find_map(|x| {
            let s = format!("97{knr:04}{x:02}");
            let d: Vec<u8> = s.bytes().map(|b| b - b'0').collect();
            let k = mod11_control(&d, &[3, 2, 7, 6, 5, 4, 3, 2])?;
            Orgnr::parse(&format!("{s}{k}")).ok()
        })
        // Invariant: at most 1 in 11 suffixes gives control digit 10, so one of 100 works.
        .expect("a usable org.nr suffix exists among 100")
}

/// A synthetic account number (ID-5): bank `9999`, account class `77`, knr, then the control digit
/// (weights 5 4 3 2 7 6 5 4 3 2).
pub fn synthetic_kontonr(knr: u16) -> Kontonr {
    (0..10u16)
        .find_map(|x| {
            let s = format!("999977{knr:04}");
            let s = if x == 0 {
                s
            } else {
                format!("99997{x}{knr:04}")
            };
            let d: Vec<u8> = s.bytes().map(|b| b - b'0').collect();
            let k = mod11_control(&d, &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2])?;
            Kontonr::parse(&format!("{s}{k}")).ok()
        })
        // Invariant: at most 1 in 11 prefixes gives control digit 10, so one of 10 works.
        .expect("a usable account prefix exists among 10")
}

// ---------------------------------------------------------------------------------------------------------
// Rates

/// One row of the example rate table (status `eksempel`, kilde [`EXAMPLE_KILDE`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateRow {
    pub ar: i32,
    pub kode: RateCode,
    /// Whole NOK (or months for `FHT-FRIST-MND`).
    pub belop: i64,
}

/// Growth of the example amounts: 1 % a year, rounded to whole hundreds (integer arithmetic).
fn grow(v: i64) -> i64 {
    (v * 101 + 5_000) / 10_000 * 100
}

fn shrink(v: i64) -> i64 {
    (v * 100 + 50 * 101) / (101 * 100) * 100
}

/// The amount of `kode` in `ar`: anchored on the 2017 published IT figures and the 2023 EM/FHT proposal
/// figures of RATES-SOURCES.md, 1 % a year either way; thresholds fixed; FHT-FRIST-MND 1 before 2024, 2 from
/// 2024.
pub fn example_rate(ar: i32, kode: RateCode) -> i64 {
    let (anchor_year, anchor) = match kode {
        RateCode::Ar1Ev => (2017, 235_000),
        RateCode::Ar1 | RateCode::Ar1Em | RateCode::Ar1B => (2017, 185_000),
        RateCode::Ar2 => (2017, 230_000),
        RateCode::Ar3 => (2017, 167_000),
        RateCode::Ar4 => (2017, 84_000),
        RateCode::Ar5 => (2017, 70_500),
        RateCode::Eldr => (2017, 164_200),
        RateCode::Bht => (2017, 25_100),
        RateCode::Eminb => (2023, 1_118_000),
        RateCode::Eminu => (2023, 705_000),
        RateCode::Fht1 => (2023, 196_400),
        RateCode::Fht2Maks => (2023, 1_520_000),
        RateCode::Fht1Terskel => return 100_000,
        RateCode::Fht2Terskel => return 200_000,
        RateCode::FhtAnsvarsgruppeMaks => return 20_000,
        RateCode::FhtFristMnd => return if ar >= 2024 { 2 } else { 1 },
    };
    let mut v = anchor;
    for _ in ar..anchor_year {
        v = shrink(v);
    }
    for _ in anchor_year..ar {
        v = grow(v);
    }
    v
}

/// Every code of SPEC §1.6 for every year 2015–2030, sorted by year then code.
pub fn example_rates() -> Vec<RateRow> {
    (RATE_FIRST_YEAR..=RATE_LAST_YEAR)
        .flat_map(|ar| {
            RateCode::ALL.iter().map(move |&kode| RateRow {
                ar,
                kode,
                belop: example_rate(ar, kode),
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------
// Dates

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    // Only called with constant month/day pairs that exist in every year (no 29 February).
    NaiveDate::from_ymd_opt(y, m, d).expect("generator dates are valid calendar dates")
}

fn plus(d: NaiveDate, days: i64) -> NaiveDate {
    d + Duration::days(days)
}

/// The same day `years` earlier (29 February → 28 February).
fn years_before(d: NaiveDate, years: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year() - years, d.month(), d.day())
        .or_else(|| NaiveDate::from_ymd_opt(d.year() - years, d.month(), 28))
        .expect("28th of a month exists")
}

fn days_between(a: NaiveDate, b: NaiveDate) -> i64 {
    (b - a).num_days()
}

// ---------------------------------------------------------------------------------------------------------
// Person numbers

/// Hands out unique synthetic person numbers (ID-1: month + 80, both control digits, century rules).
/// For each birth date and sex a counter walks a fixed permutation of the individual numbers the century
/// rules allow for that year (ordinary numbers first, then D-numbers), skipping those whose control digit
/// would be 10. Uniqueness follows from never reusing a (date, sex, slot).
struct FnrAlloc {
    base: NaiveDate,
    next: Vec<[u16; 2]>,
}

/// (D-nummer, lowest individual number, numbers of one parity in the range)
type Tier = (bool, u16, u16);

fn tiers(year: i32) -> &'static [Tier] {
    const Y1900: [Tier; 2] = [(false, 0, 250), (true, 0, 250)];
    const Y1940: [Tier; 4] = [
        (false, 0, 250),
        (false, 900, 50),
        (true, 0, 250),
        (true, 900, 50),
    ];
    const Y2000: [Tier; 2] = [(false, 500, 250), (true, 500, 250)];
    match year {
        1900..=1939 => &Y1900,
        1940..=1999 => &Y1940,
        2000..=2039 => &Y2000,
        _ => &[],
    }
}

impl FnrAlloc {
    fn new(end: NaiveDate) -> FnrAlloc {
        let base = ymd(1900, 1, 1);
        let days = days_between(base, end).max(0) as usize + 1;
        FnrAlloc {
            base,
            next: vec![[0, 0]; days],
        }
    }

    /// A fresh number born on `date`, or `None` when that day is used up.
    fn take(&mut self, date: NaiveDate, female: bool) -> Option<Fnr> {
        let idx = usize::try_from(days_between(self.base, date)).ok()?;
        let tiers = tiers(date.year());
        let total: u16 = tiers.iter().map(|t| t.2).sum();
        let slot = self.next.get_mut(idx)?.get_mut(usize::from(female))?;
        // Male: odd third individual digit; female: even.
        let parity = u16::from(!female);
        while *slot < total {
            let mut k = *slot;
            *slot += 1;
            let mut chosen = None;
            for &(dnum, lo, m) in tiers {
                if k < m {
                    chosen = Some((dnum, lo, m, k));
                    break;
                }
                k -= m;
            }
            let Some((dnum, lo, m, k)) = chosen else {
                break;
            };
            // A permutation of 0..m (97 is coprime with 250 and 50) so numbers do not look sequential.
            let j = (u32::from(k) * 97 + (idx as u32 % u32::from(m))) % u32::from(m);
            let individ = u32::from(lo) + 2 * j + u32::from(parity);
            let day = date.day() + if dnum { 40 } else { 0 };
            let first9 = format!(
                "{day:02}{:02}{:02}{individ:03}",
                date.month() + 80,
                date.year() % 100
            );
            if let Some(f) = Fnr::with_control_digits(&first9) {
                return Some(f);
            }
        }
        None
    }

    /// A number born on `want`, or the nearest day in `lo..=hi` that still has one.
    fn take_near(
        &mut self,
        want: NaiveDate,
        female: bool,
        lo: NaiveDate,
        hi: NaiveDate,
    ) -> Option<Fnr> {
        for off in 0..=400i64 {
            for d in [plus(want, off), plus(want, -off)] {
                if d >= lo && d <= hi {
                    if let Some(f) = self.take(d, female) {
                        return Some(f);
                    }
                }
                if off == 0 {
                    break;
                }
            }
            if plus(want, off) > hi && plus(want, -off) < lo {
                break;
            }
        }
        None
    }
}

// ---------------------------------------------------------------------------------------------------------
// Cases

/// One settlement case as the generator produced it: its persons (in `personer.csv` order) and their moves
/// (in `flyttinger.csv` order), with the file line numbers already set.
#[derive(Clone, Debug, Default)]
pub struct Case {
    pub personer: Vec<Person>,
    pub flyttinger: Vec<Flytting>,
}

#[derive(Clone, Debug)]
struct Member {
    birth: NaiveDate,
    female: bool,
    em: bool,
    duf: bool,
    /// Index of the mother among the members (a child born after her settlement, IT-4).
    newborn_of: Option<usize>,
    referanse: Option<Fnr>,
    familie_soknadsdato: Option<NaiveDate>,
    death: Option<NaiveDate>,
    emigration: Option<NaiveDate>,
    gjenforent: Option<NaiveDate>,
}

impl Member {
    fn new(birth: NaiveDate, female: bool) -> Member {
        Member {
            birth,
            female,
            em: false,
            duf: true,
            newborn_of: None,
            referanse: None,
            familie_soknadsdato: None,
            death: None,
            emigration: None,
            gjenforent: None,
        }
    }
}

/// A case before person numbers are assigned.
#[derive(Clone, Debug)]
struct Plan {
    settle: NaiveDate,
    kommune: usize,
    malgruppe: Malgruppe,
    avtale: bool,
    tidligere_utlost: bool,
    registrert: NaiveDate,
    /// The case's moves in date order (strictly after `settle`): (date, municipality index).
    moves: Vec<(NaiveDate, usize)>,
    members: Vec<Member>,
}

/// A refugee another case can join by family immigration (IT-5).
#[derive(Clone, Copy, Debug)]
struct Referent {
    fnr: Fnr,
    settle: NaiveDate,
    /// Where they live after their last move, and when they moved there.
    kommune: usize,
    since: NaiveDate,
}

/// Produces the extract case by case; the same [`Config`] always gives the same sequence.
pub struct Generator {
    cfg: Config,
    end: NaiveDate,
    rng: SplitMix64,
    knr: Vec<Knr>,
    weights: Vec<u32>,
    alloc: FnrAlloc,
    referents: VecDeque<Referent>,
    showcase_next: usize,
    /// Persons emitted so far.
    persons: u64,
    moves: u64,
    sak: u64,
    case: Case,
}

const REFERENTS_KEPT: usize = 512;

impl Generator {
    pub fn new(cfg: &Config) -> Result<Generator, ConfigError> {
        cfg.check()?;
        let rows = kommune_rows(cfg.kommuner);
        Ok(Generator {
            cfg: cfg.clone(),
            end: cfg.end(),
            // The seed is mixed once so that seeds 1, 2, 3 … start far apart.
            rng: SplitMix64::new(cfg.seed ^ 0x7469_6c73_6b75_6464),
            knr: rows.iter().map(|r| r.nr).collect(),
            weights: KOMMUNER.iter().take(cfg.kommuner).map(|k| k.2).collect(),
            alloc: FnrAlloc::new(cfg.end()),
            referents: VecDeque::with_capacity(REFERENTS_KEPT),
            showcase_next: 0,
            persons: 0,
            moves: 0,
            sak: 0,
            case: Case::default(),
        })
    }

    /// The next case, or `None` when `persons` persons have been produced. The last case may be cut short
    /// to hit the count exactly (its later members dropped, never a mother before her newborn).
    pub fn next_case(&mut self) -> Option<&Case> {
        loop {
            if self.persons >= self.cfg.persons {
                return None;
            }
            let plan = if self.showcase_next < SHOWCASE.len() {
                let i = self.showcase_next;
                self.showcase_next += 1;
                self.showcase(i)
            } else {
                self.random_plan()
            };
            if self.materialize(plan) {
                return Some(&self.case);
            }
        }
    }

    fn kommune(&mut self) -> usize {
        self.rng.weighted(&self.weights)
    }

    fn other_kommune(&mut self, not: usize) -> usize {
        loop {
            let k = self.kommune();
            if k != not {
                return k;
            }
        }
    }

    fn adult(&mut self, settle: NaiveDate, age_lo: i64, age_hi: i64, female: bool) -> Member {
        let age = self.rng.range(age_lo, age_hi) as i32;
        let birth = plus(years_before(settle, age), -self.rng.range(0, 360));
        Member::new(birth, female)
    }

    /// Moves strictly after `from`, before `until`, chained (each to a municipality other than the current).
    fn random_moves(
        &mut self,
        from: NaiveDate,
        until: NaiveDate,
        start: usize,
    ) -> Vec<(NaiveDate, usize)> {
        let n = match self.rng.below(100) {
            0..=73 => 0,
            74..=91 => 1,
            92..=97 => 2,
            _ => 3,
        };
        let mut out = Vec::with_capacity(n);
        let mut prev = from;
        let mut cur = start;
        for i in 0..n {
            let left = days_between(prev, until) - 1;
            if left < 1 {
                break;
            }
            // Spread the remaining moves over the time left.
            let step = 1 + self.rng.below((left / (n - i) as i64).max(1) as u64) as i64;
            let date = plus(prev, step);
            let til = self.other_kommune(cur);
            out.push((date, til));
            prev = date;
            cur = til;
        }
        out
    }

    fn registration(&mut self, settle: NaiveDate) -> NaiveDate {
        let delay = match self.rng.below(100) {
            0..=84 => 0,
            85..=95 => self.rng.range(1, 30),
            _ => self.rng.range(31, 100),
        };
        plus(settle, delay).min(self.end)
    }

    fn random_plan(&mut self) -> Plan {
        let y = self.cfg.year;
        // Settlement year: mostly the last six years (IT-6 horizon), a few older cases (IT-3).
        let back = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
            [self.rng.weighted(&[14, 20, 22, 12, 10, 12, 3, 3, 2, 2])];
        let year = y - back;
        let settle = plus(ymd(year, 1, 1), self.rng.range(0, 364));
        let kommune = self.kommune();
        let mut plan = Plan {
            settle,
            kommune,
            malgruppe: Malgruppe::Flyktning,
            avtale: self.rng.below(100) < 95,
            // IT-3: most persons settled before automatic payment started had a grant triggered by an
            // application (80 %); the others are `krever_soknad`.
            tidligere_utlost: year < AUTO_PAYMENT_FROM && self.rng.below(100) < 80,
            registrert: self.registration(settle),
            moves: Vec::new(),
            members: Vec::new(),
        };
        let kind = self.rng.weighted(&[32, 8, 28, 8, 7, 4, 11, 2]);
        match kind {
            0 => {
                let female = self.rng.below(100) < 35;
                let m = self.adult(settle, 18, 45, female);
                plan.members.push(m);
            }
            1 => {
                let a = self.adult(settle, 20, 50, false);
                let b = self.adult(settle, 19, 48, true);
                plan.members.extend([a, b]);
            }
            2 | 3 => {
                let two = kind == 2;
                let mother = self.adult(settle, 22, 46, true);
                let mother_age = settle.year() - mother.birth.year();
                if two {
                    let father = self.adult(settle, 24, 52, false);
                    plan.members.push(father);
                }
                plan.members.push(mother);
                let kids = self.rng.range(1, if two { 5 } else { 4 });
                let max_age = i64::from((mother_age - 18).clamp(0, 17));
                // Oldest child first, siblings 15–40 months apart, all born before the settlement.
                let oldest = self.rng.range(0, max_age) as i32;
                let mut birth = plus(years_before(settle, oldest), -self.rng.range(1, 360));
                for _ in 0..kids {
                    if birth >= settle {
                        break;
                    }
                    let female = self.rng.below(2) == 0;
                    plan.members.push(Member::new(birth, female));
                    birth = plus(birth, self.rng.range(450, 1200));
                }
                if two && self.rng.below(100) < 8 {
                    let female = self.rng.below(2) == 0;
                    let g = self.adult(settle, 60, 82, female);
                    plan.members.push(g);
                }
            }
            4 => {
                // Unaccompanied minor, 13–17 at settlement (mostly 15–17).
                let age = [13, 14, 15, 16, 17][self.rng.weighted(&[1, 2, 3, 4, 4])];
                let female = self.rng.below(100) < 20;
                let birth = plus(years_before(settle, age), -self.rng.range(0, 330));
                let mut m = Member::new(birth, female);
                m.em = true;
                plan.avtale = self.rng.below(100) < 97;
                if self.rng.below(100) < 12 {
                    let g = plus(settle, self.rng.range(30, 900));
                    m.gjenforent = (g <= self.end).then_some(g);
                }
                plan.members.push(m);
            }
            5 => {
                let a = self.adult(settle, 60, 85, false);
                plan.members.push(a);
                if self.rng.below(2) == 0 {
                    let b = self.adult(settle, 58, 80, true);
                    plan.members.push(b);
                }
            }
            6 => {
                if !self.family_immigration(&mut plan) {
                    let m = self.adult(settle, 18, 45, false);
                    plan.members.push(m);
                }
            }
            _ => {
                plan.malgruppe = Malgruppe::Utenfor;
                let female = self.rng.below(2) == 0;
                let m = self.adult(settle, 20, 60, female);
                plan.members.push(m);
            }
        }
        // Mostly not by DUF for the few who arrived without one.
        for m in &mut plan.members {
            m.duf = m.em || self.rng.below(100) < 92;
        }
        plan.moves = self.random_moves(plan.settle, self.end, plan.kommune);
        // Emigration of the whole case, or a death of one member (IT-11, EM-3).
        if self.rng.below(1000) < 25 {
            let span = days_between(plan.settle, self.end);
            if span > 30 {
                let e = plus(plan.settle, self.rng.range(30, span));
                for m in &mut plan.members {
                    m.emigration = Some(e);
                }
            }
        }
        for i in 0..plan.members.len() {
            let age = plan.settle.year() - plan.members[i].birth.year();
            let per_mille = if age >= 60 { 30 } else { 4 };
            if plan.members[i].emigration.is_none() && self.rng.below(1000) < per_mille {
                let span = days_between(plan.settle, self.end);
                if span > 10 {
                    plan.members[i].death = Some(plus(plan.settle, self.rng.range(10, span)));
                }
            }
        }
        // A child born after the mother's settlement: 0–8 months later (IT-4's 6-month limit on both sides).
        if plan.malgruppe != Malgruppe::Utenfor && self.rng.below(100) < 12 {
            let mother = plan.members.iter().position(|m| {
                m.female && !m.em && (18..=42).contains(&(plan.settle.year() - m.birth.year()))
            });
            if let Some(mi) = mother {
                let birth = plus(plan.settle, self.rng.range(1, 245));
                let mum = &plan.members[mi];
                let gone = mum.death.or(mum.emigration).unwrap_or(self.end);
                if birth <= self.end && birth < gone {
                    let mut c = Member::new(birth, self.rng.below(2) == 0);
                    c.newborn_of = Some(mi);
                    c.duf = false;
                    c.emigration = mum.emigration;
                    plan.members.push(c);
                }
            }
        }
        plan
    }

    /// Turns `plan` into a family-immigration case joining a recent refugee (IT-5); false if none fits.
    fn family_immigration(&mut self, plan: &mut Plan) -> bool {
        if self.referents.is_empty() {
            return false;
        }
        let r = self.referents[self.rng.below(self.referents.len() as u64) as usize];
        let earliest = plus(r.settle.max(r.since), 180);
        let span = days_between(earliest, self.end);
        if span < 0 {
            return false;
        }
        let settle = plus(earliest, self.rng.range(0, span));
        let soknad = plus(settle, -self.rng.range(90, 400)).max(plus(r.settle, 30));
        plan.settle = settle;
        plan.kommune = r.kommune;
        plan.registrert = self.registration(settle);
        plan.tidligere_utlost = settle.year() < AUTO_PAYMENT_FROM && self.rng.below(100) < 80;
        plan.malgruppe = if self.rng.below(100) < 75 {
            Malgruppe::FamilieFlyktning
        } else {
            Malgruppe::FamilieHumanitar
        };
        let female = self.rng.below(100) < 85;
        let mut spouse = self.adult(settle, 20, 45, female);
        spouse.referanse = Some(r.fnr);
        spouse.familie_soknadsdato = Some(soknad);
        let max_age = i64::from((settle.year() - spouse.birth.year() - 18).clamp(0, 17));
        plan.members.push(spouse);
        for _ in 0..self.rng.range(0, 3) {
            let age = self.rng.range(0, max_age) as i32;
            let birth = plus(years_before(settle, age), -self.rng.range(1, 360));
            let mut c = Member::new(birth, self.rng.below(2) == 0);
            c.referanse = Some(r.fnr);
            c.familie_soknadsdato = Some(soknad);
            plan.members.push(c);
        }
        true
    }

    /// The fixed showcase cases (see [`SHOWCASE`]); dates are relative to the run year, municipalities come
    /// from the seed.
    fn showcase(&mut self, i: usize) -> Plan {
        let y = self.cfg.year;
        let k = self.kommune();
        let mut p = Plan {
            settle: ymd(y - 1, 3, 1),
            kommune: k,
            malgruppe: Malgruppe::Flyktning,
            avtale: true,
            tidligere_utlost: false,
            registrert: ymd(y - 1, 3, 1),
            moves: Vec::new(),
            members: Vec::new(),
        };
        let at = |settle: NaiveDate, age: i32, days_older: i64, female: bool| {
            Member::new(plus(years_before(settle, age), -days_older), female)
        };
        let settle = |p: &mut Plan, d: NaiveDate| {
            p.settle = d;
            p.registrert = d;
        };
        match i {
            0 => {
                settle(&mut p, ymd(y - 2, 3, 15));
                p.members.push(at(p.settle, 28, 40, false));
                let to = self.other_kommune(k);
                p.moves.push((ymd(y - 2, 8, 1), to));
            }
            1 => {
                settle(&mut p, ymd(y - 3, 5, 10));
                p.members.push(at(p.settle, 34, 100, true));
                let a = self.other_kommune(k);
                let b = self.other_kommune(a);
                p.moves.push((ymd(y - 1, 2, 1), a));
                p.moves.push((ymd(y - 1, 3, 20), b));
            }
            2 => {
                settle(&mut p, ymd(y - 3, 6, 1));
                let mut m = at(p.settle, 52, 10, false);
                m.death = Some(ymd(y - 1, 11, 14));
                p.members.push(m);
            }
            3 => {
                settle(&mut p, ymd(y - 2, 9, 1));
                for (age, female) in [(40, false), (37, true)] {
                    let mut m = at(p.settle, age, 200, female);
                    m.emigration = Some(ymd(y, 2, 10));
                    p.members.push(m);
                }
            }
            4 => {
                settle(&mut p, ymd(y - 3, 4, 20));
                let mut m = at(p.settle, 15, 60, false);
                m.em = true;
                m.gjenforent = Some(ymd(y - 1, 6, 30));
                p.members.push(m);
            }
            5 => {
                settle(&mut p, ymd(y - 1, 8, 15));
                let mut m = at(p.settle, 16, 120, true);
                m.em = true;
                p.members.push(m);
                let to = self.other_kommune(k);
                p.moves.push((ymd(y, 8, 1), to));
            }
            6 => {
                settle(&mut p, ymd(y - 1, 2, 1));
                p.members.push(at(p.settle, 31, 20, false));
                p.members.push(at(p.settle, 29, 70, true));
                p.members.push(at(p.settle, 4, 30, false));
                let mut c = Member::new(ymd(y - 1, 5, 10), true);
                c.newborn_of = Some(1);
                c.duf = false;
                p.members.push(c);
            }
            7 => {
                settle(&mut p, ymd(y - 2, 1, 15));
                p.members.push(at(p.settle, 27, 90, true));
                p.members.push(at(p.settle, 2, 30, true));
                // 8 months and 10 days after the mother's settlement: beyond IT-4's 6 months.
                let mut c = Member::new(ymd(y - 2, 9, 25), false);
                c.newborn_of = Some(0);
                c.duf = false;
                p.members.push(c);
                let to = self.other_kommune(k);
                p.moves.push((ymd(y - 2, 6, 1), to));
            }
            8 => {
                settle(&mut p, ymd(y - 3, 3, 1));
                p.members.push(at(p.settle, 35, 5, false));
            }
            9 | 11 => {
                // The referent is the last person of the previous (showcase) case.
                let r = self.referents.back().copied();
                p.malgruppe = if i == 9 {
                    Malgruppe::FamilieHumanitar
                } else {
                    Malgruppe::FamilieFlyktning
                };
                let (d, soknad) = if i == 9 {
                    (ymd(y - 1, 3, 15), ymd(y - 2, 6, 1))
                } else {
                    // Referent settled 1 May of y − 8; applied 1 September of y − 2: over 5 years (IT-5).
                    (ymd(y - 1, 4, 10), ymd(y - 2, 9, 1))
                };
                settle(&mut p, d);
                if let Some(r) = r {
                    p.kommune = r.kommune;
                }
                let mut spouse = at(p.settle, if i == 9 { 33 } else { 42 }, 15, true);
                spouse.referanse = r.map(|r| r.fnr);
                spouse.familie_soknadsdato = Some(soknad);
                p.members.push(spouse);
                if i == 9 {
                    let mut c = at(p.settle, 7, 50, false);
                    c.referanse = r.map(|r| r.fnr);
                    c.familie_soknadsdato = Some(soknad);
                    p.members.push(c);
                }
            }
            10 => {
                settle(&mut p, ymd(y - 8, 5, 1));
                p.members.push(at(p.settle, 45, 3, false));
            }
            12 => {
                settle(&mut p, ymd(y - 1, 10, 1));
                p.malgruppe = Malgruppe::Utenfor;
                p.members.push(at(p.settle, 30, 77, false));
            }
            13 => {
                settle(&mut p, ymd(y - 6, 6, 15));
                p.tidligere_utlost = true;
                p.members.push(at(p.settle, 38, 12, false));
                p.members.push(at(p.settle, 36, 150, true));
            }
            14 => {
                settle(&mut p, ymd(y - 7, 11, 20));
                p.members.push(at(p.settle, 25, 33, true));
            }
            15 => {
                settle(&mut p, ymd(y - 2, 7, 1));
                // Born the same day 60 years before: exactly 60 on the settlement date (IT-9 ELDR).
                p.members.push(at(p.settle, 60, 0, false));
            }
            16 => {
                settle(&mut p, ymd(y - 1, 9, 10));
                p.members.push(at(p.settle, 36, 11, false));
                p.members.push(at(p.settle, 33, 44, true));
                // Exactly 6 on the settlement date: no BHT (IT-9 needs under 6); the 2-year-old gets it.
                p.members.push(at(p.settle, 6, 0, true));
                p.members.push(at(p.settle, 2, 100, false));
            }
            17 => {
                settle(&mut p, ymd(y, 9, 20));
                p.registrert = ymd(y, 10, 15);
                p.members.push(at(p.settle, 24, 8, false));
            }
            18 => {
                settle(&mut p, ymd(y - 1, 12, 28));
                p.registrert = ymd(y, 1, 20);
                p.members.push(at(p.settle, 30, 180, true));
            }
            19 => {
                settle(&mut p, ymd(y, 5, 2));
                p.avtale = false;
                p.members.push(at(p.settle, 26, 60, false));
            }
            _ => {
                settle(&mut p, ymd(y - 4, 10, 5));
                p.members.push(at(p.settle, 71, 20, false));
                p.members.push(at(p.settle, 66, 90, true));
            }
        }
        p
    }

    /// Assigns person numbers and writes the plan into `self.case`; false if nothing was emitted.
    fn materialize(&mut self, plan: Plan) -> bool {
        self.case.personer.clear();
        self.case.flyttinger.clear();
        self.sak += 1;
        let sak_id = format!("SAK{:08}", self.sak);
        let left = self.cfg.persons - self.persons;
        let mut fnrs: Vec<Option<Fnr>> = Vec::with_capacity(plan.members.len());
        for m in plan.members.iter().take(left as usize) {
            let (lo, hi) = if m.newborn_of.is_some() {
                (plus(plan.settle, 1), self.end)
            } else if m.em {
                // Only older, so an unaccompanied minor stays 13–17 at settlement.
                (plus(m.birth, -15), m.birth)
            } else {
                (
                    plus(m.birth, -15),
                    plus(m.birth, 15).min(plus(plan.settle, -1)),
                )
            };
            let mother = m.newborn_of.and_then(|i| fnrs.get(i).copied().flatten());
            let f = if m.newborn_of.is_some() && mother.is_none() {
                None
            } else {
                self.alloc.take_near(m.birth, m.female, lo, hi)
            };
            fnrs.push(f);
        }
        let residence_on = |d: NaiveDate| {
            plan.moves
                .iter()
                .take_while(|(md, _)| *md <= d)
                .last()
                .map_or(plan.kommune, |(_, k)| *k)
        };
        let mut first_adult_refugee: Option<Referent> = None;
        for (m, f) in plan.members.iter().zip(&fnrs) {
            let Some(fnr) = *f else { continue };
            let birth = fnr.birth_date();
            let serial = self.persons;
            self.persons += 1;
            let (settle, kommune, registrert) = if m.newborn_of.is_some() {
                // IT-4: the child's settlement is its birth, where the mother lives that day.
                (birth, residence_on(birth), birth)
            } else {
                (plan.settle, plan.kommune, plan.registrert)
            };
            let duf = if m.duf {
                let arrival = plan.settle.year() - self.rng.below(2) as i32;
                let n = (serial.wrapping_mul(7919).wrapping_add(1_234_567)) % 100_000_000;
                Duf::parse(&format!("{arrival:04}{n:08}"), self.cfg.year).ok()
            } else {
                None
            };
            let gone = m.death.or(m.emigration);
            let person = Person {
                fnr,
                duf,
                fodselsdato: birth,
                bosettingsdato: settle,
                bosettingskommune: self.knr[kommune],
                sak_id: sak_id.clone(),
                malgruppe: plan.malgruppe,
                bosatt_etter_avtale: plan.avtale,
                enslig_mindrearig: m.em,
                mor_fnr: m.newborn_of.and_then(|i| fnrs[i]),
                referanse_fnr: m.referanse,
                familie_soknadsdato: m.familie_soknadsdato,
                registrert_dato: registrert,
                dodsdato: m.death,
                utvandringsdato: m.emigration,
                gjenforent_dato: m.gjenforent,
                tidligere_utlost: plan.tidligere_utlost,
                line: serial + 2,
            };
            // The case's moves after this person's settlement and before death/emigration, chained.
            let mut cur = kommune;
            let mut last_move = settle;
            for &(d, til) in &plan.moves {
                if d <= settle || gone.is_some_and(|g| d >= g) {
                    continue;
                }
                self.case.flyttinger.push(Flytting {
                    fnr,
                    flyttedato: d,
                    til_kommune: self.knr[til],
                    fra_kommune: Some(self.knr[cur]),
                    line: self.moves + 2,
                });
                self.moves += 1;
                cur = til;
                last_move = d;
            }
            let adult = settle.year() - birth.year() >= 18;
            if first_adult_refugee.is_none()
                && adult
                && !m.em
                && gone.is_none()
                && plan.malgruppe == Malgruppe::Flyktning
                && m.newborn_of.is_none()
            {
                first_adult_refugee = Some(Referent {
                    fnr,
                    settle,
                    kommune: cur,
                    since: last_move,
                });
            }
            self.case.personer.push(person);
        }
        if let Some(r) = first_adult_refugee {
            if self.referents.len() == REFERENTS_KEPT {
                self.referents.pop_front();
            }
            self.referents.push_back(r);
        }
        !self.case.personer.is_empty()
    }
}

/// The whole extract in memory (tests, benches of the engine without CSV). For large N prefer [`write`].
pub fn extract(cfg: &Config) -> Result<Extract, ConfigError> {
    let mut g = Generator::new(cfg)?;
    let mut x = Extract {
        personer_file: "dsf/personer.csv".into(),
        flyttinger_file: Some("dsf/flyttinger.csv".into()),
        ..Extract::default()
    };
    while let Some(c) = g.next_case() {
        x.personer.extend(c.personer.iter().cloned());
        x.flyttinger.extend(c.flyttinger.iter().cloned());
    }
    Ok(x)
}

// ---------------------------------------------------------------------------------------------------------
// Writing

/// Column order of the generated `personer.csv` (SPEC §1.3).
pub const PERSONER_HEADER: &str = "fnr,duf,fodselsdato,bosettingsdato,bosettingskommune,sak_id,malgruppe,bosatt_etter_avtale,enslig_mindrearig,mor_fnr,referanse_fnr,familie_soknadsdato,registrert_dato,dodsdato,utvandringsdato,gjenforent_dato,tidligere_utlost";
/// Column order of the generated `flyttinger.csv` (SPEC §1.4).
pub const FLYTTINGER_HEADER: &str = "fnr,flyttedato,til_kommune,fra_kommune";

fn push_date(buf: &mut Vec<u8>, d: NaiveDate) {
    let (y, m, day) = (d.year(), d.month(), d.day());
    let digits = [
        (y / 1000 % 10) as u8,
        (y / 100 % 10) as u8,
        (y / 10 % 10) as u8,
        (y % 10) as u8,
    ];
    buf.extend(digits.iter().map(|x| b'0' + x));
    buf.extend_from_slice(&[
        b'-',
        b'0' + (m / 10) as u8,
        b'0' + (m % 10) as u8,
        b'-',
        b'0' + (day / 10) as u8,
        b'0' + (day % 10) as u8,
    ]);
}

fn push_opt_date(buf: &mut Vec<u8>, d: Option<NaiveDate>) {
    if let Some(d) = d {
        push_date(buf, d);
    }
}

fn push_bool(buf: &mut Vec<u8>, b: bool) {
    buf.extend_from_slice(if b { b"ja" } else { b"nei" });
}

/// One `personer.csv` line. No field can hold `,`, `"` or a line break (digits, dates, fixed words and
/// `SAK` ids), so no quoting is needed.
fn person_line(buf: &mut Vec<u8>, p: &Person) {
    buf.clear();
    buf.extend_from_slice(p.fnr.as_str().as_bytes());
    buf.push(b',');
    if let Some(d) = p.duf {
        buf.extend_from_slice(d.to_string().as_bytes());
    }
    buf.push(b',');
    push_date(buf, p.fodselsdato);
    buf.push(b',');
    push_date(buf, p.bosettingsdato);
    buf.push(b',');
    buf.extend_from_slice(p.bosettingskommune.to_string().as_bytes());
    buf.push(b',');
    buf.extend_from_slice(p.sak_id.as_bytes());
    buf.push(b',');
    buf.extend_from_slice(p.malgruppe.as_str().as_bytes());
    buf.push(b',');
    push_bool(buf, p.bosatt_etter_avtale);
    buf.push(b',');
    push_bool(buf, p.enslig_mindrearig);
    buf.push(b',');
    if let Some(f) = p.mor_fnr {
        buf.extend_from_slice(f.as_str().as_bytes());
    }
    buf.push(b',');
    if let Some(f) = p.referanse_fnr {
        buf.extend_from_slice(f.as_str().as_bytes());
    }
    buf.push(b',');
    push_opt_date(buf, p.familie_soknadsdato);
    buf.push(b',');
    push_date(buf, p.registrert_dato);
    buf.push(b',');
    push_opt_date(buf, p.dodsdato);
    buf.push(b',');
    push_opt_date(buf, p.utvandringsdato);
    buf.push(b',');
    push_opt_date(buf, p.gjenforent_dato);
    buf.push(b',');
    push_bool(buf, p.tidligere_utlost);
    buf.push(b'\n');
}

fn move_line(buf: &mut Vec<u8>, f: &Flytting) {
    buf.clear();
    buf.extend_from_slice(f.fnr.as_str().as_bytes());
    buf.push(b',');
    push_date(buf, f.flyttedato);
    buf.push(b',');
    buf.extend_from_slice(f.til_kommune.to_string().as_bytes());
    buf.push(b',');
    if let Some(k) = f.fra_kommune {
        buf.extend_from_slice(k.to_string().as_bytes());
    }
    buf.push(b'\n');
}

/// Writes `personer.csv` for `cfg` to `w`; returns the number of persons.
pub fn write_personer(cfg: &Config, w: &mut dyn Write) -> io::Result<u64> {
    let mut g = Generator::new(cfg).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    w.write_all(PERSONER_HEADER.as_bytes())?;
    w.write_all(b"\n")?;
    let mut buf = Vec::with_capacity(256);
    let mut n = 0;
    while let Some(c) = g.next_case() {
        for p in &c.personer {
            person_line(&mut buf, p);
            w.write_all(&buf)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Writes `flyttinger.csv` for `cfg` to `w` (a second pass over the same stream); returns the number of moves.
pub fn write_flyttinger(cfg: &Config, w: &mut dyn Write) -> io::Result<u64> {
    let mut g = Generator::new(cfg).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    w.write_all(FLYTTINGER_HEADER.as_bytes())?;
    w.write_all(b"\n")?;
    let mut buf = Vec::with_capacity(64);
    let mut n = 0;
    while let Some(c) = g.next_case() {
        for f in &c.flyttinger {
            move_line(&mut buf, f);
            w.write_all(&buf)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Writes `kommuner.csv` (SPEC §1.5), sorted by kommunenummer.
pub fn write_kommuner(n: usize, w: &mut dyn Write) -> io::Result<u64> {
    let mut rows = kommune_rows(n);
    rows.sort_by_key(|r| r.nr);
    let mut c = csv_writer(w);
    c.write_record(["kommunenummer", "navn", "orgnr", "kontonummer"])?;
    for r in &rows {
        c.write_record([
            r.nr.to_string().as_str(),
            r.navn,
            r.orgnr.as_str(),
            r.kontonummer.as_str(),
        ])?;
    }
    c.flush()?;
    Ok(rows.len() as u64)
}

/// Writes the example `satser.csv` (SPEC §1.6): every code × 2015–2030, status `eksempel`.
pub fn write_satser(w: &mut dyn Write) -> io::Result<u64> {
    let rows = example_rates();
    let mut c = csv_writer(w);
    c.write_record(["ar", "kode", "belop", "status", "kilde"])?;
    for r in &rows {
        c.write_record([
            r.ar.to_string().as_str(),
            r.kode.as_str(),
            r.belop.to_string().as_str(),
            "eksempel",
            EXAMPLE_KILDE,
        ])?;
    }
    c.flush()?;
    Ok(rows.len() as u64)
}

/// What [`write`] produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub persons: u64,
    pub moves: u64,
    pub kommuner: u64,
    pub rates: u64,
}

/// Writes `DIR/dsf/personer.csv`, `DIR/dsf/flyttinger.csv`, `DIR/kommuner.csv` and `DIR/satser.csv`
/// through [`OutputDir`] (all or nothing).
pub fn write(cfg: &Config, dir: &Path) -> io::Result<Summary> {
    cfg.check()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut out = OutputDir::create(dir)?;
    let mut s = Summary {
        persons: 0,
        moves: 0,
        kommuner: 0,
        rates: 0,
    };
    out.write_file("dsf/personer.csv", true, |w| {
        s.persons = write_personer(cfg, w)?;
        Ok(())
    })?;
    out.write_file("dsf/flyttinger.csv", true, |w| {
        s.moves = write_flyttinger(cfg, w)?;
        Ok(())
    })?;
    out.write_file("kommuner.csv", false, |w| {
        s.kommuner = write_kommuner(cfg.kommuner, w)?;
        Ok(())
    })?;
    out.write_file("satser.csv", false, |w| {
        s.rates = write_satser(w)?;
        Ok(())
    })?;
    out.commit()?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_reference_values() {
        // Reference output of SplitMix64 seeded with 0 (Vigna's splitmix64.c): first value 0xE220A8397B1DCDAF.
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn example_rates_growth_by_hand() {
        // 235 000 · 1.01 = 237 350 → nearest hundred 237 400 (2018); 235 000 / 1.01 = 232 673 → 232 700 (2016).
        assert_eq!(example_rate(2017, RateCode::Ar1Ev), 235_000);
        assert_eq!(example_rate(2018, RateCode::Ar1Ev), 237_400);
        assert_eq!(example_rate(2016, RateCode::Ar1Ev), 232_700);
        assert_eq!(example_rate(2023, RateCode::Eminb), 1_118_000);
        assert_eq!(example_rate(2023, RateCode::FhtFristMnd), 1);
        assert_eq!(example_rate(2024, RateCode::FhtFristMnd), 2);
        assert_eq!(example_rate(2030, RateCode::Fht1Terskel), 100_000);
    }

    #[test]
    fn allocator_moves_to_the_nearest_free_day_within_bounds() {
        let mut a = FnrAlloc::new(ymd(2024, 12, 31));
        let day = ymd(1985, 6, 10);
        // Exhaust 10 June 1985 for men (ordinary, 900–999 and D-numbers).
        while a.take(day, false).is_some() {}
        let lo = ymd(1985, 6, 1);
        let hi = ymd(1985, 6, 10);
        // Day +1 is out of bounds, so the next is day −1 (9 June).
        let f = a.take_near(day, false, lo, hi).unwrap();
        assert_eq!(f.birth_date(), ymd(1985, 6, 9));
        // With the bounds on the full day only, there is nothing.
        assert!(a.take_near(day, false, day, day).is_none());
        // Women of that day are unaffected.
        assert_eq!(a.take(day, true).unwrap().birth_date(), day);
    }

    #[test]
    fn line_numbers_follow_the_files() {
        let x = extract(&Config::new(200, 9)).unwrap();
        // Header is line 1, so the k-th row (0-based) is on line k + 2.
        for (k, p) in x.personer.iter().enumerate() {
            assert_eq!(p.line, k as u64 + 2);
        }
        for (k, f) in x.flyttinger.iter().enumerate() {
            assert_eq!(f.line, k as u64 + 2);
        }
    }

    #[test]
    fn allocator_gives_distinct_valid_numbers_until_the_day_is_full() {
        let mut a = FnrAlloc::new(ymd(2024, 12, 31));
        let day = ymd(2001, 3, 4);
        let mut seen = std::collections::BTreeSet::new();
        while let Some(f) = a.take(day, true) {
            assert!(f.is_synthetic());
            assert_eq!(f.birth_date(), day);
            // Female: third individual digit even (digit 9).
            assert_eq!((f.as_str().as_bytes()[8] - b'0') % 2, 0);
            assert!(seen.insert(f));
        }
        // 250 ordinary + 250 D-numbers of one parity, about 1 in 6 lost to control digit 10 (k1 or k2).
        assert!(seen.len() > 350 && seen.len() <= 500, "{}", seen.len());
    }
}
