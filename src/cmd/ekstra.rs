//! `tilskudd ekstra`: formal checks of applications for the extra grant (SPEC §5). Reads the applications,
//! the DSF extract, the rates and earlier decisions, checks every application (FHT-1…FHT-9, in
//! [`crate::domain::rules::fht`]), writes `vedtak.csv` and prints a summary with masked person numbers.
//! `--explain ID` prints the trail of one application, rule by rule.

use crate::cmd::common::InputArgs;
use crate::domain::avvik::{Avvik, Niva};
use crate::domain::money::fmt_money;
use crate::domain::rates::{RateCode, RateStatus, RateTable};
use crate::domain::rules::fht::{self, ExplainStep, FhtGrunnlag, Status, Vurdering};
use crate::input::{self, LoadOptions};
use crate::output::basis::{write_avvik, AVVIK_FILE};
use crate::output::{vedtak, OutputDir};
use crate::Outcome;
use anyhow::Context;
use chrono::Datelike;
use std::collections::BTreeSet;
use std::path::PathBuf;
use tabled::settings::Style;
use tabled::{Table, Tabled};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Applications (soknader), CSV or .xlsx.
    #[arg(long, value_name = "FILE")]
    pub soknader: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    #[arg(long, value_name = "PATH", required = true)]
    pub rates: Vec<PathBuf>,
    /// Earlier decisions (vedtak), CSV or .xlsx.
    #[arg(long, value_name = "FILE")]
    pub vedtak: Option<PathBuf>,
    /// Output folder for vedtak.csv (required unless --explain is given).
    #[arg(long, value_name = "DIR", required_unless_present = "explain")]
    pub out: Option<PathBuf>,
    /// Print every check of this application (soknad_id) with its rule id and the dates compared.
    #[arg(long, value_name = "SOKNAD_ID")]
    pub explain: Option<String>,
}

/// Everything `ekstra` (and `explain` for an application) reads.
pub struct EkstraInput {
    pub extract: crate::domain::person::Extract,
    pub rates: RateTable,
    pub soknader: Vec<crate::domain::soknad::Soknad>,
    pub vedtak: Vec<crate::domain::soknad::TidligereVedtak>,
    /// Rejected rows and warnings of every reader, in reading order.
    pub avvik: Vec<Avvik>,
}

/// Loads the inputs of an FHT run (SPEC §1, §5).
pub fn load(
    input: &InputArgs,
    rates: &[PathBuf],
    soknader: &std::path::Path,
    vedtak: Option<&std::path::Path>,
) -> anyhow::Result<EkstraInput> {
    let run_year = chrono::Local::now().year();
    let (kommuner, dsf) = crate::cmd::common::load_register_and_dsf(input, run_year)?;
    let opts = LoadOptions {
        run_year,
        reject_synthetic: input.no_synthetic,
        kommuner: kommuner.as_ref().map(|k| &k.data),
        ledger_before: None,
    };
    let mut avvik = Vec::new();
    if let Some(k) = &kommuner {
        avvik.extend(k.avvik.iter().cloned());
    }
    avvik.extend(dsf.avvik);
    let r = crate::cmd::common::load_rates_for_calculation(rates)?;
    avvik.extend(r.avvik);
    let s = input::load_soknader(soknader, &opts)?;
    avvik.extend(s.avvik);
    let v = match vedtak {
        Some(p) => {
            let v = input::load_vedtak(p, &opts)?;
            avvik.extend(v.avvik);
            v.data
        }
        None => Vec::new(),
    };
    Ok(EkstraInput {
        extract: dsf.data,
        rates: r.data,
        soknader: s.data,
        vedtak: v,
        avvik,
    })
}

/// The trail as printed lines (`FHT-2  …`).
pub fn format_steps(steps: &[ExplainStep]) -> String {
    let mut s = String::new();
    for st in steps {
        s.push_str(&crate::domain::ids::mask_text(&st.to_string()));
        s.push('\n');
    }
    s
}

#[derive(Tabled)]
struct Rad {
    #[tabled(rename = "søknad")]
    soknad: String,
    fnr: String,
    kommune: String,
    #[tabled(rename = "type")]
    typ: String,
    #[tabled(rename = "år")]
    ar: u8,
    frist: String,
    status: String,
    #[tabled(rename = "årsaker")]
    arsaker: String,
    #[tabled(rename = "foreslått")]
    foreslatt: String,
}

fn rad(v: &Vurdering) -> Rad {
    Rad {
        soknad: crate::domain::ids::mask_text(&v.soknad_id),
        fnr: v.fnr.masked(),
        kommune: v.kommunenummer.to_string(),
        typ: v.typ.as_str().into(),
        ar: v.tilskuddsar,
        frist: v
            .frist
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| "–".into()),
        status: v.status.as_str().into(),
        arsaker: v.arsaker().join(" "),
        foreslatt: fmt_money(v.foreslatt_belop),
    }
}

