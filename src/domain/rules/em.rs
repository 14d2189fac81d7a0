//! Special grant for unaccompanied minors, EM-1…EM-4 (SPEC §3), as small pure functions. Month ownership,
//! due dates and rounding (EM-4) reuse IT-10, IT-12 and IT-13 from [`super::it`].

use crate::domain::rates::RateCode;
use chrono::{Datelike, NaiveDate};
use std::cmp::Ordering;

/// EM-1: unaccompanied minor settled by agreement (IT-1…IT-5 are checked by the caller).
pub fn em1_eligible(enslig_mindrearig: bool, bosatt_etter_avtale: bool) -> bool {
    enslig_mindrearig && bosatt_etter_avtale
}

/// EM-2: the code for calendar year `y` and birth year `b`: `y − b ≤ 16` → EMINB, `17..=20` → EMINU,
/// `≥ 21` → nothing.
pub fn em2_category(y: i32, birth_year: i32) -> Option<RateCode> {
    match y - birth_year {
        i32::MIN..=16 => Some(RateCode::Eminb),
        17..=20 => Some(RateCode::Eminu),
        _ => None,
    }
}

/// EM-3: the calendar years that can carry months: the settlement year to the year of turning 20.
pub fn em3_years(settlement: NaiveDate, birth_year: i32) -> std::ops::RangeInclusive<i32> {
    settlement.year()..=(birth_year + 20)
}

/// EM-3: whether month `m` of year `y` carries the grant: from the settlement month (inclusive) to
/// December of the year of turning 20, and not after the month of `stop` (death, emigration or reunion
/// with parents, whichever is first).
pub fn em3_month_counts(
    settlement: NaiveDate,
    birth_year: i32,
    stop: Option<NaiveDate>,
    y: i32,
    m: u32,
) -> bool {
    let (lo, hi) = em3_months(settlement, birth_year, stop, y);
    lo <= m && m <= hi
}

/// EM-3 for a whole year: the months `lo..=hi` of year `y` that carry the grant (empty when `lo > hi`).
pub fn em3_months(
    settlement: NaiveDate,
    birth_year: i32,
    stop: Option<NaiveDate>,
    y: i32,
) -> (u32, u32) {
    let lo = match y.cmp(&settlement.year()) {
        Ordering::Less => 13,
        Ordering::Equal => settlement.month(),
        Ordering::Greater => 1,
    };
    let mut hi = if y > birth_year + 20 { 0 } else { 12 };
    if let Some(s) = stop {
        hi = hi.min(match y.cmp(&s.year()) {
            Ordering::Less => 12,
            Ordering::Equal => s.month(),
            Ordering::Greater => 0,
        });
    }
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn em1() {
        assert!(em1_eligible(true, true));
        assert!(!em1_eligible(true, false));
        assert!(!em1_eligible(false, true));
    }

    #[test]
    fn em2_turning_16_17_20_21() {
        // Born 2008: 2024 → 16 → EMINB; 2025 → 17 → EMINU; 2028 → 20 → EMINU; 2029 → 21 → none.
        assert_eq!(em2_category(2024, 2008), Some(RateCode::Eminb));
        assert_eq!(em2_category(2025, 2008), Some(RateCode::Eminu));
        assert_eq!(em2_category(2028, 2008), Some(RateCode::Eminu));
        assert_eq!(em2_category(2029, 2008), None);
    }

    #[test]
    fn em3_month_ranges() {
        let s = d(2024, 4, 10);
        assert!(!em3_month_counts(s, 2008, None, 2024, 3));
        assert!(em3_month_counts(s, 2008, None, 2024, 4));
        assert!(em3_month_counts(s, 2008, None, 2028, 12));
        assert!(!em3_month_counts(s, 2008, None, 2029, 1));
        // Reunited 03.02.2026: February counts, March does not.
        let g = Some(d(2026, 2, 3));
        assert!(em3_month_counts(s, 2008, g, 2026, 2));
        assert!(!em3_month_counts(s, 2008, g, 2026, 3));
        assert_eq!(em3_years(s, 2008), 2024..=2028);
        assert_eq!(em3_months(s, 2008, g, 2026), (1, 2));
        assert_eq!(em3_months(s, 2008, None, 2024), (4, 12));
        assert_eq!(em3_months(s, 2008, None, 2029), (1, 0));
        assert_eq!(em3_months(s, 2008, None, 2023).0, 13);
    }
}
