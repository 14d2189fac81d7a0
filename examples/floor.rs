//! The performance floor (issue #6, docs/PERFORMANCE.md): tokenize a generated folder's CSV files with
//! `csv::ByteRecord` and print the row counts. `benches/run.sh` times it with `/usr/bin/time -v`.
//!
//! Usage: `cargo run --release --example floor -- DIR`

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: floor DIR   (a folder written by `tilskudd generate`)");
        return ExitCode::from(2);
    };
    let started = std::time::Instant::now();
    match tilskudd::generate::floor::tokenize_dir(&dir) {
        Ok(files) if !files.is_empty() => {
            for (name, t) in &files {
                println!(
                    "{name}: {} records, {} fields, {} bytes",
                    t.records, t.fields, t.bytes
                );
            }
            eprintln!("floor: {:.3} s", started.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Ok(_) => {
            eprintln!("floor: no CSV files found in {}", dir.display());
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("floor: {}: {e}", dir.display());
            ExitCode::from(1)
        }
    }
}
