//! Identifiers of SPEC §1.2: fødselsnummer/D-nummer (ID-1), DUF-nummer (ID-2), kommunenummer (ID-3),
//! organisasjonsnummer (ID-4) and kontonummer (ID-5).
//!
//! The types are small `Copy` values so that millions of persons cost little memory, and their `Debug`
//! output never shows a whole person number (logs must mask it).

use chrono::NaiveDate;
use std::fmt;
use thiserror::Error;

/// Weighted mod-11 control digit shared by ID-1, ID-4 and ID-5: `11 − (Σ d·w mod 11)`, where 11 means 0 and
/// 10 means "no valid control digit exists".
pub fn mod11_control(digits: &[u8], weights: &[u32]) -> Option<u8> {
    let sum: u32 = digits
        .iter()
        .zip(weights)
        .map(|(d, w)| u32::from(*d) * w)
        .sum();
    match 11 - (sum % 11) {
        11 => Some(0),
        10 => None,
        k => Some(k as u8),
    }
}

/// `s` without white space at either end; a value that starts and ends with a digit (the common case)
/// has none, and that costs two comparisons instead of a trim.
fn trim_digits(s: &str) -> &str {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) if f.is_ascii_digit() && l.is_ascii_digit() => s,
        _ => s.trim(),
    }
}

fn ascii_digits<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() != N || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut out = [0u8; N];
    for (o, c) in out.iter_mut().zip(b) {
        *o = c - b'0';
    }
    Some(out)
}

/// Why a fødselsnummer/D-nummer was refused (ID-1).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FnrError {
    #[error("must be 11 digits")]
    Format,
    #[error("first control digit (digit 10) is wrong")]
    Control1,
    #[error("second control digit (digit 11) is wrong")]
    Control2,
    #[error("individual number {individ:03} does not allow birth year {yy:02} (no century rule matches)")]
    Century { individ: u16, yy: u8 },
    #[error("embedded birth date {0} does not exist")]
    Date(String),
}

/// Which kind of person number (ID-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FnrKind {
    Fodselsnummer,
    /// First digit + 4 (day + 40).
    DNummer,
}

/// A validated fødselsnummer or D-nummer (ID-1), stored as its 11 ASCII digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fnr([u8; 11]);

const FNR_W1: [u32; 9] = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const FNR_W2: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

impl Fnr {
    /// Parses and validates both control digits, the century rules and the embedded date (ID-1).
    pub fn parse(s: &str) -> Result<Fnr, FnrError> {
        let d: [u8; 11] = ascii_digits(s.trim()).ok_or(FnrError::Format)?;
        if mod11_control(&d[..9], &FNR_W1) != Some(d[9]) {
            return Err(FnrError::Control1);
        }
        if mod11_control(&d[..10], &FNR_W2) != Some(d[10]) {
            return Err(FnrError::Control2);
        }
        let mut raw = [0u8; 11];
        for (r, x) in raw.iter_mut().zip(d) {
            *r = x + b'0';
        }
        let fnr = Fnr(raw);
        fnr.decode_birth_date()?;
        Ok(fnr)
    }

    /// [`Fnr::parse`], also returning the embedded birth date (decoded once; the readers need both).
    pub fn parse_with_birth_date(s: &str) -> Result<(Fnr, NaiveDate), FnrError> {
        // The text's own bytes are the stored digits (no second conversion back to ASCII).
        let raw: [u8; 11] = trim_digits(s)
            .as_bytes()
            .try_into()
            .map_err(|_| FnrError::Format)?;
        if !raw.iter().all(u8::is_ascii_digit) {
            return Err(FnrError::Format);
        }
        let d = raw.map(|c| c - b'0');
        if mod11_control(&d[..9], &FNR_W1) != Some(d[9]) {
            return Err(FnrError::Control1);
        }
        if mod11_control(&d[..10], &FNR_W2) != Some(d[10]) {
            return Err(FnrError::Control2);
        }
        let fnr = Fnr(raw);
        let born = fnr.decode_birth_date()?;
        Ok((fnr, born))
    }

