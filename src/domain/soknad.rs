//! Applications for the extra grant and earlier decisions (SPEC §5 inputs `soknader` and `vedtak`), as
//! validated plain data.

use crate::domain::ids::{Fnr, Knr};
use chrono::NaiveDate;
use rust_decimal::Decimal;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum FhtType {
    T1,
    T2,
}

impl FhtType {
    pub fn as_str(&self) -> &'static str {
        match self {
            FhtType::T1 => "T1",
            FhtType::T2 => "T2",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Grunnlag {
    Budsjett,
    Regnskap,
}

impl Grunnlag {
    pub fn as_str(&self) -> &'static str {
        match self {
            Grunnlag::Budsjett => "budsjett",
            Grunnlag::Regnskap => "regnskap",
        }
    }
}

/// Document flags of an application (FHT-6).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Dokumenter {
    pub samtykke: bool,
    pub legeerklaering: bool,
    pub spesialisterklaering: bool,
    pub sosialrapport: bool,
    pub tiltaksbeskrivelse: bool,
    pub budsjettskjema: bool,
}

/// One row of `soknader`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Soknad {
    pub soknad_id: String,
    pub fnr: Fnr,
    pub kommunenummer: Knr,
    pub typ: FhtType,
    /// Grant year n (FHT-1), 1-based.
    pub tilskuddsar: u8,
    pub mottatt_dato: NaiveDate,
    pub belop: Decimal,
    pub grunnlag: Grunnlag,
    pub ansvarsgruppe: Option<Decimal>,
    pub utsatt_frist: Option<NaiveDate>,
    pub dokumenter: Dokumenter,
    pub line: u64,
}

/// One row of `vedtak` (earlier decisions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TidligereVedtak {
    pub soknad_id: String,
    pub fnr: Fnr,
    pub typ: FhtType,
    pub tilskuddsar: u8,
    pub innvilget_belop: Decimal,
    pub grunnlag: Grunnlag,
    pub regnskap_belop: Option<Decimal>,
    pub regnskap_mottatt: Option<NaiveDate>,
    pub line: u64,
}
