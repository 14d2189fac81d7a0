//! Issue 6: `rapport.xlsx` caps its `Linjer` and `Avvik` sheets (`termin --report-rows N`, default
//! `xlsx::MAX_DATA_ROWS`); the CSV files keep every row and `Sammendrag` still sums every line.

mod example_support;

use calamine::{open_workbook, Data, Reader, Xlsx};
use example_support::example_termin;
use std::path::Path;

fn run(out: &Path, extra: &[&str]) {
    let mut args = vec!["--allow-unadopted-rates", "--force"];
    args.extend_from_slice(extra);
    let o = example_termin("2024-Q4", out, &args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn report_rows_caps_linjer_and_avvik_not_the_csv_or_the_sums() {
    let tmp = tempfile::tempdir().unwrap();
    let full = tmp.path().join("full");
    let capped = tmp.path().join("capped");
    run(&full, &[]);
    run(&capped, &["--report-rows", "5"]);
    // The CSV outputs do not depend on the cap.
    for f in ["grunnlag.csv", "avvik.csv", "utbetalt.csv", "kommuner.csv"] {
        assert_eq!(
            std::fs::read(full.join(f)).unwrap(),
            std::fs::read(capped.join(f)).unwrap(),
            "{f}"
        );
    }
    let lines = std::fs::read_to_string(full.join("grunnlag.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    let avvik = std::fs::read_to_string(full.join("avvik.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    assert!(
        lines > 5 && avvik > 5,
        "the example has more than 5 lines and avvik"
    );
    let mut wb: Xlsx<_> = open_workbook(capped.join("rapport.xlsx")).unwrap();
    let l = wb.worksheet_range("Linjer").unwrap();
    // Header + 5 lines + the note naming how many are left out: lines − 5.
    assert_eq!(l.rows().count(), 1 + 5 + 1);
    assert_eq!(
        l.rows().next_back().unwrap()[0],
        Data::String(format!(
            "{} more lines than this sheet shows: see grunnlag.csv",
            lines - 5
        ))
    );
    let a = wb.worksheet_range("Avvik").unwrap();
    assert_eq!(a.rows().count(), 1 + 5 + 1);
    assert_eq!(
        a.rows().next_back().unwrap()[0],
        Data::String(format!(
            "{} more avvik than this sheet shows: see avvik.csv",
            avvik - 5
        ))
    );
    // The rows shown are the first avvik of avvik.csv, in its order (the engine's first ones reach the
    // report before the payment files are written, the rest at the end: the cut must not show).
    let csv = std::fs::read_to_string(full.join("avvik.csv")).unwrap();
    let expected: Vec<(String, String, String)> = csv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.splitn(5, ',').collect();
            (f[0].to_string(), f[1].to_string(), f[3].to_string())
        })
        .collect();
    let shown = |range: &calamine::Range<Data>| -> Vec<(String, String, String)> {
        range
            .rows()
            .skip(1)
            .filter(|r| !matches!(r[1], Data::Empty))
            .map(|r| (r[0].to_string(), r[1].to_string(), r[4].to_string()))
            .collect()
    };
    assert_eq!(shown(&a), expected[..5]);
    let most = tmp.path().join("most");
    let cap = (avvik - 1).to_string();
    run(&most, &["--report-rows", &cap]);
    let mut wm: Xlsx<_> = open_workbook(most.join("rapport.xlsx")).unwrap();
    let am = wm.worksheet_range("Avvik").unwrap();
    assert_eq!(shown(&am), expected[..avvik - 1]);
    assert_eq!(
        am.rows().next_back().unwrap()[0],
        Data::String("1 more avvik than this sheet shows: see avvik.csv".into())
    );
    // Sammendrag is the same with and without the cap.
    let mut wf: Xlsx<_> = open_workbook(full.join("rapport.xlsx")).unwrap();
    assert_eq!(
        wf.worksheet_range("Sammendrag").unwrap(),
        wb.worksheet_range("Sammendrag").unwrap()
    );
    // Without the option the example (fewer rows than the default cap) shows every line: header + lines.
    let lf = wf.worksheet_range("Linjer").unwrap();
    assert_eq!(lf.rows().count(), 1 + lines);
}
