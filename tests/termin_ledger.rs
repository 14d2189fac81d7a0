//! Ledger, netting and chaining (T-1…T-4) on the engine, with hand-computed amounts from the test rates
//! of `termin_support`: rate(code, Y) = base(code) + (Y − 2020)·1200.

mod termin_support;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use termin_support::*;
use tilskudd::domain::ledger::LineKey;
use tilskudd::domain::person::Malgruppe;

fn chain_extract() -> tilskudd::domain::person::Extract {
    let a = person("1980-01-01", 0, "2023-05-10", "0301");
    let b = person("1981-02-02", 0, "2024-02-20", "4601");
    let mut c = person("1982-03-03", 0, "2024-05-05", "0301");
    c.registrert_dato = d("2024-07-10"); // counts from Q3 (IT-2), with everything back to år 1
    let mut em = person("2009-04-04", 0, "2023-09-01", "5001");
    em.enslig_mindrearig = true;
    let e = person("1960-05-05", 0, "2022-11-11", "0301");
    let mut dead = person("1950-06-06", 0, "2023-02-02", "4601");
    dead.dodsdato = Some(d("2024-05-31"));
    let moves = vec![mv(&e, "2024-04-10", "5001"), mv(&em, "2024-08-15", "0301")];
    extract(vec![a, b, c, em, e, dead], moves)
}

#[test]
fn t4_chaining_q1_q2_q3_pays_what_a_single_q3_accrues() {
    let ex = chain_extract();
    let q1 = run("2024-Q1", &ex, &[]);
    let q2 = run("2024-Q2", &ex, &as_read(&q1.new_ledger));
    let q3 = run("2024-Q3", &ex, &as_read(&q2.new_ledger));
    let single = run("2024-Q3", &ex, &[]);
    // Per key: Σ of everything paid in Q1+Q2+Q3 = what one Q3 run with no ledger accrues.
    let mut paid: BTreeMap<LineKey, Decimal> = BTreeMap::new();
    for l in &q3.new_ledger {
        *paid.entry(l.key).or_default() += l.belop;
    }
    let accrued: BTreeMap<LineKey, Decimal> =
        single.lines.iter().map(|l| (l.key, l.opptjent)).collect();
    assert_eq!(paid, accrued);
    assert!(!accrued.is_empty());
    // Person a (settled 10.05.2023, single): AR-2 2024 = 124800 → 10400/month. Q1 pays 3·10400 = 31200;
    // in Q2 accrued 6·10400 = 62400, paid before 31200, now 31200.
    let a = ex.personer[0].fnr;
    let l = line(&q2, a, "0301", "AR-2", 2024).unwrap();
    assert_eq!(
        (l.opptjent, l.tidligere_utbetalt, l.a_utbetale),
        (dec("62400"), dec("31200"), dec("31200"))
    );
    // The Q3 ledger holds the Q1, Q2 and Q3 payments for that key.
    let key_lines: Vec<_> = q3
        .new_ledger
        .iter()
        .filter(|x| x.key == l.key)
        .map(|x| (x.termin.to_string(), x.belop))
        .collect();
    assert_eq!(
        key_lines,
        vec![
            ("2024-Q1".into(), dec("31200")),
            ("2024-Q2".into(), dec("31200")),
            ("2024-Q3".into(), dec("31200"))
        ]
    );
}

#[test]
fn t2_late_registered_move_deducts_from_the_old_municipality_and_sums_tie() {
    let p = person("1980-01-01", 0, "2023-01-10", "0301");
    let o = person("1980-01-01", 1, "2023-01-10", "0301");
    let q1_ex = extract(vec![p.clone(), o.clone()], vec![]);
    let q1 = run("2024-Q1", &q1_ex, &[]);
    // Q1: AR-2 2024 = 124800 → 10400/month; months 1–3 to 0301 = 31200 each for p and o.
    assert_eq!(
        line(&q1, p.fnr, "0301", "AR-2", 2024).unwrap().a_utbetale,
        dec("31200")
    );
    // Q2 extract: a move on 15.01.2024 to 4601, registered late. March reads 31.01 → 4601 now.
    let q2_ex = extract(
        vec![p.clone(), o.clone()],
        vec![mv(&p, "2024-01-15", "4601")],
    );
    let q2 = run("2024-Q2", &q2_ex, &as_read(&q1.new_ledger));
    // p 0301: months 1–2 = 20800 accrued, 31200 paid → −10400 (trekk). p 4601: months 3–6 = 41600.
    let old = line(&q2, p.fnr, "0301", "AR-2", 2024).unwrap();
    assert_eq!(
        (old.opptjent, old.tidligere_utbetalt, old.a_utbetale),
        (dec("20800"), dec("31200"), dec("-10400"))
    );
    let new = line(&q2, p.fnr, "4601", "AR-2", 2024).unwrap();
    assert_eq!(
        (new.opptjent, new.a_utbetale, new.maneder),
        (dec("41600"), dec("41600"), Some(4))
    );
    // o in 0301: 62400 − 31200 = 31200. 0301 = 31200 − 10400 = 20800 (paid); 4601 = 41600 (paid).
    let sums: Vec<_> = q2
        .kommuner
        .iter()
        .map(|k| (k.kommune.to_string(), k.sum, k.utbetales))
        .collect();
    assert_eq!(
        sums,
        vec![
            ("0301".into(), dec("20800"), true),
            ("4601".into(), dec("41600"), true)
        ]
    );
    // Σ lines = Σ municipalities = Σ ledger lines written now = 62400.
    let ledger_now: Decimal = paid_now(&q2).iter().map(|l| l.belop).sum();
    assert_eq!(total(&q2), dec("62400"));
    assert_eq!(
        q2.kommuner.iter().map(|k| k.sum).sum::<Decimal>(),
        dec("62400")
    );
    assert_eq!(ledger_now, dec("62400"));
    // The deduction enters the ledger as a negative line.
    assert!(paid_now(&q2)
        .iter()
        .any(|l| l.key == old.key && l.belop == dec("-10400")));
}

