//! The error catalogue (issue 7, after hledger's `test/errors/`): one folder per mistake a user can make,
//! `tests/errors/NN_name/`, holding
//! - the input files (paths relative to the folder),
//! - `args`: the command line after `tilskudd`, one argument per line,
//! - `make` (optional): inputs that are better built than committed (binary, UTF-16, huge, .xlsx), one
//!   directive per line (see [`make`]),
//! - `expected`: `exit N` and then one fragment per line that must occur in stdout + stderr; a line
//!   starting with `!` is a fragment that must NOT occur; `@PATH: fragment` must occur in the written file
//!   PATH (e.g. `out/avvik.csv`); `#` starts a comment line.
//!
//! Each case is copied into a fresh temporary folder and the real binary runs there, so the messages show
//! the relative paths of the `args` file. Besides the listed fragments, every case checks that no valid
//! person number of its inputs is printed unmasked (SPEC §6), and that nothing panicked.

use assert_cmd::Command;
use rust_xlsxwriter::Workbook;
use std::fs;
use std::path::{Path, PathBuf};
use tilskudd::domain::ids::Fnr;

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/errors")
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        let name = e.file_name();
        if p.is_dir() {
            copy_dir(&p, &to.join(&name));
        } else if !matches!(name.to_str(), Some("args" | "expected" | "make")) {
            fs::copy(&p, to.join(&name)).unwrap();
        }
    }
}

/// Builds the inputs a `make` file asks for:
/// - `utf16 SRC OUT`: SRC re-encoded as UTF-16LE with a byte order mark;
/// - `binary OUT N`: N bytes of a fixed pseudo-random sequence holding NUL bytes;
/// - `huge_field OUT BYTES`: a `personer` header and one row whose `sak_id` is BYTES long;
/// - `xlsx OUT SHEET=CSV ...`: a workbook with one text sheet per CSV file (`xlsx_far`: each sheet also
///   has a stray cell at XFD1048576);
/// - `copy SRC OUT`: a copy (to use one input twice).
fn make(spec: &str, dir: &Path) {
    for line in spec
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let w: Vec<&str> = line.split_whitespace().collect();
        let out = dir.join(w[1]);
        if let Some(parent) = out.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        match w[0] {
            "utf16" => {
                let text = fs::read_to_string(dir.join(w[1])).unwrap();
                let mut bytes = vec![0xFF, 0xFE];
                for u in text.encode_utf16() {
                    bytes.extend_from_slice(&u.to_le_bytes());
                }
                let to = dir.join(w[2]);
                fs::create_dir_all(to.parent().unwrap()).unwrap();
                fs::write(to, bytes).unwrap();
            }
            "binary" => {
                let n: usize = w[2].parse().unwrap();
                let mut x: u32 = 0x2545_F491;
                let bytes: Vec<u8> = (0..n)
                    .map(|i| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        if i % 7 == 3 {
                            0
                        } else {
                            (x >> 24) as u8
                        }
                    })
                    .collect();
                fs::write(&out, bytes).unwrap();
            }
            "huge_field" => {
                let n: usize = w[2].parse().unwrap();
                let text = format!(
                    "fnr,bosettingsdato,bosettingskommune,sak_id,malgruppe\n01819000049,2024-03-01,0301,{},flyktning\n",
                    "A".repeat(n)
                );
                fs::write(&out, text).unwrap();
            }
            "xlsx" | "xlsx_far" => {
                let mut wb = Workbook::new();
                for s in &w[2..] {
                    let (sheet, csv) = s.split_once('=').unwrap();
                    let ws = wb.add_worksheet();
                    ws.set_name(sheet).unwrap();
                    let text = fs::read_to_string(dir.join(csv)).unwrap();
                    for (r, l) in text.lines().enumerate() {
                        for (c, v) in l.split(',').enumerate() {
                            if !v.is_empty() {
                                ws.write_string(r as u32, c as u16, v).unwrap();
                            }
                        }
                    }
                    if w[0] == "xlsx_far" {
                        // One stray cell in the sheet's last row and column (XFD1048576).
                        ws.write_string(1_048_575, 16_383, "x").unwrap();
                    }
                }
                wb.save(&out).unwrap();
            }
            "copy" => {
                fs::copy(dir.join(w[1]), dir.join(w[2])).unwrap();
            }
            other => panic!("unknown make directive {other}"),
        }
    }
}

