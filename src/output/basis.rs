//! Writers for the termin's CSV outputs (SPEC §6): `grunnlag.csv`, `kommuner.csv`, `utbetalt.csv` and
//! `avvik.csv`. They only render a [`TerminResult`]; every amount was computed by the engine.
//!
//! Files holding full person numbers (`grunnlag.csv`, `utbetalt.csv`) are written private (owner only);
//! `avvik.csv` masks them and is private too (birth dates, reasons such as death).

use crate::domain::avvik::Avvik;
use crate::domain::basis::{BasisLine, KommuneSum, TerminResult};
use crate::domain::ledger::LedgerLine;
use crate::domain::money::fmt_money;
use crate::domain::rates::RateCode;
use crate::domain::termin::Termin;
use crate::output::{csv_writer, OutputDir};
use std::io::{self, Write};

pub const GRUNNLAG_FILE: &str = "grunnlag.csv";
pub const KOMMUNER_FILE: &str = "kommuner.csv";
pub const UTBETALT_FILE: &str = "utbetalt.csv";
pub const AVVIK_FILE: &str = "avvik.csv";

/// `grunnlag.csv` columns (SPEC §6).
pub const GRUNNLAG_HEADER: [&str; 13] = [
    "termin",
    "kommunenummer",
    "fnr",
    "duf",
    "kode",
    "tilskuddsar",
    "ar",
    "maneder",
    "sats",
    "opptjent",
    "tidligere_utbetalt",
    "a_utbetale",
    "regler",
];

/// `utbetalt.csv` columns (SPEC §6, T-4); the ledger reader reads the same.
pub const UTBETALT_HEADER: [&str; 6] = ["termin", "kommunenummer", "fnr", "kode", "ar", "belop"];

/// `avvik.csv` columns: SPEC §6's five, then `kolonne` and `niva`.
pub const AVVIK_HEADER: [&str; 7] = ["fil", "linje", "fnr", "kode", "melding", "kolonne", "niva"];

/// Appends a money amount exactly as [`fmt_money`] formats it (`1234.50`, never `-0.00`), without
/// allocating: the writers call it millions of times.
fn push_money(buf: &mut String, x: rust_decimal::Decimal) {
    use std::fmt::Write as _;
    let start = buf.len();
    let _ = write!(buf, "{:.2}", crate::domain::money::round_ore(x));
    if &buf[start..] == "-0.00" {
        buf.truncate(start);
        buf.push_str("0.00");
    }
}

/// Emits the 13 fields of one `grunnlag.csv` record through `emit`, reusing `buf` (one implementation for
/// the file writer and for [`grunnlag_record`], which `explain` prints).
fn grunnlag_fields<E>(termin: &str, l: &BasisLine, buf: &mut String, mut emit: E) -> io::Result<()>
where
    E: FnMut(&str) -> io::Result<()>,
{
    use std::fmt::Write as _;
    let mut put = |buf: &mut String, f: &dyn Fn(&mut String)| {
        buf.clear();
        f(buf);
        emit(buf)
    };
    put(buf, &|b| b.push_str(termin))?;
    put(buf, &|b| {
        let _ = write!(b, "{}", l.key.kommune);
    })?;
    put(buf, &|b| b.push_str(l.key.fnr.as_str()))?;
    put(buf, &|b| {
        if let Some(d) = l.duf {
            let _ = write!(b, "{d}");
        }
    })?;
    put(buf, &|b| b.push_str(l.key.kode.as_str()))?;
    put(buf, &|b| {
        let _ = write!(b, "{}", l.tilskuddsar);
    })?;
    put(buf, &|b| {
        let _ = write!(b, "{}", l.key.ar);
    })?;
    put(buf, &|b| {
        if let Some(m) = l.maneder {
            let _ = write!(b, "{m}");
        }
    })?;
    put(buf, &|b| push_money(b, l.sats))?;
    put(buf, &|b| push_money(b, l.opptjent))?;
    put(buf, &|b| push_money(b, l.tidligere_utbetalt))?;
    put(buf, &|b| push_money(b, l.a_utbetale))?;
    put(buf, &|b| {
        for (i, r) in l.regler.iter().enumerate() {
            if i > 0 {
                b.push('|');
            }
            b.push_str(r);
        }
    })
}

