//! The binary's edge: parse, dispatch, map errors to exit codes (SPEC §7).

use clap::Parser;
use std::process::ExitCode;
use tilskudd::{exit, Outcome};

fn main() -> ExitCode {
    let cli = match tilskudd::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::SUCCESS
            });
        }
    };
    match tilskudd::cmd::run(&cli.command) {
        Ok(Outcome::Clean) => ExitCode::from(exit::SUCCESS),
        Ok(Outcome::RowsRejected) => ExitCode::from(exit::ROWS_REJECTED),
        Err(e) if is_broken_pipe(&e) => ExitCode::from(exit::SUCCESS),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::FAILED)
        }
    }
}

/// A closed pipe (`tilskudd … | head`) is not a failure.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
