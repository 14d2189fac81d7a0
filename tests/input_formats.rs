//! SPEC §1.1 reader conventions: the same extract as UTF-8/`,`/ISO, as Windows-1252/`;`/DD.MM.YYYY and as
//! an `.xlsx` workbook (real date, number and boolean cells) yields identical accepted rows; BOM, decimal
//! commas in a Windows-1252 `;` file, Excel numeric amounts.

mod input_support;

use input_support::*;
use rust_decimal::Decimal;
use std::str::FromStr;
use tilskudd::domain::ids::Knr;
use tilskudd::domain::person::Malgruppe;
use tilskudd::domain::rates::{RateCode, RateStatus};
use tilskudd::input::{load_dsf, load_kommuner, load_rates};

fn d(y: i32, m: u32, day: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

#[test]
fn same_extract_in_three_formats_gives_identical_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = write_all(dir.path());
    let reg_path = dir.path().join("kommuner.csv");
    std::fs::write(&reg_path, kommuner_csv()).unwrap();
    let reg = load_kommuner(&reg_path).unwrap();
    let o = opts_with(&reg.data);
    let la = load_dsf(&a, &o).unwrap();
    let lb = load_dsf(&b, &o).unwrap();
    let lc = load_dsf(&c, &o).unwrap();
    for (name, l) in [("utf8", &la), ("win1252", &lb), ("xlsx", &lc)] {
        let rejected: Vec<String> = l.avvik.iter().map(|a| a.to_string()).collect();
        assert!(rejected.is_empty(), "{name}: {rejected:#?}");
        // 10 persons and 4 moves, all valid.
        assert_eq!(l.data.personer.len(), 10, "{name}");
        assert_eq!(l.data.flyttinger.len(), 4, "{name}");
        assert_eq!(l.stats[0].read, 10, "{name}");
        assert_eq!(l.stats[0].accepted, 10, "{name}");
        // Every number in the small extract is synthetic (month + 80).
        assert_eq!(l.stats[0].synthetic, 10, "{name}");
        assert_eq!(l.files.len(), if name == "xlsx" { 1 } else { 2 });
        assert_eq!(l.files[0].sha256.len(), 64);
    }
    assert_eq!(la.data.personer, lb.data.personer);
    assert_eq!(la.data.personer, lc.data.personer);
    assert_eq!(la.data.flyttinger, lb.data.flyttinger);
    assert_eq!(la.data.flyttinger, lc.data.flyttinger);
    // Display names: a CSV file by its path, a sheet as file.xlsx[sheet] (sheet name as in the workbook).
    assert!(la.data.personer_file.ends_with("a/personer.csv"));
    assert!(lc.data.personer_file.ends_with("c.xlsx[Personer]"));
    assert_eq!(
        lc.data
            .flyttinger_file
            .as_deref()
            .map(|f| f.ends_with("c.xlsx[FLYTTINGER]")),
        Some(true)
    );
    // The xlsx workbook counts as one input file with all its rows: 10 persons + 4 moves.
    assert_eq!(lc.files[0].rows, 14);

    // Spot-check values against the source table (not against another reader).
    let p = &la.data.personer;
    assert_eq!(p[0].fodselsdato, d(1985, 1, 1));
    assert_eq!(p[0].bosettingsdato, d(2022, 3, 15));
    assert_eq!(p[0].bosettingskommune, Knr::parse("0301").unwrap());
    assert_eq!(p[0].line, 2);
    // fodselsdato absent → from fnr (15.03.1987); registrert_dato absent → bosettingsdato.
    assert_eq!(p[1].fodselsdato, d(1987, 3, 15));
    assert_eq!(p[1].registrert_dato, d(2022, 3, 15));
    assert_eq!(p[1].malgruppe, Malgruppe::FamilieFlyktning);
    assert_eq!(p[1].referanse_fnr, Some(p[0].fnr));
    // Defaults: bosatt_etter_avtale ja, enslig_mindrearig nei, tidligere_utlost nei.
    assert!(p[2].bosatt_etter_avtale && !p[2].enslig_mindrearig && !p[2].tidligere_utlost);
    assert!(p[3].enslig_mindrearig);
    assert_eq!(p[3].gjenforent_dato, Some(d(2024, 5, 1)));
    assert_eq!(p[4].dodsdato, Some(d(2023, 8, 31)));
    assert_eq!(p[5].fodselsdato, d(1990, 1, 1)); // D-nummer: day 41 − 40
    assert_eq!(p[6].malgruppe, Malgruppe::FamilieHumanitar);
    assert_eq!(p[6].registrert_dato, d(2023, 10, 15));
    assert_eq!(p[7].mor_fnr, Some(p[1].fnr));
    assert_eq!(p[8].fodselsdato, d(2000, 2, 29));
    assert!(p[8].tidligere_utlost);
    assert!(!p[9].bosatt_etter_avtale);
    assert_eq!(
        p[9].duf.map(|x| x.to_string()).as_deref(),
        Some("202312345678")
    );
    let m = &la.data.flyttinger;
    assert_eq!(m[3].flyttedato, d(2024, 3, 1));
    assert_eq!(m[3].til_kommune, Knr::parse("1103").unwrap());
    assert_eq!(m[3].fra_kommune, Some(Knr::parse("5001").unwrap()));
    assert_eq!(m[1].fra_kommune, None);
    assert_eq!(m[3].line, 5);
}

