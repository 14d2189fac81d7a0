//! `tilskudd termin` with the payment files, report and split wired in (SPEC T-5, §6; issue 4), on the shipped
//! example.

mod example_support;

use assert_cmd::Command;
use example_support::{example_termin, repo};
use rust_decimal::Decimal;
use std::path::Path;
use std::str::FromStr;

fn termin(out: &Path, extra: &[&str]) -> std::process::Output {
    example_termin("2024-Q4", out, extra)
}

fn manifest(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap()
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

#[test]
fn t5_refuses_the_bank_file_with_example_rates_but_writes_the_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("q4");
    let o = termin(&out, &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!out.join("utbetaling.csv").exists());
    assert!(!out.join("utbetaling.xml").exists());
    assert!(out.join("rapport.xlsx").exists());
    assert!(out.join("grunnlag.csv").exists());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("T-5"),
        "the refusal is said loudly: {stderr}"
    );
    let m = manifest(&out);
    assert_eq!(m["payment_file"]["written"], false);
    assert_eq!(m["all_rates_adopted"], false);
    // The refusal names the first five rates and counts the rest; the manifest lists them all (T-5:
    // the reports say which rates were not adopted), with their status.
    let all = m["rates_used"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] != "vedtatt")
        .count();
    assert!(all > 5, "the example uses {all} rates");
    assert_eq!(
        m["payment_file"]["unadopted_rates"]
            .as_array()
            .unwrap()
            .len(),
        all
    );
    let more = format!(" and {} more (see rates_used in manifest.json)", all - 5);
    let line = t5_line(&stderr, "WARNING: T-5: no payment file");
    assert_eq!(line.matches("(eksempel)").count(), 5, "{line}");
    assert!(
        line.contains(&format!("{more}; the reports are written")),
        "{line}"
    );
    let refused = m["payment_file"]["refused"].as_str().unwrap();
    assert!(line.ends_with(refused), "{line} / {refused}");
    assert!(refused.contains(&more), "{refused}");
}

/// Without a municipality register no payment file is planned, but the manifest still names the rates not
/// adopted (T-5: the reports say which; it listed none).
#[test]
fn t5_rates_are_named_without_a_register() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("q4");
    let o = Command::cargo_bin("tilskudd")
        .unwrap()
        .current_dir(repo())
        .args(["termin", "2024-Q4", "--dsf", "fixtures/example/dsf"])
        .args(["--rates", "fixtures/example/satser.csv", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("no --kommuner given"), "{stderr}");
    let m = manifest(&out);
    assert_eq!(m["payment_file"]["written"], false);
    let unadopted: Vec<String> = m["rates_used"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] != "vedtatt")
        .map(|r| format!("{} {}", r["ar"], r["kode"].as_str().unwrap()))
        .collect();
    assert!(!unadopted.is_empty());
    let named: Vec<String> = m["payment_file"]["unadopted_rates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(named, unadopted);
}

/// The one line of `stderr` that starts with `start`.
fn t5_line<'a>(stderr: &'a str, start: &str) -> &'a str {
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with(start)).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    lines[0]
}

