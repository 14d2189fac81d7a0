//! Ledger files (`--paid`, SPEC T-2): the columns of `utbetalt.csv` — `termin`, `kommunenummer`, `fnr`,
//! `kode`, `ar`, `belop`. A negative `belop` is a deduction (trekk) and is valid.
//!
//! [`load`] holds every line; [`stream`] sends one file's lines to the engine during the run instead,
//! so that a chained run's memory does not grow with the ledger.
//!
//! [`dedupe_ledger`]: crate::domain::engine::dedupe_ledger

use crate::domain::avvik::Avvik;
use crate::domain::engine::{repeated_payment, LedgerConflict};
use crate::domain::ledger::{LedgerBatch, LedgerLine, LineKey, Origin};
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
        let mut read = read_one(p, opts, Vec::with_capacity, |lines, l| lines.extend(l))?;
        if out.data.is_empty() {
            out.data = std::mem::take(&mut read.lines);
        } else {
            out.data.append(&mut read.lines);
        }
        read.add_to(&mut out);
    }
    Ok(out)
}

/// What [`stream`] found reading a ledger file.
pub struct Streamed {
    /// Every line in T-4 order ((key, termin), the order `termin` writes `utbetalt.csv` in). When not, the
    /// run was stopped at the first line out of that order, and the file must be held instead.
    pub in_order: bool,
    /// Lines sent (repeats are not sent).
    pub lines: u64,
    /// The repeats' warnings (`dobbel_reskontrolinje`), in file order, or the first repeat with another
    /// amount — what [`dedupe_ledger`] gives for the same lines (in T-4 order a repeat is next to the line
    /// it repeats).
    pub repeats: Result<Vec<Avvik>, Box<LedgerConflict>>,
}

/// Lines handed on at a time by [`stream`] (tests cut the ledger smaller).
pub const STREAM_BATCH: usize = 1 << 16;

/// The state of [`stream`]'s walk through the lines.
struct Walk {
    /// Where the lines go; `None` once the run has been told to stop (nothing more is sent).
    tx: Option<SyncSender<LedgerBatch>>,
    batch: Vec<LedgerLine>,
    size: usize,
    /// The last line sent when `batch` is empty (the first line of the payment last seen).
    sent: Option<LedgerLine>,
    in_order: bool,
    lines: u64,
    repeats: Result<Vec<Avvik>, Box<LedgerConflict>>,
}

impl Walk {
    fn new(tx: Option<SyncSender<LedgerBatch>>, size: usize) -> Walk {
        let size = size.max(1);
        Walk {
            tx,
            batch: Vec::with_capacity(size),
            size,
            sent: None,
            in_order: true,
            lines: 0,
            repeats: Ok(Vec::new()),
        }
    }

    /// The next row: its line, or `None` for a rejected row (the run is refused: stopped now).
    fn add(&mut self, l: Option<LedgerLine>) {
        if self.tx.is_none() {
            return;
        }
        let Some(l) = l else {
            return self.stop();
        };
        let before = self.batch.last().or(self.sent.as_ref());
        match before.map(|b| (l.payment().cmp(&b.payment()), b)) {
            None | Some((std::cmp::Ordering::Greater, _)) => {
                self.lines += 1;
                self.batch.push(l);
                if self.batch.len() == self.size {
                    self.flush();
                }
            }
            Some((std::cmp::Ordering::Equal, first)) => match repeated_payment(first, &l) {
                Ok(a) => {
                    if let Ok(avvik) = &mut self.repeats {
                        avvik.push(a);
                    }
                }
                // Another amount stops the run; later repeats are not looked at.
                Err(e) => {
                    self.repeats = Err(e);
                    self.stop();
                }
            },
            Some((std::cmp::Ordering::Less, _)) => {
                self.in_order = false;
                self.stop();
            }
        }
    }

    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        self.sent = self.batch.last().cloned();
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(self.size));
        if let Some(tx) = &self.tx {
            // A closed receiver: the run stopped; its own error is reported. The file is read on, for
            // its checks and counts.
            let _ = tx.send(LedgerBatch::Lines(batch));
        }
    }

    /// Tells the run to stop, and sends nothing more.
    fn stop(&mut self) {
        self.batch.clear();
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(LedgerBatch::Stop);
        }
    }
}