#[test]
fn utf8_with_bom_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let s = small();
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend(to_csv(&PERSON_COLS, &s.persons, ';').into_bytes());
    std::fs::write(dir.path().join("personer.csv"), bytes).unwrap();
    let l = load_dsf(dir.path(), &opts(2024)).unwrap();
    // The BOM must not end up in the first header name ("\u{feff}fnr" would be a missing column).
    assert_eq!(l.data.personer.len(), 10);
    assert!(l.avvik.is_empty(), "{:?}", l.avvik);
    assert_eq!(l.data.flyttinger_file, None);
}

#[test]
fn windows_1252_semicolon_rates_with_decimal_commas() {
    let dir = tempfile::tempdir().unwrap();
    // Windows-1252: ø, «», – are single bytes (0xF8, 0xAB/0xBB, 0x96); amounts with decimal commas and
    // space / no-break space thousands separators in a `;` file need no quoting.
    let text = "ar;kode;belop;status;kilde\r\n\
                2017;AR-1 EV;235 000,00;vedtatt;IMDi «Bosetting og kommuneøkonomi» – 2017\r\n\
                2017;AR-5;70500,5;eksempel;\r\n\
                2017;BHT;25\u{a0}100;forslag;Prop. 1 S\r\n\
                2021;FHT-FRIST-MND;1;vedtatt;Rundskriv 05/2021\r\n";
    let bytes = win1252(text);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the file must not be valid UTF-8"
    );
    let f = dir.path().join("satser.csv");
    std::fs::write(&f, bytes).unwrap();
    let l = load_rates(&[f]).unwrap();
    assert!(l.avvik.is_empty(), "{:?}", l.avvik);
    let r = l.data.get(2017, RateCode::Ar1Ev).unwrap();
    // "235 000,00" → 235000.00 exactly.
    assert_eq!(r.belop, Decimal::from_str("235000.00").unwrap());
    assert_eq!(r.status, RateStatus::Vedtatt);
    assert_eq!(r.kilde, "IMDi «Bosetting og kommuneøkonomi» – 2017");
    assert!(r.origin.ends_with("satser.csv:2"), "{}", r.origin);
    // "70500,5" → 70500.5; "25 100" with a no-break space → 25100.
    assert_eq!(
        l.data.get(2017, RateCode::Ar5).unwrap().belop,
        Decimal::from_str("70500.5").unwrap()
    );
    assert_eq!(
        l.data.get(2017, RateCode::Bht).unwrap().belop,
        Decimal::from(25100)
    );
    assert_eq!(l.stats[0].read, 4);
}

