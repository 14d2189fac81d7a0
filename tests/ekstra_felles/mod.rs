//! Shared builders for the FHT tests (SPEC §5): synthetic persons (month + 80), applications, earlier
//! decisions and an example rate table (status `eksempel`, test values only — never real rates).
#![allow(dead_code)]

use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::str::FromStr;
use tilskudd::domain::ids::{Fnr, Knr};
use tilskudd::domain::person::{Malgruppe, Person};
use tilskudd::domain::rates::{Rate, RateCode, RateStatus, RateTable};
use tilskudd::domain::soknad::{Dokumenter, FhtType, Grunnlag, Soknad, TidligereVedtak};

pub fn dato(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%d.%m.%Y").unwrap()
}

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// A synthetic number (month + 80) for a birth date; `individ` picks the century (ID-1) and the
/// person: the first usable individual number from it is taken.
pub fn fnr(fodt: &str, individ: u32) -> Fnr {
    let d = dato(fodt);
    use chrono::Datelike;
    for i in individ..individ + 50 {
        let s = format!(
            "{:02}{:02}{:02}{:03}",
            d.day(),
            d.month() + 80,
            d.year() % 100,
            i
        );
        if let Some(f) = Fnr::with_control_digits(&s) {
            assert_eq!(f.birth_date(), d);
            return f;
        }
    }
    panic!("no usable individual number");
}

pub fn knr() -> Knr {
    Knr::parse("0301").unwrap()
}

/// A refugee settled by agreement; born `fodt` (individual numbers from 500 give the 2000s for years
/// 00–39, from 100 the 1900s).
pub fn person(fodt: &str, bosatt: &str) -> Person {
    let year: i32 = fodt[6..].parse().unwrap();
    let individ = if year >= 2000 { 500 } else { 100 };
    person_nr(fodt, bosatt, individ)
}

pub fn person_nr(fodt: &str, bosatt: &str, individ: u32) -> Person {
    let f = fnr(fodt, individ);
    Person {
        fnr: f,
        duf: None,
        fodselsdato: dato(fodt),
        bosettingsdato: dato(bosatt),
        bosettingskommune: knr(),
        sak_id: format!("SAK-{}", f.as_str()),
        malgruppe: Malgruppe::Flyktning,
        bosatt_etter_avtale: true,
        enslig_mindrearig: false,
        mor_fnr: None,
        referanse_fnr: None,
        familie_soknadsdato: None,
        registrert_dato: dato(bosatt),
        dodsdato: None,
        utvandringsdato: None,
        gjenforent_dato: None,
        tidligere_utlost: false,
        line: 2,
    }
}

pub fn alle_dokumenter() -> Dokumenter {
    Dokumenter {
        samtykke: true,
        legeerklaering: true,
        spesialisterklaering: true,
        sosialrapport: true,
        tiltaksbeskrivelse: true,
        budsjettskjema: true,
    }
}

/// A complete application (all documents, budget-based, no responsibility-group costs).
pub fn soknad(id: &str, p: &Person, typ: FhtType, n: u8, mottatt: &str, belop: &str) -> Soknad {
    Soknad {
        soknad_id: id.into(),
        fnr: p.fnr,
        kommunenummer: knr(),
        typ,
        tilskuddsar: n,
        mottatt_dato: dato(mottatt),
        belop: dec(belop),
        grunnlag: Grunnlag::Budsjett,
        ansvarsgruppe: None,
        utsatt_frist: None,
        dokumenter: alle_dokumenter(),
        line: 2,
    }
}

/// An earlier granted decision; accounts received (regnskap = innvilget) unless changed by the test.
pub fn vedtak(
    p: &Person,
    typ: FhtType,
    n: u8,
    innvilget: &str,
    grunnlag: Grunnlag,
) -> TidligereVedtak {
    TidligereVedtak {
        soknad_id: format!("V-{}-{}-{}", typ.as_str(), n, p.fnr.as_str()),
        fnr: p.fnr,
        typ,
        tilskuddsar: n,
        innvilget_belop: dec(innvilget),
        grunnlag,
        regnskap_belop: None,
        regnskap_mottatt: None,
        line: 2,
    }
}

/// Example rates for 2010–2030 (status `eksempel`): FHT1 180 000, FHT2-MAKS 1 500 000, thresholds
/// 100 000 / 200 000, responsibility-group cap 20 000, FHT-FRIST-MND 1 before 2024 and 2 from 2024
/// (the shape of the published rules; the amounts are test values).
pub fn satser() -> RateTable {
    satser_uten(&[])
}

/// As [`satser`], leaving out the given (year, code) rows.
pub fn satser_uten(uten: &[(i32, RateCode)]) -> RateTable {
    let mut t = RateTable::default();
    for ar in 2010..=2030 {
        let rows = [
            (RateCode::Fht1, "180000"),
            (RateCode::Fht2Maks, "1500000"),
            (RateCode::Fht1Terskel, "100000"),
            (RateCode::Fht2Terskel, "200000"),
            (RateCode::FhtAnsvarsgruppeMaks, "20000"),
            (RateCode::FhtFristMnd, if ar >= 2024 { "2" } else { "1" }),
        ];
        for (kode, belop) in rows {
            if uten.contains(&(ar, kode)) {
                continue;
            }
            t.insert(Rate {
                ar,
                kode,
                belop: dec(belop),
                status: RateStatus::Eksempel,
                kilde: "test".into(),
                origin: "test".into(),
            })
            .unwrap();
        }
    }
    t
}
