//! The engine's fast paths (issue 6) against their plain definitions, and a by-hand timing of the
//! engine's per-person work on a large extract (ignored by default).

mod termin_support;

use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use termin_support::{d, extract, fnr, k, mv, person, t};
use tilskudd::domain::basis::{BasisLine, RuleSet};
use tilskudd::domain::engine::{
    dedupe_ledger, net_person, net_person_into, Accrual, Assessment, Engine, Params, Status,
};
use tilskudd::domain::ledger::{LedgerLine, LineKey, Origin};
use tilskudd::domain::money::month_amount;
use tilskudd::domain::person::{Extract, Malgruppe, Person};
use tilskudd::domain::rates::{Rate, RateCode, RateStatus, RateTable};
use tilskudd::domain::rules::it::Exclusion;

/// CPU time of this thread (Linux `/proc/thread-self/schedstat`), so that a busy machine does not
/// inflate the figures; wall time elsewhere.
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
        .map(Duration::from_nanos)
        .unwrap_or_default()
}

/// Times `Engine::new` and the per-person work (assess + net, one thread, fnr order) on a generated
/// extract. `ENGINE_BENCH_DIR=target/bench-data/1m [ENGINE_BENCH_PAID=/work/ref-1m/utbetalt.csv]
/// cargo test --release --test engine_fast -- --ignored --nocapture bench`
#[test]
#[ignore]
fn bench_per_person() {
    let Ok(dir) = std::env::var("ENGINE_BENCH_DIR") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let paid = std::env::var("ENGINE_BENCH_PAID").ok();
    let opts = tilskudd::input::LoadOptions {
        run_year: 2024,
        reject_synthetic: false,
        kommuner: None,
        ledger_before: None,
    };
    let ex = tilskudd::input::load_dsf(&dir.join("dsf"), &opts).unwrap();
    let rt = tilskudd::input::load_rates(&[dir.join("satser.csv")]).unwrap();
    let (termin, ledger) = match &paid {
        Some(p) => {
            let l = tilskudd::input::load_ledger(&[PathBuf::from(p)], &opts).unwrap();
            let t = Instant::now();
            let (lines, dup) = dedupe_ledger(l.data).unwrap();
            eprintln!("dedupe_ledger {:?} ({} dup)", t.elapsed(), dup.len());
            ("2025-Q1", lines)
        }
        None => ("2024-Q4", Vec::new()),
    };
    let params = Params::new(termin.parse().unwrap(), None, 2021);
    eprintln!(
        "Person {} bytes",
        std::mem::size_of::<tilskudd::domain::person::Person>()
    );
    if std::env::var("ENGINE_BENCH_PASSES").is_ok() {
        let ps = &ex.data.personer;
        for _ in 0..2 {
            let t = Instant::now();
            let a: u64 = ps.iter().map(|p| p.line).sum();
            let t1 = t.elapsed();
            let b: usize = ps.iter().map(|p| p.sak_id.len()).sum();
            let t2 = t.elapsed();
            let c: u64 = ps
                .iter()
                .map(|p| p.sak_id.bytes().map(u64::from).sum::<u64>())
                .sum();
            let t3 = t.elapsed();
            let d: usize = ps.iter().map(|p| p.fnr.as_str().len()).sum();
            let t4 = t.elapsed();
            let mut v: Vec<u64> = ps
                .iter()
                .map(|p| p.line.wrapping_mul(0x9E37_79B9_7F4A_7C15))
                .collect();
            let t5 = t.elapsed();
            v.sort_unstable();
            let t6 = t.elapsed();
            eprintln!("passes: line {t1:?} sak len {:?} sak bytes {:?} fnr {:?} collect {:?} sort {:?} {}", t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, a as usize + b + c as usize + d + v[0] as usize);
        }
    }
    for round in 0..3 {
        let t0 = Instant::now();
        let engine = Engine::new(params, &ex.data, &rt.data, &ledger);
        let t1 = Instant::now();
        let row_order: Vec<u32> = (0..ex.data.personer.len() as u32).collect();
        // ENGINE_BENCH_ROW_ORDER=1: persons in extract order (memory order) instead of fnr order.
        let order = if std::env::var("ENGINE_BENCH_ROW_ORDER").is_ok() {
            &row_order[..]
        } else {
            engine.rows_in_fnr_order()
        };
        let t2 = Instant::now();
        let c2 = thread_cpu();
        let mut out = Vec::with_capacity(4096);
        let mut n_lines = 0usize;
        let mut a = engine.assess(&ex.data.personer[0], false).unwrap();
        // ENGINE_BENCH_TOUCH=1: read every person of a block of 512 once before assessing it (the loads
        // overlap), as a run could.
        let touch = std::env::var("ENGINE_BENCH_TOUCH").is_ok();
        for block in order.chunks(512) {
            if touch {
                let mut sum = 0u64;
                for &i in block {
                    let p = &ex.data.personer[i as usize];
                    sum = sum
                        .wrapping_add(p.line)
                        .wrapping_add(u64::from(p.tidligere_utlost));
                }
                std::hint::black_box(sum);
            }
            for &i in block {
                let p = &ex.data.personer[i as usize];
                engine.assess_into(p, false, &mut a).unwrap();
                net_person_into(&a, engine.paid_lines(&p.fnr), &mut out);
                if out.len() > 4000 {
                    n_lines += out.len();
                    out.clear();
                }
            }
        }
        n_lines += out.len();
        let t3 = Instant::now();
        let c3 = thread_cpu();
        let n = order.len().max(1);
        eprintln!(
            "round {round}: index {:?} wall, assess+net {:?} wall, {:?} cpu = {:.0} ns cpu/person ({} lines)",
            t1 - t0,
            t3 - t2,
            c3 - c2,
            (c3 - c2).as_nanos() as f64 / n as f64,
            n_lines
        );
    }
}

