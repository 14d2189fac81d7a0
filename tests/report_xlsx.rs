//! rapport.xlsx (issue 4): read back with calamine — sheets, totals computed by hand, amounts as numeric
//! cells, dates as date cells, masked person numbers (SPEC §6), rate status for T-5.

mod payment_fixture;

use calamine::{open_workbook_from_rs, Data, DataType, Range, Reader, Xlsx};
use payment_fixture::*;
use std::io::Cursor;
use tilskudd::domain::avvik::Avvik;
use tilskudd::domain::rates::RateStatus;
use tilskudd::output::xlsx::{report_xlsx_bytes, write_report_xlsx, SHEETS};
use tilskudd::output::OutputDir;

fn open(bytes: Vec<u8>) -> Xlsx<Cursor<Vec<u8>>> {
    open_workbook_from_rs(Cursor::new(bytes)).expect("a valid xlsx")
}

fn header(r: &Range<Data>) -> Vec<String> {
    r.rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect()
}

fn col(r: &Range<Data>, name: &str) -> usize {
    header(r)
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

fn num(c: &Data) -> f64 {
    match c {
        Data::Float(f) => *f,
        Data::Int(i) => *i as f64,
        other => panic!("not a numeric cell: {other:?}"),
    }
}

#[test]
fn report_sheets_totals_numbers_and_dates() {
    let mut r = q3();
    r.avvik.push(
        Avvik::rejected(
            "dsf/personer.csv",
            Some(7),
            Some("fnr"),
            "utenfor_malgruppe",
            "utenfor".into(),
        )
        .with_fnr(Some(p_oslo_ev())),
    );
    let d = tempfile::tempdir().unwrap();
    let mut out = OutputDir::create(d.path()).unwrap();
    write_report_xlsx(
        &mut out,
        "rapport.xlsx",
        &r,
        &q3_rates(RateStatus::Forslag),
        None,
    )
    .unwrap();
    out.commit().unwrap();
    let mut wb = open(std::fs::read(d.path().join("rapport.xlsx")).unwrap());
    assert_eq!(wb.sheet_names(), SHEETS.map(String::from).to_vec());

    let s = wb.worksheet_range("Sammendrag").unwrap();
    let rows: Vec<&[Data]> = s.rows().collect();
    // Header + 8 (municipality, code) rows + totals row.
    assert_eq!(rows.len(), 10);
    let (ca, co, ct, ck) = (
        col(&s, "a_utbetale"),
        col(&s, "opptjent"),
        col(&s, "tidligere_utbetalt"),
        col(&s, "kommunenummer"),
    );
    let total = rows[9];
    assert_eq!(total[0].to_string(), "Sum");
    // Σ a_utbetale: paid 614 233.33 + Bergen 21 000 + Stavanger 180 600 − Trondheim 10 000 = 805 833.33.
    assert_eq!(num(&total[ca]), 805833.33);
    // Σ opptjent: 241100 + 172500 + 8333.33 + 838500 + 27800 + 63000 + 0 + 180600 = 1 531 833.33.
    assert_eq!(num(&total[co]), 1531833.33);
    // Σ tidligere: 115000 + 559000 + 42000 + 10000 = 726 000.
    assert_eq!(num(&total[ct]), 726000.0);
    // Every data row: amounts numeric, basis date a date cell, municipality code text with leading zero.
    for row in &rows[1..9] {
        for c in [ca, co, ct] {
            assert!(matches!(row[c], Data::Float(_)), "{:?}", row[c]);
        }
        let g = &row[col(&s, "grunnlagsdato")];
        assert!(matches!(g, Data::DateTime(_)), "{g:?}");
        assert_eq!(g.as_date(), Some(date(2024, 9, 30)));
    }
    assert_eq!(rows[1][ck].to_string(), "0301");
    assert_eq!(rows[1][col(&s, "kode")].to_string(), "AR-1 EV");
    // Oslo's two codes: AR-1 EV 241 100.00 and AR-2 57 500.00.
    assert_eq!(num(&rows[1][ca]), 241100.0);
    assert_eq!(num(&rows[2][ca]), 57500.0);
    assert_eq!(rows[1][col(&s, "navn")].to_string(), "Oslo");

    // Linjer: 8 lines, masked fnr only.
    let l = wb.worksheet_range("Linjer").unwrap();
    assert_eq!(l.rows().count(), 9);
    let cf = col(&l, "fnr");
    let full = p_oslo_ev().to_string();
    for row in l.rows().skip(1) {
        assert!(row[cf].to_string().ends_with("*****"), "{}", row[cf]);
        assert!(matches!(row[col(&l, "sats")], Data::Float(_)));
        assert!(matches!(row[col(&l, "ar")], Data::Float(_)));
    }
    for name in SHEETS {
        let r = wb.worksheet_range(name).unwrap();
        for c in r.used_cells() {
            assert!(!c.2.to_string().contains(&full), "full fnr in {name}");
        }
    }
    // Bø's line: 8 333.33 with its øre.
    let bo = l
        .rows()
        .find(|r| r[col(&l, "kommunenummer")].as_string().as_deref() == Some("1867"))
        .unwrap();
    assert_eq!(num(&bo[col(&l, "a_utbetale")]), 8333.33);
    assert!(bo[col(&l, "maneder")] == Data::Float(1.0));

    let a = wb.worksheet_range("Avvik").unwrap();
    assert_eq!(a.rows().count(), 2);
    let arow = a.rows().nth(1).unwrap();
    assert_eq!(arow[col(&a, "fnr")].to_string(), p_oslo_ev().masked());
    assert_eq!(num(&arow[col(&a, "linje")]), 7.0);

    // Satser: the 7 rates used; EMINB is forslag → vedtatt = nei (T-5 says which rates are not adopted).
    let sa = wb.worksheet_range("Satser").unwrap();
    assert_eq!(sa.rows().count(), 8);
    let em = sa
        .rows()
        .find(|r| r[col(&sa, "kode")].as_string().as_deref() == Some("EMINB"))
        .unwrap();
    assert_eq!(em[col(&sa, "status")].to_string(), "forslag");
    assert_eq!(em[col(&sa, "vedtatt")].to_string(), "nei");
    assert_eq!(num(&em[col(&sa, "belop")]), 1118000.0);
    assert_eq!(em[col(&sa, "kilde")].to_string(), "testkilde EMINB 2024");
    assert_eq!(num(&em[col(&sa, "ar")]), 2024.0);
}

#[test]
fn report_is_byte_identical_across_runs() {
    let a = report_xlsx_bytes(&q3(), &q3_rates(RateStatus::Vedtatt), None).unwrap();
    let b = report_xlsx_bytes(&q3(), &q3_rates(RateStatus::Vedtatt), None).unwrap();
    assert_eq!(a, b);
}

#[test]
fn report_with_no_lines_still_has_all_sheets() {
    let r = result("2024-Q1", vec![], &[]);
    let mut wb = open(report_xlsx_bytes(&r, &q3_rates(RateStatus::Vedtatt), None).unwrap());
    assert_eq!(wb.sheet_names().len(), 4);
    let s = wb.worksheet_range("Sammendrag").unwrap();
    // Header and a totals row of zero.
    let rows: Vec<&[Data]> = s.rows().collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(num(&rows[1][col(&s, "a_utbetale")]), 0.0);
}
