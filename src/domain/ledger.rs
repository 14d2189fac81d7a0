//! The payment ledger (SPEC T-2/T-4, `utbetalt.csv`): what has been paid, per
//! (person, municipality, code, calendar year).

use crate::domain::ids::{Fnr, Knr};
use crate::domain::rates::RateCode;
use crate::domain::termin::Termin;
use rust_decimal::Decimal;

/// The key every accrual and payment is netted on (T-2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct LineKey {
    pub fnr: Fnr,
    pub kommune: Knr,
    pub kode: RateCode,
    pub ar: i32,
}

/// One ledger line: `termin, kommunenummer, fnr, kode, ar, belop`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerLine {
    pub termin: Termin,
    pub key: LineKey,
    pub belop: Decimal,
    /// Source table and line (`ledger/utbetalt.csv:17`); empty for lines written by this run.
    pub origin: String,
}
