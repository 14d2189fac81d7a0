//! The DSF extract as plain data (SPEC §1.3–1.4): persons and their moves, after the readers have
//! validated every field. Rules never see raw text.

use crate::domain::ids::{Duf, Fnr, Knr};
use chrono::NaiveDate;
use std::fmt;
use std::str::FromStr;

/// `malgruppe` (SPEC §1.3).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Malgruppe {
    Flyktning,
    FamilieFlyktning,
    FamilieHumanitar,
    Utenfor,
}

impl Malgruppe {
    pub const ALL: [Malgruppe; 4] = [
        Malgruppe::Flyktning,
        Malgruppe::FamilieFlyktning,
        Malgruppe::FamilieHumanitar,
        Malgruppe::Utenfor,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Malgruppe::Flyktning => "flyktning",
            Malgruppe::FamilieFlyktning => "familie_flyktning",
            Malgruppe::FamilieHumanitar => "familie_humanitar",
            Malgruppe::Utenfor => "utenfor",
        }
    }

    pub fn is_family(&self) -> bool {
        matches!(
            self,
            Malgruppe::FamilieFlyktning | Malgruppe::FamilieHumanitar
        )
    }
}

impl FromStr for Malgruppe {
    type Err = ();
    /// Case-insensitive; `familie_humanitær` and `familie_humanitaer` both mean `familie_humanitar`
    /// (SPEC §1.1: æøå may be written ae/o/a; the code itself is spelled with a plain `a`).
    fn from_str(s: &str) -> Result<Self, ()> {
        if let Some(m) = Malgruppe::ALL.iter().copied().find(|m| m.as_str() == s) {
            return Ok(m); // fast path: the exact code, no allocation
        }
        let n = crate::domain::fold_name(s).replace("humanitaer", "humanitar");
        Malgruppe::ALL
            .iter()
            .copied()
            .find(|m| m.as_str() == n)
            .ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::Malgruppe;

    #[test]
    fn malgruppe_accepts_norwegian_spellings() {
        for s in [
            "familie_humanitar",
            "familie_humanitær",
            "Familie_Humanitaer",
            " FAMILIE_HUMANITÆR ",
        ] {
            assert_eq!(s.parse(), Ok(Malgruppe::FamilieHumanitar), "{s}");
        }
        assert_eq!("flyktning".parse(), Ok(Malgruppe::Flyktning));
        assert!("flyktninger".parse::<Malgruppe>().is_err());
    }
}

impl fmt::Display for Malgruppe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of `personer` (SPEC §1.3), validated. Optional columns carry their SPEC defaults already.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub fnr: Fnr,
    pub duf: Option<Duf>,
    /// Given, or taken from `fnr` (always consistent with it after validation).
    pub fodselsdato: NaiveDate,
    pub bosettingsdato: NaiveDate,
    pub bosettingskommune: Knr,
    pub sak_id: String,
    pub malgruppe: Malgruppe,
    /// Default `true`.
    pub bosatt_etter_avtale: bool,
    /// Default `false`.
    pub enslig_mindrearig: bool,
    pub mor_fnr: Option<Fnr>,
    pub referanse_fnr: Option<Fnr>,
    pub familie_soknadsdato: Option<NaiveDate>,
    /// Default `bosettingsdato`.
    pub registrert_dato: NaiveDate,
    pub dodsdato: Option<NaiveDate>,
    pub utvandringsdato: Option<NaiveDate>,
    pub gjenforent_dato: Option<NaiveDate>,
    /// Default `false`.
    pub tidligere_utlost: bool,
    /// Line (CSV, header = line 1) or row (Excel) of the source row, for `avvik.csv`.
    pub line: u64,
}

/// One row of `flyttinger` (SPEC §1.4), validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flytting {
    pub fnr: Fnr,
    pub flyttedato: NaiveDate,
    pub til_kommune: Knr,
    pub fra_kommune: Option<Knr>,
    pub line: u64,
}

/// A DSF extract (SPEC §1.4): the accepted rows only; rejected rows are in the loader's `avvik`.
#[derive(Clone, Debug, Default)]
pub struct Extract {
    /// Display name of the `personer` table (`dsf/personer.csv` or `dsf.xlsx[personer]`).
    pub personer_file: String,
    pub personer: Vec<Person>,
    /// Display name of the `flyttinger` table, if one was given.
    pub flyttinger_file: Option<String>,
    /// Moves in file order; the engine applies each person's moves in date order, ties in file order.
    pub flyttinger: Vec<Flytting>,
}