/// Rates that do not split into whole øre per month (IT-13 rounding at work): 235 000.17 + 1 001.31 per
/// year after 2020 and a per-code offset.
fn awkward_rates() -> RateTable {
    let mut r = RateTable::default();
    for year in 2015..=2035 {
        for (i, code) in RateCode::TERMIN_CODES.into_iter().enumerate() {
            let ore = 23_500_017 + (i64::from(year) - 2020) * 100_131 + i as i64 * 1_234_567;
            r.insert(Rate {
                ar: year,
                kode: code,
                belop: Decimal::new(ore, 2),
                status: RateStatus::Eksempel,
                kilde: "test".into(),
                origin: format!("test:{year}"),
            })
            .unwrap();
        }
    }
    r
}

/// Persons that cut a grant year at both ends and move in the middle of it.
fn cut_and_moved() -> Extract {
    let mut ps = Vec::new();
    let mut mvs = Vec::new();
    // Moves in the middle of år 2, away and back (one municipality owns two runs of months).
    let a = person("1980-03-01", 0, "2022-02-10", "0301");
    mvs.push(mv(&a, "2023-04-15", "4601"));
    mvs.push(mv(&a, "2023-08-31", "0301"));
    mvs.push(mv(&a, "2024-01-31", "5001"));
    ps.push(a);
    // Dies in June of år 3 (IT-11 cuts the year's end) after a move in March.
    let mut b = person("1975-05-05", 0, "2022-09-01", "1103");
    b.dodsdato = Some(d("2024-06-20"));
    mvs.push(mv(&b, "2024-03-10", "3401"));
    ps.push(b);
    // Unaccompanied minor settled by agreement in May (EM-3 cuts the year's start), moves in the middle
    // and is reunited with the parents in August the year after (EM-3 cuts its end).
    let mut c = person("2008-07-07", 0, "2023-05-20", "1804");
    c.enslig_mindrearig = true;
    c.gjenforent_dato = Some(d("2024-08-03"));
    mvs.push(mv(&c, "2023-09-30", "5501"));
    mvs.push(mv(&c, "2024-02-29", "1804"));
    ps.push(c);
    // Emigrates the month it moves; a move before the settlement (ignored) and one after the basis date.
    let mut e = person("1990-12-31", 0, "2021-06-01", "4601");
    e.utvandringsdato = Some(d("2024-10-02"));
    mvs.push(mv(&e, "2021-05-01", "0301"));
    mvs.push(mv(&e, "2024-10-01", "3401"));
    mvs.push(mv(&e, "2025-03-01", "5001"));
    ps.push(e);
    // A newborn within six months of the mother's settlement, the mother moving before the birth.
    let mother = person("1985-01-20", 0, "2023-03-01", "0301");
    mvs.push(mv(&mother, "2023-05-15", "4601"));
    let mut child = person("2023-07-01", 0, "2023-09-01", "0301");
    child.mor_fnr = Some(mother.fnr);
    child.sak_id = mother.sak_id.clone();
    ps.push(mother);
    ps.push(child);
    // An older person (ELDR one-off) settled mid-year with a move in its first year.
    let old = person("1960-02-02", 0, "2024-03-05", "1103");
    mvs.push(mv(&old, "2024-06-30", "3401"));
    ps.push(old);
    extract(ps, mvs)
}

