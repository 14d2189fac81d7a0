//! Rate tables (`satser`, SPEC §1.6): rates are data, never constants in code. A calculation that needs a
//! rate which is not in the table stops with [`MissingRate`], naming year and code.

use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// A rate code (SPEC §1.6). The order here is the column order of `kommuner.csv`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum RateCode {
    Ar1Ev,
    Ar1,
    Ar1Em,
    Ar1B,
    Ar2,
    Ar3,
    Ar4,
    Ar5,
    Eldr,
    Bht,
    Eminb,
    Eminu,
    Fht1,
    Fht2Maks,
    Fht1Terskel,
    Fht2Terskel,
    FhtAnsvarsgruppeMaks,
    FhtFristMnd,
}

impl RateCode {
    pub const ALL: [RateCode; 18] = [
        RateCode::Ar1Ev,
        RateCode::Ar1,
        RateCode::Ar1Em,
        RateCode::Ar1B,
        RateCode::Ar2,
        RateCode::Ar3,
        RateCode::Ar4,
        RateCode::Ar5,
        RateCode::Eldr,
        RateCode::Bht,
        RateCode::Eminb,
        RateCode::Eminu,
        RateCode::Fht1,
        RateCode::Fht2Maks,
        RateCode::Fht1Terskel,
        RateCode::Fht2Terskel,
        RateCode::FhtAnsvarsgruppeMaks,
        RateCode::FhtFristMnd,
    ];

    /// The codes that are paid through a termin (IT and EM), in `kommuner.csv` column order.
    pub const TERMIN_CODES: [RateCode; 12] = [
        RateCode::Ar1Ev,
        RateCode::Ar1,
        RateCode::Ar1Em,
        RateCode::Ar1B,
        RateCode::Ar2,
        RateCode::Ar3,
        RateCode::Ar4,
        RateCode::Ar5,
        RateCode::Eldr,
        RateCode::Bht,
        RateCode::Eminb,
        RateCode::Eminu,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            RateCode::Ar1Ev => "AR-1 EV",
            RateCode::Ar1 => "AR-1",
            RateCode::Ar1Em => "AR-1 EM",
            RateCode::Ar1B => "AR-1 B",
            RateCode::Ar2 => "AR-2",
            RateCode::Ar3 => "AR-3",
            RateCode::Ar4 => "AR-4",
            RateCode::Ar5 => "AR-5",
            RateCode::Eldr => "ELDR",
            RateCode::Bht => "BHT",
            RateCode::Eminb => "EMINB",
            RateCode::Eminu => "EMINU",
            RateCode::Fht1 => "FHT1",
            RateCode::Fht2Maks => "FHT2-MAKS",
            RateCode::Fht1Terskel => "FHT1-TERSKEL",
            RateCode::Fht2Terskel => "FHT2-TERSKEL",
            RateCode::FhtAnsvarsgruppeMaks => "FHT-ANSVARSGRUPPE-MAKS",
            RateCode::FhtFristMnd => "FHT-FRIST-MND",
        }
    }

    /// The code for år n (2..=5) of the integration grant (IT-8).
    pub fn for_grant_year(n: u8) -> Option<RateCode> {
        match n {
            2 => Some(RateCode::Ar2),
            3 => Some(RateCode::Ar3),
            4 => Some(RateCode::Ar4),
            5 => Some(RateCode::Ar5),
            _ => None,
        }
    }
}

impl FromStr for RateCode {
    type Err = ();
    /// Case-insensitive; `AR-1 EV`, `ar-1  ev`, `AR-1_EV` all match.
    fn from_str(s: &str) -> Result<Self, ()> {
        let norm: String = s
            .trim()
            .split(|c: char| c.is_whitespace() || c == '_')
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_uppercase();
        RateCode::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == norm)
            .ok_or(())
    }
}

impl fmt::Display for RateCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `status` of a rate (SPEC §1.6).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum RateStatus {
    Vedtatt,
    Forslag,
    Eksempel,
}

impl RateStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            RateStatus::Vedtatt => "vedtatt",
            RateStatus::Forslag => "forslag",
            RateStatus::Eksempel => "eksempel",
        }
    }
}

impl FromStr for RateStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim().to_ascii_lowercase().as_str() {
            "vedtatt" => Ok(RateStatus::Vedtatt),
            "forslag" => Ok(RateStatus::Forslag),
            "eksempel" => Ok(RateStatus::Eksempel),
            _ => Err(()),
        }
    }
}

impl fmt::Display for RateStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rate row (SPEC §1.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rate {
    pub ar: i32,
    pub kode: RateCode,
    pub belop: Decimal,
    pub status: RateStatus,
    pub kilde: String,
    /// Display name of the table and the line the rate came from (`rates/satser.csv:12`).
    pub origin: String,
}

/// A calculation needed a rate the tables do not have. Stops the run (SPEC §1.6).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("missing rate: no rate for year {year}, code {kode} in the rate tables; add a row (ar={year}, kode={kode}) with its status and source")]
pub struct MissingRate {
    pub year: i32,
    pub kode: RateCode,
}

/// All rates, keyed by (year, code). Duplicates are refused by the reader (SPEC §1.6).
#[derive(Clone, Debug, Default)]
pub struct RateTable {
    rates: BTreeMap<(i32, RateCode), Rate>,
}

impl RateTable {
    /// Adds a rate; returns the existing one if (ar, kode) is already present (a duplicate is an error).
    pub fn insert(&mut self, rate: Rate) -> Result<(), Box<Rate>> {
        match self.rates.entry((rate.ar, rate.kode)) {
            std::collections::btree_map::Entry::Occupied(e) => Err(Box::new(e.get().clone())),
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(rate);
                Ok(())
            }
        }
    }

    pub fn get(&self, year: i32, kode: RateCode) -> Result<&Rate, MissingRate> {
        self.rates
            .get(&(year, kode))
            .ok_or(MissingRate { year, kode })
    }

    pub fn iter(&self) -> impl Iterator<Item = &Rate> {
        self.rates.values()
    }

    pub fn len(&self) -> usize {
        self.rates.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rates.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_normalise() {
        for c in RateCode::ALL {
            assert_eq!(c.as_str().parse::<RateCode>(), Ok(c));
        }
        assert_eq!("ar-1  ev".parse::<RateCode>(), Ok(RateCode::Ar1Ev));
        assert_eq!("AR-1_B".parse::<RateCode>(), Ok(RateCode::Ar1B));
        assert!("AR-6".parse::<RateCode>().is_err());
    }

    #[test]
    fn missing_rate_names_year_and_code() {
        let t = RateTable::default();
        let e = t.get(2024, RateCode::Ar2).unwrap_err();
        assert!(e.to_string().contains("2024") && e.to_string().contains("AR-2"));
    }
}
