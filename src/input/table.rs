//! The table layer (SPEC §1.1): one interface over a CSV file and a sheet of a workbook.
//!
//! CSV: UTF-8 with or without BOM, or Windows-1252 when the bytes are not valid UTF-8; delimiter `;` or
//! `,` detected from the header line; RFC 4180 quoting. The file is read twice, both times streaming: a
//! first pass hashes it (SHA-256 for the manifest), checks whether it is valid UTF-8 and looks at the
//! header line; the second pass tokenizes it with a reused `csv::ByteRecord` (through a transcoding reader
//! for Windows-1252). Nothing holds the whole file in memory.
//!
//! Excel: a table is a sheet (calamine). Cells keep their type so that date cells and numeric cells are
//! accepted as dates and amounts. A sheet's line number is its row number (header row = 1 when the sheet
//! starts in A1).

use crate::domain::avvik::Avvik;
use crate::domain::fold_name;
use crate::input::chunks::{self, LineCount};
use crate::input::{InputError, InputFile};
use calamine::{Data, Range, Reader, Sheets};
use chrono::NaiveDate;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// A record longer than this is refused: a CSV table of this project never has one, and a file that does is
/// not a table (or has an unclosed quote that swallowed the rest of the file).
pub const MAX_RECORD_BYTES: usize = 1 << 20;

const CHUNK: usize = 256 * 1024;

/// One cell as the rules see it: text from CSV (and text cells), or a typed Excel value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell<'a> {
    Empty,
    Text(&'a str),
    Int(i64),
    Float(f64),
    Date(NaiveDate),
    Bool(bool),
}

/// Trims white space; the common case (no space at either end, ASCII) costs two byte comparisons.
#[inline]
pub(crate) fn trim_fast(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&f), Some(&l)) if f > b' ' && f < 0x80 && l > b' ' && l < 0x80 => s,
        _ => s.trim(),
    }
}

/// A text cell: trimmed, and `Empty` when nothing is left (so `Text` is never blank).
#[inline]
fn text_cell(s: &str) -> Cell<'_> {
    let t = trim_fast(s);
    if t.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(t)
    }
}

impl<'a> Cell<'a> {
    /// Empty cell or only white space.
    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.is_empty(),
            _ => false,
        }
    }

    /// The value as text, for messages and for text columns (a numeric cell `301` is `"301"`).
    #[inline]
    pub fn raw(&self) -> Cow<'a, str> {
        // Text (every CSV cell) borrows, inline; the typed cells of a sheet are formatted.
        match *self {
            Cell::Text(s) => Cow::Borrowed(s),
            _ => self.raw_typed(),
        }
    }

    #[inline(never)]
    fn raw_typed(&self) -> Cow<'a, str> {
        match *self {
            Cell::Empty => Cow::Borrowed(""),
            Cell::Text(s) => Cow::Borrowed(s),
            Cell::Int(i) => Cow::Owned(i.to_string()),
            Cell::Float(f) => Cow::Owned(if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", f as i64)
            } else {
                format!("{f}")
            }),
            Cell::Date(d) => Cow::Owned(d.format("%Y-%m-%d").to_string()),
            Cell::Bool(b) => Cow::Borrowed(if b { "true" } else { "false" }),
        }
    }

    /// The value as a digit string of `width` digits: a numeric Excel cell loses leading zeros (`0301`
    /// becomes 301, a fødselsnummer starting with 0 loses it), so whole numbers are zero-padded back.
    #[inline]
    pub fn digits(&self, width: usize) -> Cow<'a, str> {
        match *self {
            Cell::Text(s) => Cow::Borrowed(s),
            Cell::Int(i) if i >= 0 => Cow::Owned(format!("{i:0width$}")),
            Cell::Float(f) if f >= 0.0 && f.fract() == 0.0 && f < 1e15 => {
                Cow::Owned(format!("{:0width$}", f as i64))
            }
            _ => self.raw(),
        }
    }
}

/// A column the loader wants.
#[derive(Clone, Copy, Debug)]
pub struct Col {
    pub name: &'static str,
    pub required: bool,
}

pub const fn req(name: &'static str) -> Col {
    Col {
        name,
        required: true,
    }
}

pub const fn opt(name: &'static str) -> Col {
    Col {
        name,
        required: false,
    }
}

/// One data row. `shape` is `Some((found, expected))` when a CSV record has a different number of fields
/// than the header (an unquoted delimiter inside a value, e.g. `1234,50` in a `,` file).
pub struct Row<'r> {
    pub line: u64,
    pub shape: Option<(usize, usize)>,
    data: RowData<'r>,
}

enum RowData<'r> {
    Csv(&'r csv::ByteRecord),
    /// The fields of a quote-free line (the parallel reader's fast path), already UTF-8.
    Fields(&'r [&'r str]),
    Sheet(&'r [Data]),
}

