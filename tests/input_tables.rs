//! Rate tables (SPEC §1.6), ledger files (T-2), soknader and vedtak (§5): row rules and planted errors.

mod input_support;

use input_support::*;
use rust_decimal::Decimal;
use std::str::FromStr;
use tilskudd::domain::rates::{RateCode, RateStatus};
use tilskudd::domain::soknad::{FhtType, Grunnlag};
use tilskudd::domain::termin::Termin;
use tilskudd::input::{load_kommuner, load_ledger, load_rates, load_soknader, load_vedtak};

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn codes<T>(l: &tilskudd::input::Loaded<T>) -> Vec<(u64, String)> {
    l.avvik
        .iter()
        .map(|a| (a.linje.unwrap_or(0), a.kode.clone()))
        .collect()
}

#[test]
fn rates_row_rules_and_duplicates_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    std::fs::write(
        &a,
        "ar,kode,belop,status,kilde\n\
         2024,AR-2,230000,vedtatt,Rundskriv 01/2024\n\
         2024,AR-9,1,eksempel,\n\
         2024,AR-3,1,endelig,x\n\
         2024,AR-4,84000,vedtatt,\n\
         2024,AR-5,-1,eksempel,\n\
         2024,FHT-FRIST-MND,1.5,eksempel,\n\
         24x,AR-5,1,eksempel,\n\
         2024,ar-2,1,eksempel,\n\
         2024,FHT-FRIST-MND,2,eksempel,\n",
    )
    .unwrap();
    std::fs::write(
        &b,
        "ar;kode;belop;status;kilde\n2024;AR-2;1;forslag;Prop. 1 S\n",
    )
    .unwrap();
    let l = load_rates(&[a, b]).unwrap();
    assert_eq!(
        codes(&l),
        vec![
            (3, "ukjent_kode".into()),
            (4, "ukjent_status".into()),
            (5, "mangler_kilde".into()),
            (6, "negativt_belop".into()),
            (7, "ikke_heltall".into()),
            (8, "ugyldig_ar".into()),
            (9, "duplikat_sats".into()),
            (2, "duplikat_sats".into()), // b.csv line 2 duplicates a.csv line 2
        ]
    );
    // The duplicate names the first row's place.
    assert!(
        l.avvik[6].melding.contains("a.csv:2"),
        "{}",
        l.avvik[6].melding
    );
    assert!(
        l.avvik[7].melding.contains("a.csv:2"),
        "{}",
        l.avvik[7].melding
    );
    // Accepted: a.csv lines 2 and 10 → AR-2 230000 vedtatt and FHT-FRIST-MND 2.
    assert_eq!(l.data.len(), 2);
    let r = l.data.get(2024, RateCode::Ar2).unwrap();
    assert_eq!((r.belop, r.status), (dec("230000"), RateStatus::Vedtatt));
    assert_eq!(
        l.data.get(2024, RateCode::FhtFristMnd).unwrap().belop,
        dec("2")
    );
    assert_eq!(
        (l.stats[0].read, l.stats[0].accepted, l.stats[0].rejected),
        (9, 2, 7)
    );
    assert_eq!((l.stats[1].read, l.stats[1].rejected), (1, 1));
}

#[test]
fn shipped_rates_are_exactly_the_published_ones() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rates");
    let l = load_rates(&[dir]).unwrap();
    assert!(l.avvik.is_empty(), "{:?}", l.avvik);
    // RATES-SOURCES.md: 10 rows for 2017, 4 for 2021, 4 for 2023, 1 for 2024 = 19.
    assert_eq!(l.data.len(), 19);
    let r = l.data.get(2017, RateCode::Ar1Ev).unwrap();
    assert_eq!((r.belop, r.status), (dec("235000"), RateStatus::Vedtatt));
    let r = l.data.get(2023, RateCode::Eminb).unwrap();
    assert_eq!((r.belop, r.status), (dec("1118000"), RateStatus::Forslag));
    assert_eq!(
        l.data.get(2024, RateCode::FhtFristMnd).unwrap().belop,
        dec("2")
    );
    assert_eq!(l.data.get(2017, RateCode::Ar5).unwrap().belop, dec("70500"));
    assert!(l.data.iter().all(|r| !r.kilde.is_empty()));
    // Nothing from the unofficial fact box (2023/24 år 1 single adult 241 100) is shipped.
    assert!(l.data.get(2023, RateCode::Ar1Ev).is_err());
    assert!(l.data.get(2024, RateCode::Ar1Ev).is_err());
}