#[test]
fn xlsx_rates_with_numeric_cells_and_a_rates_folder() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("rates");
    std::fs::create_dir(&folder).unwrap();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Satser").unwrap();
    for (c, h) in ["AR", "Kode", "Beløp", "Status", "Kilde"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_number(1, 0, 2024).unwrap();
    ws.write_string(1, 1, "AR-1 EV").unwrap();
    ws.write_number(1, 2, 241100.1).unwrap();
    ws.write_string(1, 3, "eksempel").unwrap();
    wb.save(folder.join("b.xlsx")).unwrap();
    std::fs::write(
        folder.join("a.csv"),
        "ar,kode,belop,status,kilde\n2024,AR-2,\"1 234,50\",eksempel,\n",
    )
    .unwrap();
    std::fs::write(folder.join("notes.txt"), "not a table").unwrap();
    let l = load_rates(&[folder]).unwrap();
    assert!(l.avvik.is_empty(), "{:?}", l.avvik);
    // Files read sorted by name: a.csv, then b.xlsx; the .txt is not a table.
    assert_eq!(l.files.len(), 2);
    assert!(l.files[0].path.ends_with("a.csv"));
    assert!(l.stats[1].file.ends_with("b.xlsx[Satser]"));
    // A numeric cell 241100.1 becomes exactly 241100.1 (its shortest round-trip form), not 241100.100000000006.
    assert_eq!(
        l.data.get(2024, RateCode::Ar1Ev).unwrap().belop,
        Decimal::from_str("241100.1").unwrap()
    );
    assert_eq!(
        l.data.get(2024, RateCode::Ar2).unwrap().belop,
        Decimal::from_str("1234.50").unwrap()
    );
    assert!(l
        .data
        .get(2024, RateCode::Ar1Ev)
        .unwrap()
        .origin
        .ends_with("b.xlsx[Satser]:2"));
}

/// A one-table workbook without a sheet named like the table is read from its only sheet with data; with
/// two such sheets it is refused naming them (only the first was read, and the rows of the second vanished:
/// a ledger split over `Ark1` and `Ark2` paid the second half again).
#[test]
fn workbook_without_the_named_sheet_is_read_only_when_one_sheet_holds_data() {
    let dir = tempfile::tempdir().unwrap();
    let rates = |path: &std::path::Path, sheets: &[(&str, &[(&str, f64)])]| {
        let mut wb = rust_xlsxwriter::Workbook::new();
        for (name, rows) in sheets {
            let ws = wb.add_worksheet();
            ws.set_name(*name).unwrap();
            if rows.is_empty() {
                continue;
            }
            for (c, h) in ["ar", "kode", "belop", "status"].iter().enumerate() {
                ws.write_string(0, c as u16, *h).unwrap();
            }
            for (r, (kode, belop)) in rows.iter().enumerate() {
                let r = r as u32 + 1;
                ws.write_number(r, 0, 2024).unwrap();
                ws.write_string(r, 1, *kode).unwrap();
                ws.write_number(r, 2, *belop).unwrap();
                ws.write_string(r, 3, "eksempel").unwrap();
            }
        }
        wb.save(path).unwrap();
    };
    let split = dir.path().join("split.xlsx");
    rates(
        &split,
        &[("Ark1", &[("AR-2", 1.0)]), ("Ark2", &[("AR-3", 2.0)])],
    );
    let e = load_rates(&[split]).unwrap_err().to_string();
    assert!(
        e.contains("no sheet named 'satser'") && e.contains("2 sheets hold data (Ark1, Ark2)"),
        "{e}"
    );

    // The data on the second sheet, empty sheets around it: read.
    let one = dir.path().join("one.xlsx");
    rates(
        &one,
        &[
            ("Ark1", &[]),
            ("Ark2", &[("AR-2", 1.0), ("AR-3", 2.0)]),
            ("Ark3", &[]),
        ],
    );
    let l = load_rates(&[one]).unwrap();
    assert!(l.avvik.is_empty(), "{:?}", l.avvik);
    assert!(
        l.stats[0].file.ends_with("one.xlsx[Ark2]"),
        "{}",
        l.stats[0].file
    );
    assert_eq!(l.stats[0].accepted, 2);
}

