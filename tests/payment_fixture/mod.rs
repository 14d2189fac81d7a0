//! Hand-built termin results for the payment, report, split and diff tests (issue 4). Amounts are computed
//! by hand in the comments; the builder only adds them up per municipality the way T-3 says.
#![allow(dead_code)]

use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;
use tilskudd::domain::basis::{BasisLine, Counts, KommuneSum, TerminResult};
use tilskudd::domain::ids::{mod11_control, Fnr, Knr, Kontonr, Orgnr};
use tilskudd::domain::kommune::{Kommune, KommuneRegister};
use tilskudd::domain::ledger::LineKey;
use tilskudd::domain::rates::{Rate, RateCode, RateStatus, RateTable};
use tilskudd::domain::termin::Termin;

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap()
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn knr(s: &str) -> Knr {
    Knr::parse(s).unwrap()
}

/// A synthetic fnr (month + 80): the first individual number from `individ` on that has valid control
/// digits.
pub fn fnr(ddmmyy: &str, individ: u16) -> Fnr {
    (individ..individ + 100)
        .find_map(|i| Fnr::with_control_digits(&format!("{ddmmyy}{i:03}")))
        .unwrap()
}

/// An org.nr from its first 8 digits (ID-4 control digit added); the next free prefix if 10.
pub fn orgnr(first8: u32) -> Orgnr {
    (first8..first8 + 20)
        .find_map(|p| {
            let s = format!("{p:08}");
            let d: Vec<u8> = s.bytes().map(|b| b - b'0').collect();
            let k = mod11_control(&d, &[3, 2, 7, 6, 5, 4, 3, 2])?;
            Orgnr::parse(&format!("{s}{k}")).ok()
        })
        .unwrap()
}

/// An account number from its first 10 digits (ID-5 control digit added).
pub fn konto(first10: u64) -> Kontonr {
    (first10..first10 + 20)
        .find_map(|p| {
            let s = format!("{p:010}");
            let d: Vec<u8> = s.bytes().map(|b| b - b'0').collect();
            let k = mod11_control(&d, &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2])?;
            Kontonr::parse(&format!("{s}{k}")).ok()
        })
        .unwrap()
}

pub struct Line {
    pub kommune: &'static str,
    pub fnr: Fnr,
    pub kode: RateCode,
    pub ar: i32,
    pub n: u8,
    pub maneder: Option<u8>,
    pub sats: &'static str,
    pub opptjent: &'static str,
    pub tidligere: &'static str,
}

pub fn line(l: Line) -> BasisLine {
    let opptjent = dec(l.opptjent);
    let tidligere = dec(l.tidligere);
    BasisLine {
        key: LineKey {
            fnr: l.fnr,
            kommune: knr(l.kommune),
            kode: l.kode,
            ar: l.ar,
        },
        duf: None,
        tilskuddsar: l.n,
        maneder: l.maneder,
        sats: dec(l.sats),
        opptjent,
        tidligere_utbetalt: tidligere,
        a_utbetale: opptjent - tidligere,
        regler: tilskudd::domain::basis::RuleSet::of(&["IT-6", "IT-10", "IT-13"]),
    }
}

