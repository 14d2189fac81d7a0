//! `tilskudd ekstra` end to end (SPEC §5, §7): the real binary on the fixtures in `tests/data/ekstra/`
//! (synthetic person numbers, example rates with status `eksempel`). Expected rows computed by hand below.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

const P1: &str = "15869010089"; // born 15.06.1990, settled 09.04.2018
const P2: &str = "10920250020"; // born 10.12.2002, unaccompanied minor, settled 09.04.2015

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ekstra")
}

fn ekstra(soknader: &str, out: &Path) -> Command {
    let d = data();
    let mut c = Command::cargo_bin("tilskudd").unwrap();
    c.arg("ekstra")
        .arg("--soknader")
        .arg(d.join(soknader))
        .arg("--dsf")
        .arg(d.join("dsf"))
        .arg("--rates")
        .arg(d.join("satser.csv"))
        .arg("--vedtak")
        .arg(d.join("vedtak.csv"))
        .arg("--out")
        .arg(out);
    c
}

#[test]
fn ekstra_writes_vedtak_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ekstra("soknader.csv", tmp.path()).assert().success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let csv = std::fs::read_to_string(tmp.path().join("vedtak.csv")).unwrap();
    // S01: P1 T1 år 1; V1 already granted a T1 → t1_allerede_innvilget (frist 09.04.2018 + 13 = 09.05.2019).
    // S02: P1 T2 år 2 after the år 1 grant → frist S + 25 = 09.05.2020; 215 000 − (35 000 − 20 000) = 200 000
    //      = threshold → accepted, proposes 200 000.
    // S03: P2 T2 år 6 (FHT-5: ends 08.04.2021 ≤ 31.12.2022), frist S + 73 = 09.05.2021.
    // S04: P2 T2 år 8 ends 08.04.2023 > 31.12.2022 → utenfor_periode; frist S + 97 = 09.05.2023.
    // S05: malgruppe utenfor; S06: not settled by agreement.
    // S07: P1 T2 år 3, frist S + 37 = 09.05.2021, no specialist statement → ufullstendig, still proposes 300 000.
    let expected = format!(
        "soknad_id,fnr,kommunenummer,type,tilskuddsar,periode_fra,periode_til,frist,status,arsaker,klagbar,foreslatt_belop,maks_belop,tilbakebetaling,refusjon
S01,{P1},0301,T1,1,2018-04-09,2019-04-08,2019-05-09,avvist,t1_allerede_innvilget,ja,0.00,180000.00,0.00,0.00
S02,{P1},0301,T2,2,2019-04-09,2020-04-08,2020-05-09,klar_for_vurdering,ansvarsgruppe_begrenset,nei,200000.00,1500000.00,0.00,0.00
S03,{P2},0301,T2,6,2020-04-09,2021-04-08,2021-05-09,klar_for_vurdering,,nei,300000.00,1500000.00,0.00,0.00
S04,{P2},0301,T2,8,2022-04-09,2023-04-08,2023-05-09,avvist,utenfor_periode,ja,0.00,1500000.00,0.00,0.00
S05,01828510068,0301,T1,1,2018-04-09,2019-04-08,2019-05-09,avvist,utenfor_integreringstilskudd,ja,0.00,180000.00,0.00,0.00
S06,01838610079,4601,T1,1,2018-04-09,2019-04-08,2019-05-09,avvist,ikke_avtale,ja,0.00,180000.00,0.00,0.00
S07,{P1},0301,T2,3,2020-04-09,2021-04-08,2021-05-09,ufullstendig,mangler_spesialisterklaering,nei,300000.00,1500000.00,0.00,0.00
"
    );
    assert_eq!(csv, expected);
    // Terminal: masked numbers only, a count per status, the rates used with their status.
    assert!(!stdout.contains(P1) && !stdout.contains(P2), "{stdout}");
    assert!(stdout.contains("158690*****"), "{stdout}");
    assert!(stdout.contains("7 søknader"), "{stdout}");
    assert!(
        stdout.contains("4 avvist") && stdout.contains("2 klar_for_vurdering"),
        "{stdout}"
    );
    assert!(
        stdout.contains("eksempel") && stdout.contains("(ikke vedtatt)"),
        "{stdout}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(tmp.path().join("vedtak.csv"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "vedtak.csv holds person numbers");
    }
}

