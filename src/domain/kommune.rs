//! The municipality register (`kommuner`, SPEC §1.5): names, org.nr and account for payment files, and
//! the validity periods used by ID-3.

use crate::domain::ids::{Knr, Kontonr, Orgnr};
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// One register row. `orgnr`/`kontonummer` are `None` when the cell was empty or invalid (the reader lists
/// the problem in `avvik`); such a municipality still gets its basis but is left out of payment files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kommune {
    pub nr: Knr,
    pub navn: String,
    pub orgnr: Option<Orgnr>,
    pub kontonummer: Option<Kontonr>,
    pub gyldig_fra: Option<NaiveDate>,
    pub gyldig_til: Option<NaiveDate>,
    pub line: u64,
}

impl Kommune {
    pub fn valid_on(&self, date: NaiveDate) -> bool {
        self.gyldig_fra.is_none_or(|f| f <= date) && self.gyldig_til.is_none_or(|t| date <= t)
    }
}

#[derive(Clone, Debug, Default)]
pub struct KommuneRegister {
    pub file: String,
    by_nr: BTreeMap<Knr, Vec<Kommune>>,
}

impl KommuneRegister {
    pub fn new(file: String) -> Self {
        KommuneRegister {
            file,
            by_nr: BTreeMap::new(),
        }
    }

    pub fn insert(&mut self, k: Kommune) {
        self.by_nr.entry(k.nr).or_default().push(k);
    }

    /// The register row valid on `date` (ID-3).
    pub fn get(&self, nr: Knr, date: NaiveDate) -> Option<&Kommune> {
        self.by_nr.get(&nr)?.iter().find(|k| k.valid_on(date))
    }

    /// The newest row for `nr`, whatever its validity (names in reports).
    pub fn latest(&self, nr: Knr) -> Option<&Kommune> {
        self.by_nr.get(&nr)?.iter().max_by_key(|k| k.gyldig_fra)
    }

    pub fn contains(&self, nr: Knr) -> bool {
        self.by_nr.contains_key(&nr)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Kommune> {
        self.by_nr.values().flatten()
    }
}
