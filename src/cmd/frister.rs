//! `tilskudd frister`: upcoming extra-grant deadlines per person, soonest first.

use crate::cmd::common::InputArgs;
use crate::Outcome;
use chrono::NaiveDate;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
    #[arg(long, value_name = "PATH", required = true)]
    pub rates: Vec<PathBuf>,
    /// Earlier decisions (vedtak), to know which years were applied for and which accounts are due.
    #[arg(long, value_name = "FILE")]
    pub vedtak: Option<PathBuf>,
    /// Only this municipality.
    #[arg(long, value_name = "KNR")]
    pub kommune: Option<String>,
    /// Deadlines on or after this date (default today).
    #[arg(long, value_name = "DATE")]
    pub from: Option<NaiveDate>,
    /// Deadlines within this many days after --from.
    #[arg(long, value_name = "N", default_value_t = 90)]
    pub days: u32,
}

pub fn run(_args: &Args) -> anyhow::Result<Outcome> {
    anyhow::bail!("frister: not implemented yet")
}
