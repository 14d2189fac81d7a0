//! The extra-grant rules (SPEC §5, FHT-1…FHT-9) on values built in code, reproducing the worked examples
//! of the guide (seed 004) and every rejection ground. Expected values are computed by hand in comments.

#![allow(clippy::cloned_ref_to_slice_refs)] // `&[p.clone()]` reads better in tests

mod ekstra_felles;
use ekstra_felles::*;

use tilskudd::domain::person::{Malgruppe, Person};
use tilskudd::domain::rates::RateCode;
use tilskudd::domain::rules::fht::{
    self, explain_soknad, periode, soknadsfrist, vurder, Avvisningsgrunn as A, Dokument, FhtError,
    FhtGrunnlag, Merknad, Periode, Status, Vurdering,
};
use tilskudd::domain::soknad::{FhtType, Grunnlag, Soknad, TidligereVedtak};

fn sjekk(s: &Soknad, personer: &[Person], vedtak: &[TidligereVedtak]) -> Vurdering {
    let rates = satser();
    let g = FhtGrunnlag::new(personer, vedtak, &rates);
    vurder(s, &g).unwrap()
}

fn per(fra: &str, til: &str) -> Option<Periode> {
    Some(Periode {
        fra: dato(fra),
        til: dato(til),
    })
}

/// A person settled 09.04.2018 (the guide's example, seed 004 §5.2).
fn bosatt_2018() -> Person {
    person("15.06.1990", "09.04.2018")
}

// ---------- FHT-1, FHT-2: the guide's worked example ----------

#[test]
fn fht1_fht2_guide_example_settled_09_04_2018() {
    let s = dato("09.04.2018");
    // FHT-1: år 1 = 09.04.2018 … 09.04.2018 + 12 mnd − 1 dag = 08.04.2019.
    assert_eq!(periode(s, 1), per("09.04.2018", "08.04.2019"));
    // år 2 = +12 … +24 mnd − 1 dag.
    assert_eq!(periode(s, 2), per("09.04.2019", "08.04.2020"));
    assert_eq!(periode(s, 3), per("09.04.2020", "08.04.2021"));
    assert_eq!(periode(s, 5), per("09.04.2022", "08.04.2023"));
    // FHT-2, k = 1: år 1 = S + 12 + 1 = 09.05.2019.
    assert_eq!(soknadsfrist(s, 1, true, 1), Some(dato("09.05.2019")));
    // år 2 as first application: S + 13 = 09.05.2019; after a grant for år 1: S + 24 + 1 = 09.05.2020.
    assert_eq!(soknadsfrist(s, 2, true, 1), Some(dato("09.05.2019")));
    assert_eq!(soknadsfrist(s, 2, false, 1), Some(dato("09.05.2020")));
    // år 3–5 (seed table): S + 37, 49, 61 months.
    assert_eq!(soknadsfrist(s, 3, false, 1), Some(dato("09.05.2021")));
    assert_eq!(soknadsfrist(s, 4, false, 1), Some(dato("09.05.2022")));
    assert_eq!(soknadsfrist(s, 5, false, 1), Some(dato("09.05.2023")));
    assert_eq!(periode(s, 0), None);
}

#[test]
fn fht2_ar1_application_through_vurder() {
    let p = bosatt_2018();
    // Rate year = 2018 (år 1 starts 09.04.2018): k = 1 → frist 09.05.2019.
    let v = sjekk(
        &soknad("S1", &p, FhtType::T1, 1, "09.05.2019", "150000"),
        &[p.clone()],
        &[],
    );
    assert_eq!(v.periode, per("09.04.2018", "08.04.2019"));
    assert_eq!(v.frist, Some(dato("09.05.2019")));
    assert_eq!(v.status, Status::KlarForVurdering, "{:?}", v.arsaker());
    // One day later is late.
    let v = sjekk(
        &soknad("S1", &p, FhtType::T1, 1, "10.05.2019", "150000"),
        &[p.clone()],
        &[],
    );
    assert_eq!(v.avvisningsgrunner, vec![A::ForSent]);
    assert_eq!(v.status, Status::Avvist);
}

#[test]
fn fht2_ar2_deadline_depends_on_grant_for_ar1() {
    let p = bosatt_2018();
    let s2 = soknad("S2", &p, FhtType::T2, 2, "10.05.2019", "300000");
    // No earlier grant: år 2 is the first application → S + 12 + 1 = 09.05.2019; 10.05.2019 is late.
    let v = sjekk(&s2, &[p.clone()], &[]);
    assert_eq!(v.periode, per("09.04.2019", "08.04.2020"));
    assert_eq!(v.frist, Some(dato("09.05.2019")));
    assert_eq!(v.avvisningsgrunner, vec![A::ForSent]);
    // Tilskudd 1 granted for år 1 → S + 24 + 1 = 09.05.2020; 10.05.2019 is in time.
    let t1 = vedtak(&p, FhtType::T1, 1, "180000", Grunnlag::Budsjett);
    let v = sjekk(&s2, &[p.clone()], &[t1]);
    assert_eq!(v.frist, Some(dato("09.05.2020")));
    assert!(v.avvisningsgrunner.is_empty(), "{:?}", v.arsaker());
    assert_eq!(v.status, Status::KlarForVurdering);
    // FHT-4: tilskudd 2 proposes min(300 000, 1 500 000) = 300 000.
    assert_eq!(v.foreslatt_belop, dec("300000"));
    assert_eq!(v.maks_belop, Some(dec("1500000")));
}