    /// Builds a number from its first nine digits, adding both control digits; `None` when a control digit
    /// would be 10 (that individual number cannot be used). Used by the generator and tests.
    pub fn with_control_digits(first9: &str) -> Option<Fnr> {
        let d: [u8; 9] = ascii_digits(first9)?;
        let k1 = mod11_control(&d, &FNR_W1)?;
        let mut ten = [0u8; 10];
        ten[..9].copy_from_slice(&d);
        ten[9] = k1;
        let k2 = mod11_control(&ten, &FNR_W2)?;
        let s = format!("{first9}{k1}{k2}");
        Fnr::parse(&s).ok()
    }

    fn digit(&self, i: usize) -> u8 {
        self.0[i] - b'0'
    }

    fn two(&self, i: usize) -> u8 {
        self.digit(i) * 10 + self.digit(i + 1)
    }

    pub fn as_str(&self) -> &str {
        // Invariant: only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).expect("Fnr holds ASCII digits only")
    }

    /// The 11 digits as a number (below 10^11), ordered like the fnr itself: a compact sort and search
    /// key (the engine's indexes), without the UTF-8 check of [`Fnr::as_str`].
    pub fn number(&self) -> u64 {
        self.0
            .iter()
            .fold(0, |a, &d| a * 10 + u64::from(d.wrapping_sub(b'0')))
    }

    /// `010180*****`: the form for terminal output, logs and `avvik.csv` (SPEC §6).
    pub fn masked(&self) -> String {
        format!("{}*****", &self.as_str()[..6])
    }

    pub fn kind(&self) -> FnrKind {
        if self.digit(0) >= 4 {
            FnrKind::DNummer
        } else {
            FnrKind::Fodselsnummer
        }
    }

    /// A synthetic test number: 40 or 80 added to the month (ID-1).
    pub fn is_synthetic(&self) -> bool {
        self.two(2) > 12
    }

    /// The birth date embedded in the number, with the century from the individual number (ID-1).
    pub fn birth_date(&self) -> NaiveDate {
        // Invariant: `parse` refused every number whose date does not decode.
        self.decode_birth_date()
            .expect("Fnr date validated at parse")
    }

    fn decode_birth_date(&self) -> Result<NaiveDate, FnrError> {
        let mut day = self.two(0);
        if day > 40 {
            day -= 40; // D-nummer
        }
        let mut month = self.two(2);
        if month > 80 {
            month -= 80; // synthetic (Skatteetaten test register)
        } else if month > 40 {
            month -= 40; // synthetic, older convention
        }
        let yy = self.two(4);
        let individ = u16::from(self.digit(6)) * 100 + u16::from(self.two(7));
        let century = match (individ, yy) {
            (0..=499, _) => 1900,
            (500..=749, 54..=99) => 1800,
            (500..=999, 0..=39) => 2000,
            (900..=999, 40..=99) => 1900,
            _ => return Err(FnrError::Century { individ, yy }),
        };
        let year = century + i32::from(yy);
        NaiveDate::from_ymd_opt(year, u32::from(month), u32::from(day))
            .ok_or_else(|| FnrError::Date(format!("{:02}.{:02}.{year}", day, month)))
    }
}

impl fmt::Display for Fnr {
    /// The full number: only for `grunnlag.csv` and `utbetalt.csv` (SPEC §6). Use [`Fnr::masked`] elsewhere.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Fnr {
    /// Masked, so that `{:?}` in a log or panic message never leaks a person number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fnr({})", self.masked())
    }
}

/// Masks person numbers in free text (values echoed in messages may hold one): every run of exactly 11
/// digits keeps its first six (`010180*****`), and so does the written form with a separator after the
/// birth date, six digits, `-` or a space, five digits (`010180-*****`). Longer digit runs are left alone
/// (a DUF number has 12).
pub fn mask_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    mask_text_into(s, &mut out);
    out
}