impl<'r> Row<'r> {
    pub(crate) fn from_fields(
        line: u64,
        shape: Option<(usize, usize)>,
        fields: &'r [&'r str],
    ) -> Self {
        Row {
            line,
            shape,
            data: RowData::Fields(fields),
        }
    }

    pub(crate) fn from_record(
        line: u64,
        shape: Option<(usize, usize)>,
        rec: &'r csv::ByteRecord,
    ) -> Self {
        Row {
            line,
            shape,
            data: RowData::Csv(rec),
        }
    }

    /// The fields of a CSV record that hold a line break (`\n` or `\r`, inside quotes), and how many
    /// lines of the file the record takes after its first. Empty for a line without quotes (the
    /// parallel reader's fast path) and for a sheet row.
    pub fn line_breaks(&self) -> (Vec<usize>, u64) {
        match self.data {
            RowData::Csv(rec) => {
                let with: Vec<usize> = (0..rec.len())
                    .filter(|&i| rec[i].iter().any(|&b| b == b'\n' || b == b'\r'))
                    .collect();
                let lines = if with.is_empty() {
                    0
                } else {
                    // `\n`, `\r\n` and a lone `\r` (old Mac line ends, read as such) each end a line.
                    let breaks: u64 = rec
                        .iter()
                        .map(|f| {
                            f.iter()
                                .enumerate()
                                .filter(|&(i, &b)| {
                                    b == b'\n' || (b == b'\r' && f.get(i + 1) != Some(&b'\n'))
                                })
                                .count() as u64
                        })
                        .sum();
                    // A quote left open to the end of the file takes the file's last line break too,
                    // which ends a line rather than starting one. (Off by one for a last value that is
                    // closed right after a line break of its own, `"a\n"`: said only in a message.)
                    let at_end = rec
                        .iter()
                        .next_back()
                        .is_some_and(|f| f.ends_with(b"\n") || f.ends_with(b"\r"));
                    breaks - u64::from(at_end)
                };
                (with, lines)
            }
            RowData::Fields(_) | RowData::Sheet(_) => (Vec::new(), 0),
        }
    }

    /// The cell of a resolved column (`None`: the column is not in the table → empty).
    #[inline]
    pub fn cell(&self, idx: Option<usize>) -> Cell<'r> {
        let Some(i) = idx else {
            return Cell::Empty;
        };
        // The fields of a quote-free CSV line (nearly every row of a large table) inline.
        match self.data {
            RowData::Fields(fields) => match fields.get(i) {
                None => Cell::Empty,
                Some(s) => text_cell(s),
            },
            _ => self.cell_other(i),
        }
    }

    #[inline(never)]
    fn cell_other(&self, i: usize) -> Cell<'r> {
        match self.data {
            RowData::Csv(rec) => match rec.get(i) {
                None => Cell::Empty,
                // The stream is valid UTF-8 (checked in the first pass or produced by the transcoder).
                Some(b) => match std::str::from_utf8(b) {
                    Ok(s) => text_cell(s),
                    Err(_) => Cell::Text("\u{FFFD}"),
                },
            },
            RowData::Fields(fields) => match fields.get(i) {
                None => Cell::Empty,
                Some(s) => text_cell(s),
            },
            RowData::Sheet(cells) => match cells.get(i) {
                None | Some(Data::Empty) => Cell::Empty,
                Some(Data::String(s)) | Some(Data::DateTimeIso(s)) | Some(Data::DurationIso(s)) => {
                    text_cell(s)
                }
                Some(Data::Int(i)) => Cell::Int(*i),
                Some(Data::Float(f)) => Cell::Float(*f),
                Some(Data::Bool(b)) => Cell::Bool(*b),
                Some(Data::DateTime(dt)) => match dt.as_datetime() {
                    Some(d) if dt.is_datetime() => Cell::Date(d.date()),
                    _ => Cell::Float(dt.as_f64()),
                },
                Some(Data::Error(_)) => Cell::Text("#ERROR"),
            },
        }
    }
}

enum Source {
    Csv(Box<CsvSource>),
    Sheet {
        range: Range<Data>,
        /// Absolute 0-based row of the header.
        header_row: u32,
    },
}

/// An open CSV file: what was learned when opening it, and where its data starts.
struct CsvSource {
    path: PathBuf,
    delimiter: u8,
    bom: bool,
    /// The whole-file facts (hash, encoding), once a full scan has been made (always for a file whose
    /// header is not plain ASCII or that has a BOM: its header depends on the encoding).
    scan: Option<Scan>,
    /// The header as `csv_core` left it, for the parallel reader; `None`: only the one-thread reader
    /// (a Windows-1252 file, or an unusual header).
    parallel: Option<ParallelStart>,
}

struct ParallelStart {
    /// The file, positioned after `head`.
    file: File,
    /// The first bytes of the file (at least the header record).
    head: Vec<u8>,
    /// Offset in `head` where the data after the header starts.
    data_start: usize,
    core: csv_core::Reader,
    lines: LineCount,
}

/// Test and benchmark settings of the CSV reader (per thread; see [`with_read_settings`]).
#[derive(Clone, Copy, Debug)]
pub struct ReadSettings {
    /// Bytes per read block and per batch of the parallel reader.
    pub chunk_bytes: usize,
    /// Read every CSV table with the one-thread reader (the reference the parallel reader must match).
    pub sequential: bool,
}

impl Default for ReadSettings {
    fn default() -> Self {
        ReadSettings {
            chunk_bytes: 1 << 20,
            sequential: false,
        }
    }
}

thread_local! {
    static SETTINGS: std::cell::Cell<ReadSettings> = std::cell::Cell::new(ReadSettings::default());
}

/// The reader settings of this thread (to carry them to another thread with [`with_read_settings`]).
pub(crate) fn read_settings() -> ReadSettings {
    SETTINGS.with(|c| c.get())
}

/// Runs `f` with other reader settings on this thread (tests: a small chunk size, or the one-thread
/// reference); the previous settings are restored afterwards.
#[doc(hidden)]
pub fn with_read_settings<R>(settings: ReadSettings, f: impl FnOnce() -> R) -> R {
    let old = SETTINGS.with(|c| c.replace(settings));
    let r = f();
    SETTINGS.with(|c| c.set(old));
    r
}

/// An open table: its display name, its header and a way to read its rows once.
pub struct Table {
    /// `dsf/personer.csv` or `dsf.xlsx[personer]`.
    pub name: String,
    /// Header names as written (trimmed).
    pub headers: Vec<String>,
    /// An estimate of the number of data rows (from the first MB of a CSV file, or the sheet height),
    /// for reserving memory up front.
    pub row_hint: usize,
    source: Source,
}

