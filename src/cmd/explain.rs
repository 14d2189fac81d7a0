//! `tilskudd explain`: the whole calculation trail for one person, each step with its rule id.

use crate::cmd::common::InputArgs;
use crate::domain::termin::Termin;
use crate::Outcome;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The person's fødselsnummer or D-nummer.
    pub fnr: String,
    #[arg(long)]
    pub termin: Termin,
    #[command(flatten)]
    pub input: InputArgs,
    #[arg(long, value_name = "PATH", required = true)]
    pub rates: Vec<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub paid: Vec<PathBuf>,
    #[arg(long, value_name = "DATE")]
    pub basis_date: Option<chrono::NaiveDate>,
    #[arg(long, value_name = "YEAR", default_value_t = 2021)]
    pub auto_from: i32,
}

pub fn run(_args: &Args) -> anyhow::Result<Outcome> {
    anyhow::bail!("explain: not implemented yet")
}
