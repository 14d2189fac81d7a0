//! Property tests (issue 7) over the pure domain functions: money (IT-13), identifiers (ID-1, ID-3),
//! termins (SPEC §7) and the value parsers of SPEC §1.1. Case counts are kept modest so that the whole file
//! runs in a few seconds in CI.

use chrono::{Datelike, NaiveDate};
use proptest::prelude::*;
use rust_decimal::Decimal;
use tilskudd::domain::ids::{mask_text, Fnr, FnrKind, Knr};
use tilskudd::domain::money::{fmt_money, month_amount, month_amounts, round_ore};
use tilskudd::domain::termin::Termin;
use tilskudd::input::values::{parse_amount, parse_bool, parse_date};

fn cfg(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// An amount in øre, from -10 000 000.00 to 10 000 000.00 NOK.
fn ore() -> impl Strategy<Value = Decimal> {
    (-1_000_000_000i64..=1_000_000_000i64).prop_map(|o| Decimal::new(o, 2))
}

/// A birth date, individual number and flags that together make a valid synthetic number: the
/// individual number is drawn from a range whose century rule (ID-1) gives the date's century.
fn person() -> impl Strategy<Value = (NaiveDate, u16, bool)> {
    (
        1855i32..=2039,
        1u32..=12,
        1u32..=31,
        0u16..1000,
        any::<bool>(),
    )
        .prop_filter_map("date exists", |(y, m, d, i, dnr)| {
            let date = NaiveDate::from_ymd_opt(y, m, d)?;
            // ID-1 century rules, reversed: pick an individual number in the range of `y`'s century.
            let individ = match y {
                1855..=1899 => 500 + i % 250,
                1900..=1999 => i % 500,
                _ => 500 + i % 500,
            };
            Some((date, individ, dnr))
        })
}

fn first9(date: NaiveDate, individ: u16, dnr: bool) -> String {
    let day = date.day() + if dnr { 40 } else { 0 };
    // Synthetic: month + 80 (tests use synthetic numbers only).
    let month = date.month() + 80;
    format!("{day:02}{month:02}{:02}{individ:03}", date.year() % 100)
}

proptest! {
    #![proptest_config(cfg(512))]

    /// IT-13: the twelve monthly amounts of a yearly amount add up to it exactly, and each month is the
    /// twelfth rounded to øre, give or take one øre.
    #[test]
    fn it13_twelve_months_add_up(a in ore()) {
        let m = month_amounts(a);
        let sum: Decimal = m.iter().sum();
        prop_assert_eq!(sum, a);
        let twelfth = a / Decimal::from(12);
        for (j, x) in m.iter().enumerate() {
            prop_assert_eq!(*x, month_amount(a, j as u32 + 1));
            prop_assert_eq!(*x, round_ore(*x), "month {} is not in øre", j + 1);
            prop_assert!((*x - twelfth).abs() < Decimal::new(1, 2), "month {}: {} vs {}", j + 1, x, twelfth);
        }
    }

    /// IT-13: the first k months are round(A·k/12) (cumulative amounts never drift).
    #[test]
    fn it13_cumulative_is_rounded_share(a in ore(), k in 1u32..=12) {
        let cum: Decimal = (1..=k).map(|j| month_amount(a, j)).sum();
        prop_assert_eq!(cum, round_ore(a * Decimal::from(k) / Decimal::from(12)));
    }

    /// Money is written with exactly two decimals and reads back to the same value (SPEC §6, §1.1).
    #[test]
    fn money_text_round_trip(a in ore()) {
        let s = fmt_money(a);
        prop_assert!(s.split('.').nth(1).is_some_and(|d| d.len() == 2), "{}", s);
        prop_assert_eq!(parse_amount(&s), Some(a));
    }

    /// SPEC §1.1 amounts: a value written the Norwegian way (`1 234 567,50`, no-break space too) reads
    /// back exactly.
    #[test]
    fn amount_norwegian_form_round_trip(o in 0i64..=100_000_000_000, nbsp in any::<bool>()) {
        let a = Decimal::new(o, 2);
        let s = fmt_money(a);
        let (int, frac) = s.split_once('.').unwrap();
        let sep = if nbsp { '\u{a0}' } else { ' ' };
        let mut grouped = String::new();
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                grouped.push(sep);
            }
            grouped.push(c);
        }
        let text = format!("{grouped},{frac}");
        prop_assert_eq!(parse_amount(&text), Some(a), "{}", text);
    }

    /// ID-1: a number built from a valid date and individual number parses back, with the same date,
    /// kind and synthetic flag; its masked forms never hold the last five digits.
    #[test]
    fn fnr_round_trip_and_masking((date, individ, dnr) in person()) {
        let nine = first9(date, individ, dnr);
        // A control digit of 10 makes the individual number unusable: nothing to check then.
        if let Some(f) = Fnr::with_control_digits(&nine) {
            let s = f.to_string();
            prop_assert_eq!(s.len(), 11);
            prop_assert_eq!(&s[..9], nine.as_str());
            let back = Fnr::parse(&s).unwrap();
            prop_assert_eq!(back, f);
            prop_assert_eq!(back.birth_date(), date);
            prop_assert!(back.is_synthetic());
            prop_assert_eq!(back.kind() == FnrKind::DNummer, dnr);
            let masked = f.masked();
            prop_assert_eq!(masked, format!("{}*****", &s[..6]));
            let debug = format!("{f:?}");
            let in_text = mask_text(&format!("fnr {s} on line 3"));
            let quoted = mask_text(&format!("'{s}'"));
            prop_assert!(!debug.contains(&s[6..]));
            prop_assert!(!in_text.contains(&s[6..]));
            prop_assert!(!quoted.contains(&s[6..]));
            // Changing any one digit breaks a control digit or the date: never another valid number
            // that reads as the same person.
            for pos in 0..11 {
                let mut b = s.clone().into_bytes();
                b[pos] = b'0' + (b[pos] - b'0' + 1) % 10;
                let changed = String::from_utf8(b).unwrap();
                if let Ok(g) = Fnr::parse(&changed) {
                    prop_assert_ne!(g, f);
                    prop_assert!(pos < 9, "a changed control digit {} was accepted", pos + 1);
                }
            }
        }
    }

    /// ID-1: parsing arbitrary text never panics, and whatever parses is 11 digits with both control
    /// digits right.
    #[test]
    fn fnr_parse_total(s in "\\PC{0,14}|[0-9]{11}") {
        if let Ok(f) = Fnr::parse(&s) {
            let t = f.to_string();
            prop_assert_eq!(t.as_str(), s.trim());
            prop_assert_eq!(Fnr::with_control_digits(&t[..9]), Some(f));
            let _ = f.birth_date();
        }
    }

    /// mask_text never lets an 11-digit run through, whatever surrounds it (non-digits).
    #[test]
    fn mask_text_hides_every_11_digit_run(pre in "[^0-9]{0,8}", digits in "[0-9]{11}", post in "[^0-9]{0,8}") {
        let text = format!("{pre}{digits}{post}");
        let m = mask_text(&text);
        prop_assert_eq!(m, format!("{pre}{}*****{post}", &digits[..6]));
    }

    /// ID-3: a kommunenummer reads back from its 4-digit form.
    #[test]
    fn knr_round_trip(n in 0u16..10_000) {
        let s = format!("{n:04}");
        let k = Knr::parse(&s).unwrap();
        prop_assert_eq!(k.to_string(), s);
        prop_assert_eq!(k.code(), n);
    }

    /// SPEC §7: the three spellings of a termin are the same termin, Display reads back, and the basis
    /// date is the last day of the quarter's last month.
    #[test]
    fn termin_forms(y in 1900i32..=9999, q in 1u8..=4) {
        let t = Termin::new(y, q).unwrap();
        for s in [format!("{y}-Q{q}"), format!("{y}Q{q}"), format!("{q}/{y}"), format!("{y}-q{q}")] {
            prop_assert_eq!(s.parse::<Termin>(), Ok(t));
        }
        prop_assert_eq!(t.to_string().parse::<Termin>(), Ok(t));
        let d = t.basis_date();
        prop_assert_eq!(d.month(), u32::from(q) * 3);
        prop_assert_eq!(d.succ_opt().map(|n| n.day()), Some(1));
    }

    /// A quarter outside 1..4 is never a termin (`2024-Q5` is a usage error).
    #[test]
    fn termin_bad_quarter(y in 1900i32..=9999, q in prop_oneof![Just(0u8), 5u8..=9]) {
        let (a, b) = (format!("{y}-Q{q}"), format!("{q}/{y}"));
        prop_assert!(a.parse::<Termin>().is_err());
        prop_assert!(b.parse::<Termin>().is_err());
    }

    /// SPEC §1.1 dates: both spellings of an existing date give that date.
    #[test]
    fn date_forms(days in 0i64..80_000) {
        let d = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + chrono::Duration::days(days);
        prop_assert_eq!(parse_date(&d.format("%Y-%m-%d").to_string()), Ok(d));
        prop_assert_eq!(parse_date(&d.format("%d.%m.%Y").to_string()), Ok(d));
    }

    /// The value parsers never panic on arbitrary text.
    #[test]
    fn value_parsers_total(s in "\\PC{0,24}") {
        let _ = parse_amount(&s);
        let _ = parse_date(&s);
        let _ = parse_bool(&s);
        let _ = s.parse::<Termin>();
        let _ = Knr::parse(&s);
    }
}
