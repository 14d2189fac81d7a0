//! Shared by the table targets: write the input to a file, run every loader over it, and check the
//! invariants that hold whatever the bytes are.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// One temporary folder per fuzzing process (a new one per input cost most of the time).
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temp dir"))
        .path()
}
use tilskudd::input::{self, LoadOptions};

fn opts() -> LoadOptions<'static> {
    LoadOptions {
        run_year: 2024,
        reject_synthetic: false,
        kommuner: None,
    }
}

/// Every `read` row is accepted or rejected, never both or neither.
fn stats_add_up(stats: &[input::FileStats]) {
    for s in stats {
        assert_eq!(s.read, s.accepted + s.rejected, "{s:?}");
        assert!(s.synthetic <= s.accepted && s.warned <= s.accepted, "{s:?}");
    }
}

/// Runs the DSF, rates, register and ledger loaders on `file` (inside `dir`); errors are fine, panics
/// and broken counts are not.
pub fn all_loaders(dir: &Path, file: &Path) {
    let o = opts();
    if let Ok(l) = input::load_dsf(file, &o) {
        stats_add_up(&l.stats);
        let accepted: u64 = l.stats.iter().map(|s| s.accepted).sum();
        assert_eq!(
            accepted,
            (l.data.personer.len() + l.data.flyttinger.len()) as u64
        );
    }
    let _ = input::load_dsf(dir, &o).map(|l| stats_add_up(&l.stats));
    let paths: Vec<PathBuf> = vec![file.to_path_buf()];
    if let Ok(l) = input::load_rates(&paths) {
        stats_add_up(&l.stats);
    }
    if let Ok(reg) = input::load_kommuner(file) {
        stats_add_up(&reg.stats);
        let o = LoadOptions {
            kommuner: Some(&reg.data),
            ..opts()
        };
        let _ = input::load_dsf(file, &o).map(|l| stats_add_up(&l.stats));
    }
    if let Ok(l) = input::load_ledger(&paths, &o) {
        stats_add_up(&l.stats);
        assert_eq!(
            l.stats.iter().map(|s| s.accepted).sum::<u64>(),
            l.data.len() as u64
        );
    }
}
