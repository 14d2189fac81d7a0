//! `tilskudd diff OLD_DIR NEW_DIR` (issue 4) on a chained pair of termins with a late-registered move: the
//! moved person's deduction in the old municipality and payment in the new one are both named.

mod payment_fixture;

use assert_cmd::Command;
use payment_fixture::*;
use std::path::Path;
use tilskudd::domain::basis::TerminResult;
use tilskudd::domain::rates::RateCode;
use tilskudd::output::split::{grunnlag_record, GRUNNLAG_HEADER};

fn write_folder(dir: &Path, r: &TerminResult) {
    std::fs::create_dir_all(dir).unwrap();
    let mut w = csv::Writer::from_path(dir.join("grunnlag.csv")).unwrap();
    w.write_record(GRUNNLAG_HEADER).unwrap();
    for l in &r.lines {
        w.write_record(grunnlag_record(r.termin, l)).unwrap();
    }
    w.flush().unwrap();
    let mut k = csv::Writer::from_path(dir.join("kommuner.csv")).unwrap();
    k.write_record(["termin", "kommunenummer", "navn", "sum", "utbetales"])
        .unwrap();
    for s in &r.kommuner {
        k.write_record([
            r.termin.to_string(),
            s.kommune.to_string(),
            s.navn.clone().unwrap_or_default(),
            s.sum.to_string(),
            "ja".into(),
        ])
        .unwrap();
    }
    k.flush().unwrap();
}

fn mover() -> tilskudd::domain::ids::Fnr {
    fnr("118185", 100)
}

fn stayer() -> tilskudd::domain::ids::Fnr {
    fnr("128160", 100)
}

/// Q2 2024: the person M (AR-2 2024, 230 000/year) lives in Oslo: months 1–6 = 115 000.00 accrued,
/// 57 500.00 paid in Q1 → 57 500.00 now. A Bø person's ELDR 2023 (180 600, fully paid) is unchanged.
fn q2() -> TerminResult {
    result(
        "2024-Q2",
        vec![
            line(Line {
                kommune: "0301",
                fnr: mover(),
                kode: RateCode::Ar2,
                ar: 2024,
                n: 2,
                maneder: Some(6),
                sats: "230000",
                opptjent: "115000.00",
                tidligere: "57500.00",
            }),
            line(Line {
                kommune: "1867",
                fnr: stayer(),
                kode: RateCode::Eldr,
                ar: 2023,
                n: 1,
                maneder: None,
                sats: "180600",
                opptjent: "180600.00",
                tidligere: "180600.00",
            }),
        ],
        &[("0301", "Oslo"), ("1867", "Bø")],
    )
}

/// Q3 2024: a move to Våler on 15.03.2024 is registered late. IT-10: month m belongs to where M lived on
/// the last day of m − 2, so Oslo owns January–April and Våler May on.
/// Oslo: round(230000·4/12) = 76 666.67 accrued, 115 000.00 paid → −38 333.33 (deduction).
/// Våler: months 5–9 = round(230000·9/12) − round(230000·4/12) = 172 500.00 − 76 666.67 = 95 833.33.
fn q3_moved() -> TerminResult {
    result(
        "2024-Q3",
        vec![
            line(Line {
                kommune: "0301",
                fnr: mover(),
                kode: RateCode::Ar2,
                ar: 2024,
                n: 2,
                maneder: Some(4),
                sats: "230000",
                opptjent: "76666.67",
                tidligere: "115000.00",
            }),
            line(Line {
                kommune: "3419",
                fnr: mover(),
                kode: RateCode::Ar2,
                ar: 2024,
                n: 2,
                maneder: Some(5),
                sats: "230000",
                opptjent: "95833.33",
                tidligere: "0",
            }),
            line(Line {
                kommune: "1867",
                fnr: stayer(),
                kode: RateCode::Eldr,
                ar: 2023,
                n: 1,
                maneder: None,
                sats: "180600",
                opptjent: "180600.00",
                tidligere: "180600.00",
            }),
        ],
        &[("0301", "Oslo"), ("1867", "Bø"), ("3419", "Våler")],
    )
}

