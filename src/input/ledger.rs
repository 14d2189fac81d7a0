//! Ledger files (`--paid`, SPEC T-2): the columns of `utbetalt.csv` — `termin`, `kommunenummer`, `fnr`,
//! `kode`, `ar`, `belop`. A negative `belop` is a deduction (trekk) and is valid.
//!
//! [`load`] holds every line; [`scan`] and [`stream`] read one file twice instead — checked first,
//! then streamed to the engine during the run — so that a chained run's memory does not grow with the
//! ledger.
//!
//! [`dedupe_ledger`]: crate::domain::engine::dedupe_ledger

use crate::domain::avvik::Avvik;
use crate::domain::engine::{repeated_payment, LedgerConflict};
use crate::domain::ledger::{LedgerLine, LineKey, LinesDigest, Origin};
use crate::domain::rates::RateCode;
use crate::domain::termin::Termin;
use crate::input::check::{count, KnrLookup, RowCheck};
use crate::input::table::{self, req, Col, Row};
use crate::input::{FileStats, InputError, InputFile, LoadOptions, Loaded};
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;
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
        let mut read = read_one(p, opts, Vec::with_capacity, |lines, l| lines.push(l))?;
        if out.data.is_empty() {
            out.data = std::mem::take(&mut read.lines);
        } else {
            out.data.append(&mut read.lines);
        }
        read.add_to(&mut out);
    }
    Ok(out)
}

/// What the first pass over a ledger file found ([`scan`]).
pub struct LedgerScan {
    /// Every line in T-4 order ((key, termin), the order `termin` writes `utbetalt.csv` in), so the file
    /// can be streamed to the engine ([`stream`]) instead of held.
    pub in_order: bool,
    /// Lines read less the repeats dropped, and their digest (meaningful when `in_order`).
    pub lines: u64,
    pub digest: u64,
    /// When `in_order`: the repeats' warnings (`dobbel_reskontrolinje`), in file order, or the first repeat
    /// with another amount — what [`dedupe_ledger`] gives for the same lines.
    pub repeats: Result<Vec<Avvik>, Box<LedgerConflict>>,
}

/// The state of [`scan`]'s walk through the lines.
struct Walk {
    /// The first line of the payment (termin and key) last seen; `None` once a line is out of order.
    first: Option<LedgerLine>,
    in_order: bool,
    lines: u64,
    digest: LinesDigest,
    repeats: Result<Vec<Avvik>, Box<LedgerConflict>>,
}

/// The first pass over one ledger file: each row checked as [`load`] checks it (the same avvik and counts),
/// and whether the lines are in T-4 order, with their repeats (which that order puts side by side), without
/// holding a line. A file in that order is then read again while the termin runs ([`stream`]): a chained
/// run's memory does not grow with the ledger, which grows every termin (issue 6).
pub fn scan(path: &Path, opts: &LoadOptions) -> Result<Loaded<LedgerScan>, InputError> {
    let read = read_one(
        path,
        opts,
        |_| Walk {
            first: None,
            in_order: true,
            lines: 0,
            digest: LinesDigest::default(),
            repeats: Ok(Vec::new()),
        },
        |w, l| {
            if !w.in_order {
                return;
            }
            w.lines += 1;
            let Some(first) = &w.first else {
                w.digest.add(&l);
                w.first = Some(l);
                return;
            };
            match l.payment().cmp(&first.payment()) {
                std::cmp::Ordering::Greater => {
                    w.digest.add(&l);
                    w.first = Some(l);
                }
                std::cmp::Ordering::Equal => {
                    w.lines -= 1;
                    // The first repeat with another amount stops the run; later ones are not looked at.
                    if let Ok(avvik) = &mut w.repeats {
                        match repeated_payment(first, &l) {
                            Ok(a) => avvik.push(a),
                            Err(e) => w.repeats = Err(e),
                        }
                    }
                }
                std::cmp::Ordering::Less => {
                    w.in_order = false;
                    w.first = None;
                }
            }
        },
    )?;
    Ok(Loaded {
        data: LedgerScan {
            in_order: read.lines.in_order,
            lines: read.lines.lines,
            digest: read.lines.digest.value(),
            repeats: read.lines.repeats,
        },
        avvik: read.avvik,
        stats: vec![read.stats],
        files: vec![read.file],
    })
}

/// Lines handed on at a time by [`stream`].
pub const STREAM_BATCH: usize = 1 << 16;

/// The second pass over a ledger file found in T-4 order by [`scan`]: its lines, in batches of
/// [`STREAM_BATCH`], sent to the engine's [`LedgerFeed`](crate::domain::ledger::LedgerFeed) while the
/// termin runs (avvik and counts are the first pass's). Returns the file as read now: its checksum must be
/// the first pass's. The sends block while the engine is behind; run it on a thread pool of its own, so
/// that a blocked send never holds a thread the engine needs. Stops sending (and reads on) once the
/// receiver is gone.
pub fn stream(
    path: &Path,
    opts: &LoadOptions,
    tx: SyncSender<Vec<LedgerLine>>,
) -> Result<InputFile, InputError> {
    let sender = tx.clone();
    let read = read_one(
        path,
        opts,
        |_| Vec::with_capacity(STREAM_BATCH),
        move |batch, l| {
            batch.push(l);
            if batch.len() == STREAM_BATCH {
                // A closed receiver: the run stopped; its own error is reported.
                let _ = sender.send(std::mem::replace(batch, Vec::with_capacity(STREAM_BATCH)));
            }
        },
    )?;
    if !read.lines.is_empty() {
        let _ = tx.send(read.lines);
    }
    Ok(read.file)
}

/// One ledger file read: its lines as `add` gathered them, and what the reader says of it.
struct Read<A> {
    lines: A,
    avvik: Vec<Avvik>,
    stats: FileStats,
    file: InputFile,
}

impl<A> Read<A> {
    fn add_to<T>(self, out: &mut Loaded<T>) {
        out.avvik.extend(self.avvik);
        out.stats.push(self.stats);
        out.files.push(self.file);
    }
}

/// Reads one ledger file: each row checked in parallel, the accepted lines given to `add` in file order
/// (`init` gets the estimated row count). A Windows-1252 file is read again from the start with a fresh
/// `init`.
fn read_one<A: Send>(
    path: &Path,
    opts: &LoadOptions,
    init: impl Fn(usize) -> A,
    mut add: impl FnMut(&mut A, LedgerLine) + Send,
) -> Result<Read<A>, InputError> {
    let (t, mut file) = table::open_single(path, "utbetalt")?;
    let (ix, warning) = t.resolve(&COLS)?;
    let name = t.name.clone();
    // One copy of the name for all the lines' origins.
    let shared_name: Arc<str> = name.as_str().into();
    // Rows are checked in parallel; the results arrive in file order.
    let hint = t.row_hint;
    let lookup = KnrLookup::new(opts.kommuner);
    let (_, (stats, mut avvik, lines)) = t.par_rows(
        &mut file,
        || {
            let stats = FileStats {
                file: name.clone(),
                ..FileStats::default()
            };
            (stats, Vec::<Avvik>::new(), init(hint))
        },
        |row| check_line(&name, &shared_name, row, &ix, opts, &lookup),
        |(stats, avvik, lines), r: Checked| {
            count(stats, r.rejected, r.warned, r.synthetic);
            avvik.extend(r.avvik);
            if let Some(l) = r.line {
                add(lines, l);
            }
        },
    )?;
    avvik.splice(0..0, warning);
    Ok(Read {
        lines,
        avvik,
        stats,
        file,
    })
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
