//! Extra-grant inputs (SPEC §5): `soknader` (applications) and `vedtak` (earlier decisions).

use crate::domain::ids::Fnr;
use crate::domain::soknad::{Dokumenter, FhtType, Grunnlag, Soknad, TidligereVedtak};
use crate::input::check::{count, RowCheck};
use crate::input::table::{self, opt, req, Cell, Col};
use crate::input::{FileStats, InputError, LoadOptions, Loaded};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::path::Path;

const SOKNAD_COLS: [Col; 16] = [
    req("soknad_id"),
    req("fnr"),
    req("kommunenummer"),
    req("type"),
    req("tilskuddsar"),
    req("mottatt_dato"),
    req("belop"),
    req("grunnlag"),
    opt("ansvarsgruppe"),
    opt("utsatt_frist"),
    opt("samtykke"),
    opt("legeerklaering"),
    opt("spesialisterklaering"),
    opt("sosialrapport"),
    opt("tiltaksbeskrivelse"),
    opt("budsjettskjema"),
];

const VEDTAK_COLS: [Col; 8] = [
    req("soknad_id"),
    req("fnr"),
    req("type"),
    req("tilskuddsar"),
    req("innvilget_belop"),
    req("grunnlag"),
    opt("regnskap_belop"),
    opt("regnskap_mottatt"),
];

fn fht_type(c: &mut RowCheck, cell: &Cell) -> Option<FhtType> {
    let raw = c.text("type", cell)?;
    match raw.trim().to_ascii_uppercase().as_str() {
        "T1" | "1" => Some(FhtType::T1),
        "T2" | "2" => Some(FhtType::T2),
        _ => {
            c.reject(
                Some("type"),
                "ugyldig_type",
                format!("'{raw}' is not a grant type; write T1 (tilskudd 1) or T2 (tilskudd 2)"),
            );
            None
        }
    }
}

/// `grunnlag`: `budsjett`/`regnskap`. Empty is allowed for tilskudd 1 (a fixed rate, FHT-4) and read as
/// `budsjett`; tilskudd 2 needs it.
fn grunnlag(c: &mut RowCheck, cell: &Cell, typ: Option<FhtType>) -> Option<Grunnlag> {
    if cell.is_empty() {
        if typ == Some(FhtType::T1) {
            return Some(Grunnlag::Budsjett);
        }
        c.text("grunnlag", cell);
        return None;
    }
    let raw = cell.raw();
    match crate::domain::fold_name(&raw).as_str() {
        "budsjett" => Some(Grunnlag::Budsjett),
        "regnskap" => Some(Grunnlag::Regnskap),
        _ => {
            c.reject(
                Some("grunnlag"),
                "ugyldig_grunnlag",
                format!("'{raw}' is not a basis; write budsjett or regnskap"),
            );
            None
        }
    }
}

fn tilskuddsar(c: &mut RowCheck, cell: &Cell) -> Option<u8> {
    // FHT-1/FHT-5: grant years are 1-based; an unaccompanied minor can reach år 7 or so, 20 is a safe cap.
    c.int("tilskuddsar", cell, "ugyldig_tilskuddsar", 1..=20)
        .map(|n| n as u8)
}

/// `duplikat_soknad_id`: the row's `soknad_id` is that of a used row above (see [`take_id`]).
fn check_id(c: &mut RowCheck, seen: &HashMap<String, u64>, id: Option<&str>, why: &str) {
    if let Some((id, first)) = id.and_then(|id| Some((id, seen.get(id)?))) {
        c.reject(
            Some("soknad_id"),
            "duplikat_soknad_id",
            format!("soknad_id '{id}' is already used on line {first}; {why}"),
        );
    }
}

/// After all of a row's checks: only a used row takes its id, so a rejected first row does not make its
/// corrected repeat a duplicate.
fn take_id(c: &RowCheck, seen: &mut HashMap<String, u64>, id: Option<&str>) {
    if let (false, Some(id)) = (c.is_rejected(), id) {
        seen.entry(id.to_string()).or_insert(c.line);
    }
}

