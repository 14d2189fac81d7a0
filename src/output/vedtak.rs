//! `vedtak.csv` (SPEC §5, `tilskudd ekstra`): one line per application with its period, deadline, status,
//! every reason code, and the proposed amounts. Holds full person numbers, so it is written as a private
//! file through [`crate::output::OutputDir`]. Sorted by `soknad_id` (then source order) for diffable runs.

use crate::domain::money::fmt_money;
use crate::domain::rules::fht::Vurdering;
use chrono::NaiveDate;
use std::io::{self, Write};

pub const FILE_NAME: &str = "vedtak.csv";

pub const HEADER: [&str; 15] = [
    "soknad_id",
    "fnr",
    "kommunenummer",
    "type",
    "tilskuddsar",
    "periode_fra",
    "periode_til",
    "frist",
    "status",
    "arsaker",
    "klagbar",
    "foreslatt_belop",
    "maks_belop",
    "tilbakebetaling",
    "refusjon",
];

fn iso(d: Option<NaiveDate>) -> String {
    d.map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Writes the rows in `soknad_id` order (stable for equal ids).
pub fn write_vedtak<W: Write>(w: W, rows: &[Vurdering]) -> io::Result<()> {
    let mut sorted: Vec<&Vurdering> = rows.iter().collect();
    sorted.sort_by(|a, b| a.soknad_id.cmp(&b.soknad_id));
    let mut csv = crate::output::csv_writer(w);
    csv.write_record(HEADER).map_err(io::Error::other)?;
    for v in sorted {
        let rec = [
            v.soknad_id.clone(),
            v.fnr.as_str().to_string(),
            v.kommunenummer.to_string(),
            v.typ.as_str().to_string(),
            v.tilskuddsar.to_string(),
            iso(v.periode.map(|p| p.fra)),
            iso(v.periode.map(|p| p.til)),
            iso(v.frist),
            v.status.as_str().to_string(),
            v.arsaker().join("|"),
            if v.status.klagbar() { "ja" } else { "nei" }.to_string(),
            fmt_money(v.foreslatt_belop),
            v.maks_belop.map(fmt_money).unwrap_or_default(),
            fmt_money(v.tilbakebetaling),
            fmt_money(v.refusjon),
        ];
        csv.write_record(&rec).map_err(io::Error::other)?;
    }
    csv.flush()
}