impl Table {
    /// Finds the wanted columns (SPEC §1.1: case-insensitive, trimmed, æøå as ae/o/a). A missing required
    /// column is fatal; unknown columns give ONE warning (`ukjent_kolonne`) naming them all.
    pub fn resolve(&self, cols: &[Col]) -> Result<(Vec<Option<usize>>, Option<Avvik>), InputError> {
        match self.resolve_header(cols) {
            Ok(r) => Ok(r),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// A fatal error found before the whole file was scanned: a file that is not a table at all (NUL
    /// bytes) is reported as such first, as when the scan came before everything else.
    fn fail(&self, e: InputError) -> InputError {
        match &self.source {
            Source::Csv(src) if src.scan.is_none() => match scan_csv(&src.path) {
                Err(scan_error) => scan_error,
                Ok(_) => e,
            },
            _ => e,
        }
    }

    fn resolve_header(
        &self,
        cols: &[Col],
    ) -> Result<(Vec<Option<usize>>, Option<Avvik>), InputError> {
        let folded: Vec<String> = self.headers.iter().map(|h| fold_name(h)).collect();
        for (i, f) in folded.iter().enumerate() {
            if !f.is_empty() && folded[..i].contains(f) {
                return Err(InputError::Format {
                    file: self.name.clone(),
                    message: format!(
                        "column '{}' appears twice in the header; remove one of them",
                        self.headers[i]
                    ),
                });
            }
        }
        let mut idx = Vec::with_capacity(cols.len());
        for c in cols {
            let pos = folded.iter().position(|f| f == c.name);
            if pos.is_none() && c.required {
                return Err(InputError::MissingColumn {
                    file: self.name.clone(),
                    column: c.name.to_string(),
                    found: self.headers.join(", "),
                });
            }
            idx.push(pos);
        }
        let unknown: Vec<&str> = self
            .headers
            .iter()
            .zip(&folded)
            .filter(|(_, f)| !f.is_empty() && !cols.iter().any(|c| c.name == f.as_str()))
            .map(|(h, _)| h.as_str())
            .collect();
        let warning = (!unknown.is_empty()).then(|| {
            Avvik::warning(
                &self.name,
                Some(1),
                None,
                "ukjent_kolonne",
                format!(
                    "unknown column(s) ignored: {}; known columns are {}",
                    unknown.join(", "),
                    cols.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
                ),
            )
        });
        Ok((idx, warning))
    }

    /// Calls `f` for every data row, in order, on this thread. Returns the number of data rows and adds it
    /// to `file.rows`; fills `file.sha256`. For small tables; large ones use [`Table::par_rows`].
    pub fn for_each_row(
        mut self,
        file: &mut InputFile,
        mut f: impl FnMut(&Row),
    ) -> Result<u64, InputError> {
        let n = self.rows_sequential(file, &mut f)?;
        file.rows += n;
        Ok(n)
    }

    /// Checks every data row with `map` — in parallel for a CSV file — and hands the results to `sink`
    /// in file order, with an accumulator made by `init`. The result is exactly that of calling `map`
    /// then `sink` row by row on one thread (the accumulator is made afresh if the file has to be read
    /// again, as a Windows-1252 file found not to be UTF-8 is). Returns the rows read and the accumulator;
    /// adds the rows to `file.rows` and fills `file.sha256`.
    pub fn par_rows<T: Send, A: Send>(
        mut self,
        file: &mut InputFile,
        init: impl Fn() -> A,
        map: impl Fn(&Row) -> T + Sync,
        mut sink: impl FnMut(&mut A, T) + Send,
    ) -> Result<(u64, A), InputError> {
        let settings = SETTINGS.with(|c| c.get());
        let width = self.headers.len();
        if let Source::Csv(src) = &mut self.source {
            let go_parallel = !settings.sequential
                && src.parallel.is_some()
                && src.scan.as_ref().is_none_or(|s| s.utf8);
            if go_parallel {
                if let Some(start) = src.parallel.take() {
                    let plan = chunks::Plan {
                        name: &self.name,
                        delimiter: src.delimiter,
                        width,
                        chunk: settings.chunk_bytes.max(1),
                        window: 4 * rayon::current_num_threads().max(1),
                    };
                    let check = src.scan.is_none();
                    let out = chunks::read_parallel(
                        &plan,
                        chunks::Start {
                            file: start.file,
                            head: start.head,
                            data_start: start.data_start,
                            core: start.core,
                            lines: start.lines,
                            check,
                        },
                        init(),
                        &map,
                        &mut sink,
                    );
                    if check {
                        if out.scanned.nul {
                            return Err(nul_error(&src.path));
                        }
                        src.scan = Some(Scan {
                            utf8: out.scanned.utf8,
                            sha256: out.scanned.sha256,
                            newlines: 0,
                            bom: src.bom,
                            delimiter: src.delimiter,
                        });
                    }
                    let utf8 = src.scan.as_ref().is_none_or(|s| s.utf8);
                    file.utf8 = utf8;
                    if utf8 {
                        let (n, acc) = out.result?;
                        file.rows += n;
                        file.sha256 = src
                            .scan
                            .as_ref()
                            .map(|s| s.sha256.clone())
                            .unwrap_or_default();
                        return Ok((n, acc));
                    }
                    // Not UTF-8 after all: read it again, as Windows-1252, on one thread.
                }
            }
        }
        let mut acc = init();
        let n = self.rows_sequential(file, &mut |row: &Row| {
            let t = map(row);
            sink(&mut acc, t);
        })?;
        file.rows += n;
        Ok((n, acc))
    }

    /// The one-thread reader: the reference for the parallel one, and the reader of small tables,
    /// Windows-1252 files and sheets.
    fn rows_sequential(
        &mut self,
        file: &mut InputFile,
        f: &mut dyn FnMut(&Row),
    ) -> Result<u64, InputError> {
        let width = self.headers.len();
        let mut n = 0u64;
        match &mut self.source {
            Source::Csv(src) => {
                let scan = src.ensure_scan()?.clone();
                file.sha256 = scan.sha256.clone();
                file.utf8 = scan.utf8;
                let (mut reader, lines) = sequential_reader(&src.path, &scan)?;
                let mut rec = csv::ByteRecord::new();
                // The header (read and checked when the file was opened).
                reader
                    .read_byte_record(&mut rec)
                    .map_err(|e| csv_error(&self.name, e))?;
                loop {
                    let more = reader
                        .read_byte_record(&mut rec)
                        .map_err(|e| csv_error(&self.name, e))?;
                    if !more {
                        break;
                    }
                    let start = rec.position().map(|p| p.byte()).unwrap_or(0);
                    let line = lines.borrow_mut().line_at(start);
                    if rec.as_slice().len() > MAX_RECORD_BYTES {
                        return Err(huge(&self.name, line, rec.as_slice().len()));
                    }
                    // A blank line inside the data is not a row.
                    if rec.len() == 1 && rec[0].iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    n += 1;
                    let shape = (rec.len() != width).then_some((rec.len(), width));
                    f(&Row {
                        line,
                        shape,
                        data: RowData::Csv(&rec),
                    });
                }
            }
            Source::Sheet { range, header_row } => {
                for (i, cells) in range.rows().enumerate().skip(1) {
                    if cells.iter().all(|c| match c {
                        Data::Empty => true,
                        Data::String(s) => s.trim().is_empty(),
                        _ => false,
                    }) {
                        continue;
                    }
                    n += 1;
                    f(&Row {
                        line: u64::from(*header_row) + i as u64 + 1,
                        shape: None,
                        data: RowData::Sheet(cells),
                    });
                }
            }
        }
        Ok(n)
    }
}

impl CsvSource {
    /// The whole-file scan (errors for files that are not tables; hash; encoding), made once.
    fn ensure_scan(&mut self) -> Result<&Scan, InputError> {
        if self.scan.is_none() {
            self.scan = Some(scan_csv(&self.path)?);
        }
        self.scan
            .as_ref()
            .ok_or_else(|| fmt_err(&self.path, "the file was not scanned"))
    }
}

/// A csv reader over a file's text and the line index fed by it.
type SequentialReader = (csv::Reader<Box<dyn Read>>, Rc<RefCell<LineIndex>>);

/// The one-thread reader of a scanned file, positioned at its start (the header is its first record).
fn sequential_reader(path: &Path, scan: &Scan) -> Result<SequentialReader, InputError> {
    let mut file = BufReader::with_capacity(CHUNK, File::open(path).map_err(|e| io_err(path, e))?);
    let stream: Box<dyn Read> = if scan.utf8 {
        if scan.bom {
            let mut bom = [0u8; 3];
            file.read_exact(&mut bom).map_err(|e| io_err(path, e))?;
        }
        Box::new(file)
    } else {
        Box::new(Win1252Reader {
            inner: file,
            decoder: encoding_rs::WINDOWS_1252.new_decoder_without_bom_handling(),
            inbuf: vec![0u8; CHUNK],
            out: Vec::new(),
            pos: 0,
            done: false,
        })
    };
    let lines = Rc::new(RefCell::new(LineIndex::default()));
    let stream: Box<dyn Read> = Box::new(Tap {
        inner: stream,
        lines: Rc::clone(&lines),
    });
    let reader = csv::ReaderBuilder::new()
        .delimiter(scan.delimiter)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(CHUNK)
        .from_reader(stream);
    Ok((reader, lines))
}

fn nul_error(path: &Path) -> InputError {
    fmt_err(
        path,
        "the file contains NUL bytes: it is binary (or UTF-16 without BOM), not a CSV table",
    )
}

pub(crate) fn huge(file: &str, line: u64, len: usize) -> InputError {
    InputError::Format {
        file: file.to_string(),
        message: format!(
            "line {line}: a record of {len} bytes is longer than the limit of {MAX_RECORD_BYTES} bytes; \
             this is not a table of this tool (or a quote is never closed)"
        ),
    }
}

fn csv_error(file: &str, e: csv::Error) -> InputError {
    let at = e
        .position()
        .map(|p| format!("line {}: ", p.line()))
        .unwrap_or_default();
    match e.into_kind() {
        csv::ErrorKind::Io(source) => InputError::Io {
            path: file.to_string(),
            source,
        },
        other => InputError::Format {
            file: file.to_string(),
            message: format!("{at}cannot read the CSV: {other:?}"),
        },
    }
}

/// Is this path a workbook (by its extension)?
pub fn is_workbook(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| {
            matches!(
                e.to_ascii_lowercase().as_str(),
                "xlsx" | "xlsm" | "xlsb" | "xls" | "ods"
            )
        })
        .unwrap_or(false)
}

/// Is this path a CSV file (by its extension)?
pub fn is_csv(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

pub fn display(path: &Path) -> String {
    path.display().to_string()
}

fn io_err(path: &Path, source: std::io::Error) -> InputError {
    InputError::Io {
        path: display(path),
        source,
    }
}

fn fmt_err(path: &Path, message: impl Into<String>) -> InputError {
    InputError::Format {
        file: display(path),
        message: message.into(),
    }
}

/// What a full pass over a CSV file learned.
#[derive(Clone)]
struct Scan {
    newlines: usize,
    utf8: bool,
    bom: bool,
    delimiter: u8,
    sha256: String,
}

/// First pass: UTF-8 validity (streaming, a sequence may straddle two chunks), and a look at the
/// start of the file (empty, UTF-16, a workbook, NUL bytes, the header line's delimiter).
fn scan_csv(path: &Path) -> Result<Scan, InputError> {
    let mut file = File::open(path).map_err(|e| io_err(path, e))?;
    let mut buf = vec![0u8; CHUNK + 4];
    let mut carry = 0usize;
    let mut utf8 = true;
    let mut total = 0u64;
    let mut head: Vec<u8> = Vec::new();
    let mut nul = false;
    let mut newlines = 0usize;
    let mut hasher = Sha256::new();
    loop {
        let n = file.read(&mut buf[carry..]).map_err(|e| io_err(path, e))?;
        if n == 0 {
            break;
        }
        let chunk = &buf[carry..carry + n];
        hasher.update(chunk);
        if head.len() < 64 * 1024 {
            let take = (64 * 1024 - head.len()).min(n);
            head.extend_from_slice(&chunk[..take]);
        }
        if !nul && memchr_nul(chunk) {
            nul = true;
        }
        newlines += chunk.iter().filter(|b| **b == b'\n').count();
        total += n as u64;
        let len = carry + n;
        if utf8 {
            match std::str::from_utf8(&buf[..len]) {
                Ok(_) => carry = 0,
                Err(e) if e.error_len().is_none() => {
                    let v = e.valid_up_to();
                    buf.copy_within(v..len, 0);
                    carry = len - v;
                }
                Err(_) => {
                    utf8 = false;
                    carry = 0;
                }
            }
        }
    }
    if carry > 0 {
        utf8 = false; // a truncated multi-byte sequence at the very end
    }
    if total == 0 {
        return Err(fmt_err(
            path,
            "the file is empty: a table needs at least a header line",
        ));
    }
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Err(fmt_err(
            path,
            "the file is UTF-16; save it as CSV UTF-8 (or Windows-1252) and try again",
        ));
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(fmt_err(
            path,
            "this is an Excel workbook, not a CSV file; give it the extension .xlsx",
        ));
    }
    if nul {
        return Err(fmt_err(
            path,
            "the file contains NUL bytes: it is binary (or UTF-16 without BOM), not a CSV table",
        ));
    }
    let bom = head.starts_with(&[0xEF, 0xBB, 0xBF]);
    let header = if bom { &head[3..] } else { &head[..] };
    let delimiter = detect_delimiter(header);
    Ok(Scan {
        newlines,
        utf8,
        bom,
        delimiter,
        sha256: hex::encode(hasher.finalize()),
    })
}

fn memchr_nul(b: &[u8]) -> bool {
    b.contains(&0)
}

/// SPEC §1.1: `;` or `,`, whichever occurs more often outside quotes in the header line (`;` on a tie,
/// the Norwegian Excel default; a one-column header has neither and the choice does not matter).
pub fn detect_delimiter(head: &[u8]) -> u8 {
    let (mut semi, mut comma, mut quoted) = (0usize, 0usize, false);
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            b';' if !quoted => semi += 1,
            b',' if !quoted => comma += 1,
            _ => {}
        }
    }
    if comma > semi {
        b','
    } else {
        b';'
    }
}

