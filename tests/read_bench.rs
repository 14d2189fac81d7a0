//! Issue 6: a by-hand measurement of the DSF reader on the 1M benchmark extract — wall time and the
//! process's CPU time (user + system) of `load_dsf`, so the read phase can be judged on a busy machine by
//! its CPU cost. Ignored (it needs the generated extract and only prints numbers; speed is never asserted):
//!
//! ```text
//! RAYON_NUM_THREADS=1 READ_BENCH_DIR=target/bench-data/1m READ_BENCH_REPEAT=3 \
//!     cargo test --release --test read_bench -- --ignored --nocapture
//! ```

use std::path::PathBuf;
use std::time::Instant;
use tilskudd::input::{load_dsf, load_kommuner, LoadOptions};

/// User + system CPU seconds of this process so far (Linux: /proc/self/stat, in clock ticks of 1/100 s).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

#[test]
#[ignore]
fn load_the_1m_extract() {
    let dir = PathBuf::from(
        std::env::var("READ_BENCH_DIR").unwrap_or_else(|_| "target/bench-data/1m".into()),
    );
    let repeat: usize = std::env::var("READ_BENCH_REPEAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let reg = load_kommuner(&dir.join("kommuner.csv")).unwrap().data;
    let opts = LoadOptions {
        run_year: 2024,
        reject_synthetic: false,
        kommuner: Some(&reg),
        ledger_before: None,
    };
    for _ in 0..repeat {
        let (c0, t0) = (cpu_seconds().unwrap_or(0.0), Instant::now());
        let l = load_dsf(&dir.join("dsf"), &opts).unwrap();
        let wall = t0.elapsed().as_secs_f64();
        let cpu = cpu_seconds().unwrap_or(0.0) - c0;
        println!(
            "load_dsf: wall {wall:.3} s, cpu {cpu:.2} s ({} persons, {} moves, {} avvik)",
            l.data.personer.len(),
            l.data.flyttinger.len(),
            l.avvik.len()
        );
        drop(l);
    }
}
