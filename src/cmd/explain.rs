//! `tilskudd explain`: the whole calculation trail for one person, each step with its rule id.
//!
//! It calls the engine's own functions ([`Engine::assess`] with tracing, then [`net_person`]), so the
//! lines it shows are the person's `grunnlag.csv` lines, not a second calculation. `--lines FILE` writes
//! them in `grunnlag.csv` format (full person number, private file) for a byte-for-byte comparison; the
//! terminal shows the number masked.

use crate::cmd::common::InputArgs;
use crate::cmd::termin::TerminInputs;
use crate::domain::basis::{BasisLine, TerminSummary};
use crate::domain::engine::{net_person, Assessment, Engine, Params, Status};
use crate::domain::ids::Fnr;
use crate::domain::money::{fmt_money, round_ore};
use crate::domain::rates::MissingRate;
use crate::domain::termin::Termin;
use crate::output::basis::{grunnlag_record, GRUNNLAG_HEADER};
use crate::output::csv_writer;
use crate::Outcome;
use anyhow::{anyhow, Context};
use chrono::Datelike;
use rust_decimal::Decimal;
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The person's fødselsnummer or D-nummer (11 digits). A number that is not one is a usage error
    /// (exit 2); clap's message is masked like every other (src/main.rs).
    #[arg(value_parser = parse_fnr_arg)]
    pub fnr: Fnr,
    #[arg(long)]
    pub termin: Termin,
    #[command(flatten)]
    pub input: InputArgs,
    #[arg(long, value_name = "PATH", required = true)]
    pub rates: Vec<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub paid: Vec<PathBuf>,
    #[arg(long, value_name = "DATE", value_parser = crate::input::values::parse_date_arg)]
    pub basis_date: Option<chrono::NaiveDate>,
    #[arg(long, value_name = "YEAR", default_value_t = 2021)]
    pub auto_from: i32,
    /// Also write the person's lines in grunnlag.csv format (with the full person number) to FILE.
    #[arg(long, value_name = "FILE")]
    pub lines: Option<PathBuf>,
    /// Applications for the extra grant: also explain every application for this person, check by check
    /// (FHT-1…FHT-9), as `tilskudd ekstra --explain` does for one application.
    #[arg(long, value_name = "FILE")]
    pub soknader: Option<PathBuf>,
    /// Earlier extra-grant decisions (vedtak), used with --soknader.
    #[arg(long, value_name = "FILE", requires = "soknader")]
    pub vedtak: Option<PathBuf>,
}

fn parse_fnr_arg(s: &str) -> Result<Fnr, String> {
    Fnr::parse(s).map_err(|e| format!("not a valid person number: {e}"))
}

pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let fnr = args.fnr;
    let params = Params::new(args.termin, args.basis_date, args.auto_from);
    let inputs = TerminInputs::load(
        &args.input,
        &args.rates,
        &args.paid,
        params.basis_date.year(),
        params.termin,
        false,
    )?;
    let engine = Engine::new(params, &inputs.extract, &inputs.rates, &inputs.ledger);
    // The whole run only for T-3 (whether each municipality is paid); a failure there is reported, not fatal.
    let full = engine.run_sums(inputs.kommuner.as_ref());
    // Input rows about this person that the readers rejected or warned about come first: a rejected row
    // is why a person may be missing from the calculation.
    let own: Vec<String> = inputs
        .avvik
        .iter()
        .filter(|a| a.fnr == Some(fnr))
        .map(|a| format!("  {a}\n"))
        .collect();
    if !own.is_empty() {
        print!(
            "input rows about {} with problems (avvik):\n{}",
            fnr.masked(),
            own.concat()
        );
    }
    let (text, lines) = match explain(&engine, full.as_ref().ok(), full.as_ref().err(), fnr) {
        Ok(x) => x,
        Err(e) if !own.is_empty() => {
            return Err(e.context("the person's rows were rejected by the readers (listed above)"))
        }
        Err(e) => return Err(e),
    };
    print!("{text}");
    let mut applications_rejected = false;
    if let Some(soknader) = &args.soknader {
        let (text, rejected) = explain_applications(args, soknader, fnr)?;
        print!("{text}");
        applications_rejected = rejected;
    }
    if let Some(path) = &args.lines {
        let (mut out, name) = crate::cmd::common::output_for_file(path, "--lines")?;
        out.write_file(&name, true, |w| write_lines(w, args.termin, &lines))
            .with_context(|| format!("writing {}", path.display()))?;
        out.commit()?;
    }
    // Exit 3 like termin when input rows were rejected (SPEC §7): the trail was computed without them.
    Ok(if inputs.rows_rejected() || applications_rejected {
        Outcome::RowsRejected
    } else {
        Outcome::Clean
    })
}

