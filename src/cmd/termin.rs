//! `tilskudd termin`: the quarterly batch (SPEC §4). Reads the inputs, runs the engine, writes
//! `grunnlag.csv`, `kommuner.csv`, `utbetalt.csv`, `avvik.csv` and `manifest.json` atomically, and prints a
//! summary per municipality (person numbers never reach the terminal).

use crate::cmd::common::InputArgs;
use crate::domain::avvik::{Avvik, Niva};
use crate::domain::basis::{BasisLine, TerminSummary};
use crate::domain::engine::{Engine, Params, RunError};
use crate::domain::ids::Kontonr;
use crate::domain::kommune::KommuneRegister;
use crate::domain::ledger::{LedgerBatch, LedgerFeed, LedgerLine};
use crate::domain::money::fmt_money;
use crate::domain::person::Extract;
use crate::domain::rates::{RateCode, RateStatus, RateTable};
use crate::domain::termin::Termin;
use crate::input::{self, FileStats, LoadOptions};
use crate::output::basis as writers;
use crate::output::manifest::{self, ManifestInput, MANIFEST_FILE};
use crate::output::payment::{self, PaymentOptions, PaymentSummary};
use crate::output::{split, xlsx, OutputDir};
use crate::Outcome;
use anyhow::{bail, Context};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The termin: 2024-Q3, 2024Q3 or 3/2024.
    pub termin: Termin,
    #[command(flatten)]
    pub input: InputArgs,
    /// Rate tables (files or folders; repeatable).
    #[arg(long, value_name = "PATH", required = true)]
    pub rates: Vec<PathBuf>,
    /// Ledger of earlier payments (utbetalt.csv of the previous termin; repeatable).
    #[arg(long, value_name = "FILE")]
    pub paid: Vec<PathBuf>,
    /// Registration cut-off (IT-2); default the quarter's last day.
    #[arg(long, value_name = "DATE", value_parser = crate::input::values::parse_date_arg)]
    pub basis_date: Option<NaiveDate>,
    /// First settlement year paid automatically (IT-3).
    #[arg(long, value_name = "YEAR", default_value_t = 2021)]
    pub auto_from: i32,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Write payment files even when a rate used is not `vedtatt` (T-5).
    #[arg(long)]
    pub allow_unadopted_rates: bool,
    /// Also write one folder per municipality holding only its own basis (kommuner/KNR/).
    #[arg(long)]
    pub split_kommuner: bool,
    /// IMDi's debit account (BBAN, 11 digits) for the payment file; or set it in --config.
    #[arg(long, value_name = "KONTONR")]
    pub debtor_account: Option<String>,
    /// Configuration file for payment settings (debtor account, …).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Creation time stamped in the payment file (ISO 8601); default the basis date at 00:00, so reruns
    /// are byte-identical.
    #[arg(long, value_name = "DATETIME")]
    pub created: Option<String>,
    /// Overwrite an existing output folder that already holds a termin.
    #[arg(long)]
    pub force: bool,
    /// Rows at most in the `Linjer` and `Avvik` sheets of rapport.xlsx (the CSV files hold every row;
    /// large sheets are slow to build). At most 1048574.
    #[arg(long, value_name = "N", default_value_t = xlsx::MAX_DATA_ROWS)]
    pub report_rows: usize,
}

/// Every input of a termin calculation, read and checked (shared with `explain`).
pub struct TerminInputs {
    pub extract: Extract,
    pub rates: RateTable,
    pub kommuner: Option<KommuneRegister>,
    /// The ledger read in, when held in memory (empty when streamed, see `ledger_stream`).
    pub ledger: Vec<LedgerLine>,
    /// A ledger file read during the run instead of held (issue 6); its avvik, counts and checksum are
    /// known once the run has read it ([`LedgerRead`]), and are not in the fields below.
    pub ledger_stream: Option<StreamedLedger>,
    /// Ledger lines dropped as repeats of the same payment (`dobbel_reskontrolinje`); a streamed
    /// ledger's are in its [`LedgerRead`].
    pub ledger_duplicates: u64,
    /// Reader avvik of every input, in the order kommuner, dsf, rates, ledger (a streamed ledger's are in
    /// its [`LedgerRead`]); `manifest_inputs` likewise, and `stats` has no entry for a streamed ledger
    /// (`termin` uses the extract's only).
    pub avvik: Vec<Avvik>,
    pub stats: Vec<FileStats>,
    pub manifest_inputs: Vec<ManifestInput>,
}

/// A ledger file (`--paid`) streamed to the engine during the run: one CSV file (its header checked when
/// the inputs were read), read once while the termin runs (`input::ledger::stream`). It must be in T-4
/// order, as `termin` writes `utbetalt.csv`, and UTF-8; if it is not, the run is done again with the file
/// held ([`HoldLedger`]).
pub struct StreamedLedger {
    pub path: PathBuf,
    run_year: i32,
    /// The termin computed: every line must be of an earlier one.
    termin: Termin,
    reject_synthetic: bool,
    /// Lines sent to the engine at a time.
    batch: usize,
}