/// The accruals by key, added up month by month from the explain trail: each counted month's IT-13
/// amount (`month_amount`, the rule's own formula) to the owner the trail shows (`it10_owner`).
fn month_by_month(a: &Assessment) -> BTreeMap<LineKey, (Decimal, u8)> {
    let mut out: BTreeMap<LineKey, (Decimal, u8)> = BTreeMap::new();
    for y in &a.years {
        if y.months.is_empty() {
            // A one-off: whole to the settlement municipality (IT-9).
            let key = LineKey {
                fnr: a.fnr,
                kommune: a.settlement_kommune,
                kode: y.kode,
                ar: y.ar,
            };
            out.entry(key).or_default().0 += y.sats;
            continue;
        }
        for m in &y.months {
            assert_eq!(
                m.amount,
                month_amount(y.sats, m.month),
                "{} {} {}",
                y.kode,
                y.ar,
                m.month
            );
            if m.cut_by.is_some() {
                continue;
            }
            let key = LineKey {
                fnr: a.fnr,
                kommune: m.owner,
                kode: y.kode,
                ar: y.ar,
            };
            let e = out.entry(key).or_default();
            e.0 += m.amount;
            e.1 += 1;
        }
    }
    out
}

#[test]
fn runs_of_months_add_up_like_month_by_month() {
    let ex = cut_and_moved();
    let rt = awkward_rates();
    for termin in ["2023-Q3", "2024-Q2", "2024-Q3", "2024-Q4", "2025-Q2"] {
        let engine = Engine::new(Params::new(t(termin), None, 2021), &ex, &rt, &[]);
        for p in &ex.personer {
            let fast = engine.assess(p, false).unwrap();
            let traced = engine.assess(p, true).unwrap();
            // Tracing reads each month's owner with `it10_owner` itself; the fast path walks the moves.
            assert_eq!(
                fast.accruals,
                traced.accruals,
                "{termin} {}",
                p.fnr.masked()
            );
            assert_eq!(fast.rates_used, traced.rates_used);
            let reference = month_by_month(&traced);
            let got: BTreeMap<LineKey, (Decimal, u8)> = fast
                .accruals
                .iter()
                .map(|x| (x.key, (x.opptjent, x.maneder.unwrap_or(0))))
                .collect();
            let reference: BTreeMap<LineKey, (Decimal, u8)> = reference
                .into_iter()
                .map(|(key, (sum, n))| {
                    let monthly = fast
                        .accruals
                        .iter()
                        .find(|x| x.key == key)
                        .is_some_and(|x| x.maneder.is_some());
                    (key, (sum, if monthly { n } else { 0 }))
                })
                .collect();
            assert_eq!(got, reference, "{termin} {}", p.fnr.masked());
        }
    }
}

