//! Issue 6: the Excel-input benchmark needs the generated CSV extract as a workbook. This ignored test
//! converts `target/bench-data/<size>/dsf/{personer,flyttinger}.csv` into `target/bench-data/<size>/dsf.xlsx`
//! (sheets `personer` and `flyttinger`, every cell as text, as an export from a register would give) and
//! then checks that the workbook is read as the same extract as the CSV files.
//!
//! `TILSKUDD_XLSX_SIZE=100k cargo test --release --test perf_xlsx_input -- --ignored --nocapture`
//! (`benches/run.sh xlsx` runs it).

use std::path::PathBuf;

#[test]
#[ignore]
fn convert_generated_extract_to_xlsx() {
    let size = std::env::var("TILSKUDD_XLSX_SIZE").unwrap_or_else(|_| "100k".into());
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/bench-data")
        .join(&size);
    let mut wb = rust_xlsxwriter::Workbook::new();
    for name in ["personer", "flyttinger"] {
        let ws = wb.add_worksheet();
        ws.set_name(name).unwrap();
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_path(dir.join(format!("dsf/{name}.csv")))
            .unwrap();
        let mut rec = csv::StringRecord::new();
        let mut row = 0u32;
        while r.read_record(&mut rec).unwrap() {
            for (c, v) in rec.iter().enumerate() {
                if !v.is_empty() {
                    ws.write_string(row, c as u16, v).unwrap();
                }
            }
            row += 1;
        }
    }
    let out = dir.join("dsf.xlsx");
    wb.save(&out).unwrap();
    // The workbook is the same extract: same persons and moves accepted.
    let opts = tilskudd::input::LoadOptions {
        run_year: 2024,
        reject_synthetic: false,
        kommuner: None,
        ledger_before: None,
    };
    let from_csv = tilskudd::input::load_dsf(&dir.join("dsf"), &opts).unwrap();
    let from_xlsx = tilskudd::input::load_dsf(&out, &opts).unwrap();
    assert_eq!(from_csv.data.personer.len(), from_xlsx.data.personer.len());
    assert_eq!(
        from_csv.data.flyttinger.len(),
        from_xlsx.data.flyttinger.len()
    );
    eprintln!(
        "wrote {} ({} persons, {} moves)",
        out.display(),
        from_xlsx.data.personer.len(),
        from_xlsx.data.flyttinger.len()
    );
}
