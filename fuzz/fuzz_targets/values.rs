//! The cell value parsers of SPEC §1.1 and the identifier parsers of §1.2 on arbitrary text; whatever
//! parses must read back the same.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tilskudd::domain::ids::{mask_text, Duf, Knr, Kontonr, Orgnr};
use tilskudd::domain::money::fmt_money;
use tilskudd::input::values::{parse_amount, parse_bool, parse_date};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(a) = parse_amount(s) {
        // Whatever parses as an amount prints and reads back (at øre precision).
        let t = fmt_money(a);
        let back = parse_amount(&t).expect("fmt_money output parses");
        assert_eq!(back, tilskudd::domain::money::round_ore(a), "{s:?} -> {t}");
    }
    if let Ok(d) = parse_date(s) {
        assert_eq!(parse_date(&d.format("%Y-%m-%d").to_string()), Ok(d));
    }
    let _ = parse_bool(s);
    let _ = Duf::parse(s, 2024).map(|d| assert_eq!(d.to_string(), s.trim()));
    let _ = Knr::parse(s).map(|k| assert_eq!(k.to_string(), s.trim()));
    let _ = Orgnr::parse(s);
    let _ = Kontonr::parse(s);
    // No run of exactly 11 digits (a person number) survives masking.
    let m = mask_text(s);
    let mut run = 0;
    for c in m.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            run += 1;
        } else {
            assert_ne!(run, 11, "{s:?} -> {m:?}");
            run = 0;
        }
    }
});