/// The rates used by the rows, with status: every report says which rates were used (SPEC §1.6).
fn satser_brukt(rows: &[Vurdering], rates: &RateTable) -> Vec<String> {
    let used: BTreeSet<(i32, RateCode)> =
        rows.iter().flat_map(|v| v.satser.iter().copied()).collect();
    used.iter()
        .filter_map(|(y, k)| rates.get(*y, *k).ok())
        .map(|r| {
            let verdi = if r.kode == RateCode::FhtFristMnd {
                format!("{} mnd", r.belop.normalize())
            } else {
                fmt_money(r.belop)
            };
            format!(
                "  {} {:<24} {:>14} {}{}",
                r.ar,
                r.kode.as_str(),
                verdi,
                r.status,
                if r.status == RateStatus::Vedtatt {
                    ""
                } else {
                    "  (ikke vedtatt)"
                }
            )
        })
        .collect()
}

pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    // [model (g)] Not into a finished termin's folder: its avvik.csv would be replaced (said before reading).
    if let Some(out) = &args.out {
        crate::cmd::common::refuse_termin_outputs(out, &[vedtak::FILE_NAME, AVVIK_FILE], "--out")?;
    }
    let inp = load(
        &args.input,
        &args.rates,
        &args.soknader,
        args.vedtak.as_deref(),
    )?;
    for a in &inp.avvik {
        eprintln!("{a}");
    }
    let rejected = inp.avvik.iter().any(|a| a.niva == Niva::Avvist);
    let g = FhtGrunnlag::new(&inp.extract.personer, &inp.vedtak, &inp.rates);

    if let Some(id) = &args.explain {
        let steps = fht::explain_soknad(id, &inp.soknader, &g)
            .with_context(|| {
                format!(
                    "no application with soknad_id '{}' in the applications",
                    crate::domain::ids::mask_text(id)
                )
            })?
            .with_context(|| format!("checking the application in {}", args.soknader.display()))?;
        print!("{}", format_steps(&steps));
    }

    if let Some(out) = &args.out {
        // A missing rate stops the run (docs/ekstra.md decision 13), naming the application and its file.
        let rows = fht::vurder_alle(&inp.soknader, &g)
            .with_context(|| format!("checking the applications in {}", args.soknader.display()))?;
        let mut dir = OutputDir::create(out)
            .with_context(|| format!("cannot create output folder {}", out.display()))?;
        // Again once the folder exists and is locked (`q4/new/..` names q4 only then).
        crate::cmd::common::refuse_termin_outputs(out, &[vedtak::FILE_NAME, AVVIK_FILE], "--out")?;
        dir.write_file(vedtak::FILE_NAME, true, |w| vedtak::write_vedtak(w, &rows))
            .with_context(|| format!("writing {}", out.join(vedtak::FILE_NAME).display()))?;
        // Every rejected input row (and warning) also lands in avvik.csv, as for `termin` (SPEC §6).
        dir.write_file(AVVIK_FILE, true, |w| write_avvik(w, &inp.avvik))
            .with_context(|| format!("writing {}", out.join(AVVIK_FILE).display()))?;
        dir.commit()
            .with_context(|| format!("writing into {}", out.display()))?;

        if args.explain.is_none() && !rows.is_empty() {
            println!("{}", Table::new(rows.iter().map(rad)).with(Style::sharp()));
        }
        let mut telling = std::collections::BTreeMap::<Status, usize>::new();
        for v in &rows {
            *telling.entry(v.status).or_default() += 1;
        }
        let summary: Vec<String> = telling
            .iter()
            .map(|(s, n)| format!("{} {}", n, s.as_str()))
            .collect();
        let skrevet = out.join(vedtak::FILE_NAME);
        if rows.is_empty() {
            println!(
                "ingen søknader å vurdere; skrevet {} (bare overskriften)",
                skrevet.display()
            );
        } else {
            println!(
                "{} søknader: {}; skrevet {}",
                rows.len(),
                summary.join(", "),
                skrevet.display()
            );
        }
        let satser = satser_brukt(&rows, &inp.rates);
        if !satser.is_empty() {
            println!("satser brukt:");
            for s in satser {
                println!("{s}");
            }
        }
    }
    if rejected {
        let n = crate::domain::avvik::rejected_rows(&inp.avvik);
        eprintln!(
            "{n} input {} rejected (see the messages above)",
            if n == 1 { "row" } else { "rows" }
        );
        Ok(Outcome::RowsRejected)
    } else {
        Ok(Outcome::Clean)
    }
}