/// Whether `s` holds what [`mask_text`] masks.
pub fn has_person_number(s: &str) -> bool {
    next_person_number(s.as_bytes(), 0).is_some()
}

/// The next person number in `b` at or after `from`: where its masked part starts and ends.
fn next_person_number(b: &[u8], from: usize) -> Option<(usize, usize)> {
    let run_end = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = from;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        i = run_end(i);
        if i - start == 11 {
            return Some((start + 6, i));
        }
        if i - start == 6 && i + 1 < b.len() && matches!(b[i], b'-' | b' ') {
            let end = run_end(i + 1);
            if end - (i + 1) == 5 {
                return Some((i + 1, end));
            }
        }
    }
    None
}

/// [`mask_text`] appended to `out` (a buffer reused from row to row).
pub fn mask_text_into(s: &str, out: &mut String) {
    // Text between the masked parts is copied in slices: every cut is next to an ASCII digit, so on a
    // character boundary.
    let b = s.as_bytes();
    let mut copied = 0; // s[..copied] is in `out`
    while let Some((from, to)) = next_person_number(b, copied) {
        out.push_str(&s[copied..from]);
        out.push_str("*****");
        copied = to;
    }
    out.push_str(&s[copied..]);
}

/// DUF-nummer (ID-2): 12 digits, the first four a year not after the run year.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Duf(u64);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DufError {
    #[error("must be 12 digits")]
    Format,
    #[error("year {year} in the DUF number is after the run year {run_year}")]
    FutureYear { year: i32, run_year: i32 },
}

impl Duf {
    pub fn parse(s: &str, run_year: i32) -> Result<Duf, DufError> {
        let s = trim_digits(s);
        let d: [u8; 12] = ascii_digits(s).ok_or(DufError::Format)?;
        let year = d[..4].iter().fold(0i32, |a, x| a * 10 + i32::from(*x));
        if year > run_year {
            return Err(DufError::FutureYear { year, run_year });
        }
        Ok(Duf(d.iter().fold(0u64, |a, x| a * 10 + u64::from(*x))))
    }

    /// The 12 digits as a number (written zero-padded to 12 digits).
    pub fn value(&self) -> u64 {
        self.0
    }
}

impl fmt::Display for Duf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:012}", self.0)
    }
}

/// Kommunenummer (ID-3): 4 digits. Existence is checked against the register ([`crate::domain::kommune`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Knr(u16);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("must be 4 digits")]
pub struct KnrError;

impl Knr {
    pub fn parse(s: &str) -> Result<Knr, KnrError> {
        let d: [u8; 4] = ascii_digits(trim_digits(s)).ok_or(KnrError)?;
        Ok(Knr(d.iter().fold(0u16, |a, x| a * 10 + u16::from(*x))))
    }
    pub fn code(&self) -> u16 {
        self.0
    }
}

impl fmt::Display for Knr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CheckedNumberError {
    #[error("must be {0} digits")]
    Format(usize),
    #[error("control digit is wrong")]
    Control,
}

fn checked_number<const N: usize>(s: &str, weights: &[u32]) -> Result<[u8; N], CheckedNumberError> {
    let compact: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '.')
        .collect();
    let d: [u8; N] = ascii_digits(&compact).ok_or(CheckedNumberError::Format(N))?;
    if mod11_control(&d[..N - 1], weights) != Some(d[N - 1]) {
        return Err(CheckedNumberError::Control);
    }
    let mut raw = [0u8; N];
    for (r, x) in raw.iter_mut().zip(d) {
        *r = x + b'0';
    }
    Ok(raw)
}

/// Organisasjonsnummer (ID-4): 9 digits, control weights 3 2 7 6 5 4 3 2. Spaces are allowed on input.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Orgnr([u8; 9]);

