//! The workbook reader (calamine behind `input::table::Workbook`): the bytes become `dsf.xlsx`.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let dir = common::scratch();
    let file = dir.join("dsf.xlsx");
    std::fs::write(&file, data).expect("write input");
    common::all_loaders(dir, &file);
});
