//! The engine's fast paths (issue 6) against their plain definitions, and a by-hand timing of the
//! engine's per-person work on a large extract (ignored by default).

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// CPU time of this thread (Linux `/proc/thread-self/schedstat`), so that a busy machine does not
/// inflate the figures; wall time elsewhere.
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
        .map(Duration::from_nanos)
        .unwrap_or_default()
}
use tilskudd::domain::engine::{dedupe_ledger, net_person_into, Engine, Params};

/// Times `Engine::new` and the per-person work (assess + net, one thread, fnr order) on a generated
/// extract. `ENGINE_BENCH_DIR=target/bench-data/1m [ENGINE_BENCH_PAID=/work/ref-1m/utbetalt.csv]
/// cargo test --release --test engine_fast -- --ignored --nocapture bench`
#[test]
#[ignore]
fn bench_per_person() {
    let Ok(dir) = std::env::var("ENGINE_BENCH_DIR") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let paid = std::env::var("ENGINE_BENCH_PAID").ok();
    let opts = tilskudd::input::LoadOptions {
        run_year: 2024,
        reject_synthetic: false,
        kommuner: None,
    };
    let ex = tilskudd::input::load_dsf(&dir.join("dsf"), &opts).unwrap();
    let rt = tilskudd::input::load_rates(&[dir.join("satser.csv")]).unwrap();
    let (termin, ledger) = match &paid {
        Some(p) => {
            let l = tilskudd::input::load_ledger(&[PathBuf::from(p)], &opts).unwrap();
            let t = Instant::now();
            let (lines, dup) = dedupe_ledger(l.data).unwrap();
            eprintln!("dedupe_ledger {:?} ({} dup)", t.elapsed(), dup.len());
            ("2025-Q1", lines)
        }
        None => ("2024-Q4", Vec::new()),
    };
    let params = Params::new(termin.parse().unwrap(), None, 2021);
    eprintln!(
        "Person {} bytes",
        std::mem::size_of::<tilskudd::domain::person::Person>()
    );
    if std::env::var("ENGINE_BENCH_PASSES").is_ok() {
        let ps = &ex.data.personer;
        for _ in 0..2 {
            let t = Instant::now();
            let a: u64 = ps.iter().map(|p| p.line).sum();
            let t1 = t.elapsed();
            let b: usize = ps.iter().map(|p| p.sak_id.len()).sum();
            let t2 = t.elapsed();
            let c: u64 = ps
                .iter()
                .map(|p| p.sak_id.bytes().map(u64::from).sum::<u64>())
                .sum();
            let t3 = t.elapsed();
            let d: usize = ps.iter().map(|p| p.fnr.as_str().len()).sum();
            let t4 = t.elapsed();
            let mut v: Vec<u64> = ps
                .iter()
                .map(|p| p.line.wrapping_mul(0x9E37_79B9_7F4A_7C15))
                .collect();
            let t5 = t.elapsed();
            v.sort_unstable();
            let t6 = t.elapsed();
            eprintln!("passes: line {t1:?} sak len {:?} sak bytes {:?} fnr {:?} collect {:?} sort {:?} {}", t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, a as usize + b + c as usize + d + v[0] as usize);
        }
    }
    for round in 0..3 {
        let t0 = Instant::now();
        let engine = Engine::new(params, &ex.data, &rt.data, &ledger);
        let t1 = Instant::now();
        let row_order: Vec<u32> = (0..ex.data.personer.len() as u32).collect();
        // ENGINE_BENCH_ROW_ORDER=1: persons in extract order (memory order) instead of fnr order.
        let order = if std::env::var("ENGINE_BENCH_ROW_ORDER").is_ok() {
            &row_order[..]
        } else {
            engine.rows_in_fnr_order()
        };
        let t2 = Instant::now();
        let c2 = thread_cpu();
        let mut out = Vec::with_capacity(4096);
        let mut n_lines = 0usize;
        let mut a = engine.assess(&ex.data.personer[0], false).unwrap();
        // ENGINE_BENCH_TOUCH=1: read every person of a block of 512 once before assessing it (the loads
        // overlap), as a run could.
        let touch = std::env::var("ENGINE_BENCH_TOUCH").is_ok();
        for block in order.chunks(512) {
            if touch {
                let mut sum = 0u64;
                for &i in block {
                    let p = &ex.data.personer[i as usize];
                    sum = sum
                        .wrapping_add(p.line)
                        .wrapping_add(u64::from(p.tidligere_utlost));
                }
                std::hint::black_box(sum);
            }
            for &i in block {
                let p = &ex.data.personer[i as usize];
                engine.assess_into(p, false, &mut a).unwrap();
                net_person_into(&a, engine.paid_lines(&p.fnr), &mut out);
                if out.len() > 4000 {
                    n_lines += out.len();
                    out.clear();
                }
            }
        }
        n_lines += out.len();
        let t3 = Instant::now();
        let c3 = thread_cpu();
        let n = order.len().max(1);
        eprintln!(
            "round {round}: index {:?} wall, assess+net {:?} wall, {:?} cpu = {:.0} ns cpu/person ({} lines)",
            t1 - t0,
            t3 - t2,
            c3 - c2,
            (c3 - c2).as_nanos() as f64 / n as f64,
            n_lines
        );
    }
}
