//! The shipped example (`fixtures/example/`) is exactly the generator's output for the command documented in
//! `fixtures/README.md`: regenerate it through the real binary and compare every byte.

use assert_cmd::Command;
use std::path::Path;

const FILES: [&str; 4] = [
    "dsf/personer.csv",
    "dsf/flyttinger.csv",
    "kommuner.csv",
    "satser.csv",
];

#[test]
fn example_fixture_is_reproducible_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    Command::cargo_bin("tilskudd")
        .unwrap()
        .args(["generate", "--persons", "300", "--seed", "2024", "--out"])
        .arg(tmp.path())
        .assert()
        .success();
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/example");
    for f in FILES {
        let want = std::fs::read(committed.join(f)).unwrap();
        let got = std::fs::read(tmp.path().join(f)).unwrap();
        assert!(
            want == got,
            "fixtures/example/{f} differs from `tilskudd generate --persons 300 --seed 2024`; \
             if the generator changed on purpose, regenerate (see fixtures/README.md)"
        );
    }
    // Nothing else was written (no temporary files left behind).
    let mut names: Vec<String> = walk(tmp.path())
        .into_iter()
        .map(|p| {
            p.strip_prefix(tmp.path())
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    names.sort();
    let mut want: Vec<String> = FILES.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(names, want);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Options outside what the generator supports are usage errors (exit 2, SPEC §7; they were exit 1),
/// said before anything is written; an `--out` that is a file is named as such (it was "File exists").
#[test]
fn bad_options_fail_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    for (opt, value) in [
        ("--kommuner", "1"),
        ("--kommuner", "40"),
        ("--year", "2045"),
        ("--year", "1900"),
    ] {
        Command::cargo_bin("tilskudd")
            .unwrap()
            .args(["generate", "--persons", "10", opt, value, "--out"])
            .arg(&out)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(format!("'{value}' for '{opt}")));
        assert!(!out.exists());
    }
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    Command::cargo_bin("tilskudd")
        .unwrap()
        .args(["generate", "--persons", "10", "--out"])
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("is a file, not a folder"));
}
