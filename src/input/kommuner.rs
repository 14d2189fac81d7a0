//! The municipality register (SPEC §1.5): `kommunenummer`, `navn`, `orgnr` (ID-4), `kontonummer` (ID-5),
//! optional `gyldig_fra`, `gyldig_til`. An invalid orgnr/kontonummer is a warning and the field is `None`:
//! the municipality still exists (it gets its basis), it is only left out of payment files.

use crate::domain::avvik::Avvik;
use crate::domain::ids::{Kontonr, Orgnr};
use crate::domain::kommune::{Kommune, KommuneRegister};
use crate::input::check::{count, RowCheck};
use crate::input::table::{self, opt, req, Col};
use crate::input::{FileStats, InputError, LoadOptions, Loaded};
use std::path::Path;

const COLS: [Col; 6] = [
    req("kommunenummer"),
    req("navn"),
    opt("orgnr"),
    opt("kontonummer"),
    opt("gyldig_fra"),
    opt("gyldig_til"),
];

pub fn load(path: &Path) -> Result<Loaded<KommuneRegister>, InputError> {
    let (t, mut file) = table::open_single(path, "kommuner")?;
    let (ix, warning) = t.resolve(&COLS)?;
    let name = t.name.clone();
    let headers = t.headers.clone();
    let mut out = Loaded {
        data: KommuneRegister::new(name.clone()),
        ..Loaded::default()
    };
    out.avvik.extend(warning);
    let mut stats = FileStats {
        file: name.clone(),
        ..FileStats::default()
    };
    // No register while reading the register itself: ID-3 is format only here.
    let no_reg = LoadOptions {
        run_year: 9999,
        reject_synthetic: false,
        kommuner: None,
        ledger_before: None,
    };
    let mut rows: Vec<Kommune> = Vec::new();
    let mut avvik: Vec<Avvik> = Vec::new();
    t.for_each_row(&mut file, |row| {
        let mut c = RowCheck::start(&name, &headers, row, &[]);
        let nr = c.knr("kommunenummer", &row.cell(ix[0]), &no_reg, None, true);
        let navn = c.text("navn", &row.cell(ix[1])).map(|s| s.into_owned());
        let orgnr = checked(&mut c, "orgnr", &row.cell(ix[2]), "ugyldig_orgnr", "organisasjonsnummer (ID-4)", Orgnr::parse);
        let konto = checked(
            &mut c,
            "kontonummer",
            &row.cell(ix[3]),
            "ugyldig_kontonummer",
            "kontonummer (ID-5)",
            Kontonr::parse,
        );
        let fra = c.date("gyldig_fra", &row.cell(ix[4]), false);
        let til = c.date("gyldig_til", &row.cell(ix[5]), false);
        if let (Some(f), Some(t)) = (fra, til) {
            if t < f {
                c.reject(
                    Some("gyldig_til"),
                    "ugyldig_periode",
                    format!(
                        "gyldig_til {} is before gyldig_fra {}",
                        t.format("%d.%m.%Y"),
                        f.format("%d.%m.%Y")
                    ),
                );
            }
        }
        // Two rows for one number may not overlap in time, else ID-3 would be ambiguous.
        if let Some(nr) = nr {
            let lo = fra.unwrap_or(chrono::NaiveDate::MIN);
            let hi = til.unwrap_or(chrono::NaiveDate::MAX);
            if let Some(other) = rows.iter().find(|k| {
                k.nr == nr
                    && k.gyldig_fra.unwrap_or(chrono::NaiveDate::MIN) <= hi
                    && lo <= k.gyldig_til.unwrap_or(chrono::NaiveDate::MAX)
            }) {
                c.reject(
                    Some("kommunenummer"),
                    "duplikat_kommune",
                    format!(
                        "kommunenummer {nr} is already on line {} for an overlapping period; give gyldig_fra/gyldig_til or remove one",
                        other.line
                    ),
                );
            }
        }
        let rejected = c.is_rejected();
        count(&mut stats, rejected, c.has_warning(), false);
        let line = c.line;
        c.finish(&mut avvik);
        if let (false, Some(nr), Some(navn)) = (rejected, nr, navn) {
            rows.push(Kommune {
                nr,
                navn,
                orgnr: orgnr.flatten(),
                kontonummer: konto.flatten(),
                gyldig_fra: fra,
                gyldig_til: til,
                line,
            });
        }
    })?;
    for k in rows {
        out.data.insert(k);
    }
    out.avvik.extend(avvik);
    out.stats.push(stats);
    out.files.push(file);
    Ok(out)
}

/// ID-4/ID-5: an optional checked number; invalid → warning and `Some(None)`.
fn checked<T, E: std::fmt::Display>(
    c: &mut RowCheck,
    col: &str,
    cell: &table::Cell,
    kode: &str,
    what: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Option<Option<T>> {
    if cell.is_empty() {
        return Some(None);
    }
    let raw = cell.raw();
    match parse(&raw) {
        Ok(v) => Some(Some(v)),
        Err(e) => {
            c.warn(
                Some(col),
                kode,
                format!("'{raw}' is not a valid {what}: {e}; the municipality is kept but left out of payment files until it is corrected"),
            );
            Some(None)
        }
    }
}