/// What the reading of a streamed ledger says of it, once the run has read it: what
/// [`TerminInputs`] holds for a ledger read before the run.
#[derive(Debug, Default)]
pub struct LedgerRead {
    /// The reader's avvik, then the repeats' warnings.
    pub avvik: Vec<Avvik>,
    pub manifest_inputs: Vec<ManifestInput>,
    /// Lines sent to the run, and lines dropped as repeats of the same payment.
    pub lines: u64,
    pub duplicates: u64,
}

/// A streamed ledger turned out not to be in T-4 order, or not UTF-8: the termin must be computed again
/// with the ledger held ([`TerminInputs::hold_ledger`]; the outputs of the stopped run were never
/// committed).
#[derive(Debug, thiserror::Error)]
#[error("the ledger {path} cannot be streamed ({why}); it is read again and held")]
pub struct HoldLedger {
    pub path: String,
    pub why: &'static str,
}

/// The ledger's reader thread: the file's reading, once it is read whole.
pub type LedgerReader<'s> =
    std::thread::ScopedJoinHandle<'s, anyhow::Result<input::Loaded<input::ledger::Streamed>>>;

impl StreamedLedger {
    /// Sends the engine `n` lines at a time instead of [`input::ledger::STREAM_BATCH`] (tests: batches
    /// that cut the ledger anywhere).
    pub fn set_batch(&mut self, n: usize) {
        self.batch = n;
    }

    /// Reads the file on a thread (and thread pool) of its own, sending its lines to the feed the engine
    /// takes them from.
    pub fn start<'s>(
        &'s self,
        s: &'s std::thread::Scope<'s, '_>,
        kommuner: Option<&'s KommuneRegister>,
    ) -> (LedgerFeed, LedgerReader<'s>) {
        let (tx, rx) = std::sync::mpsc::sync_channel(2);
        let reader = s.spawn(move || {
            let opts = LoadOptions {
                run_year: self.run_year,
                reject_synthetic: self.reject_synthetic,
                kommuner,
                ledger_before: Some(self.termin),
            };
            // Its own pool (as many threads as the engine's, which checks rows while the engine runs): a
            // send that waits for the engine must not hold a thread the engine needs.
            let read = rayon::ThreadPoolBuilder::new()
                .num_threads(rayon::current_num_threads())
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|pool| {
                    pool.install(|| {
                        input::ledger::stream(&self.path, &opts, tx.clone(), self.batch)
                    })
                    .context("reading the ledger (--paid)")
                });
            if read.is_err() {
                // Not the end of the ledger: the run must not go on without the rest of it.
                let _ = tx.send(LedgerBatch::Stop);
            }
            read
        });
        (LedgerFeed::new(rx), reader)
    }

    /// What the file's reading says, once the run has ended (the feed dropped, so a reader the run no
    /// longer listens to reads on to the end): the checks the held ledger gets before its run (a rejected
    /// row, or two amounts for one payment, stop the run), or [`HoldLedger`]. Called before the run's own
    /// result is looked at: the ledger explains a stopped run (a line out of order stops it).
    pub fn finish(&self, reader: LedgerReader<'_>) -> anyhow::Result<LedgerRead> {
        let l = match reader.join() {
            Ok(r) => r?,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        let why = if !l.files.iter().all(|f| f.utf8) {
            Some("not UTF-8")
        } else if !l.data.in_order {
            Some("not in the order termin writes utbetalt.csv in")
        } else {
            None
        };
        if let Some(why) = why {
            return Err(HoldLedger {
                path: self.path.display().to_string(),
                why,
            }
            .into());
        }
        refuse_rejected_ledger_rows(&l)?;
        let mut avvik = l.avvik;
        let repeats = l.data.repeats?;
        let duplicates = repeats.len() as u64;
        avvik.extend(repeats);
        Ok(LedgerRead {
            avvik,
            manifest_inputs: manifest::inputs_of("paid", &l.files),
            lines: l.data.lines,
            duplicates,
        })
    }
}

/// A ledger read whole and held: its lines less repeats, and what the reader says of it.
struct HeldLedger {
    lines: Vec<LedgerLine>,
    avvik: Vec<Avvik>,
    /// The repeats' warnings (`dobbel_reskontrolinje`).
    repeats: Vec<Avvik>,
    stats: Vec<FileStats>,
    manifest_inputs: Vec<ManifestInput>,
}

impl HeldLedger {
    fn load(paid: &[PathBuf], opts: &LoadOptions) -> anyhow::Result<HeldLedger> {
        let l = input::load_ledger(paid, opts).context("reading the ledger (--paid)")?;
        refuse_rejected_ledger_rows(&l)?;
        let (lines, repeats) = crate::domain::engine::dedupe_ledger(l.data)?;
        Ok(HeldLedger {
            lines,
            avvik: l.avvik,
            repeats,
            stats: l.stats,
            manifest_inputs: manifest::inputs_of("paid", &l.files),
        })
    }
}

/// A ledger row that cannot be read is money paid before that T-2 would not deduct: it would be paid
/// again and drop out of the new ledger (T-4). Fatal, like a bad rate row [model (f)].
fn refuse_rejected_ledger_rows<T>(l: &input::Loaded<T>) -> anyhow::Result<()> {
    crate::cmd::common::refuse_rejected_rows(
        l,
        "the ledger (--paid) has",
        "what was paid before must not be paid again or dropped from the ledger",
    )
}

