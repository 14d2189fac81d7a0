//! Input: readers for every table of SPEC §1 (CSV and Excel) and their validation.
//!
//! Contract used by the commands (the bodies are filled in by the foundation work):
//! each `load_*` reads one kind of table, validates every row, and returns the accepted rows as domain
//! data together with one [`Avvik`] per rejected row (and per warning), per-file statistics and the
//! file's SHA-256 for the manifest. A bad row never stops the load; only a table that cannot be read
//! at all (missing file, missing required column, not CSV/xlsx, …) is an [`InputError`].

pub mod check;
mod chunks;
pub mod dsf;
pub(crate) mod keysort;
pub mod kommuner;
pub mod ledger;
pub mod satser;
pub mod soknader;
pub mod table;
pub mod values;

use crate::domain::avvik::Avvik;
use crate::domain::kommune::KommuneRegister;
use crate::domain::ledger::LedgerLine;
use crate::domain::person::Extract;
use crate::domain::rates::RateTable;
use crate::domain::soknad::{Soknad, TidligereVedtak};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// One input file as the manifest records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputFile {
    /// As given on the command line (or found in a given folder).
    pub path: String,
    /// Lower-case hex SHA-256 of the file's bytes.
    pub sha256: String,
    /// Data rows read (all tables/sheets of the file).
    pub rows: u64,
    /// Read as UTF-8 CSV text (false: a Windows-1252 CSV file, or a workbook). Known once the rows are
    /// read (a streamed ledger found not UTF-8 is held instead).
    pub utf8: bool,
}

/// Row counts of one table: `read = accepted + rejected` always.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileStats {
    /// Display name: `dsf/personer.csv`, `dsf.xlsx[personer]`.
    pub file: String,
    pub read: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Accepted rows whose person number is a synthetic test number (ID-1).
    pub synthetic: u64,
    /// Accepted rows with at least one warning.
    pub warned: u64,
}

/// What a loader returns.
#[derive(Clone, Debug, Default)]
pub struct Loaded<T> {
    pub data: T,
    /// Rejected rows and warnings, in file order.
    pub avvik: Vec<Avvik>,
    pub stats: Vec<FileStats>,
    pub files: Vec<InputFile>,
}

/// Options that change what is accepted.
#[derive(Clone, Copy, Debug)]
pub struct LoadOptions<'a> {
    /// The run year: DUF numbers may not start with a later year (ID-2).
    pub run_year: i32,
    /// `--no-synthetic`: reject synthetic test numbers (ID-1).
    pub reject_synthetic: bool,
    /// When given, every kommunenummer must exist in it for the date used (ID-3).
    pub kommuner: Option<&'a KommuneRegister>,
    /// The termin computed: a ledger line (`--paid`) must be of an earlier one (T-4: the ledger read in
    /// is what was paid before; a later one's ledger, or this termin's own, would be netted as paid).
    pub ledger_before: Option<crate::domain::termin::Termin>,
}

/// A table that cannot be read at all. Row problems are never errors; they are [`Avvik`].
#[derive(Debug, Error)]
pub enum InputError {
    // The cause is the error's `source`, which `{:#}` (main) prints after this text; naming it here too
    // printed it twice ("x: no such file: no such file").
    #[error("cannot read {path}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{file}: required column '{column}' is missing (columns found: {found})")]
    MissingColumn {
        file: String,
        column: String,
        found: String,
    },
    #[error("{file}: {message}")]
    Format { file: String, message: String },
}

/// A DSF extract (SPEC §1.3–1.4): a folder with `personer.csv` (and optionally `flyttinger.csv`), or one
/// workbook with sheets `personer` (and optionally `flyttinger`). See [`dsf`].
pub fn load_dsf(path: &Path, opts: &LoadOptions) -> Result<Loaded<Extract>, InputError> {
    dsf::load(path, opts)
}

/// Rate tables (SPEC §1.6): files or folders (a folder is read whole, sorted by name). See [`satser`].
pub fn load_rates(paths: &[PathBuf]) -> Result<Loaded<RateTable>, InputError> {
    satser::load(paths)
}

/// The municipality register (SPEC §1.5), CSV or a workbook (sheet `kommuner`, else its only sheet with data).
pub fn load_kommuner(path: &Path) -> Result<Loaded<KommuneRegister>, InputError> {
    kommuner::load(path)
}

/// Ledger files (`--paid`), same columns as `utbetalt.csv` (SPEC T-2).
pub fn load_ledger(
    paths: &[PathBuf],
    opts: &LoadOptions,
) -> Result<Loaded<Vec<LedgerLine>>, InputError> {
    ledger::load(paths, opts)
}

/// Applications for the extra grant (SPEC §5 `soknader`).
pub fn load_soknader(path: &Path, opts: &LoadOptions) -> Result<Loaded<Vec<Soknad>>, InputError> {
    soknader::load_soknader(path, opts)
}

/// Earlier decisions on the extra grant (SPEC §5 `vedtak`).
pub fn load_vedtak(
    path: &Path,
    opts: &LoadOptions,
) -> Result<Loaded<Vec<TidligereVedtak>>, InputError> {
    soknader::load_vedtak(path, opts)
}
