//! Payment files of a termin (SPEC §6 `utbetaling.csv`, `utbetaling.xml`; T-3, T-5): one credit transfer per
//! municipality whose termin sum is positive, to the account and org.nr of the municipality register valid
//! on the basis date.
//!
//! T-5: no payment file while any rate used is not `vedtatt`, unless `--allow-unadopted-rates`. A paying
//! municipality missing from the register, or without a valid account or org.nr, is left out of the bank
//! file with an `avvik` and a loud warning. Control sum: Σ transactions = Σ `utbetaling.csv` = Σ of the
//! included municipalities' sums (checked against their basis lines).
//!
//! Also the payment configuration file (`--config`): `key = value` lines.

use crate::domain::avvik::Avvik;
use crate::domain::basis::TerminSummary;
use crate::domain::ids::{Knr, Kontonr, Orgnr, IMDI_ORGNR};
use crate::domain::kommune::KommuneRegister;
use crate::domain::money::{fmt_money, round_ore};
use crate::domain::rates::{RateCode, RateStatus, RateTable};
use crate::domain::termin::Termin;
use crate::output::pain001::{self, CreditTransfer, Pain001};
use crate::output::{csv_writer, OutputDir};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use thiserror::Error;

/// The payment file names (SPEC §6).
pub const CSV_NAME: &str = "utbetaling.csv";
pub const XML_NAME: &str = "utbetaling.xml";

/// IMDi's name as debtor and initiating party, unless the config says otherwise.
pub const DEFAULT_DEBTOR_NAME: &str = "Integrerings- og mangfoldsdirektoratet";

#[derive(Debug, Error)]
pub enum PaymentError {
    #[error("no debtor account: a payment file is due ({n} transfer(s)) but IMDi's account is not set; give --debtor-account KONTONR or `debtor_account = …` in --config")]
    MissingDebtorAccount { n: usize },
    #[error("{file}:{line}: {message}")]
    Config {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}: {source}")]
    ConfigRead {
        file: String,
        source: std::io::Error,
    },
    #[error(
        "'{0}' is not a creation time: write it as 2024-09-30T08:00:00 (or a date, 2024-09-30)"
    )]
    Created(String),
    #[error("internal inconsistency: municipality {kommune} has sum {sum} but its basis lines add up to {lines}; no payment file written")]
    Inconsistent {
        kommune: Knr,
        sum: Decimal,
        lines: Decimal,
    },
    #[error("writing payment files: {0}")]
    Io(#[from] std::io::Error),
}

/// Settings from the payment configuration file (all optional).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PaymentConfig {
    pub debtor_account: Option<Kontonr>,
    pub debtor_name: Option<String>,
    pub debtor_bic: Option<String>,
    pub execution_date: Option<NaiveDate>,
}

/// Reads a `key = value` file: `debtor_account`, `debtor_name`, `debtor_bic`, `execution_date`
/// (YYYY-MM-DD). `#` starts a comment; blank lines are ignored; an unknown key or a bad value is an error
/// naming file and line.
pub fn load_payment_config(path: &Path) -> Result<PaymentConfig, PaymentError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| PaymentError::ConfigRead {
        file: file.clone(),
        source,
    })?;
    parse_payment_config(&text, &file)
}

