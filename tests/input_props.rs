//! Property tests for the cell values (SPEC §1.1) and the readers: exact amounts in every written form,
//! dates in both forms, and no panic on arbitrary bytes.

mod input_support;

use proptest::prelude::*;
use rust_decimal::Decimal;
use tilskudd::input::values::{parse_amount, parse_bool, parse_date};

/// Writes an amount in øre the Norwegian way: `1 234 567,89` with the given thousands separator.
fn norwegian(ore: i64, sep: char, comma: bool) -> String {
    let neg = ore < 0;
    let abs = ore.unsigned_abs();
    let int = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push(sep);
        }
        grouped.push(c);
    }
    format!(
        "{}{grouped}{}{:02}",
        if neg { "-" } else { "" },
        if comma { ',' } else { '.' },
        abs % 100
    )
}

proptest! {
    #[test]
    fn amounts_round_trip_exactly(ore in -10_000_000_000i64..10_000_000_000i64, sep in prop::sample::select(vec![' ', '\u{a0}']), comma: bool) {
        let text = norwegian(ore, sep, comma);
        // Expected: the øre count over 100, exactly (never through f64).
        prop_assert_eq!(parse_amount(&text), Some(Decimal::new(ore, 2)), "{}", text);
        // Without thousands separators too.
        let plain: String = text.chars().filter(|c| *c != sep).collect();
        prop_assert_eq!(parse_amount(&plain), Some(Decimal::new(ore, 2)));
    }

    #[test]
    fn dates_in_both_forms(days in 0i64..80_000) {
        let d = chrono::NaiveDate::from_ymd_opt(1850, 1, 1).unwrap() + chrono::Duration::days(days);
        prop_assert_eq!(parse_date(&d.format("%Y-%m-%d").to_string()), Ok(d));
        prop_assert_eq!(parse_date(&d.format("%d.%m.%Y").to_string()), Ok(d));
    }

    #[test]
    fn values_never_panic(s in "\\PC{0,20}") {
        let _ = parse_amount(&s);
        let _ = parse_date(&s);
        let _ = parse_bool(&s);
    }

    #[test]
    fn reader_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600), header: bool) {
        let dir = tempfile::tempdir().unwrap();
        let mut content = Vec::new();
        if header {
            content.extend_from_slice(b"fnr;bosettingsdato;bosettingskommune;sak_id;malgruppe\n");
        }
        content.extend(bytes);
        std::fs::write(dir.path().join("personer.csv"), &content).unwrap();
        std::fs::write(dir.path().join("flyttinger.csv"), &content).unwrap();
        // Either a clear error or a load with every row accounted for.
        if let Ok(l) = tilskudd::input::load_dsf(dir.path(), &input_support::opts(2024)) {
            for s in &l.stats {
                prop_assert_eq!(s.read, s.accepted + s.rejected);
            }
        }
    }
}
