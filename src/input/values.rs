//! Cell values of SPEC §1.1: dates, amounts and booleans, parsed exactly (amounts never pass through
//! binary floating point, except an Excel numeric cell, which is converted by its shortest round-trip form).

use crate::domain::money::decimal_from_sheet_number;
use crate::input::table::Cell;
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

/// Why a date was refused: the text is not a date at all, or it names a day that does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateError {
    /// kode `ugyldig_dato`.
    Format,
    /// kode `dato_finnes_ikke` (31.02.2024).
    DoesNotExist,
}

impl DateError {
    pub fn kode(&self) -> &'static str {
        match self {
            DateError::Format => "ugyldig_dato",
            DateError::DoesNotExist => "dato_finnes_ikke",
        }
    }
}

fn num(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0')))
}

/// `YYYY-MM-DD` or `DD.MM.YYYY` (SPEC §1.1). An ISO date-time (`2024-01-31T00:00:00`, `2024-01-31 00:00`)
/// is accepted by its date part, since spreadsheets export date cells that way.
pub fn parse_date(s: &str) -> Result<NaiveDate, DateError> {
    let s = crate::input::table::trim_fast(s);
    let b = s.as_bytes();
    let (y, m, d) = if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' {
        if b.len() > 10 && b[10] != b'T' && b[10] != b' ' {
            return Err(DateError::Format);
        }
        (num(&b[..4]), num(&b[5..7]), num(&b[8..10]))
    } else if b.len() == 10 && b[2] == b'.' && b[5] == b'.' {
        (num(&b[6..10]), num(&b[3..5]), num(&b[..2]))
    } else {
        return Err(DateError::Format);
    };
    let (Some(y), Some(m), Some(d)) = (y, m, d) else {
        return Err(DateError::Format);
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(DateError::Format);
    }
    NaiveDate::from_ymd_opt(y as i32, m, d).ok_or(DateError::DoesNotExist)
}

/// Whether `s` is `d` written `YYYY-MM-DD` or `DD.MM.YYYY` (then [`parse_date`] of `s` is `d`): a check
/// without building a date, for a column that usually repeats a date already known (fodselsdato and
/// the date in fnr).
pub fn date_text_is(s: &str, d: NaiveDate) -> bool {
    use chrono::Datelike;
    let b = s.as_bytes();
    let (y, m, day) = if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        (num(&b[..4]), num(&b[5..7]), num(&b[8..10]))
    } else if b.len() == 10 && b[2] == b'.' && b[5] == b'.' {
        (num(&b[6..10]), num(&b[3..5]), num(&b[..2]))
    } else {
        return false;
    };
    y.map(i64::from) == Some(i64::from(d.year())) && m == Some(d.month()) && day == Some(d.day())
}

/// A date given on the command line (`--basis-date`): the forms of SPEC §1.1, with a message that says
/// which forms are accepted (clap otherwise shows chrono's "input contains invalid characters").
pub fn parse_date_arg(s: &str) -> Result<NaiveDate, String> {
    let d = parse_date(s).map_err(|e| match e {
        DateError::DoesNotExist => format!("the date '{s}' does not exist"),
        DateError::Format => format!("'{s}' is not a date; write YYYY-MM-DD or DD.MM.YYYY"),
    })?;
    // The years a termin can have (and the report's Excel dates can hold): a typo such as 0024-12-31
    // is a usage error now, not a failure after the whole run.
    if !(1900..=9999).contains(&d.year()) {
        return Err(format!("the date '{s}' is outside the years 1900–9999"));
    }
    Ok(d)
}

/// A date cell: a real Excel date, or text.
pub fn cell_date(c: &Cell) -> Result<NaiveDate, DateError> {
    match c {
        Cell::Date(d) => Ok(*d),
        Cell::Text(s) => parse_date(s),
        _ => Err(DateError::Format),
    }
}

