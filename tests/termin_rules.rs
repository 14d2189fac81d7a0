//! Engine tests per rule (IT-1…IT-13, EM-1…EM-4), on persons built in code. Every expectation is computed
//! by hand in the comment next to it, from the test rates of `termin_support`:
//! rate(code, Y) = base(code) + (Y − 2020)·1200.

mod termin_support;
use termin_support::*;
use tilskudd::domain::engine::{Engine, Params};
use tilskudd::domain::person::Malgruppe;
use tilskudd::domain::rates::RateCode;

#[test]
fn it10_settlement_on_1_january() {
    let p = person("1990-03-03", 0, "2024-01-01", "0301");
    let ex = extract(vec![p.clone()], vec![]);
    let r = run("2024-Q1", &ex, &[]);
    // AR-1 EV 2024 = 240000 + 4·1200 = 244800, whole (IT-12); January reads 30.11.2023 and February
    // 31.12.2023, both before the settlement → settlement municipality 0301 (IT-10).
    assert_eq!(
        lines_of(&r, p.fnr),
        vec![(
            "0301".into(),
            "AR-1 EV".into(),
            2024,
            dec("244800"),
            dec("244800")
        )]
    );
    let l = line(&r, p.fnr, "0301", "AR-1 EV", 2024).unwrap();
    assert_eq!((l.tilskuddsar, l.maneder), (1, None));
    // 2025-Q1: år 2 = 2025, AR-2 = 120000 + 5·1200 = 126000 → 10500 a month, months 1–3 due = 31500.
    let r = run("2025-Q1", &ex, &[]);
    let l = line(&r, p.fnr, "0301", "AR-2", 2025).unwrap();
    assert_eq!(
        (l.opptjent, l.maneder, l.tilskuddsar),
        (dec("31500"), Some(3), 2)
    );
    assert_eq!(total(&r), dec("276300")); // 244800 + 31500
}

#[test]
fn it10_settlement_on_31_december_and_a_move_the_next_january() {
    let p = person("1985-06-06", 0, "2024-12-31", "0301");
    let ex = extract(vec![p.clone()], vec![mv(&p, "2025-01-15", "4601")]);
    // 2024-Q4 (basis 31.12.2024): settled on the basis date counts (IT-2); the move on 15.01.2025 is not
    // yet known [model (a)]. AR-1 EV 2024 = 244800 whole to 0301.
    let r = run("2024-Q4", &ex, &[]);
    assert_eq!(
        lines_of(&r, p.fnr),
        vec![(
            "0301".into(),
            "AR-1 EV".into(),
            2024,
            dec("244800"),
            dec("244800")
        )]
    );
    // 2025-Q1: AR-2 2025 = 126000 → 10500/month. January reads 30.11.2024 (before settlement → 0301),
    // February reads 31.12.2024 (0301), March reads 31.01.2025 (moved 15.01 → 4601).
    let r = run("2025-Q1", &ex, &[]);
    let a = line(&r, p.fnr, "0301", "AR-2", 2025).unwrap();
    assert_eq!((a.opptjent, a.maneder), (dec("21000"), Some(2)));
    let b = line(&r, p.fnr, "4601", "AR-2", 2025).unwrap();
    assert_eq!((b.opptjent, b.maneder), (dec("10500"), Some(1)));
    // år 1 stays whole with 0301: every month of 2024 reads a date ≤ 31.10.2024, before the settlement.
    assert_eq!(
        line(&r, p.fnr, "0301", "AR-1 EV", 2024).unwrap().opptjent,
        dec("244800")
    );
}

