//! End-to-end tests of `tilskudd termin` on `tests/data/termin/` (8 synthetic persons, test rates
//! rate(code, Y) = base(code) + (Y − 2020)·1200, see `tests/data/termin/rates/satser.csv`).
//!
//! The persons (settlement, municipality):
//! P1 01818010083 adult 2023-06-01 0301, moves 2024-01-15 → 5001, 2024-04-20 → 4601
//! P2 02828110023 adult 2024-02-10 4601, sak S2 with P3 (dsf-late: move 2024-02-25 → 0301, registered late)
//! P3 03831950063 child born 2019-03-03, 2024-02-10 4601
//! P4 01870850006 unaccompanied minor born 2008-07-01, 2024-04-10 5001
//! P5 05857510056 utenfor → excluded (IT-1)
//! P6 06869010047 adult 2024-08-05 0301 (counts from Q3, IT-2)
//! P7 07878510032 adult 2024-03-20 4601, registered 2024-05-02 (counts from Q2)
//! P8 08887010049 adult 2023-03-01 5001

use assert_cmd::cargo::cargo_bin_cmd;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

fn data(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/termin")
        .join(p)
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// Runs `tilskudd termin`; returns (exit code, stdout, stderr).
fn termin(
    t: &str,
    dsf: &str,
    rates: &str,
    paid: &[&Path],
    out: &Path,
    extra: &[&str],
) -> (i32, String, String) {
    termin_env(t, dsf, rates, paid, out, extra, &[])
}

/// [`termin`] with environment variables set.
fn termin_env(
    t: &str,
    dsf: &str,
    rates: &str,
    paid: &[&Path],
    out: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (i32, String, String) {
    let mut c = cargo_bin_cmd!("tilskudd");
    c.envs(env.iter().copied());
    c.arg("termin")
        .arg(t)
        .arg("--dsf")
        .arg(data(dsf))
        .arg("--rates")
        .arg(data(rates));
    c.arg("--kommuner")
        .arg(data("kommuner.csv"))
        .arg("--out")
        .arg(out);
    for p in paid {
        c.arg("--paid").arg(p);
    }
    c.args(extra);
    let o = c.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A CSV file as rows of (header → value).
fn read_csv(p: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(p).unwrap();
    let h: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    r.records()
        .map(|rec| {
            h.iter()
                .cloned()
                .zip(rec.unwrap().iter().map(str::to_string))
                .collect()
        })
        .collect()
}

fn key(r: &BTreeMap<String, String>) -> (String, String, String, String) {
    (
        r["fnr"].clone(),
        r["kommunenummer"].clone(),
        r["kode"].clone(),
        r["ar"].clone(),
    )
}

fn sum(rows: &[BTreeMap<String, String>], col: &str) -> Decimal {
    rows.iter().map(|r| dec(&r[col])).sum()
}

#[test]
fn chaining_q1_q2_q3_through_utbetalt_csv_pays_what_a_single_q3_accrues() {
    let tmp = tempfile::tempdir().unwrap();
    let q = |n: &str| tmp.path().join(n);
    let (c1, out1, _) = termin("2024-Q1", "dsf", "rates", &[], &q("q1"), &[]);
    // Rule exclusions (P5 utenfor, P6 not yet registered) are normal: exit 0 [model (e)].
    assert_eq!(c1, 0);
    assert!(
        out1.contains("TOTAL") && !out1.contains("01818010083"),
        "{out1}"
    );
    let (c2, _, _) = termin(
        "2024-Q2",
        "dsf",
        "rates",
        &[&q("q1/utbetalt.csv")],
        &q("q2"),
        &[],
    );
    let (c3, _, _) = termin(
        "2024-Q3",
        "dsf",
        "rates",
        &[&q("q2/utbetalt.csv")],
        &q("q3"),
        &[],
    );
    let (cs, _, _) = termin("2024-Q3", "dsf", "rates", &[], &q("single"), &[]);
    assert_eq!((c2, c3, cs), (0, 0, 0));
    let mut paid: BTreeMap<_, Decimal> = BTreeMap::new();
    for r in read_csv(&q("q3/utbetalt.csv")) {
        *paid.entry(key(&r)).or_default() += dec(&r["belop"]);
    }
    let accrued: BTreeMap<_, Decimal> = read_csv(&q("single/grunnlag.csv"))
        .iter()
        .map(|r| (key(r), dec(&r["opptjent"])))
        .collect();
    assert_eq!(paid, accrued);
    // By hand, everything due by 30.09.2024:
    // P1 AR-1 EV 2023 243600 + AR-2 2024 9·10400 = 93600 → 337200
    // P2 AR-1 2024 124800 (sak with P3)                   → 124800
    // P3 AR-1 B 124800 + BHT 27600 + 4800 = 32400          → 157200
    // P4 AR-1 EM 184800 + EMINB 2024 months 4–9 6·100400    → 787200
    // P6 AR-1 EV 244800; P7 AR-1 EV 244800
    // P8 AR-1 EV 2023 243600 + AR-2 2024 93600             → 337200
    // Σ = 337200 + 124800 + 157200 + 787200 + 244800 + 244800 + 337200 = 2233200
    assert_eq!(paid.values().copied().sum::<Decimal>(), dec("2233200"));
    // The Q3 ledger holds Q1, Q2 and Q3 payments.
    let termins: std::collections::BTreeSet<String> = read_csv(&q("q3/utbetalt.csv"))
        .iter()
        .map(|r| r["termin"].clone())
        .collect();
    assert_eq!(
        termins.into_iter().collect::<Vec<_>>(),
        vec!["2024-Q1", "2024-Q2", "2024-Q3"]
    );
    // The manifest's control sums tie.
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(q("q3/manifest.json")).unwrap()).unwrap();
    assert_eq!(m["control"]["stemmer"], true);
    assert_eq!(m["counts"]["personer_summerer"], true);
    // T-5: the test rates are `eksempel`, so no payment file is written, and the manifest says why.
    assert_eq!(m["payment_file"]["written"], false);
    assert!(m["payment_file"]["refused"]
        .as_str()
        .unwrap()
        .starts_with("T-5"));
    assert!(!q("q3/utbetaling.xml").exists());
}

#[test]
fn late_registered_move_gives_the_old_municipality_a_deduction_and_sums_tie() {
    let tmp = tempfile::tempdir().unwrap();
    let q = |n: &str| tmp.path().join(n);
    assert_eq!(termin("2024-Q1", "dsf", "rates", &[], &q("q1"), &[]).0, 0);
    // Q2's extract holds P2's move of 25.02.2024 to 0301 (registered after Q1 ran).
    assert_eq!(
        termin(
            "2024-Q2",
            "dsf-late",
            "rates",
            &[&q("q1/utbetalt.csv")],
            &q("q2"),
            &[]
        )
        .0,
        0
    );
    let g = read_csv(&q("q2/grunnlag.csv"));
    let p2: Vec<_> = g
        .iter()
        .filter(|r| r["fnr"] == "02828110023")
        .map(|r| {
            (
                r["kommunenummer"].as_str(),
                r["opptjent"].as_str(),
                r["tidligere_utbetalt"].as_str(),
                r["a_utbetale"].as_str(),
            )
        })
        .collect();
    // AR-1 2024 = 124800 → 10400/month. Q1 paid all 12 months to 4601. Now months 1–3 (read 30.11, 31.12,
    // 31.01, before the settlement) stay with 4601 = 31200; months 4–12 (read 29.02 … 31.10) → 0301 = 93600.
    // 4601: 31200 − 124800 = −93600; 0301: 93600 − 0.
    assert_eq!(
        p2,
        vec![
            ("0301", "93600.00", "0.00", "93600.00"),
            ("4601", "31200.00", "124800.00", "-93600.00")
        ]
    );
    // Sums tie: Σ grunnlag.a_utbetale = Σ kommuner.sum; Σ paying municipalities = Σ ledger lines of Q2.
    let k = read_csv(&q("q2/kommuner.csv"));
    assert_eq!(sum(&g, "a_utbetale"), sum(&k, "sum"));
    let paying: Vec<_> = k
        .iter()
        .filter(|r| r["utbetales"] == "ja")
        .cloned()
        .collect();
    let ledger_q2: Vec<_> = read_csv(&q("q2/utbetalt.csv"))
        .into_iter()
        .filter(|r| r["termin"] == "2024-Q2")
        .collect();
    assert_eq!(sum(&paying, "sum"), sum(&ledger_q2, "belop"));
    // 4601 in Q2: P2 −93600 + P7 (registered 02.05) AR-1 EV 244800 + P1 month 6 (reads 30.04, moved
    // 20.04 → 4601) 10400 = 161600 → paid, deduction included.
    let b = k.iter().find(|r| r["kommunenummer"] == "4601").unwrap();
    assert_eq!(
        (
            b["sum"].as_str(),
            b["utbetales"].as_str(),
            b["navn"].as_str()
        ),
        ("161600.00", "ja", "Bergen")
    );
    assert!(ledger_q2
        .iter()
        .any(|r| r["fnr"] == "02828110023" && r["belop"] == "-93600.00"));
}

#[test]
fn missing_rate_exits_1_naming_year_and_code_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // rates-missing lacks (2024, AR-2); P1 and P8 need it for January 2024 in 2024-Q1.
    let (code, _, err) = termin("2024-Q1", "dsf", "rates-missing", &[], &out, &[]);
    assert_eq!(code, 1);
    assert!(err.contains("2024") && err.contains("AR-2"), "{err}");
    assert!(!out.exists() || std::fs::read_dir(&out).unwrap().count() == 0);
}

#[test]
fn refuses_an_out_folder_holding_a_termin_unless_force_and_reruns_are_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    assert_eq!(
        termin("2024-Q2", "dsf", "rates", &[], &out, &["--force"]).0,
        0
    );
    let files = [
        "grunnlag.csv",
        "kommuner.csv",
        "utbetalt.csv",
        "avvik.csv",
        "rapport.xlsx",
        "manifest.json",
    ];
    let first: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(out.join(f)).unwrap())
        .collect();
    let (code, _, err) = termin("2024-Q2", "dsf", "rates", &[], &out, &[]);
    assert_eq!(code, 1);
    assert!(err.contains("--force"), "{err}");
    assert_eq!(
        termin("2024-Q2", "dsf", "rates", &[], &out, &["--force"]).0,
        0
    );
    let second: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(out.join(f)).unwrap())
        .collect();
    assert_eq!(first, second);
    // No temporary file left behind.
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), files.len());
}

