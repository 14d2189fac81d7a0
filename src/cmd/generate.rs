//! `tilskudd generate`: a synthetic national extract for demos and scale tests (issue #6). The work is in
//! [`crate::generate`]; this file holds the arguments and the summary printed at the end.

use crate::generate::{self, Config};
use crate::Outcome;
use anyhow::Context;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of persons in personer.csv.
    #[arg(long, value_name = "N")]
    pub persons: u64,
    /// Seed: the same seed (and options) always gives byte-identical files.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
    /// Output folder: writes dsf/personer.csv, dsf/flyttinger.csv, kommuner.csv, satser.csv.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Run year: the latest settlement year; no date after 31 December of it (2010 to 2039).
    #[arg(long, value_name = "YEAR", default_value_t = generate::DEFAULT_YEAR,
          value_parser = clap::value_parser!(i32).range(i64::from(*generate::YEARS.start())..=i64::from(*generate::YEARS.end())))]
    pub year: i32,
    /// Number of municipalities (the largest first; 2 to 39).
    #[arg(long, value_name = "N", default_value_t = generate::KOMMUNER.len(),
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(2..=generate::KOMMUNER.len() as u64))]
    pub kommuner: usize,
}

pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let cfg = Config {
        persons: args.persons,
        seed: args.seed,
        year: args.year,
        kommuner: args.kommuner,
    };
    cfg.check()?;
    if args.out.exists() && !args.out.is_dir() {
        anyhow::bail!(
            "--out {} is a file, not a folder: give a folder for dsf/, kommuner.csv and satser.csv",
            args.out.display()
        );
    }
    let started = std::time::Instant::now();
    let s = generate::write(&cfg, &args.out)
        .with_context(|| format!("generate: writing {}", args.out.display()))?;
    eprintln!(
        "generate: {} persons, {} moves, {} municipalities, {} example rates in {} ({:.1} s, seed {})",
        s.persons,
        s.moves,
        s.kommuner,
        s.rates,
        args.out.display(),
        started.elapsed().as_secs_f64(),
        args.seed
    );
    Ok(Outcome::Clean)
}
