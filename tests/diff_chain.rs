//! `tilskudd diff` on a real chain of termins (issue 4): Q1, then Q2 from an extract where a move of
//! 25.02.2024 (person 02828110023, 4601 → 0301) was registered late. The diff must name the moved person's
//! deduction in the old municipality and the payment in the new one.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn data(n: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/termin")
        .join(n)
}

fn termin(t: &str, dsf: &str, paid: Option<&Path>, out: &Path) {
    let mut c = Command::cargo_bin("tilskudd").unwrap();
    c.args(["termin", t, "--dsf"])
        .arg(data(dsf))
        .arg("--rates")
        .arg(data("rates"))
        .arg("--kommuner")
        .arg(data("kommuner.csv"))
        .arg("--out")
        .arg(out);
    if let Some(p) = paid {
        c.arg("--paid").arg(p);
    }
    let o = c.output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn diff_of_q1_and_q2_names_the_late_move() {
    let tmp = tempfile::tempdir().unwrap();
    let (q1, q2) = (tmp.path().join("q1"), tmp.path().join("q2"));
    termin("2024-Q1", "dsf", None, &q1);
    termin("2024-Q2", "dsf-late", Some(&q1.join("utbetalt.csv")), &q2);
    let o = Command::cargo_bin("tilskudd")
        .unwrap()
        .arg("diff")
        .arg(&q1)
        .arg(&q2)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8(o.stdout).unwrap();
    let row = |kommune: &str| {
        out.lines()
            .find(|l| l.contains("028281*****") && l.contains(&format!("| {kommune} ")))
            .unwrap_or_else(|| panic!("no line for 028281***** in {kommune}:\n{out}"))
            .split('|')
            .map(str::trim)
            .collect::<Vec<_>>()
    };
    // AR-1 2024 = 124800 → 10400 a month (IT-13). Q1 paid all 12 months to 4601; with the move of 25.02
    // known, months 4–12 (read on 29.02 … 31.10, IT-10) belong to 0301: 9 × 10400 = 93600.
    // Old municipality: accrued 31200 (months 1–3), paid 124800 → a_utbetale −93600 (trekk).
    assert_eq!(
        row("4601"),
        [
            "endret",
            "4601",
            "028281*****",
            "AR-1",
            "2024",
            "124800.00",
            "31200.00",
            "124800.00",
            "-93600.00"
        ]
    );
    // New municipality: a new line paying 93600.
    assert_eq!(
        row("0301"),
        [
            "ny",
            "0301",
            "028281*****",
            "AR-1",
            "2024",
            "",
            "93600.00",
            "",
            "93600.00"
        ]
    );
    assert!(!out.contains("02828110023"), "person numbers are masked");
}
