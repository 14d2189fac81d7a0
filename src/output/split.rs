//! `--split-kommuner` (issue 4): one folder `kommuner/KNR/` per municipality with its own basis
//! (`grunnlag.csv`, SPEC §6 columns) and a one-municipality `rapport.xlsx` — what each municipality may see,
//! and nothing of any other municipality's persons or amounts.
//!
//! Also the `grunnlag.csv` line formatter ([`grunnlag_record`]), kept here self-contained so that the main
//! basis writer can share it.

use crate::domain::basis::{BasisLine, TerminResult};
use crate::domain::ids::Knr;
use crate::domain::money::fmt_money;
use crate::domain::rates::RateTable;
use crate::domain::termin::Termin;
use crate::output::xlsx::{self, ReportError};
use crate::output::{csv_writer, OutputDir};
use std::collections::BTreeSet;

/// The header of `grunnlag.csv` (SPEC §6).
pub const GRUNNLAG_HEADER: [&str; 13] = [
    "termin",
    "kommunenummer",
    "fnr",
    "duf",
    "kode",
    "tilskuddsar",
    "ar",
    "maneder",
    "sats",
    "opptjent",
    "tidligere_utbetalt",
    "a_utbetale",
    "regler",
];

/// One `grunnlag.csv` record (SPEC §6): full fnr (this file is the basis), money with a point and two
/// decimals, `maneder` empty for whole amounts, rule ids joined by `|`.
pub fn grunnlag_record(termin: Termin, l: &BasisLine) -> [String; 13] {
    [
        termin.to_string(),
        l.key.kommune.to_string(),
        l.key.fnr.to_string(),
        l.duf.map(|d| d.to_string()).unwrap_or_default(),
        l.key.kode.as_str().to_string(),
        l.tilskuddsar.to_string(),
        l.key.ar.to_string(),
        l.maneder.map(|m| m.to_string()).unwrap_or_default(),
        fmt_money(l.sats),
        fmt_money(l.opptjent),
        fmt_money(l.tidligere_utbetalt),
        fmt_money(l.a_utbetale),
        l.regler.join("|"),
    ]
}

/// The municipalities that get a folder: every one with a basis line or a sum.
pub fn split_kommuner(result: &TerminResult) -> Vec<Knr> {
    let set: BTreeSet<Knr> = result
        .lines
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
    result: &TerminResult,
    rates: &RateTable,
) -> Result<Vec<Knr>, ReportError> {
    let kommuner = split_kommuner(result);
    for k in &kommuner {
        let dir = format!("kommuner/{k}");
        // Person numbers in full: owner-readable only, like the main grunnlag.csv.
        out.write_file(&format!("{dir}/grunnlag.csv"), true, |w| {
            let mut c = csv_writer(w);
            c.write_record(GRUNNLAG_HEADER)?;
            for l in result.lines.iter().filter(|l| l.key.kommune == *k) {
                c.write_record(grunnlag_record(result.termin, l))?;
            }
            c.flush()
        })?;
        xlsx::write_report_xlsx(out, &format!("{dir}/rapport.xlsx"), result, rates, Some(*k))?;
    }
    Ok(kommuner)
}
