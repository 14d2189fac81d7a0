//! The DSF extract (SPEC §1.3–1.4): `personer` and `flyttinger`, from a folder of CSV files or one
//! workbook. Every row rule of the SPEC is checked here; the rules engine only ever sees accepted rows.

use crate::domain::avvik::Avvik;
use crate::domain::ids::{Fnr, Knr};
use crate::domain::person::{Extract, Flytting, Malgruppe, Person};
use crate::input::check::{KnrLookup, RowCheck};
use crate::input::keysort;
use crate::input::table::{self, opt, req, Cell, Col, Table, Workbook};
use crate::input::values;
use crate::input::{FileStats, InputError, InputFile, LoadOptions, Loaded};
use chrono::NaiveDate;
use std::collections::BTreeMap;
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
        let (t, mut f) = table::open_csv(&personer)?;
        let rows = read_personer_rows(t, opts, &mut f)?;
        out.files.push(f);
        // The persons' duplicate check and index are built while `flyttinger` is read (its rows are
        // joined with the persons afterwards): the results are those of one step after the other.
        // The reader settings are per thread (tests: small chunks, the one-thread reference): the
        // second closure may run on a pool thread, so they are carried over.
        let settings = table::read_settings();
        let (persons, moves) = rayon::join(
            || finish_personer(rows),
            || {
                table::with_read_settings(settings, || -> Result<Option<MovesRead>, InputError> {
                    let Some(fl) = find_file(path, "flyttinger.csv") else {
                        return Ok(None);
                    };
                    if std::fs::metadata(&fl).is_ok_and(|m| m.len() == 0) {
                        // An export with no moves may be an empty file: the table is optional, so this
                        // means "no moves" (a warning, not a failed run); a personer.csv without bytes
                        // stays an error.
                        return Ok(Some(MovesRead::Empty(Avvik::warning(
                            &table::display(&fl),
                            None,
                            None,
                            "tom_fil",
                            "the file is empty (not even a header): read as no moves".into(),
                        ))));
                    }
                    let (t, mut f) = table::open_csv(&fl)?;
                    let rows = read_flyttinger_rows(t, opts, &mut f)?;
                    Ok(Some(MovesRead::Rows(Box::new(rows), f)))
                })
            },
        );
        let moves = moves?;
        let index = add_personer(&mut out, persons);
        match moves {
            None => {}
            Some(MovesRead::Empty(warning)) => out.avvik.push(warning),
            Some(MovesRead::Rows(rows, f)) => {
                add_flyttinger(&mut out, *rows, &index);
                out.files.push(f);
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
        let rows = read_personer_rows(t, opts, &mut file)?;
        let index = add_personer(&mut out, finish_personer(rows));
        if let Some(sheet) = wb.find_sheet("flyttinger") {
            let t = wb.table(&sheet)?;
            let rows = read_flyttinger_rows(t, opts, &mut file)?;
            add_flyttinger(&mut out, rows, &index);
        }
        out.files.push(file);
    } else if path.is_file() && table::is_csv(path) {
        let (t, mut f) = table::open_csv(path)?;
        let rows = read_personer_rows(t, opts, &mut f)?;
        add_personer(&mut out, finish_personer(rows));
        out.files.push(f);
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

/// What the optional `flyttinger.csv` of a folder gave.
enum MovesRead {
    /// A file of no bytes: a warning, no moves.
    Empty(Avvik),
    Rows(Box<MoveRows>, InputFile),
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

/// Adds a rejection found after the row checks (duplicates, the join with the persons, the chain) to
/// the problems of its line, after those the row checks found.
fn add_rejection(problems: &mut Problems, avvik: Avvik) {
    let Some(line) = avvik.linje else {
        return;
    };
    let entry = problems.entry(line).or_default();
    entry.rejected = true;
    entry.list.push(avvik);
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

/// No person (a row whose fnr parsed but that was rejected), in [`PersonRows::person`].
const NONE: u32 = u32::MAX;

/// The most data rows a `personer` or `flyttinger` table may have: the duplicate check and the join with
/// the persons hold row indexes as `u32` ([`keysort::order_by_number`], [`PersonRows::person`],
/// [`MoveCheck::mv`]), and `u32::MAX` is [`NONE`]. Four billion rows is far beyond any extract (and
/// beyond memory), but a larger table must fail, never get indexes that wrapped around.
const MAX_ROWS: u64 = NONE as u64;

/// An [`InputError`] when `rows` data rows are more than `limit` (see [`MAX_ROWS`]).
fn check_row_count(file: &str, rows: u64, limit: u64) -> Result<(), InputError> {
    if rows > limit {
        return Err(InputError::Format {
            file: file.to_string(),
            message: format!(
                "the table has {rows} data rows, more than the {limit} rows one table may have; split the extract"
            ),
        });
    }
    Ok(())
}

/// The `personer` rows as read: the persons that passed the row checks and, for the duplicate check,
/// every row whose fnr parsed.
struct PersonRows {
    name: String,
    /// The unknown-column warning of the header.
    warning: Option<Avvik>,
    read: u64,
    personer: Vec<Person>,
    /// Per person: settlement date and municipality (for the checks of `flyttinger`).
    settled: Vec<(NaiveDate, Knr)>,
    /// Per row whose fnr parsed, in file order: the number ([`Fnr::number`]), the line, and the row's
    /// index in `personer` ([`NONE`]: rejected by the row checks).
    nums: Vec<u64>,
    lines: Vec<u64>,
    person: Vec<u32>,
    problems: Problems,
}

/// Reads and checks the rows of `personer` (the part that can fail; see [`finish_personer`]).
fn read_personer_rows(
    t: Table,
    opts: &LoadOptions,
    file: &mut InputFile,
) -> Result<PersonRows, InputError> {
    let mut cols: Vec<Col> = PERSONER_COLS.to_vec();
    cols.push(TIDLIGERE_UTLOST);
    let (ix, warning) = t.resolve(&cols)?;
    let name = t.name.clone();
    let headers = t.headers.clone();
    // Rows are checked in parallel; the results arrive here in file order.
    let hint = t.row_hint;
    let lookup = KnrLookup::new(opts.kommuner);
    let (read, acc) = t.par_rows(
        file,
        || PersonRows {
            name: name.clone(),
            warning: None,
            read: 0,
            personer: Vec::with_capacity(hint),
            settled: Vec::with_capacity(hint),
            nums: Vec::with_capacity(hint),
            lines: Vec::with_capacity(hint),
            person: Vec::with_capacity(hint),
            problems: Problems::new(),
        },
        |row| {
            let mut c = RowCheck::start(&name, &headers, row, &[]);
            let p = check_person(&mut c, row, &ix, opts, &lookup);
            let num = c.fnr.map(|f| f.number());
            let person = if c.is_rejected() { None } else { p };
            (person, num, row.line, row_problems(c))
        },
        |acc, (person, num, line, problems)| {
            if let Some(num) = num {
                acc.nums.push(num);
                acc.lines.push(line);
                acc.person.push(match person {
                    Some(_) => u32::try_from(acc.personer.len()).unwrap_or(NONE),
                    None => NONE,
                });
            }
            if let Some(p) = person {
                acc.settled.push((p.bosettingsdato, p.bosettingskommune));
                acc.personer.push(p);
            }
            add_problems(&mut acc.problems, problems);
        },
    )?;
    check_row_count(&name, read, MAX_ROWS)?;
    Ok(PersonRows {
        warning,
        read,
        ..acc
    })
}

/// The accepted persons' settlement date and municipality by person number, for the checks of
/// `flyttinger`, which join their rows sorted by number with it (a lookup per move cost two cache
/// misses in a table of a million).
struct PersonIndex {
    /// The numbers of the accepted persons, ascending (unique: the duplicate check removed the others).
    nums: Vec<u64>,
    /// For each number, its index in `settled`.
    at: Vec<u32>,
    settled: Vec<(NaiveDate, Knr)>,
}

/// `personer` after the duplicate check.
struct PersonerDone {
    name: String,
    personer: Vec<Person>,
    avvik: Vec<Avvik>,
    stats: FileStats,
    index: PersonIndex,
}

/// The person number `num` ([`Fnr::number`] of a valid number) as an [`Fnr`] again.
fn fnr_of_number(num: u64) -> Option<Fnr> {
    Fnr::parse(&format!("{num:011}")).ok()
}

/// Unique fnr (SPEC §1.3): every row of a duplicated fnr is rejected — we cannot know which is right.
/// Also builds the index of the accepted persons by number.
fn finish_personer(rows: PersonRows) -> PersonerDone {
    let PersonRows {
        name,
        warning,
        read,
        mut personer,
        settled,
        nums,
        lines,
        person,
        mut problems,
    } = rows;
    // Rows in number order, equal numbers in file order.
    let (sorted, order) = keysort::order_by_number(&nums);
    drop(nums);
    let mut index = PersonIndex {
        nums: Vec::with_capacity(personer.len()),
        at: Vec::with_capacity(personer.len()),
        settled,
    };
    let mut dropped: Vec<u32> = Vec::new();
    for (num, run) in keysort::runs(&sorted) {
        let group = &order[run];
        if group.len() == 1 {
            let p = person[group[0] as usize];
            if p != NONE {
                index.nums.push(num);
                index.at.push(p);
            }
        } else {
            let f = fnr_of_number(num);
            let masked = f.map(|f| f.masked()).unwrap_or_default();
            for &r in group {
                let line = lines[r as usize];
                let others: Vec<String> = group
                    .iter()
                    .map(|&o| lines[o as usize])
                    .filter(|l| *l != line)
                    .map(|l| l.to_string())
                    .collect();
                add_rejection(
                    &mut problems,
                    Avvik::rejected(
                        &name,
                        Some(line),
                        Some("fnr"),
                        "duplikat_fnr",
                        format!(
                            "fnr {masked} also appears on line(s) {}; every row of a duplicated fnr is rejected — keep one",
                            others.join(", ")
                        ),
                    )
                    .with_fnr(f),
                );
                if person[r as usize] != NONE {
                    dropped.push(person[r as usize]);
                }
            }
        }
    }
    if !dropped.is_empty() {
        dropped.sort_unstable();
        let mut k = 0usize;
        let mut next = 0usize;
        personer.retain(|_| {
            let drop = dropped.get(next) == Some(&(k as u32));
            if drop {
                next += 1;
            }
            k += 1;
            !drop
        });
    }
    let synthetic = personer.iter().filter(|p| p.fnr.is_synthetic()).count() as u64;
    let mut avvik: Vec<Avvik> = warning.into_iter().collect();
    let stats = finish_table(&mut avvik, problems, &name, read, synthetic);
    PersonerDone {
        name,
        personer,
        avvik,
        stats,
        index,
    }
}

/// Puts the persons into the extract; returns their index for `flyttinger`.
fn add_personer(out: &mut Loaded<Extract>, done: PersonerDone) -> PersonIndex {
    out.data.personer_file = done.name;
    out.data.personer = done.personer;
    out.avvik.extend(done.avvik);
    out.stats.push(done.stats);
    done.index
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
    let fodselsdato = match (cell(2), fnr_born) {
        // The date in fnr, as written (the usual case): it reads as that date, with no problem to
        // record, so it need not be parsed again.
        (Cell::Text(t), Some((_, born))) if values::date_text_is(t, born) => Some(born),
        (cell, _) => c.date("fodselsdato", &cell, false),
    };
    let bosatt_cell = cell(3);
    let bosettingsdato = c.date("bosettingsdato", &bosatt_cell, true);
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
    let registrert_cell = cell(12);
    let registrert_dato = match (bosettingsdato, registrert_cell, bosatt_cell) {
        // The same text as bosettingsdato, which read well: the same date, and no problem to record
        // (usually so; saves a parse).
        (Some(d), Cell::Text(r), Cell::Text(b)) if r == b => Some(d),
        (_, cell, _) => c.date("registrert_dato", &cell, false),
    };
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
    // Dates no person can have (SPEC §1.3 is silent; docs/input.md): settled before being born, dead
    // before being born or settled. Accepted, such a row was paid for years before the birth. Not for a
    // child with `mor_fnr`: IT-4 makes a child born after its mother's settlement settled at birth, and
    // its row may carry the family's (earlier) settlement date.
    let born_at = fodselsdato.or(born);
    if let (Some(b), Some(s), None) = (born_at, bosettingsdato, mor_fnr) {
        if s < b {
            c.reject(
                Some("bosettingsdato"),
                "bosatt_for_fodsel",
                format!(
                    "bosettingsdato {} is before the birth date {}; correct one of them",
                    s.format("%d.%m.%Y"),
                    b.format("%d.%m.%Y")
                ),
            );
        }
    }
    if let Some(d) = dodsdato {
        let before = [
            ("the birth date", born_at),
            ("bosettingsdato", bosettingsdato),
        ]
        .into_iter()
        .find_map(|(what, x)| x.filter(|&x| d < x).map(|x| (what, x)));
        if let Some((what, x)) = before {
            c.reject(
                Some("dodsdato"),
                "dod_for_bosetting",
                format!(
                    "dodsdato {} is before {what} {}; correct one of them",
                    d.format("%d.%m.%Y"),
                    x.format("%d.%m.%Y")
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

/// One `flyttinger` row whose fnr parsed, for the join with the persons.
#[derive(Clone, Copy)]
struct MoveCheck {
    line: u64,
    fnr: Fnr,
    dato: Option<NaiveDate>,
    /// Index in [`MoveRows::moves`] ([`NONE`]: the row checks rejected the row).
    mv: u32,
}

/// The `flyttinger` rows as read.
struct MoveRows {
    name: String,
    warning: Option<Avvik>,
    read: u64,
    /// Moves that passed the row checks, in file order; the join and the chain check may still reject
    /// some.
    moves: Vec<Flytting>,
    /// Every row whose fnr parsed, in file order, and its number (emptied when the rows are sorted).
    checks: Vec<MoveCheck>,
    nums: Vec<u64>,
    /// The rows of `checks` by number ([`keysort::order_by_number`]), sorted on the thread that read
    /// them: in a folder that is while the persons are checked for duplicates, not after.
    sorted: Vec<u64>,
    order: Vec<u32>,
    problems: Problems,
}

/// Reads and checks the rows of `flyttinger` (the part that can fail, and needs no persons; see
/// [`add_flyttinger`]).
fn read_flyttinger_rows(
    t: Table,
    opts: &LoadOptions,
    file: &mut InputFile,
) -> Result<MoveRows, InputError> {
    let (ix, warning) = t.resolve(&FLYTTINGER_COLS)?;
    let name = t.name.clone();
    let headers = t.headers.clone();
    let hint = t.row_hint;
    let lookup = KnrLookup::new(opts.kommuner);
    let (read, acc) = t.par_rows(
        file,
        || MoveRows {
            name: name.clone(),
            warning: None,
            read: 0,
            moves: Vec::with_capacity(hint),
            checks: Vec::with_capacity(hint),
            nums: Vec::with_capacity(hint),
            sorted: Vec::new(),
            order: Vec::new(),
            problems: Problems::new(),
        },
        |row| {
            let mut c = RowCheck::start(&name, &headers, row, &[]);
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
            // (Whether the person exists and was settled by then is checked after the read, by
            // number order; those are the row's last checks.)
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
            (mv, fnr, dato, row.line, row_problems(c))
        },
        |acc, (mv, fnr, dato, line, p)| {
            if let Some(fnr) = fnr {
                acc.nums.push(fnr.number());
                acc.checks.push(MoveCheck {
                    line,
                    fnr,
                    dato,
                    mv: match mv {
                        Some(_) => u32::try_from(acc.moves.len()).unwrap_or(NONE),
                        None => NONE,
                    },
                });
            }
            acc.moves.extend(mv);
            add_problems(&mut acc.problems, p);
        },
    )?;
    check_row_count(&name, read, MAX_ROWS)?;
    let (sorted, order) = keysort::order_by_number(&acc.nums);
    Ok(MoveRows {
        warning,
        read,
        nums: Vec::new(),
        sorted,
        order,
        ..acc
    })
}

/// Checks the moves against the persons and their chains, and puts them into the extract.
fn add_flyttinger(out: &mut Loaded<Extract>, rows: MoveRows, persons: &PersonIndex) {
    let MoveRows {
        name,
        warning,
        read,
        mut moves,
        checks,
        nums: _,
        sorted,
        order,
        mut problems,
    } = rows;
    out.data.flyttinger_file = Some(name.clone());
    out.avvik.extend(warning);
    let pfile = &out.data.personer_file;
    let mut broken = vec![false; moves.len()];
    let mut chain: Vec<u32> = Vec::new();
    // The position in `persons.nums`: both lists are in number order, so one walk joins them.
    let mut at = 0usize;
    for (num, run) in keysort::runs(&sorted) {
        at = keysort::lower_bound_from(&persons.nums, num, at);
        let person = match persons.nums.get(at) {
            Some(&n) if n == num => persons
                .at
                .get(at)
                .and_then(|&k| persons.settled.get(k as usize))
                .copied(),
            _ => None,
        };
        chain.clear();
        // The row's last checks (SPEC §1.4: the mover is an accepted person, and moved after being
        // settled), for each row of this number in file order.
        for &r in &order[run] {
            let c = checks[r as usize];
            let f = c.fnr;
            let problem = match person {
                None => Some((
                    "fnr",
                    "ukjent_person",
                    format!(
                        "fnr {} is not among the accepted persons of {pfile}; add the person or fix the number",
                        f.masked()
                    ),
                )),
                Some((bosatt, _)) => c.dato.filter(|d| *d < bosatt).map(|d| {
                    (
                        "flyttedato",
                        "flytting_for_bosetting",
                        format!(
                            "flyttedato {} is before the bosettingsdato {}; a move must be on or after settlement",
                            d.format("%d.%m.%Y"),
                            bosatt.format("%d.%m.%Y")
                        ),
                    )
                }),
            };
            match problem {
                Some((col, kode, msg)) => {
                    add_rejection(
                        &mut problems,
                        Avvik::rejected(&name, Some(c.line), Some(col), kode, msg)
                            .with_fnr(Some(f)),
                    );
                    if let Some(b) = broken.get_mut(c.mv as usize) {
                        *b = true;
                    }
                }
                None if c.mv != NONE => chain.push(c.mv),
                None => {}
            }
        }
        // Chain check (SPEC §1.4): per person, moves in date order (ties in file order: the sort is
        // stable), starting from the settlement municipality; a rejected move does not change the
        // residence.
        let Some((_, mut bor)) = person else {
            continue;
        };
        chain.sort_by_key(|&k| moves[k as usize].flyttedato);
        for &k in &chain {
            let m = &moves[k as usize];
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
                    add_rejection(
                        &mut problems,
                        Avvik::rejected(&name, Some(m.line), Some(col), kode, msg)
                            .with_fnr(Some(m.fnr)),
                    );
                    broken[k as usize] = true;
                }
                None => bor = m.til_kommune,
            }
        }
    }
    let mut k = 0usize;
    moves.retain(|_| {
        k += 1;
        !broken[k - 1]
    });
    let synthetic = moves.iter().filter(|m| m.fnr.is_synthetic()).count() as u64;
    out.data.flyttinger.extend(moves);
    let stats = finish_table(&mut out.avvik, problems, &name, read, synthetic);
    out.stats.push(stats);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_with_more_rows_than_its_indexes_hold_is_an_error() {
        assert!(check_row_count("dsf/personer.csv", 10, 10).is_ok());
        assert!(check_row_count("dsf/personer.csv", 0, 10).is_ok());
        let e = check_row_count("dsf/flyttinger.csv", 11, 10).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("dsf/flyttinger.csv: "), "{msg}");
        assert!(
            msg.contains("11 data rows") && msg.contains("the 10 rows"),
            "{msg}"
        );
        // The real limit: every index below it fits the `u32` indexes and differs from `NONE`.
        assert_eq!(MAX_ROWS, u64::from(u32::MAX));
        assert!(u32::try_from(MAX_ROWS - 1).is_ok_and(|last| last != NONE));
        assert!(check_row_count("p", MAX_ROWS, MAX_ROWS).is_ok());
        assert!(check_row_count("p", MAX_ROWS + 1, MAX_ROWS).is_err());
    }
}
