//! A DSF extract with planted errors: every planted row is reported with the right line and reason, and
//! nothing else (SPEC §1.1–1.4, issue 2 "Done when").

mod input_support;

use input_support::*;
use std::collections::BTreeSet;
use tilskudd::domain::avvik::Niva;
use tilskudd::input::{load_dsf, load_kommuner};

fn set(v: &[(u64, &str)]) -> BTreeSet<(u64, String)> {
    v.iter().map(|(l, k)| (*l, k.to_string())).collect()
}

#[test]
fn planted_errors_are_each_reported_once_with_line_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let dsf = dir.path().join("dsf");
    std::fs::create_dir(&dsf).unwrap();
    let reg_path = dir.path().join("kommuner.csv");
    std::fs::write(&reg_path, kommuner_csv()).unwrap();
    let reg = load_kommuner(&reg_path).unwrap();
    assert!(reg.avvik.is_empty(), "{:?}", reg.avvik);

    let ok1 = fnr("018185", 100);
    let bad = bad_control(&fnr("028185", 100));
    let p4 = fnr("038185", 100);
    let p5 = fnr("048185", 100);
    let p6 = fnr("058185", 100); // born 05.01.1985
    let dup = fnr("068185", 100);
    let ok8 = fnr("078185", 100);
    let p10 = fnr("088185", 100);
    let p11 = fnr("098185", 100);
    let p12 = fnr("108185", 100);
    let p13 = fnr("118185", 100);
    let dnr = fnr("528185", 100); // D-nummer: day 52 − 40 = 12
    let p15 = fnr("138185", 100);
    let p16 = fnr("148185", 100);
    let bad_mor = bad_control(&fnr("158185", 100));
    let personer = format!(
        "fnr,duf,fodselsdato,bosettingsdato,bosettingskommune,sak_id,malgruppe,enslig_mindrearig,mor_fnr\n\
         {ok1},,,2022-01-10,0301,S1,flyktning,,\n\
         {bad},,,2022-01-10,0301,S2,flyktning,,\n\
         {p4},,,31.02.2024,0301,S3,flyktning,,\n\
         {p5},,,2022-01-10,0301,S4,asyl,,\n\
         {p6},,06.01.1985,2022-01-10,0301,S5,flyktning,,\n\
         {dup},,,2022-01-10,0301,S6,flyktning,,\n\
         {ok8},,,2022-01-10,5001,S7,familie_flyktning,,\n\
         {dup},,,2023-01-10,1103,S8,flyktning,,\n\
         {p10},,,2022-01-10,9999,S9,flyktning,kanskje,\n\
         {p11},202512345678,,2022-01-10,0301,S10,flyktning,,\n\
         {p12},,,2022-01-10,0301,,flyktning,,\n\
         {p13},,,2024/01/10,0301,S12,flyktning,,\n\
         {dnr},,,2022-01-10,0301,S13,flyktning,,\n\
         {p15},,,2022-01-10,0301,S14,flyktning,,{bad_mor}\n\
         {p16},,,2022-01-10,301,S15,flyktning,,\n"
    );
    std::fs::write(dsf.join("personer.csv"), personer).unwrap();
    // Moves. Persons accepted: ok1 (line 2, 0301), ok8 (line 8, 5001), dnr (line 14, 0301).
    let flyttinger = format!(
        "fnr;flyttedato;til_kommune;fra_kommune\n\
         {ok1};01.03.2024;5001;0301\n\
         {dup};01.03.2024;5001;\n\
         {ok8};01.01.2022;0301;\n\
         {dnr};01.05.2024;1103;5001\n\
         {dnr};01.06.2024;0301;\n\
         {ok1};30.02.2024;1103;\n\
         {ok8};15.01.2024;1103;0301\n\
         {ok8};01.12.2023;0301;5001\n\
         {ok1};01.04.2024;4601;5001\n"
    );
    std::fs::write(dsf.join("flyttinger.csv"), flyttinger).unwrap();

    // The run year 2024 makes DUF 2025… a future year (ID-2).
    let mut o = opts_with(&reg.data);
    o.run_year = 2024;
    let l = load_dsf(&dsf, &o).unwrap();
    let got = |file: &str| -> BTreeSet<(u64, String)> {
        l.avvik
            .iter()
            .filter(|a| a.fil.ends_with(file))
            .map(|a| (a.linje.unwrap(), a.kode.clone()))
            .collect()
    };
    let expected_personer = set(&[
        (3, "ugyldig_fnr"),            // ID-1: second control digit wrong
        (4, "dato_finnes_ikke"),       // 31.02.2024
        (5, "ukjent_malgruppe"),       // asyl
        (6, "fodselsdato_avviker"),    // 06.01.1985 vs fnr 05.01.1985
        (7, "duplikat_fnr"),           // same fnr as line 9
        (9, "duplikat_fnr"),           // same fnr as line 7
        (10, "ukjent_kommune"),        // ID-3: 9999 not in the register
        (10, "ugyldig_ja_nei"),        // kanskje — a second problem on the same row
        (11, "ugyldig_duf"),           // ID-2: 2025 > run year 2024
        (12, "mangler_verdi"),         // sak_id empty
        (13, "ugyldig_dato"),          // 2024/01/10
        (15, "ugyldig_fnr"),           // mor_fnr with a wrong control digit
        (16, "ugyldig_kommunenummer"), // 301: not 4 digits
    ]);
    assert_eq!(got("personer.csv"), expected_personer);
    // The row with two problems reports both, on the right columns.
    let line10: Vec<_> = l
        .avvik
        .iter()
        .filter(|a| a.linje == Some(10))
        .filter_map(|a| a.kolonne.as_deref())
        .collect();
    assert_eq!(line10, vec!["bosettingskommune", "enslig_mindrearig"]);
    // Each duplicate names the other line.
    let d7 = l
        .avvik
        .iter()
        .find(|a| a.linje == Some(7) && a.fil.ends_with("personer.csv"))
        .unwrap();
    assert!(d7.melding.contains("line(s) 9"), "{}", d7.melding);
    // 15 rows read; accepted are lines 2, 8, 14 → 3; rejected 12 (line 10 counted once).
    let s = &l.stats[0];
    assert_eq!((s.read, s.accepted, s.rejected), (15, 3, 12));
    assert_eq!(
        l.data.personer.iter().map(|p| p.line).collect::<Vec<_>>(),
        vec![2, 8, 14]
    );

    let expected_moves = set(&[
        (3, "ukjent_person"),          // dup's rows were rejected
        (4, "flytting_for_bosetting"), // 01.01.2022 < bosettingsdato 10.01.2022
        (5, "flyttekjede_brutt"),      // dnr lives in 0301, fra_kommune says 5001
        (6, "flytting_samme_kommune"), // line 5 rejected → dnr still in 0301, moves "to" 0301
        (7, "dato_finnes_ikke"),       // 30.02.2024
                                       // ok8 (settled 5001): date order puts line 9 (01.12.2023, 5001→0301) before line 8
                                       // (15.01.2024, fra 0301 → 1103): both consistent, so neither is reported.
                                       // Line 10: ok1 is in 5001 after line 2, fra_kommune 5001 matches, 4601 exists from 2020 → accepted.
    ]);
    assert_eq!(got("flyttinger.csv"), expected_moves);
    let s = &l.stats[1];
    // 9 moves read; accepted: lines 2, 8, 9, 10 → 4.
    assert_eq!((s.read, s.accepted, s.rejected), (9, 4, 5));
    assert_eq!(
        l.data.flyttinger.iter().map(|m| m.line).collect::<Vec<_>>(),
        vec![2, 8, 9, 10]
    );
    // Everything here is a rejection; no warnings were planted.
    assert!(l.avvik.iter().all(|a| a.niva == Niva::Avvist));
    // Person numbers are masked in every message.
    for a in &l.avvik {
        for f in [&ok1, &dup, &dnr, &ok8, &bad, &bad_mor] {
            assert!(!a.melding.contains(f.as_str()), "{a}");
        }
    }
}

