//! `manifest.json` (SPEC §6): what was run on what, which rates were used with their status and source,
//! counts that add up, and the control sums that tie `grunnlag.csv` = `kommuner.csv` = new ledger lines.
//! The payment writer fills [`Manifest::payment_file`].

use crate::domain::basis::TerminSummary;
use crate::domain::money::fmt_money;
use crate::domain::rates::{RateStatus, RateTable};
use crate::input::InputFile;
use rust_decimal::Decimal;
use serde::Serialize;

pub const MANIFEST_FILE: &str = "manifest.json";

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ManifestInput {
    /// `dsf`, `rates`, `kommuner`, `paid`.
    pub kind: String,
    pub path: String,
    pub sha256: String,
    pub rows: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RateUsed {
    pub ar: i32,
    pub kode: String,
    pub belop: String,
    pub status: String,
    pub kilde: String,
    pub origin: String,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ManifestCounts {
    pub personer_lest: u64,
    pub personer_avvist: u64,
    pub personer_utelatt: u64,
    pub personer_utelatt_med_trekk: u64,
    pub personer_brukt: u64,
    pub personer_uten_belop: u64,
    /// `personer_lest == personer_avvist + personer_utelatt + personer_brukt + personer_uten_belop`.
    pub personer_summerer: bool,
    pub flyttinger_lest: u64,
    pub flyttinger_avvist: u64,
    pub ledger_linjer_lest: u64,
    pub ledger_linjer_uten_person: u64,
    pub grunnlag_linjer: u64,
    pub kommuner: u64,
    pub kommuner_utbetales: u64,
    pub utbetalt_linjer: u64,
    pub utbetalt_linjer_denne_termin: u64,
    pub avvik: u64,
    pub avvik_avvist: u64,
    pub avvik_advarsel: u64,
}

/// Control sums (money as `1234.50` strings, exact).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ControlSums {
    /// Σ grunnlag.a_utbetale.
    pub sum_grunnlag: String,
    /// Σ kommuner.sum (all municipalities); equals `sum_grunnlag`.
    pub sum_kommuner: String,
    /// Σ kommuner.sum where utbetales = ja (T-3).
    pub sum_kommuner_utbetales: String,
    /// Σ belop of the ledger lines written by this termin; equals `sum_kommuner_utbetales`.
    pub sum_utbetalt_denne_termin: String,
    /// Σ belop of the ledger read in (`--paid`).
    pub sum_utbetalt_inn: String,
    /// Σ belop of the new ledger = `sum_utbetalt_inn + sum_utbetalt_denne_termin`.
    pub sum_utbetalt_ut: String,
    /// All three equalities hold.
    pub stemmer: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Manifest {
    pub tool: String,
    pub version: String,
    pub command_line: Vec<String>,
    pub termin: String,
    pub basis_date: String,
    pub auto_from: i32,
    pub inputs: Vec<ManifestInput>,
    pub rates_used: Vec<RateUsed>,
    /// Every rate used has status `vedtatt` (T-5).
    pub all_rates_adopted: bool,
    pub counts: ManifestCounts,
    pub control: ControlSums,
    pub outputs: Vec<String>,
    /// Filled by the payment writer (file names, sum, number of transfers); `null` when none written.
    pub payment_file: serde_json::Value,
}

/// Builds the manifest of a finished termin.
pub fn build(
    r: &TerminSummary,
    rates: &RateTable,
    inputs: Vec<ManifestInput>,
    command_line: Vec<String>,
    auto_from: i32,
    outputs: Vec<String>,
) -> Manifest {
    let rates_used: Vec<RateUsed> = r
        .rates_used
        .iter()
        .filter_map(|(y, k)| rates.get(*y, *k).ok())
        .map(|rt| RateUsed {
            ar: rt.ar,
            kode: rt.kode.to_string(),
            belop: fmt_money(rt.belop),
            status: rt.status.to_string(),
            kilde: rt.kilde.clone(),
            origin: rt.origin.clone(),
        })
        .collect();
    let all_rates_adopted = r.rates_used.iter().all(|(y, k)| {
        rates
            .get(*y, *k)
            .is_ok_and(|rt| rt.status == RateStatus::Vedtatt)
    });
    let c = &r.counts;
    // T-4: the new ledger is the ledger read in plus the non-zero lines of the municipalities paid now.
    let now = r.ledger_now();
    let sum = |it: &mut dyn Iterator<Item = Decimal>| it.sum::<Decimal>();
    let sum_grunnlag = r.stats.total.a_utbetale;
    let sum_kommuner = sum(&mut r.kommuner.iter().map(|k| k.sum));
    let sum_paying = sum(&mut r.kommuner.iter().filter(|k| k.utbetales).map(|k| k.sum));
    let sum_now = now.sum;
    let sum_in = r.ledger_in.sum;
    let sum_out = sum_in + sum_now;
    let avvist = r
        .avvik
        .iter()
        .filter(|a| a.niva == crate::domain::avvik::Niva::Avvist)
        .count() as u64;
    Manifest {
        tool: "tilskudd".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        command_line,
        termin: r.termin.to_string(),
        basis_date: r.basis_date.to_string(),
        auto_from,
        inputs,
        rates_used,
        all_rates_adopted,
        counts: ManifestCounts {
            personer_lest: c.personer_lest,
            personer_avvist: c.personer_avvist,
            personer_utelatt: c.personer_utelatt,
            personer_utelatt_med_trekk: c.personer_utelatt_med_trekk,
            personer_brukt: c.personer_brukt,
            personer_uten_belop: c.personer_uten_belop,
            personer_summerer: c.personer_lest
                == c.personer_avvist
                    + c.personer_utelatt
                    + c.personer_brukt
                    + c.personer_uten_belop,
            flyttinger_lest: c.flyttinger_lest,
            flyttinger_avvist: c.flyttinger_avvist,
            ledger_linjer_lest: c.ledger_linjer_lest,
            ledger_linjer_uten_person: c.ledger_linjer_uten_person,
            grunnlag_linjer: r.stats.total.lines,
            kommuner: r.kommuner.len() as u64,
            kommuner_utbetales: r.kommuner.iter().filter(|k| k.utbetales).count() as u64,
            utbetalt_linjer: r.ledger_in.lines + now.lines,
            utbetalt_linjer_denne_termin: now.lines,
            avvik: r.avvik_count(),
            avvik_avvist: avvist,
            avvik_advarsel: r.avvik_count() - avvist,
        },
        control: ControlSums {
            sum_grunnlag: fmt_money(sum_grunnlag),
            sum_kommuner: fmt_money(sum_kommuner),
            sum_kommuner_utbetales: fmt_money(sum_paying),
            sum_utbetalt_denne_termin: fmt_money(sum_now),
            sum_utbetalt_inn: fmt_money(sum_in),
            sum_utbetalt_ut: fmt_money(sum_out),
            stemmer: sum_grunnlag == sum_kommuner && sum_paying == sum_now,
        },
        outputs,
        payment_file: serde_json::Value::Null,
    }
}

/// Pretty JSON with a final newline; field order is fixed, so reruns are byte-identical.
pub fn to_json(m: &Manifest) -> String {
    // Serialising plain structs of strings and integers cannot fail.
    let mut s =
        serde_json::to_string_pretty(m).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// Converts the loaders' file records for the manifest.
pub fn inputs_of(kind: &str, files: &[InputFile]) -> Vec<ManifestInput> {
    files
        .iter()
        .map(|f| ManifestInput {
            kind: kind.into(),
            path: f.path.clone(),
            sha256: f.sha256.clone(),
            rows: f.rows,
        })
        .collect()
}
