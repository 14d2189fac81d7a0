//! Integration grant rules IT-1…IT-13 (SPEC §2), each a small pure function over plain data.
//!
//! The engine ([`crate::domain::engine`]) strings them together for a termin and `tilskudd explain`
//! prints the same calls step by step, so there is exactly one implementation of every rule.

use crate::domain::ids::Knr;
use crate::domain::money;
use crate::domain::person::Malgruppe;
use crate::domain::rates::RateCode;
use crate::domain::termin::Termin;
use chrono::{Datelike, Months, NaiveDate};
use rust_decimal::Decimal;

/// Why a valid person row is not paid for (written to `avvik.csv` with niva `avvist`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Exclusion {
    /// IT-1.
    UtenforMalgruppe,
    /// IT-2: settlement or registration after the basis date (paid in a later termin).
    IkkeRegistrert,
    /// IT-3: settled before automatic payment started, no grant triggered before.
    KreverSoknad,
    /// IT-4: born more than 6 months after the mother's settlement.
    FodtEtter6Mnd,
    /// IT-5: family permit applied for more than 5 years after the referent's settlement.
    FamilieOver5Ar,
}

impl Exclusion {
    /// The `kode` in `avvik.csv`.
    pub fn code(&self) -> &'static str {
        match self {
            Exclusion::UtenforMalgruppe => "utenfor_malgruppe",
            Exclusion::IkkeRegistrert => "ikke_registrert",
            Exclusion::KreverSoknad => "krever_soknad",
            Exclusion::FodtEtter6Mnd => "fodt_etter_6_mnd",
            Exclusion::FamilieOver5Ar => "familie_over_5_ar",
        }
    }

    /// The SPEC rule id.
    pub fn rule(&self) -> &'static str {
        match self {
            Exclusion::UtenforMalgruppe => "IT-1",
            Exclusion::IkkeRegistrert => "IT-2",
            Exclusion::KreverSoknad => "IT-3",
            Exclusion::FodtEtter6Mnd => "IT-4",
            Exclusion::FamilieOver5Ar => "IT-5",
        }
    }

    /// The input column the decision rests on.
    pub fn column(&self) -> &'static str {
        match self {
            Exclusion::UtenforMalgruppe => "malgruppe",
            Exclusion::IkkeRegistrert => "registrert_dato",
            Exclusion::KreverSoknad => "bosettingsdato",
            Exclusion::FodtEtter6Mnd => "fodselsdato",
            Exclusion::FamilieOver5Ar => "familie_soknadsdato",
        }
    }
}

/// Adds whole months to an anchor date with chrono's end-of-month clamping (31 Aug + 6 = 29 Feb in a leap
/// year). Always add to the anchor, never step month by month (the operation is not associative).
pub fn add_months(anchor: NaiveDate, months: u32) -> NaiveDate {
    // Dates here are within 1800..=9999 and months ≤ 60, far from chrono's limits; fall back to the
    // anchor rather than panic if that ever changes.
    anchor
        .checked_add_months(Months::new(months))
        .unwrap_or(anchor)
}