#[test]
fn bank_file_ties_to_the_municipalities_and_a_refused_rerun_removes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("q4");
    let o = termin(&out, &["--allow-unadopted-rates"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Paid anyway, loudly, naming the first five rates not adopted.
    let stderr = String::from_utf8_lossy(&o.stderr);
    let line = t5_line(
        &stderr,
        "WARNING: payment file written with rates that are NOT adopted",
    );
    assert_eq!(line.matches("(eksempel)").count(), 5, "{line}");
    assert!(
        line.ends_with(" more (see rates_used in manifest.json)"),
        "{line}"
    );

    // Σ utbetaling.csv = Σ kommuner.csv where utbetales = ja = manifest ctrl_sum = XML CtrlSum.
    let csv_sum: Decimal = std::fs::read_to_string(out.join("utbetaling.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| dec(l.split(',').nth(5).unwrap()))
        .sum();
    let kommuner = std::fs::read_to_string(out.join("kommuner.csv")).unwrap();
    let header: Vec<&str> = kommuner.lines().next().unwrap().split(',').collect();
    let (i_sum, i_ja) = (
        header.iter().position(|h| *h == "sum").unwrap(),
        header.iter().position(|h| *h == "utbetales").unwrap(),
    );
    let paying: Decimal = kommuner
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f[i_ja] == "ja")
        .map(|f| dec(f[i_sum]))
        .sum();
    assert_eq!(csv_sum, paying);
    let m = manifest(&out);
    assert_eq!(
        dec(m["payment_file"]["ctrl_sum"].as_str().unwrap()),
        csv_sum
    );
    assert_eq!(m["payment_file"]["stemmer"], true);
    assert_eq!(m["control"]["stemmer"], true);
    let xml = std::fs::read_to_string(out.join("utbetaling.xml")).unwrap();
    let ctrl = xml
        .split("<CtrlSum>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    assert_eq!(dec(ctrl), csv_sum);

    // A rerun into the same folder that refuses the bank file must not leave the old one behind.
    let o = termin(&out, &["--force"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(!out.join("utbetaling.csv").exists());
    assert!(!out.join("utbetaling.xml").exists());
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn split_kommuner_gives_each_municipality_only_its_own_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("q4");
    let o = termin(&out, &["--split-kommuner"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let oslo = std::fs::read_to_string(out.join("kommuner/0301/grunnlag.csv")).unwrap();
    let lines: Vec<&str> = oslo.lines().skip(1).collect();
    assert!(!lines.is_empty());
    assert!(lines.iter().all(|l| l.split(',').nth(1) == Some("0301")));
    assert!(out.join("kommuner/0301/rapport.xlsx").exists());
    // Every Oslo line of the full basis is in Oslo's file.
    let all = std::fs::read_to_string(out.join("grunnlag.csv")).unwrap();
    let full: Vec<&str> = all
        .lines()
        .filter(|l| l.split(',').nth(1) == Some("0301"))
        .collect();
    assert_eq!(full, lines);
}

#[test]
fn a_bad_debtor_account_fails_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("q4");
    // 1234.56.78904: the control digit of 1234567890 is 3 (ID-5), so 4 is wrong.
    let o = termin(
        &out,
        &[
            "--allow-unadopted-rates",
            "--debtor-account",
            "1234.56.78904",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--debtor-account"));
    assert!(!out.exists() || std::fs::read_dir(&out).unwrap().next().is_none());
}

/// A municipality left out of the bank file (invalid account) is not paid by this run: utbetales = nei, none
/// of its lines enter utbetalt.csv, and the next termin owes it the same amount again (T-3/T-4). Found in
/// review: its lines used to be recorded as paid, so the money would never have been paid.
#[test]
fn a_municipality_left_out_of_the_bank_file_is_not_recorded_as_paid() {
    let tmp = tempfile::tempdir().unwrap();
    // 3403 Hamar gets account 99999999999: the control digit of 9999999999 is 5 (9·41 = 369; 369 mod 11 = 6;
    // 11 − 6 = 5), so 9 is wrong (ID-5).
    let register: String = std::fs::read_to_string(repo().join("fixtures/example/kommuner.csv"))
        .unwrap()
        .lines()
        .map(|l| {
            if l.starts_with("3403,") {
                let mut f: Vec<&str> = l.split(',').collect();
                f[3] = "99999999999";
                f.join(",")
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\n")
        .collect();
    let reg = tmp.path().join("kommuner.csv");
    std::fs::write(&reg, register).unwrap();
    let run = |t: &str, out: &Path, paid: Option<&Path>| {
        let mut c = Command::cargo_bin("tilskudd").unwrap();
        c.current_dir(repo())
            .args([
                "termin",
                t,
                "--dsf",
                "fixtures/example/dsf",
                "--rates",
                "fixtures/example/satser.csv",
            ])
            .arg("--kommuner")
            .arg(&reg)
            .args([
                "--config",
                "fixtures/example/tilskudd.conf",
                "--allow-unadopted-rates",
                "--out",
            ])
            .arg(out);
        if let Some(p) = paid {
            c.arg("--paid").arg(p);
        }
        c.output().unwrap()
    };
    let q3 = tmp.path().join("q3");
    let o = run("2024-Q3", &q3, None);
    assert_eq!(
        o.status.code(),
        Some(3),
        "left out of the bank file → exit 3"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("3403"));
    let field = |file: &str, col: usize| -> Vec<String> {
        std::fs::read_to_string(q3.join(file))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(col).unwrap().to_string())
            .collect()
    };
    assert!(!field("utbetaling.csv", 1).contains(&"3403".to_string()));
    assert!(
        !field("utbetalt.csv", 1).contains(&"3403".to_string()),
        "3403 was not paid"
    );
    let k = std::fs::read_to_string(q3.join("kommuner.csv")).unwrap();
    let hamar = k
        .lines()
        .find(|l| l.split(',').nth(1) == Some("3403"))
        .unwrap();
    assert!(hamar.ends_with(",nei"), "{hamar}");
    let m = manifest(&q3);
    assert_eq!(m["payment_file"]["stemmer"], true);
    assert_eq!(m["control"]["stemmer"], true);
    // Q4 with Q3's ledger: 3403 is owed everything accrued so far (nothing was paid before).
    let q4 = tmp.path().join("q4");
    run("2024-Q4", &q4, Some(&q3.join("utbetalt.csv")));
    let g = std::fs::read_to_string(q4.join("grunnlag.csv")).unwrap();
    let hamar_lines: Vec<Vec<&str>> = g
        .lines()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f[1] == "3403")
        .collect();
    assert!(!hamar_lines.is_empty());
    for f in &hamar_lines {
        assert_eq!(f[10], "0.00", "nothing recorded as paid to 3403: {f:?}");
        assert_eq!(f[9], f[11], "a_utbetale = opptjent − 0: {f:?}");
    }
}

/// Found in review: a `--force` rerun into a folder that held another termin's `--split-kommuner` output
/// left those folders behind, next to a basis of another termin.
#[test]
fn a_forced_rerun_leaves_no_split_folder_of_the_earlier_termin() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let run = |t: &str, extra: &[&str]| {
        let o = Command::cargo_bin("tilskudd")
            .unwrap()
            .current_dir(repo())
            .args([
                "termin",
                t,
                "--dsf",
                "fixtures/example/dsf",
                "--rates",
                "fixtures/example/satser.csv",
            ])
            .args(["--kommuner", "fixtures/example/kommuner.csv"])
            .args(extra)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    run("2024-Q3", &["--split-kommuner"]);
    let q3_dirs = std::fs::read_dir(out.join("kommuner")).unwrap().count();
    assert!(q3_dirs > 0);
    // Q4 with --split-kommuner: every municipality file holds Q4 lines only.
    run("2024-Q4", &["--split-kommuner", "--force"]);
    for d in std::fs::read_dir(out.join("kommuner")).unwrap() {
        let g = std::fs::read_to_string(d.unwrap().path().join("grunnlag.csv")).unwrap();
        assert!(g.lines().skip(1).all(|l| l.starts_with("2024-Q4,")), "{g}");
    }
    // Q4 again without --split-kommuner: no per-municipality folder of an earlier run is left.
    run("2024-Q4", &["--force"]);
    assert!(
        !out.join("kommuner").exists()
            || std::fs::read_dir(out.join("kommuner"))
                .unwrap()
                .next()
                .is_none()
    );
}
