//! Shared test data for the input tests: one small synthetic extract written as CSV (UTF-8, `,`, ISO
//! dates), as CSV (Windows-1252, `;`, DD.MM.YYYY, other boolean spellings and header spellings) and as an
//! `.xlsx` workbook with real date, number and boolean cells. All person numbers are synthetic (month + 80).
#![allow(dead_code)]

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use std::path::{Path, PathBuf};
use tilskudd::domain::ids::Fnr;
use tilskudd::domain::kommune::KommuneRegister;
use tilskudd::input::LoadOptions;

/// The first valid synthetic number `first6` + individual number from `lo` upwards.
pub fn fnr(first6: &str, lo: u16) -> String {
    (lo..1000)
        .find_map(|i| Fnr::with_control_digits(&format!("{first6}{i:03}")))
        .map(|f| f.to_string())
        .expect("some individual number gives valid control digits")
}

/// A number with a wrong second control digit (ID-1).
pub fn bad_control(valid: &str) -> String {
    let mut b = valid.as_bytes().to_vec();
    b[10] = if b[10] == b'9' { b'0' } else { b[10] + 1 };
    String::from_utf8(b).unwrap()
}

pub fn opts(run_year: i32) -> LoadOptions<'static> {
    LoadOptions {
        run_year,
        reject_synthetic: false,
        kommuner: None,
        ledger_before: None,
    }
}

pub fn opts_with(reg: &KommuneRegister) -> LoadOptions<'_> {
    LoadOptions {
        run_year: 2024,
        reject_synthetic: false,
        kommuner: Some(reg),
        ledger_before: None,
    }
}

pub const PERSON_COLS: [&str; 17] = [
    "fnr",
    "duf",
    "fodselsdato",
    "bosettingsdato",
    "bosettingskommune",
    "sak_id",
    "malgruppe",
    "bosatt_etter_avtale",
    "enslig_mindrearig",
    "mor_fnr",
    "referanse_fnr",
    "familie_soknadsdato",
    "registrert_dato",
    "dodsdato",
    "utvandringsdato",
    "gjenforent_dato",
    "tidligere_utlost",
];

pub const MOVE_COLS: [&str; 4] = ["fnr", "flyttedato", "til_kommune", "fra_kommune"];

const DATE_COLS: [&str; 9] = [
    "fodselsdato",
    "bosettingsdato",
    "familie_soknadsdato",
    "registrert_dato",
    "dodsdato",
    "utvandringsdato",
    "gjenforent_dato",
    "flyttedato",
    "gyldig_fra",
];
const BOOL_COLS: [&str; 3] = [
    "bosatt_etter_avtale",
    "enslig_mindrearig",
    "tidligere_utlost",
];
const KNR_COLS: [&str; 3] = ["bosettingskommune", "til_kommune", "fra_kommune"];

/// The small extract: ~10 persons, 4 moves, values in canonical form (ISO dates, ja/nei).
pub struct Small {
    pub persons: Vec<Vec<String>>,
    pub moves: Vec<Vec<String>>,
}