#[test]
fn excel_text_dates_in_both_forms_and_sheet_row_numbers() {
    // A sheet whose table does not start in A1 still reports sheet row numbers.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("dsf.xlsx");
    let f1 = fnr("018185", 100);
    let f2 = fnr("158387", 100);
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("personer").unwrap();
    let hdr = [
        "fnr",
        "bosettingsdato",
        "bosettingskommune",
        "sak_id",
        "malgruppe",
    ];
    for (c, h) in hdr.iter().enumerate() {
        ws.write_string(2, c as u16, *h).unwrap(); // header in row 3
    }
    for (r, (f, date)) in [(&f1, "15.03.2022"), (&f2, "31.02.2022")]
        .iter()
        .enumerate()
    {
        let r = r as u32 + 3;
        ws.write_string(r, 0, f.as_str()).unwrap();
        ws.write_string(r, 1, *date).unwrap();
        ws.write_string(r, 2, "0301").unwrap();
        ws.write_string(r, 3, "S1").unwrap();
        ws.write_string(r, 4, "flyktning").unwrap();
    }
    wb.save(&p).unwrap();
    let l = load_dsf(&p, &opts(2024)).unwrap();
    assert_eq!(l.data.personer.len(), 1);
    assert_eq!(l.data.personer[0].bosettingsdato, d(2022, 3, 15));
    // Header in sheet row 3 → data in rows 4 and 5; 31.02.2022 does not exist.
    assert_eq!(l.data.personer[0].line, 4);
    let kinds: Vec<(Option<u64>, &str)> =
        l.avvik.iter().map(|a| (a.linje, a.kode.as_str())).collect();
    assert_eq!(kinds, vec![(Some(5), "dato_finnes_ikke")]);
    assert_eq!(
        l.avvik[0]
            .to_string()
            .split(':')
            .next()
            .map(|s| s.ends_with("dsf.xlsx[personer]")),
        Some(true)
    );
}

#[test]
fn unknown_columns_are_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    let f = fnr("018185", 100);
    std::fs::write(
        dir.path().join("personer.csv"),
        format!("fnr,bosettingsdato,bosettingskommune,sak_id,malgruppe,kommentar,Ekstra\n{f},2022-03-15,0301,S1,flyktning,hei,1\n"),
    )
    .unwrap();
    let l = load_dsf(dir.path(), &opts(2024)).unwrap();
    assert_eq!(l.data.personer.len(), 1);
    assert_eq!(l.avvik.len(), 1);
    assert_eq!(l.avvik[0].kode, "ukjent_kolonne");
    assert_eq!(l.avvik[0].linje, Some(1));
    assert!(
        l.avvik[0].melding.contains("kommentar, Ekstra"),
        "{}",
        l.avvik[0].melding
    );
}

/// Each avvik's line, column and code.
fn placed(avvik: &[tilskudd::domain::avvik::Avvik]) -> Vec<(Option<u64>, Option<&str>, &str)> {
    avvik
        .iter()
        .map(|a| (a.linje, a.kolonne.as_deref(), a.kode.as_str()))
        .collect()
}

#[test]
fn quoted_fields_per_rfc4180() {
    let dir = tempfile::tempdir().unwrap();
    let f = fnr("018185", 100);
    // A quoted sak_id holding the delimiter and a doubled quote is read; one holding a line break is
    // rejected (no identifier holds one: it is a stray quote joining lines, docs/input.md), and the
    // next record's line number accounts for the two physical lines of that one.
    let (g, h) = (fnr("158387", 100), fnr("158388", 100));
    std::fs::write(
        dir.path().join("personer.csv"),
        format!(
            "fnr,bosettingsdato,bosettingskommune,sak_id,malgruppe\n\
             {f},2022-03-15,0301,\"S,1 \"\"a\"\"\",flyktning\n\
             {g},2022-03-15,0301,\"S2\nb\",flyktning\n\
             {h},2022-03-15,0301,S3,ukjent\n"
        ),
    )
    .unwrap();
    let l = load_dsf(dir.path(), &opts(2024)).unwrap();
    assert_eq!(l.data.personer.len(), 1);
    assert_eq!(l.data.personer[0].sak_id, "S,1 \"a\"");
    // Record 3 starts on line 3 and runs to line 4; record 4 starts on physical line 5.
    let got = placed(&l.avvik);
    assert_eq!(
        got,
        vec![
            (Some(3), Some("sak_id"), "linjeskift_i_verdi"),
            (Some(5), Some("malgruppe"), "ukjent_malgruppe")
        ]
    );
    assert!(
        l.avvik[0].melding.contains("from line 3 to line 4"),
        "{}",
        l.avvik[0].melding
    );
}

