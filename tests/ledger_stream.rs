//! Issue 6: a ledger file in T-4 order (as `termin` writes `utbetalt.csv`) is not held but streamed to
//! the engine during the run, a chunk of persons at a time (`Engine::run_streaming_fed`). These tests
//! hold that to the same ledger held in memory: the same basis lines, the same new ledger, the same
//! summary (counts, sums, avvik in the same order), for chunk sizes that cut the ledger anywhere — with
//! repeated payments (dropped), and lines of persons absent from the extract before the first person,
//! between persons and after the last, and batches of lines cut anywhere. And a ledger the run cannot use
//! (out of T-4 order, a rejected row, a repeat with another amount) stops the streamed run early.

use assert_cmd::Command;
use std::fs;
use std::path::{Path, PathBuf};
use tilskudd::cmd::common::InputArgs;
use tilskudd::cmd::termin::{HoldLedger, LedgerRead, TerminInputs};
use tilskudd::domain::avvik::Avvik;
use tilskudd::domain::basis::{BasisLine, TerminSummary};
use tilskudd::domain::engine::{
    merge_ledger, orphan_avvik_into, Engine, LedgerEntry, LineSink, Params, RunError,
};
use tilskudd::domain::ledger::FeedError;
use tilskudd::domain::ledger::LedgerLine;
use tilskudd::domain::termin::Termin;

fn bin() -> Command {
    Command::cargo_bin("tilskudd").unwrap()
}

