//! Ledger files (`--paid`, SPEC T-2): the columns of `utbetalt.csv` — `termin`, `kommunenummer`, `fnr`,
//! `kode`, `ar`, `belop`. A negative `belop` is a deduction (trekk) and is valid.

use crate::domain::avvik::Avvik;
use crate::domain::ledger::{LedgerLine, LineKey, Origin};
use crate::domain::rates::RateCode;
use crate::domain::termin::Termin;
use crate::input::check::{count, KnrLookup, RowCheck};
use crate::input::table::{self, req, Col, Row};
use crate::input::{FileStats, InputError, LoadOptions, Loaded};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const COLS: [Col; 6] = [
    req("termin"),
    req("kommunenummer"),
    req("fnr"),
    req("kode"),
    req("ar"),
    req("belop"),
];

pub fn load(paths: &[PathBuf], opts: &LoadOptions) -> Result<Loaded<Vec<LedgerLine>>, InputError> {
    let mut out = Loaded::<Vec<LedgerLine>>::default();
    for p in paths {
        load_one(p, opts, &mut out)?;
    }
    Ok(out)
}

fn load_one(
    path: &Path,
    opts: &LoadOptions,
    out: &mut Loaded<Vec<LedgerLine>>,
) -> Result<(), InputError> {
    let (t, mut file) = table::open_single(path, "utbetalt")?;
    let (ix, warning) = t.resolve(&COLS)?;
    let name = t.name.clone();
    // One copy of the name for all the lines' origins.
    let shared_name: Arc<str> = name.as_str().into();
    out.avvik.extend(warning);
    // Rows are checked in parallel; the results arrive in file order.
    let hint = t.row_hint;
    let lookup = KnrLookup::new(opts.kommuner);
    let (_, (stats, avvik, lines)) = t.par_rows(
        &mut file,
        || {
            let stats = FileStats {
                file: name.clone(),
                ..FileStats::default()
            };
            (stats, Vec::<Avvik>::new(), Vec::with_capacity(hint))
        },
        |row| check_line(&name, &shared_name, row, &ix, opts, &lookup),
        |(stats, avvik, lines), r: Checked| {
            count(stats, r.rejected, r.warned, r.synthetic);
            avvik.extend(r.avvik);
            lines.extend(r.line);
        },
    )?;
    out.avvik.extend(avvik);
    if out.data.is_empty() {
        out.data = lines;
    } else {
        out.data.extend(lines);
    }
    out.stats.push(stats);
    out.files.push(file);
    Ok(())
}

/// One checked ledger row.
struct Checked {
    rejected: bool,
    warned: bool,
    synthetic: bool,
    avvik: Vec<Avvik>,
    line: Option<LedgerLine>,
}

fn check_line(
    name: &str,
    shared_name: &Arc<str>,
    row: &Row,
    ix: &[Option<usize>],
    opts: &LoadOptions,
    lookup: &KnrLookup,
) -> Checked {
    let mut c = RowCheck::new(name, row);
    let termin = match c.text("termin", &row.cell(ix[0])) {
        None => None,
        Some(raw) => match canonical_termin(&raw).map_or_else(|| raw.parse::<Termin>(), Ok) {
            Ok(t) => Some(t),
            Err(_) => {
                c.reject(
                    Some("termin"),
                    "ugyldig_termin",
                    format!("'{raw}' is not a termin; write 2024-Q3, 2024Q3 or 3/2024"),
                );
                None
            }
        },
    };
    // ID-3: the municipality must be (or have been) in the register; a ledger line may be older than a
    // merger, so any validity period counts.
    let kommune = c.knr_in("kommunenummer", &row.cell(ix[1]), lookup, None, true);
    let fnr = c.fnr("fnr", &row.cell(ix[2]), opts, true);
    c.fnr = fnr;
    let kode = match c.text("kode", &row.cell(ix[3])) {
        None => None,
        Some(raw) => match canonical_code(&raw).map_or_else(|| raw.parse::<RateCode>(), Ok) {
            Ok(k) if RateCode::TERMIN_CODES.contains(&k) => Some(k),
            _ => {
                c.reject(
                    Some("kode"),
                    "kode_ikke_termin",
                    format!(
                        "'{raw}' is not a code paid through a termin; use one of {}",
                        RateCode::TERMIN_CODES.map(|k| k.as_str()).join(", ")
                    ),
                );
                None
            }
        },
    };
    let ar = c
        .int("ar", &row.cell(ix[4]), "ugyldig_ar", 1900..=2200)
        .map(|y| y as i32);
    let belop = c.amount("belop", &row.cell(ix[5]), true);
    let line = c.line;
    let rejected = c.is_rejected();
    let warned = c.has_warning();
    let synthetic = fnr.is_some_and(|f| f.is_synthetic());
    let mut avvik = Vec::new();
    c.finish(&mut avvik);
    let line = match (rejected, termin, kommune, fnr, kode, ar, belop) {
        (false, Some(termin), Some(kommune), Some(fnr), Some(kode), Some(ar), Some(belop)) => {
            Some(LedgerLine {
                termin,
                key: LineKey {
                    fnr,
                    kommune,
                    kode,
                    ar,
                },
                belop,
                origin: Origin::new(shared_name.clone(), line),
            })
        }
        _ => None,
    };
    Checked {
        rejected,
        warned,
        synthetic,
        avvik,
        line,
    }
}

/// A termin written as `utbetalt.csv` writes it (`2024-Q4`), without the allocations of the general
/// parser; `None`: anything else, left to `Termin::from_str` (which gives the same for this form).
fn canonical_termin(s: &str) -> Option<Termin> {
    let b = s.as_bytes();
    if b.len() != 7 || b[4] != b'-' || b[5] != b'Q' || !b[6].is_ascii_digit() {
        return None;
    }
    if !b[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let year = b[..4]
        .iter()
        .fold(0i32, |a, d| a * 10 + i32::from(d - b'0'));
    Termin::new(year, b[6] - b'0')
}

/// A rate code written exactly as its name (`AR-1`); `None`: left to `RateCode::from_str`, which
/// normalises spacing and case and then compares with the same names.
fn canonical_code(s: &str) -> Option<RateCode> {
    RateCode::ALL.iter().copied().find(|c| c.as_str() == s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms_parse_as_the_general_parsers_do() {
        for s in [
            "2024-Q4", "1900-Q1", "9999-Q4", "2024-Q0", "2024-Q5", "0999-Q1", "2024-q4", "2024Q4",
            "3/2024",
        ] {
            if let Some(t) = canonical_termin(s) {
                assert_eq!(Ok(t), s.parse::<Termin>(), "{s}");
            }
        }
        assert!(canonical_termin("2024-Q4").is_some());
        assert!(canonical_termin("2024-Q5").is_none());
        for c in RateCode::ALL {
            assert_eq!(canonical_code(c.as_str()), Some(c));
            assert_eq!(c.as_str().parse::<RateCode>(), Ok(c));
        }
        assert_eq!(canonical_code("ar-1"), None);
    }
}
