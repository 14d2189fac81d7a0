//! `tilskudd termin`: the quarterly batch (SPEC §4).

use crate::cmd::common::InputArgs;
use crate::domain::termin::Termin;
use crate::Outcome;
use chrono::NaiveDate;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The termin: 2024-Q3, 2024Q3 or 3/2024.
    pub termin: Termin,
    #[command(flatten)]
    pub input: InputArgs,
    /// Rate tables (files or folders; repeatable).
    #[arg(long, value_name = "PATH", required = true)]
    pub rates: Vec<PathBuf>,
    /// Ledger of earlier payments (utbetalt.csv of the previous termin; repeatable).
    #[arg(long, value_name = "FILE")]
    pub paid: Vec<PathBuf>,
    /// Registration cut-off (IT-2); default the quarter's last day.
    #[arg(long, value_name = "DATE")]
    pub basis_date: Option<NaiveDate>,
    /// First settlement year paid automatically (IT-3).
    #[arg(long, value_name = "YEAR", default_value_t = 2021)]
    pub auto_from: i32,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Write payment files even when a rate used is not `vedtatt` (T-5).
    #[arg(long)]
    pub allow_unadopted_rates: bool,
    /// Also write one folder per municipality holding only its own basis (kommuner/KNR/).
    #[arg(long)]
    pub split_kommuner: bool,
    /// IMDi's debit account (BBAN, 11 digits) for the payment file; or set it in --config.
    #[arg(long, value_name = "KONTONR")]
    pub debtor_account: Option<String>,
    /// Configuration file for payment settings (debtor account, …).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Creation time stamped in the payment file (ISO 8601); default the basis date at 00:00, so reruns
    /// are byte-identical.
    #[arg(long, value_name = "DATETIME")]
    pub created: Option<String>,
    /// Overwrite an existing output folder that already holds a termin.
    #[arg(long)]
    pub force: bool,
}

pub fn run(_args: &Args) -> anyhow::Result<Outcome> {
    anyhow::bail!("termin: not implemented yet")
}
