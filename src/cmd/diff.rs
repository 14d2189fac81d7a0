//! `tilskudd diff`: what changed between two termin output folders.

use crate::Outcome;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    pub old_dir: PathBuf,
    pub new_dir: PathBuf,
}

pub fn run(_args: &Args) -> anyhow::Result<Outcome> {
    anyhow::bail!("diff: not implemented yet")
}
