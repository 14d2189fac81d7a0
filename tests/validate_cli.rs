//! `tilskudd validate` end to end (SPEC §7): exit 0 clean, 3 rows rejected, 1 a table cannot be read;
//! malformed files give a clear message and never a panic; person numbers are masked.

mod input_support;

use assert_cmd::Command;
use input_support::*;
use predicates::prelude::*;
use std::path::Path;

fn tilskudd() -> Command {
    Command::cargo_bin("tilskudd").unwrap()
}

fn personer(dir: &Path, content: impl AsRef<[u8]>) -> std::path::PathBuf {
    let d = dir.join("dsf");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("personer.csv"), content).unwrap();
    d
}

/// Runs validate on a DSF folder and checks it fails with exit 1, a message, and no panic.
fn fails_clearly(dsf: &Path, expect: &str) {
    tilskudd()
        .args(["validate", "--dsf"])
        .arg(dsf)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(expect))
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn clean_extract_exits_0_with_summary() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _, c) = write_all(dir.path());
    let reg = dir.path().join("kommuner.csv");
    std::fs::write(&reg, kommuner_csv()).unwrap();
    let rates = Path::new(env!("CARGO_MANIFEST_DIR")).join("rates");
    for dsf in [&a, &c] {
        let out = tilskudd()
            .args(["validate", "--dsf"])
            .arg(dsf)
            .arg("--kommuner")
            .arg(&reg)
            .arg("--rates")
            .arg(&rates)
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.contains("accepted") && out.contains("synthetic"),
            "{out}"
        );
        assert!(out.contains("satser.csv"), "{out}");
        assert!(out.contains("no problems found"), "{out}");
    }
}

#[test]
fn rejected_rows_exit_3_and_are_listed_masked() {
    let dir = tempfile::tempdir().unwrap();
    let good = fnr("018185", 100);
    let bad = bad_control(&fnr("028185", 100));
    let d = personer(
        dir.path(),
        format!(
            "fnr,bosettingsdato,bosettingskommune,sak_id,malgruppe\n\
             {good},2022-01-10,0301,S1,flyktning\n\
             {bad},31.02.2022,0301,S2,flyktning\n"
        ),
    );
    let out = tilskudd()
        .args(["validate", "--dsf"])
        .arg(&d)
        .assert()
        .code(3)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    // file:line: column: message — both problems of line 3.
    assert!(out.contains("personer.csv:3: fnr: "), "{out}");
    assert!(
        out.contains("personer.csv:3: bosettingsdato: the date '31.02.2022' does not exist"),
        "{out}"
    );
    assert!(out.contains(&format!("{}*****", &bad[..6])), "{out}");
    assert!(
        !out.contains(&bad) && !out.contains(&good),
        "person numbers must be masked: {out}"
    );
}

#[test]
fn no_synthetic_rejects_test_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let f = fnr("018185", 100);
    let d = personer(
        dir.path(),
        format!("fnr,bosettingsdato,bosettingskommune,sak_id,malgruppe\n{f},2022-01-10,0301,S1,flyktning\n"),
    );
    tilskudd()
        .args(["validate", "--dsf"])
        .arg(&d)
        .assert()
        .code(0);
    tilskudd()
        .args(["validate", "--no-synthetic", "--dsf"])
        .arg(&d)
        .assert()
        .code(3)
        .stdout(predicate::str::contains("[syntetisk_fnr]"));
}

#[test]
fn header_only_is_zero_rows_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = personer(
        dir.path(),
        "fnr,bosettingsdato,bosettingskommune,sak_id,malgruppe\n",
    );
    tilskudd()
        .args(["validate", "--dsf"])
        .arg(&d)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("no problems found"));
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    fails_clearly(&personer(dir.path(), ""), "the file is empty");
}

