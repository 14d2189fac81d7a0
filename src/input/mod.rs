//! Input: readers for every table of SPEC §1 (CSV and Excel) and their validation.
//!
//! Contract used by the commands (the bodies are filled in by the foundation work):
//! each `load_*` reads one kind of table, validates every row, and returns the accepted rows as domain
//! data together with one [`Avvik`] per rejected row (and per warning), per-file statistics and the
//! file's SHA-256 for the manifest. A bad row never stops the load; only a table that cannot be read
//! at all (missing file, missing required column, not CSV/xlsx, …) is an [`InputError`].

pub mod check;
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
}

/// A table that cannot be read at all. Row problems are never errors; they are [`Avvik`].
#[derive(Debug, Error)]
pub enum InputError {
    #[error("{path}: {source}")]
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

pub fn load_dsf(_path: &Path, _opts: &LoadOptions) -> Result<Loaded<Extract>, InputError> {
    todo!("foundation: DSF extract reader")
}

pub fn load_rates(_paths: &[PathBuf]) -> Result<Loaded<RateTable>, InputError> {
    todo!("foundation: rate table reader")
}

pub fn load_kommuner(_path: &Path) -> Result<Loaded<KommuneRegister>, InputError> {
    todo!("foundation: municipality register reader")
}

/// Ledger files (`--paid`), same columns as `utbetalt.csv`.
pub fn load_ledger(
    _paths: &[PathBuf],
    _opts: &LoadOptions,
) -> Result<Loaded<Vec<LedgerLine>>, InputError> {
    todo!("foundation: ledger reader")
}

pub fn load_soknader(_path: &Path, _opts: &LoadOptions) -> Result<Loaded<Vec<Soknad>>, InputError> {
    todo!("foundation: applications reader")
}

pub fn load_vedtak(
    _path: &Path,
    _opts: &LoadOptions,
) -> Result<Loaded<Vec<TidligereVedtak>>, InputError> {
    todo!("foundation: earlier decisions reader")
}