/// One `grunnlag.csv` record. `explain` prints the same records, so an auditor can match them.
pub fn grunnlag_record(termin: Termin, l: &BasisLine) -> [String; 13] {
    let mut out: [String; 13] = Default::default();
    let mut i = 0;
    let mut buf = String::new();
    // Writing into Strings cannot fail.
    let _ = grunnlag_fields(&termin.to_string(), l, &mut buf, |f| {
        out[i] = f.to_string();
        i += 1;
        Ok(())
    });
    out
}

/// The `kommuner.csv` header: one column per [`RateCode::TERMIN_CODES`].
pub fn kommuner_header() -> Vec<String> {
    let mut h = vec!["termin".to_string(), "kommunenummer".into(), "navn".into()];
    h.extend(
        RateCode::TERMIN_CODES
            .iter()
            .map(|c| c.as_str().to_string()),
    );
    h.push("sum".into());
    h.push("utbetales".into());
    h
}

pub fn kommune_record(termin: Termin, k: &KommuneSum) -> Vec<String> {
    let mut r = vec![
        termin.to_string(),
        k.kommune.to_string(),
        k.navn.clone().unwrap_or_default(),
    ];
    r.extend(
        RateCode::TERMIN_CODES
            .iter()
            .map(|c| fmt_money(k.per_kode.get(c).copied().unwrap_or_default())),
    );
    r.push(fmt_money(k.sum));
    r.push(if k.utbetales { "ja" } else { "nei" }.into());
    r
}

pub fn ledger_record(l: &LedgerLine) -> [String; 6] {
    [
        l.termin.to_string(),
        l.key.kommune.to_string(),
        l.key.fnr.to_string(),
        l.key.kode.to_string(),
        l.key.ar.to_string(),
        fmt_money(l.belop),
    ]
}

pub fn avvik_record(a: &Avvik) -> [String; 7] {
    [
        a.fil.clone(),
        a.linje.map(|l| l.to_string()).unwrap_or_default(),
        a.fnr.map(|f| f.masked()).unwrap_or_default(),
        a.kode.clone(),
        crate::domain::ids::mask_text(&a.melding),
        a.kolonne.clone().unwrap_or_default(),
        a.niva.as_str().to_string(),
    ]
}

pub fn write_grunnlag<W: Write>(w: W, r: &TerminResult) -> io::Result<()> {
    let mut c = csv_writer(w);
    c.write_record(GRUNNLAG_HEADER)?;
    let termin = r.termin.to_string();
    let mut buf = String::with_capacity(32);
    for l in &r.lines {
        grunnlag_fields(&termin, l, &mut buf, |f| {
            c.write_field(f).map_err(io::Error::from)
        })?;
        c.write_record(None::<&[u8]>)?;
    }
    c.flush()
}

pub fn write_kommuner<W: Write>(w: W, r: &TerminResult) -> io::Result<()> {
    let mut c = csv_writer(w);
    c.write_record(kommuner_header())?;
    for k in &r.kommuner {
        c.write_record(kommune_record(r.termin, k))?;
    }
    c.flush()
}

pub fn write_utbetalt<W: Write>(w: W, ledger: &[LedgerLine]) -> io::Result<()> {
    use std::fmt::Write as _;
    let mut c = csv_writer(w);
    c.write_record(UTBETALT_HEADER)?;
    let mut buf = String::with_capacity(32);
    for l in ledger {
        buf.clear();
        let _ = write!(buf, "{}", l.termin);
        c.write_field(&buf)?;
        buf.clear();
        let _ = write!(buf, "{}", l.key.kommune);
        c.write_field(&buf)?;
        c.write_field(l.key.fnr.as_str())?;
        c.write_field(l.key.kode.as_str())?;
        buf.clear();
        let _ = write!(buf, "{}", l.key.ar);
        c.write_field(&buf)?;
        buf.clear();
        push_money(&mut buf, l.belop);
        c.write_field(&buf)?;
        c.write_record(None::<&[u8]>)?;
    }
    c.flush()
}

