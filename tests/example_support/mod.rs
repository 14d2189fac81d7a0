//! Shared by the tests that run `tilskudd termin` on the shipped example (`fixtures/example/`).
#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tilskudd termin TERMIN` on the example extract, rates, register and payment config, run from the
/// repository root (so file names in outputs are the README's relative paths), with `extra` options and
/// `--out out`.
pub fn example_termin(termin: &str, out: &Path, extra: &[&str]) -> std::process::Output {
    Command::cargo_bin("tilskudd")
        .unwrap()
        .current_dir(repo())
        .args([
            "termin",
            termin,
            "--dsf",
            "fixtures/example/dsf",
            "--rates",
            "fixtures/example/satser.csv",
            "--kommuner",
            "fixtures/example/kommuner.csv",
            "--config",
            "fixtures/example/tilskudd.conf",
        ])
        .args(extra)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}
