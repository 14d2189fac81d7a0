//! --split-kommuner (issue 4): each municipality's folder holds its own basis and nothing of any other
//! municipality — checked over every file in the folder.

mod payment_fixture;

use calamine::{open_workbook, Reader, Xlsx};
use payment_fixture::*;
use std::collections::BTreeSet;
use std::path::Path;
use tilskudd::domain::avvik::Avvik;
use tilskudd::domain::basis::TerminResult;
use tilskudd::domain::rates::{RateCode, RateStatus};
use tilskudd::output::split::{grunnlag_record, write_split, GRUNNLAG_HEADER};
use tilskudd::output::OutputDir;

/// q3 plus a person who moved from Oslo to Våler: Oslo keeps a deduction, Våler gets the payment.
/// AR-2 2024: Oslo accrued 7 months of 230 000 = round(230000·7/12) = 134 166.67, had 8 months paid
/// (153 333.33) → −19 166.66; Våler 2 months = 172 500.00 − 134 166.67 = 38 333.33, nothing paid.
fn with_mover() -> TerminResult {
    let mut r = q3();
    let mover = fnr("098188", 100);
    let mut lines = r.lines.clone();
    lines.push(line(Line {
        kommune: "0301",
        fnr: mover,
        kode: RateCode::Ar2,
        ar: 2024,
        n: 2,
        maneder: Some(7),
        sats: "230000",
        opptjent: "134166.67",
        tidligere: "153333.33",
    }));
    lines.push(line(Line {
        kommune: "3419",
        fnr: mover,
        kode: RateCode::Ar2,
        ar: 2024,
        n: 2,
        maneder: Some(2),
        sats: "230000",
        opptjent: "38333.33",
        tidligere: "0",
    }));
    let avvik = vec![
        Avvik::warning(
            "dsf/personer.csv",
            Some(3),
            None,
            "mor_ikke_funnet",
            "x".into(),
        )
        .with_fnr(Some(p_oslo_ar2())),
        Avvik::rejected(
            "kommuner.csv",
            Some(6),
            Some("kontonummer"),
            "ugyldig_kontonummer",
            "Bergen".into(),
        ),
    ];
    r = result(
        "2024-Q3",
        lines,
        &[
            ("0301", "Oslo"),
            ("1867", "Bø"),
            ("3419", "Våler"),
            ("3999", "Nes & Omegn"),
            ("4601", "Bergen"),
            ("5001", "Trondheim"),
        ],
    );
    r.avvik = avvik;
    r
}

/// Every text a folder shows: the CSV bytes as text, and every cell of every sheet of every workbook.
fn folder_texts(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        match p.extension().and_then(|x| x.to_str()) {
            Some("csv") => out.push(std::fs::read_to_string(&p).unwrap()),
            Some("xlsx") => {
                let mut wb: Xlsx<_> = open_workbook(&p).unwrap();
                for name in wb.sheet_names() {
                    let r = wb.worksheet_range(&name).unwrap();
                    out.extend(r.used_cells().map(|c| c.2.to_string()));
                }
            }
            other => panic!("unexpected file {p:?} ({other:?})"),
        }
    }
    out
}

#[test]
fn split_folder_holds_only_its_own_municipality() {
    let r = with_mover();
    let d = tempfile::tempdir().unwrap();
    let mut out = OutputDir::create(d.path()).unwrap();
    let written = write_split(&mut out, &r, &r.lines, &q3_rates(RateStatus::Vedtatt)).unwrap();
    out.commit().unwrap();
    let all: BTreeSet<String> = r.lines.iter().map(|l| l.key.kommune.to_string()).collect();
    assert_eq!(
        written
            .iter()
            .map(|k| k.to_string())
            .collect::<BTreeSet<_>>(),
        all
    );
    for k in &all {
        let dir = d.path().join("kommuner").join(k);
        let names: BTreeSet<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(
            names,
            ["grunnlag.csv", "rapport.xlsx"].map(String::from).into()
        );
        let own: BTreeSet<String> = r
            .lines
            .iter()
            .filter(|l| l.key.kommune.to_string() == *k)
            .map(|l| l.key.fnr.to_string())
            .collect();
        let others: BTreeSet<String> = r
            .lines
            .iter()
            .filter(|l| l.key.kommune.to_string() != *k)
            .map(|l| l.key.fnr.to_string())
            .filter(|f| !own.contains(f))
            .collect();
        assert!(!others.is_empty());
        let texts = folder_texts(&dir);
        for t in &texts {
            for f in &others {
                // Neither the full number nor its masked form (first six digits) of another's person.
                assert!(
                    !t.contains(&f[..6]),
                    "{k}: other municipality's person {}***** in {t:?}",
                    &f[..6]
                );
            }
            for other_k in all.iter().filter(|o| *o != k) {
                assert!(
                    t != other_k,
                    "{k}: other municipality number {other_k} as a cell"
                );
            }
        }
        // grunnlag.csv: SPEC §6 header, only this municipality.
        let mut rdr = csv::Reader::from_path(dir.join("grunnlag.csv")).unwrap();
        assert_eq!(
            rdr.headers().unwrap().iter().collect::<Vec<_>>(),
            GRUNNLAG_HEADER
        );
        let n = rdr
            .records()
            .map(|x| {
                let x = x.unwrap();
                assert_eq!(&x[1], k);
            })
            .count();
        assert_eq!(
            n,
            r.lines
                .iter()
                .filter(|l| l.key.kommune.to_string() == *k)
                .count()
        );
    }
    // The mover is in both folders; Oslo's report carries Oslo's person's avvik, Våler's does not; the
    // register avvik (about Bergen) is in neither.
    let oslo = folder_texts(&d.path().join("kommuner/0301"));
    let valer = folder_texts(&d.path().join("kommuner/3419"));
    assert!(oslo.iter().any(|t| t == "mor_ikke_funnet"));
    assert!(!valer.iter().any(|t| t == "mor_ikke_funnet"));
    assert!(!oslo
        .iter()
        .chain(&valer)
        .any(|t| t == "ugyldig_kontonummer"));
    let mover = fnr("098188", 100).to_string();
    assert!(oslo.iter().any(|t| t.contains(&mover)) && valer.iter().any(|t| t.contains(&mover)));
    // Oslo's own sum in its report: 241 100 + 57 500 − 19 166.66 = 279 433.34.
    assert!(oslo.iter().any(|t| t == "279433.34"), "Oslo total");
}

#[test]
fn grunnlag_record_formats_spec_columns() {
    let r = with_mover();
    let bo = r
        .lines
        .iter()
        .find(|l| l.key.kommune.to_string() == "1867")
        .unwrap();
    let rec = grunnlag_record(r.termin, bo);
    let f = p_bo().to_string();
    assert_eq!(
        rec,
        [
            "2024-Q3",
            "1867",
            f.as_str(),
            "",
            "AR-3",
            "3",
            "2024",
            "1",
            "100000.00",
            "8333.33",
            "0.00",
            "8333.33",
            "IT-6|IT-10|IT-13"
        ]
        .map(String::from)
    );
    let ev = r
        .lines
        .iter()
        .find(|l| l.key.kode == RateCode::Ar1Ev)
        .unwrap();
    assert_eq!(
        grunnlag_record(r.termin, ev)[7],
        "",
        "maneder empty for whole amounts"
    );
}