/// Age in whole years on `date` (real birthday arithmetic). [model] Someone born 29 February has their
/// birthday on 1 March in years without 29 February.
pub fn age_on(birth: NaiveDate, date: NaiveDate) -> i32 {
    let mut age = date.year() - birth.year();
    if (date.month(), date.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

/// IT-1: `malgruppe` ≠ `utenfor`.
pub fn it1_target_group(m: Malgruppe) -> Result<(), Exclusion> {
    if m == Malgruppe::Utenfor {
        Err(Exclusion::UtenforMalgruppe)
    } else {
        Ok(())
    }
}

/// IT-2: settlement and registration both on or before the basis date.
pub fn it2_registered(
    settlement: NaiveDate,
    registrert: NaiveDate,
    basis: NaiveDate,
) -> Result<(), Exclusion> {
    if settlement <= basis && registrert <= basis {
        Ok(())
    } else {
        Err(Exclusion::IkkeRegistrert)
    }
}

/// IT-3: the first calendar year whose amounts accrue. Settled in or after `auto_from` → the settlement
/// year (everything). Earlier, with `tidligere_utlost` → `auto_from` [model (b): earlier years were paid
/// under the application system, outside this ledger]. Earlier, without → `krever_soknad`.
pub fn it3_first_accruing_year(
    settlement_year: i32,
    tidligere_utlost: bool,
    auto_from: i32,
) -> Result<i32, Exclusion> {
    if settlement_year >= auto_from {
        Ok(settlement_year)
    } else if tidligere_utlost {
        Ok(auto_from)
    } else {
        Err(Exclusion::KreverSoknad)
    }
}

/// IT-4: how a child with `mor_fnr` relates to the mother's settlement.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Newborn {
    /// Born on or before the mother's settlement date: an ordinary person (own row).
    No,
    /// Born after the mother's settlement, no later than `limit` (settlement + 6 months, clamped).
    Within { limit: NaiveDate },
    /// Born after `limit`: `fodt_etter_6_mnd`.
    TooLate { limit: NaiveDate },
}

/// IT-4: a child born after the mother's settlement is in the target group only if born no later than
/// 6 months after it (months added to the anchor with clamping).
pub fn it4_newborn(birth: NaiveDate, mother_settlement: NaiveDate) -> Newborn {
    if birth <= mother_settlement {
        return Newborn::No;
    }
    let limit = add_months(mother_settlement, 6);
    if birth <= limit {
        Newborn::Within { limit }
    } else {
        Newborn::TooLate { limit }
    }
}

/// IT-5: the application for family immigration must be no more than 5 years after the referent's
/// settlement (anchor + 60 months, clamped). Returns the last allowed date.
pub fn it5_family_five_years(
    referent_settlement: NaiveDate,
    soknadsdato: NaiveDate,
) -> Result<NaiveDate, Exclusion> {
    let limit = add_months(referent_settlement, 60);
    if soknadsdato > limit {
        Err(Exclusion::FamilieOver5Ar)
    } else {
        Ok(limit)
    }
}

/// IT-6: how many grant years: 1..3 for `familie_humanitar`, else 1..5.
pub fn it6_grant_years(m: Malgruppe) -> u8 {
    if m == Malgruppe::FamilieHumanitar {
        3
    } else {
        5
    }
}

/// IT-6/IT-7: år n is calendar year `Y_s + n − 1`, and its rate is that year's.
pub fn it6_calendar_year(settlement_year: i32, n: u8) -> i32 {
    settlement_year + i32::from(n) - 1
}

/// IT-8: a child turns 18 after the settlement year (adult from the calendar year of turning 18).
pub fn it8_is_child(birth: NaiveDate, settlement_year: i32) -> bool {
    birth.year() + 18 > settlement_year
}

/// IT-8: the år 1 code. `alone_in_sak`: the only person of the extract with this `sak_id` (IT-4 newborns
/// not counted).
pub fn it8_year1_code(enslig_mindrearig: bool, is_child: bool, alone_in_sak: bool) -> RateCode {
    if enslig_mindrearig {
        RateCode::Ar1Em
    } else if is_child {
        RateCode::Ar1B
    } else if alone_in_sak {
        RateCode::Ar1Ev
    } else {
        RateCode::Ar1
    }
}

/// IT-9: one-offs of år 1 — `ELDR` at 60 or more on the settlement date, `BHT` under 6.
pub fn it9_one_offs(birth: NaiveDate, settlement: NaiveDate) -> Option<RateCode> {
    let age = age_on(birth, settlement);
    if age >= 60 {
        Some(RateCode::Eldr)
    } else if age < 6 {
        Some(RateCode::Bht)
    } else {
        None
    }
}

/// Where a person lives over time: the settlement municipality from the settlement date, then each move
/// (in date order, ties in file order). Only moves known on the basis date are given [model (a)].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Residence<'m> {
    pub settled: NaiveDate,
    pub first: Knr,
    /// Sorted by date, stable (file order on the same date).
    pub moves: &'m [(NaiveDate, Knr)],
}

impl<'m> Residence<'m> {
    /// The municipality of residence at the end of `date` (a move on `date` counts). Before the
    /// settlement: the settlement municipality (IT-10).
    pub fn on(&self, date: NaiveDate) -> Knr {
        self.walk().on(date)
    }