#[test]
fn it10_move_in_the_settlement_year_splits_year_1() {
    // Two adults in one sak → AR-1 (not EV), 2024: 120000 + 4800 = 124800 → 10400/month.
    let mut a = person("1980-01-01", 0, "2024-02-10", "0301");
    let mut b = person("1981-01-01", 0, "2024-02-10", "0301");
    a.sak_id = "S1".into();
    b.sak_id = "S1".into();
    let ex = extract(
        vec![a.clone(), b.clone()],
        vec![mv(&a, "2024-05-20", "4601")],
    );
    let r = run("2024-Q2", &ex, &[]);
    // Month m reads the last day of m−2: m=6 → 30.04 (0301), m=7 → 31.05 (after the move → 4601).
    // 0301: months 1–6 = 6·10400 = 62400; 4601: months 7–12 = 62400. Both due in full now (IT-12).
    assert_eq!(
        lines_of(&r, a.fnr),
        vec![
            (
                "0301".into(),
                "AR-1".into(),
                2024,
                dec("62400"),
                dec("62400")
            ),
            (
                "4601".into(),
                "AR-1".into(),
                2024,
                dec("62400"),
                dec("62400")
            ),
        ]
    );
    assert_eq!(
        lines_of(&r, b.fnr),
        vec![(
            "0301".into(),
            "AR-1".into(),
            2024,
            dec("124800"),
            dec("124800")
        )]
    );
}

#[test]
fn it10_two_moves_within_two_months() {
    let p = person("1980-02-02", 0, "2023-06-01", "0301");
    let ex = extract(
        vec![p.clone()],
        vec![mv(&p, "2024-04-20", "5001"), mv(&p, "2024-03-15", "4601")],
    );
    let r = run("2024-Q4", &ex, &[]);
    // Moves applied in date order whatever the file order. AR-2 2024 = 124800 → 10400/month.
    // m1–m4 read 30.11.23, 31.12.23, 31.01.24, 29.02.24 → 0301: 4·10400 = 41600.
    // m5 reads 31.03.24 → 4601: 10400. m6–m12 read 30.04.24… → 5001: 7·10400 = 72800. Σ = 124800.
    assert_eq!(
        lines_of(&r, p.fnr),
        vec![
            (
                "0301".into(),
                "AR-1 EV".into(),
                2023,
                dec("243600"),
                dec("243600")
            ), // 240000 + 3·1200
            (
                "0301".into(),
                "AR-2".into(),
                2024,
                dec("41600"),
                dec("41600")
            ),
            (
                "4601".into(),
                "AR-2".into(),
                2024,
                dec("10400"),
                dec("10400")
            ),
            (
                "5001".into(),
                "AR-2".into(),
                2024,
                dec("72800"),
                dec("72800")
            ),
        ]
    );
    assert_eq!(
        line(&r, p.fnr, "4601", "AR-2", 2024).unwrap().maneder,
        Some(1)
    );
    assert_eq!(
        line(&r, p.fnr, "5001", "AR-2", 2024).unwrap().maneder,
        Some(7)
    );
}

#[test]
fn it11_death_in_year_3() {
    let mut p = person("1970-04-04", 0, "2022-03-10", "0301");
    p.dodsdato = Some(d("2024-05-20"));
    let ex = extract(vec![p.clone()], vec![]);
    let r = run("2024-Q4", &ex, &[]);
    // år 1 2022 AR-1 EV = 240000 + 2400 = 242400; år 2 2023 AR-2 = 120000 + 3600 = 123600 (12 months);
    // år 3 2024 AR-3 = 96000 + 4800 = 100800 → 8400/month, months 1–5 (died in May) = 42000; nothing after.
    assert_eq!(
        lines_of(&r, p.fnr),
        vec![
            (
                "0301".into(),
                "AR-1 EV".into(),
                2022,
                dec("242400"),
                dec("242400")
            ),
            (
                "0301".into(),
                "AR-2".into(),
                2023,
                dec("123600"),
                dec("123600")
            ),
            (
                "0301".into(),
                "AR-3".into(),
                2024,
                dec("42000"),
                dec("42000")
            ),
        ]
    );
    let l = line(&r, p.fnr, "0301", "AR-3", 2024).unwrap();
    assert_eq!(l.maneder, Some(5));
    assert!(l.regler.contains("IT-11"));
    // 2024-Q1: the death (20.05.2024) is after the basis date 31.03 → not known [model (a)]: 3·8400 = 25200.
    let r = run("2024-Q1", &ex, &[]);
    assert_eq!(
        line(&r, p.fnr, "0301", "AR-3", 2024).unwrap().opptjent,
        dec("25200")
    );
}