#[test]
fn fht2_deferral_replaces_deadline() {
    let p = bosatt_2018();
    let mut s = soknad("S1", &p, FhtType::T1, 1, "01.07.2019", "150000");
    assert_eq!(
        sjekk(&s, &[p.clone()], &[]).avvisningsgrunner,
        vec![A::ForSent]
    );
    s.utsatt_frist = Some(dato("01.07.2019"));
    let v = sjekk(&s, &[p.clone()], &[]);
    assert_eq!(v.frist, Some(dato("01.07.2019")));
    assert_eq!(v.status, Status::KlarForVurdering);
}

// ---------- FHT-2: the 2024 rule (FHT-FRIST-MND = 2) ----------

#[test]
fn fht2_2024_rule_moves_deadline_by_a_month() {
    // Settled 15.03.2023: år 1 starts in 2023, k = 1 → 15.03.2023 + 13 = 15.04.2024.
    let p23 = person("01.01.1985", "15.03.2023");
    let v = sjekk(
        &soknad("A", &p23, FhtType::T1, 1, "15.04.2024", "150000"),
        &[p23.clone()],
        &[],
    );
    assert_eq!(v.frist, Some(dato("15.04.2024")));
    // Settled 15.03.2024: år 1 starts in 2024, k = 2 → 15.03.2024 + 14 = 15.05.2025.
    let p24 = person("01.01.1985", "15.03.2024");
    let v = sjekk(
        &soknad("B", &p24, FhtType::T1, 1, "15.05.2025", "150000"),
        &[p24.clone()],
        &[],
    );
    assert_eq!(v.frist, Some(dato("15.05.2025")));
    assert_eq!(v.status, Status::KlarForVurdering);
    // Received 15.05.2025 would have been late under k = 1 (deadline 15.04.2025).
    // år 2 of the 2023 person starts 15.03.2024 → k of 2024 = 2: after a grant for år 1,
    // S + 24 + 2 = 15.05.2025.
    let t1 = vedtak(&p23, FhtType::T1, 1, "180000", Grunnlag::Budsjett);
    let v = sjekk(
        &soknad("C", &p23, FhtType::T2, 2, "15.05.2025", "300000"),
        &[p23.clone()],
        &[t1],
    );
    assert_eq!(v.frist, Some(dato("15.05.2025")));
    assert!(v.avvisningsgrunner.is_empty(), "{:?}", v.arsaker());
}

// ---------- FHT-1: month clamping ----------

#[test]
fn fht1_settled_31_january_clamps_from_the_anchor() {
    let s = dato("31.01.2020");
    // år 1 = 31.01.2020 … 31.01.2021 − 1 = 30.01.2021.
    assert_eq!(periode(s, 1), per("31.01.2020", "30.01.2021"));
    assert_eq!(periode(s, 2), per("31.01.2021", "30.01.2022"));
    // Deadline år 1 (k = 1): 31.01.2020 + 13 mnd = 31.02.2021 → clamped to 28.02.2021.
    assert_eq!(soknadsfrist(s, 1, true, 1), Some(dato("28.02.2021")));
    // Settled 31.01.2019: + 13 mnd = 31.02.2020 → 29.02.2020 (leap year).
    assert_eq!(
        soknadsfrist(dato("31.01.2019"), 1, true, 1),
        Some(dato("29.02.2020"))
    );
    // Through vurder: received 28.02.2021 is in time, 01.03.2021 late.
    let p = person("01.01.1980", "31.01.2020");
    let v = sjekk(
        &soknad("A", &p, FhtType::T1, 1, "28.02.2021", "150000"),
        &[p.clone()],
        &[],
    );
    assert_eq!(v.frist, Some(dato("28.02.2021")));
    assert_eq!(v.status, Status::KlarForVurdering);
    let v = sjekk(
        &soknad("A", &p, FhtType::T1, 1, "01.03.2021", "150000"),
        &[p.clone()],
        &[],
    );
    assert_eq!(v.avvisningsgrunner, vec![A::ForSent]);
}

