//! Issue 6: the reader checks `flyttinger` against the persons by sorting both by person number and
//! joining them, and finds duplicate persons by a radix sort. This holds the result to a plain model of
//! the SPEC's rules (§1.3 unique fnr, §1.4 the move's person, settlement date and chain), computed with
//! hash maps, on an extract whose moves are out of person order: duplicates, persons rejected by their
//! row checks, unknown persons, moves before settlement, several moves of one person on the same day,
//! broken chains and moves to the same municipality.

mod input_support;

use input_support::*;
use std::collections::{HashMap, HashSet};
use tilskudd::input::table::{with_read_settings, ReadSettings};
use tilskudd::input::{load_dsf, load_kommuner};

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// `n` distinct valid synthetic person numbers.
fn numbers(n: usize) -> Vec<String> {
    let mut out = Vec::new();
    'all: for yy in 50..100 {
        for dd in 1..=28 {
            for mm in 81..=92 {
                if let Some(f) = (100..500).find_map(|i| {
                    tilskudd::domain::ids::Fnr::with_control_digits(&format!(
                        "{dd:02}{mm:02}{yy:02}{i:03}"
                    ))
                }) {
                    out.push(f.to_string());
                    if out.len() == n {
                        break 'all;
                    }
                }
            }
        }
    }
    out
}