#[test]
fn it11_emigration_in_the_settlement_year_keeps_year_1_whole() {
    let mut p = person("1970-04-04", 1, "2024-02-01", "0301");
    p.utvandringsdato = Some(d("2024-03-05"));
    let ex = extract(vec![p.clone()], vec![]);
    // År 1 is kept whole: AR-1 EV 2024 = 244800. 2025 (år 2) has no month left → no line, no rate needed.
    let r = run_with(
        "2025-Q4",
        &ex,
        &rates_except(&[(2025, RateCode::Ar2)]),
        &[],
        2021,
    );
    assert_eq!(
        lines_of(&r, p.fnr),
        vec![(
            "0301".into(),
            "AR-1 EV".into(),
            2024,
            dec("244800"),
            dec("244800")
        )]
    );
}

#[test]
fn it4_newborn_exactly_6_months_and_one_day_later_and_mother_absent() {
    let mut mother = person("1990-05-05", 0, "2024-03-15", "0301");
    mother.sak_id = "S1".into();
    let mut c1 = person("2024-09-15", 0, "2024-09-15", "0301");
    c1.mor_fnr = Some(mother.fnr);
    c1.sak_id = "S1".into();
    c1.line = 3;
    let mut c2 = person("2024-09-16", 0, "2024-09-16", "0301");
    c2.mor_fnr = Some(mother.fnr);
    c2.sak_id = "S1".into();
    c2.line = 4;
    let absent = fnr("1991-01-01", 0);
    let mut c3 = person("2024-07-01", 0, "2024-07-01", "5001");
    c3.mor_fnr = Some(absent);
    c3.line = 5;
    let ex = extract(
        vec![mother.clone(), c1.clone(), c2.clone(), c3.clone()],
        vec![mv(&mother, "2024-08-01", "4601")],
    );
    let r = run("2024-Q3", &ex, &[]);
    // Mother: the newborns are not counted in sak S1 (IT-8) → alone → AR-1 EV 2024 = 244800 = 20400/month.
    // m1–m9 read ≤ 31.07 → 0301: 9·20400 = 183600; m10–m12 read 31.08, 30.09, 31.10 → 4601: 3·20400 = 61200.
    assert_eq!(
        lines_of(&r, mother.fnr),
        vec![
            (
                "0301".into(),
                "AR-1 EV".into(),
                2024,
                dec("183600"),
                dec("183600")
            ),
            (
                "4601".into(),
                "AR-1 EV".into(),
                2024,
                dec("61200"),
                dec("61200")
            ),
        ]
    );
    // c1 born 15.09.2024 = 15.03 + 6 months exactly → newborn. Settlement = birth date, municipality =
    // the mother's residence that day (4601, not the row's 0301). AR-1 B 2024 = 124800, BHT = 27600 + 4800.
    assert_eq!(
        lines_of(&r, c1.fnr),
        vec![
            (
                "4601".into(),
                "AR-1 B".into(),
                2024,
                dec("124800"),
                dec("124800")
            ),
            (
                "4601".into(),
                "BHT".into(),
                2024,
                dec("32400"),
                dec("32400")
            ),
        ]
    );
    assert!(line(&r, c1.fnr, "4601", "BHT", 2024)
        .unwrap()
        .regler
        .contains("IT-4"));
    // c2 one day later → fodt_etter_6_mnd.
    assert!(lines_of(&r, c2.fnr).is_empty());
    let av = r.avvik.iter().find(|a| a.fnr == Some(c2.fnr)).unwrap();
    assert_eq!(
        (av.kode.as_str(), av.linje, av.niva.as_str()),
        ("fodt_etter_6_mnd", Some(4), "avvist")
    );
    // c3: mother absent → own row (5001) and a warning.
    let av = r.avvik.iter().find(|a| a.fnr == Some(c3.fnr)).unwrap();
    assert_eq!(
        (av.kode.as_str(), av.niva.as_str()),
        ("mor_ikke_funnet", "advarsel")
    );
    assert_eq!(
        lines_of(&r, c3.fnr),
        vec![
            (
                "5001".into(),
                "AR-1 B".into(),
                2024,
                dec("124800"),
                dec("124800")
            ),
            (
                "5001".into(),
                "BHT".into(),
                2024,
                dec("32400"),
                dec("32400")
            ),
        ]
    );
    // Counts add up: 4 read = 1 excluded + 3 used.
    assert_eq!((r.counts.personer_utelatt, r.counts.personer_brukt), (1, 3));
}