#[test]
fn fht1_settled_29_february_never_drifts() {
    let s = dato("29.02.2020");
    // S + 12 = 28.02.2021 (clamped): år 1 = 29.02.2020–27.02.2021.
    assert_eq!(periode(s, 1), per("29.02.2020", "27.02.2021"));
    // S + 12 … S + 24 − 1: 28.02.2021–27.02.2022.
    assert_eq!(periode(s, 2), per("28.02.2021", "27.02.2022"));
    // år 5 starts S + 48 = 29.02.2024 (leap again): stepping year by year would have drifted to 28.02.
    assert_eq!(periode(s, 4), per("28.02.2023", "28.02.2024"));
    assert_eq!(periode(s, 5), per("29.02.2024", "27.02.2025"));
    // Deadline år 1: S + 13 = 29.03.2021; år 5 (after earlier grants; starts 2024, k = 2 in the
    // example table): S + 60 + 2 = 29.04.2025.
    assert_eq!(soknadsfrist(s, 1, true, 1), Some(dato("29.03.2021")));
    assert_eq!(soknadsfrist(s, 5, false, 2), Some(dato("29.04.2025")));
}

// ---------- FHT-5: unaccompanied minor beyond år 5 ----------

#[test]
fn fht5_unaccompanied_minor_gets_ar6_and_ar7_not_ar8() {
    // Seed 004 §3.2: born 10.12.2002, settled 09.04.2015; turns 20 in 2022 → limit 31.12.2022.
    let mut p = person("10.12.2002", "09.04.2015");
    p.enslig_mindrearig = true;
    let mut v1 = vedtak(&p, FhtType::T2, 1, "400000", Grunnlag::Regnskap);
    v1.regnskap_belop = Some(dec("400000"));
    let vedtak = vec![v1];
    // år 6 = 09.04.2020–08.04.2021 (ends ≤ 31.12.2022), deadline S + 72 + 1 = 09.05.2021.
    let v6 = sjekk(
        &soknad("A6", &p, FhtType::T2, 6, "01.05.2021", "300000"),
        &[p.clone()],
        &vedtak,
    );
    assert_eq!(v6.periode, per("09.04.2020", "08.04.2021"));
    assert_eq!(v6.frist, Some(dato("09.05.2021")));
    assert!(v6.avvisningsgrunner.is_empty(), "{:?}", v6.arsaker());
    // år 7 = 09.04.2021–08.04.2022 (ends ≤ 31.12.2022).
    let v7 = sjekk(
        &soknad("A7", &p, FhtType::T2, 7, "01.05.2022", "300000"),
        &[p.clone()],
        &vedtak,
    );
    assert_eq!(v7.periode, per("09.04.2021", "08.04.2022"));
    assert!(v7.avvisningsgrunner.is_empty(), "{:?}", v7.arsaker());
    // år 8 = 09.04.2022–08.04.2023 ends after 31.12.2022 → utenfor_periode.
    let v8 = sjekk(
        &soknad("A8", &p, FhtType::T2, 8, "01.05.2023", "300000"),
        &[p.clone()],
        &vedtak,
    );
    assert_eq!(v8.periode, per("09.04.2022", "08.04.2023"));
    assert_eq!(v8.avvisningsgrunner, vec![A::UtenforPeriode]);
    assert_eq!(v8.foreslatt_belop, dec("0"));
    // The same person without enslig_mindrearig gets nothing beyond år 5.
    p.enslig_mindrearig = false;
    let v6 = sjekk(
        &soknad("A6", &p, FhtType::T2, 6, "01.05.2021", "300000"),
        &[p.clone()],
        &vedtak,
    );
    assert_eq!(v6.avvisningsgrunner, vec![A::UtenforPeriode]);
}

// ---------- FHT-3: each rejection ground ----------

#[test]
fn fht3_ikke_avtale_from_dsf() {
    let mut p = bosatt_2018();
    p.bosatt_etter_avtale = false;
    let v = sjekk(
        &soknad("A", &p, FhtType::T1, 1, "01.05.2019", "150000"),
        &[p.clone()],
        &[],
    );
    assert_eq!(v.avvisningsgrunner, vec![A::IkkeAvtale]);
    assert_eq!(v.status, Status::Avvist);
    assert!(v.status.klagbar());
    assert_eq!(v.foreslatt_belop, dec("0"));
}

#[test]
fn fht3_utenfor_integreringstilskudd_target_group_and_missing_person() {
    let mut p = bosatt_2018();
    p.malgruppe = Malgruppe::Utenfor;
    let v = sjekk(
        &soknad("A", &p, FhtType::T1, 1, "01.05.2019", "150000"),
        &[p.clone()],
        &[],
    );
    assert_eq!(v.avvisningsgrunner, vec![A::UtenforIntegreringstilskudd]);
    // Not in the extract at all: no period, no deadline, still rejected.
    let v = sjekk(
        &soknad("A", &p, FhtType::T1, 1, "01.05.2019", "150000"),
        &[],
        &[],
    );
    assert_eq!(v.avvisningsgrunner, vec![A::UtenforIntegreringstilskudd]);
    assert_eq!(v.periode, None);
    assert_eq!(v.frist, None);
    assert_eq!(v.maks_belop, None);
}

