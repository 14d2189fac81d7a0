//! Issue 6: `tilskudd termin` streams `grunnlag.csv` and the new ledger `utbetalt.csv` while the engine
//! runs, in blocks of persons on several threads, and rewrites the ledger once T-3 has decided who is paid.
//! These tests hold that path to the in-memory one (`Engine::run` + the file writers), byte for byte, on
//! an extract large enough for many blocks, with a ledger that has lines of persons absent from the
//! extract (carried between blocks) and a municipality whose deductions make its sum negative (not paid,
//! so its new lines must be dropped from the streamed ledger while its old ones stay).

use assert_cmd::Command;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use tilskudd::cmd::common::InputArgs;
use tilskudd::cmd::termin::TerminInputs;
use tilskudd::domain::engine::{Engine, Params};
use tilskudd::output::basis::{write_grunnlag, write_utbetalt};

fn bin() -> Command {
    Command::cargo_bin("tilskudd").unwrap()
}

fn generate(dir: &Path, persons: u32, seed: u64) -> PathBuf {
    let g = dir.join("g");
    bin()
        .args(["generate", "--persons", &persons.to_string()])
        .args(["--seed", &seed.to_string(), "--kommuner", "6", "--out"])
        .arg(&g)
        .assert()
        .success();
    g
}