/// Builds a result from lines: sorts them, sums per municipality and code (T-3), collects rates used.
pub fn result(termin: &str, mut lines: Vec<BasisLine>, names: &[(&str, &str)]) -> TerminResult {
    let termin: Termin = termin.parse().unwrap();
    lines.sort_by_key(|l| (l.key.kommune, l.key.fnr, l.key.kode, l.key.ar));
    let mut per: BTreeMap<Knr, BTreeMap<RateCode, Decimal>> = BTreeMap::new();
    let mut rates_used = Vec::new();
    for l in &lines {
        *per.entry(l.key.kommune)
            .or_default()
            .entry(l.key.kode)
            .or_default() += l.a_utbetale;
        rates_used.push((l.key.ar, l.key.kode));
    }
    rates_used.sort();
    rates_used.dedup();
    let names: BTreeMap<Knr, String> = names.iter().map(|(k, n)| (knr(k), n.to_string())).collect();
    let kommuner = per
        .into_iter()
        .map(|(k, per_kode)| {
            let sum: Decimal = per_kode.values().copied().sum();
            KommuneSum {
                kommune: k,
                navn: names.get(&k).cloned(),
                per_kode,
                sum,
                utbetales: sum > Decimal::ZERO,
            }
        })
        .collect();
    TerminResult::from_parts(
        termin,
        termin.basis_date(),
        lines,
        kommuner,
        Vec::new(),
        Vec::new(),
        rates_used,
        Counts::default(),
    )
}

pub fn rates(rows: &[(i32, RateCode, &str, RateStatus)]) -> RateTable {
    let mut t = RateTable::default();
    for (i, (ar, kode, belop, status)) in rows.iter().enumerate() {
        t.insert(Rate {
            ar: *ar,
            kode: *kode,
            belop: Decimal::from_str(belop).unwrap(),
            status: *status,
            kilde: format!("testkilde {kode} {ar}"),
            origin: format!("satser.csv:{}", i + 2),
        })
        .unwrap();
    }
    t
}

pub fn kommune(
    nr: &str,
    navn: &str,
    org: Option<Orgnr>,
    kto: Option<Kontonr>,
    line: u64,
) -> Kommune {
    Kommune {
        nr: knr(nr),
        navn: navn.to_string(),
        orgnr: org,
        kontonummer: kto,
        gyldig_fra: None,
        gyldig_til: None,
        line,
    }
}

// Persons (synthetic, month + 80).
pub fn p_oslo_ev() -> Fnr {
    fnr("018190", 100)
}
pub fn p_oslo_ar2() -> Fnr {
    fnr("028185", 100)
}
pub fn p_bo() -> Fnr {
    fnr("038180", 200)
}
pub fn p_valer() -> Fnr {
    fnr("048110", 500)
}
pub fn p_nes() -> Fnr {
    fnr("058122", 500)
}
pub fn p_bergen() -> Fnr {
    fnr("068170", 100)
}
pub fn p_trondheim() -> Fnr {
    fnr("078175", 100)
}
pub fn p_stavanger() -> Fnr {
    fnr("088150", 100)
}

/// Termin 2024-Q3 (basis date 30.09.2024). Lines and their a_utbetale (= opptjent − tidligere_utbetalt):
/// - 0301 Oslo: AR-1 EV 2024 241 100.00 (whole, år 1) + AR-2 2024 9 months of 230 000 = 172 500.00 less
///   115 000.00 paid = 57 500.00 → Oslo 298 600.00.
/// - 1867 Bø: AR-3 2024, 1 month of 100 000 = round(100000·1/12) = 8 333.33 (IT-13), nothing paid → 8 333.33.
/// - 3419 Våler: EMINB 2024, 9 months of 1 118 000 = 838 500.00 less 559 000.00 → 279 500.00.
/// - 3999 "Nes & Omegn": BHT 2024 27 800.00 whole → 27 800.00.
/// - 4601 Bergen: AR-4 2024, 9 months of 84 000 = 63 000.00 less 42 000.00 → 21 000.00 (no account in register).
/// - 5001 Trondheim: AR-2 2024 opptjent 0 (excluded now), 10 000.00 paid → −10 000.00 (T-3: not paid).
/// - 1103 Stavanger: ELDR 2024 180 600.00 → 180 600.00 (not in the register).
pub fn q3() -> TerminResult {
    use RateCode::*;
    let l = |kommune, fnr, kode, n, maneder, sats, opptjent, tidligere| {
        line(Line {
            kommune,
            fnr,
            kode,
            ar: 2024,
            n,
            maneder,
            sats,
            opptjent,
            tidligere,
        })
    };
    result(
        "2024-Q3",
        vec![
            l(
                "0301",
                p_oslo_ev(),
                Ar1Ev,
                1,
                None,
                "241100",
                "241100.00",
                "0",
            ),
            l(
                "0301",
                p_oslo_ar2(),
                Ar2,
                2,
                Some(9),
                "230000",
                "172500.00",
                "115000.00",
            ),
            l("1867", p_bo(), Ar3, 3, Some(1), "100000", "8333.33", "0"),
            l(
                "3419",
                p_valer(),
                Eminb,
                1,
                Some(9),
                "1118000",
                "838500.00",
                "559000.00",
            ),
            l("3999", p_nes(), Bht, 1, None, "27800", "27800.00", "0"),
            l(
                "4601",
                p_bergen(),
                Ar4,
                4,
                Some(9),
                "84000",
                "63000.00",
                "42000.00",
            ),
            l("5001", p_trondheim(), Ar2, 2, Some(0), "0", "0", "10000.00"),
            l(
                "1103",
                p_stavanger(),
                Eldr,
                1,
                None,
                "180600",
                "180600.00",
                "0",
            ),
        ],
        &[
            ("0301", "Oslo"),
            ("1867", "Bø"),
            ("3419", "Våler"),
            ("3999", "Nes & Omegn"),
            ("4601", "Bergen"),
            ("5001", "Trondheim"),
        ],
    )
}

