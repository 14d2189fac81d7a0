//! Options shared by the subcommands that read a DSF extract and rate tables.

use clap::Args;
use std::path::PathBuf;

/// `--dsf`, `--rates`, `--kommuner`: the inputs of every calculation (SPEC §1).
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// DSF extract: a folder with personer.csv (and optionally flyttinger.csv), or one .xlsx workbook
    /// with sheets `personer` and `flyttinger`.
    #[arg(long, value_name = "PATH")]
    pub dsf: PathBuf,
    /// Municipality register (kommuner), CSV or .xlsx. Needed for payment files and ID-3 checks.
    #[arg(long, value_name = "FILE")]
    pub kommuner: Option<PathBuf>,
    /// Reject synthetic test numbers (month + 40/80) instead of accepting and counting them (ID-1).
    #[arg(long)]
    pub no_synthetic: bool,
}

use crate::domain::kommune::KommuneRegister;
use crate::domain::person::Extract;
use crate::input::{load_dsf, load_kommuner, InputError, LoadOptions, Loaded};

impl InputArgs {
    /// The load options these arguments stand for (without a register; see [`load_register_and_dsf`]).
    pub fn options(&self, run_year: i32) -> LoadOptions<'static> {
        LoadOptions {
            run_year,
            reject_synthetic: self.no_synthetic,
            kommuner: None,
            ledger_before: None,
        }
    }
}

/// Loads the municipality register first (if `--kommuner` is given) and then the DSF extract checked
/// against it (ID-3), with `--no-synthetic` applied (ID-1).
pub fn load_register_and_dsf(
    args: &InputArgs,
    run_year: i32,
) -> Result<(Option<Loaded<KommuneRegister>>, Loaded<Extract>), InputError> {
    let kommuner = args.kommuner.as_deref().map(load_kommuner).transpose()?;
    let opts = LoadOptions {
        run_year,
        reject_synthetic: args.no_synthetic,
        kommuner: kommuner.as_ref().map(|k| &k.data),
        ledger_before: None,
    };
    let dsf = load_dsf(&args.dsf, &opts)?;
    Ok((kommuner, dsf))
}

/// Stops a calculation when an input it cannot do without has rejected rows: `what` names the input with
/// its verb ("the rate tables have"), `why` says what would go wrong if the run went on without those rows.
pub fn refuse_rejected_rows<T>(loaded: &Loaded<T>, what: &str, why: &str) -> anyhow::Result<()> {
    use crate::domain::avvik::Niva;
    let bad: Vec<&crate::domain::avvik::Avvik> = loaded
        .avvik
        .iter()
        .filter(|a| a.niva == Niva::Avvist)
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    // A wrong file can have every row rejected (a later termin's ledger: millions, whose reader keeps
    // the avvik of the first rows only): the first ones say what is wrong, the rows counted how much.
    let rows = loaded.stats.iter().map(|s| s.rejected).sum::<u64>().max(1);
    let mut list: Vec<String> = bad
        .iter()
        .take(REJECTED_SHOWN)
        .map(|a| a.to_string())
        .collect();
    if bad.len() > REJECTED_SHOWN {
        list.push(format!("… and more: {rows} rejected row(s) in all"));
    }
    anyhow::bail!(
        "{what} {rows} rejected row(s); fix them first ({why}):\n  {}",
        list.join("\n  ")
    )
}

/// How many rejected rows [`refuse_rejected_rows`] names.
const REJECTED_SHOWN: usize = 20;

/// Loads the rate tables for a calculation. A table with any rejected row is fatal: an amount must never
/// depend on which of two duplicate rows was picked, or on a row that was dropped (SPEC §1.6; docs/rules.md
/// [model (f)]). `validate` reads rates with [`crate::input::load_rates`] instead, to list every problem.
pub fn load_rates_for_calculation(
    paths: &[PathBuf],
) -> anyhow::Result<Loaded<crate::domain::rates::RateTable>> {
    use anyhow::Context;
    let rt = crate::input::load_rates(paths).context("reading the rate tables")?;
    refuse_rejected_rows(
        &rt,
        "the rate tables have",
        "amounts must not depend on which row was used",
    )?;
    Ok(rt)
}