#[test]
fn moves_and_duplicates_match_a_model_of_the_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let reg_path = tmp.path().join("kommuner.csv");
    std::fs::write(&reg_path, kommuner_csv()).unwrap();
    let reg = load_kommuner(&reg_path).unwrap().data;
    let o = opts_with(&reg);
    let kommuner = ["0301", "5001", "1103"];
    let dates = ["2021-03-01", "2022-01-15", "2022-06-30", "2023-02-01"];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let fnrs = numbers(600);

    // personer: rows of the first 500 numbers, some twice (duplicates), some rejected (unknown
    // municipality); the last 100 numbers have no person.
    struct P {
        fnr: String,
        bosatt: &'static str,
        knr: &'static str,
        ok: bool,
    }
    let mut ps: Vec<P> = Vec::new();
    for f in &fnrs[..500] {
        ps.push(P {
            fnr: f.clone(),
            bosatt: dates[rng.next(3) as usize],
            knr: kommuner[rng.next(3) as usize],
            ok: rng.next(10) != 0,
        });
    }
    for k in 0..30 {
        let f = fnrs[rng.next(500) as usize].clone();
        let at = rng.next(ps.len() as u64) as usize;
        ps.insert(
            at,
            P {
                fnr: f,
                bosatt: dates[0],
                knr: kommuner[k % 3],
                ok: k % 4 != 0,
            },
        );
    }
    let person_rows: Vec<Vec<String>> = ps
        .iter()
        .map(|p| {
            let mut r = vec![String::new(); PERSON_COLS.len()];
            r[0] = p.fnr.clone();
            r[3] = p.bosatt.to_string();
            r[4] = if p.ok { p.knr } else { "9999" }.to_string();
            r[5] = "S1".into();
            r[6] = "flyktning".into();
            r
        })
        .collect();

    // flyttinger: 900 moves of random numbers (with and without a person), random dates (ties on
    // purpose), random municipalities, with or without fra_kommune.
    struct M {
        fnr: String,
        dato: &'static str,
        til: &'static str,
        fra: Option<&'static str>,
    }
    let ms: Vec<M> = (0..900)
        .map(|_| M {
            fnr: fnrs[rng.next(fnrs.len() as u64) as usize].clone(),
            dato: dates[rng.next(4) as usize],
            til: kommuner[rng.next(3) as usize],
            fra: (rng.next(3) != 0).then(|| kommuner[rng.next(3) as usize]),
        })
        .collect();
    let move_rows: Vec<Vec<String>> = ms
        .iter()
        .map(|m| {
            vec![
                m.fnr.clone(),
                m.dato.to_string(),
                m.til.to_string(),
                m.fra.unwrap_or("").to_string(),
            ]
        })
        .collect();
    let d = tmp.path().join("dsf");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("personer.csv"),
        to_csv(&PERSON_COLS, &person_rows, ','),
    )
    .unwrap();
    std::fs::write(
        d.join("flyttinger.csv"),
        to_csv(&MOVE_COLS, &move_rows, ','),
    )
    .unwrap();

    // The model. Lines: header = 1, so row i is line i + 2.
    let mut count: HashMap<&str, usize> = HashMap::new();
    for p in &ps {
        *count.entry(p.fnr.as_str()).or_default() += 1;
    }
    let dup_lines: Vec<u64> = (0..ps.len())
        .filter(|&i| count[ps[i].fnr.as_str()] > 1)
        .map(|i| i as u64 + 2)
        .collect();
    let accepted: HashMap<&str, (&str, &str)> = ps
        .iter()
        .filter(|p| p.ok && count[p.fnr.as_str()] == 1)
        .map(|p| (p.fnr.as_str(), (p.bosatt, p.knr)))
        .collect();
    let mut want: Vec<(u64, &str)> = Vec::new();
    let mut by_person: HashMap<&str, Vec<usize>> = HashMap::new();
    for (j, m) in ms.iter().enumerate() {
        match accepted.get(m.fnr.as_str()) {
            None => want.push((j as u64 + 2, "ukjent_person")),
            // ISO dates compare as text.
            Some((bosatt, _)) if m.dato < *bosatt => {
                want.push((j as u64 + 2, "flytting_for_bosetting"))
            }
            Some(_) => by_person.entry(m.fnr.as_str()).or_default().push(j),
        }
    }
    for (f, mut js) in by_person {
        js.sort_by_key(|&j| (ms[j].dato, j));
        let mut bor = accepted[f].1;
        for j in js {
            let m = &ms[j];
            if m.fra.is_some_and(|fra| fra != bor) {
                want.push((j as u64 + 2, "flyttekjede_brutt"));
            } else if m.til == bor {
                want.push((j as u64 + 2, "flytting_samme_kommune"));
            } else {
                bor = m.til;
            }
        }
    }
    want.sort();
    let rejected_moves: HashSet<u64> = want.iter().map(|w| w.0).collect();

    let l = load_dsf(&d, &o).unwrap();
    // The one-thread reader, and batches of a few lines, give the same.
    for settings in [
        ReadSettings {
            chunk_bytes: 1 << 20,
            sequential: true,
        },
        ReadSettings {
            chunk_bytes: 200,
            sequential: false,
        },
    ] {
        let other = with_read_settings(settings, || load_dsf(&d, &o)).unwrap();
        assert_eq!(other.data.personer, l.data.personer);
        assert_eq!(other.data.flyttinger, l.data.flyttinger);
        assert_eq!(other.avvik, l.avvik);
        assert_eq!(other.stats, l.stats);
    }
    let got_dups: Vec<u64> = l
        .avvik
        .iter()
        .filter(|a| a.kode == "duplikat_fnr")
        .filter_map(|a| a.linje)
        .collect();
    assert_eq!(got_dups, dup_lines);
    let mut kept: Vec<&str> = l.data.personer.iter().map(|p| p.fnr.as_str()).collect();
    kept.sort();
    let mut want_kept: Vec<&str> = accepted.keys().copied().collect();
    want_kept.sort();
    assert_eq!(kept, want_kept);
    let got: Vec<(u64, &str)> = l
        .avvik
        .iter()
        .filter(|a| a.fil.ends_with("flyttinger.csv"))
        .map(|a| (a.linje.unwrap_or(0), a.kode.as_str()))
        .collect();
    assert_eq!(got, want);
    let got_moves: Vec<u64> = l.data.flyttinger.iter().map(|m| m.line).collect();
    let want_moves: Vec<u64> = (0..ms.len() as u64)
        .map(|j| j + 2)
        .filter(|line| !rejected_moves.contains(line))
        .collect();
    assert_eq!(got_moves, want_moves);
    // The data exercises every rule.
    for kode in [
        "ukjent_person",
        "flytting_for_bosetting",
        "flyttekjede_brutt",
        "flytting_samme_kommune",
    ] {
        assert!(want.iter().filter(|w| w.1 == kode).count() > 5, "{kode}");
    }
    assert!(dup_lines.len() > 20);
}