    /// Reads the residence at non-decreasing dates, passing over the moves once (IT-10 for the months of
    /// a year one after the other).
    pub fn walk(&self) -> ResidenceWalk<'m> {
        ResidenceWalk {
            settled: self.settled,
            moves: self.moves,
            next: 0,
            current: self.first,
        }
    }
}

/// [`Residence::on`] for non-decreasing dates: each call continues where the previous one stopped.
#[derive(Clone, Debug)]
pub struct ResidenceWalk<'m> {
    settled: NaiveDate,
    moves: &'m [(NaiveDate, Knr)],
    next: usize,
    current: Knr,
}

impl ResidenceWalk<'_> {
    /// The municipality of residence at the end of `date`, which must not be earlier than the date of
    /// the previous call. Moves dated before the settlement do not count (IT-10).
    pub fn on(&mut self, date: NaiveDate) -> Knr {
        while let Some(&(d, to)) = self.moves.get(self.next) {
            if d > date {
                break;
            }
            if d >= self.settled {
                self.current = to;
            }
            self.next += 1;
        }
        self.current
    }
}

/// IT-10: the date whose residence owns month `m` of year `y`: the last day of month m − 2 (for January:
/// 30 November of the year before).
pub fn it10_reference_date(y: i32, m: u32) -> NaiveDate {
    // First day of month m − 1, minus one day.
    let (yy, mm) = if m == 1 { (y - 1, 12) } else { (y, m - 1) };
    NaiveDate::from_ymd_opt(yy, mm, 1)
        .and_then(|d| d.pred_opt())
        .unwrap_or(NaiveDate::MIN)
}

/// IT-10 (with IT-11's "later months stay with the last municipality of residence"): the owner of month
/// `m` of year `y`, and the date it was read on. `last_day` caps the lookup (death/emigration date).
pub fn it10_owner(
    res: &Residence,
    y: i32,
    m: u32,
    last_day: Option<NaiveDate>,
) -> (Knr, NaiveDate) {
    let r = it10_reference_date(y, m);
    (res.on(it10_read_on(r, last_day)), r)
}

/// IT-10 with IT-11: the date a month's owner is read on: its reference date, or the last day of
/// residence (death/emigration) if that is earlier.
pub fn it10_read_on(reference: NaiveDate, last_day: Option<NaiveDate>) -> NaiveDate {
    match last_day {
        Some(l) if l < reference => l,
        _ => reference,
    }
}

/// IT-11: for år 2–5, months after the month of death or emigration carry nothing.
pub fn it11_month_counts(event: Option<NaiveDate>, y: i32, m: u32) -> bool {
    m <= it11_months(event, y)
}

/// IT-11 for a whole year: months 1..=k of year `y` count (k = 12 without an event or before its year,
/// the event's month in its year, 0 after it).
pub fn it11_months(event: Option<NaiveDate>, y: i32) -> u32 {
    match event {
        None => 12,
        Some(e) if y < e.year() => 12,
        Some(e) if y == e.year() => e.month(),
        Some(_) => 0,
    }
}

/// IT-12 (år 2–5, and EM-4): month m of year y is due in the termin that covers it or any later one.
pub fn it12_month_due(termin: Termin, y: i32, m: u32) -> bool {
    m <= it12_months_due(termin, y)
}

/// IT-12 for a whole year: months 1..=k of year `y` are due by `termin` (k = 12 for earlier years, the
/// termin's last month in its own year, 0 for later years) — [`Termin::covers_month`] per month.
pub fn it12_months_due(termin: Termin, y: i32) -> u32 {
    if y < termin.year {
        12
    } else if y == termin.year {
        termin.last_month()
    } else {
        0
    }
}

/// IT-13: the amount of month `m` of yearly amount `a`.
pub fn it13_month_amount(a: Decimal, m: u32) -> Decimal {
    money::month_amount(a, m)
}

/// IT-13: the twelve month amounts of yearly amount `a` (index 0 = January); they add up to `a`.
pub fn it13_month_amounts(a: Decimal) -> [Decimal; 12] {
    money::month_amounts(a)
}

