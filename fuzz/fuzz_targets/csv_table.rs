//! The CSV table reader (SPEC §1.1) under every loader: the bytes become `personer.csv`.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let dir = common::scratch();
    let file = dir.join("personer.csv");
    std::fs::write(&file, data).expect("write input");
    common::all_loaders(dir, &file);
});
