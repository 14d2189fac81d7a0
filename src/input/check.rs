//! Row checking shared by every loader: collect ALL problems of a row (each its own [`Avvik`]), then count
//! the row once as accepted or rejected. Field helpers parse one cell and record why it was refused.

use crate::domain::avvik::{Avvik, Niva};
use crate::domain::ids::{Duf, Fnr, Knr};
use crate::domain::kommune::KommuneRegister;
use crate::input::table::{Cell, Row};
use crate::input::values::{cell_amount, cell_bool, cell_date, cell_int, DateError};
use crate::input::{FileStats, LoadOptions};
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// The longest `melding` of a row's avvik, in bytes: a message quotes the value it refuses, and a value
/// can be most of a file (an unclosed quote swallowing the lines after it; a record is refused only past
/// 1 MiB). Longer messages keep their first [`MESSAGE_KEPT`] bytes and say how much was cut; the file and
/// line say where the rest is.
const MESSAGE_MAX: usize = 1000;
const MESSAGE_KEPT: usize = 800;

fn cut_message(mut msg: String) -> String {
    if msg.len() > MESSAGE_MAX {
        // Masked before it is cut (masking keeps the length): a cut inside a person number would leave
        // a run of fewer than 11 digits, which the masking of the avvik would no longer see.
        msg = crate::domain::ids::mask_text(&msg);
        let mut at = MESSAGE_KEPT;
        while !msg.is_char_boundary(at) {
            at -= 1;
        }
        let cut = msg.len() - at;
        msg.truncate(at);
        msg.push_str(&format!(" … [{cut} more bytes not shown]"));
    }
    msg
}

/// The problems of one row.
pub struct RowCheck<'f> {
    pub file: &'f str,
    pub line: u64,
    pub list: Vec<Avvik>,
    pub fnr: Option<Fnr>,
}

impl<'f> RowCheck<'f> {
    /// Starts a row; a CSV record with the wrong number of fields is itself a problem (`feil_antall_felt`).
    pub fn new(file: &'f str, row: &Row) -> RowCheck<'f> {
        let mut c = RowCheck {
            file,
            line: row.line,
            list: Vec::new(),
            fnr: None,
        };
        if let Some((found, expected)) = row.shape {
            let (fields, extra) = row.line_breaks();
            let msg = if !fields.is_empty() {
                // An unclosed quote swallows the following lines into this record: say so, and which
                // lines, else the user looks for a stray delimiter while whole rows are missing.
                let which = if extra > 0 {
                    format!(
                        "lines {} to {} were read as this one record",
                        row.line,
                        row.line + extra
                    )
                } else {
                    "it runs to the end of the file".to_string()
                };
                format!(
                    "the record starting on this line has {found} fields but the header has {expected}, and \
                     runs over several lines: a quote (\") opened here is not closed; close it ({which})"
                )
            } else {
                format!(
                    "the line has {found} fields but the header has {expected}; a value holding the \
                     delimiter must be quoted (e.g. \"1234,50\")"
                )
            };
            c.reject(None, "feil_antall_felt", msg);
        }
        c
    }

    /// [`RowCheck::new`], and a record whose value holds a line break is rejected
    /// (`linjeskift_i_verdi`) unless it is in one of the `multiline` columns (free text such as a rate's
    /// `kilde`). RFC 4180 allows a quoted line break, but no identifier, code, date or amount holds one,
    /// and a stray quote (`"SAK1` on one line, `SAK2"` on a later one) otherwise joins the lines between
    /// into one record that may have the right number of fields — rows that would vanish without a word.
    /// `headers`: the table's header names, to name the column.
    pub fn start(file: &'f str, headers: &[String], row: &Row, multiline: &[&str]) -> RowCheck<'f> {
        let mut c = RowCheck::new(file, row);
        if row.shape.is_some() {
            // Already rejected, with the unclosed quote named when the record runs over lines.
            return c;
        }
        let (fields, extra) = row.line_breaks();
        for i in fields {
            let col = headers.get(i).map(String::as_str);
            if col.is_some_and(|h| multiline.iter().any(|m| m.eq_ignore_ascii_case(h))) {
                continue;
            }
            let last = row.line + extra;
            c.reject(
                col,
                "linjeskift_i_verdi",
                format!(
                    "the value holds a line break, so this record runs from line {} to line {last}: a quote (\") \
                     opened in this field closes only on a later line, and the lines between were read as this \
                     one row; remove the stray quote (no {} value holds a line break)",
                    row.line,
                    col.map_or("such".to_string(), |h| format!("'{h}'")),
                ),
            );
        }
        c
    }

    pub fn reject(&mut self, col: Option<&str>, kode: &str, msg: String) {
        self.list.push(Avvik::rejected(
            self.file,
            Some(self.line),
            col,
            kode,
            cut_message(msg),
        ));
    }

    pub fn warn(&mut self, col: Option<&str>, kode: &str, msg: String) {
        self.list.push(Avvik::warning(
            self.file,
            Some(self.line),
            col,
            kode,
            cut_message(msg),
        ));
    }

    pub fn is_rejected(&self) -> bool {
        self.list.iter().any(|a| a.niva == Niva::Avvist)
    }

    pub fn has_warning(&self) -> bool {
        self.list.iter().any(|a| a.niva == Niva::Advarsel)
    }

    /// Moves the problems (tagged with the row's person) into `out`.
    pub fn finish(self, out: &mut Vec<Avvik>) {
        let fnr = self.fnr;
        out.extend(self.list.into_iter().map(|a| a.with_fnr(fnr)));
    }

    fn missing(&mut self, col: &str) {
        self.reject(
            Some(col),
            "mangler_verdi",
            format!("'{col}' is required but empty; fill it in"),
        );
    }

    /// A required text value.
    pub fn text<'c>(&mut self, col: &str, c: &Cell<'c>) -> Option<std::borrow::Cow<'c, str>> {
        if c.is_empty() {
            self.missing(col);
            return None;
        }
        Some(c.raw())
    }