/// `1234`, `1234.50`, `1234,50`, `1 234,50` (space or no-break space as thousands separator), optional
/// leading `-` (ledger deductions). Exact: the digits become the decimal, nothing is guessed.
pub fn parse_amount(s: &str) -> Option<Decimal> {
    let s = crate::input::table::trim_fast(s);
    if let Some(d) = plain_amount(s) {
        return within_limit(d);
    }
    let (neg, body) = match s.strip_prefix('-') {
        Some(r) => (true, r.trim_start()),
        None => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    // Split off the decimal part at the single `,` or `.`.
    let seps = body.chars().filter(|c| *c == ',' || *c == '.').count();
    if seps > 1 {
        return None;
    }
    let (int_part, frac) = match body.find([',', '.']) {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, ""),
    };
    if (seps == 1 && frac.is_empty()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Thousands groups: `1 234 567` — every group after the first has exactly three digits.
    let groups: Vec<&str> = int_part.split([' ', '\u{a0}', '\u{202f}']).collect();
    if groups
        .iter()
        .any(|g| g.is_empty() || !g.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    if groups.len() > 1 && (groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3)) {
        return None;
    }
    let mut text = String::with_capacity(body.len() + 1);
    if neg {
        text.push('-');
    }
    for g in &groups {
        text.push_str(g);
    }
    if !frac.is_empty() {
        text.push('.');
        text.push_str(frac);
    }
    Decimal::from_str_exact(&text).ok().and_then(within_limit)
}

/// The common forms `123`, `-123`, `123.45`, `123,45` (at most 18 digits, not a negative zero) straight to
/// mantissa and scale — the same `Decimal` as the exact parse of the text below gives, without building
/// a string. `None`: let the general parser decide.
fn plain_amount(s: &str) -> Option<Decimal> {
    let b = s.as_bytes();
    let (neg, b) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    if !b.first().is_some_and(u8::is_ascii_digit) || b.len() > 19 {
        return None;
    }
    let (mut m, mut digits, mut scale, mut sep) = (0i64, 0u32, 0u32, false);
    for &c in b {
        match c {
            b'0'..=b'9' => {
                m = m * 10 + i64::from(c - b'0');
                digits += 1;
                if sep {
                    scale += 1;
                }
            }
            b'.' | b',' if !sep => sep = true,
            _ => return None,
        }
    }
    if digits > 18 || (sep && scale == 0) || (neg && m == 0) {
        return None;
    }
    Some(Decimal::new(if neg { -m } else { m }, scale))
}

/// An amount cell: a numeric Excel cell or text.
pub fn cell_amount(c: &Cell) -> Option<Decimal> {
    match c {
        Cell::Int(i) => within_limit(Decimal::from(*i)),
        Cell::Float(f) => decimal_from_sheet_number(*f).and_then(within_limit),
        Cell::Text(s) => parse_amount(s),
        _ => None,
    }
}

/// The largest amount accepted: 999 999 999 999 999.99 NOK (15 integer digits). Far above any grant, and
/// far enough below `Decimal`'s 28 digits that yearly amounts × 12 (IT-13) and sums over millions of lines
/// cannot overflow: a rate of 79 228 162 514 264 337 593 543 950 335 made the termin panic (fuzzing).
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(0x5D89_FFFF, 0x0163_4578, 0, false, 2);

fn within_limit(d: Decimal) -> Option<Decimal> {
    (d.abs() <= MAX_AMOUNT).then_some(d)
}

/// A value that is not one of the boolean spellings of SPEC §1.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotABool;

/// `ja/nei`, `j/n`, `true/false`, `1/0`, `x`/empty (SPEC §1.1), case-insensitive. Empty is `None` (the
/// caller applies the column's default).
pub fn parse_bool(s: &str) -> Result<Option<bool>, NotABool> {
    // The usual spellings as written (the answer of the general match below, without its scan).
    match s {
        "ja" => return Ok(Some(true)),
        "nei" => return Ok(Some(false)),
        _ => {}
    }
    let s = crate::input::table::trim_fast(s);
    if s.is_empty() {
        return Ok(None);
    }
    let is = |w: &str| s.eq_ignore_ascii_case(w);
    if ["ja", "j", "true", "1", "x"].into_iter().any(is) {
        Ok(Some(true))
    } else if ["nei", "n", "false", "0"].into_iter().any(is) {
        Ok(Some(false))
    } else {
        Err(NotABool)
    }
}

pub fn cell_bool(c: &Cell) -> Result<Option<bool>, NotABool> {
    match c {
        Cell::Empty => Ok(None),
        Cell::Bool(b) => Ok(Some(*b)),
        Cell::Int(1) => Ok(Some(true)),
        Cell::Int(0) => Ok(Some(false)),
        Cell::Float(f) if *f == 1.0 => Ok(Some(true)),
        Cell::Float(f) if *f == 0.0 => Ok(Some(false)),
        Cell::Text(s) => parse_bool(s),
        _ => Err(NotABool),
    }
}

/// A whole number cell (years, grant years).
pub fn cell_int(c: &Cell) -> Option<i64> {
    match c {
        Cell::Int(i) => Some(*i),
        Cell::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(*f as i64),
        Cell::Text(s) => {
            let t = crate::input::table::trim_fast(s);
            let digits = t.strip_prefix('-').unwrap_or(t);
            if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            t.parse().ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn date_text_is_the_parse() {
        let day = d(1994, 2, 3);
        for s in ["1994-02-03", "03.02.1994"] {
            assert!(date_text_is(s, day), "{s}");
            assert_eq!(parse_date(s), Ok(day));
        }
        for s in [
            "1994-02-04",
            "1994-03-03",
            "1995-02-03",
            "03.02.1995",
            "1994-2-03",
            "1994-02-03T00:00",
            " 1994-02-03",
            "1994/02/03",
            "",
            "+994-02-03",
        ] {
            assert!(!date_text_is(s, day), "{s}");
        }
        assert!(!date_text_is("0000-01-01", d(-1, 1, 1)));
    }

    #[test]
    fn dates_iso_and_norwegian() {
        assert_eq!(parse_date("2024-02-29"), Ok(d(2024, 2, 29)));
        assert_eq!(parse_date("29.02.2024"), Ok(d(2024, 2, 29)));
        assert_eq!(parse_date(" 01.01.2021 "), Ok(d(2021, 1, 1)));
        assert_eq!(parse_date("2024-01-31T00:00:00"), Ok(d(2024, 1, 31)));
        // 31 February and 29 February of a non-leap year do not exist.
        assert_eq!(parse_date("31.02.2024"), Err(DateError::DoesNotExist));
        assert_eq!(parse_date("2023-02-29"), Err(DateError::DoesNotExist));
        assert_eq!(parse_date("2024-13-01"), Err(DateError::Format));
        assert_eq!(parse_date("1.2.2024"), Err(DateError::Format));
        assert_eq!(parse_date("2024/01/01"), Err(DateError::Format));
        assert_eq!(parse_date("01.01.24"), Err(DateError::Format));
        assert_eq!(parse_date("2024-01-01x"), Err(DateError::Format));
        assert_eq!(cell_date(&Cell::Date(d(2022, 3, 4))), Ok(d(2022, 3, 4)));
        assert_eq!(cell_date(&Cell::Float(44000.0)), Err(DateError::Format));
    }

    #[test]
    fn amounts_exact() {
        assert_eq!(parse_amount("1234"), Some(dec("1234")));
        assert_eq!(parse_amount("1234.50"), Some(dec("1234.50")));
        assert_eq!(parse_amount("1234,50"), Some(dec("1234.50")));
        assert_eq!(parse_amount("1 234,50"), Some(dec("1234.50")));
        assert_eq!(
            parse_amount("1\u{a0}234\u{a0}567,5"),
            Some(dec("1234567.5"))
        );
        assert_eq!(parse_amount("-12,5"), Some(dec("-12.5")));
        // 0.1 + 0.2 style values stay exact: "0.10" is 10 øre, scale kept.
        assert_eq!(parse_amount("0.10").unwrap().to_string(), "0.10");
        assert_eq!(parse_amount("1.234,50"), None);
        assert_eq!(parse_amount("12 34"), None);
        assert_eq!(parse_amount("1234,"), None);
        assert_eq!(parse_amount("abc"), None);
        assert_eq!(parse_amount(""), None);
        assert_eq!(parse_amount("1e5"), None);
        assert_eq!(cell_amount(&Cell::Float(1234.5)), Some(dec("1234.5")));
        assert_eq!(cell_amount(&Cell::Int(235000)), Some(dec("235000")));
    }

    #[test]
    fn plain_amounts_are_the_exact_parse() {
        let exact = |s: &str| {
            let t = s.trim();
            let t = t.replace(',', ".");
            Decimal::from_str_exact(&t).ok()
        };
        for s in [
            "0",
            "7",
            "007",
            "1234",
            "198400.00",
            "1,5",
            "-12.5",
            "-0.01",
            "0.10",
            "999999999999999.99",
            "123456789012345678",
            "-1",
            "12.000",
        ] {
            let fast = plain_amount(s).expect(s);
            let slow = exact(s).expect(s);
            assert_eq!(fast, slow, "{s}");
            // Same representation (scale and sign), not only the same value.
            assert_eq!(fast.serialize(), slow.serialize(), "{s}");
            assert_eq!(fast.to_string(), slow.to_string(), "{s}");
            assert_eq!(parse_amount(s), Some(slow).and_then(within_limit), "{s}");
        }
        // Left to the general parser: signs of zero, thousands groups, long or odd values.
        for s in [
            "-0",
            "-0.00",
            "1 234",
            "1234567890123456789",
            ".5",
            "5.",
            "1.2.3",
            "+5",
            "- 5",
            "",
        ] {
            assert_eq!(plain_amount(s), None, "{s}");
        }
    }

    #[test]
    fn booleans() {
        for t in ["ja", "JA", "j", "True", "1", "x", "X"] {
            assert_eq!(parse_bool(t), Ok(Some(true)), "{t}");
        }
        for f in ["nei", "N", "false", "0"] {
            assert_eq!(parse_bool(f), Ok(Some(false)), "{f}");
        }
        assert_eq!(parse_bool("  "), Ok(None));
        assert_eq!(parse_bool(" ja "), Ok(Some(true)));
        assert_eq!(parse_bool("Nei"), Ok(Some(false)));
        assert_eq!(parse_bool("kanskje"), Err(NotABool));
        assert_eq!(cell_bool(&Cell::Bool(true)), Ok(Some(true)));
        assert_eq!(cell_bool(&Cell::Int(0)), Ok(Some(false)));
        assert_eq!(cell_bool(&Cell::Int(2)), Err(NotABool));
    }

    #[test]
    fn whole_numbers() {
        assert_eq!(cell_int(&Cell::Text("2024")), Some(2024));
        assert_eq!(cell_int(&Cell::Float(2024.0)), Some(2024));
        assert_eq!(cell_int(&Cell::Text("20.5")), None);
        assert_eq!(cell_int(&Cell::Text("+3")), None);
    }
}
