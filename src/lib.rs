//! `tilskudd`: IMDi's integration grants to municipalities, computed from DSF extracts.
//!
//! Layout: [`input`] reads and validates tables (CSV and Excel) into [`domain`] data; [`domain::rules`]
//! holds the SPEC's rules as pure functions; [`output`] writes reports and payment files; [`cmd`] has one
//! module per subcommand.
#![forbid(unsafe_code)]

pub mod cli;
pub mod cmd;
pub mod domain;
pub mod generate;
pub mod input;
pub mod output;

/// How a command that did not fail ended (SPEC §7 exit codes 0 and 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Clean,
    /// Exit 3: completed, but rows were rejected (see `avvik.csv`).
    RowsRejected,
}

/// Exit codes (SPEC §7).
pub mod exit {
    pub const SUCCESS: u8 = 0;
    pub const FAILED: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const ROWS_REJECTED: u8 = 3;
}