    /// ID-1: a fødselsnummer or D-nummer. `required` false: empty is `Ok(None)`.
    pub fn fnr(&mut self, col: &str, c: &Cell, opts: &LoadOptions, required: bool) -> Option<Fnr> {
        self.fnr_born(col, c, opts, required).map(|(f, _)| f)
    }

    /// [`RowCheck::fnr`] with the birth date embedded in the number (ID-1).
    pub fn fnr_born(
        &mut self,
        col: &str,
        c: &Cell,
        opts: &LoadOptions,
        required: bool,
    ) -> Option<(Fnr, NaiveDate)> {
        if c.is_empty() {
            if required {
                self.missing(col);
            }
            return None;
        }
        let raw = c.digits(11);
        match Fnr::parse_with_birth_date(&raw) {
            Ok((f, born)) => {
                if opts.reject_synthetic && f.is_synthetic() {
                    self.reject(
                        Some(col),
                        "syntetisk_fnr",
                        format!(
                            "'{}' is a synthetic test number (month + 40/80), refused by --no-synthetic",
                            f.masked()
                        ),
                    );
                    return None;
                }
                Some((f, born))
            }
            Err(e) => {
                self.reject(
                    Some(col),
                    "ugyldig_fnr",
                    format!(
                        "'{}' is not a valid fødselsnummer/D-nummer: {e}; correct it in the source",
                        mask_raw(&raw)
                    ),
                );
                None
            }
        }
    }

    /// ID-2: DUF-nummer (optional).
    pub fn duf(&mut self, col: &str, c: &Cell, run_year: i32) -> Option<Duf> {
        if c.is_empty() {
            return None;
        }
        let raw = c.digits(12);
        match Duf::parse(&raw, run_year) {
            Ok(d) => Some(d),
            Err(e) => {
                self.reject(
                    Some(col),
                    "ugyldig_duf",
                    format!("'{raw}' is not a valid DUF number: {e}; correct it or leave it empty"),
                );
                None
            }
        }
    }

    /// ID-3: 4 digits and, when a register is given, existing on `date`.
    pub fn knr(
        &mut self,
        col: &str,
        c: &Cell,
        opts: &LoadOptions,
        date: Option<NaiveDate>,
        required: bool,
    ) -> Option<Knr> {
        let known = |reg: &KommuneRegister, k: Knr| match date {
            Some(d) => reg.get(k, d).is_some(),
            None => reg.contains(k),
        };
        self.knr_with(col, c, opts.kommuner, known, date, required)
    }

    /// [`RowCheck::knr`] against a lookup made once per table.
    pub fn knr_in(
        &mut self,
        col: &str,
        c: &Cell,
        lookup: &KnrLookup,
        date: Option<NaiveDate>,
        required: bool,
    ) -> Option<Knr> {
        let known = |_: &KommuneRegister, k: Knr| lookup.known(k, date);
        self.knr_with(col, c, lookup.register, known, date, required)
    }