/// Line numbers of CSV records. The csv crate's own line count is off after CRLF line ends and blank
/// lines (a record's start byte points at the `\n` of the previous CRLF or at skipped blank lines), so we
/// count ourselves: [`Tap`] keeps the recently read bytes, and `line_at` walks forward (queries come in
/// increasing order) counting `\n`, then skips the leading line terminators of the record. Work is linear in
/// the file size; memory is bounded by the csv reader's read-ahead plus one record.
#[derive(Default)]
struct LineIndex {
    chunks: VecDeque<(u64, Vec<u8>)>,
    /// Absolute offset of the end of the bytes read so far.
    end: u64,
    /// Offset scanned up to, and the number of line ends before it.
    pos: u64,
    newlines: u64,
    /// Whether the last byte scanned was `\r` (a following `\n` then ends the same line).
    prev_cr: bool,
}

impl LineIndex {
    fn push(&mut self, b: &[u8]) {
        if !b.is_empty() {
            self.chunks.push_back((self.end, b.to_vec()));
            self.end += b.len() as u64;
        }
    }

    /// The byte at absolute offset `at`, if still held.
    fn byte(&self, at: u64) -> Option<u8> {
        let (off, data) = self
            .chunks
            .iter()
            .find(|(off, d)| *off <= at && at < off + d.len() as u64)?;
        data.get((at - off) as usize).copied()
    }

