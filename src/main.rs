//! The binary's edge: parse, dispatch, map errors to exit codes (SPEC §7).

use clap::Parser;
use std::process::ExitCode;
use tilskudd::domain::ids::mask_text;
use tilskudd::{exit, Outcome};

fn main() -> ExitCode {
    let cli = match tilskudd::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Usage errors echo the value given; mask a person number typed in the wrong place.
            let text = mask_text(&e.render().to_string());
            if e.use_stderr() {
                eprint!("{text}");
                return ExitCode::from(exit::USAGE);
            }
            print!("{text}");
            return ExitCode::from(exit::SUCCESS);
        }
    };
    match tilskudd::cmd::run(&cli.command) {
        Ok(Outcome::Clean) => ExitCode::from(exit::SUCCESS),
        Ok(Outcome::RowsRejected) => ExitCode::from(exit::ROWS_REJECTED),
        Err(e) if is_broken_pipe(&e) => ExitCode::from(exit::SUCCESS),
        Err(e) => {
            // Error chains may quote input values (e.g. the header cells found); never a whole person number.
            eprintln!("error: {}", mask_text(&format!("{e:#}")));
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
