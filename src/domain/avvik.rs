//! Avvik: a rejected or questionable input row, with where it is and why (SPEC §6 `avvik.csv`).
//! Every reader and rule that drops or doubts a row produces one; nothing disappears silently.

use crate::domain::ids::Fnr;
use std::fmt;

/// Whether the row was left out (rejected/excluded) or used with a warning.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Niva {
    /// Not used: rejected by a reader or excluded by a rule.
    Avvist,
    /// Used, with a warning.
    Advarsel,
}

impl Niva {
    pub fn as_str(&self) -> &'static str {
        match self {
            Niva::Avvist => "avvist",
            Niva::Advarsel => "advarsel",
        }
    }
}

#[derive(Clone, PartialEq, Eq, Debug, PartialOrd, Ord)]
pub struct Avvik {
    /// Display name of the table: `dsf/personer.csv`, `dsf.xlsx[personer]`.
    pub fil: String,
    /// CSV line (header = 1) or Excel row; `None` for file-level problems.
    pub linje: Option<u64>,
    /// The column concerned, if one.
    pub kolonne: Option<String>,
    /// The person concerned; written masked everywhere (SPEC §6).
    pub fnr: Option<Fnr>,
    /// Machine-readable reason, e.g. `ugyldig_fnr`, `utenfor_malgruppe` (rule codes from the SPEC).
    pub kode: String,
    /// Human-readable reason naming the raw value (with any person number masked) and what to do.
    pub melding: String,
    pub niva: Niva,
}

impl Avvik {
    pub fn rejected(
        fil: &str,
        linje: Option<u64>,
        kolonne: Option<&str>,
        kode: &str,
        melding: String,
    ) -> Avvik {
        Avvik {
            fil: fil.to_string(),
            linje,
            kolonne: kolonne.map(str::to_string),
            fnr: None,
            kode: kode.to_string(),
            melding: crate::domain::ids::mask_text(&melding),
            niva: Niva::Avvist,
        }
    }

    pub fn warning(
        fil: &str,
        linje: Option<u64>,
        kolonne: Option<&str>,
        kode: &str,
        melding: String,
    ) -> Avvik {
        Avvik {
            niva: Niva::Advarsel,
            ..Avvik::rejected(fil, linje, kolonne, kode, melding)
        }
    }

    pub fn with_fnr(mut self, fnr: Option<Fnr>) -> Avvik {
        self.fnr = fnr;
        self
    }
}

/// Rejected input rows: distinct (file, line) of the rejected avvik. A row can hold several problems (one
/// avvik each) and a row joined to the next by a stray quote is one record; warnings leave the row in use.
pub fn rejected_rows<'a>(avvik: impl IntoIterator<Item = &'a Avvik>) -> usize {
    avvik
        .into_iter()
        .filter(|a| a.niva == Niva::Avvist)
        .map(|a| (a.fil.as_str(), a.linje))
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

impl fmt::Display for Avvik {
    /// `file:line: column: message` (Excel tables are named `file[sheet]`, so this reads `file[sheet]:row`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.fil)?;
        if let Some(l) = self.linje {
            write!(f, ":{l}")?;
        }
        write!(f, ": ")?;
        if let Some(c) = &self.kolonne {
            write!(f, "{c}: ")?;
        }
        if self.niva == Niva::Advarsel {
            write!(f, "warning: ")?;
        }
        write!(f, "{} [{}]", self.melding, self.kode)
    }
}
