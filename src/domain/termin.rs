//! A termin (quarterly payment run, SPEC §0 and §7): `2024-Q3`, `2024Q3` or `3/2024`.

use chrono::NaiveDate;
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Termin {
    pub year: i32,
    /// 1..=4
    pub quarter: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("'{0}' is not a termin: write it as 2024-Q3, 2024Q3 or 3/2024 (quarter 1 to 4)")]
pub struct TerminError(pub String);

impl Termin {
    pub fn new(year: i32, quarter: u8) -> Option<Termin> {
        ((1..=4).contains(&quarter) && (1900..=9999).contains(&year))
            .then_some(Termin { year, quarter })
    }

    /// Last month of the quarter (3, 6, 9 or 12).
    pub fn last_month(&self) -> u32 {
        u32::from(self.quarter) * 3
    }

    /// The default basis date: the quarter's last day (T-1).
    pub fn basis_date(&self) -> NaiveDate {
        let (y, m) = if self.quarter == 4 {
            (self.year + 1, 1)
        } else {
            (self.year, self.last_month() + 1)
        };
        // Invariant: year is in 1900..=9999 and month in 1..=12, so the first of the next month exists.
        NaiveDate::from_ymd_opt(y, m, 1)
            .and_then(|d| d.pred_opt())
            .expect("quarter end exists")
    }

    /// Whether month `m` of year `y` is covered by this termin or an earlier one (IT-12 for år 2–5, EM-4).
    pub fn covers_month(&self, y: i32, m: u32) -> bool {
        (y, m) <= (self.year, self.last_month())
    }

    pub fn previous(&self) -> Termin {
        if self.quarter == 1 {
            Termin {
                year: self.year - 1,
                quarter: 4,
            }
        } else {
            Termin {
                year: self.year,
                quarter: self.quarter - 1,
            }
        }
    }
}

impl FromStr for Termin {
    type Err = TerminError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || TerminError(s.to_string());
        let t = s.trim();
        let (year, q) = if let Some((q, y)) = t.split_once('/') {
            (y, q)
        } else {
            let upper = t.to_ascii_uppercase();
            let (y, q) = upper.split_once('Q').ok_or_else(err)?;
            let y = y.strip_suffix('-').unwrap_or(y);
            return parse_parts(y, q).ok_or_else(err);
        };
        parse_parts(year, q).ok_or_else(err)
    }
}

fn parse_parts(year: &str, quarter: &str) -> Option<Termin> {
    if year.len() != 4 || quarter.len() != 1 {
        return None;
    }
    Termin::new(year.parse().ok()?, quarter.parse().ok()?)
}

impl fmt::Display for Termin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-Q{}", self.year, self.quarter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_three_forms() {
        for s in ["2024-Q3", "2024Q3", "3/2024", "2024-q3", " 2024-Q3 "] {
            assert_eq!(
                s.parse::<Termin>(),
                Ok(Termin {
                    year: 2024,
                    quarter: 3
                }),
                "{s}"
            );
        }
        for s in [
            "2024-Q5", "2024-Q0", "5/2024", "24-Q3", "2024", "Q3", "2024-Q", "2024-Q33", "",
        ] {
            assert!(s.parse::<Termin>().is_err(), "{s}");
        }
    }

    #[test]
    fn basis_dates() {
        let t = |s: &str| s.parse::<Termin>().unwrap();
        assert_eq!(
            t("2024-Q1").basis_date(),
            NaiveDate::from_ymd_opt(2024, 3, 31).unwrap()
        );
        assert_eq!(
            t("2024-Q2").basis_date(),
            NaiveDate::from_ymd_opt(2024, 6, 30).unwrap()
        );
        assert_eq!(
            t("2024-Q3").basis_date(),
            NaiveDate::from_ymd_opt(2024, 9, 30).unwrap()
        );
        assert_eq!(
            t("2024-Q4").basis_date(),
            NaiveDate::from_ymd_opt(2024, 12, 31).unwrap()
        );
        assert_eq!(t("2024-Q3").to_string(), "2024-Q3");
        assert!(t("2024-Q3").covers_month(2024, 9));
        assert!(!t("2024-Q3").covers_month(2024, 10));
        assert!(t("2024-Q1").covers_month(2023, 12));
        assert_eq!(t("2024-Q1").previous(), t("2023-Q4"));
    }
}