pub fn load_soknader(path: &Path, opts: &LoadOptions) -> Result<Loaded<Vec<Soknad>>, InputError> {
    let (t, mut file) = table::open_single(path, "soknader")?;
    let (ix, warning) = t.resolve(&SOKNAD_COLS)?;
    let name = t.name.clone();
    let headers = t.headers.clone();
    let mut out = Loaded::<Vec<Soknad>>::default();
    out.avvik.extend(warning);
    let mut stats = FileStats {
        file: name.clone(),
        ..FileStats::default()
    };
    let mut seen: HashMap<String, u64> = HashMap::new();
    let data = &mut out.data;
    let avvik = &mut out.avvik;
    t.for_each_row(&mut file, |row| {
        let mut c = RowCheck::start(&name, &headers, row, &[]);
        let cell = |i: usize| row.cell(ix[i]);
        let id = c.text("soknad_id", &cell(0)).map(|s| s.into_owned());
        check_id(
            &mut c,
            &seen,
            id.as_deref(),
            "each application needs its own id",
        );
        let fnr = c.fnr("fnr", &cell(1), opts, true);
        c.fnr = fnr;
        let mottatt = c.date("mottatt_dato", &cell(5), true);
        let knr = c.knr("kommunenummer", &cell(2), opts, mottatt, true);
        let typ = fht_type(&mut c, &cell(3));
        let n = tilskuddsar(&mut c, &cell(4));
        let belop = c.amount_nonneg("belop", &cell(6), true);
        let grunnlag = grunnlag(&mut c, &cell(7), typ);
        let ansvarsgruppe = c.amount_nonneg("ansvarsgruppe", &cell(8), false);
        let utsatt = c.date("utsatt_frist", &cell(9), false);
        let dokumenter = Dokumenter {
            samtykke: c.boolean("samtykke", &cell(10), false),
            legeerklaering: c.boolean("legeerklaering", &cell(11), false),
            spesialisterklaering: c.boolean("spesialisterklaering", &cell(12), false),
            sosialrapport: c.boolean("sosialrapport", &cell(13), false),
            tiltaksbeskrivelse: c.boolean("tiltaksbeskrivelse", &cell(14), false),
            budsjettskjema: c.boolean("budsjettskjema", &cell(15), false),
        };
        if let (Some(a), Some(b)) = (ansvarsgruppe, belop) {
            if a > b {
                c.reject(
                    Some("ansvarsgruppe"),
                    "ansvarsgruppe_over_belop",
                    format!("ansvarsgruppe {a} is more than belop {b}; it is a part of belop"),
                );
            }
        }
        take_id(&c, &mut seen, id.as_deref());
        let line = c.line;
        let rejected = c.is_rejected();
        count(
            &mut stats,
            rejected,
            c.has_warning(),
            fnr.is_some_and(|f| f.is_synthetic()),
        );
        c.finish(avvik);
        if let (
            false,
            Some(soknad_id),
            Some(fnr),
            Some(kommunenummer),
            Some(typ),
            Some(tilskuddsar),
            Some(mottatt_dato),
            Some(belop),
            Some(grunnlag),
        ) = (rejected, id, fnr, knr, typ, n, mottatt, belop, grunnlag)
        {
            data.push(Soknad {
                soknad_id,
                fnr,
                kommunenummer,
                typ,
                tilskuddsar,
                mottatt_dato,
                belop,
                grunnlag,
                ansvarsgruppe,
                utsatt_frist: utsatt,
                dokumenter,
                line,
            });
        }
    })?;
    out.stats.push(stats);
    out.files.push(file);
    Ok(out)
}

pub fn load_vedtak(
    path: &Path,
    opts: &LoadOptions,
) -> Result<Loaded<Vec<TidligereVedtak>>, InputError> {
    let (t, mut file) = table::open_single(path, "vedtak")?;
    let (ix, warning) = t.resolve(&VEDTAK_COLS)?;
    let name = t.name.clone();
    let headers = t.headers.clone();
    let mut out = Loaded::<Vec<TidligereVedtak>>::default();
    out.avvik.extend(warning);
    let mut stats = FileStats {
        file: name.clone(),
        ..FileStats::default()
    };
    // A decision's id, as for applications: the first used line with it.
    let mut seen: HashMap<String, u64> = HashMap::new();
    // One grant per person, type and grant year (SPEC §5, FHT-4: tilskudd 1 "once", tilskudd 2 per grant
    // year; FHT-7 settles one grant's accounts): (fnr, type, tilskuddsar) of the used rows with
    // innvilget_belop > 0 → (line, soknad_id). A repeat would count a repayment or refund twice.
    let mut granted: HashMap<(Fnr, FhtType, u8), (u64, String)> = HashMap::new();
    let data = &mut out.data;
    let avvik = &mut out.avvik;
    t.for_each_row(&mut file, |row| {
        let mut c = RowCheck::start(&name, &headers, row, &[]);
        let cell = |i: usize| row.cell(ix[i]);
        let id = c.text("soknad_id", &cell(0)).map(|s| s.into_owned());
        check_id(
            &mut c,
            &seen,
            id.as_deref(),
            "each decision is given once (a repeated row would count its repayment or refund twice)",
        );
        let fnr = c.fnr("fnr", &cell(1), opts, true);
        c.fnr = fnr;
        let typ = fht_type(&mut c, &cell(2));
        let n = tilskuddsar(&mut c, &cell(3));
        let innvilget = c.amount_nonneg("innvilget_belop", &cell(4), true);
        let grunnlag = grunnlag(&mut c, &cell(5), typ);
        let regnskap_belop = c.amount_nonneg("regnskap_belop", &cell(6), false);
        let regnskap_mottatt = c.date("regnskap_mottatt", &cell(7), false);
        if let (Some(id), Some(f), Some(t), Some(n), Some(b)) = (&id, fnr, typ, n, innvilget) {
            // A decision of 0 (avslag/avvisning) grants nothing and may be followed by another decision for
            // the same year (a new application, an appeal); only a second grant is refused.
            if b > Decimal::ZERO && !c.is_rejected() {
                if let Some((first, first_id)) = granted.get(&(f, t, n)) {
                    c.reject(
                        Some("soknad_id"),
                        "duplikat_vedtak",
                        format!(
                            "this person already has a grant of {} for tilskuddsar {n} on line {first} (soknad_id \
                             '{first_id}'); one grant per person, type and grant year: remove the repeated \
                             decision or correct its type or year",
                            t.as_str()
                        ),
                    );
                } else {
                    granted.insert((f, t, n), (c.line, id.clone()));
                }
            }
        }
        take_id(&c, &mut seen, id.as_deref());
        let line = c.line;
        let rejected = c.is_rejected();
        count(
            &mut stats,
            rejected,
            c.has_warning(),
            fnr.is_some_and(|f| f.is_synthetic()),
        );
        c.finish(avvik);
        if let (
            false,
            Some(soknad_id),
            Some(fnr),
            Some(typ),
            Some(tilskuddsar),
            Some(innvilget_belop),
            Some(grunnlag),
        ) = (rejected, id, fnr, typ, n, innvilget, grunnlag)
        {
            data.push(TidligereVedtak {
                soknad_id,
                fnr,
                typ,
                tilskuddsar,
                innvilget_belop,
                grunnlag,
                regnskap_belop,
                regnskap_mottatt,
                line,
            });
        }
    })?;
    out.stats.push(stats);
    out.files.push(file);
    Ok(out)
}