    /// Counts the line ends in `s`, which follows the bytes scanned so far: `\n`, `\r\n` and a lone `\r`
    /// each end a line, as they end a record for the csv crate. Counting only `\n` gave every record of a
    /// file with (old Mac) `\r` line ends line 1, and the loaders, which key problems by line, then
    /// miscounted and dropped rows (found by fuzzing, issue 7).
    fn scan(&mut self, s: &[u8]) {
        let Some(&last) = s.last() else {
            return;
        };
        let lf = s.iter().filter(|b| **b == b'\n').count();
        let cr = s.iter().filter(|b| **b == b'\r').count();
        let mut crlf = s.windows(2).filter(|w| w == b"\r\n").count();
        if self.prev_cr && s[0] == b'\n' {
            crlf += 1;
        }
        self.newlines += (lf + cr - crlf) as u64;
        self.prev_cr = last == b'\r';
    }

    /// 1-based line of the first content byte of a record starting at `start`.
    fn line_at(&mut self, start: u64) -> u64 {
        // Drop chunks wholly before the scan position.
        while let Some((off, d)) = self.chunks.front() {
            if off + d.len() as u64 <= self.pos.min(start) {
                self.chunks.pop_front();
            } else {
                break;
            }
        }
        let chunks = std::mem::take(&mut self.chunks);
        for (off, d) in &chunks {
            let lo = self.pos.max(*off);
            let hi = start.min(off + d.len() as u64);
            if lo < hi {
                self.scan(&d[(lo - off) as usize..(hi - off) as usize]);
            }
        }
        self.chunks = chunks;
        self.pos = self.pos.max(start);
        while let Some(b) = self.byte(self.pos) {
            if b != b'\n' && b != b'\r' {
                break;
            }
            self.scan(&[b]);
            self.pos += 1;
        }
        self.newlines + 1
    }
}

/// Passes bytes through and records them in the [`LineIndex`].
struct Tap<R> {
    inner: R,
    lines: Rc<RefCell<LineIndex>>,
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.lines.borrow_mut().push(&buf[..n]);
        Ok(n)
    }
}

/// Decodes Windows-1252 to UTF-8 on the fly, chunk by chunk.
struct Win1252Reader<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    done: bool,
}