/// The extra-grant trail of every application for the person (SPEC §5), from the same assessment
/// `tilskudd ekstra` writes to vedtak.csv, and whether rows of the application files (`--soknader`,
/// `--vedtak`) were rejected. The person's own problems there are listed first, and any rejected row is
/// noted: the trail is computed without it (a rejected earlier decision can turn a grant into a refusal).
fn explain_applications(
    args: &Args,
    soknader: &std::path::Path,
    fnr: Fnr,
) -> anyhow::Result<(String, bool)> {
    use crate::cmd::ekstra;
    use crate::domain::rules::fht;
    let e = ekstra::load(&args.input, &args.rates, soknader, args.vedtak.as_deref())?;
    let g = fht::FhtGrunnlag::new(&e.extract.personer, &e.vedtak, &e.rates);
    let trail = fht::explain_person(&fnr, &e.soknader, &g)?;
    let mut s = String::from("\nExtra grant (FHT) applications\n");
    // The other readers' avvik were listed with the trail above.
    let files: Vec<String> = std::iter::once(soknader)
        .chain(args.vedtak.as_deref())
        .map(crate::input::table::display)
        .collect();
    let of_files: Vec<&crate::domain::avvik::Avvik> = e
        .avvik
        .iter()
        .filter(|a| {
            files
                .iter()
                .any(|f| a.fil == *f || a.fil.starts_with(&format!("{f}[")))
        })
        .collect();
    let own: Vec<String> = of_files
        .iter()
        .filter(|a| a.fnr == Some(fnr))
        .map(|a| format!("  {a}\n"))
        .collect();
    if !own.is_empty() {
        let _ = write!(
            s,
            "application rows about {} with problems (avvik):\n{}",
            fnr.masked(),
            own.concat()
        );
    }
    let rejected = crate::domain::avvik::rejected_rows(of_files.iter().copied());
    if rejected > 0 {
        let _ = writeln!(
            s,
            "note: {rejected} row(s) of the application files were rejected (`tilskudd ekstra` lists them in \
             avvik.csv); the trail below is computed without them"
        );
    }
    if trail.is_empty() {
        let _ = writeln!(s, "  none for {} in {}", fnr.masked(), soknader.display());
    }
    for (id, steps) in trail {
        let _ = writeln!(s, "\nsoknad {}", crate::domain::ids::mask_text(&id));
        s.push_str(&ekstra::format_steps(&steps));
    }
    Ok((s, rejected > 0))
}

fn write_lines<W: std::io::Write>(
    w: W,
    termin: Termin,
    lines: &[BasisLine],
) -> std::io::Result<()> {
    let mut c = csv_writer(w);
    c.write_record(GRUNNLAG_HEADER)?;
    for l in lines {
        c.write_record(grunnlag_record(termin, l))?;
    }
    c.flush()
}

