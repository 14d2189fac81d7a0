//! `tilskudd validate`: read every input, print a summary table and every problem.
//!
//! Order: the municipality register first (so that ID-3 can be checked), then the DSF extract, then the
//! rate tables. Exit 0 when nothing was rejected, 3 when rows were rejected, 1 when a table cannot be read
//! (SPEC §7). Person numbers are masked in everything printed.

use crate::cmd::common::{load_register_and_dsf, InputArgs};
use crate::domain::avvik::{Avvik, Niva};
use crate::input::{load_rates, FileStats};
use crate::Outcome;
use chrono::Datelike;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
    /// Rate tables (files or folders; repeatable).
    #[arg(long, value_name = "PATH")]
    pub rates: Vec<PathBuf>,
}

pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let run_year = chrono::Local::now().year();
    let (kommuner, dsf) = load_register_and_dsf(&args.input, run_year)?;
    let rates = if args.rates.is_empty() {
        None
    } else {
        Some(load_rates(&args.rates)?)
    };
    let mut stats: Vec<FileStats> = Vec::new();
    let mut avvik: Vec<Avvik> = Vec::new();
    if let Some(k) = kommuner {
        stats.extend(k.stats);
        avvik.extend(k.avvik);
    }
    stats.extend(dsf.stats);
    avvik.extend(dsf.avvik);
    if let Some(r) = rates {
        stats.extend(r.stats);
        avvik.extend(r.avvik);
    }
    let out = std::io::stdout();
    let mut out = out.lock();
    writeln!(out, "{}", summary_table(&stats, &avvik))?;
    if avvik.is_empty() {
        writeln!(out, "no problems found")?;
    } else {
        writeln!(out)?;
        for a in &avvik {
            writeln!(out, "{a}")?;
        }
    }
    out.flush()?;
    let rejected: u64 = stats.iter().map(|s| s.rejected).sum();
    Ok(if rejected > 0 {
        Outcome::RowsRejected
    } else {
        Outcome::Clean
    })
}

/// One line per table: file, read, accepted, rejected, synthetic, warnings (warning messages, including
/// file-level ones such as unknown columns).
pub fn summary_table(stats: &[FileStats], avvik: &[Avvik]) -> String {
    let mut b = tabled::builder::Builder::default();
    b.push_record([
        "file",
        "read",
        "accepted",
        "rejected",
        "synthetic",
        "warnings",
    ]);
    for s in stats {
        let warnings = avvik
            .iter()
            .filter(|a| a.fil == s.file && a.niva == Niva::Advarsel)
            .count();
        b.push_record([
            s.file.clone(),
            s.read.to_string(),
            s.accepted.to_string(),
            s.rejected.to_string(),
            s.synthetic.to_string(),
            warnings.to_string(),
        ]);
    }
    let mut t = b.build();
    t.with(tabled::settings::Style::sharp());
    t.to_string()
}