/// Reads one ledger file once, while the termin runs: each row checked as [`load`] checks it (the same
/// avvik and counts), and the accepted lines sent to the engine's
/// [`LedgerFeed`](crate::domain::ledger::LedgerFeed) in batches of `batch` lines, without holding them:
/// a chained run's memory does not grow with the ledger, which grows every termin (issue 6). This needs the
/// lines in T-4 order, the order `termin` writes `utbetalt.csv` in; that order puts a repeat of a payment
/// next to the line it repeats, so repeats are dropped here (and reported, as [`dedupe_ledger`] reports
/// them). At the first line out of that order, rejected row or repeat with another amount, the run is told
/// to stop ([`LedgerBatch::Stop`]) and the file is read on to its end for the checks. A file out of order,
/// or not UTF-8 (read again from its start as Windows-1252: the run is told to stop then), cannot be
/// streamed: the caller must hold it instead ([`Streamed::in_order`], [`InputFile::utf8`]).
///
/// The sends block while the engine is behind; run it on a thread pool of its own, so that a blocked send
/// never holds a thread the engine needs.
pub fn stream(
    path: &Path,
    opts: &LoadOptions,
    tx: SyncSender<LedgerBatch>,
    batch: usize,
) -> Result<Loaded<Streamed>, InputError> {
    // The walk is made again if the file has to be read again (Windows-1252): the run, which has taken
    // some lines already, is stopped instead.
    let walks = std::cell::Cell::new(0u32);
    let read = read_one(
        path,
        opts,
        |_| {
            walks.set(walks.get() + 1);
            let mut w = Walk::new(Some(tx.clone()), batch);
            if walks.get() > 1 {
                w.stop();
            }
            w
        },
        Walk::add,
    )?;
    let mut walk = read.lines;
    walk.flush();
    Ok(Loaded {
        data: Streamed {
            in_order: walk.in_order,
            lines: walk.lines,
            repeats: walk.repeats,
        },
        avvik: read.avvik,
        stats: vec![read.stats],
        files: vec![read.file],
    })
}

/// Opens a ledger file and checks its header has the columns, without reading its rows: a file that
/// cannot be read as a ledger at all stops the run before it starts. False: the file is already known
/// not to be UTF-8 (a header that made the whole file be scanned), so it cannot be streamed.
pub fn check_header(path: &Path) -> Result<bool, InputError> {
    let (t, file) = table::open_single(path, "utbetalt")?;
    t.resolve(&COLS)?;
    Ok(file.utf8)
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

/// Reads one ledger file: each row checked in parallel, and given to `add` in file order — its line, or
/// `None` for a rejected row (`init` gets the estimated row count). A Windows-1252 file is read again from
/// the start with a fresh `init`.
fn read_one<A: Send>(
    path: &Path,
    opts: &LoadOptions,
    init: impl Fn(usize) -> A,
    mut add: impl FnMut(&mut A, Option<LedgerLine>) + Send,
) -> Result<Read<A>, InputError> {
    let (t, mut file) = table::open_single(path, "utbetalt")?;
    let (ix, warning) = t.resolve(&COLS)?;
    let name = t.name.clone();
    let headers = t.headers.clone();
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
        |row| check_line(&name, &headers, &shared_name, row, &ix, opts, &lookup),
        |(stats, avvik, lines), r: Checked| {
            count(stats, r.rejected, r.warned, r.synthetic);
            // A rejected row stops the run, which names the first few: past REJECTED_KEPT rows their
            // avvik are counted (in `stats`), not kept — a wrong file (a later termin's ledger) has
            // every one of its millions of rows rejected.
            if !r.rejected || stats.rejected <= REJECTED_KEPT {
                avvik.extend(r.avvik);
            }
            if r.rejected {
                add(lines, None);
            } else if let Some(l) = r.line {
                add(lines, Some(l));
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

/// How many rejected rows of a ledger file keep their avvik (the rest are counted).
const REJECTED_KEPT: u64 = 100;

fn check_line(
    name: &str,
    headers: &[String],
    shared_name: &Arc<str>,
    row: &Row,
    ix: &[Option<usize>],
    opts: &LoadOptions,
    lookup: &KnrLookup,
) -> Checked {
    let mut c = RowCheck::start(name, headers, row, &[]);
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
    // T-4: the ledger read in holds what was paid in earlier termins. A line of this termin or a later
    // one means the wrong file (a later termin's ledger, or this termin's own output given again); netted,
    // it would silently take those payments off this termin's.
    if let (Some(t), Some(run)) = (termin, opts.ledger_before) {
        if t >= run {
            c.reject(
                Some("termin"),
                "termin_ikke_for",
                format!(
                    "this line was paid in termin {t}, not before termin {run} computed now: the ledger \
                     given (--paid) is that of {t} or later; give the utbetalt.csv written by the termin \
                     before {run}"
                ),
            );
        }
    }
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