#[test]
fn the_moves_in_the_middle_are_really_there() {
    // Guard for the test above: the data does give a year several owners and cut years.
    let ex = cut_and_moved();
    let rt = awkward_rates();
    let engine = Engine::new(Params::new(t("2024-Q4"), None, 2021), &ex, &rt, &[]);
    let a = engine.assess(&ex.personer[0], false).unwrap();
    let ar2: Vec<&Accrual> = a.accruals.iter().filter(|x| x.key.ar == 2023).collect();
    // 2023: months 1–5 read 0301 (to 31.03), 6–9 read 4601 (to 31.07), 10–12 read 0301 again.
    assert_eq!(ar2.len(), 2);
    assert_eq!(ar2[0].key.kommune, k("0301"));
    assert_eq!(ar2[0].maneder, Some(8));
    assert_eq!(ar2[1].key.kommune, k("4601"));
    assert_eq!(ar2[1].maneder, Some(4));
    let b = engine.assess(&ex.personer[1], false).unwrap();
    assert!(b
        .accruals
        .iter()
        .all(|x| x.key.ar != 2024 || x.regler.contains("IT-11")));
    let c = engine.assess(&ex.personer[2], false).unwrap();
    let em: Vec<&Accrual> = c
        .accruals
        .iter()
        .filter(|x| x.key.kode == RateCode::Eminb && x.key.ar == 2023)
        .collect();
    assert!(em.len() >= 2, "{em:?}");
    let months: u8 = em.iter().map(|x| x.maneder.unwrap()).sum();
    assert_eq!(months, 8); // May–December 2023
}

#[test]
fn same_date_moves_keep_file_order_and_dates_sort() {
    let p = person("1980-03-01", 0, "2023-01-10", "0301");
    let other = person("1981-04-02", 0, "2023-01-10", "1103");
    // In file order: a later move first, then three on 31.03.2024 (the last one wins), interleaved
    // with another person's moves.
    let moves = vec![
        mv(&p, "2024-05-31", "1804"),
        mv(&p, "2024-03-31", "4601"),
        mv(&other, "2024-03-31", "5001"),
        mv(&p, "2024-03-31", "3401"),
        mv(&other, "2024-02-01", "4601"),
        mv(&p, "2024-03-31", "5501"),
    ];
    let ex = extract(vec![p.clone(), other], moves);
    let rt = awkward_rates();
    let engine = Engine::new(Params::new(t("2024-Q4"), None, 2021), &ex, &rt, &[]);
    let a = engine.assess(&ex.personer[0], true).unwrap();
    let trail: Vec<&str> = a
        .steps
        .iter()
        .filter(|s| s.rule == "IT-10")
        .map(|s| s.text.as_str())
        .collect();
    assert_eq!(
        trail,
        [
            "move on 2024-03-31 to 4601",
            "move on 2024-03-31 to 3401",
            "move on 2024-03-31 to 5501",
            "move on 2024-05-31 to 1804"
        ]
    );
    let owners: BTreeMap<u32, _> = a
        .years
        .iter()
        .find(|y| y.ar == 2024)
        .unwrap()
        .months
        .iter()
        .map(|m| (m.month, m.owner))
        .collect();
    // Month m reads the last day of month m − 2 (IT-10).
    assert_eq!(owners[&4], k("0301")); // 29.02
    assert_eq!(owners[&5], k("5501")); // 31.03: the last of the three moves that day
    assert_eq!(owners[&6], k("5501")); // 30.04
    assert_eq!(owners[&7], k("1804")); // 31.05
    let fast = engine.assess(&ex.personer[0], false).unwrap();
    assert_eq!(fast.accruals, a.accruals);
}

