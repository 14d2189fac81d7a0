//! Shared builders for the engine tests (`tests/termin_*.rs`): synthetic persons (month + 80), a rate
//! table whose amounts are easy to compute by hand, and a one-call termin run.
#![allow(dead_code)]

use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::str::FromStr;
use tilskudd::domain::basis::{BasisLine, TerminResult};
use tilskudd::domain::engine::{Engine, Params};
use tilskudd::domain::ids::{Fnr, Knr};
use tilskudd::domain::ledger::LedgerLine;
use tilskudd::domain::person::{Extract, Flytting, Malgruppe, Person};
use tilskudd::domain::rates::{Rate, RateCode, RateStatus, RateTable};
use tilskudd::domain::termin::Termin;

pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

pub fn k(s: &str) -> Knr {
    Knr::parse(s).unwrap()
}

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

pub fn t(s: &str) -> Termin {
    s.parse().unwrap()
}

/// A synthetic fnr (month + 80) born on `birth` (YYYY-MM-DD); `n` picks among the valid individual
/// numbers so that one birth date can give several persons.
pub fn fnr(birth: &str, n: usize) -> Fnr {
    let b = d(birth);
    let yy = b.format("%y").to_string();
    let dd = b.format("%d").to_string();
    let mm: u32 = b.format("%m").to_string().parse::<u32>().unwrap() + 80;
    let range: Vec<u16> = if chrono::Datelike::year(&b) < 2000 {
        (100..500).collect()
    } else {
        (500..1000).collect()
    };
    range
        .into_iter()
        .filter_map(|i| Fnr::with_control_digits(&format!("{dd}{mm}{yy}{i:03}")))
        .nth(n)
        .unwrap()
}

/// A single adult refugee with the SPEC defaults; sak_id is unique (the person's own number).
pub fn person(birth: &str, n: usize, bosatt: &str, kommune: &str) -> Person {
    let f = fnr(birth, n);
    Person {
        fnr: f,
        duf: None,
        fodselsdato: d(birth),
        bosettingsdato: d(bosatt),
        bosettingskommune: k(kommune),
        sak_id: format!("sak-{}", f.as_str()),
        malgruppe: Malgruppe::Flyktning,
        bosatt_etter_avtale: true,
        enslig_mindrearig: false,
        mor_fnr: None,
        referanse_fnr: None,
        familie_soknadsdato: None,
        registrert_dato: d(bosatt),
        dodsdato: None,
        utvandringsdato: None,
        gjenforent_dato: None,
        tidligere_utlost: false,
        line: 2,
    }
}

pub fn mv(p: &Person, date: &str, to: &str) -> Flytting {
    Flytting {
        fnr: p.fnr,
        flyttedato: d(date),
        til_kommune: k(to),
        fra_kommune: None,
        line: 2,
    }
}

/// Test rates: base(code) + (year − 2020)·1200 for years 2015..=2035. Every base and the step are
/// divisible by 12, so each month is a whole number of kroner:
/// AR-1 EV 240000, AR-1 120000, AR-1 EM 180000, AR-1 B 120000, AR-2 120000, AR-3 96000, AR-4 60000,
/// AR-5 48000, ELDR 170400, BHT 27600, EMINB 1200000, EMINU 720000.
pub fn base(code: RateCode) -> i64 {
    match code {
        RateCode::Ar1Ev => 240000,
        RateCode::Ar1 => 120000,
        RateCode::Ar1Em => 180000,
        RateCode::Ar1B => 120000,
        RateCode::Ar2 => 120000,
        RateCode::Ar3 => 96000,
        RateCode::Ar4 => 60000,
        RateCode::Ar5 => 48000,
        RateCode::Eldr => 170400,
        RateCode::Bht => 27600,
        RateCode::Eminb => 1200000,
        RateCode::Eminu => 720000,
        _ => 0,
    }
}

pub fn rates() -> RateTable {
    rates_except(&[])
}

pub fn rates_except(missing: &[(i32, RateCode)]) -> RateTable {
    let mut r = RateTable::default();
    for year in 2015..=2035 {
        for code in RateCode::TERMIN_CODES {
            if missing.contains(&(year, code)) {
                continue;
            }
            r.insert(Rate {
                ar: year,
                kode: code,
                belop: Decimal::from(base(code) + (i64::from(year) - 2020) * 1200),
                status: RateStatus::Eksempel,
                kilde: "test".into(),
                origin: format!("test:{year}"),
            })
            .unwrap();
        }
    }
    r
}

pub fn extract(personer: Vec<Person>, flyttinger: Vec<Flytting>) -> Extract {
    Extract {
        personer_file: "dsf/personer.csv".into(),
        personer,
        flyttinger_file: Some("dsf/flyttinger.csv".into()),
        flyttinger,
    }
}

pub fn run_with(
    termin: &str,
    ex: &Extract,
    rates: &RateTable,
    ledger: &[LedgerLine],
    auto_from: i32,
) -> TerminResult {
    let params = Params::new(t(termin), None, auto_from);
    Engine::new(params, ex, rates, ledger).run(None).unwrap()
}

pub fn run(termin: &str, ex: &Extract, ledger: &[LedgerLine]) -> TerminResult {
    run_with(termin, ex, &rates(), ledger, 2021)
}

/// The lines of one person, as (kommune, kode, ar, opptjent, a_utbetale).
pub fn lines_of(r: &TerminResult, f: Fnr) -> Vec<(String, String, i32, Decimal, Decimal)> {
    r.lines
        .iter()
        .filter(|l| l.key.fnr == f)
        .map(|l| {
            (
                l.key.kommune.to_string(),
                l.key.kode.to_string(),
                l.key.ar,
                l.opptjent,
                l.a_utbetale,
            )
        })
        .collect()
}

pub fn line<'a>(
    r: &'a TerminResult,
    f: Fnr,
    kommune: &str,
    kode: &str,
    ar: i32,
) -> Option<&'a BasisLine> {
    r.lines.iter().find(|l| {
        l.key.fnr == f
            && l.key.kommune == k(kommune)
            && l.key.kode.as_str() == kode
            && l.key.ar == ar
    })
}

/// Σ a_utbetale of all lines.
pub fn total(r: &TerminResult) -> Decimal {
    r.lines.iter().map(|l| l.a_utbetale).sum()
}

/// The lines written to the new ledger by this run.
pub fn paid_now(r: &TerminResult) -> Vec<&LedgerLine> {
    r.new_ledger
        .iter()
        .filter(|l| l.termin == r.termin && l.origin.is_empty())
        .collect()
}

/// The ledger as the next termin reads it (origin filled as the reader would).
pub fn as_read(ledger: &[LedgerLine]) -> Vec<LedgerLine> {
    ledger
        .iter()
        .enumerate()
        .map(|(i, l)| LedgerLine {
            origin: tilskudd::domain::ledger::Origin::new("paid/utbetalt.csv".into(), i as u64 + 2),
            ..l.clone()
        })
        .collect()
}
