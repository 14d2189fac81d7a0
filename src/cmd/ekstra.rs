//! `tilskudd ekstra`: formal checks of applications for the extra grant (SPEC §5).

use crate::cmd::common::InputArgs;
use crate::Outcome;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Applications (soknader), CSV or .xlsx.
    #[arg(long, value_name = "FILE")]
    pub soknader: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    #[arg(long, value_name = "PATH", required = true)]
    pub rates: Vec<PathBuf>,
    /// Earlier decisions (vedtak), CSV or .xlsx.
    #[arg(long, value_name = "FILE")]
    pub vedtak: Option<PathBuf>,
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

pub fn run(_args: &Args) -> anyhow::Result<Outcome> {
    anyhow::bail!("ekstra: not implemented yet")
}