pub fn write_avvik<W: Write>(w: W, avvik: &[Avvik]) -> io::Result<()> {
    let mut c = csv_writer(w);
    c.write_record(AVVIK_HEADER)?;
    for a in avvik {
        c.write_record(avvik_record(a))?;
    }
    c.flush()
}

/// Writes the four CSV files of a termin into `out` (not yet committed).
pub fn write_basis_files(out: &mut OutputDir, r: &TerminResult) -> io::Result<()> {
    out.write_file(GRUNNLAG_FILE, true, |w| write_grunnlag(w, r))?;
    out.write_file(KOMMUNER_FILE, false, |w| write_kommuner(w, r))?;
    out.write_file(UTBETALT_FILE, true, |w| write_utbetalt(w, &r.new_ledger))?;
    // Private as well: masked numbers still carry birth dates and the reasons (death, emigration) are
    // personal data (issue 7: person-level files are readable by the owner only).
    out.write_file(AVVIK_FILE, true, |w| write_avvik(w, &r.avvik))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{Fnr, Knr};
    use crate::domain::ledger::LineKey;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    #[test]
    fn records_follow_spec_columns() {
        let fnr = (100..500)
            .find_map(|i| Fnr::with_control_digits(&format!("018180{i:03}")))
            .unwrap();
        let t: Termin = "2024-Q3".parse().unwrap();
        let l = BasisLine {
            key: LineKey {
                fnr,
                kommune: Knr::parse("0301").unwrap(),
                kode: RateCode::Ar2,
                ar: 2024,
            },
            duf: None,
            tilskuddsar: 2,
            maneder: Some(9),
            sats: Decimal::from(100000),
            opptjent: Decimal::from_str("75000").unwrap(),
            tidligere_utbetalt: Decimal::from_str("50000.5").unwrap(),
            a_utbetale: Decimal::from_str("24999.5").unwrap(),
            regler: vec!["IT-10", "IT-13"],
        };
        let r = grunnlag_record(t, &l);
        assert_eq!(r[0], "2024-Q3");
        assert_eq!(r[2], fnr.as_str());
        assert_eq!(r[3], "");
        assert_eq!(
            &r[4..],
            [
                "AR-2",
                "2",
                "2024",
                "9",
                "100000.00",
                "75000.00",
                "50000.50",
                "24999.50",
                "IT-10|IT-13"
            ]
        );
        let a = Avvik::rejected("x.csv", Some(3), Some("fnr"), "k", format!("bad {}", fnr))
            .with_fnr(Some(fnr));
        let ar = avvik_record(&a);
        assert_eq!(ar[2], fnr.masked());
        assert!(!ar[4].contains(fnr.as_str()));
        assert_eq!(kommuner_header().len(), 3 + 12 + 2);
        // The streaming writers give the same text as the record functions.
        for x in ["-0.001", "0", "-12", "1234.5", "2.345", "-2.345"] {
            let mut b = String::new();
            push_money(&mut b, Decimal::from_str(x).unwrap());
            assert_eq!(b, fmt_money(Decimal::from_str(x).unwrap()), "{x}");
        }
        let mut ledger_text = Vec::new();
        let ll = LedgerLine {
            termin: t,
            key: l.key,
            belop: Decimal::from_str("-10.5").unwrap(),
            origin: String::new(),
        };
        write_utbetalt(&mut ledger_text, std::slice::from_ref(&ll)).unwrap();
        assert_eq!(
            String::from_utf8(ledger_text)
                .unwrap()
                .lines()
                .nth(1)
                .unwrap(),
            ledger_record(&ll).join(",")
        );
    }
}