    fn knr_with(
        &mut self,
        col: &str,
        c: &Cell,
        register: Option<&KommuneRegister>,
        known: impl Fn(&KommuneRegister, Knr) -> bool,
        date: Option<NaiveDate>,
        required: bool,
    ) -> Option<Knr> {
        if c.is_empty() {
            if required {
                self.missing(col);
            }
            return None;
        }
        let raw = c.digits(4);
        let Ok(k) = Knr::parse(&raw) else {
            self.reject(
                Some(col),
                "ugyldig_kommunenummer",
                format!(
                    "'{raw}' is not a kommunenummer (4 digits); write all four, with the leading zero (0301, not 301)"
                ),
            );
            return None;
        };
        if let Some(reg) = register {
            let known = known(reg, k);
            if !known {
                let when = date
                    .map(|d| format!(" on {}", d.format("%d.%m.%Y")))
                    .unwrap_or_default();
                self.reject(
                    Some(col),
                    "ukjent_kommune",
                    format!(
                        "kommunenummer {k} is not in the municipality register {}{when}; check the number or the register's gyldig_fra/gyldig_til",
                        reg.file
                    ),
                );
                return None;
            }
        }
        Some(k)
    }

    pub fn date(&mut self, col: &str, c: &Cell, required: bool) -> Option<NaiveDate> {
        if c.is_empty() {
            if required {
                self.missing(col);
            }
            return None;
        }
        match cell_date(c) {
            Ok(d) => Some(d),
            Err(e) => {
                let raw = c.raw();
                let msg = match e {
                    DateError::DoesNotExist => {
                        format!("the date '{raw}' does not exist; correct it in the source")
                    }
                    DateError::Format => {
                        format!("'{raw}' is not a date; write YYYY-MM-DD or DD.MM.YYYY")
                    }
                };
                self.reject(Some(col), e.kode(), msg);
                None
            }
        }
    }

    pub fn amount(&mut self, col: &str, c: &Cell, required: bool) -> Option<Decimal> {
        if c.is_empty() {
            if required {
                self.missing(col);
            }
            return None;
        }
        match cell_amount(c) {
            // SPEC §1.1: money is in NOK with 2 decimals (øre). A third decimal that is not 0 would be
            // rounded somewhere (a ledger line rewritten as 0.00 breaks T-4's ledger in + paid).
            Some(a) if a.scale() > 2 && a.normalize().scale() > 2 => {
                // A spreadsheet formula's result (`=100000*1.035` is 103499.99999999999 in the cell, shown
                // as 103 500,00): within a millionth of an øre value it is that value.
                let ore = a.round_dp(2);
                if matches!(c, Cell::Float(_)) && (a - ore).abs() < Decimal::new(1, 6) {
                    return Some(ore);
                }
                self.reject(
                    Some(col),
                    "for_mange_desimaler",
                    format!(
                        "'{}' has more than two decimals; amounts are in whole øre: round it to two",
                        c.raw()
                    ),
                );
                None
            }
            Some(a) => Some(a),
            None => {
                self.reject(
                    Some(col),
                    "ugyldig_belop",
                    format!(
                        "'{}' is not an amount; write e.g. 1234, 1234.50, 1234,50 or 1 234,50",
                        c.raw()
                    ),
                );
                None
            }
        }
    }

    /// A non-negative amount.
    pub fn amount_nonneg(&mut self, col: &str, c: &Cell, required: bool) -> Option<Decimal> {
        let a = self.amount(col, c, required)?;
        if a.is_sign_negative() && !a.is_zero() {
            self.reject(
                Some(col),
                "negativt_belop",
                format!("the amount {a} is negative; it must be 0 or more"),
            );
            return None;
        }
        Some(a)
    }

    /// A boolean with the column's default when empty (SPEC §1.1).
    pub fn boolean(&mut self, col: &str, c: &Cell, default: bool) -> bool {
        match cell_bool(c) {
            Ok(v) => v.unwrap_or(default),
            Err(_) => {
                self.reject(
                    Some(col),
                    "ugyldig_ja_nei",
                    format!(
                        "'{}' is not a yes/no value; write ja/nei, j/n, true/false, 1/0 or x/empty",
                        c.raw()
                    ),
                );
                default
            }
        }
    }