/// IT-13 as cumulative amounts in øre: `round(a·j/12)` for j = 0..=12. Month j is `c[j] − c[j−1]`
/// ([`it13_month_amount`]), so months i..=j together are `c[j] − c[i−1]`.
pub fn it13_cumulative_ore(a: Decimal) -> [i128; 13] {
    money::cumulative_ore(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn k(s: &str) -> Knr {
        Knr::parse(s).unwrap()
    }

    #[test]
    fn age_uses_real_birthdays() {
        // Born 15.05.1964: on 14.05.2024 still 59, on 15.05.2024 exactly 60.
        assert_eq!(age_on(d(1964, 5, 15), d(2024, 5, 14)), 59);
        assert_eq!(age_on(d(1964, 5, 15), d(2024, 5, 15)), 60);
        // 29 February: 28.02.2023 not yet 1, 01.03.2023 is 1 ([model]).
        assert_eq!(age_on(d(2020, 2, 29), d(2023, 2, 28)), 2);
        assert_eq!(age_on(d(2020, 2, 29), d(2021, 2, 28)), 0);
        assert_eq!(age_on(d(2020, 2, 29), d(2021, 3, 1)), 1);
    }

    #[test]
    fn it1_and_it2() {
        assert_eq!(
            it1_target_group(Malgruppe::Utenfor),
            Err(Exclusion::UtenforMalgruppe)
        );
        assert!(it1_target_group(Malgruppe::FamilieHumanitar).is_ok());
        // IT-2: both dates ≤ basis date 30.09.2024.
        assert!(it2_registered(d(2024, 9, 30), d(2024, 9, 30), d(2024, 9, 30)).is_ok());
        assert_eq!(
            it2_registered(d(2024, 9, 1), d(2024, 10, 1), d(2024, 9, 30)),
            Err(Exclusion::IkkeRegistrert)
        );
        assert_eq!(
            it2_registered(d(2024, 10, 1), d(2024, 9, 1), d(2024, 9, 30)),
            Err(Exclusion::IkkeRegistrert)
        );
    }

    #[test]
    fn it3_start_year() {
        assert_eq!(it3_first_accruing_year(2021, false, 2021), Ok(2021));
        assert_eq!(
            it3_first_accruing_year(2019, false, 2021),
            Err(Exclusion::KreverSoknad)
        );
        // tidligere_utlost: only calendar years ≥ 2021 accrue ([model (b)]).
        assert_eq!(it3_first_accruing_year(2019, true, 2021), Ok(2021));
    }

    #[test]
    fn it4_six_months_exactly_and_one_day_later() {
        // Mother settled 15.03.2024; 15.03 + 6 months = 15.09.2024.
        let m = d(2024, 3, 15);
        assert_eq!(
            it4_newborn(d(2024, 9, 15), m),
            Newborn::Within {
                limit: d(2024, 9, 15)
            }
        );
        assert_eq!(
            it4_newborn(d(2024, 9, 16), m),
            Newborn::TooLate {
                limit: d(2024, 9, 15)
            }
        );
        assert_eq!(it4_newborn(d(2024, 3, 15), m), Newborn::No);
        // Clamping: 31.08.2023 + 6 months = 29.02.2024 (leap year), not 02.03.
        assert_eq!(
            it4_newborn(d(2024, 3, 1), d(2023, 8, 31)),
            Newborn::TooLate {
                limit: d(2024, 2, 29)
            }
        );
    }

    #[test]
    fn it5_five_years() {
        // Referent settled 10.06.2018 → limit 10.06.2023.
        assert_eq!(
            it5_family_five_years(d(2018, 6, 10), d(2023, 6, 10)),
            Ok(d(2023, 6, 10))
        );
        assert_eq!(
            it5_family_five_years(d(2018, 6, 10), d(2023, 6, 11)),
            Err(Exclusion::FamilieOver5Ar)
        );
    }

    #[test]
    fn it6_it8_it9() {
        assert_eq!(it6_grant_years(Malgruppe::FamilieHumanitar), 3);
        assert_eq!(it6_grant_years(Malgruppe::FamilieFlyktning), 5);
        assert_eq!(it6_calendar_year(2022, 3), 2024);
        // Born 2006, settled 2024: turns 18 in 2024 = settlement year → adult. Born 2007 → child.
        assert!(!it8_is_child(d(2006, 12, 31), 2024));
        assert!(it8_is_child(d(2007, 1, 1), 2024));
        assert_eq!(it8_year1_code(true, true, true), RateCode::Ar1Em);
        assert_eq!(it8_year1_code(false, true, true), RateCode::Ar1B);
        assert_eq!(it8_year1_code(false, false, true), RateCode::Ar1Ev);
        assert_eq!(it8_year1_code(false, false, false), RateCode::Ar1);
        // Exactly 60 / exactly 6 on the settlement date.
        assert_eq!(
            it9_one_offs(d(1964, 5, 15), d(2024, 5, 15)),
            Some(RateCode::Eldr)
        );
        assert_eq!(it9_one_offs(d(1964, 5, 16), d(2024, 5, 15)), None);
        assert_eq!(it9_one_offs(d(2018, 5, 15), d(2024, 5, 15)), None);
        assert_eq!(
            it9_one_offs(d(2018, 5, 16), d(2024, 5, 15)),
            Some(RateCode::Bht)
        );
    }

    #[test]
    fn it10_reference_dates_and_owner() {
        assert_eq!(it10_reference_date(2024, 1), d(2023, 11, 30));
        assert_eq!(it10_reference_date(2024, 2), d(2023, 12, 31));
        assert_eq!(it10_reference_date(2024, 3), d(2024, 1, 31));
        assert_eq!(it10_reference_date(2024, 4), d(2024, 2, 29));
        let moves = [(d(2024, 5, 31), k("4601"))];
        let res = Residence {
            settled: d(2024, 2, 10),
            first: k("0301"),
            moves: &moves,
        };
        // Month 7 reads 31.05 — the move that day counts → 4601. Month 6 reads 30.04 → 0301.
        assert_eq!(it10_owner(&res, 2024, 7, None).0, k("4601"));
        assert_eq!(it10_owner(&res, 2024, 6, None).0, k("0301"));
        // Before settlement → settlement municipality.
        assert_eq!(it10_owner(&res, 2024, 1, None).0, k("0301"));
        // Capped at a death on 15.05.2024: month 7 reads 15.05 → still 0301.
        assert_eq!(it10_owner(&res, 2024, 7, Some(d(2024, 5, 15))).0, k("0301"));
    }

    #[test]
    fn it11_and_it12() {
        let death = Some(d(2024, 5, 20));
        assert!(it11_month_counts(death, 2024, 5));
        assert!(!it11_month_counts(death, 2024, 6));
        assert!(it11_month_counts(None, 2030, 12));
        let q2: Termin = "2024-Q2".parse().unwrap();
        assert!(it12_month_due(q2, 2024, 6));
        assert!(!it12_month_due(q2, 2024, 7));
        // The whole-year forms agree with the month-by-month ones.
        for y in 2022..=2026 {
            assert_eq!(
                it11_months(death, y),
                (1..=12).filter(|&m| it11_month_counts(death, y, m)).count() as u32
            );
            assert_eq!(it11_months(None, y), 12);
            for t in ["2023-Q4", "2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"] {
                let t: Termin = t.parse().unwrap();
                let k = it12_months_due(t, y);
                for m in 1..=12 {
                    assert_eq!(m <= k, t.covers_month(y, m), "{t} {y}-{m}");
                }
            }
        }
    }

    #[test]
    fn it10_walk_reads_like_on() {
        // Moves before the settlement do not count; same-date moves: the last in file order wins.
        let moves = [
            (d(2023, 12, 1), k("1103")),
            (d(2024, 3, 31), k("4601")),
            (d(2024, 3, 31), k("5001")),
            (d(2024, 7, 15), k("0301")),
        ];
        let res = Residence {
            settled: d(2024, 1, 10),
            first: k("3401"),
            moves: &moves,
        };
        let mut w = res.walk();
        let mut date = d(2023, 11, 1);
        while date < d(2024, 9, 1) {
            assert_eq!(w.on(date), res.on(date), "{date}");
            date = date.succ_opt().unwrap();
        }
        assert_eq!(res.on(d(2024, 1, 1)), k("3401"));
        assert_eq!(res.on(d(2024, 3, 31)), k("5001"));
    }
}
