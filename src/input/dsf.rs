//! The DSF extract (SPEC §1.3–1.4): `personer` and `flyttinger`, from a folder of CSV files or one
//! workbook. Every row rule of the SPEC is checked here; the rules engine only ever sees accepted rows.

use crate::domain::avvik::Avvik;
use crate::domain::ids::{Fnr, Knr};
use crate::domain::person::{Extract, Flytting, Malgruppe, Person};
use crate::input::check::{KnrLookup, RowCheck};
use crate::input::table::{self, opt, req, Col, Table, Workbook};
use crate::input::{FileStats, InputError, InputFile, LoadOptions, Loaded};
use chrono::NaiveDate;
use rayon::prelude::*;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

const PERSONER_COLS: [Col; 16] = [
    req("fnr"),
    opt("duf"),
    opt("fodselsdato"),
    req("bosettingsdato"),
    req("bosettingskommune"),
    req("sak_id"),
    req("malgruppe"),
    opt("bosatt_etter_avtale"),
    opt("enslig_mindrearig"),
    opt("mor_fnr"),
    opt("referanse_fnr"),
    opt("familie_soknadsdato"),
    opt("registrert_dato"),
    opt("dodsdato"),
    opt("utvandringsdato"),
    opt("gjenforent_dato"),
];
// `tidligere_utlost` is the 17th column; kept apart so the array above stays readable.
const TIDLIGERE_UTLOST: Col = opt("tidligere_utlost");

const FLYTTINGER_COLS: [Col; 4] = [
    req("fnr"),
    req("flyttedato"),
    req("til_kommune"),
    opt("fra_kommune"),
];

/// Loads a DSF extract: a folder with `personer.csv` (required) and `flyttinger.csv` (optional), one
/// workbook with sheets `personer` and (optionally) `flyttinger`, or a single `personer` CSV file.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Loaded<Extract>, InputError> {
    let mut out = Loaded::<Extract>::default();
    if path.is_dir() {
        let personer = find_file(path, "personer.csv").ok_or_else(|| InputError::Format {
            file: table::display(path),
            message: "the DSF folder has no personer.csv (required, SPEC §1.4)".into(),
        })?;
        let (t, f) = table::open_csv(&personer)?;
        read_personer(t, f, opts, &mut out)?;
        if let Some(fl) = find_file(path, "flyttinger.csv") {
            if std::fs::metadata(&fl).is_ok_and(|m| m.len() == 0) {
                // An export with no moves may be an empty file: the table is optional, so this means
                // "no moves" (a warning, not a failed run); a personer.csv without bytes stays an error.
                out.avvik.push(Avvik::warning(
                    &table::display(&fl),
                    None,
                    None,
                    "tom_fil",
                    "the file is empty (not even a header): read as no moves".into(),
                ));
            } else {
                let (t, f) = table::open_csv(&fl)?;
                read_flyttinger(t, f, opts, &mut out)?;
            }
        }
    } else if table::is_workbook(path) {
        let mut wb = Workbook::open(path)?;
        let sheet = wb
            .find_sheet("personer")
            .ok_or_else(|| InputError::Format {
                file: table::display(path),
                message: format!(
                    "the workbook has no sheet 'personer' (required, SPEC §1.4); sheets found: {}",
                    wb.sheet_names().join(", ")
                ),
            })?;
        let t = wb.table(&sheet)?;
        let mut file = wb.file.clone();
        read_personer_into(t, opts, &mut out, &mut file)?;
        if let Some(sheet) = wb.find_sheet("flyttinger") {
            let t = wb.table(&sheet)?;
            read_flyttinger_into(t, opts, &mut out, &mut file)?;
        }
        out.files.push(file);
    } else if path.is_file() && table::is_csv(path) {
        let (t, f) = table::open_csv(path)?;
        read_personer(t, f, opts, &mut out)?;
    } else if !path.exists() {
        return Err(InputError::Io {
            path: table::display(path),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such file or folder; check the path given to --dsf",
            ),
        });
    } else {
        return Err(InputError::Format {
            file: table::display(path),
            message: "a DSF extract is a folder with personer.csv (and flyttinger.csv) or an .xlsx workbook".into(),
        });
    }
    Ok(out)
}

