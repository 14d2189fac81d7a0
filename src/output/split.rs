//! `--split-kommuner` (issue 4): one folder `kommuner/KNR/` per municipality with its own basis
//! (`grunnlag.csv`, SPEC §6 columns) and a one-municipality `rapport.xlsx` — what each municipality may see,
//! and nothing of any other municipality's persons or amounts.
//!
//! The lines are formatted by the same function as the main `grunnlag.csv` ([`crate::output::basis::grunnlag_record`]),
//! so a municipality's file holds exactly its lines of the full basis.

use crate::domain::basis::{BasisLine, TerminSummary};
use crate::domain::ids::Knr;
use crate::domain::rates::RateTable;
pub use crate::output::basis::{grunnlag_record, GRUNNLAG_HEADER};
use crate::output::xlsx::{self, ReportError};
use crate::output::{csv_writer, OutputDir};
use std::collections::BTreeSet;

/// The folder under `--out` that holds one subfolder per municipality.
pub const SPLIT_DIR: &str = "kommuner";

/// The municipalities that get a folder: every one with a basis line or a sum.
pub fn split_kommuner(result: &TerminSummary, lines: &[BasisLine]) -> Vec<Knr> {
    let set: BTreeSet<Knr> = lines
        .iter()
        .map(|l| l.key.kommune)
        .chain(result.kommuner.iter().map(|k| k.kommune))
        .collect();
    set.into_iter().collect()
}

/// Writes `kommuner/KNR/grunnlag.csv` and `kommuner/KNR/rapport.xlsx` for every municipality; returns
/// the municipalities written.
pub fn write_split(
    out: &mut OutputDir,
    result: &TerminSummary,
    lines: &[BasisLine],
    rates: &RateTable,
) -> Result<Vec<Knr>, ReportError> {
    let kommuner = split_kommuner(result, lines);
    for k in &kommuner {
        let dir = format!("{SPLIT_DIR}/{k}");
        // Person numbers in full: owner-readable only, like the main grunnlag.csv.
        out.write_file(&format!("{dir}/grunnlag.csv"), true, |w| {
            let mut c = csv_writer(w);
            c.write_record(GRUNNLAG_HEADER)?;
            for l in lines.iter().filter(|l| l.key.kommune == *k) {
                c.write_record(grunnlag_record(result.termin, l))?;
            }
            c.flush()
        })?;
        let bytes =
            xlsx::report_with_row_limit(result, lines, rates, Some(*k), xlsx::MAX_DATA_ROWS)?;
        // Masked person numbers only, but per-person amounts: owner-readable like grunnlag.csv.
        out.write_bytes(&format!("{dir}/rapport.xlsx"), true, &bytes)?;
    }
    Ok(kommuner)
}
