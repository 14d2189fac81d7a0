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
    /// Rule ids that produced the line, e.g. `["IT-6", "IT-8", "IT-10", "IT-13"]`.
    pub regler: Vec<&'static str>,
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

/// Everything one termin run produces.
#[derive(Clone, Debug)]
pub struct TerminResult {
    pub termin: Termin,
    pub basis_date: NaiveDate,
    /// Sorted by (fnr, kommune, kode, ar) — the [`LineKey`] order, so that it can be streamed per person.
    pub lines: Vec<BasisLine>,
    /// Sorted by kommune.
    pub kommuner: Vec<KommuneSum>,
    /// The ledger read in plus the lines paid now (T-4), sorted.
    pub new_ledger: Vec<LedgerLine>,
    pub avvik: Vec<Avvik>,
    /// (year, code) of every rate used.
    pub rates_used: Vec<(i32, RateCode)>,
    pub counts: Counts,
}