#[test]
fn fht3_utenfor_integreringstilskudd_newborn_it4() {
    let mor = person_nr("01.01.1990", "01.03.2020", 100);
    // Born 01.09.2020 = mother's settlement + 6 months exactly → inside; the child's S is its birth date.
    let mut barn = person("01.09.2020", "01.03.2020");
    barn.mor_fnr = Some(mor.fnr);
    let v = sjekk(
        &soknad("B", &barn, FhtType::T1, 1, "01.10.2021", "150000"),
        &[mor.clone(), barn.clone()],
        &[],
    );
    assert!(v.avvisningsgrunner.is_empty(), "{:?}", v.arsaker());
    // S = 01.09.2020: år 1 = 01.09.2020–31.08.2021, deadline + 13 = 01.10.2021.
    assert_eq!(v.periode, per("01.09.2020", "31.08.2021"));
    assert_eq!(v.frist, Some(dato("01.10.2021")));
    // Born 02.09.2020: one day past + 6 months → outside.
    let mut barn2 = person_nr("02.09.2020", "01.03.2020", 600);
    barn2.mor_fnr = Some(mor.fnr);
    let v = sjekk(
        &soknad("B", &barn2, FhtType::T1, 1, "01.10.2021", "150000"),
        &[mor.clone(), barn2.clone()],
        &[],
    );
    assert_eq!(v.avvisningsgrunner, vec![A::UtenforIntegreringstilskudd]);
}

#[test]
fn fht3_utenfor_integreringstilskudd_family_five_year_rule_it5() {
    let referent = person_nr("01.01.1980", "10.01.2015", 100);
    let mut fam = person_nr("01.01.1982", "01.06.2020", 200);
    fam.malgruppe = Malgruppe::FamilieFlyktning;
    fam.referanse_fnr = Some(referent.fnr);
    // Referent settled 10.01.2015 + 5 years = 10.01.2020: applied 10.01.2020 → inside.
    fam.familie_soknadsdato = Some(dato("10.01.2020"));
    let s = soknad("F", &fam, FhtType::T1, 1, "01.07.2021", "150000");
    let v = sjekk(&s, &[referent.clone(), fam.clone()], &[]);
    assert!(v.avvisningsgrunner.is_empty(), "{:?}", v.arsaker());
    // 11.01.2020 is more than 5 years after → excluded.
    fam.familie_soknadsdato = Some(dato("11.01.2020"));
    let v = sjekk(&s, &[referent.clone(), fam.clone()], &[]);
    assert_eq!(v.avvisningsgrunner, vec![A::UtenforIntegreringstilskudd]);
    // Referent missing from the extract: a warning, not an exclusion (IT-5).
    let v = sjekk(&s, &[fam.clone()], &[]);
    assert!(v.avvisningsgrunner.is_empty());
}

#[test]
fn fht3_t1_allerede_innvilget_second_tilskudd_1() {
    let p = bosatt_2018();
    let t1 = vedtak(&p, FhtType::T1, 1, "180000", Grunnlag::Budsjett);
    // A second tilskudd 1 for år 2 (deadline after a grant: S + 25 = 09.05.2020).
    let v = sjekk(
        &soknad("A", &p, FhtType::T1, 2, "01.05.2020", "150000"),
        &[p.clone()],
        &[t1],
    );
    assert_eq!(v.avvisningsgrunner, vec![A::T1AlleredeInnvilget]);
}

#[test]
fn fht3_t1_feil_ar() {
    let p = bosatt_2018();
    let t2 = vedtak(&p, FhtType::T2, 1, "300000", Grunnlag::Regnskap);
    // Tilskudd 1 for år 3: deadline S + 37 = 09.05.2021; only the year is wrong.
    let v = sjekk(
        &soknad("A", &p, FhtType::T1, 3, "01.05.2021", "150000"),
        &[p.clone()],
        &[t2],
    );
    assert_eq!(v.avvisningsgrunner, vec![A::T1FeilAr]);
}