fn termin(g: &Path, t: &str, paid: Option<&Path>, out: &Path, threads: Option<&str>) {
    let mut c = bin();
    c.args(["termin", t, "--dsf"])
        .arg(g.join("dsf"))
        .arg("--rates")
        .arg(g.join("satser.csv"))
        .arg("--kommuner")
        .arg(g.join("kommuner.csv"))
        .args([
            "--debtor-account",
            "9999.77.00003",
            "--allow-unadopted-rates",
        ])
        .arg("--out")
        .arg(out);
    if let Some(p) = paid {
        c.arg("--paid").arg(p);
    }
    if let Some(n) = threads {
        c.env("RAYON_NUM_THREADS", n);
    }
    let o = c.output().unwrap();
    assert!(
        matches!(o.status.code(), Some(0) | Some(3)),
        "termin {t}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The same termin in memory: `Engine::run` and the writers of a whole `TerminResult`.
fn in_memory(g: &Path, t: &str, paid: &Path) -> (Vec<u8>, Vec<u8>, Vec<String>) {
    let input = InputArgs {
        dsf: g.join("dsf"),
        kommuner: Some(g.join("kommuner.csv")),
        no_synthetic: false,
    };
    let termin: tilskudd::domain::termin::Termin = t.parse().unwrap();
    let inputs = TerminInputs::load(
        &input,
        &[g.join("satser.csv")],
        &[paid.to_path_buf()],
        termin
            .basis_date()
            .format("%Y")
            .to_string()
            .parse()
            .unwrap(),
        termin,
        false,
    )
    .unwrap();
    let params = Params::new(termin, None, 2021);
    let engine = Engine::new(params, &inputs.extract, &inputs.rates, &inputs.ledger);
    let r = engine.run(inputs.kommuner.as_ref()).unwrap();
    let mut grunnlag = Vec::new();
    write_grunnlag(&mut grunnlag, &r).unwrap();
    let mut utbetalt = Vec::new();
    write_utbetalt(&mut utbetalt, &r.new_ledger).unwrap();
    let not_paid = r
        .kommuner
        .iter()
        .filter(|k| !k.utbetales)
        .map(|k| k.kommune.to_string())
        .collect();
    (grunnlag, utbetalt, not_paid)
}

#[test]
fn streamed_basis_and_ledger_equal_the_in_memory_run() {
    let dir = tempfile::tempdir().unwrap();
    // 3 000 persons: six blocks of 512 persons, so ledger lines fall between and inside blocks.
    let g = generate(dir.path(), 3000, 77);
    let q4 = dir.path().join("q4");
    termin(&g, "2024-Q4", None, &q4, None);

    // The ledger fed to 2025-Q1: Q4's lines, with the amounts of the first municipality tripled (so its
    // deductions in Q1 exceed what it accrues: a negative sum, not paid, T-3) and the lines of every
    // 7th person kept although that person is removed from the extract (left alone and carried, T-2).
    let text = fs::read_to_string(q4.join("utbetalt.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    let first_knr = rows[0][1].clone();
    let mut paid = format!("{header}\n");
    for r in &rows {
        let mut r = r.clone();
        if r[1] == first_knr {
            let b: rust_decimal::Decimal = r[5].parse().unwrap();
            r[5] = format!("{:.2}", b * rust_decimal::Decimal::from(3));
        }
        paid.push_str(&r.join(","));
        paid.push('\n');
    }
    let paid_path = dir.path().join("paid.csv");
    fs::write(&paid_path, paid).unwrap();
    let personer = g.join("dsf/personer.csv");
    let text = fs::read_to_string(&personer).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, _)| *i == 0 || i % 7 != 0)
        .map(|(_, l)| l)
        .collect();
    fs::write(&personer, kept.join("\n") + "\n").unwrap();

    let q1 = dir.path().join("q1");
    termin(&g, "2025-Q1", Some(&paid_path), &q1, None);
    let (grunnlag, utbetalt, not_paid) = in_memory(&g, "2025-Q1", &paid_path);
    // The case this test is about: a municipality is not paid, and the extract lacks persons of the ledger.
    assert!(not_paid.contains(&first_knr), "not paid: {not_paid:?}");
    let m: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(q1.join("manifest.json")).unwrap()).unwrap();
    assert!(m["counts"]["ledger_linjer_uten_person"].as_u64().unwrap() > 0);

    assert!(
        fs::read(q1.join("grunnlag.csv")).unwrap() == grunnlag,
        "grunnlag.csv differs"
    );
    assert!(
        fs::read(q1.join("utbetalt.csv")).unwrap() == utbetalt,
        "utbetalt.csv differs"
    );
    // The ledger holds old lines of the unpaid municipality but no new ones (T-4).
    let new_ledger = String::from_utf8(utbetalt).unwrap();
    let of_first: BTreeMap<&str, usize> = new_ledger
        .lines()
        .filter(|l| l.split(',').nth(1) == Some(first_knr.as_str()))
        .fold(BTreeMap::new(), |mut m, l| {
            *m.entry(l.split(',').next().unwrap()).or_default() += 1;
            m
        });
    assert!(
        of_first.contains_key("2024-Q4") && !of_first.contains_key("2025-Q1"),
        "{of_first:?}"
    );
    // Manifest totals agree with the files written.
    let count = |p: &Path| fs::read_to_string(p).unwrap().lines().count() as u64 - 1;
    assert_eq!(
        m["counts"]["grunnlag_linjer"].as_u64().unwrap(),
        count(&q1.join("grunnlag.csv"))
    );
    assert_eq!(
        m["counts"]["utbetalt_linjer"].as_u64().unwrap(),
        count(&q1.join("utbetalt.csv"))
    );

    // One thread gives the same bytes as all cores.
    let one = dir.path().join("q1-one-thread");
    termin(&g, "2025-Q1", Some(&paid_path), &one, Some("1"));
    for f in [
        "grunnlag.csv",
        "utbetalt.csv",
        "kommuner.csv",
        "avvik.csv",
        "rapport.xlsx",
    ] {
        assert!(
            fs::read(q1.join(f)).unwrap() == fs::read(one.join(f)).unwrap(),
            "{f} differs with one thread"
        );
    }
}

/// With no person left in the extract (here: a header-only `personer.csv`, as when every row is rejected) the
/// ledger read in is still carried whole into the new ledger (T-4) — before the fix the streamed
/// `utbetalt.csv` held only its header while the manifest counted every line.
#[test]
fn an_empty_extract_carries_the_whole_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let g = generate(dir.path(), 200, 5);
    let q4 = dir.path().join("q4");
    termin(&g, "2024-Q4", None, &q4, None);
    let paid = fs::read_to_string(q4.join("utbetalt.csv")).unwrap();
    let paid_lines = paid.lines().count() - 1;
    assert!(paid_lines > 100, "{paid_lines}");
    let personer = g.join("dsf/personer.csv");
    let header = fs::read_to_string(&personer)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    fs::write(&personer, header + "\n").unwrap();
    fs::write(
        g.join("dsf/flyttinger.csv"),
        "fnr,flyttedato,til_kommune,fra_kommune\n",
    )
    .unwrap();
    let q1 = dir.path().join("q1");
    termin(&g, "2025-Q1", Some(&q4.join("utbetalt.csv")), &q1, None);
    // Every line of the ledger, in the order written (already T-4 order), and nothing new.
    assert_eq!(fs::read_to_string(q1.join("utbetalt.csv")).unwrap(), paid);
    let m: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(q1.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        m["counts"]["utbetalt_linjer"].as_u64().unwrap(),
        paid_lines as u64
    );
    assert_eq!(m["counts"]["grunnlag_linjer"].as_u64().unwrap(), 0);
}
