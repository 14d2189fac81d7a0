//! Issue 6: the parallel CSV reader (batches checked on the rayon pool, a fast path for quote-free
//! lines, `csv_core` for the rest, one read feeding hash, UTF-8 check and parse) gives exactly the
//! `Loaded` of the one-thread reference reader — rows, avvik with their line numbers, stats, SHA-256 —
//! on tricky files, with batches far smaller than the file so that every batch boundary case occurs.

mod input_support;

use input_support::*;
use std::path::{Path, PathBuf};
use tilskudd::domain::ids::Fnr;
use tilskudd::domain::kommune::KommuneRegister;
use tilskudd::input::table::{with_read_settings, ReadSettings};
use tilskudd::input::{load_dsf, load_kommuner, load_ledger, LoadOptions};

/// Chunk sizes: smaller than a line, a few lines, many lines, larger than the file.
const CHUNKS: [usize; 5] = [7, 64, 333, 4096, 1 << 20];

fn sequential() -> ReadSettings {
    ReadSettings {
        chunk_bytes: 1 << 20,
        sequential: true,
    }
}

fn parallel(chunk: usize) -> ReadSettings {
    ReadSettings {
        chunk_bytes: chunk,
        sequential: false,
    }
}

/// `n` distinct valid synthetic person numbers.
fn numbers(n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    'all: for yy in 50..100 {
        for mm in 81..=92 {
            for dd in 1..=28 {
                for ind in (100..400).step_by(37) {
                    if let Some(f) =
                        Fnr::with_control_digits(&format!("{dd:02}{mm:02}{yy:02}{ind:03}"))
                    {
                        out.push(f.to_string());
                        if out.len() == n {
                            break 'all;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(out.len(), n);
    out
}

fn register(dir: &Path) -> KommuneRegister {
    let p = dir.join("kommuner.csv");
    std::fs::write(&p, kommuner_csv()).unwrap();
    load_kommuner(&p).unwrap().data
}

fn opts(reg: &KommuneRegister) -> LoadOptions<'_> {
    opts_with(reg)
}

/// A `personer` table of `n` rows with problems spread through it: bad control digits, dates that do not
/// exist, unknown municipalities and målgrupper, quoted values holding the delimiter, quotes and line
/// breaks, rows with an extra field, blank and white-space lines, and fnr duplicated far apart.
/// `odd` (if given) replaces the sak_id of row `odd.0` (e.g. a non-ASCII or NUL-bearing value).
fn personer_text(n: usize, odd: Option<(usize, &str)>) -> (String, Vec<String>) {
    let fnrs = numbers(n);
    let mut lines = vec![PERSON_COLS.join(",")];
    for i in 0..n {
        let mut fnr = fnrs[i].clone();
        if i % 37 == 5 {
            fnr = bad_control(&fnr);
        }
        // Duplicates far apart: every row of a duplicated fnr is rejected.
        if i == n - 5 {
            fnr = fnrs[10].clone();
        }
        if i == n / 2 {
            fnr = fnrs[20].clone();
        }
        let bosatt = if i % 53 == 7 {
            "2023-02-30"
        } else {
            "2022-03-15"
        };
        let kommune = match i % 71 {
            3 => "9999",
            4 => "301",
            _ if i % 2 == 0 => "0301",
            _ => "5001",
        };
        let mut sak = format!("S{i}");
        if i % 29 == 11 {
            sak = format!("S,{i}\nsecond line; and more");
        }
        if i % 31 == 0 {
            sak = format!("S\"{i}\"");
        }
        if i % 41 == 13 {
            sak = format!("Søknad {i} – æøå");
        }
        if let Some((row, v)) = odd {
            if row == i {
                sak = v.to_string();
            }
        }
        let malgruppe = if i % 43 == 2 { "ukjent" } else { "flyktning" };
        let boolean = if i % 59 == 8 { "kanskje" } else { "ja" };
        let mut row: Vec<String> = vec![
            fnr,
            String::new(),
            String::new(),
            bosatt.into(),
            kommune.into(),
            sak,
            malgruppe.into(),
            boolean.into(),
            "nei".into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            "nei".into(),
        ];
        if i % 61 == 9 {
            row.push("extra".into());
        }
        if i % 67 == 1 {
            row[0] = String::new(); // mangler_verdi
        }
        let text = to_csv(&[], &[row], ',');
        lines.push(
            text.trim_start_matches('\n')
                .trim_end_matches('\n')
                .to_string(),
        );
        if i % 97 == 3 {
            lines.push(String::new());
        }
        if i % 101 == 4 {
            lines.push("   ".into());
        }
    }
    (lines.join("\n") + "\n", fnrs)
}

/// A `flyttinger` table for the persons of [`personer_text`]: good moves, moves of unknown persons, moves
/// before settlement, broken chains, quoted values.
fn flyttinger_text(fnrs: &[String]) -> String {
    let mut lines = vec![MOVE_COLS.join(",")];
    for (i, f) in fnrs.iter().enumerate() {
        if i % 3 != 0 {
            continue;
        }
        let from = if i % 2 == 0 { "0301" } else { "5001" };
        let to = if i % 2 == 0 { "5001" } else { "0301" };
        let row: Vec<String> = match i % 27 {
            0 => vec![f.clone(), "2021-01-01".into(), to.into(), from.into()], // before settlement
            3 => vec![f.clone(), "2023-02-01".into(), to.into(), "1103".into()], // broken chain
            6 => vec![bad_control(f), "2023-02-01".into(), to.into(), from.into()],
            9 => vec![f.clone(), "2023-02-01".into(), from.into(), String::new()], // same municipality
            12 => vec![f.clone(), "1.2.2023".into(), to.into(), from.into()],
            _ => vec![f.clone(), "2023-02-01".into(), to.into(), from.into()],
        };
        let text = to_csv(&[], &[row], ',');
        lines.push(
            text.trim_start_matches('\n')
                .trim_end_matches('\n')
                .to_string(),
        );
        if i % 3 == 0 && i % 9 == 0 {
            // A second move of the same person later, quoted.
            lines.push(format!("\"{f}\",\"2024-03-01\",\"1103\",\"{to}\""));
        }
    }
    lines.join("\n") + "\n"
}

/// Line ends other than `\n`: every `\n` (also inside quoted values) becomes `end`, or every third.
fn with_line_ends(text: &str, end: &str, every_third: bool) -> String {
    if !every_third {
        return text.replace('\n', end);
    }
    let mut out = String::with_capacity(text.len() * 2);
    for (i, part) in text.split('\n').enumerate() {
        if i > 0 {
            out.push_str(if i % 3 == 0 { end } else { "\n" });
        }
        out.push_str(part);
    }
    out
}

fn write_extract(dir: &Path, personer: &[u8], flyttinger: &[u8]) -> PathBuf {
    let d = dir.join("dsf");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("personer.csv"), personer).unwrap();
    std::fs::write(d.join("flyttinger.csv"), flyttinger).unwrap();
    d
}

/// Loads the extract with the reference reader and with the parallel reader at every chunk size, and
/// asserts identical results (or identical errors). Returns the reference result's avvik count.
fn assert_dsf_same(dir: &Path, opts: &LoadOptions) -> usize {
    let reference = with_read_settings(sequential(), || load_dsf(dir, opts));
    for chunk in CHUNKS {
        let got = with_read_settings(parallel(chunk), || load_dsf(dir, opts));
        match (&reference, &got) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.data.personer, b.data.personer, "personer, chunk {chunk}");
                assert_eq!(
                    a.data.flyttinger, b.data.flyttinger,
                    "flyttinger, chunk {chunk}"
                );
                assert_eq!(a.data.personer_file, b.data.personer_file);
                assert_eq!(a.data.flyttinger_file, b.data.flyttinger_file);
                assert_eq!(a.avvik, b.avvik, "avvik, chunk {chunk}");
                assert_eq!(a.stats, b.stats, "stats, chunk {chunk}");
                assert_eq!(a.files, b.files, "files, chunk {chunk}");
            }
            (Err(a), Err(b)) => assert_eq!(format!("{a:#}"), format!("{b:#}"), "chunk {chunk}"),
            (a, b) => panic!(
                "chunk {chunk}: reference {:?} but parallel {:?}",
                a.as_ref().map(|l| l.avvik.len()).map_err(|e| e.to_string()),
                b.as_ref().map(|l| l.avvik.len()).map_err(|e| e.to_string())
            ),
        }
    }
    reference.map(|l| l.avvik.len()).unwrap_or(0)
}