impl TerminInputs {
    /// Reads all inputs. A rate table with any rejected row is fatal [model (f)]: money must not depend
    /// on which of two duplicates was picked. `stream_ledger`: one ledger CSV file is not read now but
    /// during the run, and not held ([`StreamedLedger`]); `explain` holds it.
    pub fn load(
        input: &InputArgs,
        rates: &[PathBuf],
        paid: &[PathBuf],
        run_year: i32,
        termin: Termin,
        stream_ledger: bool,
    ) -> anyhow::Result<TerminInputs> {
        let mut avvik = Vec::new();
        let mut stats = Vec::new();
        let mut files = Vec::new();
        let kommuner = match &input.kommuner {
            Some(p) => {
                let l = input::load_kommuner(p).with_context(|| {
                    format!("reading the municipality register {}", p.display())
                })?;
                avvik.extend(l.avvik);
                stats.extend(l.stats);
                files.extend(manifest::inputs_of("kommuner", &l.files));
                Some(l.data)
            }
            None => None,
        };
        let opts = LoadOptions {
            run_year,
            reject_synthetic: input.no_synthetic,
            kommuner: kommuner.as_ref(),
            ledger_before: Some(termin),
        };
        // The ledger (often larger than the extract in a chained run) is read and deduplicated on its
        // own thread while the extract is read (issue 6) — or, one CSV file, streamed during the run
        // instead; errors are still reported in the order dsf, rates, ledger.
        let (dsf, ledger) = std::thread::scope(|s| {
            let ledger = s.spawn(|| -> anyhow::Result<_> {
                if paid.is_empty() {
                    return Ok(None);
                }
                if let ([path], true) = (paid, stream_ledger) {
                    // A regular file only: a pipe cannot be read again if it must be held after all.
                    let regular = std::fs::metadata(path).is_ok_and(|m| m.is_file());
                    if regular
                        && !input::table::is_workbook(path)
                        // A file known already not to be UTF-8 is held at once.
                        && input::ledger::check_header(path).context("reading the ledger (--paid)")?
                    {
                        return Ok(Some(Err(StreamedLedger {
                            path: path.clone(),
                            run_year,
                            termin,
                            reject_synthetic: input.no_synthetic,
                            batch: input::ledger::STREAM_BATCH,
                        })));
                    }
                }
                Ok(Some(Ok(HeldLedger::load(paid, &opts)?)))
            });
            let dsf = input::load_dsf(&input.dsf, &opts)
                .with_context(|| format!("reading the DSF extract {}", input.dsf.display()));
            let ledger = match ledger.join() {
                Ok(l) => l,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            (dsf, ledger)
        });
        let dsf = dsf?;
        avvik.extend(dsf.avvik);
        stats.extend(dsf.stats);
        files.extend(manifest::inputs_of("dsf", &dsf.files));
        let rt = crate::cmd::common::load_rates_for_calculation(rates)?;
        avvik.extend(rt.avvik);
        stats.extend(rt.stats);
        files.extend(manifest::inputs_of("rates", &rt.files));
        let ledger = ledger?;
        let mut inputs = TerminInputs {
            extract: dsf.data,
            rates: rt.data,
            kommuner,
            ledger: Vec::new(),
            ledger_stream: None,
            ledger_duplicates: 0,
            avvik,
            stats,
            manifest_inputs: files,
        };
        match ledger {
            None => {}
            Some(Err(stream)) => inputs.ledger_stream = Some(stream),
            Some(Ok(held)) => inputs.take_held(held),
        }
        Ok(inputs)
    }

    /// A ledger read and held: its lines, and its avvik, counts and checksum after the other inputs'.
    fn take_held(&mut self, held: HeldLedger) {
        self.ledger_duplicates = held.repeats.len() as u64;
        self.avvik.extend(held.avvik);
        self.avvik.extend(held.repeats);
        self.stats.extend(held.stats);
        self.manifest_inputs.extend(held.manifest_inputs);
        self.ledger = held.lines;
    }

    /// A streamed ledger that could not be streamed ([`HoldLedger`]) read again and held, as `load`
    /// holds a ledger: its avvik, counts and checksum after the other inputs'.
    pub fn hold_ledger(&mut self) -> anyhow::Result<()> {
        let Some(stream) = self.ledger_stream.take() else {
            return Ok(());
        };
        let opts = LoadOptions {
            run_year: stream.run_year,
            reject_synthetic: stream.reject_synthetic,
            kommuner: self.kommuner.as_ref(),
            ledger_before: Some(stream.termin),
        };
        let held = HeldLedger::load(std::slice::from_ref(&stream.path), &opts)?;
        self.take_held(held);
        Ok(())
    }

    fn stats_of(&self, file: &str) -> Option<&FileStats> {
        self.stats.iter().find(|s| s.file == file)
    }

    /// Reader rows rejected (bad data): exit 3 [model (e)].
    pub fn rows_rejected(&self) -> bool {
        self.avvik.iter().any(|a| a.niva == Niva::Avvist)
    }
}

/// [model (g)] An `--out` folder holding a finished termin (its `manifest.json`) is overwritten only with
/// `--force`; `when` says more of how it came there.
fn refuse_finished_termin(args: &Args, when: &str) -> anyhow::Result<()> {
    if args.out.join(MANIFEST_FILE).exists() && !args.force {
        bail!(
            "{} already holds a termin (manifest.json{when}); choose another --out folder or give --force to overwrite it",
            args.out.display()
        );
    }
    Ok(())
}

pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let params = Params::new(args.termin, args.basis_date, args.auto_from);
    // [model (g)] never overwrite a finished termin by accident.
    refuse_finished_termin(args, "")?;
    // Payment options are checked before any work, so a typo in --debtor-account fails in a second.
    let pay_opts = payment_options(args, params.basis_date)?;
    let mut timer = PhaseTimer::from_env();
    let mut inputs = TerminInputs::load(
        &args.input,
        &args.rates,
        &args.paid,
        params.basis_date.year(),
        params.termin,
        true,
    )?;
    timer.lap("read inputs");
    // One `--paid` CSV file is streamed during the run; one found not in T-4 order (made by hand) or not
    // UTF-8 stops that run early, and it is computed again with the ledger held (the other inputs as read).
    let outcome = match compute(args, &params, &pay_opts, &mut timer, &inputs) {
        Err(e) if e.is::<HoldLedger>() => {
            eprintln!("note: {e}");
            inputs.hold_ledger()?;
            timer.lap("read the ledger again, held");
            compute(args, &params, &pay_opts, &mut timer, &inputs)
        }
        r => r,
    };
    drop_in_background(inputs);
    outcome
}