#[test]
fn it8_person_turning_18_in_the_settlement_year_is_an_adult() {
    let mut parent = person("1980-01-01", 0, "2024-03-01", "0301");
    let mut a = person("2006-11-20", 0, "2024-03-01", "0301");
    let mut b = person("2007-01-05", 0, "2024-03-01", "0301");
    for p in [&mut parent, &mut a, &mut b] {
        p.sak_id = "S2".into();
    }
    let ex = extract(vec![parent.clone(), a.clone(), b.clone()], vec![]);
    let r = run("2024-Q1", &ex, &[]);
    // a: 2006 + 18 = 2024 = settlement year, not after → adult in a family → AR-1 (120000 + 4800).
    // b: 2007 + 18 = 2025 > 2024 → child → AR-1 B. Neither is under 6 nor 60+ → no one-off.
    assert_eq!(
        lines_of(&r, a.fnr),
        vec![(
            "0301".into(),
            "AR-1".into(),
            2024,
            dec("124800"),
            dec("124800")
        )]
    );
    assert_eq!(
        lines_of(&r, b.fnr),
        vec![(
            "0301".into(),
            "AR-1 B".into(),
            2024,
            dec("124800"),
            dec("124800")
        )]
    );
    assert_eq!(
        line(&r, parent.fnr, "0301", "AR-1", 2024).unwrap().opptjent,
        dec("124800")
    );
}

#[test]
fn it9_age_exactly_60_and_exactly_6_on_the_settlement_date() {
    let p60 = person("1964-05-15", 0, "2024-05-15", "0301");
    let p59 = person("1964-05-16", 0, "2024-05-15", "0301");
    let c6 = person("2018-05-15", 0, "2024-05-15", "0301");
    let c5 = person("2018-05-16", 0, "2024-05-15", "0301");
    let ex = extract(
        vec![p60.clone(), p59.clone(), c6.clone(), c5.clone()],
        vec![],
    );
    let r = run("2024-Q2", &ex, &[]);
    // 60 on 15.05.2024 → ELDR 2024 = 170400 + 4800 = 175200; one day short of 60 → none.
    assert_eq!(
        line(&r, p60.fnr, "0301", "ELDR", 2024).unwrap().opptjent,
        dec("175200")
    );
    assert!(line(&r, p59.fnr, "0301", "ELDR", 2024).is_none());
    // Exactly 6 → no BHT (under 6 only); 5 → BHT 2024 = 27600 + 4800 = 32400.
    assert!(line(&r, c6.fnr, "0301", "BHT", 2024).is_none());
    assert_eq!(
        line(&r, c5.fnr, "0301", "BHT", 2024).unwrap().opptjent,
        dec("32400")
    );
}

fn em_person() -> tilskudd::domain::person::Person {
    let mut p = person("2008-07-01", 0, "2024-04-10", "0301");
    p.enslig_mindrearig = true;
    p
}

#[test]
fn em_unaccompanied_minor_through_16_17_and_20() {
    let p = em_person();
    let ex = extract(vec![p.clone()], vec![]);
    let r = run("2029-Q4", &ex, &[]);
    let em: Vec<_> = lines_of(&r, p.fnr)
        .into_iter()
        .filter(|l| l.1.starts_with("EMIN"))
        .collect();
    // EM-2 with B = 2008: 2024 → 16 → EMINB = 1200000 + 4800 = 1204800 → 100400/month; EM-3 from the
    // settlement month April: months 4–12 = 9·100400 = 903600.
    // 2025 → 17 → EMINU = 720000 + 6000 = 726000 (12 months); 2026 = 727200; 2027 = 728400;
    // 2028 → 20 → 729600 (last year); 2029 → 21 → nothing.
    assert_eq!(
        em,
        vec![
            (
                "0301".into(),
                "EMINB".into(),
                2024,
                dec("903600"),
                dec("903600")
            ),
            (
                "0301".into(),
                "EMINU".into(),
                2025,
                dec("726000"),
                dec("726000")
            ),
            (
                "0301".into(),
                "EMINU".into(),
                2026,
                dec("727200"),
                dec("727200")
            ),
            (
                "0301".into(),
                "EMINU".into(),
                2027,
                dec("728400"),
                dec("728400")
            ),
            (
                "0301".into(),
                "EMINU".into(),
                2028,
                dec("729600"),
                dec("729600")
            ),
        ]
    );
    let l = line(&r, p.fnr, "0301", "EMINB", 2024).unwrap();
    assert_eq!((l.tilskuddsar, l.maneder), (1, Some(9)));
    // [model (c)] tilskuddsar = Y − Y_s + 1: 2028 − 2024 + 1 = 5.
    assert_eq!(
        line(&r, p.fnr, "0301", "EMINU", 2028).unwrap().tilskuddsar,
        5
    );
    // IT-8: AR-1 EM 2024 = 180000 + 4800 = 184800.
    assert_eq!(
        line(&r, p.fnr, "0301", "AR-1 EM", 2024).unwrap().opptjent,
        dec("184800")
    );
}