impl<R: Read> Read for Win1252Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.out.len() {
            if self.done {
                return Ok(0);
            }
            let n = self.inner.read(&mut self.inbuf)?;
            let last = n == 0;
            self.out.clear();
            let cap = self
                .decoder
                .max_utf8_buffer_length_without_replacement(n)
                .unwrap_or(n * 3 + 16);
            self.out.resize(cap, 0);
            let (_, _, written, _) =
                self.decoder
                    .decode_to_utf8(&self.inbuf[..n], &mut self.out, last);
            self.out.truncate(written);
            self.pos = 0;
            self.done = last;
        }
        let k = (self.out.len() - self.pos).min(buf.len());
        buf[..k].copy_from_slice(&self.out[self.pos..self.pos + k]);
        self.pos += k;
        Ok(k)
    }
}

/// Bytes read when a CSV file is opened (at most): its header must fit (else the one-thread reader takes
/// the file).
const HEAD: usize = 1 << 20;

/// Opens a CSV table: looks at its first MB (not a CSV file at all? delimiter, header). The rows are read
/// by [`Table::par_rows`] (or [`Table::for_each_row`]), which also hash the file and check its encoding.
/// A file whose header is not plain ASCII or that starts with a BOM is scanned whole first, since its
/// header reads differently as Windows-1252.
pub fn open_csv(path: &Path) -> Result<(Table, InputFile), InputError> {
    let name = display(path);
    let mut file = File::open(path).map_err(|e| io_err(path, e))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    // (Tests set a small chunk size: then the head is small too, and the data is read in many batches.)
    let head_len = SETTINGS.with(|c| c.get()).chunk_bytes.clamp(4096, HEAD);
    let mut head = vec![0u8; head_len];
    let n = chunks::read_full(&mut file, &mut head).map_err(|e| io_err(path, e))?;
    head.truncate(n);
    let head_is_all = n < head_len;
    // The checks of the full scan that look at the start of the file, in the same order.
    if head.is_empty() {
        return Err(fmt_err(
            path,
            "the file is empty: a table needs at least a header line",
        ));
    }
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Err(fmt_err(
            path,
            "the file is UTF-16; save it as CSV UTF-8 (or Windows-1252) and try again",
        ));
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(fmt_err(
            path,
            "this is an Excel workbook, not a CSV file; give it the extension .xlsx",
        ));
    }
    if memchr_nul(&head) {
        return Err(nul_error(path));
    }
    let bom = head.starts_with(&[0xEF, 0xBB, 0xBF]);
    let sniff = &head[..head.len().min(64 * 1024)];
    let delimiter = detect_delimiter(if bom { &sniff[3..] } else { sniff });
    let body_at = if bom { 3 } else { 0 };
    let parsed = parse_header(&head[body_at..], head_is_all, delimiter);
    let header_ok = |h: &ParsedHeader| {
        h.content_len <= MAX_RECORD_BYTES && h.fields.iter().any(|f| !f.trim_ascii().is_empty())
    };
    let simple = parsed
        .as_ref()
        .is_some_and(|h| !bom && header_ok(h) && head[..h.consumed].is_ascii());
    let scan = if simple { None } else { Some(scan_csv(path)?) };
    let newlines = head.iter().filter(|b| **b == b'\n').count();
    let row_hint = if head_is_all {
        newlines
    } else {
        // An estimate from the first MB; generous, since capacity never touched costs no memory, but
        // never more than a row per 24 bytes (a head of blank lines must not reserve gigabytes).
        let estimate = newlines as u64 * len / head.len().max(1) as u64 * 5 / 4;
        estimate.min(len / 24) as usize + 16
    };
    let file_entry = InputFile {
        path: display(path),
        sha256: scan.as_ref().map(|s| s.sha256.clone()).unwrap_or_default(),
        rows: 0,
        utf8: scan.as_ref().is_none_or(|s| s.utf8),
    };
    match parsed {
        Some(h) if simple || (scan.as_ref().is_some_and(|s| s.utf8) && header_ok(&h)) => {
            let headers = h
                .fields
                .iter()
                .map(|f| String::from_utf8_lossy(f).trim().to_string())
                .collect();
            let mut lines = LineCount::default();
            lines.feed(&head[body_at..body_at + h.consumed]);
            let data_start = body_at + h.consumed;
            Ok((
                Table {
                    name,
                    headers,
                    row_hint,
                    source: Source::Csv(Box::new(CsvSource {
                        path: path.to_path_buf(),
                        delimiter,
                        bom,
                        scan,
                        parallel: Some(ParallelStart {
                            file,
                            head,
                            data_start,
                            core: h.core,
                            lines,
                        }),
                    })),
                },
                file_entry,
            ))
        }
        _ => {
            // The one-thread reader alone (Windows-1252, or an unusual header): as before this work.
            let scan = match scan {
                Some(s) => s,
                None => scan_csv(path)?,
            };
            let (mut reader, _) = sequential_reader(path, &scan)?;
            let mut header = csv::ByteRecord::new();
            if !reader
                .read_byte_record(&mut header)
                .map_err(|e| csv_error(&name, e))?
            {
                return Err(fmt_err(path, "the file has no header line"));
            }
            if header.as_slice().len() > MAX_RECORD_BYTES {
                return Err(huge(&name, 1, header.as_slice().len()));
            }
            let headers: Vec<String> = header
                .iter()
                .map(|h| String::from_utf8_lossy(h).trim().to_string())
                .collect();
            if headers.iter().all(|h| h.is_empty()) {
                return Err(fmt_err(path, "the header line is empty"));
            }
            Ok((
                Table {
                    name,
                    headers,
                    row_hint: scan.newlines,
                    source: Source::Csv(Box::new(CsvSource {
                        path: path.to_path_buf(),
                        delimiter,
                        bom,
                        scan: Some(scan),
                        parallel: None,
                    })),
                },
                file_entry,
            ))
        }
    }
}

/// The header record as `csv_core` reads it from the start of the data.
struct ParsedHeader {
    core: csv_core::Reader,
    /// Bytes of `body` the header took (leading blank lines and its line end included).
    consumed: usize,
    fields: Vec<Vec<u8>>,
    content_len: usize,
}

