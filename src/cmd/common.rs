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

use crate::domain::kommune::KommuneRegister;
use crate::domain::person::Extract;
use crate::input::{load_dsf, load_kommuner, InputError, LoadOptions, Loaded};

impl InputArgs {
    /// The load options these arguments stand for (without a register; see [`load_register_and_dsf`]).
    pub fn options(&self, run_year: i32) -> LoadOptions<'static> {
        LoadOptions {
            run_year,
            reject_synthetic: self.no_synthetic,
            kommuner: None,
            ledger_before: None,
        }
    }
}

/// Loads the municipality register first (if `--kommuner` is given) and then the DSF extract checked
/// against it (ID-3), with `--no-synthetic` applied (ID-1).
pub fn load_register_and_dsf(
    args: &InputArgs,
    run_year: i32,
) -> Result<(Option<Loaded<KommuneRegister>>, Loaded<Extract>), InputError> {
    let kommuner = args.kommuner.as_deref().map(load_kommuner).transpose()?;
    let opts = LoadOptions {
        run_year,
        reject_synthetic: args.no_synthetic,
        kommuner: kommuner.as_ref().map(|k| &k.data),
        ledger_before: None,
    };
    let dsf = load_dsf(&args.dsf, &opts)?;
    Ok((kommuner, dsf))
}

/// Stops a calculation when an input it cannot do without has rejected rows: `what` names the input with
/// its verb ("the rate tables have"), `why` says what would go wrong if the run went on without those rows.
pub fn refuse_rejected_rows<T>(loaded: &Loaded<T>, what: &str, why: &str) -> anyhow::Result<()> {
    use crate::domain::avvik::Niva;
    let bad: Vec<&crate::domain::avvik::Avvik> = loaded
        .avvik
        .iter()
        .filter(|a| a.niva == Niva::Avvist)
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    // A wrong file can have every row rejected (a later termin's ledger: millions, whose reader keeps
    // the avvik of the first rows only): the first ones say what is wrong, the rows counted how much.
    let rows = loaded.stats.iter().map(|s| s.rejected).sum::<u64>().max(1);
    let mut list: Vec<String> = bad
        .iter()
        .take(REJECTED_SHOWN)
        .map(|a| a.to_string())
        .collect();
    if bad.len() > REJECTED_SHOWN {
        list.push(format!("… and more: {rows} rejected row(s) in all"));
    }
    anyhow::bail!(
        "{what} {rows} rejected row(s); fix them first ({why}):\n  {}",
        list.join("\n  ")
    )
}

/// How many rejected rows [`refuse_rejected_rows`] names.
const REJECTED_SHOWN: usize = 20;

/// Loads the rate tables for a calculation. A table with any rejected row is fatal: an amount must never
/// depend on which of two duplicate rows was picked, or on a row that was dropped (SPEC §1.6; docs/rules.md
/// [model (f)]). `validate` reads rates with [`crate::input::load_rates`] instead, to list every problem.
pub fn load_rates_for_calculation(
    paths: &[PathBuf],
) -> anyhow::Result<Loaded<crate::domain::rates::RateTable>> {
    use anyhow::Context;
    let rt = crate::input::load_rates(paths).context("reading the rate tables")?;
    refuse_rejected_rows(
        &rt,
        "the rate tables have",
        "amounts must not depend on which row was used",
    )?;
    Ok(rt)
}
