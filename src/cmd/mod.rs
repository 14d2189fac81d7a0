//! One module per subcommand, each holding its own arguments and a `run()`. Shared plumbing lives in
//! [`common`].

pub mod common;
pub mod diff;
pub mod ekstra;
pub mod explain;
pub mod frister;
pub mod generate;
pub mod termin;
pub mod validate;

use crate::Outcome;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read and check every input; print a summary and every problem (exit 0 clean, 3 rows rejected).
    Validate(validate::Args),
    /// Compute a termin's payment basis, the new ledger and the payment files (the quarterly batch).
    Termin(termin::Args),
    /// Show the whole calculation trail for one person (or one application), rule by rule.
    Explain(explain::Args),
    /// Check applications for the extra grant (FHT): deadlines, rejection grounds, proposed amounts.
    Ekstra(ekstra::Args),
    /// List upcoming application and accounts deadlines for the extra grant, soonest first.
    Frister(frister::Args),
    /// Compare two termin output folders: lines added, removed and changed, per municipality.
    Diff(diff::Args),
    /// Generate a synthetic, realistic DSF extract, municipality register and example rates.
    Generate(generate::Args),
}

pub fn run(cmd: &Command) -> anyhow::Result<Outcome> {
    match cmd {
        Command::Validate(a) => validate::run(a),
        Command::Termin(a) => termin::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Ekstra(a) => ekstra::run(a),
        Command::Frister(a) => frister::run(a),
        Command::Diff(a) => diff::run(a),
        Command::Generate(a) => generate::run(a),
    }
}