/// `personer.csv` in `dir`, the name matched case-insensitively (`Personer.CSV` from Windows).
fn find_file(dir: &Path, name: &str) -> Option<std::path::PathBuf> {
    let exact = dir.join(name);
    if exact.is_file() {
        return Some(exact);
    }
    let mut hits: Vec<_> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .collect();
    hits.sort();
    hits.into_iter().next()
}

fn read_personer(
    t: Table,
    mut file: InputFile,
    opts: &LoadOptions,
    out: &mut Loaded<Extract>,
) -> Result<(), InputError> {
    read_personer_into(t, opts, out, &mut file)?;
    out.files.push(file);
    Ok(())
}

fn read_flyttinger(
    t: Table,
    mut file: InputFile,
    opts: &LoadOptions,
    out: &mut Loaded<Extract>,
) -> Result<(), InputError> {
    read_flyttinger_into(t, opts, out, &mut file)?;
    out.files.push(file);
    Ok(())
}

/// Problems of the rows that have any, by line (sparse: a clean extract allocates nothing here).
type Problems = BTreeMap<u64, RowProblems>;

#[derive(Default)]
struct RowProblems {
    list: Vec<Avvik>,
    rejected: bool,
    warned: bool,
}

/// The problems of a checked row, if any (made on a worker thread, added in file order).
fn row_problems(c: RowCheck) -> Option<(u64, RowProblems)> {
    if c.list.is_empty() {
        return None;
    }
    let line = c.line;
    let mut p = RowProblems {
        list: Vec::with_capacity(c.list.len()),
        rejected: c.is_rejected(),
        warned: c.has_warning(),
    };
    c.finish(&mut p.list);
    Some((line, p))
}

fn add_problems(problems: &mut Problems, p: Option<(u64, RowProblems)>) {
    let Some((line, p)) = p else {
        return;
    };
    let entry = problems.entry(line).or_default();
    entry.rejected |= p.rejected;
    entry.warned |= p.warned;
    entry.list.extend(p.list);
}

/// What the `personer` rows add up to while they are read.
struct PersonAcc {
    personer: Vec<Person>,
    /// (fnr as integer, line, fnr) of every row whose fnr parsed, for the duplicate check.
    keys: Vec<(u64, u64, Fnr)>,
    problems: Problems,
}

/// Emits the problems in line order and fills the stats: `read` rows, of which those in `rejected` lines
/// are rejected; `accepted_synthetic` counts synthetic numbers among the accepted rows.
fn finish_table(
    out_avvik: &mut Vec<Avvik>,
    problems: Problems,
    name: &str,
    read: u64,
    accepted_synthetic: u64,
) -> FileStats {
    let mut stats = FileStats {
        file: name.to_string(),
        read,
        synthetic: accepted_synthetic,
        ..FileStats::default()
    };
    for (_, p) in problems {
        if p.rejected {
            stats.rejected += 1;
        } else if p.warned {
            stats.warned += 1;
        }
        out_avvik.extend(p.list);
    }
    stats.accepted = read - stats.rejected;
    stats
}

