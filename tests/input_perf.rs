//! Throughput check of the DSF reader against plain `csv::ByteRecord` tokenizing (STYLE: parsing is the
//! floor; target within 3×). Ignored by default (it writes ~90 MB); run with
//! `cargo test --release --test input_perf -- --ignored --nocapture`.

mod input_support;

use std::io::Write;
use std::time::Instant;

#[test]
#[ignore]
fn one_million_persons() {
    let n: usize = std::env::var("PERF_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("personer.csv");
    // Valid synthetic numbers: every day of 1960–1999 × individual numbers 100–499 that have control digits.
    let mut fnrs = Vec::with_capacity(n);
    'outer: for y in 60..100 {
        for m in 1..=12u32 {
            for d in 1..=28u32 {
                for i in 100..500u32 {
                    if let Some(f) = tilskudd::domain::ids::Fnr::with_control_digits(&format!(
                        "{d:02}{:02}{y:02}{i:03}",
                        m + 80
                    )) {
                        fnrs.push(f.to_string());
                        if fnrs.len() == n {
                            break 'outer;
                        }
                    }
                }
            }
        }
    }
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(w, "fnr,duf,fodselsdato,bosettingsdato,bosettingskommune,sak_id,malgruppe,bosatt_etter_avtale,enslig_mindrearig,registrert_dato").unwrap();
    for (k, f) in fnrs.iter().enumerate() {
        writeln!(
            w,
            "{f},,,2022-03-15,0301,S{},flyktning,ja,nei,15.04.2022",
            k / 3
        )
        .unwrap();
    }
    drop(w);
    let bytes = std::fs::metadata(&path).unwrap().len();

    let t = Instant::now();
    let mut rdr = csv::Reader::from_path(&path).unwrap();
    let mut rec = csv::ByteRecord::new();
    let mut rows = 0;
    while rdr.read_byte_record(&mut rec).unwrap() {
        rows += 1;
    }
    let floor = t.elapsed();

    // The table layer alone (both passes, line numbers, no validation).
    let t = Instant::now();
    let (table, mut file) = tilskudd::input::table::open_csv(&path).unwrap();
    let mut cells = 0usize;
    let n = table
        .for_each_row(&mut file, |row| {
            cells += row.cell(Some(0)).raw().len();
        })
        .unwrap();
    assert_eq!(n as usize, rows);
    let layer = t.elapsed();
    assert_eq!(file.sha256.len(), 64);
    let t = Instant::now();
    let _ = tilskudd::input::table::sha256_file(&path).unwrap();
    let hash = t.elapsed();

    // PERF_REPEAT=k loads k extra times first (for profiling the reader alone).
    let repeat: usize = std::env::var("PERF_REPEAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for _ in 0..repeat {
        let _ = tilskudd::input::load_dsf(dir.path(), &input_support::opts(2024)).unwrap();
    }
    let t = Instant::now();
    let opts = input_support::opts(2024);
    let l = tilskudd::input::load_dsf(dir.path(), &opts).unwrap();
    let ours = t.elapsed();
    assert_eq!(l.data.personer.len(), rows);
    println!(
        "{rows} rows, {} MB: ByteRecord {:.3}s, sha256 {:.3}s, table layer {:.3}s ({cells}), load_dsf {:.3}s ({:.1}×)",
        bytes / 1_000_000,
        floor.as_secs_f64(),
        hash.as_secs_f64(),
        layer.as_secs_f64(),
        ours.as_secs_f64(),
        ours.as_secs_f64() / floor.as_secs_f64()
    );
}
