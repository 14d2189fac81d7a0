//! One test per bug found by the error catalogue, the property tests or the fuzzers (issue 7), named after
//! the bug. Each failed before its fix.

use std::fs;
use tilskudd::domain::ids::Fnr;
use tilskudd::input::{load_dsf, LoadOptions};

fn opts() -> LoadOptions<'static> {
    LoadOptions {
        run_year: 2024,
        reject_synthetic: false,
        kommuner: None,
    }
}

fn fnr(first9: &str) -> String {
    Fnr::with_control_digits(first9)
        .expect("valid individual number")
        .to_string()
}

/// SPEC §6: a person number written with a space (`010180 12345`) is not 11 digits, so `mask_text` did not
/// mask it and the avvik message echoed the whole number.
#[test]
fn fnr_with_space_not_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let f = fnr("018190000"); // 01819000049
    let spaced = format!("{} {}", &f[..6], &f[6..]);
    fs::write(
        dir.path().join("personer.csv"),
        format!(
            "fnr,bosettingsdato,bosettingskommune,sak_id,malgruppe\n{spaced},2024-03-01,0301,S1,flyktning\n"
        ),
    )
    .unwrap();
    let l = load_dsf(dir.path(), &opts()).unwrap();
    assert_eq!(l.avvik.len(), 1);
    let msg = l.avvik[0].to_string();
    assert!(msg.contains("'018190 *****'"), "{msg}");
    assert!(!msg.contains(&f[6..]), "the last five digits leak: {msg}");
}

/// An I/O error's cause was printed twice by `{:#}` (`x: no such file: no such file`): `InputError::Io`
/// named its `source` in its own message as well.
#[test]
fn io_error_cause_printed_once() {
    let e = load_dsf(std::path::Path::new("/no/such/dsf-folder"), &opts()).unwrap_err();
    let text = format!("{:#}", anyhow::Error::from(e));
    assert_eq!(
        text.matches("no such file or folder").count(),
        1,
        "{text}"
    );
    assert!(text.contains("/no/such/dsf-folder"), "{text}");
}