impl Orgnr {
    pub fn parse(s: &str) -> Result<Orgnr, CheckedNumberError> {
        checked_number::<9>(s, &[3, 2, 7, 6, 5, 4, 3, 2]).map(Orgnr)
    }
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("Orgnr holds ASCII digits only")
    }
}

impl fmt::Display for Orgnr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Kontonummer (ID-5): 11 digits (a Norwegian BBAN), control weights 5 4 3 2 7 6 5 4 3 2. `1234.56.78903`
/// and spaces are accepted on input.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Kontonr([u8; 11]);

impl Kontonr {
    pub fn parse(s: &str) -> Result<Kontonr, CheckedNumberError> {
        checked_number::<11>(s, &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2]).map(Kontonr)
    }
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("Kontonr holds ASCII digits only")
    }
}

impl fmt::Display for Kontonr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// IMDi's own organisation number (SPEC §0); the debtor of every payment file.
pub const IMDI_ORGNR: &str = "987879696";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_person_number_is_whether_mask_text_masks() {
        for s in [
            "",
            "no digits",
            "1234567890",
            "12345678901",
            "x12345678901y",
            "123456789012",
            "1234567890.12345678901",
            "0301 AR-1 2024 12345678901.00, termin 2024-Q4",
            "0301 AR-1 2024 1234567890.00",
            "æøå 01818010084",
        ] {
            assert_eq!(has_person_number(s), mask_text(s) != s, "{s}");
            let mut out = String::from("kept ");
            mask_text_into(s, &mut out);
            assert_eq!(out, format!("kept {}", mask_text(s)));
        }
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn parse_with_birth_date_agrees_with_parse() {
        let mut inputs: Vec<String> = [
            "01018012371",
            " 01018012371 ",
            "01018012372",
            "01018012381",
            "0101801237",
            "010180123711",
            "0101801237x",
            "",
            "\u{a0}01018012371",
            "41018012371",
            "31021812345",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Every 9-digit prefix of a few dates, with its control digits when it has them.
        for first9 in [
            "010180123",
            "018180124",
            "410180123",
            "290200500",
            "311299999",
            "010140950",
        ] {
            if let Some(f) = Fnr::with_control_digits(first9) {
                inputs.push(f.as_str().to_string());
            }
            inputs.push(format!("{first9}00"));
        }
        for s in &inputs {
            let fast = Fnr::parse_with_birth_date(s);
            let slow = Fnr::parse(s).map(|f| (f, f.birth_date()));
            assert_eq!(fast, slow, "{s:?}");
        }
        assert_eq!(
            Fnr::parse_with_birth_date("01018012371").map(|(_, d)| d),
            Ok(d(1980, 1, 1))
        );
    }

    #[test]
    fn id1_control_digits_computed_by_hand() {
        // 010180 123 → k1: 0·3+1·7+0·6+1·1+8·8+0·9+1·4+2·5+3·2 = 92; 92 mod 11 = 4; 11−4 = 7.
        // k2 over 0101801237: 0·5+1·4+0·3+1·2+8·7+0·6+1·5+2·4+3·3+7·2 = 98; 98 mod 11 = 10; 11−10 = 1.
        // Synthetic variant (month + 80) is built the same way by `with_control_digits`.
        assert_eq!(
            mod11_control(&[0, 1, 0, 1, 8, 0, 1, 2, 3], &FNR_W1),
            Some(7)
        );
        assert_eq!(
            mod11_control(&[0, 1, 0, 1, 8, 0, 1, 2, 3, 7], &FNR_W2),
            Some(1)
        );
        let f = Fnr::parse("01018012371").unwrap();
        assert_eq!(f.birth_date(), d(1980, 1, 1));
        assert!(!f.is_synthetic());
        assert_eq!(Fnr::parse("01018012372"), Err(FnrError::Control2));
        assert_eq!(Fnr::parse("01018012381"), Err(FnrError::Control1));
    }

    #[test]
    fn id1_synthetic_and_dnummer() {
        let s = Fnr::with_control_digits("018180123")
            .or_else(|| Fnr::with_control_digits("018180124"))
            .unwrap();
        assert!(s.is_synthetic());
        assert_eq!(s.birth_date(), d(1980, 1, 1));
        assert_eq!(s.kind(), FnrKind::Fodselsnummer);
        let dn = (100..500)
            .find_map(|i| Fnr::with_control_digits(&format!("418180{i:03}")))
            .unwrap();
        assert_eq!(dn.kind(), FnrKind::DNummer);
        assert_eq!(dn.birth_date(), d(1980, 1, 1));
        // D-nummer with an impossible day: 72 − 40 = 32.
        let bad = (100..500).find_map(|i| {
            let n = format!("728180{i:03}");
            let dd: [u8; 9] = ascii_digits(&n)?;
            let k1 = mod11_control(&dd, &FNR_W1)?;
            let mut ten = [0u8; 10];
            ten[..9].copy_from_slice(&dd);
            ten[9] = k1;
            let k2 = mod11_control(&ten, &FNR_W2)?;
            Some(format!("{n}{k1}{k2}"))
        });
        assert!(matches!(Fnr::parse(&bad.unwrap()), Err(FnrError::Date(_))));
    }

    #[test]
    fn id1_century_rules() {
        let find = |first6: &str, lo: u16, hi: u16| {
            (lo..=hi).find_map(|i| Fnr::with_control_digits(&format!("{first6}{i:03}")))
        };
        assert_eq!(find("018199", 0, 499).unwrap().birth_date(), d(1999, 1, 1));
        assert_eq!(
            find("018160", 500, 749).unwrap().birth_date(),
            d(1860, 1, 1)
        );
        assert_eq!(
            find("018110", 500, 999).unwrap().birth_date(),
            d(2010, 1, 1)
        );
        assert_eq!(
            find("018145", 900, 999).unwrap().birth_date(),
            d(1945, 1, 1)
        );
        // 500–749 with year 40–53 has no century.
        assert!(find("018145", 500, 749).is_none());
        // 29 February only in leap years: 2000 yes, 1900 no.
        assert!(find("298200", 500, 999).is_some());
        assert!(find("298200", 0, 499).is_none());
    }

    #[test]
    fn masking() {
        let f = Fnr::parse("01018012371").unwrap();
        assert_eq!(f.masked(), "010180*****");
        assert_eq!(format!("{f:?}"), "Fnr(010180*****)");
        assert_eq!(
            mask_text("fnr 01018012371 and 1234"),
            "fnr 010180***** and 1234"
        );
    }

    #[test]
    fn id2_to_id5() {
        assert!(Duf::parse("201912345678", 2024).is_ok());
        assert_eq!(
            Duf::parse("202512345678", 2024),
            Err(DufError::FutureYear {
                year: 2025,
                run_year: 2024
            })
        );
        assert_eq!(Duf::parse("20191234567", 2024), Err(DufError::Format));
        assert_eq!(Knr::parse("0301").unwrap().to_string(), "0301");
        assert!(Knr::parse("301").is_err());
        // IMDi's org.nr: 9·… → control 6 (987879696).
        assert!(Orgnr::parse("987 879 696").is_ok());
        assert_eq!(Orgnr::parse("987879697"), Err(CheckedNumberError::Control));
        // 1234.56.78903: weights 5 4 3 2 7 6 5 4 3 2 over 1234567890 → 5+8+9+8+35+36+35+32+27+0 = 195;
        // 195 mod 11 = 8; 11 − 8 = 3.
        assert!(Kontonr::parse("1234.56.78903").is_ok());
        assert_eq!(
            Kontonr::parse("12345678904"),
            Err(CheckedNumberError::Control)
        );
    }
}