#[test]
fn tricky_extract_reads_the_same_in_parallel_with_every_line_end() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = register(tmp.path());
    let o = opts(&reg);
    let (personer, fnrs) = personer_text(1500, None);
    let flyttinger = flyttinger_text(&fnrs);
    for (end, every_third) in [
        ("\n", false),
        ("\r\n", false),
        ("\r", false),
        ("\r\n", true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let p = with_line_ends(&personer, end, every_third);
        let f = with_line_ends(&flyttinger, end, every_third);
        let d = write_extract(dir.path(), p.as_bytes(), f.as_bytes());
        let avvik = assert_dsf_same(&d, &o);
        // The test data really has problems all through the file (else it would prove little).
        assert!(avvik > 200, "{end:?}: only {avvik} avvik");
    }
}

#[test]
fn duplicates_far_apart_are_all_rejected_in_parallel() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = register(tmp.path());
    let o = opts(&reg);
    let (personer, fnrs) = personer_text(1500, None);
    let d = write_extract(
        tmp.path(),
        personer.as_bytes(),
        flyttinger_text(&fnrs).as_bytes(),
    );
    assert_dsf_same(&d, &o);
    let l = with_read_settings(parallel(64), || load_dsf(&d, &o)).unwrap();
    let dup: Vec<u64> = l
        .avvik
        .iter()
        .filter(|a| a.kode == "duplikat_fnr")
        .filter_map(|a| a.linje)
        .collect();
    assert_eq!(dup.len(), 4, "{dup:?}");
    let kept = |f: &str| l.data.personer.iter().any(|p| p.fnr.as_str() == f);
    assert!(!kept(&fnrs[10]) && !kept(&fnrs[20]));
}