fn read_personer_into(
    t: Table,
    opts: &LoadOptions,
    out: &mut Loaded<Extract>,
    file: &mut InputFile,
) -> Result<(), InputError> {
    let mut cols: Vec<Col> = PERSONER_COLS.to_vec();
    cols.push(TIDLIGERE_UTLOST);
    let (ix, warning) = t.resolve(&cols)?;
    let name = t.name.clone();
    out.data.personer_file = name.clone();
    out.avvik.extend(warning);
    // Rows without a problem go straight into the extract; duplicates are removed afterwards. Rows are
    // checked in parallel; the results arrive here in file order.
    let first = out.data.personer.len();
    let hint = t.row_hint;
    let lookup = KnrLookup::new(opts.kommuner);
    let (n, acc) = t.par_rows(
        file,
        || PersonAcc {
            personer: Vec::with_capacity(hint),
            keys: Vec::with_capacity(hint),
            problems: Problems::new(),
        },
        |row| {
            let mut c = RowCheck::new(&name, row);
            let p = check_person(&mut c, row, &ix, opts, &lookup);
            let key = c.fnr.map(|f| (fnr_key(&f), row.line, f));
            let person = if c.is_rejected() { None } else { p };
            (person, key, row_problems(c))
        },
        |acc, (person, key, problems)| {
            acc.keys.extend(key);
            acc.personer.extend(person);
            add_problems(&mut acc.problems, problems);
        },
    )?;
    let PersonAcc {
        personer: read,
        mut keys,
        mut problems,
    } = acc;
    let personer = &mut out.data.personer;
    if personer.is_empty() {
        *personer = read;
    } else {
        personer.extend(read);
    }

    // Unique fnr (SPEC §1.3): every row of a duplicated fnr is rejected — we cannot know which is right.
    // Sorted by the number as an integer (computed once per row): cheaper than comparing digit arrays.
    // (The pairs are unique: the parallel sort gives the one order.)
    keys.par_sort_unstable_by_key(|k| (k.0, k.1));
    let mut dup_lines: HashSet<u64> = HashSet::new();
    for group in keys.chunk_by(|a, b| a.0 == b.0).filter(|g| g.len() > 1) {
        for &(_, line, f) in group {
            let others: Vec<String> = group
                .iter()
                .filter(|(_, l, _)| *l != line)
                .map(|(_, l, _)| l.to_string())
                .collect();
            let entry = problems.entry(line).or_default();
            entry.rejected = true;
            entry.list.push(
                Avvik::rejected(
                    &name,
                    Some(line),
                    Some("fnr"),
                    "duplikat_fnr",
                    format!(
                        "fnr {} also appears on line(s) {}; every row of a duplicated fnr is rejected — keep one",
                        f.masked(),
                        others.join(", ")
                    ),
                )
                .with_fnr(Some(f)),
            );
            dup_lines.insert(line);
        }
    }
    if !dup_lines.is_empty() {
        let mut i = 0usize;
        personer.retain(|p| {
            i += 1;
            i <= first || !dup_lines.contains(&p.line)
        });
    }
    let synthetic = personer[first..]
        .iter()
        .filter(|p| p.fnr.is_synthetic())
        .count() as u64;
    let stats = finish_table(&mut out.avvik, problems, &name, n, synthetic);
    out.stats.push(stats);
    Ok(())
}

/// The accepted persons' settlement date and municipality by person number, for the checks of
/// `flyttinger`: a sorted table built on all cores (a hash map of a million
/// persons took a tenth of a second on one). Answers as a map collected from the persons in order
/// would (a later person wins), though the duplicate check leaves every number once.
struct PersonIndex {
    /// (scrambled number, value), sorted by the first.
    by_key: Vec<(u64, (NaiveDate, Knr))>,
    /// `dir[b]`: the first entry whose scrambled number has `b` as its top `bits` bits. Scrambled numbers
    /// are spread evenly, so a bucket holds about one person: a lookup costs two cache misses (a binary
    /// search over a million persons cost twenty).
    dir: Vec<usize>,
    bits: u32,
}