#[test]
fn ekstra_rejected_rows_exit_3() {
    let tmp = tempfile::tempdir().unwrap();
    ekstra("soknader_feil.csv", tmp.path()).assert().code(3);
    let csv = std::fs::read_to_string(tmp.path().join("vedtak.csv")).unwrap();
    // The row with an invalid person number is left out; S01 is still checked.
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.lines().nth(1).unwrap().starts_with("S01,"));
    // The rejected row is in avvik.csv with its file, line 3 (header = line 1), column and a masked number.
    let avvik = std::fs::read_to_string(tmp.path().join("avvik.csv")).unwrap();
    let rows: Vec<&str> = avvik.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{avvik}");
    assert!(rows[0].contains("soknader_feil.csv,3,"), "{avvik}");
    assert!(rows[0].contains(",fnr,avvist"), "{avvik}");
    assert!(
        !avvik.contains("12345678901"),
        "person numbers are masked in avvik.csv"
    );
}

#[test]
fn ekstra_missing_rate_fails_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let rates = tmp.path().join("satser.csv");
    // Drop FHT-FRIST-MND for 2019 (needed for S02, år 2 starting 09.04.2019).
    let full = std::fs::read_to_string(data().join("satser.csv")).unwrap();
    let cut: String = full
        .lines()
        .filter(|l| !l.starts_with("2019,FHT-FRIST-MND"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&rates, cut).unwrap();
    let out = tmp.path().join("out");
    let d = data();
    let a = Command::cargo_bin("tilskudd")
        .unwrap()
        .arg("ekstra")
        .arg("--soknader")
        .arg(d.join("soknader.csv"))
        .arg("--dsf")
        .arg(d.join("dsf"))
        .arg("--rates")
        .arg(&rates)
        .arg("--vedtak")
        .arg(d.join("vedtak.csv"))
        .arg("--out")
        .arg(&out)
        .assert()
        .code(1);
    let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert!(
        err.contains("2019") && err.contains("FHT-FRIST-MND"),
        "{err}"
    );
    assert!(!out.join("vedtak.csv").exists());
}

#[test]
fn ekstra_explain_prints_the_trail() {
    let d = data();
    let a = Command::cargo_bin("tilskudd")
        .unwrap()
        .arg("ekstra")
        .arg("--soknader")
        .arg(d.join("soknader.csv"))
        .arg("--dsf")
        .arg(d.join("dsf"))
        .arg("--rates")
        .arg(d.join("satser.csv"))
        .arg("--vedtak")
        .arg(d.join("vedtak.csv"))
        .arg("--explain")
        .arg("S02")
        .assert()
        .success();
    let s = String::from_utf8(a.get_output().stdout.clone()).unwrap();
    // FHT-2: 09.04.2018 + 24 + 1 = 09.05.2020; FHT-4: the responsibility-group cap.
    assert!(
        s.contains("FHT-1") && s.contains("09.04.2019–08.04.2020"),
        "{s}"
    );
    assert!(s.contains("FHT-2") && s.contains("09.05.2020"), "{s}");
    assert!(s.contains("ansvarsgruppe_begrenset"), "{s}");
    assert!(
        s.contains("FHT-9") && s.contains("klar_for_vurdering"),
        "{s}"
    );
    assert!(!s.contains(P1), "{s}");
    // Unknown id: exit 1.
    Command::cargo_bin("tilskudd")
        .unwrap()
        .arg("ekstra")
        .arg("--soknader")
        .arg(d.join("soknader.csv"))
        .arg("--dsf")
        .arg(d.join("dsf"))
        .arg("--rates")
        .arg(d.join("satser.csv"))
        .arg("--explain")
        .arg("S404")
        .assert()
        .code(1);
}

#[test]
fn ekstra_rerun_is_byte_identical() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    ekstra("soknader.csv", a.path()).assert().success();
    ekstra("soknader.csv", b.path()).assert().success();
    assert_eq!(
        std::fs::read(a.path().join("vedtak.csv")).unwrap(),
        std::fs::read(b.path().join("vedtak.csv")).unwrap()
    );
}

const SOKNAD_HEADER: &str = "soknad_id,fnr,kommunenummer,type,tilskuddsar,mottatt_dato,belop,grunnlag,ansvarsgruppe,utsatt_frist,samtykke,legeerklaering,spesialisterklaering,sosialrapport,tiltaksbeskrivelse,budsjettskjema\n";
const VEDTAK_HEADER: &str =
    "soknad_id,fnr,type,tilskuddsar,innvilget_belop,grunnlag,regnskap_belop,regnskap_mottatt\n";