#[test]
fn bom_semicolons_and_multibyte_text_split_anywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = register(tmp.path());
    let o = opts(&reg);
    let (personer, fnrs) = personer_text(700, None);
    let flyttinger = flyttinger_text(&fnrs);
    // With a BOM (the header is then scanned first).
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(personer.as_bytes());
    let dir = tempfile::tempdir().unwrap();
    let d = write_extract(dir.path(), &bom, flyttinger.as_bytes());
    assert_dsf_same(&d, &o);
    // `;` as the delimiter: the `,` inside values is then plain text.
    let semi = personer.replace(',', ";");
    let dir = tempfile::tempdir().unwrap();
    let d = write_extract(
        dir.path(),
        semi.as_bytes(),
        flyttinger.replace(',', ";").as_bytes(),
    );
    assert_dsf_same(&d, &o);
}

#[test]
fn windows_1252_files_are_redone_and_read_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = register(tmp.path());
    let o = opts(&reg);
    // ASCII header, the first non-UTF-8 byte far into the file: found only after many batches.
    let (personer, fnrs) = personer_text(900, Some((850, "S#850")));
    let personer = personer
        .replace(['æ', 'ø', 'å', '–'], "e")
        .replace("S#850", "Søknad 850");
    let dir = tempfile::tempdir().unwrap();
    let d = write_extract(
        dir.path(),
        &win1252(&personer),
        flyttinger_text(&fnrs).as_bytes(),
    );
    assert_dsf_same(&d, &o);
    let l = with_read_settings(parallel(333), || load_dsf(&d, &o)).unwrap();
    assert!(l.data.personer.iter().any(|p| p.sak_id == "Søknad 850"));
    // A Windows-1252 header (`Fødselsdato`): decided before the rows are read.
    let s = small();
    let dir = tempfile::tempdir().unwrap();
    let d = write_extract(
        dir.path(),
        &variant_b(&PERSON_COLS, &s.persons),
        &variant_b(&MOVE_COLS, &s.moves),
    );
    assert_dsf_same(&d, &o);
}

