//! `tilskudd frister` rules (FHT-2 application deadlines, FHT-7 accounts deadlines) on values built in
//! code. Expected dates are computed by hand in comments.

#![allow(clippy::cloned_ref_to_slice_refs)] // `&[p.clone()]` reads better in tests

#[path = "ekstra_felles/mod.rs"]
mod ekstra_felles;
use ekstra_felles::*;

use tilskudd::domain::ids::Knr;
use tilskudd::domain::person::{Extract, Flytting, Malgruppe, Person};
use tilskudd::domain::rules::fht::{frister, Frist, FristType};
use tilskudd::domain::soknad::{FhtType, Grunnlag, TidligereVedtak};

fn extract(personer: Vec<Person>) -> Extract {
    Extract {
        personer_file: "test".into(),
        personer,
        flyttinger_file: None,
        flyttinger: vec![],
    }
}

fn liste(ex: &Extract, v: &[TidligereVedtak], from: &str, to: &str) -> Vec<Frist> {
    frister(ex, v, &satser(), dato(from), dato(to), None).unwrap()
}

#[test]
fn fht2_first_application_deadline_settled_09_04_2018() {
    let p = person("15.06.1990", "09.04.2018");
    let ex = extract(vec![p.clone()]);
    // år 1 (and år 2 as first application): S + 12 + 1 = 09.05.2019.
    let l = liste(&ex, &[], "01.05.2019", "31.05.2019");
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].frist, dato("09.05.2019"));
    assert_eq!(l[0].tilskuddsar, 1);
    assert_eq!(l[0].typ, FristType::SoknadT1EllerT2);
    // Window ending the day before: nothing.
    assert!(liste(&ex, &[], "01.05.2019", "08.05.2019").is_empty());
    // Without any grant, no deadline after 09.05.2019 can be met for år 3+ (FHT-3), and år 1–2 are past.
    assert!(liste(&ex, &[], "10.05.2019", "31.12.2023").is_empty());
}

#[test]
fn fht7_accounts_deadline_and_next_application() {
    let p = person("15.06.1990", "09.04.2018");
    let ex = extract(vec![p.clone()]);
    let t2 = vedtak(&p, FhtType::T2, 1, "300000", Grunnlag::Budsjett);
    // Accounts for år 1 (ends 08.04.2019) due 08.04.2019 + 1 mnd = 08.05.2019.
    let l = liste(&ex, &[t2.clone()], "01.05.2019", "31.05.2019");
    assert_eq!(l.len(), 1);
    assert_eq!(
        (l[0].typ, l[0].frist, l[0].forfalt),
        (FristType::Regnskap, dato("08.05.2019"), false)
    );
    // A year later: accounts overdue (listed first), next application år 2 after a grant: S + 25 = 09.05.2020.
    let l = liste(&ex, &[t2.clone()], "01.05.2020", "31.05.2020");
    assert_eq!(l.len(), 2);
    assert_eq!(
        (l[0].typ, l[0].frist, l[0].forfalt),
        (FristType::Regnskap, dato("08.05.2019"), true)
    );
    assert_eq!(
        (l[1].typ, l[1].tilskuddsar, l[1].frist),
        (FristType::SoknadT1EllerT2, 2, dato("09.05.2020"))
    );
    // Accounts received: only the application deadline is left.
    let mut t2r = t2;
    t2r.regnskap_mottatt = Some(dato("02.05.2019"));
    let l = liste(&ex, &[t2r], "01.05.2020", "31.05.2020");
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].frist, dato("09.05.2020"));
}

#[test]
fn fht2_only_eligible_persons_soonest_first() {
    let a = person_nr("01.01.1980", "20.04.2018", 100); // due 20.05.2019
    let b = person_nr("01.01.1981", "09.04.2018", 100); // due 09.05.2019
    let mut c = person_nr("01.01.1982", "09.04.2018", 100);
    c.malgruppe = Malgruppe::Utenfor; // IT-1: not eligible
    let mut d = person_nr("01.01.1983", "09.04.2018", 100);
    d.bosatt_etter_avtale = false; // not settled by agreement
    let ex = extract(vec![a.clone(), b.clone(), c, d]);
    let l = liste(&ex, &[], "01.05.2019", "31.05.2019");
    let got: Vec<_> = l.iter().map(|f| (f.fnr, f.frist)).collect();
    assert_eq!(
        got,
        vec![(b.fnr, dato("09.05.2019")), (a.fnr, dato("20.05.2019"))]
    );
}

#[test]
fn fht2_2024_rule_in_frister() {
    // Settled 15.03.2024: k(2024) = 2 → 15.03.2024 + 14 = 15.05.2025.
    let p = person("01.01.1985", "15.03.2024");
    let l = liste(&extract(vec![p]), &[], "01.05.2025", "31.05.2025");
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].frist, dato("15.05.2025"));
}

#[test]
fn fht5_unaccompanied_minor_deadlines_beyond_ar5() {
    let mut p = person("10.12.2002", "09.04.2015");
    p.enslig_mindrearig = true;
    let ex = extract(vec![p.clone()]);
    let mut v: Vec<TidligereVedtak> = (1..=5)
        .map(|n| vedtak(&p, FhtType::T2, n, "300000", Grunnlag::Regnskap))
        .collect();
    // år 6 = 09.04.2020–08.04.2021: deadline S + 72 + 1 = 09.05.2021.
    let l = liste(&ex, &v, "01.04.2021", "31.05.2021");
    assert_eq!(l.len(), 1);
    assert_eq!(
        (l[0].tilskuddsar, l[0].frist, l[0].typ),
        (6, dato("09.05.2021"), FristType::SoknadT2)
    );
    // After år 6 is decided: år 7 due S + 84 + 1 = 09.05.2022.
    v.push(vedtak(&p, FhtType::T2, 6, "300000", Grunnlag::Regnskap));
    let l = liste(&ex, &v, "01.04.2022", "31.05.2022");
    assert_eq!((l[0].tilskuddsar, l[0].frist), (7, dato("09.05.2022")));
    // år 8 ends 08.04.2023 > 31.12.2022: no deadline.
    v.push(vedtak(&p, FhtType::T2, 7, "300000", Grunnlag::Regnskap));
    assert!(liste(&ex, &v, "01.04.2023", "31.05.2023").is_empty());
}

#[test]
fn kommune_filter_uses_residence_on_from() {
    let p = person("15.06.1990", "09.04.2018");
    let mut ex = extract(vec![p.clone()]);
    let til = Knr::parse("4601").unwrap();
    ex.flyttinger.push(Flytting {
        fnr: p.fnr,
        flyttedato: dato("01.01.2019"),
        til_kommune: til,
        fra_kommune: None,
        line: 2,
    });
    let rates = satser();
    let l = frister(
        &ex,
        &[],
        &rates,
        dato("01.05.2019"),
        dato("31.05.2019"),
        Some(til),
    )
    .unwrap();
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].kommunenummer, til);
    let l = frister(
        &ex,
        &[],
        &rates,
        dato("01.05.2019"),
        dato("31.05.2019"),
        Some(knr()),
    )
    .unwrap();
    assert!(l.is_empty());
}
