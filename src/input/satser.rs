//! Rate tables (SPEC §1.6): one or more files or folders (a folder is read whole: every `.csv`/`.xlsx` in
//! it, sorted by name). A duplicate (`ar`, `kode`) rejects the later row, naming the first.

use crate::domain::rates::{Rate, RateCode, RateStatus, RateTable};
use crate::input::check::{count, RowCheck};
use crate::input::table::{self, opt, req, Col};
use crate::input::{FileStats, InputError, Loaded};
use std::path::{Path, PathBuf};

const COLS: [Col; 5] = [
    req("ar"),
    req("kode"),
    req("belop"),
    req("status"),
    opt("kilde"),
];

/// The files a list of rate paths stands for: files as given, folders expanded (sorted by name).
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, InputError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let rd = std::fs::read_dir(p).map_err(|e| InputError::Io {
                path: table::display(p),
                source: e,
            })?;
            let mut files: Vec<PathBuf> = rd
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|f| f.is_file() && (table::is_csv(f) || table::is_workbook(f)))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(InputError::Format {
                    file: table::display(p),
                    message: "the rates folder holds no .csv or .xlsx file".into(),
                });
            }
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

pub fn load(paths: &[PathBuf]) -> Result<Loaded<RateTable>, InputError> {
    let mut out = Loaded::<RateTable>::default();
    for p in expand(paths)? {
        load_one(&p, &mut out)?;
    }
    Ok(out)
}

fn load_one(path: &Path, out: &mut Loaded<RateTable>) -> Result<(), InputError> {
    let (t, mut file) = table::open_single(path, "satser")?;
    let (ix, warning) = t.resolve(&COLS)?;
    let name = t.name.clone();
    let headers = t.headers.clone();
    out.avvik.extend(warning);
    let mut stats = FileStats {
        file: name.clone(),
        ..FileStats::default()
    };
    let table = &mut out.data;
    let avvik = &mut out.avvik;
    t.for_each_row(&mut file, |row| {
        let mut c = RowCheck::start(&name, &headers, row, &["kilde"]);
        let ar = c
            .int("ar", &row.cell(ix[0]), "ugyldig_ar", 1900..=2200)
            .map(|y| y as i32);
        let kode = match c.text("kode", &row.cell(ix[1])) {
            None => None,
            Some(raw) => match raw.parse::<RateCode>() {
                Ok(k) => Some(k),
                Err(()) => {
                    c.reject(
                        Some("kode"),
                        "ukjent_kode",
                        format!(
                            "'{raw}' is not a rate code; use one of {}",
                            RateCode::ALL.map(|k| k.as_str()).join(", ")
                        ),
                    );
                    None
                }
            },
        };
        let belop = c.amount_nonneg("belop", &row.cell(ix[2]), true);
        // FHT-FRIST-MND is a count of months.
        if let (Some(RateCode::FhtFristMnd), Some(b)) = (kode, belop) {
            if !b.fract().is_zero() {
                c.reject(
                    Some("belop"),
                    "ikke_heltall",
                    format!("FHT-FRIST-MND is a number of months; '{b}' is not a whole number"),
                );
            }
        }
        let status = match c.text("status", &row.cell(ix[3])) {
            None => None,
            Some(raw) => match raw.parse::<RateStatus>() {
                Ok(s) => Some(s),
                Err(()) => {
                    c.reject(
                        Some("status"),
                        "ukjent_status",
                        format!("'{raw}' is not a status; use vedtatt, forslag or eksempel"),
                    );
                    None
                }
            },
        };
        let kilde = row.cell(ix[4]).raw().trim().to_string();
        if status == Some(RateStatus::Vedtatt) && kilde.is_empty() {
            c.reject(
                Some("kilde"),
                "mangler_kilde",
                "a 'vedtatt' rate needs its source in 'kilde' (rundskriv, Prop. 1 S, URL)".into(),
            );
        }
        let origin = format!("{name}:{}", c.line);
        if let (Some(ar), Some(kode), Some(belop), Some(status)) = (ar, kode, belop, status) {
            if !c.is_rejected() {
                let rate = Rate {
                    ar,
                    kode,
                    belop,
                    status,
                    kilde,
                    origin,
                };
                if let Err(first) = table.insert(rate) {
                    c.reject(
                        Some("kode"),
                        "duplikat_sats",
                        format!(
                            "a rate for ({ar}, {kode}) is already given at {}; remove one of them",
                            first.origin
                        ),
                    );
                }
            }
        }
        count(&mut stats, c.is_rejected(), c.has_warning(), false);
        c.finish(avvik);
    })?;
    out.stats.push(stats);
    out.files.push(file);
    Ok(())
}