/// The trail for one person as text, and the person's basis lines (exactly as in `grunnlag.csv`).
pub fn explain(
    engine: &Engine,
    full: Option<&TerminSummary>,
    full_err: Option<&MissingRate>,
    fnr: Fnr,
) -> anyhow::Result<(String, Vec<BasisLine>)> {
    let prm = engine.params;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "explain {} — termin {} (basis date {}, automatic payment from {})",
        fnr.masked(),
        prm.termin,
        prm.basis_date,
        prm.auto_from
    );
    let paid = engine.paid_lines(&fnr);
    let Some(p) = engine.person(&fnr) else {
        if paid.is_empty() {
            return Err(anyhow!(
                "{} is neither in the DSF extract nor in the ledger",
                fnr.masked()
            ));
        }
        let _ = writeln!(s, "[T-2] not in the DSF extract: its {} ledger line(s) are left alone (no line, avvik ukjent_person_i_reskontro):", paid.len());
        for l in paid {
            let _ = writeln!(
                s,
                "  {} {} {} {}: {} ({})",
                l.termin,
                l.key.kommune,
                l.key.kode,
                l.key.ar,
                fmt_money(l.belop),
                l.origin
            );
        }
        return Ok((crate::domain::ids::mask_text(&s), Vec::new()));
    };
    let _ = writeln!(
        s,
        "person: born {}, settled {} in {}, sak '{}', malgruppe {}, enslig_mindrearig {}, bosatt_etter_avtale {}, tidligere_utlost {} ({} line {})",
        p.fodselsdato,
        p.bosettingsdato,
        p.bosettingskommune,
        p.sak_id,
        p.malgruppe,
        yn(p.enslig_mindrearig),
        yn(p.bosatt_etter_avtale),
        yn(p.tidligere_utlost),
        engine.extract.personer_file,
        p.line
    );
    let a: Assessment = engine.assess(p, true)?;
    for st in &a.steps {
        let _ = writeln!(s, "[{}] {}", st.rule, st.text);
    }
    match a.status {
        Status::Excluded(e) => {
            let _ = writeln!(s, "=> OUT: {} ({}); nothing accrues", e.code(), e.rule());
        }
        Status::Included => {
            let _ = writeln!(
                s,
                "=> IN: effective settlement {} in {} (år 1 = {})",
                a.settlement_date,
                a.settlement_kommune,
                a.settlement_year()
            );
        }
    }
    for av in &a.avvik {
        let _ = writeln!(
            s,
            "   avvik {} ({}): {}",
            av.kode,
            av.niva.as_str(),
            av.melding
        );
    }
    for y in &a.years {
        let rate = engine.rates.get(y.ar, y.kode);
        let rate_txt = match rate {
            Ok(r) => format!("status {}, kilde: {}, from {}", r.status, r.kilde, r.origin),
            Err(_) => "not in the table".into(),
        };
        let _ = writeln!(
            s,
            "\n{} {} (år {}): rate {} for {} {} [IT-7] — {}; {}",
            y.kode,
            y.ar,
            y.tilskuddsar,
            fmt_money(y.sats),
            y.ar,
            y.kode,
            rate_txt,
            if y.monthly {
                "due month by month as covered by the termin [IT-12]"
            } else if y.months.is_empty() {
                "one-off, whole to the settlement municipality, due in full [IT-9, IT-12]"
            } else {
                "due in full in the first termin the person counts [IT-12]"
            }
        );
        if y.months.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "  month  reads (IT-10)  owner  round(A·m/12) (IT-13)  amount      counted"
        );
        for m in &y.months {
            let cum = round_ore(y.sats * Decimal::from(m.month) / Decimal::from(12));
            let _ = writeln!(
                s,
                "  {}-{:02}  {}     {}   {:>20}  {:>10}  {}",
                y.ar,
                m.month,
                m.reference,
                m.owner,
                fmt_money(cum),
                fmt_money(m.amount),
                match m.cut_by {
                    None => "yes".to_string(),
                    Some(r) => format!("no ({r})"),
                }
            );
        }
    }
    let lines = net_person(&a, paid);
    let _ = writeln!(
        s,
        "\nlines (T-1 accrued, T-2 a_utbetale = opptjent − tidligere_utbetalt):"
    );
    for l in &lines {
        let _ = writeln!(
            s,
            "  {} {} {} (år {}{}): opptjent {} − tidligere {} = {}  [{}]",
            l.key.kommune,
            l.key.kode,
            l.key.ar,
            l.tilskuddsar,
            l.maneder
                .map(|m| format!(", {m} months"))
                .unwrap_or_default(),
            fmt_money(l.opptjent),
            fmt_money(l.tidligere_utbetalt),
            fmt_money(l.a_utbetale),
            l.regler.join("|")
        );
        for pl in paid.iter().filter(|pl| pl.key == l.key) {
            let _ = writeln!(
                s,
                "      paid {} {} ({})",
                pl.termin,
                fmt_money(pl.belop),
                pl.origin
            );
        }
        match full.and_then(|r| r.kommuner.iter().find(|k| k.kommune == l.key.kommune)) {
            Some(k) if k.utbetales => {
                let _ = writeln!(
                    s,
                    "      [T-3] {} sums {} > 0: paid now {}",
                    k.kommune,
                    fmt_money(k.sum),
                    fmt_money(l.a_utbetale)
                );
            }
            Some(k) => {
                let _ = writeln!(
                    s,
                    "      [T-3] {} sums {} ≤ 0: nothing paid this termin, carried forward",
                    k.kommune,
                    fmt_money(k.sum)
                );
            }
            None => {
                if let Some(e) = full_err {
                    let _ = writeln!(s, "      [T-3] not known: the full termin run stops ({e})");
                }
            }
        }
    }
    if lines.is_empty() {
        let _ = writeln!(s, "  (none)");
    }
    let _ = writeln!(
        s,
        "\ngrunnlag.csv lines (fnr masked; --lines FILE writes them in full):"
    );
    let _ = writeln!(s, "{}", GRUNNLAG_HEADER.join(","));
    for l in &lines {
        let mut rec = grunnlag_record(prm.termin, l);
        rec[2] = fnr.masked();
        let _ = writeln!(s, "{}", rec.join(","));
    }
    // Terminal output never shows a whole person number (SPEC §6), whatever a free-text field held.
    Ok((crate::domain::ids::mask_text(&s), lines))
}

fn yn(b: bool) -> &'static str {
    if b {
        "ja"
    } else {
        "nei"
    }
}
