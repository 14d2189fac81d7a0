//! Ledger files (`--paid`, SPEC T-2): the columns of `utbetalt.csv` — `termin`, `kommunenummer`, `fnr`,
//! `kode`, `ar`, `belop`. A negative `belop` is a deduction (trekk) and is valid.

use crate::domain::ledger::{LedgerLine, LineKey};
use crate::domain::rates::RateCode;
use crate::domain::termin::Termin;
use crate::input::check::{count, RowCheck};
use crate::input::table::{self, req, Col};
use crate::input::{FileStats, InputError, LoadOptions, Loaded};
use std::path::{Path, PathBuf};

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
    out.avvik.extend(warning);
    let mut stats = FileStats {
        file: name.clone(),
        ..FileStats::default()
    };
    let lines = &mut out.data;
    let avvik = &mut out.avvik;
    t.for_each_row(&mut file, |row| {
        let mut c = RowCheck::new(&name, row);
        let termin = match c.text("termin", &row.cell(ix[0])) {
            None => None,
            Some(raw) => match raw.parse::<Termin>() {
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
        let kommune = c.knr("kommunenummer", &row.cell(ix[1]), opts, None, true);
        let fnr = c.fnr("fnr", &row.cell(ix[2]), opts, true);
        c.fnr = fnr;
        let kode = match c.text("kode", &row.cell(ix[3])) {
            None => None,
            Some(raw) => match raw.parse::<RateCode>() {
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
        let synthetic = fnr.is_some_and(|f| f.is_synthetic());
        count(&mut stats, rejected, c.has_warning(), synthetic);
        c.finish(avvik);
        if let (false, Some(termin), Some(kommune), Some(fnr), Some(kode), Some(ar), Some(belop)) =
            (rejected, termin, kommune, fnr, kode, ar, belop)
        {
            lines.push(LedgerLine {
                termin,
                key: LineKey {
                    fnr,
                    kommune,
                    kode,
                    ar,
                },
                belop,
                origin: format!("{name}:{line}"),
            });
        }
    })?;
    out.stats.push(stats);
    out.files.push(file);
    Ok(())
}