/// The parser behind [`load_payment_config`], on text.
pub fn parse_payment_config(text: &str, file: &str) -> Result<PaymentConfig, PaymentError> {
    let mut cfg = PaymentConfig::default();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let err = |message: String| PaymentError::Config {
            file: file.to_string(),
            line,
            message,
        };
        let content = raw.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let (key, value) = content
            .split_once('=')
            .ok_or_else(|| err(format!("expected `key = value`, found '{content}'")))?;
        let key = key.trim().to_ascii_lowercase();
        let value = value.trim().trim_matches('"').trim();
        match key.as_str() {
            "debtor_account" => {
                let k = Kontonr::parse(value).map_err(|e| {
                    err(format!("debtor_account '{value}' is not a valid account number (ID-5): {e}"))
                })?;
                cfg.debtor_account = Some(k);
            }
            "debtor_name" => {
                if value.is_empty() {
                    return Err(err("debtor_name is empty".into()));
                }
                cfg.debtor_name = Some(value.to_string());
            }
            "debtor_bic" => {
                // BICIdentifier of the schema: 6 letters, then 2 (and optionally 3) letters/digits.
                let v = value.to_ascii_uppercase();
                let ok = (v.len() == 8 || v.len() == 11)
                    && v.chars().all(|c| c.is_ascii_alphanumeric())
                    && v.chars().take(6).all(|c| c.is_ascii_uppercase());
                if !ok {
                    return Err(err(format!("debtor_bic '{value}' is not a BIC (8 or 11 letters/digits)")));
                }
                cfg.debtor_bic = Some(value.to_ascii_uppercase());
            }
            "execution_date" => {
                let d = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
                    err(format!("execution_date '{value}' is not a date (YYYY-MM-DD)"))
                })?;
                cfg.execution_date = Some(d);
            }
            other => {
                return Err(err(format!(
                    "unknown key '{other}' (known: debtor_account, debtor_name, debtor_bic, execution_date)"
                )))
            }
        }
    }
    Ok(cfg)
}

/// Parses `--created`: `2024-09-30T08:00:00`, `2024-09-30 08:00:00`, `2024-09-30T08:00` or a date (00:00).
pub fn parse_created(s: &str) -> Result<NaiveDateTime, PaymentError> {
    let t = s.trim();
    for f in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t, f) {
            return Ok(d);
        }
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .map(|d| d.and_time(NaiveTime::MIN))
        .map_err(|_| PaymentError::Created(s.to_string()))
}

/// Options for [`write_payment_files`]. Build with [`PaymentOptions::new`] and override fields.
#[derive(Clone, Debug)]
pub struct PaymentOptions {
    /// IMDi's account (BBAN); required when a payment file is due.
    pub debtor_account: Option<Kontonr>,
    pub debtor_name: String,
    pub debtor_bic: Option<String>,
    /// `CreDtTm`; default the basis date at 00:00 so reruns are byte-identical (T-4).
    pub created: NaiveDateTime,
    /// `ReqdExctnDt`; default the date of `created`.
    pub execution_date: Option<NaiveDate>,
    /// T-5 override.
    pub allow_unadopted_rates: bool,
}

impl PaymentOptions {
    /// Defaults for a termin with this basis date.
    pub fn new(basis_date: NaiveDate) -> PaymentOptions {
        PaymentOptions {
            debtor_account: None,
            debtor_name: DEFAULT_DEBTOR_NAME.to_string(),
            debtor_bic: None,
            created: basis_date.and_time(NaiveTime::MIN),
            execution_date: None,
            allow_unadopted_rates: false,
        }
    }

    /// Takes the config file's values where the options do not set them (command line wins).
    pub fn with_config(mut self, cfg: &PaymentConfig) -> PaymentOptions {
        if self.debtor_account.is_none() {
            self.debtor_account = cfg.debtor_account;
        }
        if let Some(n) = &cfg.debtor_name {
            self.debtor_name = n.clone();
        }
        if self.debtor_bic.is_none() {
            self.debtor_bic = cfg.debtor_bic.clone();
        }
        if self.execution_date.is_none() {
            self.execution_date = cfg.execution_date;
        }
        self
    }
}

/// A rate used that is not `vedtatt` (T-5). `status` is `None` when the table does not hold it at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnadoptedRate {
    pub ar: i32,
    pub kode: RateCode,
    pub status: Option<RateStatus>,
}

/// One transfer of the payment file (a row of `utbetaling.csv`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    pub kommune: Knr,
    pub navn: String,
    pub orgnr: Orgnr,
    pub kontonummer: Kontonr,
    pub belop: Decimal,
    pub end_to_end_id: String,
    pub melding: String,
}

