//! The shipped example (`fixtures/example/`) run with the README's main command.
//!
//! Two layers of checking:
//! 1. hand-computed lines for showcase persons (arithmetic in the comments, from SPEC IT-6…IT-13 and the
//!    example rates in `fixtures/example/satser.csv`);
//! 2. golden files under `tests/golden/example-2024-Q4/`: every output compared byte for byte, so any change
//!    in behaviour shows up as a diff to review. Refresh them deliberately, after checking the diff, with
//!    `UPDATE_GOLDEN=1 cargo test --test example_golden`.

mod example_support;

use example_support::{example_termin, repo};
use std::path::Path;

/// The README's main command, with --out pointing into a temporary folder.
fn run_example(out: &Path) -> std::process::Output {
    example_termin("2024-Q4", out, &["--allow-unadopted-rates", "--force"])
}

/// The README must name exactly the command this test runs.
#[test]
fn readme_names_this_command() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(readme.contains(
        "cargo run --release -- termin 2024-Q4 --dsf fixtures/example/dsf --rates fixtures/example/satser.csv \
--kommuner fixtures/example/kommuner.csv --config fixtures/example/tilskudd.conf --allow-unadopted-rates \
--out out/2024-Q4 --force"
    ));
    assert!(readme.contains("cargo test --locked"));
    let ci = std::fs::read_to_string(repo().join(".ci/run")).unwrap();
    assert!(
        ci.contains("cargo test --locked"),
        ".ci/run runs the README's test command"
    );
}

fn grunnlag_lines(out: &Path, fnr: &str) -> Vec<String> {
    std::fs::read_to_string(out.join("grunnlag.csv"))
        .unwrap()
        .lines()
        .filter(|l| l.split(',').nth(2) == Some(fnr))
        .map(str::to_string)
        .collect()
}

#[test]
fn showcase_persons_match_hand_computation() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("2024-Q4");
    let o = run_example(&out);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // SAK00000001: single adult (AR-1 EV, IT-8) settled 15.03.2022 in 5006, moved 01.08.2022 to 0301.
    // IT-10: month m belongs to the residence on the last day of m−2: Jan–Sep 2022 → 5006 (31.07 is still
    // 5006), Oct–Dec → 0301. AR-1 EV 2022 = 247000. IT-13: 5006 gets round(247000·9/12) = 185250.00,
    // 0301 gets 247000 − 185250 = 61750.00. År 2 = 2023 (AR-2 244100), år 3 = 2024 (AR-3 179100), all 12
    // months due by 2024-Q4 (IT-12), all in 0301.
    let p1 = grunnlag_lines(&out, "03829423315");
    for expected in [
        "2024-Q4,5006,03829423315,202201234567,AR-1 EV,1,2022,,247000.00,185250.00,0.00,185250.00,",
        "2024-Q4,0301,03829423315,202201234567,AR-1 EV,1,2022,,247000.00,61750.00,0.00,61750.00,",
        "2024-Q4,0301,03829423315,202201234567,AR-2,2,2023,12,244100.00,244100.00,0.00,244100.00,",
        "2024-Q4,0301,03829423315,202201234567,AR-3,3,2024,12,179100.00,179100.00,0.00,179100.00,",
    ] {
        assert!(
            p1.iter().any(|l| l.starts_with(expected)),
            "missing {expected} in {p1:#?}"
        );
    }
    assert_eq!(p1.len(), 4);

    // SAK00000002: settled 10.05.2021 in 3901; moves 01.02.2023 → 3203 and 20.03.2023 → 4204 (two moves
    // within two months). År 3 = 2023, AR-3 = 177300. Owners: Jan–Mar (end of Nov, Dec, Jan) → 3901;
    // Apr (end of Feb) → 3203; May–Dec (end of Mar onwards) → 4204.
    // 3901: round(177300·3/12) = 44325.00; 3203: round(177300·4/12) − 44325 = 59100 − 44325 = 14775.00;
    // 4204: 177300 − 59100 = 118200.00 (8 months).
    let p2 = grunnlag_lines(&out, "30818711049");
    for expected in [
        "2024-Q4,3901,30818711049,202101242486,AR-3,3,2023,3,177300.00,44325.00,0.00,44325.00,",
        "2024-Q4,3203,30818711049,202101242486,AR-3,3,2023,1,177300.00,14775.00,0.00,14775.00,",
        "2024-Q4,4204,30818711049,202101242486,AR-3,3,2023,8,177300.00,118200.00,0.00,118200.00,",
        // År 4 = 2024 in 4204: AR-4 2024 = 90100, 12 months.
        "2024-Q4,4204,30818711049,202101242486,AR-4,4,2024,12,90100.00,90100.00,0.00,90100.00,",
    ] {
        assert!(
            p2.iter().any(|l| l.starts_with(expected)),
            "missing {expected} in {p2:#?}"
        );
    }

    // SAK00000003: settled 01.06.2021 in 0301, died 14.11.2023 (år 3). IT-11: months after November carry
    // nothing: round(177300·11/12) = 162525.00 for 11 months; nothing for år 4 (2024) or år 5.
    let p3 = grunnlag_lines(&out, "22856918746");
    assert!(p3.iter().any(|l| l.starts_with(
        "2024-Q4,0301,22856918746,202001250405,AR-3,3,2023,11,177300.00,162525.00,0.00,162525.00,"
    )));
    assert!(!p3
        .iter()
        .any(|l| l.contains(",AR-4,") || l.contains(",AR-5,")));
}

#[test]
fn example_outputs_match_golden_files() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("2024-Q4");
    let o = run_example(&out);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let golden = repo().join("tests/golden/example-2024-Q4");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        // The manifest holds the temporary folder's path in its command line.
        .filter(|n| n != "manifest.json" && !n.starts_with('.'))
        .collect();
    names.sort();
    assert!(names.contains(&"grunnlag.csv".to_string()));
    if update {
        std::fs::create_dir_all(&golden).unwrap();
        for n in &names {
            std::fs::copy(out.join(n), golden.join(n)).unwrap();
        }
    }
    let mut expected: Vec<String> = std::fs::read_dir(&golden)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    expected.sort();
    assert_eq!(names, expected, "the set of output files changed");
    for n in &names {
        let got = std::fs::read(out.join(n)).unwrap();
        let want = std::fs::read(golden.join(n)).unwrap();
        assert!(
            got == want,
            "{n} differs from tests/golden/example-2024-Q4/{n}; review the change and refresh with UPDATE_GOLDEN=1"
        );
    }
}