#[test]
fn rejected_rows_and_unknown_ledger_persons_exit_3() {
    let tmp = tempfile::tempdir().unwrap();
    // A copy of the extract with one bad row (control digit wrong).
    let dsf = tmp.path().join("dsf");
    std::fs::create_dir_all(&dsf).unwrap();
    let mut personer = std::fs::read_to_string(data("dsf/personer.csv")).unwrap();
    personer.push_str("01818010084,2024-01-10,0301,S9,flyktning,,\n");
    std::fs::write(dsf.join("personer.csv"), personer).unwrap();
    let out = tmp.path().join("bad");
    let (code, _, _) = termin("2024-Q1", dsf.to_str().unwrap(), "rates", &[], &out, &[]);
    assert_eq!(code, 3);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    // 9 read = 1 rejected + 4 excluded (P4, P6, P7 not yet registered by 31.03; P5 utenfor) + 4 with lines.
    assert_eq!(
        (
            m["counts"]["personer_lest"].as_u64(),
            m["counts"]["personer_avvist"].as_u64()
        ),
        (Some(9), Some(1))
    );
    assert_eq!(
        (
            m["counts"]["personer_utelatt"].as_u64(),
            m["counts"]["personer_brukt"].as_u64()
        ),
        (Some(4), Some(4))
    );
    assert_eq!(m["counts"]["personer_summerer"], true);
    let av = read_csv(&out.join("avvik.csv"));
    let bad = av.iter().find(|r| r["linje"] == "10").unwrap();
    assert_eq!(
        (
            bad["kode"].as_str(),
            bad["kolonne"].as_str(),
            bad["niva"].as_str()
        ),
        ("ugyldig_fnr", "fnr", "avvist")
    );
    assert!(!bad["melding"].contains("01818010084"));
    // A ledger line for a person not in the extract: left alone, avvik, exit 3.
    let paid = tmp.path().join("paid.csv");
    // Build a valid synthetic number for the ledger line.
    let f = (100..500)
        .find_map(|i| tilskudd::domain::ids::Fnr::with_control_digits(&format!("158190{i:03}")))
        .unwrap();
    std::fs::write(
        &paid,
        format!("termin,kommunenummer,fnr,kode,ar,belop\n2023-Q4,0301,{f},AR-1 EV,2023,1000.00\n"),
    )
    .unwrap();
    let out = tmp.path().join("ledger");
    let (code, _, _) = termin("2024-Q1", "dsf", "rates", &[&paid], &out, &[]);
    assert_eq!(code, 3);
    let av = read_csv(&out.join("avvik.csv"));
    let u = av
        .iter()
        .find(|r| r["kode"] == "ukjent_person_i_reskontro")
        .unwrap();
    assert_eq!((u["linje"].as_str(), u["fnr"].clone()), ("2", f.masked()));
    assert!(read_csv(&out.join("grunnlag.csv"))
        .iter()
        .all(|r| r["fnr"] != f.as_str()));
    assert!(read_csv(&out.join("utbetalt.csv"))
        .iter()
        .any(|r| r["fnr"] == f.as_str() && r["belop"] == "1000.00"));
}