/// A paying municipality left out of the bank file, with why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeftOut {
    pub kommune: Knr,
    pub belop: Decimal,
    /// `ukjent_kommune_i_register`, `ugyldig_kontonummer`, `mangler_orgnr`, `mangler_kommuneregister`.
    pub kode: String,
}

/// What [`write_payment_files`] did.
#[derive(Clone, Debug, Default)]
pub struct PaymentSummary {
    /// `utbetaling.csv` and `utbetaling.xml` were written.
    pub written: bool,
    /// Why no payment file was written (T-5 refusal, nobody to pay, no register), if it was not.
    pub refused: Option<String>,
    /// Rates used that are not `vedtatt` (T-5), whether or not the file was refused.
    pub unadopted_rates: Vec<UnadoptedRate>,
    /// The transfers (also when refused: what would have been paid).
    pub transfers: Vec<Transfer>,
    /// Σ transfers = `CtrlSum` = Σ `utbetaling.csv`.
    pub ctrl_sum: Decimal,
    pub nb_of_txs: usize,
    pub msg_id: String,
    pub left_out: Vec<LeftOut>,
    /// To add to `avvik.csv`.
    pub avvik: Vec<Avvik>,
    /// To print loudly (stderr) and put in the manifest.
    pub warnings: Vec<String>,
    /// Payment files from an earlier run still in the output folder although this run wrote none: the
    /// caller should remove them (or refuse without `--force`) so they are not sent by mistake.
    pub stale_files: Vec<std::path::PathBuf>,
}

/// The end-to-end id (and instruction id) of a municipality's transfer: stable per (termin, municipality).
pub fn end_to_end_id(termin: Termin, kommune: Knr) -> String {
    format!("IMDI-{}-{}", termin, kommune)
}

/// `MsgId`: the termin plus the first 10 hex digits of a SHA-256 over the transfers (municipality, account,
/// amount), so an identical rerun gives the same id and a corrected file a new one (banks refuse a
/// repeated MsgId).
pub fn msg_id(termin: Termin, transfers: &[Transfer]) -> String {
    let mut h = Sha256::new();
    for t in transfers {
        h.update(format!("{};{};{}\n", t.kommune, t.kontonummer, fmt_money(t.belop)).as_bytes());
    }
    let digest = hex::encode(h.finalize());
    format!("IMDI-{}-{}", termin, &digest[..10])
}

/// The remittance text: names the grants (from the municipality's codes) and the termin.
pub fn remittance(termin: Termin, kommune: Knr, codes: &[RateCode]) -> String {
    let it = codes
        .iter()
        .any(|c| !matches!(c, RateCode::Eminb | RateCode::Eminu));
    let em = codes
        .iter()
        .any(|c| matches!(c, RateCode::Eminb | RateCode::Eminu));
    let grants = match (it, em) {
        (true, true) => "integreringstilskudd og særskilt tilskudd EM",
        (false, true) => "særskilt tilskudd EM",
        _ => "integreringstilskudd",
    };
    format!("IMDi {grants} termin {termin} kommune {kommune}")
}

/// The rates used that are not `vedtatt` (T-5).
pub fn unadopted_rates(result: &TerminSummary, rates: &RateTable) -> Vec<UnadoptedRate> {
    let mut used = result.rates_used.clone();
    used.sort();
    used.dedup();
    used.into_iter()
        .filter_map(|(ar, kode)| match rates.get(ar, kode) {
            Ok(r) if r.status == RateStatus::Vedtatt => None,
            Ok(r) => Some(UnadoptedRate {
                ar,
                kode,
                status: Some(r.status),
            }),
            Err(_) => Some(UnadoptedRate {
                ar,
                kode,
                status: None,
            }),
        })
        .collect()
}

