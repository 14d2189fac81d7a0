//! `tilskudd validate`: read every input, print a summary table and every problem.

use crate::cmd::common::InputArgs;
use crate::Outcome;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
    /// Rate tables (files or folders; repeatable).
    #[arg(long, value_name = "PATH")]
    pub rates: Vec<PathBuf>,
}

pub fn run(_args: &Args) -> anyhow::Result<Outcome> {
    anyhow::bail!("validate: not implemented yet")
}
