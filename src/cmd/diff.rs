//! `tilskudd diff OLD_DIR NEW_DIR`: what changed between two termin output folders — lines added, removed
//! and changed (`opptjent` or `a_utbetale`), per municipality and in total (issue 4). What an analyst checks
//! before paying, and what a municipality's correction request is about.
//!
//! Reads both `grunnlag.csv` (SPEC §6), keyed by (fnr, kommunenummer, kode, ar); the termin column is not
//! part of the key, so two termins of a chain can be compared. Names come from `kommuner.csv` when present.
//! Person numbers are masked in the table and in `--csv` (SPEC §6: full fnr only in grunnlag/utbetalt).

use crate::domain::ids::mask_text;
use crate::domain::money::fmt_money;
use crate::output::csv_writer;
use crate::Outcome;
use anyhow::{bail, Context};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tabled::builder::Builder;
use tabled::settings::object::Columns;
use tabled::settings::{Alignment, Style};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The earlier output folder (holding grunnlag.csv).
    pub old_dir: PathBuf,
    /// The later output folder (holding grunnlag.csv).
    pub new_dir: PathBuf,
    /// Also write every changed line to this CSV file (fnr masked).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Show at most this many changed lines in the terminal table (the totals always cover all).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: usize,
}

/// (kommunenummer, fnr, kode, ar): the basis key (T-2), municipality first so output groups by it.
pub type Key = (String, String, String, String);

/// The compared amounts of one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Amounts {
    pub opptjent: Decimal,
    pub a_utbetale: Decimal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Endring {
    /// Only in the new basis.
    Ny,
    /// Only in the old basis.
    Fjernet,
    /// In both, with a different `opptjent` or `a_utbetale`.
    Endret,
}