/// The first record of `body` with a fresh tokenizer (as the csv crate reads it); `None` when `body`
/// does not hold a whole record and is not the whole file, or holds none.
fn parse_header(body: &[u8], is_all: bool, delimiter: u8) -> Option<ParsedHeader> {
    use csv_core::ReadRecordResult as R;
    let mut core = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
    let mut out = vec![0u8; 4096];
    let mut ends = vec![0usize; 64];
    let (mut i, mut o, mut e) = (0, 0, 0);
    loop {
        let input = if i < body.len() { &body[i..] } else { &[][..] };
        if input.is_empty() && !is_all {
            return None;
        }
        let (res, nin, nout, nend) = core.read_record(input, &mut out[o..], &mut ends[e..]);
        i += nin;
        o += nout;
        e += nend;
        match res {
            R::InputEmpty => {}
            R::OutputFull => {
                let n = out.len() * 2;
                out.resize(n, 0);
            }
            R::OutputEndsFull => {
                let n = ends.len() * 2;
                ends.resize(n, 0);
            }
            R::Record => {
                let mut fields = Vec::with_capacity(e);
                let mut from = 0;
                for &end in &ends[..e] {
                    fields.push(out[from..end].to_vec());
                    from = end;
                }
                return Some(ParsedHeader {
                    core,
                    consumed: i,
                    fields,
                    content_len: o,
                });
            }
            R::End => return None,
        }
    }
}

/// SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String, InputError> {
    let mut file = File::open(path).map_err(|e| io_err(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = file.read(&mut buf).map_err(|e| io_err(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// An open workbook: each sheet is a table.
pub struct Workbook {
    path: String,
    sheets: Sheets<BufReader<File>>,
    pub file: InputFile,
}

impl Workbook {
    pub fn open(path: &Path) -> Result<Workbook, InputError> {
        let sha256 = sha256_file(path)?;
        let sheets = calamine::open_workbook_auto(path).map_err(|e| {
            fmt_err(
                path,
                format!("cannot open the workbook: {e}; is it a valid .xlsx file?"),
            )
        })?;
        Ok(Workbook {
            path: display(path),
            sheets,
            file: InputFile {
                path: display(path),
                sha256,
                rows: 0,
                utf8: false,
            },
        })
    }

    pub fn sheet_names(&self) -> Vec<String> {
        self.sheets.sheet_names()
    }

    /// The sheet whose name folds to `name` (case-insensitive).
    pub fn find_sheet(&self, name: &str) -> Option<String> {
        self.sheet_names()
            .into_iter()
            .find(|s| fold_name(s) == fold_name(name))
    }

    /// The sheet to read when none is named `wanted`: the only one holding a cell (else the first, which
    /// [`Workbook::table`] then calls empty). Several sheets with data are refused: reading the first
    /// alone made the rows of the others vanish (a ledger split over `Ark1` and `Ark2` was paid again).
    pub fn only_sheet_with_data(&mut self, wanted: &str) -> Result<String, InputError> {
        let names = self.sheet_names();
        let mut with_data = Vec::new();
        for name in &names {
            if self.sheet_has_data(name)? {
                with_data.push(name.clone());
            }
        }
        match with_data.len() {
            0 => names
                .into_iter()
                .next()
                .ok_or_else(|| fmt_err(Path::new(&self.path), "the workbook has no sheets")),
            1 => Ok(with_data.swap_remove(0)),
            n => Err(fmt_err(
                Path::new(&self.path),
                format!(
                    "the workbook has no sheet named '{wanted}', and {n} sheets hold data ({}): only one \
                     is read, so name the sheet with the table '{wanted}' (or put the whole table on one sheet)",
                    with_data.join(", ")
                ),
            )),
        }
    }

    /// Whether a sheet holds any non-empty cell (an `.xlsx` sheet is read up to its first one).
    fn sheet_has_data(&mut self, sheet: &str) -> Result<bool, InputError> {
        let name = format!("{}[{}]", self.path, sheet);
        let err = |message: String| InputError::Format {
            file: name.clone(),
            message: format!("cannot read the sheet: {message}"),
        };
        match &mut self.sheets {
            Sheets::Xlsx(x) => {
                let mut any = false;
                each_xlsx_cell(x, sheet, &name, |_| {
                    any = true;
                    Ok(ControlFlow::Break(()))
                })?;
                Ok(any)
            }
            other => other
                .worksheet_range(sheet)
                .map(|r| r.used_cells().next().is_some())
                .map_err(|e| err(e.to_string())),
        }
    }

    /// Opens one sheet as a table named `file.xlsx[sheet]`. The header is the first non-empty row.
    pub fn table(&mut self, sheet: &str) -> Result<Table, InputError> {
        let name = format!("{}[{}]", self.path, sheet);
        let range = match &mut self.sheets {
            Sheets::Xlsx(x) => xlsx_range(x, sheet, &name)?,
            other => other
                .worksheet_range(sheet)
                .map_err(|e| InputError::Format {
                    file: name.clone(),
                    message: format!("cannot read the sheet: {e}"),
                })?,
        };
        let Some((start_row, _)) = range.start() else {
            return Err(InputError::Format {
                file: name,
                message: "the sheet is empty: a table needs at least a header row".into(),
            });
        };
        let headers: Vec<String> = range
            .rows()
            .next()
            .map(|r| {
                r.iter()
                    .map(|c| match c {
                        Data::String(s) => s.trim().to_string(),
                        Data::Empty => String::new(),
                        other => other.to_string().trim().to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let row_hint = range.height();
        Ok(Table {
            name,
            headers,
            row_hint,
            source: Source::Sheet {
                range,
                header_row: start_row,
            },
        })
    }
}

/// The most cells a sheet's used range may span (1 048 576 rows × 32 columns): calamine stores a sheet as
/// a dense rectangle, so one stray cell at XFD1048576 in a 5 KB file asked for 549 GB and aborted the
/// process (found by fuzzing, issue 7).
pub const MAX_SHEET_CELLS: u64 = 1 << 25;

/// Reads an `.xlsx` sheet like calamine's `worksheet_range` (non-empty cells, dense range over them),
/// refusing a used range larger than [`MAX_SHEET_CELLS`] before it is allocated.
fn xlsx_range<RS: Read + std::io::Seek>(
    x: &mut calamine::Xlsx<RS>,
    sheet: &str,
    name: &str,
) -> Result<Range<Data>, InputError> {
    let mut cells: Vec<calamine::Cell<Data>> = Vec::new();
    let (mut r0, mut r1, mut c0, mut c1) = (u32::MAX, 0u32, u32::MAX, 0u32);
    // A well-formed sheet lists its cells in (row, column) order; only a cell at or before the one before
    // it can repeat a position.
    let (mut last, mut in_order) = (None, true);
    each_xlsx_cell(x, sheet, name, |cell| {
        let (r, c) = cell.get_position();
        in_order &= last < Some((r, c));
        last = Some((r, c));
        (r0, r1, c0, c1) = (r0.min(r), r1.max(r), c0.min(c), c1.max(c));
        let area = u64::from(r1 - r0 + 1) * u64::from(c1 - c0 + 1);
        if area > MAX_SHEET_CELLS {
            return Err(InputError::Format {
                file: name.to_string(),
                message: format!(
                    "the sheet's used range spans rows {}..{} and columns {}..{}, more than {MAX_SHEET_CELLS} cells; \
                     delete the stray cells far below or right of the table, or export it as CSV",
                    r0 + 1,
                    r1 + 1,
                    c0 + 1,
                    c1 + 1
                ),
            });
        }
        cells.push(calamine::Cell::new(
            (r, c),
            Data::from(cell.get_value().clone()),
        ));
        Ok(ControlFlow::Continue(()))
    })?;
    if !in_order {
        refuse_repeated_cell(&mut cells, name)?;
    }
    Ok(Range::from_sparse(cells))
}

/// Hands each non-empty cell of an `.xlsx` sheet to `f`, in the order of the file, until `f` breaks; a
/// sheet that is not a worksheet (a chart sheet) has none. `name` is the table's name for messages.
fn each_xlsx_cell<RS: Read + std::io::Seek>(
    x: &mut calamine::Xlsx<RS>,
    sheet: &str,
    name: &str,
    mut f: impl FnMut(calamine::Cell<calamine::DataRef<'_>>) -> Result<ControlFlow<()>, InputError>,
) -> Result<(), InputError> {
    let err = |e: calamine::XlsxError| InputError::Format {
        file: name.to_string(),
        message: format!("cannot read the sheet: {e}"),
    };
    let mut reader = match x.worksheet_cells_reader(sheet) {
        Ok(r) => r,
        Err(calamine::XlsxError::NotAWorksheet(_)) => return Ok(()),
        Err(e) => return Err(err(e)),
    };
    while let Some(cell) = reader.next_cell().map_err(err)? {
        if matches!(cell.get_value(), calamine::DataRef::Empty) {
            continue;
        }
        if f(cell)?.is_break() {
            break;
        }
    }
    Ok(())
}

/// A damaged sheet can hold two cells at one position (a `<row>` repeated, or a `<c r="...">` written
/// twice); the dense range keeps only one of them, so a row would vanish without an avvik. Such a sheet
/// is refused. The cells are sorted by position to find it (the range does not depend on their order).
fn refuse_repeated_cell(cells: &mut [calamine::Cell<Data>], name: &str) -> Result<(), InputError> {
    cells.sort_by_key(|c| c.get_position());
    match cells
        .windows(2)
        .find(|w| w[0].get_position() == w[1].get_position())
    {
        None => Ok(()),
        Some(w) => {
            let (r, c) = w[0].get_position();
            Err(InputError::Format {
                file: name.to_string(),
                message: format!(
                    "cell {}{} (row {}) appears twice in the sheet; the workbook is damaged: open it in Excel \
                     and save it again, or export the sheet as CSV",
                    column_letters(c),
                    r + 1,
                    r + 1
                ),
            })
        }
    }
}

/// Excel's letters for a 0-based column index (0 → `A`, 25 → `Z`, 26 → `AA`).
fn column_letters(mut c: u32) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    letters.iter().rev().map(|&b| char::from(b)).collect()
}

/// Opens a one-table file: a CSV file, or a workbook's sheet named `sheet` (else its first sheet).
pub fn open_single(path: &Path, sheet: &str) -> Result<(Table, InputFile), InputError> {
    if is_workbook(path) {
        let mut wb = Workbook::open(path)?;
        let name = match wb.find_sheet(sheet) {
            Some(s) => s,
            None => wb.only_sheet_with_data(sheet)?,
        };
        let t = wb.table(&name)?;
        Ok((t, wb.file))
    } else {
        if !path.exists() {
            return Err(io_err(
                path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "file not found"),
            ));
        }
        open_csv(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_are_excels() {
        let cases = [
            (0, "A"),
            (25, "Z"),
            (26, "AA"),
            (27, "AB"),
            (701, "ZZ"),
            (702, "AAA"),
        ];
        for (c, want) in cases {
            assert_eq!(column_letters(c), want, "column {c}");
        }
        assert_eq!(column_letters(16_383), "XFD"); // Excel's last column
    }

    #[test]
    fn delimiter_from_header_line_only() {
        assert_eq!(detect_delimiter(b"fnr;bosettingsdato;x\n1,2,3,4,5"), b';');
        assert_eq!(detect_delimiter(b"fnr,bosettingsdato\n"), b',');
        // A quoted `;` in a `,` header does not count.
        assert_eq!(detect_delimiter(b"\"a;b;c\",d,e\n"), b',');
    }

    #[test]
    fn excel_cells_lose_leading_zeros_and_get_them_back() {
        assert_eq!(Cell::Int(301).digits(4), "0301");
        assert_eq!(Cell::Float(1018012371.0).digits(11), "01018012371");
        assert_eq!(Cell::Text("0301").digits(4), "0301");
        assert_eq!(Cell::Float(1.5).raw(), "1.5");
    }
}
