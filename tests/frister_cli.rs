//! `tilskudd frister` end to end on the fixtures in `tests/data/ekstra/` (synthetic person numbers).

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ekstra")
}

fn frister() -> Command {
    let d = data();
    let mut c = Command::cargo_bin("tilskudd").unwrap();
    c.arg("frister")
        .arg("--dsf")
        .arg(d.join("dsf"))
        .arg("--rates")
        .arg(d.join("satser.csv"))
        .arg("--vedtak")
        .arg(d.join("vedtak.csv"));
    c
}

#[test]
fn frister_lists_next_deadline_masked_and_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("frister.csv");
    let a = frister()
        .args(["--from", "2019-05-01", "--days", "30", "--csv"])
        .arg(&csv)
        .assert()
        .success();
    let s = String::from_utf8(a.get_output().stdout.clone()).unwrap();
    // P1 (settled 09.04.2018) has T1 for år 1 granted: next is år 2, S + 25 = 09.05.2020 (outside).
    // P2 (settled 09.04.2015) has år 1 granted: år 4 due S + 49 = 09.05.2019 (år 2, 3 are past).
    // P3 (utenfor) and P4 (no agreement) are not eligible.
    assert!(s.contains("2019-05-09") && s.contains("109202*****"), "{s}");
    assert!(!s.contains("10920250020") && !s.contains("158690"), "{s}");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(
        text,
        "frist,fnr,kommunenummer,hva,tilskuddsar,periode_fra,periode_til,forfalt\n\
         2019-05-09,10920250020,0301,soknad T2,4,2018-04-09,2019-04-08,nei\n"
    );
}

#[test]
fn frister_kommune_filter_and_empty_window() {
    let a = frister()
        .args(["--from", "2019-05-01", "--days", "30", "--kommune", "4601"])
        .assert()
        .success();
    let s = String::from_utf8(a.get_output().stdout.clone()).unwrap();
    assert!(s.contains(": 0"), "{s}");
    // A malformed --kommune or an absurd --days is a usage error (exit 2), said before any reading.
    for args in [
        ["--kommune", "12"],
        ["--kommune", "abc"],
        ["--days", "4294967295"],
    ] {
        frister()
            .args(["--from", "2019-05-01"])
            .args(args)
            .assert()
            .code(2);
    }
}

/// `--from` takes the dates of SPEC §1.1 like `--basis-date` (`01.05.2019` was a usage error with chrono's
/// "input contains invalid characters"); a year outside 1900–9999 is a usage error before any reading
/// (`+262142-12-31` exited 1 "--days goes beyond the calendar").
#[test]
fn frister_from_takes_both_date_forms_and_refuses_far_years() {
    let iso = frister()
        .args(["--from", "2019-05-01", "--days", "30"])
        .assert()
        .success();
    let norwegian = frister()
        .args(["--from", "01.05.2019", "--days", "30"])
        .assert()
        .success();
    assert_eq!(iso.get_output().stdout, norwegian.get_output().stdout);
    for from in ["+262142-12-31", "0024-05-01", "31.02.2019", "2019-5-1"] {
        let a = frister().args(["--from", from]).assert().code(2);
        let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
        assert!(err.contains("--from"), "{from}: {err}");
    }
}

/// `--csv` into a finished termin's folder does not replace its ledger (found by the session-8 probe:
/// `frister --csv q4/utbetalt.csv` replaced the file the next termin reads as `--paid`).
#[test]
fn frister_csv_does_not_replace_a_termin_output() {
    let tmp = tempfile::tempdir().unwrap();
    let q4 = tmp.path().join("q4");
    std::fs::create_dir(&q4).unwrap();
    std::fs::write(q4.join("manifest.json"), r#"{"outputs": ["utbetalt.csv"]}"#).unwrap();
    std::fs::write(q4.join("utbetalt.csv"), "the ledger\n").unwrap();
    let a = frister()
        .args(["--from", "2019-05-01", "--days", "30", "--csv"])
        .arg(q4.join("utbetalt.csv"))
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("utbetalt.csv is an output of the termin"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(q4.join("utbetalt.csv")).unwrap(),
        "the ledger\n"
    );
}