#[test]
fn binary_garbage() {
    let dir = tempfile::tempdir().unwrap();
    // Deterministic pseudo-random bytes, including NUL.
    let mut x: u32 = 12345;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            x = x.wrapping_mul(1103515245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect();
    fails_clearly(&personer(dir.path(), bytes), "binary");
}

#[test]
fn binary_without_nul_is_a_missing_column() {
    let dir = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = (1u8..=255)
        .cycle()
        .take(3000)
        .filter(|b| *b != b'\n')
        .collect();
    fails_clearly(
        &personer(dir.path(), bytes),
        "required column 'fnr' is missing",
    );
}

#[test]
fn utf16() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = vec![0xFF, 0xFE];
    for u in "fnr,bosettingsdato\n".encode_utf16() {
        b.extend(u.to_le_bytes());
    }
    fails_clearly(&personer(dir.path(), b), "UTF-16");
}

#[test]
fn missing_required_column() {
    let dir = tempfile::tempdir().unwrap();
    let d = personer(dir.path(), "fnr,bosettingsdato,sak_id,malgruppe\n");
    fails_clearly(&d, "required column 'bosettingskommune' is missing");
}

#[test]
fn huge_field() {
    let dir = tempfile::tempdir().unwrap();
    let f = fnr("018185", 100);
    let big = "x".repeat(3 << 20);
    let d = personer(
        dir.path(),
        format!("fnr,bosettingsdato,bosettingskommune,sak_id,malgruppe\n{f},2022-01-10,0301,{big},flyktning\n"),
    );
    fails_clearly(&d, "longer than the limit");
}

#[test]
fn unclosed_quote_swallowing_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = fnr("018185", 100);
    let mut s = String::from("fnr,bosettingsdato,bosettingskommune,sak_id,malgruppe\n");
    s.push_str(&format!("{f},2022-01-10,0301,\"S1,flyktning\n"));
    for _ in 0..40_000 {
        s.push_str(&format!("{f},2022-01-10,0301,S1,flyktning\n"));
    }
    fails_clearly(&personer(dir.path(), s), "longer than the limit");
}

#[test]
fn duplicate_column() {
    let dir = tempfile::tempdir().unwrap();
    fails_clearly(
        &personer(
            dir.path(),
            "fnr,FNR,bosettingsdato,bosettingskommune,sak_id,malgruppe\n",
        ),
        "appears twice",
    );
}

#[test]
fn missing_folder_and_missing_personer() {
    let dir = tempfile::tempdir().unwrap();
    fails_clearly(&dir.path().join("nope"), "no such file or folder");
    fails_clearly(dir.path(), "no personer.csv");
}

#[test]
fn workbook_without_personer_sheet_and_broken_workbook() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("dsf.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    wb.add_worksheet().set_name("Ark1").unwrap();
    wb.save(&p).unwrap();
    fails_clearly(&p, "no sheet 'personer'");
    let q = dir.path().join("broken.xlsx");
    std::fs::write(&q, b"PK\x03\x04 this is not a zip").unwrap();
    fails_clearly(&q, "cannot open the workbook");
    // An empty personer sheet.
    let r = dir.path().join("empty.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    wb.add_worksheet().set_name("personer").unwrap();
    wb.save(&r).unwrap();
    fails_clearly(&r, "the sheet is empty");
}

#[test]
fn xlsx_named_csv() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, c) = write_all(dir.path());
    let d = personer(dir.path(), std::fs::read(&c).unwrap());
    fails_clearly(&d, "Excel workbook");
}

#[test]
fn bad_rates_or_register_file_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _, _) = write_all(dir.path());
    let rates = dir.path().join("satser.csv");
    std::fs::write(&rates, "ar,kode,belop\n2024,AR-2,1\n").unwrap();
    tilskudd()
        .args(["validate", "--dsf"])
        .arg(&a)
        .arg("--rates")
        .arg(&rates)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "required column 'status' is missing",
        ));
    tilskudd()
        .args(["validate", "--dsf"])
        .arg(&a)
        .arg("--kommuner")
        .arg(dir.path().join("ingen.csv"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("ingen.csv"));
}