/// T-2 as it was written first (maps and sets), the reference for the merge in `net_person_into`.
fn net_reference(a: &Assessment, paid: &[&LedgerLine]) -> Vec<BasisLine> {
    let mut paid_by_key: BTreeMap<LineKey, Decimal> = BTreeMap::new();
    for l in paid {
        *paid_by_key.entry(l.key).or_default() += l.belop;
    }
    let mut keys: BTreeSet<LineKey> = a.accruals.iter().map(|x| x.key).collect();
    keys.extend(paid_by_key.keys().copied());
    let mut out = Vec::new();
    for key in keys {
        let tidligere = paid_by_key.get(&key).copied().unwrap_or_default();
        let line = match a.accruals.iter().find(|x| x.key == key) {
            Some(x) => {
                let mut regler = x.regler;
                if !tidligere.is_zero() {
                    regler.push_back("T-2");
                }
                BasisLine {
                    key,
                    duf: a.duf,
                    tilskuddsar: x.tilskuddsar,
                    maneder: x.maneder,
                    sats: x.sats,
                    opptjent: x.opptjent,
                    tidligere_utbetalt: tidligere,
                    a_utbetale: x.opptjent - tidligere,
                    regler,
                }
            }
            None => {
                if tidligere.is_zero() {
                    continue;
                }
                let mut regler = RuleSet::default();
                if let Status::Excluded(e) = a.status {
                    regler.push_back(e.rule());
                }
                regler.push_back("T-2");
                BasisLine {
                    key,
                    duf: a.duf,
                    tilskuddsar: u8::try_from((key.ar - a.settlement_year() + 1).max(0))
                        .unwrap_or(u8::MAX),
                    maneder: None,
                    sats: Decimal::ZERO,
                    opptjent: Decimal::ZERO,
                    tidligere_utbetalt: tidligere,
                    a_utbetale: -tidligere,
                    regler,
                }
            }
        };
        if line.opptjent.is_zero() && line.tidligere_utbetalt.is_zero() {
            continue;
        }
        out.push(line);
    }
    out
}