/// `ekstra` on CSV text written to `dir` (`soknader.csv`, `vedtak.csv`), with the fixture DSF and rates.
fn ekstra_text(dir: &Path, soknader: &str, vedtak: &str) -> Command {
    let s = dir.join("soknader.csv");
    let v = dir.join("vedtak.csv");
    std::fs::write(&s, format!("{SOKNAD_HEADER}{soknader}")).unwrap();
    std::fs::write(&v, format!("{VEDTAK_HEADER}{vedtak}")).unwrap();
    let d = data();
    let mut c = Command::cargo_bin("tilskudd").unwrap();
    c.arg("ekstra")
        .arg("--soknader")
        .arg(&s)
        .arg("--dsf")
        .arg(d.join("dsf"))
        .arg("--rates")
        .arg(d.join("satser.csv"))
        .arg("--vedtak")
        .arg(&v)
        .arg("--out")
        .arg(dir.join("out"));
    c
}

/// The `vedtak.csv` row of one application, as its column values.
fn vedtak_row(out: &Path, id: &str) -> Vec<String> {
    let csv = std::fs::read_to_string(out.join("vedtak.csv")).unwrap();
    let row = csv
        .lines()
        .find(|l| l.starts_with(&format!("{id},")))
        .unwrap_or_else(|| panic!("no row {id} in {csv}"));
    row.split(',').map(str::to_string).collect()
}

/// The records of `avvik.csv` (without the header), their fields joined by `,` (a message may hold a line break).
fn avvik_rows(out: &Path) -> Vec<String> {
    csv::Reader::from_path(out.join("avvik.csv"))
        .unwrap()
        .records()
        .map(|r| r.unwrap().iter().collect::<Vec<_>>().join(","))
        .collect()
}

// P1 (settled 09.04.2018) applies for T2 år 3 on 01.05.2021 (FHT-2: due S + 37 = 09.05.2021); år 2 was granted
// 500 000 on budget. FHT-7 settles år 2's accounts into this application.
fn e1() -> String {
    format!("E1,{P1},0301,T2,3,2021-05-01,500000,budsjett,,,ja,ja,ja,ja,ja,ja\n")
}

#[test]
fn ekstra_repeated_vedtak_row_is_rejected_and_counted_once() {
    // The same decision twice: the repayment (FHT-7) 500 000 − 400 000 = 100 000 counted once, the repeated
    // line rejected (exit 3) naming the first line.
    let tmp = tempfile::tempdir().unwrap();
    let v4 = format!("V4,{P1},T2,2,500000,budsjett,400000,2020-05-01\n");
    let a = ekstra_text(tmp.path(), &e1(), &format!("{v4}{v4}"))
        .assert()
        .code(3);
    let out = tmp.path().join("out");
    let row = vedtak_row(&out, "E1");
    assert_eq!(row[13], "100000.00", "tilbakebetaling: {row:?}");
    let avvik = avvik_rows(&out);
    assert_eq!(avvik.len(), 1, "{avvik:?}");
    assert!(avvik[0].contains("vedtak.csv,3,"), "{avvik:?}");
    assert!(
        avvik[0].contains("duplikat_soknad_id") && avvik[0].contains("line 2"),
        "{avvik:?}"
    );
    assert!(avvik[0].contains(",soknad_id,avvist"), "{avvik:?}");
    assert!(!avvik[0].contains(P1), "masked: {avvik:?}");
    let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert!(err.contains("duplikat_soknad_id"), "{err}");
    assert!(!err.contains(P1), "{err}");
}

#[test]
fn ekstra_second_grant_same_person_type_year_is_rejected() {
    // Two decisions with their own ids granting T2 for år 2 to the same person: one grant per person, type and
    // year, so the second is rejected and the refund (accounts 600 000 > 500 000) is counted once.
    let tmp = tempfile::tempdir().unwrap();
    let v = format!(
        "V4,{P1},T2,2,500000,budsjett,600000,2020-05-01\nV5,{P1},T2,2,500000,budsjett,600000,2020-05-01\n"
    );
    ekstra_text(tmp.path(), &e1(), &v).assert().code(3);
    let out = tmp.path().join("out");
    let row = vedtak_row(&out, "E1");
    assert_eq!(row[14], "100000.00", "refusjon: {row:?}");
    let avvik = avvik_rows(&out);
    assert_eq!(avvik.len(), 1, "{avvik:?}");
    assert!(avvik[0].contains("vedtak.csv,3,"), "{avvik:?}");
    assert!(
        avvik[0].contains("duplikat_vedtak")
            && avvik[0].contains("line 2")
            && avvik[0].contains("V4"),
        "{avvik:?}"
    );

    // A decision of 0 (avslag) for the same year grants nothing: it may stand beside the grant (exit 0).
    let tmp = tempfile::tempdir().unwrap();
    let v = format!("V3,{P1},T2,2,0,budsjett,,\nV4,{P1},T2,2,500000,budsjett,400000,2020-05-01\n");
    ekstra_text(tmp.path(), &e1(), &v).assert().success();
    let row = vedtak_row(&tmp.path().join("out"), "E1");
    assert_eq!(row[13], "100000.00", "tilbakebetaling: {row:?}");
}