/// T-5's rates for a message: the first [`RATES_SHOWN`](crate::output::RATES_SHOWN), then how many more
/// (a run on example rates has dozens; `manifest.json` lists every rate used with its status, under
/// `rates_used`, as the report's `Satser` sheet does).
fn describe(u: &[UnadoptedRate]) -> String {
    let all: Vec<String> = u
        .iter()
        .map(|r| {
            format!(
                "{} {} ({})",
                r.ar,
                r.kode,
                r.status.map_or("not in the rate tables", |s| s.as_str())
            )
        })
        .collect();
    let mut s = crate::output::first_few(&all, crate::output::RATES_SHOWN);
    if all.len() > crate::output::RATES_SHOWN {
        s.push_str(" (see rates_used in manifest.json)");
    }
    s
}

/// Decides the transfers without writing anything: which paying municipalities go into the bank file and
/// which are left out (with their avvik). Pure; [`write_payment_files`] calls it.
pub fn plan_payment(
    result: &TerminSummary,
    register: Option<&KommuneRegister>,
    rates: &RateTable,
) -> Result<PaymentSummary, PaymentError> {
    let mut s = PaymentSummary {
        unadopted_rates: unadopted_rates(result, rates),
        ..PaymentSummary::default()
    };
    // Σ lines per municipality, to check the sums handed to us (control sums must add up, SPEC §6 manifest).
    let line_sums: BTreeMap<Knr, Decimal> = result
        .stats
        .per_kommune
        .iter()
        .map(|(k, a)| (*k, a.a_utbetale))
        .collect();
    let reg_file = register.map_or("kommuner", |r| r.file.as_str());
    for k in &result.kommuner {
        // T-3: only a positive sum is paid.
        if !(k.utbetales && k.sum > Decimal::ZERO) {
            continue;
        }
        let lines = line_sums.get(&k.kommune).copied().unwrap_or_default();
        if round_ore(lines) != round_ore(k.sum) {
            return Err(PaymentError::Inconsistent {
                kommune: k.kommune,
                sum: k.sum,
                lines,
            });
        }
        let amount = round_ore(k.sum);
        let mut leave = |kode: &str, linje: Option<u64>, kolonne: Option<&str>, why: String| {
            s.avvik.push(Avvik::rejected(
                reg_file,
                linje,
                kolonne,
                kode,
                format!(
                    "kommune {} skal ha {} kr i termin {}, men er utelatt fra betalingsfilen: {why}",
                    k.kommune,
                    fmt_money(amount),
                    result.termin
                ),
            ));
            s.left_out.push(LeftOut {
                kommune: k.kommune,
                belop: amount,
                kode: kode.to_string(),
            });
        };
        let Some(reg) = register else {
            leave(
                "mangler_kommuneregister",
                None,
                None,
                "ingen kommuneregister (--kommuner) er gitt".into(),
            );
            continue;
        };
        let Some(row) = reg.get(k.kommune, result.basis_date) else {
            let why = if reg.contains(k.kommune) {
                format!(
                    "kommunen finnes i registeret, men ingen rad er gyldig {}",
                    result.basis_date
                )
            } else {
                "kommunen finnes ikke i kommuneregisteret".to_string()
            };
            leave("ukjent_kommune_i_register", None, None, why);
            continue;
        };
        let Some(konto) = row.kontonummer else {
            leave(
                "ugyldig_kontonummer",
                Some(row.line),
                Some("kontonummer"),
                "mangler gyldig kontonummer (ID-5) i registeret".into(),
            );
            continue;
        };
        let Some(orgnr) = row.orgnr else {
            leave(
                "mangler_orgnr",
                Some(row.line),
                Some("orgnr"),
                "mangler gyldig organisasjonsnummer (ID-4) i registeret".into(),
            );
            continue;
        };
        let codes: Vec<RateCode> = k.per_kode.keys().copied().collect();
        s.transfers.push(Transfer {
            kommune: k.kommune,
            navn: row.navn.clone(),
            orgnr,
            kontonummer: konto,
            belop: amount,
            end_to_end_id: end_to_end_id(result.termin, k.kommune),
            melding: remittance(result.termin, k.kommune, &codes),
        });
    }
    s.transfers.sort_by_key(|t| t.kommune);
    s.ctrl_sum = s.transfers.iter().map(|t| t.belop).sum();
    s.nb_of_txs = s.transfers.len();
    s.msg_id = msg_id(result.termin, &s.transfers);
    if !s.left_out.is_empty() {
        let total: Decimal = s.left_out.iter().map(|l| l.belop).sum();
        let list = s
            .left_out
            .iter()
            .map(|l| format!("{} ({} kr, {})", l.kommune, fmt_money(l.belop), l.kode))
            .collect::<Vec<_>>()
            .join(", ");
        s.warnings.push(format!(
            "WARNING: {} municipality(ies) with {} kr to pay LEFT OUT of the payment file: {list}; see avvik.csv and fix the municipality register",
            s.left_out.len(),
            fmt_money(total)
        ));
    }
    Ok(s)
}