#[test]
fn fht3_under_innslagssum_thresholds_are_minimums() {
    let p = bosatt_2018();
    let pp = [p.clone()];
    // T1: 100 000 = FHT1-TERSKEL → accepted ("minimum 100 000"); 99 999.99 → under.
    let v = sjekk(
        &soknad("A", &p, FhtType::T1, 1, "01.05.2019", "100000"),
        &pp,
        &[],
    );
    assert!(v.avvisningsgrunner.is_empty(), "{:?}", v.arsaker());
    assert_eq!(v.foreslatt_belop, dec("180000")); // FHT-4: tilskudd 1 = the FHT1 rate
    let v = sjekk(
        &soknad("A", &p, FhtType::T1, 1, "01.05.2019", "99999.99"),
        &pp,
        &[],
    );
    assert_eq!(v.avvisningsgrunner, vec![A::UnderInnslagssum]);
    // T2: 200 000 = FHT2-TERSKEL → accepted; 199 999.99 → under.
    let v = sjekk(
        &soknad("B", &p, FhtType::T2, 1, "01.05.2019", "200000"),
        &pp,
        &[],
    );
    assert!(v.avvisningsgrunner.is_empty(), "{:?}", v.arsaker());
    assert_eq!(v.foreslatt_belop, dec("200000"));
    let v = sjekk(
        &soknad("B", &p, FhtType::T2, 1, "01.05.2019", "199999.99"),
        &pp,
        &[],
    );
    assert_eq!(v.avvisningsgrunner, vec![A::UnderInnslagssum]);
}

#[test]
fn fht3_utenfor_periode_t2_beyond_ar5() {
    let p = bosatt_2018();
    let t1 = vedtak(&p, FhtType::T1, 1, "180000", Grunnlag::Budsjett);
    // år 6 = 09.04.2023–08.04.2024, deadline S + 73 = 09.05.2024; not an unaccompanied minor.
    let v = sjekk(
        &soknad("A", &p, FhtType::T2, 6, "01.05.2024", "300000"),
        &[p.clone()],
        &[t1],
    );
    assert_eq!(v.avvisningsgrunner, vec![A::UtenforPeriode]);
}

#[test]
fn fht3_mangler_innvilget_ar1_2_for_t2_ar3() {
    let p = bosatt_2018();
    // år 3 deadline S + 37 = 09.05.2021; no grant for år 1 or 2.
    let s = soknad("A", &p, FhtType::T2, 3, "01.05.2021", "300000");
    let v = sjekk(&s, &[p.clone()], &[]);
    assert_eq!(v.avvisningsgrunner, vec![A::ManglerInnvilgetAr12]);
    // A grant for år 2 (tilskudd 1) satisfies it.
    let t1 = vedtak(&p, FhtType::T1, 2, "180000", Grunnlag::Budsjett);
    let v = sjekk(&s, &[p.clone()], &[t1]);
    assert!(v.avvisningsgrunner.is_empty(), "{:?}", v.arsaker());
    // A rejected (0) decision for år 1 does not count as a grant.
    let avslag = vedtak(&p, FhtType::T2, 1, "0", Grunnlag::Budsjett);
    let v = sjekk(&s, &[p.clone()], &[avslag]);
    assert_eq!(v.avvisningsgrunner, vec![A::ManglerInnvilgetAr12]);
}

#[test]
fn fht3_all_grounds_are_listed_not_the_first() {
    let mut p = bosatt_2018();
    p.bosatt_etter_avtale = false;
    p.malgruppe = Malgruppe::Utenfor;
    let t1 = vedtak(&p, FhtType::T1, 1, "180000", Grunnlag::Budsjett);
    // T1 for år 3, received after S + 37 = 09.05.2021, below the threshold, T1 already granted.
    let v = sjekk(
        &soknad("A", &p, FhtType::T1, 3, "10.05.2021", "50000"),
        &[p.clone()],
        &[t1],
    );
    assert_eq!(
        v.avvisningsgrunner,
        vec![
            A::ForSent,
            A::IkkeAvtale,
            A::UtenforIntegreringstilskudd,
            A::UnderInnslagssum,
            A::T1AlleredeInnvilget,
            A::T1FeilAr
        ]
    );
    assert_eq!(
        v.arsaker().join("|"),
        "for_sent|ikke_avtale|utenfor_integreringstilskudd|under_innslagssum|t1_allerede_innvilget|t1_feil_ar"
    );
    // T2 år 7 without grants, non-EM: utenfor_periode and mangler_innvilget_ar1_2 together.
    let q = bosatt_2018();
    let v = sjekk(
        &soknad("B", &q, FhtType::T2, 7, "01.05.2025", "300000"),
        &[q.clone()],
        &[],
    );
    assert_eq!(
        v.avvisningsgrunner,
        vec![A::UtenforPeriode, A::ManglerInnvilgetAr12]
    );
}

// ---------- FHT-4: amounts ----------