#[test]
fn diff_names_moved_persons_deduction_and_payment() {
    let d = tempfile::tempdir().unwrap();
    let (old, new) = (d.path().join("q2"), d.path().join("q3"));
    write_folder(&old, &q2());
    write_folder(&new, &q3_moved());
    let csv_out = d.path().join("rapport/diff.csv");
    let out = Command::cargo_bin("tilskudd")
        .unwrap()
        .args([
            "diff",
            old.to_str().unwrap(),
            new.to_str().unwrap(),
            "--csv",
            csv_out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let masked = mover().masked();
    assert!(
        !stdout.contains(&mover().to_string()),
        "full fnr must not be printed"
    );
    // Oslo's line changed to a deduction, Våler's line is new: both name the masked person.
    let oslo = stdout
        .lines()
        .find(|l| l.contains("endret") && l.contains("0301"))
        .expect("Oslo line");
    assert!(
        oslo.contains(&masked)
            && oslo.contains("115000.00")
            && oslo.contains("76666.67")
            && oslo.contains("57500.00")
            && oslo.contains("-38333.33"),
        "{oslo}"
    );
    let valer = stdout
        .lines()
        .find(|l| l.contains("ny") && l.contains("3419"))
        .expect("Våler line");
    assert!(
        valer.contains(&masked) && valer.contains("95833.33"),
        "{valer}"
    );
    // The unchanged Bø line is not listed as a change, but counted as unchanged.
    assert!(!stdout.lines().any(|l| l.contains(&stayer().masked())));
    let bo = stdout
        .lines()
        .find(|l| l.contains("1867"))
        .expect("Bø summary");
    assert!(bo.contains("Bø"), "{bo}");
    // Total a_utbetale: before 57 500.00 + 0 = 57 500.00; after −38 333.33 + 95 833.33 + 0 = 57 500.00;
    // change 0.00.
    let sum = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("Sum"))
        .expect("total row");
    assert!(sum.contains("57500.00") && sum.contains("0.00"), "{sum}");
    // Per municipality: Våler Σ a_utbetale 0.00 → 95 833.33.
    let valer_sum = stdout
        .lines()
        .find(|l| l.contains("3419") && l.contains("Våler"))
        .unwrap();
    assert!(valer_sum.contains("95833.33"), "{valer_sum}");

    let mut rdr = csv::Reader::from_path(&csv_out).unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][0], "endret");
    assert_eq!(&rows[0][1], "0301");
    assert_eq!(&rows[0][2], masked);
    assert_eq!(&rows[0][8], "-38333.33");
    assert_eq!(&rows[1][0], "ny");
    assert_eq!(&rows[1][1], "3419");
    assert_eq!(&rows[1][7], "", "no old a_utbetale for a new line");
    assert_eq!(&rows[1][8], "95833.33");
}

#[test]
fn diff_of_identical_folders_reports_no_change() {
    let d = tempfile::tempdir().unwrap();
    write_folder(&d.path().join("a"), &q2());
    write_folder(&d.path().join("b"), &q2());
    let out = Command::cargo_bin("tilskudd")
        .unwrap()
        .arg("diff")
        .arg(d.path().join("a"))
        .arg(d.path().join("b"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("No lines added, removed or changed."));
}

#[test]
fn diff_missing_folder_fails_with_a_clear_message() {
    let d = tempfile::tempdir().unwrap();
    write_folder(&d.path().join("a"), &q2());
    let out = Command::cargo_bin("tilskudd")
        .unwrap()
        .arg("diff")
        .arg(d.path().join("a"))
        .arg(d.path().join("nope"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("grunnlag.csv") && err.contains("cannot open"),
        "{err}"
    );
}

#[test]
fn diff_bad_amount_names_file_line_and_value() {
    let d = tempfile::tempdir().unwrap();
    write_folder(&d.path().join("a"), &q2());
    write_folder(&d.path().join("b"), &q2());
    let p = d.path().join("b/grunnlag.csv");
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("115000.00", "115 000.00x");
    std::fs::write(&p, text).unwrap();
    let out = Command::cargo_bin("tilskudd")
        .unwrap()
        .arg("diff")
        .arg(d.path().join("a"))
        .arg(d.path().join("b"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("grunnlag.csv:2: opptjent: '115 000.00x'"),
        "{err}"
    );
}