#[test]
fn em_stops_after_reunion_and_needs_agreement() {
    let mut p = em_person();
    p.gjenforent_dato = Some(d("2026-02-03"));
    let mut q = em_person();
    q.fnr = fnr("2008-07-01", 1);
    q.bosatt_etter_avtale = false;
    let ex = extract(vec![p.clone(), q.clone()], vec![]);
    let r = run("2027-Q4", &ex, &[]);
    // Reunited 03.02.2026: EMINU 2026 = 727200 → 60600/month, January and February = 121200; nothing in 2027.
    let l = line(&r, p.fnr, "0301", "EMINU", 2026).unwrap();
    assert_eq!((l.opptjent, l.maneder), (dec("121200"), Some(2)));
    assert!(line(&r, p.fnr, "0301", "EMINU", 2027).is_none());
    // The integration grant goes on: AR-4 2027 = 60000 + 8400 = 68400.
    assert_eq!(
        line(&r, p.fnr, "0301", "AR-4", 2027).unwrap().opptjent,
        dec("68400")
    );
    // Not settled by agreement → no EM (EM-1), but år 1 is still AR-1 EM (IT-8).
    assert!(lines_of(&r, q.fnr).iter().all(|l| !l.1.starts_with("EMIN")));
    assert!(line(&r, q.fnr, "0301", "AR-1 EM", 2024).is_some());
}

#[test]
fn it6_familie_humanitar_stops_after_year_3() {
    let mut h = person("1988-08-08", 0, "2021-02-01", "0301");
    h.malgruppe = Malgruppe::FamilieHumanitar;
    let mut f = person("1988-08-08", 1, "2021-02-01", "0301");
    f.malgruppe = Malgruppe::FamilieFlyktning;
    let ex = extract(vec![h.clone(), f.clone()], vec![]);
    let r = run("2025-Q4", &ex, &[]);
    // AR-1 EV 2021 = 241200; AR-2 2022 = 122400; AR-3 2023 = 99600; then nothing for familie_humanitar.
    assert_eq!(
        lines_of(&r, h.fnr),
        vec![
            (
                "0301".into(),
                "AR-1 EV".into(),
                2021,
                dec("241200"),
                dec("241200")
            ),
            (
                "0301".into(),
                "AR-2".into(),
                2022,
                dec("122400"),
                dec("122400")
            ),
            (
                "0301".into(),
                "AR-3".into(),
                2023,
                dec("99600"),
                dec("99600")
            ),
        ]
    );
    // familie_flyktning runs 5 years: AR-4 2024 = 60000 + 4800 = 64800; AR-5 2025 = 48000 + 6000 = 54000.
    assert_eq!(
        line(&r, f.fnr, "0301", "AR-4", 2024).unwrap().opptjent,
        dec("64800")
    );
    assert_eq!(
        line(&r, f.fnr, "0301", "AR-5", 2025).unwrap().opptjent,
        dec("54000")
    );
}

