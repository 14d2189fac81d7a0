//! `explain` on engine values: for a person with moves and a ledger, the trail's lines are exactly the
//! person's `grunnlag.csv` lines, and the trail shows every rule step with its id.

#[path = "termin_support/mod.rs"]
mod termin_support;
use termin_support::*;
use tilskudd::cmd::explain::explain;
use tilskudd::domain::engine::{Engine, Params};
use tilskudd::output::basis::write_grunnlag;

#[test]
fn explain_for_a_person_with_a_move_reproduces_their_grunnlag_lines() {
    let p = person("1980-01-01", 0, "2023-06-01", "0301");
    let o = person("1980-01-01", 1, "2023-06-01", "0301");
    let ex1 = extract(vec![p.clone(), o.clone()], vec![]);
    let q1 = run("2024-Q1", &ex1, &[]);
    let ledger = as_read(&q1.new_ledger);
    let ex = extract(
        vec![p.clone(), o.clone()],
        vec![mv(&p, "2024-01-15", "4601"), mv(&p, "2024-04-20", "5001")],
    );
    let rt = rates();
    let engine = Engine::new(Params::new(t("2024-Q2"), None, 2021), &ex, &rt, &ledger);
    let result = engine.run(None).unwrap();
    let (text, lines) = explain(&engine, Some(&result), None, p.fnr).unwrap();
    println!("{text}");

    // Same lines as the run.
    let from_run: Vec<_> = result
        .lines
        .iter()
        .filter(|l| l.key.fnr == p.fnr)
        .cloned()
        .collect();
    assert_eq!(lines, from_run);
    // And the same grunnlag.csv text: the file's rows for this person, byte for byte.
    let mut file = Vec::new();
    write_grunnlag(&mut file, &result).unwrap();
    let file = String::from_utf8(file).unwrap();
    let file_rows: Vec<&str> = file
        .lines()
        .filter(|l| l.contains(p.fnr.as_str()))
        .collect();
    let mut mine = Vec::new();
    let mut r2 = result.clone();
    r2.lines = lines.clone();
    write_grunnlag(&mut mine, &r2).unwrap();
    let mine = String::from_utf8(mine).unwrap();
    assert_eq!(mine.lines().skip(1).collect::<Vec<_>>(), file_rows);
    // AR-2 2024 = 124800 → 10400/month. m1–m2 → 0301 (20800, 31200 paid in Q1 → −10400);
    // m3–m5 read 31.01, 29.02, 31.03 → 4601 (31200); m6 reads 30.04 → 5001 (10400).
    assert_eq!(file_rows.len(), 4); // AR-1 EV 2023 (0301) + AR-2 2024 in 0301, 4601, 5001
    assert!(file_rows.iter().any(|r| r.ends_with(
        ",AR-2,2,2024,2,124800.00,20800.00,31200.00,-10400.00,IT-6|IT-7|IT-10|IT-12|IT-13|T-2"
    )));
    assert!(file_rows
        .iter()
        .any(|r| r.contains(",4601,") && r.contains(",31200.00,0.00,31200.00,")));
    assert!(file_rows
        .iter()
        .any(|r| r.contains(",5001,") && r.contains(",10400.00,0.00,10400.00,")));
    // The trail names the rules and shows the month table and the masked number only.
    for id in [
        "[IT-1]", "[IT-2]", "[IT-3]", "[IT-6]", "[IT-8]", "[IT-9]", "[IT-10]", "[T-3]",
    ] {
        assert!(text.contains(id), "{id} missing in\n{text}");
    }
    assert!(text.contains("2024-03  2024-01-31     4601"));
    assert!(!text.contains(p.fnr.as_str()));
    assert!(text.contains("paid 2024-Q1 31200.00"));
}

#[test]
fn explain_an_excluded_person_and_one_only_in_the_ledger() {
    let mut p = person("1975-09-09", 0, "2019-06-01", "0301");
    p.line = 7;
    let gone = person("1980-01-01", 1, "2024-01-10", "0301");
    let q1 = run("2024-Q1", &extract(vec![gone.clone()], vec![]), &[]);
    let ledger = as_read(&q1.new_ledger);
    let ex = extract(vec![p.clone()], vec![]);
    let rt = rates();
    let engine = Engine::new(Params::new(t("2024-Q2"), None, 2021), &ex, &rt, &ledger);
    let (text, lines) = explain(&engine, None, None, p.fnr).unwrap();
    assert!(lines.is_empty());
    assert!(text.contains("=> OUT: krever_soknad (IT-3)"), "{text}");
    let (text, lines) = explain(&engine, None, None, gone.fnr).unwrap();
    assert!(lines.is_empty());
    assert!(text.contains("not in the DSF extract"), "{text}");
    assert!(explain(&engine, None, None, fnr("1999-09-09", 0)).is_err());
}