#[test]
fn files_that_are_not_tables_fail_the_same_way() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = register(tmp.path());
    let o = opts(&reg);
    let (personer, fnrs) = personer_text(600, None);
    let flyttinger = flyttinger_text(&fnrs);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // A NUL byte far into the file.
        (
            "nul",
            personer_text(600, Some((550, "S\0x"))).0.into_bytes(),
        ),
        // A record longer than the limit in the middle of the file.
        (
            "huge",
            personer_text(600, Some((300, &"x".repeat(1_100_000))))
                .0
                .into_bytes(),
        ),
        // A quote opened near the end and never closed: the rest is one record.
        ("unclosed", {
            let mut p = personer.clone();
            let at = p.len() - 200;
            let cut = p[at..].find('\n').map(|i| at + i + 1).unwrap();
            p.insert(cut, '"');
            p.into_bytes()
        }),
        // Missing required column (the header is ASCII; a NUL later decides).
        ("missing column with nul", {
            let mut p = personer.replacen("sak_id", "sak", 1);
            p.push('\0');
            p.into_bytes()
        }),
        (
            "missing column",
            personer.replacen("sak_id", "sak", 1).into_bytes(),
        ),
        ("header only", PERSON_COLS.join(",").into_bytes()),
        ("blank lines only", b"\n\n\r\n".to_vec()),
    ];
    for (what, bytes) in cases {
        let dir = tempfile::tempdir().unwrap();
        let d = write_extract(dir.path(), &bytes, flyttinger.as_bytes());
        let reference = with_read_settings(sequential(), || load_dsf(&d, &o));
        for chunk in CHUNKS {
            let got = with_read_settings(parallel(chunk), || load_dsf(&d, &o));
            match (&reference, &got) {
                (Err(a), Err(b)) => {
                    assert_eq!(format!("{a:#}"), format!("{b:#}"), "{what}, chunk {chunk}")
                }
                (Ok(a), Ok(b)) => {
                    assert_eq!(a.data.personer, b.data.personer, "{what}, chunk {chunk}");
                    assert_eq!(a.avvik, b.avvik, "{what}, chunk {chunk}");
                    assert_eq!(a.stats, b.stats, "{what}, chunk {chunk}");
                    assert_eq!(a.files, b.files, "{what}, chunk {chunk}");
                }
                _ => panic!("{what}, chunk {chunk}: one reader failed, the other did not"),
            }
        }
        match what {
            "nul" | "huge" | "missing column" | "missing column with nul" | "blank lines only" => {
                assert!(reference.is_err(), "{what}")
            }
            _ => assert!(reference.is_ok(), "{what}"),
        }
        if what == "missing column with nul" {
            let e = format!("{:#}", reference.err().unwrap());
            assert!(e.contains("NUL"), "{e}");
        }
    }
}

#[test]
fn ledger_reads_the_same_in_parallel() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = register(tmp.path());
    let o = opts(&reg);
    let fnrs = numbers(800);
    let mut text = String::from("termin,kommunenummer,fnr,kode,ar,belop\n");
    for (i, f) in fnrs.iter().enumerate() {
        let belop = match i % 13 {
            0 => "-1200.50".to_string(),
            1 => "\"1 234,50\"".to_string(),
            2 => "12a".to_string(),
            3 => "-0.00".to_string(),
            4 => "198400".to_string(),
            _ => format!("{}.{:02}", 1000 + i, i % 100),
        };
        let termin = if i % 17 == 3 { "2024-Q5" } else { "2024-Q4" };
        let kode = if i % 19 == 4 { "EKSTRA" } else { "AR-1" };
        let ar = if i % 23 == 5 { "20x4" } else { "2024" };
        let kommune = if i % 29 == 6 { "9999" } else { "0301" };
        text.push_str(&format!("{termin},{kommune},{f},{kode},{ar},{belop}\n"));
        if i % 50 == 7 {
            text.push('\n');
        }
    }
    for (end, every_third) in [("\n", false), ("\r\n", true), ("\r", false)] {
        let p = tmp.path().join("utbetalt.csv");
        std::fs::write(&p, with_line_ends(&text, end, every_third)).unwrap();
        let paths = vec![p.clone(), p.clone()];
        let reference = with_read_settings(sequential(), || load_ledger(&paths, &o)).unwrap();
        assert!(reference.avvik.len() > 100);
        assert!(reference.data.len() > 400);
        for chunk in CHUNKS {
            let got = with_read_settings(parallel(chunk), || load_ledger(&paths, &o)).unwrap();
            assert_eq!(reference.data, got.data, "{end:?} chunk {chunk}");
            assert_eq!(reference.avvik, got.avvik, "{end:?} chunk {chunk}");
            assert_eq!(reference.stats, got.stats, "{end:?} chunk {chunk}");
            assert_eq!(reference.files, got.files, "{end:?} chunk {chunk}");
        }
    }
}

#[test]
fn reported_hash_is_the_files_sha256() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = register(tmp.path());
    let o = opts(&reg);
    let (personer, fnrs) = personer_text(300, None);
    let d = write_extract(
        tmp.path(),
        personer.as_bytes(),
        flyttinger_text(&fnrs).as_bytes(),
    );
    let l = with_read_settings(parallel(64), || load_dsf(&d, &o)).unwrap();
    let expected = tilskudd::input::table::sha256_file(&d.join("personer.csv")).unwrap();
    assert_eq!(l.files[0].sha256, expected);
    assert_eq!(l.files[0].sha256.len(), 64);
}
