//! `tilskudd generate`: a synthetic national extract for demos and scale tests.

use crate::Outcome;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, value_name = "N")]
    pub persons: u64,
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

pub fn run(_args: &Args) -> anyhow::Result<Outcome> {
    anyhow::bail!("generate: not implemented yet")
}
