//! The payment ledger (SPEC T-2/T-4, `utbetalt.csv`): what has been paid, per
//! (person, municipality, code, calendar year).

use crate::domain::ids::{Fnr, Knr};
use crate::domain::rates::RateCode;
use crate::domain::termin::Termin;
use rust_decimal::Decimal;
use std::fmt;
use std::sync::Arc;

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
    pub origin: Origin,
}

/// Where a ledger line was read: the table's name (shared by all its lines) and the line number. Printed
/// as `file:line`, or as nothing for a line written by this run. Holds no text of its own, so that a
/// ledger of many millions of lines costs no allocation per line (issue 6: memory grows with the persons).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin(Option<(Arc<str>, u64)>);

impl Origin {
    pub fn new(file: Arc<str>, line: u64) -> Origin {
        Origin(Some((file, line)))
    }

    /// No origin: a line written by this run.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The table's name (empty for a line written by this run).
    pub fn file(&self) -> &str {
        self.0.as_ref().map_or("", |(f, _)| f)
    }

    pub fn line(&self) -> Option<u64> {
        self.0.as_ref().map(|(_, l)| *l)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some((file, line)) => write!(f, "{file}:{line}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_prints_file_colon_line_or_nothing() {
        let file: Arc<str> = "ledger/utbetalt.csv".into();
        for line in [0u64, 1, 17, u64::MAX] {
            let o = Origin::new(file.clone(), line);
            assert_eq!(o.to_string(), format!("ledger/utbetalt.csv:{line}"));
            assert_eq!((o.file(), o.line()), ("ledger/utbetalt.csv", Some(line)));
            assert!(!o.is_empty());
        }
        let none = Origin::default();
        assert_eq!(none.to_string(), "");
        assert_eq!((none.file(), none.line()), ("", None));
        assert!(none.is_empty());
    }
}