#[test]
fn fht4_responsibility_group_capped_at_20000_before_threshold() {
    let p = bosatt_2018();
    let pp = [p.clone()];
    // 215 000 incl. 35 000 ansvarsgruppe: excess 35 000 − 20 000 = 15 000 → 200 000 = threshold → accepted.
    let mut s = soknad("A", &p, FhtType::T2, 1, "01.05.2019", "215000");
    s.ansvarsgruppe = Some(dec("35000"));
    let v = sjekk(&s, &pp, &[]);
    assert!(v.avvisningsgrunner.is_empty(), "{:?}", v.arsaker());
    assert_eq!(v.merknader, vec![Merknad::AnsvarsgruppeBegrenset]);
    assert_eq!(v.foreslatt_belop, dec("200000"));
    // 35 000.01 → 199 999.99 < 200 000 → under_innslagssum.
    s.ansvarsgruppe = Some(dec("35000.01"));
    let v = sjekk(&s, &pp, &[]);
    assert_eq!(v.avvisningsgrunner, vec![A::UnderInnslagssum]);
    // Exactly 20 000 is not capped.
    s.ansvarsgruppe = Some(dec("20000"));
    let v = sjekk(&s, &pp, &[]);
    assert!(v.merknader.is_empty());
    assert_eq!(v.foreslatt_belop, dec("215000"));
}

#[test]
fn fht4_over_maks() {
    let p = bosatt_2018();
    // 1 600 000 > FHT2-MAKS 1 500 000 → proposes 1 500 000, note over_maks.
    let v = sjekk(
        &soknad("A", &p, FhtType::T2, 1, "01.05.2019", "1600000"),
        &[p.clone()],
        &[],
    );
    assert_eq!(v.foreslatt_belop, dec("1500000"));
    assert_eq!(v.merknader, vec![Merknad::OverMaks]);
    assert_eq!(v.status, Status::KlarForVurdering);
}

#[test]
fn fht4_missing_rate_stops_naming_year_and_code() {
    let p = bosatt_2018();
    let rates = satser_uten(&[(2018, RateCode::Fht2Maks)]);
    let pp = [p.clone()];
    let g = FhtGrunnlag::new(&pp, &[], &rates);
    let e = vurder(&soknad("A", &p, FhtType::T2, 1, "01.05.2019", "300000"), &g).unwrap_err();
    assert!(
        matches!(e, FhtError::MissingRate(ref m) if m.year == 2018 && m.kode == RateCode::Fht2Maks)
    );
    assert!(e.to_string().contains("2018") && e.to_string().contains("FHT2-MAKS"));
    // The deadline needs FHT-FRIST-MND of the period's start year (2019 for år 2).
    let rates = satser_uten(&[(2019, RateCode::FhtFristMnd)]);
    let g = FhtGrunnlag::new(&pp, &[], &rates);
    let e = vurder(&soknad("A", &p, FhtType::T2, 2, "01.05.2019", "300000"), &g).unwrap_err();
    assert!(e.to_string().contains("2019") && e.to_string().contains("FHT-FRIST-MND"));
}

// ---------- FHT-6: documents ----------

#[test]
fn fht6_missing_documents_named() {
    let p = bosatt_2018();
    let pp = [p.clone()];
    // T1: a specialist statement replaces the medical statement.
    let mut s = soknad("A", &p, FhtType::T1, 1, "01.05.2019", "150000");
    s.dokumenter.legeerklaering = false;
    assert_eq!(sjekk(&s, &pp, &[]).status, Status::KlarForVurdering);
    s.dokumenter.spesialisterklaering = false;
    s.dokumenter.samtykke = false;
    let v = sjekk(&s, &pp, &[]);
    assert_eq!(v.status, Status::Ufullstendig);
    assert_eq!(
        v.mangler,
        vec![Dokument::Samtykke, Dokument::Legeerklaering]
    );
    assert_eq!(
        v.foreslatt_belop,
        dec("180000"),
        "not rejected: the amount is still proposed"
    );
    // T2: a medical statement is not enough.
    let mut s = soknad("B", &p, FhtType::T2, 1, "01.05.2019", "300000");
    s.dokumenter.spesialisterklaering = false;
    s.dokumenter.sosialrapport = false;
    s.dokumenter.tiltaksbeskrivelse = false;
    s.dokumenter.budsjettskjema = false;
    let v = sjekk(&s, &pp, &[]);
    assert_eq!(
        v.arsaker().join("|"),
        "mangler_spesialisterklaering|mangler_sosialrapport|mangler_tiltaksbeskrivelse|mangler_budsjettskjema"
    );
    assert_eq!(v.status, Status::Ufullstendig);
    assert!(!v.status.klagbar());
}

// ---------- FHT-7: accounts ----------