#[test]
fn ledger_lines() {
    let dir = tempfile::tempdir().unwrap();
    let reg_path = dir.path().join("kommuner.csv");
    std::fs::write(&reg_path, kommuner_csv()).unwrap();
    let reg = load_kommuner(&reg_path).unwrap();
    let f = fnr("018185", 100);
    let p = dir.path().join("utbetalt.csv");
    std::fs::write(
        &p,
        format!(
            "termin,kommunenummer,fnr,kode,ar,belop\n\
             2024-Q1,0301,{f},AR-1 EV,2024,58750.00\n\
             2024-Q2,0301,{f},AR-1 EV,2024,\"-1 234,50\"\n\
             2024-Q5,0301,{f},AR-2,2024,1\n\
             2024-Q2,0301,{f},FHT1,2024,1\n\
             2024-Q2,9999,{f},AR-2,2024,1\n\
             2024-Q2,0301,{bad},AR-2,2024,abc\n\
             2024-Q3,0301,{f},AR-2,2024,88299.995\n\
             2024-Q3,0301,{f},AR-3,2024,100.500\n",
            bad = bad_control(&f)
        ),
    )
    .unwrap();
    let l = load_ledger(&[p], &opts_with(&reg.data)).unwrap();
    assert_eq!(
        codes(&l),
        vec![
            (4, "ugyldig_termin".into()),
            (5, "kode_ikke_termin".into()),
            (6, "ukjent_kommune".into()),
            (7, "ugyldig_fnr".into()),
            (7, "ugyldig_belop".into()),
            // Money is in øre (SPEC §1.1): a third decimal is refused unless it is 0.
            (8, "for_mange_desimaler".into()),
        ]
    );
    assert_eq!(l.data.len(), 3);
    assert_eq!(l.data[2].belop, dec("100.5"));
    assert_eq!(l.data[0].termin, Termin::from_str("2024-Q1").unwrap());
    assert_eq!(l.data[0].belop, dec("58750.00"));
    // A deduction (trekk) is a negative amount: "-1 234,50" → −1234.50.
    assert_eq!(l.data[1].belop, dec("-1234.50"));
    assert_eq!(l.data[1].key.kode, RateCode::Ar1Ev);
    assert!(l.data[1].origin.to_string().ends_with("utbetalt.csv:3"));
    assert_eq!(l.data[1].origin.line(), Some(3));
    assert_eq!(
        (l.stats[0].read, l.stats[0].accepted, l.stats[0].rejected),
        (8, 3, 5)
    );
}