#[test]
fn it3_pre_2021_with_and_without_tidligere_utlost() {
    let without = person("1975-09-09", 0, "2019-06-01", "0301");
    let mut with = person("1975-09-09", 1, "2019-06-01", "0301");
    with.tidligere_utlost = true;
    let ex = extract(vec![without.clone(), with.clone()], vec![]);
    let r = run("2024-Q1", &ex, &[]);
    assert!(lines_of(&r, without.fnr).is_empty());
    let av = r.avvik.iter().find(|a| a.fnr == Some(without.fnr)).unwrap();
    assert_eq!(
        (av.kode.as_str(), av.niva.as_str()),
        ("krever_soknad", "avvist")
    );
    // [model (b)] only calendar years ≥ 2021: år 3 2021 AR-3 = 96000 + 1200 = 97200; år 4 2022 AR-4 =
    // 60000 + 2400 = 62400; år 5 2023 AR-5 = 48000 + 3600 = 51600. År 1 (2019), år 2 (2020) not accrued.
    assert_eq!(
        lines_of(&r, with.fnr),
        vec![
            (
                "0301".into(),
                "AR-3".into(),
                2021,
                dec("97200"),
                dec("97200")
            ),
            (
                "0301".into(),
                "AR-4".into(),
                2022,
                dec("62400"),
                dec("62400")
            ),
            (
                "0301".into(),
                "AR-5".into(),
                2023,
                dec("51600"),
                dec("51600")
            ),
        ]
    );
    assert!(line(&r, with.fnr, "0301", "AR-3", 2021)
        .unwrap()
        .regler
        .contains("IT-3"));
    // With --auto-from 2019 the person settled 2019 is automatic: år 1 2019 AR-1 EV = 240000 − 1200.
    let r = run_with("2024-Q1", &ex, &rates(), &[], 2019);
    assert_eq!(
        line(&r, without.fnr, "0301", "AR-1 EV", 2019)
            .unwrap()
            .opptjent,
        dec("238800")
    );
}