#[test]
fn a_line_break_is_kept_only_in_a_rates_kilde() {
    // A rate's source may run over lines (a cell written with Alt+Enter, saved as CSV); its code may not.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("satser.csv");
    std::fs::write(
        &f,
        "ar,kode,belop,status,kilde\n\
         2024,AR-2,10,vedtatt,\"Prop. 1 S\nside 3\"\n\
         2024,\"AR-3\r\n\",20,vedtatt,x\n\
         2024,AR-4,30,vedtatt,y\n",
    )
    .unwrap();
    let l = load_rates(&[f]).unwrap();
    let got = placed(&l.avvik);
    assert_eq!(got, vec![(Some(4), Some("kode"), "linjeskift_i_verdi")]);
    assert!(
        l.avvik[0].melding.contains("from line 4 to line 5"),
        "{}",
        l.avvik[0].melding
    );
}

#[test]
fn unquoted_decimal_comma_in_a_comma_file_is_reported_not_misread() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("satser.csv");
    // `70500,5` in a `,` file splits into two fields: the row has 6 fields for 5 columns.
    std::fs::write(
        &f,
        "ar,kode,belop,status,kilde\n2017,AR-5,70500,5,eksempel,\n",
    )
    .unwrap();
    let l = load_rates(&[f]).unwrap();
    assert!(l
        .avvik
        .iter()
        .any(|a| a.kode == "feil_antall_felt" && a.linje == Some(2)));
    assert!(l.data.is_empty());
}

#[test]
fn line_numbers_with_crlf_and_blank_lines() {
    let dir = tempfile::tempdir().unwrap();
    let f = fnr("018185", 100);
    // Line 1 header, 2 valid, 3 blank, 4 bad malgruppe, 5 blank, 6 bad date. CRLF line ends.
    let text = format!(
        "fnr;bosettingsdato;bosettingskommune;sak_id;malgruppe\r\n\
         {f};2022-03-15;0301;S1;flyktning\r\n\
         \r\n\
         {g};2022-03-15;0301;S2;turist\r\n\
         \r\n\
         {h};30.02.2022;0301;S3;flyktning\r\n",
        g = fnr("158387", 100),
        h = fnr("208615", 500),
    );
    std::fs::write(dir.path().join("personer.csv"), text).unwrap();
    let l = load_dsf(dir.path(), &opts(2024)).unwrap();
    let got: Vec<(Option<u64>, &str)> =
        l.avvik.iter().map(|a| (a.linje, a.kode.as_str())).collect();
    assert_eq!(
        got,
        vec![(Some(4), "ukjent_malgruppe"), (Some(6), "dato_finnes_ikke")]
    );
    assert_eq!(l.data.personer[0].line, 2);
    // Blank lines are not rows: 3 read.
    assert_eq!(l.stats[0].read, 3);
}

#[test]
fn sha256_and_row_count_of_each_input_file() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    // More than one 256 KiB read chunk, so the streamed hash crosses chunk boundaries.
    let mut text = String::from("ar,kode,belop,status,kilde\n");
    for y in 1900..2200 {
        text.push_str(&format!("{y},AR-2,1,eksempel,{}\n", "x".repeat(1000)));
    }
    assert!(text.len() > 256 * 1024);
    let f = dir.path().join("satser.csv");
    std::fs::write(&f, &text).unwrap();
    let l = load_rates(std::slice::from_ref(&f)).unwrap();
    let expected = hex::encode(Sha256::digest(text.as_bytes()));
    assert_eq!(l.files[0].sha256, expected);
    // 2200 − 1900 = 300 data rows.
    assert_eq!(l.files[0].rows, 300);
    assert_eq!(l.data.len(), 300);

    let (_, _, c) = write_all(dir.path());
    let x = load_dsf(&c, &opts(2024)).unwrap();
    assert_eq!(
        x.files[0].sha256,
        hex::encode(Sha256::digest(std::fs::read(&c).unwrap()))
    );
}

