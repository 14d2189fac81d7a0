//! `tilskudd frister`: upcoming extra-grant deadlines per person, soonest first (FHT-2 application
//! deadlines, FHT-7 accounts deadlines) — what a municipality's coordinator needs to not miss one.
//! The rules are in [`crate::domain::rules::fht::frister`]; this file reads inputs and renders.

use crate::cmd::common::InputArgs;
use crate::domain::avvik::Niva;
use crate::domain::ids::Knr;
use crate::domain::rules::fht::{self, Frist};
use crate::input::{self, LoadOptions};
use crate::output::csv_writer;
use crate::Outcome;
use anyhow::Context;
use chrono::{Datelike, NaiveDate};
use std::io;
use std::path::PathBuf;
use tabled::settings::Style;
use tabled::{Table, Tabled};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
    #[arg(long, value_name = "PATH", required = true)]
    pub rates: Vec<PathBuf>,
    /// Earlier decisions (vedtak), to know which years were applied for and which accounts are due.
    #[arg(long, value_name = "FILE")]
    pub vedtak: Option<PathBuf>,
    /// Only this municipality (of residence on --from).
    #[arg(long, value_name = "KNR", value_parser = parse_knr_arg)]
    pub kommune: Option<Knr>,
    /// Deadlines on or after this date (default today; give it for reproducible output). YYYY-MM-DD or
    /// DD.MM.YYYY, years 1900–9999 (so --from + --days stays in the calendar).
    #[arg(long, value_name = "DATE", value_parser = crate::input::values::parse_date_arg)]
    pub from: Option<NaiveDate>,
    /// Deadlines within this many days after --from.
    #[arg(long, value_name = "N", default_value_t = 90,
          value_parser = clap::value_parser!(u32).range(0..=36_600))]
    pub days: u32,
    /// Also write the list as CSV (holds full person numbers; written owner-readable only).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
}

#[derive(Tabled)]
struct Rad {
    frist: String,
    fnr: String,
    kommune: String,
    hva: String,
    #[tabled(rename = "år")]
    ar: u8,
    periode: String,
    merknad: String,
}

fn iso(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn write_csv(w: &mut dyn io::Write, rows: &[Frist]) -> io::Result<()> {
    let mut csv = csv_writer(w);
    csv.write_record([
        "frist",
        "fnr",
        "kommunenummer",
        "hva",
        "tilskuddsar",
        "periode_fra",
        "periode_til",
        "forfalt",
    ])
    .map_err(io::Error::other)?;
    for f in rows {
        csv.write_record([
            iso(f.frist),
            f.fnr.as_str().to_string(),
            f.kommunenummer.to_string(),
            f.typ.as_str().to_string(),
            f.tilskuddsar.to_string(),
            iso(f.periode.fra),
            iso(f.periode.til),
            if f.forfalt { "ja" } else { "nei" }.to_string(),
        ])
        .map_err(io::Error::other)?;
    }
    csv.flush()
}

/// `--kommune`: a kommunenummer (ID-3), or a usage error (exit 2).
fn parse_knr_arg(s: &str) -> Result<Knr, String> {
    Knr::parse(s).map_err(|e| format!("kommunenummer {e}"))
}

pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let kommune = args.kommune;
    let from = args
        .from
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    let to = from
        .checked_add_days(chrono::Days::new(u64::from(args.days)))
        .context("--days goes beyond the calendar")?;

    let run_year = chrono::Local::now().year();
    let (kommuner, dsf) = crate::cmd::common::load_register_and_dsf(&args.input, run_year)?;
    let opts = LoadOptions {
        run_year,
        reject_synthetic: args.input.no_synthetic,
        kommuner: kommuner.as_ref().map(|k| &k.data),
        ledger_before: None,
    };
    let mut avvik = Vec::new();
    if let Some(k) = &kommuner {
        avvik.extend(k.avvik.iter().cloned());
    }
    avvik.extend(dsf.avvik);
    let rates = crate::cmd::common::load_rates_for_calculation(&args.rates)?;
    avvik.extend(rates.avvik);
    let vedtak = match &args.vedtak {
        Some(p) => {
            let v = input::load_vedtak(p, &opts)?;
            avvik.extend(v.avvik);
            v.data
        }
        None => Vec::new(),
    };
    for a in &avvik {
        eprintln!("{a}");
    }

    let rows = fht::frister(&dsf.data, &vedtak, &rates.data, from, to, kommune)?;

    if let Some(path) = &args.csv {
        let (mut dir, name) = crate::cmd::common::output_for_file(path, "--csv")?;
        dir.write_file(&name, true, |w| write_csv(w, &rows))
            .with_context(|| format!("writing {}", path.display()))?;
        dir.commit()
            .with_context(|| format!("writing {}", path.display()))?;
    }

    println!(
        "frister {} – {}{}: {}",
        iso(from),
        iso(to),
        kommune
            .map(|k| format!(", kommune {k}"))
            .unwrap_or_default(),
        rows.len()
    );
    if !rows.is_empty() {
        let table = Table::new(rows.iter().map(|f| Rad {
            frist: iso(f.frist),
            fnr: f.fnr.masked(),
            kommune: f.kommunenummer.to_string(),
            hva: f.typ.as_str().into(),
            ar: f.tilskuddsar,
            periode: format!("{} – {}", iso(f.periode.fra), iso(f.periode.til)),
            merknad: if f.forfalt { "forfalt" } else { "" }.into(),
        }))
        .with(Style::sharp())
        .to_string();
        println!("{table}");
    }
    Ok(if avvik.iter().any(|a| a.niva == Niva::Avvist) {
        Outcome::RowsRejected
    } else {
        Outcome::Clean
    })
}
