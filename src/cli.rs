//! The command line (SPEC §7).

use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "tilskudd", version, about = "IMDi integration grants: quarterly payment basis, ledger and payment files", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: crate::cmd::Command,
}