    pub fn int(
        &mut self,
        col: &str,
        c: &Cell,
        kode: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Option<i64> {
        if c.is_empty() {
            self.missing(col);
            return None;
        }
        match cell_int(c) {
            Some(i) if range.contains(&i) => Some(i),
            _ => {
                self.reject(
                    Some(col),
                    kode,
                    format!(
                        "'{}' is not a whole number from {} to {}",
                        c.raw(),
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
        }
    }
}

/// The validity periods of the register's municipalities by number, for checking millions of rows:
/// `known` answers exactly as `KommuneRegister::get(..).is_some()` / `contains` do (ID-3).
pub struct KnrLookup<'a> {
    register: Option<&'a KommuneRegister>,
    /// Indexed by the 4-digit code; empty: not in the register.
    periods: Vec<Vec<(Option<NaiveDate>, Option<NaiveDate>)>>,
}

impl<'a> KnrLookup<'a> {
    pub fn new(register: Option<&'a KommuneRegister>) -> Self {
        let mut periods = Vec::new();
        if let Some(reg) = register {
            periods = vec![Vec::new(); 10_000];
            for k in reg.iter() {
                if let Some(p) = periods.get_mut(usize::from(k.nr.code())) {
                    p.push((k.gyldig_fra, k.gyldig_til));
                }
            }
        }
        KnrLookup { register, periods }
    }

    fn known(&self, k: Knr, date: Option<NaiveDate>) -> bool {
        let Some(periods) = self.periods.get(usize::from(k.code())) else {
            return false;
        };
        match date {
            // Kommune::valid_on
            Some(d) => periods
                .iter()
                .any(|(fra, til)| fra.is_none_or(|f| f <= d) && til.is_none_or(|t| d <= t)),
            None => !periods.is_empty(),
        }
    }
}

/// A refused person number as shown in messages: its first six characters and `*****`, whatever its length
/// (`mask_text` only masks runs of exactly 11 digits, and a typo may have 10 or 12).
pub fn mask_raw(raw: &str) -> String {
    if raw.chars().count() > 6 {
        format!("{}*****", raw.chars().take(6).collect::<String>())
    } else {
        raw.to_string()
    }
}

/// Counts a finished row into the stats.
pub fn count(stats: &mut FileStats, rejected: bool, warned: bool, synthetic: bool) {
    stats.read += 1;
    if rejected {
        stats.rejected += 1;
    } else {
        stats.accepted += 1;
        if warned {
            stats.warned += 1;
        }
        if synthetic {
            stats.synthetic += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{cut_message, RowCheck};
    use crate::input::table::{Cell, Row};

    #[test]
    fn money_is_in_ore_but_a_formula_result_is_rounded_to_it() {
        let fields = ["x"];
        let row = Row::from_fields(2, None, &fields);
        let mut c = RowCheck::new("satser.csv", &row);
        let d = |s: &str| s.parse::<rust_decimal::Decimal>().unwrap();
        assert_eq!(
            c.amount("belop", &Cell::Text("100.500"), true),
            Some(d("100.5"))
        );
        assert_eq!(
            c.amount("belop", &Cell::Float(103499.99999999999), true),
            Some(d("103500.00"))
        );
        assert_eq!(
            c.amount("belop", &Cell::Float(1234.56), true),
            Some(d("1234.56"))
        );
        assert!(c.list.is_empty(), "{:?}", c.list);
        // Typed with a third decimal, in text or in a cell: refused.
        assert_eq!(c.amount("belop", &Cell::Text("88299.995"), true), None);
        assert_eq!(c.amount("belop", &Cell::Float(0.001), true), None);
        let codes: Vec<&str> = c.list.iter().map(|a| a.kode.as_str()).collect();
        assert_eq!(codes, ["for_mange_desimaler", "for_mange_desimaler"]);
    }

    #[test]
    fn long_messages_are_cut_at_a_character_boundary_and_say_so() {
        let short = "x".repeat(1000);
        assert_eq!(cut_message(short.clone()), short);
        // 799 ASCII bytes, then two-byte characters: byte 800 falls inside one.
        let long = format!("{}{}", "a".repeat(799), "ø".repeat(300));
        let cut = cut_message(long.clone());
        assert!(cut.starts_with(&"a".repeat(799)));
        assert_eq!(
            cut,
            format!(
                "{} … [{} more bytes not shown]",
                "a".repeat(799),
                long.len() - 799
            )
        );
        // A person number across the cut: masked first, so no digit of its last five is shown.
        let fnr = format!("{}01018012345{}", "a".repeat(795), "b".repeat(300));
        let cut = cut_message(fnr);
        assert!(
            cut.starts_with(&format!("{}01018", "a".repeat(795))),
            "{cut}"
        );
        assert!(!cut.contains("010180123"), "{cut}");
    }
}