pub fn small() -> Small {
    let p1 = fnr("018185", 100); // 01.01.1985
    let p2 = fnr("158387", 100); // 15.03.1987
    let p3 = fnr("208615", 500); // 20.06.2015 (individ 500–999, year 15 → 2000s)
    let p4 = fnr("028207", 500); // 02.02.2007, unaccompanied minor
    let p5 = fnr("309150", 100); // 30.11.1950, dies 2023
    let p6 = fnr("418190", 100); // D-nummer, 01.01.1990
    let p7 = fnr("319295", 100); // 31.12.1995
    let p8 = fnr("018722", 500); // 01.07.2022, newborn of p2
    let p9 = fnr("298200", 500); // 29.02.2000 (leap year in the 2000s rule)
    let p10 = fnr("109099", 100); // 10.10.1999
    let row = |v: [&str; 17]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let persons = vec![
        row([
            &p1,
            "",
            "1985-01-01",
            "2022-03-15",
            "0301",
            "S1",
            "flyktning",
            "ja",
            "nei",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "nei",
        ]),
        row([
            &p2,
            "",
            "",
            "2022-03-15",
            "0301",
            "S1",
            "familie_flyktning",
            "ja",
            "nei",
            "",
            &p1,
            "2021-12-01",
            "",
            "",
            "",
            "",
            "nei",
        ]),
        row([
            &p3,
            "",
            "2015-06-20",
            "2022-03-15",
            "0301",
            "S1",
            "flyktning",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ]),
        row([
            &p4,
            "",
            "",
            "2023-01-10",
            "5001",
            "S2",
            "flyktning",
            "ja",
            "ja",
            "",
            "",
            "",
            "",
            "",
            "",
            "2024-05-01",
            "nei",
        ]),
        row([
            &p5,
            "",
            "",
            "2021-05-05",
            "1103",
            "S3",
            "flyktning",
            "ja",
            "nei",
            "",
            "",
            "",
            "",
            "2023-08-31",
            "",
            "",
            "nei",
        ]),
        row([
            &p6,
            "",
            "",
            "2024-02-01",
            "4601",
            "S4",
            "flyktning",
            "ja",
            "nei",
            "",
            "",
            "",
            "",
            "",
            "2024-06-30",
            "",
            "nei",
        ]),
        row([
            &p7,
            "",
            "",
            "2023-09-01",
            "0301",
            "S5",
            "familie_humanitar",
            "ja",
            "nei",
            "",
            "",
            "",
            "2023-10-15",
            "",
            "",
            "",
            "nei",
        ]),
        row([
            &p8,
            "",
            "",
            "2022-07-01",
            "0301",
            "S1",
            "flyktning",
            "ja",
            "nei",
            &p2,
            "",
            "",
            "",
            "",
            "",
            "",
            "nei",
        ]),
        row([
            &p9,
            "",
            "",
            "2021-01-15",
            "5001",
            "S6",
            "utenfor",
            "ja",
            "nei",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "ja",
        ]),
        row([
            &p10,
            "202312345678",
            "",
            "2024-01-01",
            "1103",
            "S7",
            "flyktning",
            "nei",
            "nei",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "nei",
        ]),
    ];
    let mv = |v: [&str; 4]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let moves = vec![
        mv([&p1, "2023-02-01", "5001", "0301"]),
        mv([&p2, "2023-02-01", "5001", ""]),
        mv([&p4, "2023-06-15", "0301", "5001"]),
        mv([&p1, "2024-03-01", "1103", "5001"]),
    ];
    Small { persons, moves }
}

pub fn kommuner_csv() -> &'static str {
    "kommunenummer,navn,orgnr,kontonummer,gyldig_fra,gyldig_til\n\
     0301,Oslo,987879696,12345678903,,\n\
     5001,Trondheim,987879696,1234.56.78903,2018-01-01,\n\
     1103,Stavanger,987879696,12345678903,,\n\
     4601,Bergen,987879696,12345678903,2020-01-01,\n"
}