#[test]
fn dates_no_person_can_have_are_rejected() {
    // Settled before being born, dead before being born or settled (docs/input.md; SPEC §1.3 is silent).
    // A newborn settled on its birth date and a death on the settlement date are possible.
    let dir = tempfile::tempdir().unwrap();
    // Individual numbers from 500: born in the 2000s (ID-1).
    let rows = [
        (fnr("028123", 500), "2021-03-01", ""), // born 02.01.2023: settled before
        (fnr("028123", 600), "2023-01-02", ""), // settled on the birth date
        (fnr("038123", 500), "2023-06-01", "2022-12-31"), // dead before born (03.01.2023)
        (fnr("048190", 100), "2023-06-01", "2023-05-31"), // dead before settled
        (fnr("058190", 100), "2023-06-01", "2023-06-01"), // dead on the settlement date
    ];
    let mut text =
        String::from("fnr,bosettingsdato,bosettingskommune,sak_id,malgruppe,dodsdato,mor_fnr\n");
    for (i, (f, bosatt, dod)) in rows.iter().enumerate() {
        text.push_str(&format!("{f},{bosatt},0301,S{i},flyktning,{dod},\n"));
    }
    // IT-4: a child born after its mother's settlement may carry the family's earlier date: kept.
    let mother = &rows[1].0;
    let child = fnr("028123", 700);
    text.push_str(&format!("{child},2021-03-01,0301,S1,flyktning,,{mother}\n"));
    std::fs::write(dir.path().join("personer.csv"), text).unwrap();
    let l = load_dsf(dir.path(), &opts(2024)).unwrap();
    let got = placed(&l.avvik);
    assert_eq!(
        got,
        vec![
            (Some(2), Some("bosettingsdato"), "bosatt_for_fodsel"),
            (Some(4), Some("dodsdato"), "dod_for_bosetting"),
            (Some(5), Some("dodsdato"), "dod_for_bosetting"),
        ]
    );
    let said =
        |i: usize, what: &str| assert!(l.avvik[i].melding.contains(what), "{}", l.avvik[i].melding);
    said(0, "01.03.2021 is before the birth date 02.01.2023");
    said(1, "31.12.2022 is before the birth date 03.01.2023");
    said(2, "31.05.2023 is before bosettingsdato 01.06.2023");
    assert_eq!(l.data.personer.len(), 3);
}

#[test]
fn a_quote_left_open_or_in_a_file_with_cr_line_ends_names_its_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (f, g, h) = (fnr("018185", 100), fnr("028185", 100), fnr("038185", 100));
    let head = "fnr,bosettingsdato,bosettingskommune,sak_id,malgruppe";
    let first = |text: String| {
        std::fs::write(dir.path().join("personer.csv"), text).unwrap();
        load_dsf(dir.path(), &opts(2024)).unwrap().avvik[0]
            .melding
            .clone()
    };
    // Left open on the last line: the record runs to the end of the file (it has too few fields).
    let m = first(format!(
        "{head}\n{f},2022-03-15,0301,S1,flyktning\n{g},2022-03-15,0301,\"S2,flyktning\n"
    ));
    assert!(
        m.contains(
            "a quote (\") opened here is not closed; close it (it runs to the end of the file)"
        ),
        "{m}"
    );
    // Lines ended by a lone \r: two stray quotes join lines 2 and 3.
    let m = first(format!(
        "{head}\r{f},2022-03-15,0301,\"S1,flyktning\r{g},2022-03-15,0301,S2\",flyktning\r{h},2022-03-15,0301,S3,flyktning\r"
    ));
    assert!(m.contains("this record runs from line 2 to line 3"), "{m}");
}