/// A bijection of `u64` (odd multiplier) that spreads the person numbers evenly over the range.
fn scramble(key: u64) -> u64 {
    key.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl PersonIndex {
    fn new(personer: &[Person]) -> Self {
        let mut by_key: Vec<(u64, (NaiveDate, Knr))> = personer
            .par_iter()
            .map(|p| {
                (
                    scramble(fnr_key(&p.fnr)),
                    (p.bosettingsdato, p.bosettingskommune),
                )
            })
            .collect();
        // Stable: equal numbers keep file order, so the last of them is the one a map would keep.
        by_key.par_sort_by_key(|e| e.0);
        let bits = (usize::BITS - by_key.len().leading_zeros()).clamp(1, 24);
        let mut dir = Vec::with_capacity((1 << bits) + 1);
        let mut i = 0;
        for b in 0..=(1u64 << bits) {
            while by_key.get(i).is_some_and(|e| (e.0 >> (64 - bits)) < b) {
                i += 1;
            }
            dir.push(i);
        }
        PersonIndex { by_key, dir, bits }
    }

    fn get(&self, f: &Fnr) -> Option<&(NaiveDate, Knr)> {
        let k = scramble(fnr_key(f));
        let b = (k >> (64 - self.bits)) as usize;
        let (Some(&lo), Some(&hi)) = (self.dir.get(b), self.dir.get(b + 1)) else {
            return None;
        };
        let bucket = self.by_key.get(lo..hi)?;
        let i = bucket.partition_point(|e| e.0 <= k);
        match i.checked_sub(1).and_then(|j| bucket.get(j)) {
            Some((key, v)) if *key == k => Some(v),
            _ => None,
        }
    }
}

/// The 11 digits of a person number as one integer (order-preserving, fits easily in a u64).
fn fnr_key(f: &Fnr) -> u64 {
    f.as_str()
        .bytes()
        .fold(0u64, |a, d| a * 10 + u64::from(d - b'0'))
}

/// Checks one `personer` row; every problem is recorded in `c`.
fn check_person(
    c: &mut RowCheck,
    row: &table::Row,
    ix: &[Option<usize>],
    opts: &LoadOptions,
    lookup: &KnrLookup,
) -> Option<Person> {
    let cell = |i: usize| row.cell(ix[i]);
    // ID-1
    let fnr_born = c.fnr_born("fnr", &cell(0), opts, true);
    let fnr = fnr_born.map(|(f, _)| f);
    c.fnr = fnr;
    // ID-2
    let duf = c.duf("duf", &cell(1), opts.run_year);
    let fodselsdato = c.date("fodselsdato", &cell(2), false);
    let bosettingsdato = c.date("bosettingsdato", &cell(3), true);
    // ID-3 at the settlement date.
    let knr = c.knr_in("bosettingskommune", &cell(4), lookup, bosettingsdato, true);
    let sak_id = c.text("sak_id", &cell(5)).map(|s| s.into_owned());
    let malgruppe = match cell(6) {
        m if m.is_empty() => {
            c.text("malgruppe", &m);
            None
        }
        m => {
            let raw = m.raw();
            match raw.parse::<Malgruppe>() {
                Ok(g) => Some(g),
                Err(()) => {
                    c.reject(
                        Some("malgruppe"),
                        "ukjent_malgruppe",
                        format!(
                            "'{raw}' is not a målgruppe; use one of flyktning, familie_flyktning, familie_humanitar, utenfor"
                        ),
                    );
                    None
                }
            }
        }
    };
    let bosatt_etter_avtale = c.boolean("bosatt_etter_avtale", &cell(7), true);
    let enslig_mindrearig = c.boolean("enslig_mindrearig", &cell(8), false);
    let mor_fnr = c.fnr("mor_fnr", &cell(9), opts, false);
    let referanse_fnr = c.fnr("referanse_fnr", &cell(10), opts, false);
    let familie_soknadsdato = c.date("familie_soknadsdato", &cell(11), false);
    let registrert_dato = c.date("registrert_dato", &cell(12), false);
    let dodsdato = c.date("dodsdato", &cell(13), false);
    let utvandringsdato = c.date("utvandringsdato", &cell(14), false);
    let gjenforent_dato = c.date("gjenforent_dato", &cell(15), false);
    let tidligere_utlost = c.boolean("tidligere_utlost", &cell(16), false);

    // fodselsdato must equal the date in fnr (SPEC §1.3); absent → taken from fnr.
    let born = fnr_born.map(|(_, b)| b);
    if let (Some(given), Some(from_fnr)) = (fodselsdato, born) {
        if given != from_fnr {
            c.reject(
                Some("fodselsdato"),
                "fodselsdato_avviker",
                format!(
                    "fodselsdato {} differs from the birth date {} in fnr {}; correct one of them",
                    given.format("%d.%m.%Y"),
                    from_fnr.format("%d.%m.%Y"),
                    fnr.map(|f| f.masked()).unwrap_or_default()
                ),
            );
        }
    }
    if let (Some(f), Some(m)) = (fnr, mor_fnr) {
        if f == m {
            c.reject(
                Some("mor_fnr"),
                "ugyldig_mor_fnr",
                "mor_fnr is the person's own number".into(),
            );
        }
    }
    Some(Person {
        fnr: fnr?,
        duf,
        fodselsdato: born?,
        bosettingsdato: bosettingsdato?,
        bosettingskommune: knr?,
        sak_id: sak_id?,
        malgruppe: malgruppe?,
        bosatt_etter_avtale,
        enslig_mindrearig,
        mor_fnr,
        referanse_fnr,
        familie_soknadsdato,
        registrert_dato: registrert_dato.or(bosettingsdato)?,
        dodsdato,
        utvandringsdato,
        gjenforent_dato,
        tidligere_utlost,
        line: c.line,
    })
}

fn read_flyttinger_into(
    t: Table,
    opts: &LoadOptions,
    out: &mut Loaded<Extract>,
    file: &mut InputFile,
) -> Result<(), InputError> {
    let (ix, warning) = t.resolve(&FLYTTINGER_COLS)?;
    let name = t.name.clone();
    out.data.flyttinger_file = Some(name.clone());
    out.avvik.extend(warning);
    let persons = PersonIndex::new(&out.data.personer);
    let pfile = out.data.personer_file.clone();
    let lookup = KnrLookup::new(opts.kommuner);
    // Moves that passed the row checks, in file order; the chain check may still reject some.
    let (n, (mut moves, mut problems)) = t.par_rows(
        file,
        || (Vec::<Flytting>::new(), Problems::new()),
        |row| {
            let mut c = RowCheck::new(&name, row);
            let fnr = c.fnr("fnr", &row.cell(ix[0]), opts, true);
            c.fnr = fnr;
            let dato = c.date("flyttedato", &row.cell(ix[1]), true);
            // ID-3: the municipality moved to must exist on the move date; the one moved from on the day before.
            let til = c.knr_in("til_kommune", &row.cell(ix[2]), &lookup, dato, true);
            let fra = c.knr_in(
                "fra_kommune",
                &row.cell(ix[3]),
                &lookup,
                dato.and_then(|d| d.pred_opt()),
                false,
            );
            if let Some(f) = fnr {
                match persons.get(&f) {
                    None => c.reject(
                        Some("fnr"),
                        "ukjent_person",
                        format!(
                            "fnr {} is not among the accepted persons of {pfile}; add the person or fix the number",
                            f.masked()
                        ),
                    ),
                    Some((bosatt, _)) => {
                        if let Some(d) = dato.filter(|d| d < bosatt) {
                            c.reject(
                                Some("flyttedato"),
                                "flytting_for_bosetting",
                                format!(
                                    "flyttedato {} is before the bosettingsdato {}; a move must be on or after settlement",
                                    d.format("%d.%m.%Y"),
                                    bosatt.format("%d.%m.%Y")
                                ),
                            );
                        }
                    }
                }
            }
            let mv = match (c.is_rejected(), fnr, dato, til) {
                (false, Some(fnr), Some(flyttedato), Some(til_kommune)) => Some(Flytting {
                    fnr,
                    flyttedato,
                    til_kommune,
                    fra_kommune: fra,
                    line: c.line,
                }),
                _ => None,
            };
            (mv, row_problems(c))
        },
        |(moves, problems), (mv, p)| {
            moves.extend(mv);
            add_problems(problems, p);
        },
    )?;

    // Chain check (SPEC §1.4): per person, moves in date order (ties in file order), starting from the
    // settlement municipality; a rejected move does not change the residence.
    let mut order: Vec<usize> = (0..moves.len()).collect();
    // (The keys are unique, so the parallel unstable sort gives the one order.)
    order.par_sort_unstable_by_key(|&i| (moves[i].fnr, moves[i].flyttedato, i));
    let mut broken: HashSet<usize> = HashSet::new();
    for group in order.chunk_by(|a, b| moves[*a].fnr == moves[*b].fnr) {
        let f = moves[group[0]].fnr;
        let Some(&(_, mut bor)) = persons.get(&f) else {
            continue;
        };
        for &i in group {
            let m = &moves[i];
            let problem = if let Some(fra) = m.fra_kommune.filter(|fra| *fra != bor) {
                Some((
                    "fra_kommune",
                    "flyttekjede_brutt",
                    format!(
                        "fra_kommune {fra} is not where the person lived before the move on {} ({bor}, from the settlement and earlier moves); correct the move chain",
                        m.flyttedato.format("%d.%m.%Y")
                    ),
                ))
            } else if m.til_kommune == bor {
                Some((
                    "til_kommune",
                    "flytting_samme_kommune",
                    format!(
                        "til_kommune {} is the municipality the person already lives in; a move must change municipality",
                        m.til_kommune
                    ),
                ))
            } else {
                None
            };
            match problem {
                Some((col, kode, msg)) => {
                    let entry = problems.entry(m.line).or_default();
                    entry.rejected = true;
                    entry.list.push(
                        Avvik::rejected(&name, Some(m.line), Some(col), kode, msg)
                            .with_fnr(Some(f)),
                    );
                    broken.insert(i);
                }
                None => bor = m.til_kommune,
            }
        }
    }
    let mut i = 0usize;
    moves.retain(|_| {
        i += 1;
        !broken.contains(&(i - 1))
    });
    let synthetic = moves.iter().filter(|m| m.fnr.is_synthetic()).count() as u64;
    out.data.flyttinger.extend(moves);
    let stats = finish_table(&mut out.avvik, problems, &name, n, synthetic);
    out.stats.push(stats);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn person(fnr: &str, line: u64, knr: &str) -> Person {
        let f = Fnr::parse(fnr).expect("test number");
        let d = NaiveDate::from_ymd_opt(2022, 3, 15).expect("date");
        Person {
            fnr: f,
            duf: None,
            fodselsdato: f.birth_date(),
            bosettingsdato: d,
            bosettingskommune: Knr::parse(knr).expect("knr"),
            sak_id: format!("S{line}"),
            malgruppe: Malgruppe::Flyktning,
            bosatt_etter_avtale: true,
            enslig_mindrearig: false,
            mor_fnr: None,
            referanse_fnr: None,
            familie_soknadsdato: None,
            registrert_dato: d,
            dodsdato: None,
            utvandringsdato: None,
            gjenforent_dato: None,
            tidligere_utlost: false,
            line,
        }
    }

    #[test]
    fn person_index_answers_as_a_map_collected_in_order() {
        let num = |first6: &str| {
            (100..500)
                .find_map(|i| Fnr::with_control_digits(&format!("{first6}{i:03}")))
                .expect("some individual number is valid")
        };
        let (a, b, missing) = (num("010180"), num("020280"), num("030380"));
        let (a2, last) = (num("010181"), num("711299"));
        let personer = vec![
            person(b.as_str(), 2, "0301"),
            person(a.as_str(), 3, "0301"),
            person(b.as_str(), 4, "5001"),
            person(a2.as_str(), 5, "0301"),
        ];
        let idx = PersonIndex::new(&personer);
        let map: HashMap<Fnr, (NaiveDate, Knr)> = personer
            .iter()
            .map(|p| (p.fnr, (p.bosettingsdato, p.bosettingskommune)))
            .collect();
        for f in [a, b, missing, a2, last] {
            assert_eq!(idx.get(&f), map.get(&f), "{f:?}");
        }
        assert_eq!(idx.get(&b).map(|v| v.1), Knr::parse("5001").ok());
        // Many persons (buckets of every size), every other one looked up while absent.
        let all: Vec<Fnr> = (1..=28)
            .flat_map(|d| (81..=92).map(move |m| format!("{d:02}{m:02}85")))
            .map(|p| num(&p))
            .collect();
        let present: Vec<Person> = all
            .iter()
            .step_by(2)
            .enumerate()
            .map(|(i, f)| person(f.as_str(), i as u64 + 2, "0301"))
            .collect();
        let idx = PersonIndex::new(&present);
        let map: HashMap<Fnr, (NaiveDate, Knr)> = present
            .iter()
            .map(|p| (p.fnr, (p.bosettingsdato, p.bosettingskommune)))
            .collect();
        for f in &all {
            assert_eq!(idx.get(f), map.get(f), "{f:?}");
        }
        assert_eq!(PersonIndex::new(&[]).get(&a), None);
    }
}
