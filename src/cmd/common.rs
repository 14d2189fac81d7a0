//! Options shared by the subcommands that read a DSF extract and rate tables.

use clap::Args;
use std::path::PathBuf;

/// `--dsf`, `--rates`, `--kommuner`: the inputs of every calculation (SPEC §1).
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// DSF extract: a folder with personer.csv (and optionally flyttinger.csv), or one .xlsx workbook
    /// with sheets `personer` and `flyttinger`.
    #[arg(long, value_name = "PATH")]
    pub dsf: PathBuf,
    /// Municipality register (kommuner), CSV or .xlsx. Needed for payment files and ID-3 checks.
    #[arg(long, value_name = "FILE")]
    pub kommuner: Option<PathBuf>,
    /// Reject synthetic test numbers (month + 40/80) instead of accepting and counting them (ID-1).
    #[arg(long)]
    pub no_synthetic: bool,
}