impl Endring {
    pub fn as_str(&self) -> &'static str {
        match self {
            Endring::Ny => "ny",
            Endring::Fjernet => "fjernet",
            Endring::Endret => "endret",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffLine {
    pub endring: Endring,
    pub key: Key,
    pub old: Option<Amounts>,
    pub new: Option<Amounts>,
}

/// Counts and sums for one municipality (or the total).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KommuneDiff {
    pub nye: u64,
    pub fjernet: u64,
    pub endret: u64,
    pub uendret: u64,
    pub old: Amounts,
    pub new: Amounts,
}

impl KommuneDiff {
    fn add(&mut self, e: Option<Endring>, old: Option<Amounts>, new: Option<Amounts>) {
        match e {
            Some(Endring::Ny) => self.nye += 1,
            Some(Endring::Fjernet) => self.fjernet += 1,
            Some(Endring::Endret) => self.endret += 1,
            None => self.uendret += 1,
        }
        if let Some(o) = old {
            self.old.opptjent += o.opptjent;
            self.old.a_utbetale += o.a_utbetale;
        }
        if let Some(n) = new {
            self.new.opptjent += n.opptjent;
            self.new.a_utbetale += n.a_utbetale;
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct DiffReport {
    /// Sorted by key.
    pub lines: Vec<DiffLine>,
    pub per_kommune: BTreeMap<String, KommuneDiff>,
    pub total: KommuneDiff,
}

/// Reads a `grunnlag.csv` into key → amounts. Errors name file, line, column and value.
pub fn read_grunnlag(path: &Path) -> anyhow::Result<BTreeMap<Key, Amounts>> {
    let file = path.display().to_string();
    let mut rdr = csv::ReaderBuilder::new()
        .from_path(path)
        .with_context(|| format!("{file}: cannot open (is this a termin output folder?)"))?;
    let headers = rdr
        .headers()
        .with_context(|| format!("{file}: cannot read the header"))?
        .clone();
    let col = |name: &str| -> anyhow::Result<usize> {
        headers
            .iter()
            .position(|h| {
                h.trim()
                    .trim_start_matches('\u{feff}')
                    .eq_ignore_ascii_case(name)
            })
            .with_context(|| format!("{file}: missing column '{name}'"))
    };
    let (ck, cf, cc, ca, co, cu) = (
        col("kommunenummer")?,
        col("fnr")?,
        col("kode")?,
        col("ar")?,
        col("opptjent")?,
        col("a_utbetale")?,
    );
    let mut out = BTreeMap::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.with_context(|| format!("{file}:{line}: unreadable CSV record"))?;
        let get = |c: usize| rec.get(c).unwrap_or("").trim().to_string();
        // Amounts as the readers take them (SPEC §1.1): whole øre, at most `MAX_AMOUNT`, so no sum over
        // the lines of a file can overflow (a 29-digit amount made the sums panic; `1.005` was rounded).
        let money = |c: usize, name: &str| -> anyhow::Result<Decimal> {
            let v = get(c);
            match crate::input::values::parse_amount(&v) {
                Some(a) if a.normalize().scale() <= 2 => Ok(a),
                _ => bail!(
                    "{file}:{line}: {name}: '{v}' is not an amount in NOK with at most two decimals \
                     (up to 999 999 999 999 999.99)"
                ),
            }
        };
        let key = (get(ck), get(cf), get(cc), get(ca));
        let amounts = Amounts {
            opptjent: money(co, "opptjent")?,
            a_utbetale: money(cu, "a_utbetale")?,
        };
        if out.insert(key.clone(), amounts).is_some() {
            bail!(
                "{file}:{line}: duplicate line for kommune {}, fnr {}, kode {}, ar {}",
                key.0,
                mask_text(&key.1),
                key.2,
                key.3
            );
        }
    }
    Ok(out)
}

/// Municipality names from a folder's `kommuner.csv`, if it is there and readable.
pub fn read_names(dir: &Path) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    let Ok(mut rdr) = csv::Reader::from_path(dir.join("kommuner.csv")) else {
        return names;
    };
    let Ok(h) = rdr.headers().cloned() else {
        return names;
    };
    let (Some(ck), Some(cn)) = (
        h.iter().position(|x| x == "kommunenummer"),
        h.iter().position(|x| x == "navn"),
    ) else {
        return names;
    };
    for r in rdr.records().flatten() {
        if let (Some(k), Some(n)) = (r.get(ck), r.get(cn)) {
            if !n.is_empty() {
                names.insert(k.to_string(), n.to_string());
            }
        }
    }
    names
}

/// Compares two bases.
pub fn diff_bases(old: &BTreeMap<Key, Amounts>, new: &BTreeMap<Key, Amounts>) -> DiffReport {
    let mut r = DiffReport::default();
    let mut keys: Vec<&Key> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let (o, n) = (old.get(key).copied(), new.get(key).copied());
        let e = match (o, n) {
            (None, Some(_)) => Some(Endring::Ny),
            (Some(_), None) => Some(Endring::Fjernet),
            (Some(a), Some(b)) if a != b => Some(Endring::Endret),
            _ => None,
        };
        r.per_kommune.entry(key.0.clone()).or_default().add(e, o, n);
        r.total.add(e, o, n);
        if let Some(endring) = e {
            r.lines.push(DiffLine {
                endring,
                key: key.clone(),
                old: o,
                new: n,
            });
        }
    }
    r
}

fn opt_money(a: Option<Decimal>) -> String {
    a.map(fmt_money).unwrap_or_default()
}

/// The terminal rendering: changed lines (at most `limit`), then per municipality and the total.
pub fn render(r: &DiffReport, names: &BTreeMap<String, String>, limit: usize) -> String {
    let mut s = String::new();
    if r.lines.is_empty() {
        s.push_str("No lines added, removed or changed.\n\n");
    } else {
        let mut b = Builder::default();
        b.push_record([
            "endring",
            "kommunenummer",
            "fnr",
            "kode",
            "ar",
            "opptjent før",
            "opptjent nå",
            "a_utbetale før",
            "a_utbetale nå",
        ]);
        for l in r.lines.iter().take(limit) {
            b.push_record([
                l.endring.as_str().to_string(),
                l.key.0.clone(),
                mask_text(&l.key.1),
                l.key.2.clone(),
                l.key.3.clone(),
                opt_money(l.old.map(|a| a.opptjent)),
                opt_money(l.new.map(|a| a.opptjent)),
                opt_money(l.old.map(|a| a.a_utbetale)),
                opt_money(l.new.map(|a| a.a_utbetale)),
            ]);
        }
        let mut t = b.build();
        t.with(Style::psql());
        t.modify(Columns::new(5..), Alignment::right());
        s.push_str(&format!("Changed lines ({}):\n{t}\n", r.lines.len()));
        if r.lines.len() > limit {
            s.push_str(&format!(
                "… and {} more (use --csv FILE for all, or --limit N)\n",
                r.lines.len() - limit
            ));
        }
        s.push('\n');
    }
    let mut b = Builder::default();
    b.push_record([
        "kommunenummer",
        "navn",
        "nye",
        "fjernet",
        "endret",
        "uendret",
        "Σ opptjent før",
        "Σ opptjent nå",
        "Σ a_utbetale før",
        "Σ a_utbetale nå",
        "endring a_utbetale",
    ]);
    let row = |k: &str, n: &str, d: &KommuneDiff| {
        vec![
            k.to_string(),
            n.to_string(),
            d.nye.to_string(),
            d.fjernet.to_string(),
            d.endret.to_string(),
            d.uendret.to_string(),
            fmt_money(d.old.opptjent),
            fmt_money(d.new.opptjent),
            fmt_money(d.old.a_utbetale),
            fmt_money(d.new.a_utbetale),
            fmt_money(d.new.a_utbetale - d.old.a_utbetale),
        ]
    };
    for (k, d) in &r.per_kommune {
        b.push_record(row(k, names.get(k).map_or("", String::as_str), d));
    }
    b.push_record(row("Sum", "", &r.total));
    let mut t = b.build();
    t.with(Style::psql());
    t.modify(Columns::new(2..), Alignment::right());
    s.push_str(&format!("Per municipality:\n{t}\n"));
    s
}

/// Writes every changed line as CSV (fnr masked), through [`crate::output::OutputDir`].
pub fn write_diff_csv(path: &Path, r: &DiffReport) -> anyhow::Result<()> {
    let (mut out, name) = crate::cmd::common::output_for_file(path, "--csv")?;
    out.write_file(&name, false, |w| {
        let mut c = csv_writer(w);
        c.write_record([
            "endring",
            "kommunenummer",
            "fnr",
            "kode",
            "ar",
            "opptjent_for",
            "opptjent_na",
            "a_utbetale_for",
            "a_utbetale_na",
        ])?;
        for l in &r.lines {
            c.write_record([
                l.endring.as_str().to_string(),
                l.key.0.clone(),
                mask_text(&l.key.1),
                l.key.2.clone(),
                l.key.3.clone(),
                opt_money(l.old.map(|a| a.opptjent)),
                opt_money(l.new.map(|a| a.opptjent)),
                opt_money(l.old.map(|a| a.a_utbetale)),
                opt_money(l.new.map(|a| a.a_utbetale)),
            ])?;
        }
        c.flush()
    })
    .with_context(|| format!("writing {}", path.display()))?;
    out.commit()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let old = read_grunnlag(&args.old_dir.join("grunnlag.csv"))?;
    let new = read_grunnlag(&args.new_dir.join("grunnlag.csv"))?;
    let mut names = read_names(&args.old_dir);
    names.extend(read_names(&args.new_dir));
    let report = diff_bases(&old, &new);
    println!(
        "Basis {} → {}",
        args.old_dir.display(),
        args.new_dir.display()
    );
    print!("{}", render(&report, &names, args.limit));
    if let Some(p) = &args.csv {
        write_diff_csv(p, &report)?;
        println!("Changed lines written to {}", p.display());
    }
    Ok(Outcome::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn k(kommune: &str, fnr: &str) -> Key {
        (kommune.into(), fnr.into(), "AR-2".into(), "2024".into())
    }

    fn a(o: &str, u: &str) -> Amounts {
        Amounts {
            opptjent: Decimal::from_str(o).unwrap(),
            a_utbetale: Decimal::from_str(u).unwrap(),
        }
    }

    /// Found by the session-8 probe: a 29-digit amount made the sums overflow (`diff` panicked, exit
    /// 101), and `1.005` was taken and shown as `1.01`.
    #[test]
    fn amounts_are_read_as_whole_ore_within_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grunnlag.csv");
        let read = |opptjent: &str| {
            std::fs::write(
                &path,
                format!(
                    "kommunenummer,fnr,kode,ar,opptjent,a_utbetale\n\
                     0301,01819000049,AR-2,2024,{opptjent},0.00\n\
                     0301,01819000049,AR-3,2024,{opptjent},0.00\n"
                ),
            )
            .unwrap();
            read_grunnlag(&path).map_err(|e| e.to_string())
        };
        let m = read("999999999999999.99").unwrap();
        assert_eq!(m.len(), 2);
        let e = read("79228162514264337593543950335").unwrap_err();
        assert!(
            e.contains(":2: opptjent: '79228162514264337593543950335' is not an amount"),
            "{e}"
        );
        let e = read("1.005").unwrap_err();
        assert!(e.contains("at most two decimals"), "{e}");
        assert_eq!(
            read("1.500").unwrap()[&k("0301", "01819000049")].opptjent,
            a("1.5", "0").opptjent
        );
    }

    #[test]
    fn classifies_added_removed_changed_unchanged() {
        let old = BTreeMap::from([
            (k("0301", "1"), a("100", "100")),
            (k("0301", "2"), a("50", "50")),
            (k("0301", "3"), a("10", "10")),
        ]);
        let new = BTreeMap::from([
            (k("0301", "1"), a("100", "100")),
            (k("0301", "2"), a("60", "10")),
            (k("3419", "4"), a("5", "5")),
        ]);
        let r = diff_bases(&old, &new);
        let e: Vec<Endring> = r.lines.iter().map(|l| l.endring).collect();
        assert_eq!(e, [Endring::Endret, Endring::Fjernet, Endring::Ny]);
        let oslo = &r.per_kommune["0301"];
        assert_eq!(
            (oslo.nye, oslo.fjernet, oslo.endret, oslo.uendret),
            (0, 1, 1, 1)
        );
        // Old Oslo a_utbetale 100 + 50 + 10 = 160; new 100 + 10 = 110.
        assert_eq!(oslo.old.a_utbetale, Decimal::from(160));
        assert_eq!(oslo.new.a_utbetale, Decimal::from(110));
        // Total new a_utbetale 110 + 5 = 115.
        assert_eq!(r.total.new.a_utbetale, Decimal::from(115));
    }
}