#[test]
fn fht7_missing_accounts_block_the_next_year() {
    let p = bosatt_2018();
    let t2 = vedtak(&p, FhtType::T2, 1, "300000", Grunnlag::Budsjett);
    // år 2 after a grant: deadline S + 25 = 09.05.2020.
    let s = soknad("A", &p, FhtType::T2, 2, "01.05.2020", "300000");
    let v = sjekk(&s, &[p.clone()], &[t2.clone()]);
    assert_eq!(v.status, Status::VenterRegnskap);
    assert!(v.venter_regnskap);
    assert_eq!(v.arsaker(), vec!["venter_regnskap"]);
    // Accounts received → processed.
    let mut t2r = t2.clone();
    t2r.regnskap_mottatt = Some(dato("01.05.2019"));
    t2r.regnskap_belop = Some(dec("300000"));
    let v = sjekk(&s, &[p.clone()], &[t2r]);
    assert_eq!(v.status, Status::KlarForVurdering);
    // A tilskudd 2 granted on accounts (regnskap) needs no accounts report.
    let t2regnskap = vedtak(&p, FhtType::T2, 1, "300000", Grunnlag::Regnskap);
    assert_eq!(
        sjekk(&s, &[p.clone()], &[t2regnskap]).status,
        Status::KlarForVurdering
    );
    // avvist wins over venter_regnskap (FHT-9): late application.
    let late = soknad("A", &p, FhtType::T2, 2, "10.05.2020", "300000");
    assert_eq!(sjekk(&late, &[p.clone()], &[t2]).status, Status::Avvist);
}

#[test]
fn fht7_underspend_and_overspend() {
    let p = bosatt_2018();
    let s = soknad("A", &p, FhtType::T2, 2, "01.05.2020", "300000");
    let mut t2 = vedtak(&p, FhtType::T2, 1, "300000", Grunnlag::Budsjett);
    t2.regnskap_mottatt = Some(dato("01.05.2019"));
    // Underspend: 300 000 − 250 000 = 50 000 to pay back / deduct.
    t2.regnskap_belop = Some(dec("250000"));
    let v = sjekk(&s, &[p.clone()], &[t2.clone()]);
    assert_eq!(v.tilbakebetaling, dec("50000"));
    assert_eq!(v.refusjon, dec("0"));
    assert_eq!(v.status, Status::KlarForVurdering);
    // Overspend: 350 000 − 300 000 = 50 000 refund, needs an explanation.
    t2.regnskap_belop = Some(dec("350000"));
    let v = sjekk(&s, &[p.clone()], &[t2.clone()]);
    assert_eq!(v.refusjon, dec("50000"));
    assert_eq!(v.tilbakebetaling, dec("0"));
    assert_eq!(v.merknader, vec![Merknad::KreverForklaring]);
    // Capped at the maximum of the earlier year (2018: 1 500 000): granted 1 400 000, spent 1 700 000 →
    // min(1 700 000, 1 500 000) − 1 400 000 = 100 000.
    t2.innvilget_belop = dec("1400000");
    t2.regnskap_belop = Some(dec("1700000"));
    let v = sjekk(&s, &[p.clone()], &[t2]);
    assert_eq!(v.refusjon, dec("100000"));
}

// ---------- FHT-8: conversion ----------

#[test]
fn fht8_conversion_of_tilskudd_1() {
    let p = bosatt_2018();
    let t1 = vedtak(&p, FhtType::T1, 1, "180000", Grunnlag::Budsjett);
    // T2 for år 1 received on the last day of the period 08.04.2019: 400 000 − 180 000 = 220 000.
    let s = soknad("A", &p, FhtType::T2, 1, "08.04.2019", "400000");
    let v = sjekk(&s, &[p.clone()], &[t1.clone()]);
    assert_eq!(v.status, Status::Omgjoring);
    assert_eq!(v.frist, Some(dato("08.04.2019")));
    assert_eq!(v.foreslatt_belop, dec("220000"));
    // After the period ended → for_sent (even though the ordinary deadline 09.05.2019 is later).
    let s = soknad("A", &p, FhtType::T2, 1, "09.04.2019", "400000");
    let v = sjekk(&s, &[p.clone()], &[t1.clone()]);
    assert_eq!(v.avvisningsgrunner, vec![A::ForSent]);
    // Must meet the tilskudd 2 requirements: 150 000 < 200 000 → avvist.
    let s = soknad("A", &p, FhtType::T2, 1, "01.03.2019", "150000");
    assert_eq!(
        sjekk(&s, &[p.clone()], &[t1.clone()]).avvisningsgrunner,
        vec![A::UnderInnslagssum]
    );
    // Missing documents come before omgjoring (FHT-9).
    let mut s = soknad("A", &p, FhtType::T2, 1, "01.03.2019", "400000");
    s.dokumenter.sosialrapport = false;
    assert_eq!(sjekk(&s, &[p.clone()], &[t1]).status, Status::Ufullstendig);
}

// ---------- explain ----------