/// Generates an extract and runs 2024-Q4 on it; returns the folder of the generated data and Q4's ledger.
fn q4(dir: &Path, persons: u32) -> (PathBuf, String) {
    let g = dir.join("g");
    bin()
        .args(["generate", "--persons", &persons.to_string()])
        .args(["--seed", "41", "--kommuner", "5", "--out"])
        .arg(&g)
        .assert()
        .success();
    let out = dir.join("q4");
    let o = bin()
        .args(["termin", "2024-Q4", "--dsf"])
        .arg(g.join("dsf"))
        .arg("--rates")
        .arg(g.join("satser.csv"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(matches!(o.status.code(), Some(0 | 3)), "{o:?}");
    let ledger = fs::read_to_string(out.join("utbetalt.csv")).unwrap();
    (g, ledger)
}

/// Rewrites the extract's `personer.csv` from `all` (its text as generated): the header, and the rows for
/// which `keep(row number, fnr)` holds.
fn keep_persons(g: &Path, all: &str, keep: &dyn Fn(usize, &str) -> bool) {
    let col = all
        .lines()
        .next()
        .unwrap()
        .split(',')
        .position(|c| c == "fnr")
        .unwrap();
    let kept: Vec<&str> = all
        .lines()
        .enumerate()
        .filter(|(i, l)| *i == 0 || keep(*i, l.split(',').nth(col).unwrap_or("")))
        .map(|(_, l)| l)
        .collect();
    fs::write(g.join("dsf/personer.csv"), kept.join("\n") + "\n").unwrap();
}

/// What a run hands its sink, block by block, put end to end: the basis lines and the new ledger
/// (T-4 merge of each block's old lines with its new ones).
#[derive(Default)]
struct Recorder {
    lines: Vec<BasisLine>,
    ledger: Vec<String>,
    /// The avvik of ledger lines without a person, when the sink takes them (as `termin` spills them).
    orphans: Vec<Avvik>,
}

struct Sink {
    termin: Termin,
    got: Recorder,
    takes_orphans: bool,
}

impl LineSink for Sink {
    type Part = (Vec<BasisLine>, Vec<String>);

    fn block(&self, lines: &[BasisLine], ledger: &[&LedgerLine]) -> Self::Part {
        let mut merged = Vec::new();
        merge_ledger(self.termin, ledger, lines, |e| {
            merged.push(match e {
                LedgerEntry::Old(o) => format!("old {o:?}"),
                LedgerEntry::New(n) => format!("new {n:?}"),
            })
        });
        (lines.to_vec(), merged)
    }

    fn accept(&mut self, (lines, ledger): Self::Part) -> std::io::Result<()> {
        self.got.lines.extend(lines);
        self.got.ledger.extend(ledger);
        Ok(())
    }

    fn orphans(&mut self, lines: &[&LedgerLine]) -> std::io::Result<bool> {
        if self.takes_orphans {
            // One buffer for all, as the spill writes them.
            let mut a = Avvik::warning("", None, None, "", String::new());
            for l in lines {
                orphan_avvik_into(l, &mut a);
                self.got.orphans.push(a.clone());
            }
        }
        Ok(self.takes_orphans)
    }
}

fn sink(termin: Termin) -> Sink {
    Sink {
        termin,
        got: Recorder::default(),
        takes_orphans: false,
    }
}

fn load(g: &Path, paid: &Path, stream: bool) -> TerminInputs {
    let input = InputArgs {
        dsf: g.join("dsf"),
        kommuner: Some(g.join("kommuner.csv")),
        no_synthetic: false,
    };
    TerminInputs::load(
        &input,
        &[g.join("satser.csv")],
        &[paid.to_path_buf()],
        2025,
        "2025-Q1".parse().unwrap(),
        stream,
    )
    .unwrap()
}

/// Runs the termin over a streamed ledger with `chunk` persons at a time; returns what the run gave and
/// what the ledger's reading said.
fn streamed(
    inputs: &TerminInputs,
    termin: Termin,
    chunk: usize,
    takes_orphans: bool,
) -> (
    Result<TerminSummary, RunError>,
    Recorder,
    anyhow::Result<LedgerRead>,
) {
    let plan = inputs.ledger_stream.as_ref().expect("a streamed ledger");
    assert!(inputs.ledger.is_empty());
    let engine = Engine::new(
        Params::new(termin, None, 2021),
        &inputs.extract,
        &inputs.rates,
        &[],
    )
    .with_chunk(chunk);
    let mut s = sink(termin);
    s.takes_orphans = takes_orphans;
    let (run, read) = std::thread::scope(|scope| {
        let (mut feed, reader) = plan.start(scope, inputs.kommuner.as_ref());
        let r = engine.run_streaming_fed(inputs.kommuner.as_ref(), &mut s, Some(&mut feed));
        drop(feed);
        (r, plan.finish(reader))
    });
    (run, s.got, read)
}

/// Runs the termin over the ledger held and streamed (with each chunk size) and holds the two together;
/// returns the held run's summary and the ledger's repeats.
fn held_and_streamed(
    g: &Path,
    paid: &Path,
    termin: Termin,
    chunks: &[usize],
) -> (TerminSummary, u64) {
    let held_inputs = load(g, paid, false);
    assert!(held_inputs.ledger_stream.is_none());
    let engine = Engine::new(
        Params::new(termin, None, 2021),
        &held_inputs.extract,
        &held_inputs.rates,
        &held_inputs.ledger,
    );
    let mut held = sink(termin);
    let held_summary = engine
        .run_streaming(held_inputs.kommuner.as_ref(), &mut held)
        .unwrap();
    let held = held.got;

    let mut inputs = load(g, paid, true);
    // Batches of lines from the reader cut the ledger elsewhere than the chunks of persons; a batch of 1
    // to 3 lines puts a repeat right after a batch's end.
    // Every other run takes the avvik of the lines without a person, as `termin` does (spilled): they
    // must be the held run's, with the count.
    for (i, (&chunk, batch)) in chunks
        .iter()
        .zip([1, 2, 3, 1000].into_iter().cycle())
        .enumerate()
    {
        inputs.ledger_stream.as_mut().unwrap().set_batch(batch);
        let takes = i % 2 == 1;
        let (summary, got, read) = streamed(&inputs, termin, chunk, takes);
        let mut summary = summary.unwrap();
        assert_eq!(summary.orphans_written, got.orphans.len() as u64);
        assert_eq!(
            summary.counts.ledger_linjer_uten_person,
            held_summary.counts.ledger_linjer_uten_person
        );
        if takes {
            // The engine's avvik end with those of the lines without a person.
            summary.avvik.extend(got.orphans.iter().cloned());
            summary.orphans_written = 0;
        } else {
            assert!(got.orphans.is_empty());
        }
        let read = read.unwrap();
        // The reading reported what the held ledger's reader did.
        let avvik: Vec<_> = inputs.avvik.iter().chain(&read.avvik).collect();
        assert_eq!(
            format!("{avvik:?}"),
            format!("{:?}", held_inputs.avvik.iter().collect::<Vec<_>>())
        );
        assert_eq!(read.duplicates, held_inputs.ledger_duplicates);
        let files: Vec<_> = inputs
            .manifest_inputs
            .iter()
            .chain(&read.manifest_inputs)
            .collect();
        assert_eq!(
            format!("{files:?}"),
            format!(
                "{:?}",
                held_inputs.manifest_inputs.iter().collect::<Vec<_>>()
            )
        );
        assert_eq!(
            read.lines, summary.ledger_in.lines,
            "chunk {chunk}, batch {batch}"
        );
        assert_eq!(
            format!("{summary:?}"),
            format!("{held_summary:?}"),
            "summary, chunk {chunk}, batch {batch}"
        );
        assert!(got.lines == held.lines, "basis lines, chunk {chunk}");
        assert!(got.ledger == held.ledger, "new ledger, chunk {chunk}");
    }
    (held_summary, held_inputs.ledger_duplicates)
}

#[test]
fn a_streamed_ledger_gives_what_the_held_ledger_gives_wherever_the_chunks_cut_it() {
    let dir = tempfile::tempdir().unwrap();
    let (g, q4) = q4(dir.path(), 1500);
    let termin: Termin = "2025-Q1".parse().unwrap();

    // Q1's ledger: Q4's, with every 5th line written twice in a row (a repeated payment, dropped with a
    // warning), still in T-4 order.
    let mut lines = q4.lines();
    let header = lines.next().unwrap();
    let body: Vec<&str> = lines.collect();
    assert!(body.len() > 1000, "{}", body.len());
    let mut paid = format!("{header}\n");
    for (i, l) in body.iter().enumerate() {
        paid.push_str(l);
        paid.push('\n');
        if i % 5 == 0 {
            paid.push_str(l);
            paid.push('\n');
        }
    }
    let paid_path = dir.path().join("paid.csv");
    fs::write(&paid_path, &paid).unwrap();

    // Persons absent from the extract: the owners of the ledger's first and last lines (lines before the
    // first person and after the last) and every 9th person (lines between persons).
    let fnr_of = |l: &str| l.split(',').nth(2).unwrap().to_string();
    let (first, last) = (fnr_of(body[0]), fnr_of(body[body.len() - 1]));
    let all = fs::read_to_string(g.join("dsf/personer.csv")).unwrap();
    keep_persons(&g, &all, &|i, f| i % 9 != 0 && f != first && f != last);

    let (held_summary, repeats) =
        held_and_streamed(&g, &paid_path, termin, &[1, 2, 7, 100, 512, 1000, 100_000]);
    // The cases this test is about are there.
    assert!(held_summary.counts.ledger_linjer_uten_person > 0);
    assert!(repeats as usize >= body.len() / 5);
    let orphans: Vec<&tilskudd::domain::avvik::Avvik> = held_summary
        .avvik
        .iter()
        .filter(|a| a.kode == "ukjent_person_i_reskontro")
        .collect();
    assert!(
        orphans.first().unwrap().linje == Some(2),
        "the first line's person is absent"
    );
    // The last line's person too (the line before it when the last line is a repeat, dropped).
    let repeat = (body.len() - 1).is_multiple_of(5);
    assert_eq!(
        orphans.last().unwrap().linje.unwrap() as usize,
        paid.lines().count() - usize::from(repeat)
    );
}

/// The edges: an empty ledger; a ledger whose lines all come before every person, or all after; and an
/// extract with no person at all (the whole ledger carried).
#[test]
fn a_streamed_ledger_at_the_edges() {
    let dir = tempfile::tempdir().unwrap();
    let (g, q4) = q4(dir.path(), 300);
    let termin: Termin = "2025-Q1".parse().unwrap();
    let mut lines = q4.lines();
    let header = lines.next().unwrap().to_string();
    let body: Vec<&str> = lines.collect();
    let fnr_of = |l: &str| l.split(',').nth(2).unwrap().to_string();
    let all = fs::read_to_string(g.join("dsf/personer.csv")).unwrap();
    let paid_path = dir.path().join("paid.csv");
    let case = |ledger: &[&str], keep: &dyn Fn(&str) -> bool| {
        fs::write(
            &paid_path,
            format!("{header}\n") + &ledger.join("\n") + "\n",
        )
        .unwrap();
        keep_persons(&g, &all, &|_, f| keep(f));
        held_and_streamed(&g, &paid_path, termin, &[1, 3, 1000]).0
    };
    // No ledger line.
    let s = case(&[], &|_| true);
    assert_eq!(s.counts.ledger_linjer_lest, 0);
    // The first 10 lines, every person after them.
    let head = &body[..10];
    let last_of_head = fnr_of(head[9]);
    let s = case(head, &|f| f > last_of_head.as_str());
    assert_eq!(s.counts.ledger_linjer_uten_person, 10);
    assert!(s.counts.personer_lest > 0);
    // The last 10 lines, every person before them.
    let tail = &body[body.len() - 10..];
    let first_of_tail = fnr_of(tail[0]);
    let s = case(tail, &|f| f < first_of_tail.as_str());
    assert_eq!(s.counts.ledger_linjer_uten_person, 10);
    assert!(s.counts.personer_lest > 0);
    // No person at all.
    let s = case(&body, &|_| false);
    assert_eq!(s.counts.ledger_linjer_uten_person, body.len() as u64);
}

/// A ledger the run cannot use stops the streamed run early: the reader tells the engine to stop at the
/// first line out of T-4 order (made by hand: the reading then asks for the file to be held, and `termin`
/// computes again with it held, `tests/termin_cli.rs`), at a rejected row, or at a repeat with another
/// amount (the reading then refuses the file, as the held ledger's reader does).
#[test]
fn a_ledger_the_run_cannot_use_stops_the_streamed_run_early() {
    let dir = tempfile::tempdir().unwrap();
    let (g, q4) = q4(dir.path(), 300);
    let termin: Termin = "2025-Q1".parse().unwrap();
    let lines: Vec<&str> = q4.lines().collect();
    assert!(lines.len() > 200);
    let paid_path = dir.path().join("paid.csv");
    // Runs over Q4's ledger with lines `at - 1` and `at` (0 = the header) replaced by what `edit` makes of
    // them, in batches of 7 lines.
    let case = |at: usize, edit: &dyn Fn(&[&str]) -> Vec<String>| {
        let mut text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        let new = edit(&lines[at - 1..=at]);
        text.splice(at - 1..=at, new);
        fs::write(&paid_path, text.join("\n") + "\n").unwrap();
        let mut inputs = load(&g, &paid_path, true);
        inputs.ledger_stream.as_mut().unwrap().set_batch(7);
        let (run, got, read) = streamed(&inputs, termin, 7, true);
        assert!(
            matches!(run, Err(RunError::Ledger(FeedError::Stopped))),
            "{:?}",
            run.map(|s| s.counts)
        );
        // The run stopped there: it wrote the lines of fewer persons than the extract has.
        let owners: std::collections::BTreeSet<_> = got.lines.iter().map(|l| l.key.fnr).collect();
        assert!(
            owners.len() < inputs.extract.personer.len() / 2,
            "{}",
            owners.len()
        );
        read.unwrap_err()
    };
    // Lines 101 and 102 swapped (file lines 102 and 103).
    let e = case(102, &|two| vec![two[1].to_string(), two[0].to_string()]);
    let hold = e.downcast_ref::<HoldLedger>().expect("hold the ledger");
    assert_eq!(hold.why, "not in the order termin writes utbetalt.csv in");
    // A termin that is no termin on line 100.
    let e = case(100, &|two| {
        vec![two[0].to_string(), two[1].replacen(",", "-Q9,", 1)]
    });
    assert!(e.to_string().contains("1 rejected row(s)"), "{e}");
    // Line 100 again, with another amount.
    let e = case(100, &|two| {
        let belop = two[1].rsplit(',').next().unwrap();
        let other = format!("{}1.00", &two[1][..two[1].len() - belop.len()]);
        vec![two[0].to_string(), two[1].to_string(), other]
    });
    assert!(
        e.to_string().contains("twice with different amounts"),
        "{e:#}"
    );
}