/// Every valid person number in the case's text inputs (11-digit runs that parse).
fn person_numbers(dir: &Path, out: &mut Vec<String>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            person_numbers(&p, out);
        } else if let Ok(text) = fs::read_to_string(&p) {
            let b = text.as_bytes();
            let mut i = 0;
            while i < b.len() {
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                if i - start == 11 && Fnr::parse(&text[start..i]).is_ok() {
                    out.push(text[start..i].to_string());
                }
                i = i.max(start + 1);
            }
        }
    }
}

struct Expected {
    exit: i32,
    present: Vec<String>,
    absent: Vec<String>,
}

fn parse_expected(text: &str) -> Expected {
    let mut exit = None;
    let mut present = Vec::new();
    let mut absent = Vec::new();
    for line in text.lines() {
        let l = line.trim_end();
        if l.trim().is_empty() || l.starts_with('#') {
            continue;
        }
        if let Some(code) = l.strip_prefix("exit ") {
            exit = Some(code.trim().parse().unwrap());
        } else if let Some(a) = l.strip_prefix('!') {
            absent.push(a.to_string());
        } else {
            present.push(l.to_string());
        }
    }
    Expected {
        exit: exit.expect("`expected` needs an `exit N` line"),
        present,
        absent,
    }
}

/// Runs one case; returns a description of every failed check (empty: passed).
fn run_case(case: &Path) -> Vec<String> {
    let name = case.file_name().unwrap().to_string_lossy().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    copy_dir(case, dir);
    if let Ok(spec) = fs::read_to_string(case.join("make")) {
        make(&spec, dir);
    }
    let args: Vec<String> = fs::read_to_string(case.join("args"))
        .unwrap_or_else(|_| panic!("{name}: no args file"))
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let expected = parse_expected(
        &fs::read_to_string(case.join("expected"))
            .unwrap_or_else(|_| panic!("{name}: no expected file")),
    );
    let mut fnrs = Vec::new();
    person_numbers(dir, &mut fnrs);

    let out = Command::cargo_bin("tilskudd")
        .unwrap()
        .args(&args)
        .current_dir(dir)
        .env("COLUMNS", "200")
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if std::env::var_os("ERRCAT_SHOW").is_some() {
        eprintln!("==== {name} (exit {:?})\n{text}", out.status.code());
    }
    let mut fails = Vec::new();
    if out.status.code() != Some(expected.exit) {
        fails.push(format!(
            "exit {:?}, expected {}",
            out.status.code(),
            expected.exit
        ));
    }
    for f in &expected.present {
        // `@PATH: fragment`: the fragment must be in the written file PATH (e.g. out/avvik.csv).
        if let Some((path, frag)) = f.strip_prefix('@').and_then(|r| r.split_once(": ")) {
            match fs::read_to_string(dir.join(path)) {
                Ok(content) if content.contains(frag) => {}
                Ok(content) => fails.push(format!("{path} lacks: {frag}\n{path}:\n{content}")),
                Err(e) => fails.push(format!("{path}: {e}")),
            }
        } else if !text.contains(f.as_str()) {
            fails.push(format!("missing fragment: {f}"));
        }
    }
    for f in &expected.absent {
        if text.contains(f.as_str()) {
            fails.push(format!("fragment must not appear: {f}"));
        }
    }
    for f in &fnrs {
        if text.contains(f.as_str()) {
            fails.push(format!("person number {}***** printed unmasked", &f[..6]));
        }
    }
    if text.contains("panicked") || text.contains("RUST_BACKTRACE") {
        fails.push("the program panicked".into());
    }
    if !fails.is_empty() {
        fails.insert(0, format!("---- {name} ----\noutput:\n{text}"));
    }
    fails
}

#[test]
fn error_catalogue() {
    let mut cases: Vec<PathBuf> = fs::read_dir(cases_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    // Issue 7: at least 25 cases.
    assert!(cases.len() >= 25, "only {} cases", cases.len());
    let only = std::env::var("ERRCAT_ONLY").ok();
    let mut fails = Vec::new();
    for c in &cases {
        if only
            .as_deref()
            .is_some_and(|o| !c.to_string_lossy().contains(o))
        {
            continue;
        }
        fails.extend(run_case(c));
    }
    assert!(fails.is_empty(), "\n{}", fails.join("\n"));
}