/// 2024-Q1 into `q1`, then 2024-Q2 with q1's ledger into `q2`.
fn q1_then_q2(q: &dyn Fn(&str) -> PathBuf) {
    assert_eq!(termin("2024-Q1", "dsf", "rates", &[], &q("q1"), &[]).0, 0);
    let paid = q("q1/utbetalt.csv");
    assert_eq!(
        termin("2024-Q2", "dsf", "rates", &[&paid], &q("q2"), &[]).0,
        0
    );
}

#[test]
fn the_same_payment_in_two_ledger_files_counts_once_and_a_conflict_stops() {
    let tmp = tempfile::tempdir().unwrap();
    let q = |n: &str| tmp.path().join(n);
    q1_then_q2(&q);
    // q2/utbetalt.csv already holds q1's lines: giving both must not deduct them twice.
    let (c, _, _) = termin(
        "2024-Q3",
        "dsf",
        "rates",
        &[&q("q1/utbetalt.csv"), &q("q2/utbetalt.csv")],
        &q("both"),
        &[],
    );
    assert_eq!(c, 0);
    assert_eq!(
        termin(
            "2024-Q3",
            "dsf",
            "rates",
            &[&q("q2/utbetalt.csv")],
            &q("one"),
            &[]
        )
        .0,
        0
    );
    for f in ["grunnlag.csv", "kommuner.csv", "utbetalt.csv"] {
        assert_eq!(
            std::fs::read(q("both").join(f)).unwrap(),
            std::fs::read(q("one").join(f)).unwrap(),
            "{f}"
        );
    }
    let q1_lines = read_csv(&q("q1/utbetalt.csv")).len();
    let dup = read_csv(&q("both/avvik.csv"))
        .into_iter()
        .filter(|r| r["kode"] == "dobbel_reskontrolinje")
        .count();
    assert_eq!(dup, q1_lines);
    // The same payment with another amount: the ledger cannot be trusted → exit 1.
    let text = std::fs::read_to_string(q("q1/utbetalt.csv")).unwrap();
    let changed = text.replacen("243600.00", "243600.01", 1);
    assert_ne!(text, changed);
    std::fs::write(q("changed.csv"), changed).unwrap();
    let (c, _, err) = termin(
        "2024-Q3",
        "dsf",
        "rates",
        &[&q("changed.csv"), &q("q2/utbetalt.csv")],
        &q("bad"),
        &[],
    );
    assert_eq!(c, 1);
    assert!(err.contains("twice with different amounts"), "{err}");
    assert!(!q("bad").join("grunnlag.csv").exists());
}