#[test]
fn soknader_and_vedtak() {
    let dir = tempfile::tempdir().unwrap();
    let f = fnr("018185", 100);
    let s = dir.path().join("soknader.csv");
    std::fs::write(
        &s,
        format!(
            "soknad_id;fnr;kommunenummer;type;tilskuddsar;mottatt_dato;belop;grunnlag;ansvarsgruppe;utsatt_frist;\
             samtykke;legeerklaering;spesialisterklaering;sosialrapport;tiltaksbeskrivelse;budsjettskjema\n\
             A1;{f};0301;T2;2;15.05.2023;450 000,00;budsjett;25000;;ja;;x;ja;ja;ja\n\
             A2;{f};0301;t1;1;2023-04-01;150000;;;30.06.2023;x;x;;x;x;x\n\
             A1;{f};0301;T3;0;2023-04-01;-5;kanskje;;;;;;;;\n\
             A4;{f};0301;T2;3;2023-04-01;100;regnskap;200;;;;;;;\n"
        ),
    )
    .unwrap();
    let l = load_soknader(&s, &opts(2024)).unwrap();
    assert_eq!(
        codes(&l),
        vec![
            (4, "duplikat_soknad_id".into()),
            (4, "ugyldig_type".into()),
            (4, "ugyldig_tilskuddsar".into()),
            (4, "negativt_belop".into()),
            (4, "ugyldig_grunnlag".into()),
            (5, "ansvarsgruppe_over_belop".into()),
        ]
    );
    assert_eq!(l.data.len(), 2);
    let a1 = &l.data[0];
    assert_eq!(
        (a1.typ, a1.tilskuddsar, a1.grunnlag),
        (FhtType::T2, 2, Grunnlag::Budsjett)
    );
    assert_eq!(a1.belop, dec("450000.00"));
    assert_eq!(a1.ansvarsgruppe, Some(dec("25000")));
    assert!(
        a1.dokumenter.samtykke
            && !a1.dokumenter.legeerklaering
            && a1.dokumenter.spesialisterklaering
    );
    // T1 with an empty grunnlag is read as budsjett (tilskudd 1 is a fixed rate); t1 in lower case is T1.
    let a2 = &l.data[1];
    assert_eq!((a2.typ, a2.grunnlag), (FhtType::T1, Grunnlag::Budsjett));
    assert_eq!(
        a2.utsatt_frist,
        chrono::NaiveDate::from_ymd_opt(2023, 6, 30)
    );
    assert!(!a2.dokumenter.spesialisterklaering && a2.dokumenter.legeerklaering);

    let v = dir.path().join("vedtak.csv");
    std::fs::write(
        &v,
        format!(
            "soknad_id,fnr,type,tilskuddsar,innvilget_belop,grunnlag,regnskap_belop,regnskap_mottatt\n\
             V1,{f},T2,1,400000,budsjett,380000.50,2024-01-31\n\
             V2,{f},T2,2,400000,,,\n"
        ),
    )
    .unwrap();
    let l = load_vedtak(&v, &opts(2024)).unwrap();
    // T2 needs its grunnlag.
    assert_eq!(codes(&l), vec![(3, "mangler_verdi".into())]);
    assert_eq!(l.data[0].regnskap_belop, Some(dec("380000.50")));
    assert_eq!(
        l.data[0].regnskap_mottatt,
        chrono::NaiveDate::from_ymd_opt(2024, 1, 31)
    );
}

/// A row rejected for another reason does not take its `soknad_id`: the corrected row below it is used,
/// not rejected as a repeat of a line that was itself rejected (found in the session-8 review).
#[test]
fn a_rejected_row_leaves_its_id_to_the_corrected_one() {
    let dir = tempfile::tempdir().unwrap();
    let f = fnr("018185", 100);
    let v = dir.path().join("vedtak.csv");
    std::fs::write(
        &v,
        format!(
            "soknad_id,fnr,type,tilskuddsar,innvilget_belop,grunnlag,regnskap_belop,regnskap_mottatt\n\
             V1,{f},T2,2,abc,budsjett,,\n\
             V1,{f},T2,2,500000,budsjett,,\n\
             V1,{f},T2,3,500000,budsjett,,\n"
        ),
    )
    .unwrap();
    let l = load_vedtak(&v, &opts(2024)).unwrap();
    assert_eq!(
        codes(&l),
        vec![
            (2, "ugyldig_belop".into()),
            (4, "duplikat_soknad_id".into())
        ]
    );
    assert_eq!(l.data.len(), 1);
    assert!(
        l.avvik[1].melding.contains("already used on line 3"),
        "{}",
        l.avvik[1].melding
    );
}