#[test]
fn explain_trail_names_rules_and_dates() {
    let p = bosatt_2018();
    let pp = [p.clone()];
    let rates = satser();
    let g = FhtGrunnlag::new(&pp, &[], &rates);
    let soknader = vec![soknad("S-9", &p, FhtType::T2, 2, "10.05.2019", "300000")];
    let steps = explain_soknad("S-9", &soknader, &g).unwrap().unwrap();
    let text: Vec<String> = steps.iter().map(|s| s.to_string()).collect();
    let all = text.join("\n");
    assert!(
        all.contains("FHT-1") && all.contains("09.04.2019–08.04.2020"),
        "{all}"
    );
    assert!(all.contains("FHT-2") && all.contains("09.05.2019"), "{all}");
    assert!(all.contains("for_sent"), "{all}");
    assert!(all.contains("FHT-9") && all.contains("avvist"), "{all}");
    assert!(
        !all.contains(p.fnr.as_str()),
        "full person number must not appear"
    );
    assert!(explain_soknad("nope", &soknader, &g).is_none());
    let _ = fht::SISTE_ORDINAERE_AR;
}

// ---------- FHT-1 properties ----------

proptest::proptest! {
    /// FHT-1: grant years tile time without gaps or overlaps and each starts on S + 12(n−1) months,
    /// for any settlement date (including 29.02 and month ends).
    #[test]
    fn fht1_periods_are_contiguous(days in 0i64..20_000, n in 1u8..10) {
        use chrono::Months;
        let s = dato("01.01.1990") + chrono::Duration::days(days);
        let a = periode(s, n).unwrap();
        let b = periode(s, n + 1).unwrap();
        proptest::prop_assert_eq!(a.til.succ_opt().unwrap(), b.fra);
        proptest::prop_assert_eq!(a.fra, s.checked_add_months(Months::new(12 * (u32::from(n) - 1))).unwrap());
        proptest::prop_assert!(a.fra <= a.til);
    }
}

#[test]
fn fht7_accounts_deadline_clamps() {
    // år 1 of S = 31.01.2020 ends 30.01.2021; + 1 month = 28.02.2021 (clamped; 2021 is not a leap year).
    let p = periode(dato("31.01.2020"), 1).unwrap();
    assert_eq!(fht::regnskapsfrist(&p), Some(dato("28.02.2021")));
    // The guide's example: år 1 ends 08.04.2019 → accounts due 08.05.2019.
    let p = periode(dato("09.04.2018"), 1).unwrap();
    assert_eq!(fht::regnskapsfrist(&p), Some(dato("08.05.2019")));
}

#[test]
fn own_decision_is_not_an_earlier_grant() {
    // Re-running S1 after IMDi decided it (vedtak with the same soknad_id) must not flag
    // t1_allerede_innvilget against itself; another id does.
    let p = bosatt_2018();
    let s = soknad("S1", &p, FhtType::T1, 1, "01.05.2019", "150000");
    let mut own = vedtak(&p, FhtType::T1, 1, "180000", Grunnlag::Budsjett);
    own.soknad_id = "S1".into();
    let v = sjekk(&s, &[p.clone()], &[own.clone()]);
    assert_eq!(v.status, Status::KlarForVurdering, "{:?}", v.arsaker());
    own.soknad_id = "S0".into();
    let v = sjekk(&s, &[p.clone()], &[own]);
    assert_eq!(v.avvisningsgrunner, vec![A::T1AlleredeInnvilget]);
}

#[test]
fn explain_person_gives_every_application_of_the_person() {
    let p = bosatt_2018();
    let q = person_nr("01.01.1970", "09.04.2018", 100);
    let pp = [p.clone(), q.clone()];
    let rates = satser();
    let g = FhtGrunnlag::new(&pp, &[], &rates);
    let soknader = vec![
        soknad("B", &p, FhtType::T2, 1, "01.05.2019", "300000"),
        soknad("X", &q, FhtType::T1, 1, "01.05.2019", "150000"),
        soknad("A", &p, FhtType::T1, 1, "01.05.2019", "150000"),
    ];
    let got = fht::explain_person(&p.fnr, &soknader, &g).unwrap();
    let ids: Vec<&str> = got.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, vec!["A", "B"]);
    assert!(got[0].1.iter().any(|s| s.regel == "FHT-9"));
}

#[test]
fn fht3_newborn_needs_mother_settled_by_agreement() {
    // Seed 004 §3.1: for a child born after the mother's settlement, the mother must be settled by
    // agreement. Child born 01.06.2020, mother settled 01.03.2020 (+ 6 mnd = 01.09.2020: inside IT-4).
    let mut mor = person_nr("01.01.1990", "01.03.2020", 100);
    mor.bosatt_etter_avtale = false;
    let mut barn = person("01.06.2020", "01.06.2020");
    barn.mor_fnr = Some(mor.fnr);
    // S = 01.06.2020 → deadline + 13 = 01.07.2021.
    let s = soknad("B", &barn, FhtType::T1, 1, "01.07.2021", "150000");
    let v = sjekk(&s, &[mor.clone(), barn.clone()], &[]);
    assert_eq!(v.frist, Some(dato("01.07.2021")));
    assert_eq!(v.avvisningsgrunner, vec![A::IkkeAvtale]);
}
