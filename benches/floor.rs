//! Criterion benchmark of the performance floor (issue #6): tokenizing the generated `personer.csv` and
//! `flyttinger.csv` of 100 000 persons with `csv::ByteRecord`. The data is generated once into
//! `target/bench-data/100k` (seed 2024) and reused.
//!
//! `cargo bench --bench floor`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::PathBuf;
use tilskudd::generate::{self, floor, Config};

const PERSONS: u64 = 100_000;

fn data_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/100k");
    if !dir.join("dsf/personer.csv").exists() || !dir.join("satser.csv").exists() {
        generate::write(&Config::new(PERSONS, 2024), &dir).expect("generate bench data");
    }
    dir
}

fn bench_floor(c: &mut Criterion) {
    let dir = data_dir();
    let mut g = c.benchmark_group("floor_100k");
    g.sample_size(20);
    for name in ["dsf/personer.csv", "dsf/flyttinger.csv"] {
        let path = dir.join(name);
        let t = floor::tokenize(&path).expect("tokenize bench data");
        g.throughput(Throughput::Bytes(t.bytes));
        g.bench_function(name, |b| {
            b.iter(|| floor::tokenize(&path).expect("tokenize bench data"))
        });
    }
    g.finish();
    let mut g = c.benchmark_group("generate");
    g.sample_size(10);
    g.bench_function("personer_100k_in_memory_sink", |b| {
        let cfg = Config::new(PERSONS, 2024);
        b.iter(|| generate::write_personer(&cfg, &mut std::io::sink()).expect("generate"))
    });
    g.finish();
}

criterion_group!(benches, bench_floor);
criterion_main!(benches);