/// T-4: the ledger read in is what earlier termins paid. A later termin's ledger (a cron job given the
/// wrong folder), or this termin's own, would be netted as paid and silently take this termin's payments
/// away: it stops the run (exit 1, nothing written), streamed or held.
#[test]
fn a_ledger_of_this_termin_or_a_later_one_stops_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let q = |n: &str| tmp.path().join(n);
    q1_then_q2(&q);
    let q2 = q("q2/utbetalt.csv");
    let held = [q("q1/utbetalt.csv"), q2.clone()];
    for (t, paid) in [
        ("2024-Q1", vec![q2.as_path()]),
        ("2024-Q2", vec![q2.as_path()]),
        ("2024-Q1", held.iter().map(|p| p.as_path()).collect()),
    ] {
        let out = q(&format!("bad-{t}-{}", paid.len()));
        let (c, _, err) = termin(t, "dsf", "rates", &paid, &out, &[]);
        assert_eq!(c, 1, "{t}: {err}");
        assert!(
            err.contains("termin_ikke_for") || err.contains("not before termin"),
            "{t}: {err}"
        );
        assert!(
            err.contains(&format!("not before termin {t} computed now")),
            "{err}"
        );
        assert!(!out.join("grunnlag.csv").exists());
    }
    // Every line of the file is refused (against 2024-Q1, q2's ledger holds no earlier line); the
    // message names the first 20 and counts the rest (the lines ten times over: more than the 100
    // rows whose avvik the reader keeps, so the count is the rows read, not the avvik kept).
    let text = std::fs::read_to_string(&q2).unwrap();
    let (head, body) = text.split_once('\n').unwrap();
    std::fs::write(q("many.csv"), format!("{head}\n{}", body.repeat(10))).unwrap();
    let lines = 10 * read_csv(&q2).len();
    assert!(lines > 100, "{lines}");
    assert!(lines > 20, "{lines}");
    let (_, _, err) = termin(
        "2024-Q1",
        "dsf",
        "rates",
        &[&q("many.csv")],
        &q("bad-count"),
        &[],
    );
    assert!(
        err.contains(&format!("has {lines} rejected row(s)")),
        "{err}"
    );
    assert_eq!(err.matches("[termin_ikke_for]").count(), 20, "{err}");
    assert!(
        err.contains(&format!("… and more: {lines} rejected row(s) in all")),
        "{err}"
    );
    // The termin after is fine.
    assert_eq!(
        termin("2024-Q3", "dsf", "rates", &[&q2], &q("q3"), &[]).0,
        0
    );
}