/// The termin over inputs read: the engine run, the outputs written and committed, the summary printed.
fn compute(
    args: &Args,
    params: &Params,
    pay_opts: &PaymentOptions,
    timer: &mut PhaseTimer,
    inputs: &TerminInputs,
) -> anyhow::Result<Outcome> {
    let params = *params;
    {
        let register = inputs.kommuner.as_ref();
        std::thread::scope(|rs| -> anyhow::Result<Outcome> {
            let name_of = |k| register.and_then(|r| r.latest(k)).map(|r| r.navn.as_str());
            // rapport.xlsx is filled on its own thread while the engine indexes and runs (issue 6): the
            // reader's avvik at once, the first lines of the basis as soon as the run has them; the rest at
            // the end.
            let (preview_tx, preview_rx) = std::sync::mpsc::channel::<Vec<BasisLine>>();
            let (avvik_tx, avvik_rx) = std::sync::mpsc::channel::<Vec<Avvik>>();
            let report = rs.spawn(move || -> Result<xlsx::ReportBuilder, xlsx::ReportError> {
                let mut b =
                    xlsx::ReportBuilder::new(params.termin, params.basis_date, args.report_rows)?;
                b.add_avvik(&inputs.avvik)?;
                if let Ok(lines) = preview_rx.recv() {
                    b.add_lines(&lines, name_of)?;
                }
                // The engine's first avvik, while the payment files are written.
                if let Ok(avvik) = avvik_rx.recv() {
                    b.add_avvik(&avvik)?;
                }
                Ok(b)
            });
            let engine = Engine::new(params, &inputs.extract, &inputs.rates, &inputs.ledger);
            timer.lap("engine index");
            let mut out = OutputDir::create(&args.out)
                .with_context(|| format!("creating {}", args.out.display()))?;
            // Again now that the folder is locked: a run that started while another was writing here
            // passed the first check, and must not overwrite the termin that run has since finished.
            refuse_finished_termin(args, ", written while this run read its inputs")?;
            let ctx = || format!("writing to {}", args.out.display());
            // The basis and the new ledger are streamed to their files while the engine runs (issue 6):
            // only the sums, the first lines (for the report) and a flag per line of this termin are kept. A
            // missing rate stops the run (SPEC §1.6, §7 exit 1); dropping `out` then removes what was
            // written.
            let grunnlag = out
                .open_file(writers::GRUNNLAG_FILE, true)
                .with_context(ctx)?;
            let utbetalt = out
                .open_file(writers::UTBETALT_FILE, true)
                .with_context(ctx)?;
            let preview_rows = args.report_rows.min(xlsx::EXCEL_DATA_ROWS);
            let (run, stream, syncs, read) = std::thread::scope(|s| -> anyhow::Result<_> {
                let (gtx, grx) = std::sync::mpsc::sync_channel(writers::STREAM_QUEUE);
                let (utx, urx) = std::sync::mpsc::sync_channel(writers::STREAM_QUEUE);
                let gw = s.spawn(move || writers::drain_to(grx, grunnlag));
                let uw = s.spawn(move || writers::drain_to(urx, utbetalt));
                let stream = writers::BasisStream::new(
                    params.termin,
                    gtx,
                    utx,
                    preview_rows,
                    args.split_kommuner,
                )
                .and_then(|mut st| {
                    // A streamed ledger's lines without a person: their avvik are spilled, not held (a
                    // held ledger's are as many as its lines: kept in the summary).
                    if inputs.ledger_stream.is_some() {
                        st.spill_orphans(writers::OrphanSpill::create(&args.out, preview_rows)?);
                    }
                    Ok(st)
                });
                // A streamed ledger is read alongside the run (which cannot start without its sink).
                let mut ledger = match &stream {
                    Ok(_) => inputs
                        .ledger_stream
                        .as_ref()
                        .map(|l| (l, l.start(s, inputs.kommuner.as_ref()))),
                    Err(_) => None,
                };
                let (run, stream) = match stream {
                    Ok(mut stream) => {
                        let mut tap = PreviewTap {
                            stream: &mut stream,
                            rows: preview_rows,
                            tx: Some(preview_tx),
                        };
                        let run = engine.run_streaming_fed(
                            inputs.kommuner.as_ref(),
                            &mut tap,
                            ledger.as_mut().map(|(_, (feed, _))| feed),
                        );
                        // A basis shorter than the preview: the report gets all of it now.
                        tap.send_preview();
                        (run, Some(stream))
                    }
                    Err(e) => (Err(RunError::Sink(e)), None),
                };
                // Closing the channels (dropping the senders with the stream's parts) ends the writers.
                let stream = stream.map(|st| (st.flags, st.all_lines, st.orphans));
                let written = [gw.join(), uw.join()];
                // The ledger's reading first: a ledger the run cannot use (a rejected row, two amounts for
                // one payment, a file to hold instead) stops the run as it stopped a held ledger's before
                // the run began, and explains whatever the run or the writers then ran into.
                let mut read = None;
                if let Some((plan, (feed, reader))) = ledger {
                    drop(feed);
                    read = Some(plan.finish(reader)?);
                }
                // Then a writer's own error (disk full, …): the run then only saw "the writer thread
                // stopped".
                let mut files = Vec::new();
                for w in written {
                    match w {
                        Ok(r) => files.push(r.with_context(ctx)?),
                        Err(panic) => std::panic::resume_unwind(panic),
                    }
                }
                let run = run?;
                if let Some(read) = &read {
                    if run.ledger_in.lines != read.lines {
                        bail!(
                            "internal error: the run took {} of the {} lines of the ledger; nothing written",
                            run.ledger_in.lines,
                            read.lines,
                        );
                    }
                }
                // Both files are synced to disk while the rest is computed and written; the commit waits.
                let syncs: Vec<_> = files
                    .into_iter()
                    .map(|file| std::thread::spawn(move || file.sync_all()))
                    .collect();
                Ok((run, stream, syncs, read))
            })?;
            let mut result = run;
            let (flags, all_lines, mut spill) = stream.unwrap_or_default();
            let read = read.unwrap_or_default();
            fill_reader_counts(&mut result, inputs);
            result.counts.ledger_linjer_lest += read.duplicates;
            let mut avvik = inputs.avvik.clone();
            avvik.extend(read.avvik);
            let reader_avvik = avvik.len();
            avvik.append(&mut result.avvik);
            result.avvik = avvik;
            // Where avvik.csv has the spilled avvik of the ledger's lines without a person: after the
            // persons' avvik, before the payment files'.
            let orphans_at = result.avvik.len();
            // The report's Avvik sheet shows at most --report-rows of them: it has the reader's, but for a
            // streamed ledger's; those and the engine's first go to the report thread now, the rest (counted
            // only, unless the reader's were fewer) at the end.
            let reported = inputs.avvik.len();
            let engine_avvik = &result.avvik[reader_avvik..];
            let room = args
                .report_rows
                .min(xlsx::EXCEL_DATA_ROWS)
                .saturating_sub(reader_avvik);
            let sent = engine_avvik.len().min(room);
            // The report thread may have stopped on its own error, reported when it is joined.
            let _ = avvik_tx.send(result.avvik[reported..reader_avvik + sent].to_vec());
            timer.lap("engine run + grunnlag/utbetalt");

            // Payment files first (T-5, SPEC §6): their register avvik belong in avvik.csv and rapport.xlsx.
            // Without a municipality register there is no account to pay to: the basis and reports are still
            // produced (SPEC §1.5) and the run says so; that is not a rejected row.
            let pay = match inputs.kommuner.as_ref() {
            Some(register) => {
                let pay = payment::write_payment_files(
                    &mut out,
                    &result,
                    Some(register),
                    &inputs.rates,
                    pay_opts,
                )
                .context("payment files")?;
                result.avvik.extend(pay.avvik.iter().cloned());
                exclude_left_out(&mut result, &pay);
                pay
            }
            None => PaymentSummary {
                refused: Some(
                    "no municipality register (--kommuner): payment files are not written (SPEC §1.5)"
                        .into(),
                ),
                warnings: vec![
                    "note: no --kommuner given: basis and reports written, no payment files".into(),
                ],
                // T-5: the reports say which rates were not adopted, register or not.
                unadopted_rates: payment::unadopted_rates(&result, &inputs.rates),
                ..PaymentSummary::default()
            },
        };
            let mut pay = pay;
            if !pay.written && result.kommuner.iter().any(|k| k.utbetales) {
                pay.warnings.push(format!(
                "note: no payment file was written, but {} records what this termin pays (T-3/T-4): give it to the next termin (--paid) only once the money has actually been paid",
                writers::UTBETALT_FILE
            ));
            }
            if !pay.written {
                // A payment file of an earlier run in this folder must not survive next to this run's basis.
                for name in [payment::CSV_NAME, payment::XML_NAME] {
                    out.remove_on_commit(name);
                }
            }
            // T-4: every line of the ledger read in is carried (checked: a line lost here would be paid
            // again).
            let carried = flags.carried;
            if carried != result.ledger_in.lines {
                bail!(
                    "internal error: the new ledger carries {carried} of the {} lines read in (--paid); nothing written",
                    result.ledger_in.lines
                );
            }
            // T-4: the new ledger holds only the lines of the municipalities paid now (T-3, and not left
            // out of the bank file); the streamed file held every non-zero line.
            if !result.all_paid() {
                let paying: std::collections::BTreeSet<_> = result
                    .kommuner
                    .iter()
                    .filter(|k| k.utbetales)
                    .map(|k| k.kommune)
                    .collect();
                out.rewrite_file(writers::UTBETALT_FILE, true, |r, w| {
                    writers::filter_new_ledger(r, w, &flags, params.termin, &paying)
                })
                .with_context(ctx)?;
            }
            timer.lap("payment files");

            let mut outputs = vec![
                writers::GRUNNLAG_FILE.to_string(),
                writers::KOMMUNER_FILE.into(),
                writers::UTBETALT_FILE.into(),
                writers::AVVIK_FILE.into(),
                REPORT_FILE.into(),
            ];
            if pay.written {
                outputs.push(payment::CSV_NAME.into());
                outputs.push(payment::XML_NAME.into());
            }
            outputs.push(MANIFEST_FILE.into());
            let command_line: Vec<String> = std::env::args()
                .map(|a| crate::domain::ids::mask_text(&a))
                .collect();
            let mut m = manifest::build(
                &result,
                &inputs.rates,
                inputs
                    .manifest_inputs
                    .iter()
                    .cloned()
                    .chain(read.manifest_inputs)
                    .collect(),
                command_line,
                args.auto_from,
                outputs,
            );
            m.payment_file = payment_manifest(&pay, &result);
            // The workbook's last sheets are filled and the whole is compressed in memory on its own thread
            // while the CSV files are written (same bytes as building it in one go; only the wall time
            // changes).
            let builder = match report.join() {
                Ok(b) => b,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            // The spill's first avvik (for the report) and how many it holds (the rest are counted).
            let spilled = spill
                .as_mut()
                .map(|s| (std::mem::take(&mut s.kept), s.count));
            let (basis, report) = std::thread::scope(|s| {
                let report = s.spawn(|| -> Result<Vec<u8>, xlsx::ReportError> {
                    let mut b = builder?;
                    // After the reader's and the engine's first: the engine's other and the payment files'
                    // avvik (avvik.csv order).
                    let rest = result.avvik.get(reader_avvik + sent..).unwrap_or_default();
                    let (persons, payment) = rest.split_at(orphans_at - (reader_avvik + sent));
                    b.add_avvik(persons)?;
                    if let Some((kept, count)) = &spilled {
                        b.add_avvik(kept)?;
                        b.count_avvik(count - kept.len() as u64);
                    }
                    b.add_avvik(payment)?;
                    let bytes = b.finish_all(&result, &inputs.rates);
                    drop_in_background(b);
                    Ok(bytes?)
                });
                let basis = writers::write_summary_files(
                    &mut out,
                    &result,
                    spill.as_mut().map(|s| (orphans_at, s)),
                );
                (basis, report.join())
            });
            basis.with_context(ctx)?;
            let report = match report {
                Ok(r) => r.with_context(ctx)?,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            // Holds masked person numbers only, but per-person amounts: owner-readable like grunnlag.csv.
            out.write_bytes(REPORT_FILE, true, &report)
                .with_context(ctx)?;
            if let Some(lines) = &all_lines {
                split::write_split(&mut out, &result, lines, &inputs.rates).with_context(ctx)?;
            }
            if args.force {
                // A rerun over an earlier termin: its per-municipality folders must not survive next to
                // this run's basis (with or without --split-kommuner now).
                out.own_subdir(split::SPLIT_DIR);
            }
            out.write_bytes(MANIFEST_FILE, false, manifest::to_json(&m).as_bytes())
                .with_context(ctx)?;
            timer.lap("kommuner/avvik csv + xlsx + manifest");
            for sync in syncs {
                match sync.join() {
                    Ok(r) => r.with_context(ctx)?,
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            timer.lap("waiting for grunnlag/utbetalt to reach the disk");
            out.commit()
                .with_context(|| format!("renaming the outputs into {}", args.out.display()))?;

            timer.lap("commit");
            print_summary(&result, &inputs.rates, &args.out);
            for w in &pay.warnings {
                eprintln!("{w}");
            }
            let outcome = if inputs.rows_rejected()
                || result.counts.ledger_linjer_uten_person > 0
                || !pay.left_out.is_empty()
            {
                Outcome::RowsRejected
            } else {
                Outcome::Clean
            };
            drop_in_background(result);
            Ok(outcome)
        })
    }
}

/// Freeing a national extract and its results (a million persons' allocations, the avvik) took about a
/// tenth of a second at the very end of a run, after everything was written. The process ends right
/// after, so a thread of its own frees them and nothing waits for it (issue 6).
fn drop_in_background<T: Send + 'static>(t: T) {
    // Where no thread can be had (a process limit), `spawn` fails and drops the closure, so `t` is
    // freed here instead: never a panic after the outputs are committed.
    let _ = std::thread::Builder::new().spawn(move || drop(t));
}

/// With `TILSKUDD_TIMING` set, the wall time of each phase goes to stderr (issue 6 profiling).
struct PhaseTimer(Option<std::time::Instant>);

impl PhaseTimer {
    fn from_env() -> PhaseTimer {
        PhaseTimer(std::env::var_os("TILSKUDD_TIMING").map(|_| std::time::Instant::now()))
    }
    fn lap(&mut self, what: &str) {
        if let Some(t) = self.0 {
            eprintln!("timing: {what}: {:.3} s", t.elapsed().as_secs_f64());
            self.0 = Some(std::time::Instant::now());
        }
    }
}

/// The Excel report of every termin (SPEC §6, issue 4).
pub const REPORT_FILE: &str = "rapport.xlsx";

/// `--config`, `--debtor-account`, `--created`, `--allow-unadopted-rates` → payment options; the command
/// line wins over the file.
fn payment_options(args: &Args, basis_date: NaiveDate) -> anyhow::Result<PaymentOptions> {
    let mut opts = PaymentOptions::new(basis_date);
    if let Some(p) = &args.config {
        let cfg = payment::load_payment_config(p)?;
        opts = opts.with_config(&cfg);
    }
    if let Some(k) = &args.debtor_account {
        opts.debtor_account = Some(Kontonr::parse(k).map_err(|e| {
            anyhow::anyhow!("--debtor-account '{k}': {e} (ID-5: 11 digits, e.g. 1234.56.78903)")
        })?);
    }
    if let Some(c) = &args.created {
        opts.created = payment::parse_created(c)?;
    }
    opts.allow_unadopted_rates = args.allow_unadopted_rates;
    Ok(opts)
}

/// A municipality left out of the bank file (not in the register, no valid account or org.nr) is not paid
/// by this run: it is marked `utbetales = nei`, so none of its lines enter the new ledger and the next
/// termin owes it the same amounts again (T-3/T-4: the ledger records only what is paid).
fn exclude_left_out(result: &mut TerminSummary, pay: &PaymentSummary) {
    let left: std::collections::BTreeSet<crate::domain::ids::Knr> =
        pay.left_out.iter().map(|l| l.kommune).collect();
    for k in result.kommuner.iter_mut() {
        if left.contains(&k.kommune) {
            k.utbetales = false;
        }
    }
}

/// The manifest's record of the payment file: what was written or why not, and the control sum tying it to
/// the municipalities (Σ transfers = Σ paying municipalities; those left out are not paying).
fn payment_manifest(pay: &PaymentSummary, result: &TerminSummary) -> serde_json::Value {
    let paying: Decimal = result
        .kommuner
        .iter()
        .filter(|k| k.utbetales)
        .map(|k| k.sum)
        .sum();
    let left_out: Decimal = pay.left_out.iter().map(|l| l.belop).sum();
    // Nothing planned at all (no register): there is no payment file to tie.
    let planned = !(pay.transfers.is_empty() && pay.left_out.is_empty() && paying > Decimal::ZERO);
    let tied = pay.ctrl_sum == paying;
    serde_json::json!({
        "written": pay.written,
        "files": if pay.written { vec![payment::CSV_NAME, payment::XML_NAME] } else { vec![] },
        "refused": pay.refused,
        "msg_id": pay.msg_id,
        "nb_of_txs": pay.nb_of_txs,
        "ctrl_sum": fmt_money(pay.ctrl_sum),
        "left_out": pay.left_out.iter().map(|l| serde_json::json!({
            "kommunenummer": l.kommune.to_string(),
            "belop": fmt_money(l.belop),
            "kode": l.kode,
        })).collect::<Vec<_>>(),
        "sum_left_out": fmt_money(left_out),
        "sum_kommuner_utbetales": fmt_money(paying),
        "stemmer": if planned { serde_json::Value::Bool(tied) } else { serde_json::Value::Null },
        "unadopted_rates": pay.unadopted_rates.iter()
            .map(|u| format!("{} {}", u.ar, u.kode)).collect::<Vec<_>>(),
    })
}

/// The reader's row counts (rows read and rejected) complete the engine's counts.
pub fn fill_reader_counts(result: &mut TerminSummary, inputs: &TerminInputs) {
    // Lines read = lines used + repeats dropped.
    result.counts.ledger_linjer_lest += inputs.ledger_duplicates;
    if let Some(s) = inputs.stats_of(&inputs.extract.personer_file) {
        result.counts.personer_lest = s.read;
        result.counts.personer_avvist = s.rejected;
    }
    if let Some(s) = inputs
        .extract
        .flyttinger_file
        .as_deref()
        .and_then(|f| inputs.stats_of(f))
    {
        result.counts.flyttinger_lest = s.read;
        result.counts.flyttinger_avvist = s.rejected;
    }
}

/// The terminal summary: per municipality the code totals and the sum, a grand total, and the counts.
pub fn print_summary(r: &TerminSummary, rates: &RateTable, out: &Path) {
    println!("{}", summary_text(r, rates, out));
}

pub fn summary_text(r: &TerminSummary, rates: &RateTable, out: &Path) -> String {
    use tabled::builder::Builder;
    use tabled::settings::{object::Columns, Alignment, Style};
    let codes: Vec<RateCode> = RateCode::TERMIN_CODES
        .into_iter()
        .filter(|c| r.kommuner.iter().any(|k| k.per_kode.contains_key(c)))
        .collect();
    let mut b = Builder::default();
    let mut head = vec!["kommune".to_string(), "navn".into()];
    head.extend(codes.iter().map(|c| c.to_string()));
    head.push("sum".into());
    head.push("utbetales".into());
    b.push_record(head);
    let mut totals = vec![Decimal::ZERO; codes.len()];
    let mut grand = Decimal::ZERO;
    let mut paid = Decimal::ZERO;
    for k in &r.kommuner {
        let mut row = vec![k.kommune.to_string(), k.navn.clone().unwrap_or_default()];
        for (i, c) in codes.iter().enumerate() {
            let v = k.per_kode.get(c).copied().unwrap_or_default();
            totals[i] += v;
            row.push(fmt_money(v));
        }
        grand += k.sum;
        if k.utbetales {
            paid += k.sum;
        }
        row.push(fmt_money(k.sum));
        row.push(if k.utbetales { "ja" } else { "nei" }.into());
        b.push_record(row);
    }
    let mut total = vec!["TOTAL".to_string(), String::new()];
    total.extend(totals.iter().map(|v| fmt_money(*v)));
    total.push(fmt_money(grand));
    total.push(String::new());
    b.push_record(total);
    let mut table = b.build();
    table.with(Style::sharp());
    table.modify(Columns::new(2..), Alignment::right());
    let c = &r.counts;
    let mut s = format!(
        "termin {} (basis date {}): {} line(s), {} municipality(ies), paid now {}\n{table}\n",
        r.termin,
        r.basis_date,
        r.stats.total.lines,
        r.kommuner.len(),
        fmt_money(paid)
    );
    s.push_str(&format!(
        "persons: {} read = {} rejected + {} excluded by a rule ({} of them with deductions) + {} with lines + {} with nothing due\n",
        c.personer_lest, c.personer_avvist, c.personer_utelatt, c.personer_utelatt_med_trekk, c.personer_brukt, c.personer_uten_belop
    ));
    s.push_str(&format!(
        "moves: {} read, {} rejected; ledger lines: {} read, {} left alone (person not in the extract)\n",
        c.flyttinger_lest, c.flyttinger_avvist, c.ledger_linjer_lest, c.ledger_linjer_uten_person
    ));
    let unadopted: Vec<String> = r
        .rates_used
        .iter()
        .filter_map(|(y, k)| rates.get(*y, *k).ok())
        .filter(|rt| rt.status != RateStatus::Vedtatt)
        .map(|rt| format!("{} {} ({})", rt.ar, rt.kode, rt.status))
        .collect();
    if !unadopted.is_empty() {
        s.push_str(&format!(
            "rates not adopted (T-5): {} of {} used: {} (all listed in manifest.json)\n",
            unadopted.len(),
            r.rates_used.len(),
            crate::output::first_few(&unadopted, crate::output::RATES_SHOWN),
        ));
    }
    if r.avvik_count() > 0 {
        s.push_str(&format!(
            "{} avvik: see {}\n",
            r.avvik_count(),
            out.join(writers::AVVIK_FILE).display()
        ));
    }
    s.push_str(&format!("written to {}", out.display()));
    s
}

/// Hands the first lines of the basis to the report thread as soon as the run has them (issue 6),
/// passing everything else on to the [`writers::BasisStream`].
struct PreviewTap<'a> {
    stream: &'a mut writers::BasisStream,
    rows: usize,
    tx: Option<std::sync::mpsc::Sender<Vec<BasisLine>>>,
}

impl PreviewTap<'_> {
    fn send_preview(&mut self) {
        if let Some(tx) = self.tx.take() {
            // The report thread may have stopped on its own error, reported when it is joined.
            let _ = tx.send(self.stream.preview.clone());
        }
    }
}

impl crate::domain::engine::LineSink for PreviewTap<'_> {
    type Part = <writers::BasisStream as crate::domain::engine::LineSink>::Part;

    fn block(&self, lines: &[BasisLine], ledger: &[&LedgerLine]) -> Self::Part {
        self.stream.block(lines, ledger)
    }

    fn accept(&mut self, part: Self::Part) -> std::io::Result<()> {
        self.stream.accept(part)?;
        if self.stream.preview.len() >= self.rows {
            self.send_preview();
        }
        Ok(())
    }

    fn orphans(&mut self, lines: &[&LedgerLine]) -> std::io::Result<bool> {
        self.stream.orphans(lines)
    }
}