pub fn q3_rates(eminb: RateStatus) -> RateTable {
    use RateCode::*;
    use RateStatus::Vedtatt;
    rates(&[
        (2024, Ar1Ev, "241100", Vedtatt),
        (2024, Ar2, "230000", Vedtatt),
        (2024, Ar3, "100000", Vedtatt),
        (2024, Ar4, "84000", Vedtatt),
        (2024, Eldr, "180600", Vedtatt),
        (2024, Bht, "27800", Vedtatt),
        (2024, Eminb, "1118000", eminb),
    ])
}

pub fn oslo_org() -> Orgnr {
    orgnr(97414000)
}
pub fn oslo_kto() -> Kontonr {
    konto(6011050001)
}
pub fn bo_org() -> Orgnr {
    orgnr(95950000)
}
pub fn bo_kto() -> Kontonr {
    konto(4520100002)
}
pub fn valer_org() -> Orgnr {
    orgnr(96441000)
}
pub fn valer_kto() -> Kontonr {
    konto(1822200003)
}
pub fn nes_org() -> Orgnr {
    orgnr(96402000)
}
pub fn nes_kto() -> Kontonr {
    konto(1503300004)
}

/// Register: Oslo, Bø, Våler, Nes & Omegn complete; Bergen without an account; Trondheim complete;
/// Stavanger (1103) absent.
pub fn register() -> KommuneRegister {
    let mut r = KommuneRegister::new("kommuner.csv".into());
    r.insert(kommune(
        "0301",
        "Oslo kommune",
        Some(oslo_org()),
        Some(oslo_kto()),
        2,
    ));
    r.insert(kommune(
        "1867",
        "Bø kommune",
        Some(bo_org()),
        Some(bo_kto()),
        3,
    ));
    r.insert(kommune(
        "3419",
        "Våler kommune",
        Some(valer_org()),
        Some(valer_kto()),
        4,
    ));
    r.insert(kommune(
        "3999",
        "Nes & Omegn <test>",
        Some(nes_org()),
        Some(nes_kto()),
        5,
    ));
    r.insert(kommune(
        "4601",
        "Bergen kommune",
        Some(orgnr(96433000)),
        None,
        6,
    ));
    r.insert(kommune(
        "5001",
        "Trondheim kommune",
        Some(orgnr(94216000)),
        Some(konto(8601110005)),
        7,
    ));
    r
}

pub fn debtor() -> Kontonr {
    konto(7694050000)
}