#[test]
fn move_chain_in_date_order_with_ties_in_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let p = fnr("018185", 100);
    std::fs::write(
        dir.path().join("personer.csv"),
        format!("fnr,bosettingsdato,bosettingskommune,sak_id,malgruppe\n{p},2022-01-10,0301,S1,flyktning\n"),
    )
    .unwrap();
    // Same date twice: file order applies — 0301→5001 (line 2), then 5001→1103 (line 3). Line 4 is
    // earlier in date (0301→4601 on 01.02) and is applied first, so line 2 (fra 0301) breaks the chain
    // and line 3 (fra 5001) too, since the residence is 4601 after line 4.
    std::fs::write(
        dir.path().join("flyttinger.csv"),
        format!(
            "fnr,flyttedato,til_kommune,fra_kommune\n\
             {p},2023-03-01,5001,0301\n\
             {p},2023-03-01,1103,5001\n\
             {p},2023-02-01,4601,0301\n"
        ),
    )
    .unwrap();
    let l = load_dsf(dir.path(), &opts(2024)).unwrap();
    let got: Vec<(u64, &str)> = l
        .avvik
        .iter()
        .map(|a| (a.linje.unwrap(), a.kode.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![(2, "flyttekjede_brutt"), (3, "flyttekjede_brutt")]
    );

    // Without line 4 the two same-day moves chain in file order and both are accepted.
    std::fs::write(
        dir.path().join("flyttinger.csv"),
        format!(
            "fnr,flyttedato,til_kommune,fra_kommune\n\
             {p},2023-03-01,5001,0301\n\
             {p},2023-03-01,1103,5001\n"
        ),
    )
    .unwrap();
    let l = load_dsf(dir.path(), &opts(2024)).unwrap();
    assert!(l.avvik.is_empty(), "{:?}", l.avvik);
    assert_eq!(l.data.flyttinger.len(), 2);
}
