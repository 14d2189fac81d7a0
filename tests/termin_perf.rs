//! Timing of the termin phases on a large extract (ignored by default): set TILSKUDD_PERF_DSF and
//! TILSKUDD_PERF_RATES and run `cargo test --release --test termin_perf -- --ignored --nocapture`.

use std::path::PathBuf;
use std::time::Instant;
use tilskudd::domain::engine::{Engine, Params};

#[test]
#[ignore]
fn phases() {
    let (Ok(dsf), Ok(rates)) = (
        std::env::var("TILSKUDD_PERF_DSF"),
        std::env::var("TILSKUDD_PERF_RATES"),
    ) else {
        return;
    };
    let opts = tilskudd::input::LoadOptions {
        run_year: 2024,
        reject_synthetic: false,
        kommuner: None,
        ledger_before: None,
    };
    let t0 = Instant::now();
    let ex = tilskudd::input::load_dsf(&PathBuf::from(dsf), &opts).unwrap();
    let rt = tilskudd::input::load_rates(&[PathBuf::from(rates)]).unwrap();
    let t1 = Instant::now();
    let params = Params::new("2024-Q3".parse().unwrap(), None, 2021);
    let engine = Engine::new(params, &ex.data, &rt.data, &[]);
    let t2 = Instant::now();
    let r = engine.run(None).unwrap();
    let t3 = Instant::now();
    let mut sink = Vec::with_capacity(1 << 26);
    tilskudd::output::basis::write_grunnlag(&mut sink, &r).unwrap();
    let t4 = Instant::now();
    eprintln!(
        "load {:?}, index {:?}, run {:?} ({} lines), write grunnlag {:?} ({} bytes)",
        t1 - t0,
        t2 - t1,
        t3 - t2,
        r.lines.len(),
        t4 - t3,
        sink.len()
    );
}

#[test]
#[ignore]
fn sizes() {
    use std::mem::size_of;
    eprintln!(
        "BasisLine {} LedgerLine {} Person {} Assessment {} Avvik {}",
        size_of::<tilskudd::domain::basis::BasisLine>(),
        size_of::<tilskudd::domain::ledger::LedgerLine>(),
        size_of::<tilskudd::domain::person::Person>(),
        size_of::<tilskudd::domain::engine::Assessment>(),
        size_of::<tilskudd::domain::avvik::Avvik>()
    );
}