/// A small deterministic generator (xorshift), for many varied cases without a seed file.
struct Gen(u64);
impl Gen {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn ledger_merge_matches_the_map_version() {
    let f = fnr("1980-03-01", 0);
    let others = [fnr("1970-01-01", 0), fnr("1995-12-31", 0)];
    assert!(others[0] < f && f < others[1]);
    let key = |kommune: &str, kode: RateCode, ar: i32| LineKey {
        fnr: f,
        kommune: k(kommune),
        kode,
        ar,
    };
    let kommuner = ["0301", "1103", "4601"];
    let codes = [RateCode::Ar1, RateCode::Ar2, RateCode::Eldr];
    let mut g = Gen(0x2545_F491_4F6C_DD1D);
    let mut cases = 0;
    for _ in 0..2000 {
        // Accruals on some keys (some zero), payments on some keys (only paid, both, some twice, some
        // summing to zero), in shuffled order.
        let mut accruals: Vec<Accrual> = Vec::new();
        let mut paid: Vec<LedgerLine> = Vec::new();
        for kommune in kommuner {
            for kode in codes {
                for ar in [2023, 2024] {
                    let kk = key(kommune, kode, ar);
                    if g.next(3) == 0 {
                        accruals.push(Accrual {
                            key: kk,
                            tilskuddsar: 2,
                            maneder: (kode == RateCode::Ar2).then_some(3),
                            sats: Decimal::new(1_200_017, 2),
                            opptjent: Decimal::new(g.next(3) as i64 * 100_001, 2),
                            regler: RuleSet::of(&["IT-6", "IT-7"]),
                        });
                    }
                    for q in 0..g.next(3) {
                        paid.push(LedgerLine {
                            termin: t(["2024-Q1", "2024-Q2"][q as usize]),
                            key: kk,
                            belop: Decimal::new(g.next(4) as i64 * 50_000 - 50_000, 2),
                            origin: Origin::new("ledger.csv".into(), 2),
                        });
                    }
                }
            }
        }
        for i in (1..paid.len()).rev() {
            if g.next(2) == 0 {
                paid.swap(i, g.next(i as u64 + 1) as usize);
            }
        }
        let a = Assessment {
            fnr: f,
            duf: None,
            status: if g.next(4) == 0 {
                Status::Excluded(Exclusion::IkkeRegistrert)
            } else {
                Status::Included
            },
            settlement_date: d("2023-02-01"),
            settlement_kommune: k("0301"),
            avvik: Vec::new(),
            accruals,
            rates_used: Vec::new(),
            steps: Vec::new(),
            years: Vec::new(),
        };
        let refs: Vec<&LedgerLine> = paid.iter().collect();
        let got = net_person(&a, &refs);
        assert_eq!(got, net_reference(&a, &refs));
        assert!(got.is_sorted_by_key(|l| l.key));
        let mut appended = vec![];
        net_person_into(&a, &refs, &mut appended);
        assert_eq!(appended, got);
        // Netting compares keys without the fnr when every key is the person's (a run's case); a zero
        // payment of another person (before or after in fnr order), anywhere among the lines, sends the
        // case to the comparison by whole keys, which must give the same lines.
        let other = LedgerLine {
            termin: t("2024-Q1"),
            key: LineKey {
                fnr: others[g.next(2) as usize],
                kommune: k(kommuner[g.next(3) as usize]),
                kode: codes[g.next(3) as usize],
                ar: 2024,
            },
            belop: Decimal::new(0, 2),
            origin: Origin::default(),
        };
        let mut mixed = refs.clone();
        mixed.insert(g.next(refs.len() as u64 + 1) as usize, &other);
        assert_eq!(net_person(&a, &mixed), got);
        cases += usize::from(!got.is_empty());
    }
    assert!(cases > 1000);
}

/// `dedupe_ledger` as it was written first (a map of the first line of each payment).
fn dedupe_reference(lines: Vec<LedgerLine>) -> Result<(Vec<LedgerLine>, Vec<String>), String> {
    let mut seen: HashMap<(tilskudd::domain::termin::Termin, LineKey), usize> = HashMap::new();
    let mut out: Vec<LedgerLine> = Vec::new();
    let mut warned = Vec::new();
    for l in lines {
        match seen.get(&(l.termin, l.key)) {
            Some(&i) => {
                if out[i].belop != l.belop {
                    return Err(format!("{} {}", out[i].origin, l.origin));
                }
                warned.push(format!("{} after {}", l.origin, out[i].origin));
            }
            None => {
                seen.insert((l.termin, l.key), out.len());
                out.push(l);
            }
        }
    }
    Ok((out, warned))
}

#[test]
fn dedupe_matches_the_map_version_sorted_or_not() {
    let mut g = Gen(0x9E37_79B9_7F4A_7C15);
    let fnrs = [
        fnr("1980-03-01", 0),
        fnr("1980-03-01", 1),
        fnr("1975-05-05", 0),
    ];
    for case in 0..400 {
        let mut lines = Vec::new();
        for i in 0..(5 + g.next(20)) {
            lines.push(LedgerLine {
                termin: t(["2024-Q1", "2024-Q2"][g.next(2) as usize]),
                key: LineKey {
                    fnr: fnrs[g.next(3) as usize],
                    kommune: k(["0301", "4601"][g.next(2) as usize]),
                    kode: RateCode::Ar2,
                    ar: 2024,
                },
                // Mostly equal amounts for a key, sometimes not (a conflict).
                belop: Decimal::from(if g.next(25) == 0 { 7 } else { 100 }),
                origin: Origin::new("utbetalt.csv".into(), i + 2),
            });
        }
        if case % 2 == 0 {
            // As utbetalt.csv is written: by key, then termin.
            lines.sort_by_key(|l| (l.key, l.termin));
        }
        let expected = dedupe_reference(lines.clone());
        match dedupe_ledger(lines) {
            Ok((kept, avvik)) => {
                let (kept_ref, warned) = expected.expect("no conflict");
                assert_eq!(kept, kept_ref);
                let got: Vec<String> = avvik
                    .iter()
                    .map(|a| {
                        let first = a.melding.rsplit("already in ").next().unwrap();
                        let first = first.trim_end_matches("; counted once");
                        format!("{}:{} after {first}", a.fil, a.linje.unwrap())
                    })
                    .collect();
                assert_eq!(got, warned);
            }
            Err(e) => {
                let names = expected.expect_err("a conflict");
                assert_eq!(format!("{} {}", e.origin_a, e.origin_b), names);
            }
        }
    }
}

#[test]
fn any_order_of_assessment_gives_the_same_results() {
    // The lookups start from where this thread's previous one ended (fast in fnr order); any other
    // order, a person outside the extract and a second engine in between must not change a result.
    let mut ex = cut_and_moved();
    // A case listed in two places, a referent, and a duplicated sak id that is not a family.
    let mut r1 = person("1970-01-01", 0, "2022-01-10", "0301");
    r1.sak_id = "SAK-A".into();
    let mut r2 = person("1972-02-02", 0, "2022-01-10", "0301");
    r2.sak_id = "SAK-B".into();
    let mut r3 = person("1999-03-03", 0, "2023-05-10", "0301");
    r3.sak_id = "SAK-A".into();
    r3.malgruppe = Malgruppe::FamilieFlyktning;
    r3.referanse_fnr = Some(r1.fnr);
    r3.familie_soknadsdato = Some(d("2023-01-01"));
    ex.personer.insert(0, r1);
    ex.personer.push(r2);
    ex.personer.push(r3);
    let rt = awkward_rates();
    let engine = Engine::new(Params::new(t("2024-Q4"), None, 2021), &ex, &rt, &[]);
    let other = Engine::new(Params::new(t("2024-Q2"), None, 2021), &ex, &rt, &[]);
    let key = |a: &Assessment| {
        format!(
            "{:?} {:?} {:?} {:?}",
            a.accruals, a.status, a.rates_used, a.avvik
        )
    };
    let forward: Vec<String> = engine
        .rows_in_fnr_order()
        .iter()
        .map(|&i| key(&engine.assess(&ex.personer[i as usize], false).unwrap()))
        .collect();
    let mut g = Gen(7);
    for round in 0..5 {
        let mut order: Vec<u32> = engine.rows_in_fnr_order().to_vec();
        if round == 1 {
            order.reverse();
        } else if round > 1 {
            for i in (1..order.len()).rev() {
                order.swap(i, g.next(i as u64 + 1) as usize);
            }
        }
        let mut a = engine.assess(&ex.personer[0], false).unwrap();
        for &i in &order {
            let _ = other.assess(&ex.personer[(i as usize + 1) % ex.personer.len()], false);
            let p = &ex.personer[i as usize];
            engine.assess_into(p, false, &mut a).unwrap();
            let at = engine
                .rows_in_fnr_order()
                .iter()
                .position(|&r| r == i)
                .unwrap();
            assert_eq!(key(&a), forward[at], "round {round}");
            // The same person, not a row of the extract: looked up the slow way, same result.
            let copy: Person = p.clone();
            assert_eq!(key(&engine.assess(&copy, false).unwrap()), forward[at]);
        }
    }
    // IT-8: the case listed in two places counts both rows, the newborn does not count.
    let trail = engine.assess(&ex.personer[0], true).unwrap();
    assert!(trail.steps.iter().any(|s| s
        .text
        .contains("persons in sak 'SAK-A' (newborns not counted) = 2")));
    let mother = ex
        .personer
        .iter()
        .position(|p| p.fodselsdato == d("1985-01-20"))
        .unwrap();
    let trail = engine.assess(&ex.personer[mother], true).unwrap();
    assert!(
        trail
            .steps
            .iter()
            .any(|s| s.text.contains("(newborns not counted) = 1")),
        "{:?}",
        trail.steps
    );
}