/// Writes `utbetaling.csv` and `utbetaling.xml` (unless refused, T-5) and returns what was done.
///
/// Nothing is written when: a rate used is not `vedtatt` and the override is off (T-5); or no
/// municipality is left to pay. A missing debtor account when a file is due is an error.
pub fn write_payment_files(
    out: &mut OutputDir,
    result: &TerminSummary,
    register: Option<&KommuneRegister>,
    rates: &RateTable,
    opts: &PaymentOptions,
) -> Result<PaymentSummary, PaymentError> {
    let mut s = plan_payment(result, register, rates)?;
    let stale: Vec<std::path::PathBuf> = [CSV_NAME, XML_NAME]
        .iter()
        .map(|n| out.path().join(n))
        .filter(|p| p.exists())
        .collect();
    let refuse = |mut s: PaymentSummary, why: String, loud: bool| {
        s.warnings.push(format!(
            "{}{why}",
            if loud { "WARNING: " } else { "note: " }
        ));
        if !stale.is_empty() {
            s.warnings.push(format!(
                "WARNING: no payment file was written by this run, but an older one is in the output folder: {}; it does NOT belong to this run's basis — remove it",
                stale
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            s.stale_files = stale.clone();
        }
        s.refused = Some(why);
        Ok(s)
    };
    // T-5: refuse while any rate used is not adopted, unless overridden.
    if !s.unadopted_rates.is_empty() {
        let list = describe(&s.unadopted_rates);
        if opts.allow_unadopted_rates {
            s.warnings.push(format!(
                "WARNING: payment file written with rates that are NOT adopted (--allow-unadopted-rates, T-5): {list}"
            ));
        } else {
            let why = format!(
                "T-5: no payment file: rates used are not adopted (vedtatt): {list}; the reports are written; give --allow-unadopted-rates to pay anyway"
            );
            return refuse(s, why, true);
        }
    }
    if s.transfers.is_empty() {
        let why = "no municipality to pay in the payment file this termin".to_string();
        return refuse(s, why, false);
    }
    let debtor_account = opts
        .debtor_account
        .ok_or(PaymentError::MissingDebtorAccount {
            n: s.transfers.len(),
        })?;
    // Invariant: IMDI_ORGNR is a constant with a valid control digit (tested in domain::ids).
    let imdi = Orgnr::parse(IMDI_ORGNR).expect("IMDI_ORGNR is a valid org.nr");
    let doc = Pain001 {
        msg_id: s.msg_id.clone(),
        created: opts.created,
        pmt_inf_id: format!("{}-1", s.msg_id),
        execution_date: opts.execution_date.unwrap_or(opts.created.date()),
        debtor_name: opts.debtor_name.clone(),
        debtor_orgnr: imdi,
        debtor_account,
        debtor_bic: opts.debtor_bic.clone(),
        transactions: s
            .transfers
            .iter()
            .map(|t| CreditTransfer {
                instr_id: t.end_to_end_id.clone(),
                end_to_end_id: t.end_to_end_id.clone(),
                amount: t.belop,
                creditor_name: t.navn.clone(),
                creditor_orgnr: t.orgnr,
                creditor_account: t.kontonummer,
                remittance: t.melding.clone(),
            })
            .collect(),
    };
    debug_assert_eq!(doc.ctrl_sum(), s.ctrl_sum);
    if doc.execution_date < chrono::Local::now().date_naive() {
        // Only a warning: the file itself must not depend on the day it is made (T-4).
        s.warnings.push(format!(
            "WARNING: requested execution date (ReqdExctnDt) {} is in the past; banks may reject the file or move the date — set execution_date in --config or --created",
            doc.execution_date
        ));
    }
    let termin = result.termin.to_string();
    out.write_file(CSV_NAME, false, |w| {
        let mut c = csv_writer(w);
        c.write_record([
            "termin",
            "kommunenummer",
            "navn",
            "orgnr",
            "kontonummer",
            "belop",
            "end_to_end_id",
            "melding",
        ])?;
        for t in &s.transfers {
            c.write_record([
                termin.as_str(),
                &t.kommune.to_string(),
                &t.navn,
                t.orgnr.as_str(),
                t.kontonummer.as_str(),
                &fmt_money(t.belop),
                &t.end_to_end_id,
                &t.melding,
            ])?;
        }
        c.flush()
    })?;
    out.write_file(XML_NAME, false, |w| pain001::write_pain001(w, &doc))?;
    s.written = true;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_parses_and_names_bad_lines() {
        let c = parse_payment_config(
            "# IMDi\ndebtor_account = 1234.56.78903\ndebtor_name = \"IMDi\"\nexecution_date=2024-10-01\n",
            "p.conf",
        )
        .unwrap();
        assert_eq!(c.debtor_account.unwrap().as_str(), "12345678903");
        assert_eq!(c.debtor_name.as_deref(), Some("IMDi"));
        assert_eq!(c.execution_date, NaiveDate::from_ymd_opt(2024, 10, 1));
        let e = parse_payment_config("\ndebtor_account = 12345678904\n", "p.conf").unwrap_err();
        assert!(e.to_string().starts_with("p.conf:2:"), "{e}");
        assert!(parse_payment_config("debtor_bic = 1234NOKK\n", "p.conf").is_err());
        assert_eq!(
            parse_payment_config("debtor_bic = dnbanokk\n", "p.conf")
                .unwrap()
                .debtor_bic
                .as_deref(),
            Some("DNBANOKK")
        );
        let e = parse_payment_config("colour = blue\n", "p.conf").unwrap_err();
        assert!(e.to_string().contains("unknown key 'colour'"), "{e}");
    }

    #[test]
    fn created_forms() {
        let d = NaiveDate::from_ymd_opt(2024, 9, 30).unwrap();
        assert_eq!(
            parse_created("2024-09-30").unwrap(),
            d.and_time(NaiveTime::MIN)
        );
        assert_eq!(
            parse_created("2024-09-30T08:15:00").unwrap(),
            d.and_hms_opt(8, 15, 0).unwrap()
        );
        assert!(parse_created("30.09.2024 kl 8").is_err());
    }

    #[test]
    fn ids_are_stable_and_short() {
        let t: Termin = "2024-Q3".parse().unwrap();
        let k = Knr::parse("0301").unwrap();
        assert_eq!(end_to_end_id(t, k), "IMDI-2024-Q3-0301");
        assert!(msg_id(t, &[]).len() <= pain001::MAX_ID);
        assert_eq!(msg_id(t, &[]), msg_id(t, &[]));
    }
}