#[test]
fn it1_it2_it5_exclusions_and_warnings() {
    let mut out = person("1980-01-01", 0, "2024-01-10", "0301");
    out.malgruppe = Malgruppe::Utenfor;
    let referent = person("1980-01-01", 1, "2018-06-10", "0301");
    let mut ok = person("1982-01-01", 0, "2024-01-10", "0301");
    ok.malgruppe = Malgruppe::FamilieFlyktning;
    ok.referanse_fnr = Some(referent.fnr);
    ok.familie_soknadsdato = Some(d("2023-06-10")); // 10.06.2018 + 5 years: on the limit → in
    let mut late = ok.clone();
    late.fnr = fnr("1982-01-01", 1);
    late.familie_soknadsdato = Some(d("2023-06-11")); // one day after → familie_over_5_ar
    let mut noref = ok.clone();
    noref.fnr = fnr("1982-01-01", 2);
    noref.referanse_fnr = Some(fnr("1970-01-01", 0));
    let mut unregistered = person("1983-01-01", 0, "2024-03-20", "0301");
    unregistered.registrert_dato = d("2024-04-02");
    let ex = extract(
        vec![
            out.clone(),
            referent,
            ok.clone(),
            late.clone(),
            noref.clone(),
            unregistered.clone(),
        ],
        vec![],
    );
    let r = run("2024-Q1", &ex, &[]);
    let kode = |f| {
        r.avvik
            .iter()
            .filter(|a| a.fnr == Some(f))
            .map(|a| a.kode.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(kode(out.fnr), vec!["utenfor_malgruppe"]);
    assert_eq!(kode(ok.fnr), Vec::<String>::new());
    assert_eq!(kode(late.fnr), vec!["familie_over_5_ar"]);
    assert_eq!(kode(noref.fnr), vec!["referent_ikke_funnet"]);
    assert_eq!(kode(unregistered.fnr), vec!["ikke_registrert"]);
    assert!(lines_of(&r, out.fnr).is_empty() && lines_of(&r, late.fnr).is_empty());
    assert!(!lines_of(&r, ok.fnr).is_empty() && !lines_of(&r, noref.fnr).is_empty());
    // IT-2 etterslep: registered 02.04.2024 → counts in 2024-Q2 with år 1 in full (AR-1 EV 244800).
    assert!(lines_of(&r, unregistered.fnr).is_empty());
    let r2 = run("2024-Q2", &ex, &[]);
    assert_eq!(
        line(&r2, unregistered.fnr, "0301", "AR-1 EV", 2024)
            .unwrap()
            .a_utbetale,
        dec("244800")
    );
    // Counts: 6 read = 4 excluded (utenfor, late, unregistered, and the referent: settled 2018 →
    // krever_soknad) + 2 used.
    assert_eq!(r.counts.personer_utelatt, 4);
    assert_eq!(r.counts.personer_brukt, 2);
    assert_eq!(r.counts.personer_lest, 6);
}

#[test]
fn it13_rounding_with_a_move() {
    // A rate table where AR-2 2024 = 100000 (not divisible by 12).
    let mut rt = tilskudd::domain::rates::RateTable::default();
    for (y, c, b) in [
        (2023, RateCode::Ar1Ev, "240000"),
        (2024, RateCode::Ar2, "100000"),
    ] {
        rt.insert(tilskudd::domain::rates::Rate {
            ar: y,
            kode: c,
            belop: dec(b),
            status: tilskudd::domain::rates::RateStatus::Vedtatt,
            kilde: "t".into(),
            origin: "t".into(),
        })
        .unwrap();
    }
    let p = person("1980-01-01", 0, "2023-01-10", "0301");
    let ex = extract(vec![p.clone()], vec![mv(&p, "2024-01-15", "4601")]);
    let r = run_with("2024-Q2", &ex, &rt, &[], 2021);
    // Months 1–2 (read 30.11.23, 31.12.23) → 0301: round(100000·2/12) = round(16666.666…) = 16666.67.
    // Months 3–6 → 4601: round(100000·6/12) − 16666.67 = 50000.00 − 16666.67 = 33333.33.
    assert_eq!(
        line(&r, p.fnr, "0301", "AR-2", 2024).unwrap().opptjent,
        dec("16666.67")
    );
    assert_eq!(
        line(&r, p.fnr, "4601", "AR-2", 2024).unwrap().opptjent,
        dec("33333.33")
    );
}

#[test]
fn missing_rate_stops_the_run_naming_year_and_code() {
    let p = person("1980-01-01", 0, "2024-01-10", "0301");
    let ex = extract(vec![p], vec![]);
    let rt = rates_except(&[(2025, RateCode::Ar2)]);
    let e = Engine::new(Params::new(t("2025-Q1"), None, 2021), &ex, &rt, &[])
        .run(None)
        .unwrap_err();
    assert_eq!((e.year, e.kode), (2025, RateCode::Ar2));
    assert!(e.to_string().contains("2025") && e.to_string().contains("AR-2"));
    // A rate that is not needed may be missing: 2024-Q4 needs no 2025 rate.
    assert!(
        Engine::new(Params::new(t("2024-Q4"), None, 2021), &ex, &rt, &[])
            .run(None)
            .is_ok()
    );
}

#[test]
fn missing_rate_reported_is_the_first_in_extract_order() {
    // Row 1 (15.01.1990: its number starts 15…, so it sorts after row 2's 01…) needs AR-1 EV 2024;
    // row 2 needs AR-1 EV 2023. The engine works in fnr order, but the error names row 1's need.
    let a = person("1990-01-15", 0, "2024-01-10", "0301");
    let b = person("1980-01-01", 0, "2023-01-10", "0301");
    assert!(a.fnr > b.fnr);
    let ex = extract(vec![a, b], vec![]);
    let rt = rates_except(&[(2024, RateCode::Ar1Ev), (2023, RateCode::Ar1Ev)]);
    let e = Engine::new(Params::new(t("2024-Q1"), None, 2021), &ex, &rt, &[])
        .run(None)
        .unwrap_err();
    assert_eq!((e.year, e.kode), (2024, RateCode::Ar1Ev));
}

#[test]
fn avvik_follow_the_extract_order() {
    // Rows in file order: 15.01.1990 (utenfor), then 01.01.1980 (utenfor); fnr order is the reverse.
    let mut a = person("1990-01-15", 0, "2024-01-10", "0301");
    let mut b = person("1980-01-01", 0, "2024-01-10", "0301");
    a.malgruppe = Malgruppe::Utenfor;
    b.malgruppe = Malgruppe::Utenfor;
    a.line = 2;
    b.line = 3;
    let r = run("2024-Q1", &extract(vec![a, b], vec![]), &[]);
    assert_eq!(
        r.avvik.iter().map(|x| x.linje).collect::<Vec<_>>(),
        vec![Some(2), Some(3)]
    );
}