#[test]
fn t3_non_positive_municipality_is_not_paid_and_the_deduction_carries() {
    let p = person("1980-01-01", 0, "2023-01-10", "0301");
    let q1 = run("2024-Q1", &extract(vec![p.clone()], vec![]), &[]);
    let q2_ex = extract(vec![p.clone()], vec![mv(&p, "2024-01-15", "4601")]);
    let q2 = run("2024-Q2", &q2_ex, &as_read(&q1.new_ledger));
    // 0301 alone: −10400 ≤ 0 → utbetales = nei, its line stays out of the ledger; 4601 gets 41600.
    let sums: Vec<_> = q2
        .kommuner
        .iter()
        .map(|k| (k.kommune.to_string(), k.sum, k.utbetales))
        .collect();
    assert_eq!(
        sums,
        vec![
            ("0301".into(), dec("-10400"), false),
            ("4601".into(), dec("41600"), true)
        ]
    );
    let now: Vec<_> = paid_now(&q2)
        .iter()
        .map(|l| (l.key.kommune.to_string(), l.belop))
        .collect();
    assert_eq!(now, vec![("4601".into(), dec("41600"))]);
    // Q3: 0301 still accrues months 1–2 = 20800 against 31200 paid → −10400 again (carried by itself);
    // 4601 months 3–9 = 7·10400 = 72800 − 41600 = 31200.
    let q3 = run("2024-Q3", &q2_ex, &as_read(&q2.new_ledger));
    assert_eq!(
        line(&q3, p.fnr, "0301", "AR-2", 2024).unwrap().a_utbetale,
        dec("-10400")
    );
    assert_eq!(
        line(&q3, p.fnr, "4601", "AR-2", 2024).unwrap().a_utbetale,
        dec("31200")
    );
}

#[test]
fn t2_person_now_excluded_is_deducted_and_absent_person_left_alone() {
    let p = person("1980-01-01", 0, "2024-01-10", "0301");
    let o = person("1980-01-01", 1, "2024-01-10", "0301");
    let gone = person("1980-01-01", 2, "2024-01-10", "0301");
    let q1 = run(
        "2024-Q1",
        &extract(vec![p.clone(), o.clone(), gone.clone()], vec![]),
        &[],
    );
    let mut p2 = p.clone();
    p2.malgruppe = Malgruppe::Utenfor; // corrected in the register
    let ledger = as_read(&q1.new_ledger);
    let q2 = run("2024-Q2", &extract(vec![p2, o.clone()], vec![]), &ledger);
    // p: nothing accrued, 244800 paid → −244800 with the rule that excluded them.
    let l = line(&q2, p.fnr, "0301", "AR-1 EV", 2024).unwrap();
    assert_eq!(
        (l.opptjent, l.tidligere_utbetalt, l.a_utbetale, l.sats),
        (dec("0"), dec("244800"), dec("-244800"), dec("0"))
    );
    assert_eq!((l.regler.to_vec(), l.tilskuddsar), (vec!["IT-1", "T-2"], 1));
    assert_eq!(q2.counts.personer_utelatt_med_trekk, 1);
    // `gone` is absent from the extract: no line, one avvik pointing at the ledger line, carried as is.
    assert!(lines_of(&q2, gone.fnr).is_empty());
    let av = q2.avvik.iter().find(|a| a.fnr == Some(gone.fnr)).unwrap();
    assert_eq!(av.kode, "ukjent_person_i_reskontro");
    assert_eq!(av.fil, "paid/utbetalt.csv");
    let gone_line = ledger.iter().find(|x| x.key.fnr == gone.fnr).unwrap();
    assert_eq!(av.linje, gone_line.origin.line());
    assert_eq!(gone_line.origin.file(), "paid/utbetalt.csv");
    assert_eq!(q2.counts.ledger_linjer_uten_person, 1);
    assert!(q2
        .new_ledger
        .iter()
        .any(|x| x.key.fnr == gone.fnr && x.belop == dec("244800")));
    // o: fully paid in Q1 (år 1 whole), nothing new: line with a_utbetale 0. 0301 = −244800 → not paid.
    assert_eq!(
        line(&q2, o.fnr, "0301", "AR-1 EV", 2024)
            .unwrap()
            .a_utbetale,
        dec("0")
    );
    assert!(!q2.kommuner[0].utbetales);
}

#[test]
fn t4_rerun_is_identical() {
    let ex = chain_extract();
    let a = run("2024-Q3", &ex, &[]);
    let b = run("2024-Q3", &ex, &[]);
    assert_eq!(format!("{:?}", a.lines), format!("{:?}", b.lines));
    assert_eq!(format!("{:?}", a.new_ledger), format!("{:?}", b.new_ledger));
    // Sorted by (fnr, kommune, kode, ar) [model (h)].
    assert!(a.lines.windows(2).all(|w| w[0].key < w[1].key));
}