#[test]
fn ekstra_counts_rejected_rows_not_problems() {
    // Line 2 has five problems (type, tilskuddsar, date, amount, basis); lines 3–4 are one record joined by a
    // stray quote (two problems). Two rows are rejected, not seven; E1 (line 5) is used.
    let tmp = tempfile::tempdir().unwrap();
    let s = format!(
        "Z1,{P1},0301,T9,99,2019-13-01,abc,foo,,,ja,ja,ja,ja,ja,ja\n\
         Q1,{P1},0301,T2,2,2020-05-01,300000,\"budsjett\n\
         Q2,{P1},0301,T2,2,2020-05-01,300000,budsjett\",,,ja,ja,ja,ja,ja,ja\n{}",
        e1()
    );
    let v = format!("V4,{P1},T2,2,500000,budsjett,400000,2020-05-01\n");
    let a = ekstra_text(tmp.path(), &s, &v).assert().code(3);
    let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert!(err.contains("\n2 input rows rejected"), "{err}");
    let avvik = avvik_rows(&tmp.path().join("out"));
    assert_eq!(avvik.len(), 7, "every problem is still listed: {avvik:?}");
    vedtak_row(&tmp.path().join("out"), "E1");
}

#[test]
fn ekstra_no_applications_reads_sensibly() {
    // The only application is rejected: nothing to check, one row rejected (singular), no "0 søknader: ;".
    let tmp = tempfile::tempdir().unwrap();
    let s = format!("Z1,{P1},0301,T9,1,2020-05-01,300000,budsjett,,,ja,ja,ja,ja,ja,ja\n");
    let a = ekstra_text(tmp.path(), &s, "").assert().code(3);
    let out = String::from_utf8(a.get_output().stdout.clone()).unwrap();
    let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert!(out.contains("ingen søknader å vurdere"), "{out}");
    assert!(!out.contains("søknader: ;") && !out.contains('┌'), "{out}");
    assert!(err.contains("\n1 input row rejected"), "{err}");
    let csv = std::fs::read_to_string(tmp.path().join("out/vedtak.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1, "header only: {csv}");
}

#[test]
fn ekstra_missing_rate_names_the_application() {
    // E9 (line 3): T2 år 12 of P1 starts 09.04.2029; the fixture rates end in 2026, so the run stops (exit 1,
    // nothing written) and the message names the application, its line and the masked person number.
    let tmp = tempfile::tempdir().unwrap();
    let s = format!(
        "{}E9,{P1},0301,T2,12,2030-05-01,300000,budsjett,,,ja,ja,ja,ja,ja,ja\n",
        e1()
    );
    let v = format!("V4,{P1},T2,2,500000,budsjett,400000,2020-05-01\n");
    let a = ekstra_text(tmp.path(), &s, &v).assert().code(1);
    let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert!(
        err.contains("2029") && err.contains("FHT-FRIST-MND"),
        "{err}"
    );
    assert!(
        err.contains("'E9'") && err.contains("line 3") && err.contains("158690*****"),
        "{err}"
    );
    assert!(err.contains("soknader.csv"), "{err}");
    assert!(!err.contains(P1), "{err}");
    assert!(!tmp.path().join("out/vedtak.csv").exists());
    // --explain of that application says the same.
    let a = ekstra_text(tmp.path(), &s, &v)
        .arg("--explain")
        .arg("E9")
        .assert()
        .code(1);
    let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert!(
        err.contains("'E9'") && err.contains("line 3") && err.contains("2029"),
        "{err}"
    );
    assert!(!err.contains(P1), "{err}");
}

/// `ekstra --out` into a finished termin's folder would replace the termin's avvik.csv (found by the
/// session-8 probe); it is refused before anything is read, and the folder is left as it was.
#[test]
fn ekstra_out_does_not_replace_a_termin_output() {
    let tmp = tempfile::tempdir().unwrap();
    let q4 = tmp.path().join("q4");
    std::fs::create_dir(&q4).unwrap();
    std::fs::write(
        q4.join("manifest.json"),
        r#"{"outputs": ["grunnlag.csv", "avvik.csv", "manifest.json"]}"#,
    )
    .unwrap();
    std::fs::write(q4.join("avvik.csv"), "the termin's avvik\n").unwrap();
    let a = ekstra("soknader.csv", &q4).assert().code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("--out: avvik.csv is an output of the termin"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(q4.join("avvik.csv")).unwrap(),
        "the termin's avvik\n"
    );
    assert!(!q4.join("vedtak.csv").exists());
}