/// The folder of one output file the user names (`diff --csv`, `frister --csv`, `explain --lines`),
/// created and locked, and the file's name; `option` names the option in messages. See
/// [`refuse_termin_outputs`].
pub fn output_for_file(
    path: &std::path::Path,
    option: &str,
) -> anyhow::Result<(crate::output::OutputDir, String)> {
    use anyhow::Context;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{option} {}: not a file name", path.display()))?;
    let out = crate::output::OutputDir::create(dir)
        .with_context(|| format!("{option}: cannot create the folder {}", dir.display()))?;
    // Once the folder exists (and is locked): `q4/new/..` names q4 only when q4/new exists.
    refuse_termin_outputs(dir, &[name], option)?;
    Ok((out, name.to_string()))
}

/// [model (g)] A side command never replaces a file of a finished termin: `names` (files it would write
/// into `dir`) are refused when `dir` holds a termin's `manifest.json` that lists them among its outputs,
/// or one of them is that manifest. (Found by the session-8 probe: `frister --csv q4/utbetalt.csv`
/// replaced the ledger the next termin reads; `ekstra --out q4` replaced the termin's avvik.csv.)
pub fn refuse_termin_outputs(
    dir: &std::path::Path,
    names: &[&str],
    option: &str,
) -> anyhow::Result<()> {
    use crate::output::manifest::MANIFEST_FILE;
    // No manifest: no termin. One that cannot be read or parsed still protects itself.
    let bytes = match std::fs::read(dir.join(MANIFEST_FILE)) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        r => r.unwrap_or_default(),
    };
    let listed: Vec<String> = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|m| {
            let outputs = m.get("outputs")?.as_array()?;
            Some(
                outputs
                    .iter()
                    .filter_map(|o| o.as_str().map(String::from))
                    .collect(),
            )
        })
        .unwrap_or_default();
    match names
        .iter()
        // Case-insensitively: `UTBETALT.CSV` is the same file on a case-insensitive file system.
        .find(|n| {
            n.eq_ignore_ascii_case(MANIFEST_FILE) || listed.iter().any(|l| l.eq_ignore_ascii_case(n))
        })
    {
        None => Ok(()),
        Some(name) => anyhow::bail!(
            "{option}: {} is an output of the termin in {} (listed in its {MANIFEST_FILE}) and is not \
             replaced by this command; write to another folder or file name",
            name,
            dir.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_termins_outputs_are_not_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        // No manifest: any name.
        assert!(refuse_termin_outputs(dir, &["utbetalt.csv"], "--csv").is_ok());
        std::fs::write(
            dir.join("manifest.json"),
            r#"{"termin": "2024-Q4", "outputs": ["grunnlag.csv", "utbetalt.csv", "avvik.csv", "manifest.json"]}"#,
        )
        .unwrap();
        for name in ["utbetalt.csv", "avvik.csv", "manifest.json"] {
            let e = refuse_termin_outputs(dir, &["frister.csv", name], "--csv")
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with(&format!("--csv: {name} is an output of the termin in")),
                "{e}"
            );
        }
        assert!(refuse_termin_outputs(dir, &["frister.csv", "vedtak.csv"], "--out").is_ok());
        // A manifest that is not a termin's still protects itself.
        std::fs::write(dir.join("manifest.json"), "not json").unwrap();
        assert!(refuse_termin_outputs(dir, &["utbetalt.csv"], "--csv").is_ok());
        assert!(refuse_termin_outputs(dir, &["manifest.json"], "--csv").is_err());

        // Through output_for_file: the file is left as it was.
        std::fs::write(
            dir.join("manifest.json"),
            r#"{"outputs": ["utbetalt.csv"]}"#,
        )
        .unwrap();
        std::fs::write(dir.join("utbetalt.csv"), "ledger").unwrap();
        assert!(output_for_file(&dir.join("utbetalt.csv"), "--csv").is_err());
        assert_eq!(
            std::fs::read_to_string(dir.join("utbetalt.csv")).unwrap(),
            "ledger"
        );
        let (_, name) = output_for_file(&dir.join("frister.csv"), "--csv").unwrap();
        assert_eq!(name, "frister.csv");
        // Another case, or the folder named through a subfolder that does not exist yet.
        assert!(output_for_file(&dir.join("UTBETALT.CSV"), "--csv").is_err());
        assert!(output_for_file(&dir.join("new/../utbetalt.csv"), "--csv").is_err());
        assert_eq!(
            std::fs::read_to_string(dir.join("utbetalt.csv")).unwrap(),
            "ledger"
        );
    }
}
