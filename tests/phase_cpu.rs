//! Issue 6 measurement aid (ignored; no timing is asserted): the process CPU time of the engine index
//! (`Engine::new`) and of the engine run with the streamed `grunnlag.csv`/`utbetalt.csv` text (written to
//! a sink, so the disk does not count), read from /proc/self/stat: on a shared machine CPU time moves much
//! less than wall time. One thread: `RAYON_NUM_THREADS=1`.
//!
//! `PHASE_CPU_DIR=target/bench-data/1m [PHASE_CPU_PAID=/work/ref-1m/utbetalt.csv] RAYON_NUM_THREADS=1
//! cargo test --release --test phase_cpu -- --ignored --nocapture`

use std::path::PathBuf;
use std::time::Instant;
use tilskudd::domain::engine::{dedupe_ledger, Engine, Params};
use tilskudd::output::basis::BasisStream;

/// User + system CPU seconds of this process so far (clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

#[test]
#[ignore]
fn phase_cpu() {
    let Ok(dir) = std::env::var("PHASE_CPU_DIR") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let opts = tilskudd::input::LoadOptions {
        run_year: 2024,
        reject_synthetic: false,
        kommuner: None,
        ledger_before: None,
    };
    let ex = tilskudd::input::load_dsf(&dir.join("dsf"), &opts).unwrap();
    let rt = tilskudd::input::load_rates(&[dir.join("satser.csv")]).unwrap();
    let (termin, ledger) = match std::env::var("PHASE_CPU_PAID") {
        Ok(p) => {
            let l = tilskudd::input::load_ledger(&[PathBuf::from(p)], &opts).unwrap();
            ("2025-Q1", dedupe_ledger(l.data).unwrap().0)
        }
        Err(_) => ("2024-Q4", Vec::new()),
    };
    let params = Params::new(termin.parse().unwrap(), None, 2021);
    for round in 0..3 {
        let (c0, t0) = (cpu_seconds(), Instant::now());
        let engine = Engine::new(params, &ex.data, &rt.data, &ledger);
        let (c1, t1) = (cpu_seconds(), Instant::now());
        let bytes = std::thread::scope(|s| {
            let (gtx, grx) = std::sync::mpsc::sync_channel::<Vec<u8>>(256);
            let (utx, urx) = std::sync::mpsc::sync_channel::<Vec<u8>>(256);
            let g = s.spawn(move || grx.into_iter().map(|b| b.len()).sum::<usize>());
            let u = s.spawn(move || urx.into_iter().map(|b| b.len()).sum::<usize>());
            let mut stream = BasisStream::new(params.termin, gtx, utx, 20_000, false).unwrap();
            let summary = engine.run_streaming(None, &mut stream).unwrap();
            drop(stream);
            let bytes = (g.join().unwrap(), u.join().unwrap());
            assert!(summary.stats.total.lines > 0);
            bytes
        });
        let (c2, t2) = (cpu_seconds(), Instant::now());
        eprintln!(
            "round {round}: index {:.2} s CPU ({:.3} s wall); run + streaming {:.2} s CPU ({:.3} s wall); {} + {} bytes",
            c1 - c0,
            (t1 - t0).as_secs_f64(),
            c2 - c1,
            (t2 - t1).as_secs_f64(),
            bytes.0,
            bytes.1
        );
    }
}