fn csv_quote(s: &str, delim: char) -> String {
    if s.contains(delim) || s.contains('"') || s.contains('\n') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn to_csv(header: &[&str], rows: &[Vec<String>], delim: char) -> String {
    let mut s = String::new();
    s.push_str(
        &header
            .iter()
            .map(|h| csv_quote(h, delim))
            .collect::<Vec<_>>()
            .join(&delim.to_string()),
    );
    s.push('\n');
    for r in rows {
        s.push_str(
            &r.iter()
                .map(|v| csv_quote(v, delim))
                .collect::<Vec<_>>()
                .join(&delim.to_string()),
        );
        s.push('\n');
    }
    s
}

/// Windows-1252 bytes of a text (every character used here exists in Windows-1252).
pub fn win1252(s: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(s);
    assert!(
        !unmappable,
        "test text must be representable in Windows-1252"
    );
    bytes.into_owned()
}

fn iso_to_norwegian(s: &str) -> String {
    if s.len() == 10 && s.as_bytes()[4] == b'-' {
        format!("{}.{}.{}", &s[8..10], &s[5..7], &s[..4])
    } else {
        s.to_string()
    }
}

/// The Windows-1252 variant of a table: `;`, DD.MM.YYYY, `j`/`x` for yes and `n`/empty for no,
/// headers in other spellings (`Fødselsdato`, `MÅLGRUPPE`, ` Bosatt_Etter_Avtale `).
pub fn variant_b(header: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let hdr: Vec<String> = header
        .iter()
        .map(|h| match *h {
            "fodselsdato" => "Fødselsdato".to_string(),
            "malgruppe" => "MÅLGRUPPE".to_string(),
            "enslig_mindrearig" => "Enslig_mindreårig".to_string(),
            "bosatt_etter_avtale" => " Bosatt_Etter_Avtale ".to_string(),
            h => h.to_uppercase(),
        })
        .collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .enumerate()
        .map(|(ri, r)| {
            r.iter()
                .zip(header)
                .map(|(v, h)| {
                    if DATE_COLS.contains(h) {
                        iso_to_norwegian(v)
                    } else if BOOL_COLS.contains(h) {
                        match (v.as_str(), ri % 2) {
                            ("ja", 0) => "x".into(),
                            ("ja", _) => "J".into(),
                            ("nei", 0) => "".into(),
                            ("nei", _) => "n".into(),
                            (o, _) => o.into(),
                        }
                    } else if *h == "malgruppe" && v == "familie_humanitar" {
                        "Familie_Humanitær".into()
                    } else {
                        v.clone()
                    }
                })
                .collect()
        })
        .collect();
    let hdr_ref: Vec<&str> = hdr.iter().map(String::as_str).collect();
    win1252(&to_csv(&hdr_ref, &rows, ';'))
}

fn write_sheet(
    wb: &mut Workbook,
    name: &str,
    header: &[&str],
    rows: &[Vec<String>],
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let date_fmt = Format::new().set_num_format("dd.mm.yyyy");
    let ws = wb.add_worksheet();
    ws.set_name(name)?;
    for (c, h) in header.iter().enumerate() {
        ws.write_string(0, c as u16, *h)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, (v, h)) in row.iter().zip(header).enumerate() {
            let c = c as u16;
            if v.is_empty() {
                continue;
            }
            if DATE_COLS.contains(h) {
                let y: u16 = v[..4].parse().unwrap();
                let m: u8 = v[5..7].parse().unwrap();
                let d: u8 = v[8..10].parse().unwrap();
                ws.write_datetime_with_format(r, c, &ExcelDateTime::from_ymd(y, m, d)?, &date_fmt)?;
            } else if BOOL_COLS.contains(h) {
                ws.write_boolean(r, c, v == "ja")?;
            } else if KNR_COLS.contains(h) {
                // A numeric cell: Excel drops the leading zero of 0301.
                ws.write_number(r, c, v.parse::<f64>().unwrap())?;
            } else {
                ws.write_string(r, c, v)?;
            }
        }
    }
    Ok(())
}

/// The workbook variant: sheets `Personer` and `FLYTTINGER` (names matched case-insensitively).
pub fn write_xlsx(path: &Path, s: &Small) {
    let mut wb = Workbook::new();
    write_sheet(&mut wb, "Personer", &PERSON_COLS, &s.persons).unwrap();
    write_sheet(&mut wb, "FLYTTINGER", &MOVE_COLS, &s.moves).unwrap();
    wb.save(path).unwrap();
}

/// Writes the three variants under `dir`: `a/` (UTF-8 `,`), `b/` (Windows-1252 `;`), `c.xlsx`.
pub fn write_all(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let s = small();
    let a = dir.join("a");
    let b = dir.join("b");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    std::fs::write(
        a.join("personer.csv"),
        to_csv(&PERSON_COLS, &s.persons, ','),
    )
    .unwrap();
    std::fs::write(a.join("flyttinger.csv"), to_csv(&MOVE_COLS, &s.moves, ',')).unwrap();
    std::fs::write(b.join("personer.csv"), variant_b(&PERSON_COLS, &s.persons)).unwrap();
    std::fs::write(b.join("flyttinger.csv"), variant_b(&MOVE_COLS, &s.moves)).unwrap();
    let c = dir.join("c.xlsx");
    write_xlsx(&c, &s);
    (a, b, c)
}