/// One ledger file in T-4 order is streamed during the run (issue 6), not held: its repeats are found as
/// in a held ledger. And one file out of that order (made by hand), or in Windows-1252, stops the
/// streamed run and is read again and held: the same basis.
#[test]
fn one_ledger_file_with_repeats_or_out_of_order_gives_the_same_basis() {
    let tmp = tempfile::tempdir().unwrap();
    let q = |n: &str| tmp.path().join(n);
    let q3 = |paid: &[&Path], out: &str, extra: &[&str]| {
        termin("2024-Q3", "dsf", "rates", paid, &q(out), extra)
    };
    q1_then_q2(&q);
    assert_eq!(q3(&[&q("q2/utbetalt.csv")], "one", &[]).0, 0);
    // q2's ledger with each of q1's lines written twice in a row: still in T-4 order.
    let q1 = std::fs::read_to_string(q("q1/utbetalt.csv")).unwrap();
    let q1_lines: std::collections::BTreeSet<&str> = q1.lines().skip(1).collect();
    let q2 = std::fs::read_to_string(q("q2/utbetalt.csv")).unwrap();
    let twice = |changed: Option<&str>| {
        let mut out = String::new();
        let mut changed = changed;
        for (i, l) in q2.lines().enumerate() {
            out.push_str(l);
            out.push('\n');
            if i > 0 && q1_lines.contains(l) {
                // The first repeat only, with the other amount.
                match changed.take() {
                    Some(b) => {
                        let belop = l.rsplit(',').next().unwrap();
                        let (head, _) = l.split_at(l.len() - belop.len());
                        out.push_str(&format!("{head}{b}"));
                    }
                    None => out.push_str(l),
                }
                out.push('\n');
            }
        }
        out
    };
    std::fs::write(q("twice.csv"), twice(None)).unwrap();
    // A run whose ledger is streamed (or held from the start) says nothing of it; one that has to hold it
    // after all says so.
    let no_hold_note = |(code, _, err): (i32, String, String)| {
        assert_eq!(code, 0, "{err}");
        !err.contains("cannot be streamed")
    };
    // A small Avvik sheet: the repeats' warnings fill it.
    let rows = ["--report-rows", "3"];
    assert!(no_hold_note(q3(&[&q("twice.csv")], "t", &rows)));
    // The same file held (with a second, empty, ledger file): the same avvik.csv and report.
    std::fs::write(q("empty.csv"), "termin,kommunenummer,fnr,kode,ar,belop\n").unwrap();
    assert!(no_hold_note(q3(
        &[&q("twice.csv"), &q("empty.csv")],
        "h",
        &rows
    )));
    assert_eq!(
        std::fs::read(q("t/avvik.csv")).unwrap(),
        std::fs::read(q("h/avvik.csv")).unwrap()
    );
    assert_eq!(
        std::fs::read(q("t/rapport.xlsx")).unwrap(),
        std::fs::read(q("h/rapport.xlsx")).unwrap()
    );
    // With lines of persons not in the extract at the end (exit 3): their avvik, spilled to a scratch file
    // while a streamed ledger is read, are in avvik.csv, the report and the counts as a held ledger's.
    let absent: Vec<String> = (100..160)
        .filter_map(|i| tilskudd::domain::ids::Fnr::with_control_digits(&format!("158190{i:03}")))
        .take(3)
        .map(|f| format!("2024-Q2,0301,{f},AR-1 EV,2024,1000.00\n"))
        .collect();
    assert_eq!(absent.len(), 3);
    std::fs::write(q("absent.csv"), twice(None) + &absent.concat()).unwrap();
    for (out, paid) in [
        ("ta", vec![q("absent.csv")]),
        ("ha", vec![q("absent.csv"), q("empty.csv")]),
    ] {
        let paid: Vec<&Path> = paid.iter().map(|p| p.as_path()).collect();
        let (code, _, err) = termin("2024-Q3", "dsf", "rates", &paid, &q(out), &[]);
        assert_eq!(code, 3, "{err}");
        assert!(!err.contains("cannot be streamed"), "{err}");
    }
    for f in ["avvik.csv", "rapport.xlsx", "grunnlag.csv", "utbetalt.csv"] {
        let same =
            std::fs::read(q("ta").join(f)).unwrap() == std::fs::read(q("ha").join(f)).unwrap();
        assert!(same, "{f} differs between the streamed and the held ledger");
    }
    let counts = |d: &str| {
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(q(d).join("manifest.json")).unwrap()).unwrap();
        m["counts"].clone()
    };
    assert_eq!(counts("ta"), counts("ha"));
    assert_eq!(counts("ta")["ledger_linjer_uten_person"], 3);
    let av = read_csv(&q("ta/avvik.csv"));
    assert_eq!(
        av.iter()
            .filter(|r| r["kode"] == "ukjent_person_i_reskontro")
            .count(),
        3
    );
    assert_eq!(counts("ta")["avvik"], av.len());
    // The lines of q2 in reverse order (the header first): held in memory and sorted.
    let mut rev: Vec<&str> = q2.lines().collect();
    rev[1..].reverse();
    std::fs::write(q("reversed.csv"), rev.join("\n") + "\n").unwrap();
    assert!(!no_hold_note(q3(&[&q("reversed.csv")], "r", &[])));
    // q2's ledger in Windows-1252, with a note column (`Ø` is the byte D8) on its last line.
    let mut cp1252 = Vec::new();
    for (i, l) in q2.lines().enumerate() {
        cp1252.extend_from_slice(l.as_bytes());
        cp1252.extend_from_slice(match i {
            0 => b",merknad".as_slice(),
            _ if i + 1 == q2.lines().count() => b",\xd8st".as_slice(),
            _ => b",".as_slice(),
        });
        cp1252.push(b'\n');
    }
    assert!(std::str::from_utf8(&cp1252).is_err());
    std::fs::write(q("cp1252.csv"), cp1252).unwrap();
    assert!(!no_hold_note(q3(&[&q("cp1252.csv")], "w", &[])));
    // Only the ledger is read again: the other inputs are read once.
    let (code, _, err) = termin_env(
        "2024-Q3",
        "dsf",
        "rates",
        &[&q("reversed.csv")],
        &q("r2"),
        &[],
        &[("TILSKUDD_TIMING", "1")],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.matches("timing: read inputs").count(), 1, "{err}");
    assert_eq!(
        err.matches("timing: read the ledger again, held").count(),
        1,
        "{err}"
    );
    for f in ["grunnlag.csv", "kommuner.csv", "utbetalt.csv"] {
        let one = std::fs::read(q("one").join(f)).unwrap();
        for other in ["t", "h", "r", "w"] {
            assert_eq!(std::fs::read(q(other).join(f)).unwrap(), one, "{other}/{f}");
        }
    }
    let dup: Vec<String> = read_csv(&q("t/avvik.csv"))
        .into_iter()
        .filter(|r| r["kode"] == "dobbel_reskontrolinje")
        .map(|r| r["linje"].clone())
        .collect();
    assert_eq!(dup.len(), q1_lines.len());
    // Each repeat is the line after its first.
    let text = twice(None);
    let all: Vec<&str> = text.lines().collect();
    for n in &dup {
        let n: usize = n.parse().unwrap();
        assert_eq!(all[n - 1], all[n - 2], "line {n}");
    }
    // A repeat with another amount in one file stops the run, as across two files.
    std::fs::write(q("conflict.csv"), twice(Some("1.00"))).unwrap();
    let (c, _, err) = termin(
        "2024-Q3",
        "dsf",
        "rates",
        &[&q("conflict.csv")],
        &q("c"),
        &[],
    );
    assert_eq!(c, 1);
    assert!(err.contains("twice with different amounts"), "{err}");
    assert!(!q("c").join("grunnlag.csv").exists());
}

#[test]
fn errors_are_reported_in_input_order_though_the_ledger_is_read_alongside_the_extract() {
    // The ledger is read on its own thread while the extract is read (issue 6). With both missing, the
    // extract's error still comes first, as when they were read one after the other; with only the
    // ledger missing, its error is reported and nothing is written.
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("no-such-ledger.csv");
    let out = d.path().join("out");
    let (code, _, err) = termin(
        "2024-Q4",
        "no-such-dsf",
        "rates",
        &[missing.as_path()],
        &out,
        &[],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("reading the DSF extract"), "{err}");
    assert!(!err.contains("reading the ledger"), "{err}");
    // Rates come before the ledger too.
    let (code, _, err) = termin(
        "2024-Q4",
        "dsf",
        "no-such-rates",
        &[missing.as_path()],
        &out,
        &[],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("reading the rate tables"), "{err}");
    assert!(!err.contains("reading the ledger"), "{err}");
    let (code, _, err) = termin("2024-Q4", "dsf", "rates", &[missing.as_path()], &out, &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("reading the ledger (--paid)"), "{err}");
    assert!(!out.join("manifest.json").exists());
}
