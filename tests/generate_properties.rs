//! Properties of `tilskudd generate` (issue #6): determinism, valid synthetic identifiers (SPEC ID-1…ID-5),
//! municipalities from the register (ID-3), moves that form a chain (SPEC §1.4), a complete example rate table
//! (SPEC §1.6) and the showcase guarantee. The files are read back as plain CSV, independently of the
//! generator's own types, so the checks look at what a reader will see.

use chrono::{Datelike, Months, NaiveDate};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use tilskudd::domain::ids::{Duf, Fnr, Knr, Kontonr, Orgnr};
use tilskudd::domain::rates::RateCode;
use tilskudd::generate::{self, Config, EXAMPLE_KILDE};

type Row = BTreeMap<String, String>;

fn read(path: &Path) -> Vec<Row> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let h = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            h.iter()
                .zip(rec.iter())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn opt_date(s: &str) -> Option<NaiveDate> {
    (!s.is_empty()).then(|| date(s))
}

struct Out {
    _tmp: tempfile::TempDir,
    dir: std::path::PathBuf,
    personer: Vec<Row>,
    flyttinger: Vec<Row>,
    kommuner: Vec<Row>,
    satser: Vec<Row>,
}

fn gen(cfg: &Config) -> Out {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("x");
    let s = generate::write(cfg, &dir).unwrap();
    let o = Out {
        personer: read(&dir.join("dsf/personer.csv")),
        flyttinger: read(&dir.join("dsf/flyttinger.csv")),
        kommuner: read(&dir.join("kommuner.csv")),
        satser: read(&dir.join("satser.csv")),
        dir,
        _tmp: tmp,
    };
    assert_eq!(s.persons as usize, o.personer.len());
    assert_eq!(s.moves as usize, o.flyttinger.len());
    o
}

fn bytes(o: &Out) -> Vec<Vec<u8>> {
    [
        "dsf/personer.csv",
        "dsf/flyttinger.csv",
        "kommuner.csv",
        "satser.csv",
    ]
    .iter()
    .map(|f| std::fs::read(o.dir.join(f)).unwrap())
    .collect()
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = gen(&Config::new(1500, 42));
    let b = gen(&Config::new(1500, 42));
    let c = gen(&Config::new(1500, 43));
    assert_eq!(bytes(&a), bytes(&b));
    assert_ne!(
        bytes(&a)[0],
        bytes(&c)[0],
        "personer.csv must depend on the seed"
    );
    assert_ne!(
        bytes(&a)[1],
        bytes(&c)[1],
        "flyttinger.csv must depend on the seed"
    );
    // The in-memory extract is the same stream as the files.
    let x = generate::extract(&Config::new(1500, 42)).unwrap();
    assert_eq!(x.personer.len(), a.personer.len());
    for (p, row) in x.personer.iter().zip(&a.personer) {
        assert_eq!(p.fnr.as_str(), row["fnr"]);
    }
}

#[test]
fn exact_person_count_including_tiny_extracts() {
    for n in [0u64, 1, 2, 7, 50, 333] {
        let o = gen(&Config::new(n, 5));
        assert_eq!(o.personer.len() as u64, n);
        // Every move belongs to a person in the file, even when the last case was cut short.
        let fnrs: BTreeSet<&str> = o.personer.iter().map(|p| p["fnr"].as_str()).collect();
        assert!(o
            .flyttinger
            .iter()
            .all(|m| fnrs.contains(m["fnr"].as_str())));
    }
}

/// Every identifier valid, every reference resolvable, every date plausible.
fn check_extract(o: &Out, run_year: i32) {
    let end = NaiveDate::from_ymd_opt(run_year, 12, 31).unwrap();
    let register: BTreeSet<String> = o
        .kommuner
        .iter()
        .map(|k| k["kommunenummer"].clone())
        .collect();
    let mut seen = BTreeSet::new();
    let mut dufs = BTreeSet::new();
    let mut by_fnr: BTreeMap<String, &Row> = BTreeMap::new();
    for p in &o.personer {
        // ID-1: both control digits, century rule, synthetic (month + 80), unique.
        let f = Fnr::parse(&p["fnr"]).unwrap_or_else(|e| panic!("{}: {e}", &p["fnr"][..6]));
        assert!(f.is_synthetic());
        assert!(
            (81..=92).contains(&p["fnr"][2..4].parse::<u32>().unwrap()),
            "month + 80"
        );
        assert!(
            seen.insert(p["fnr"].clone()),
            "duplicate fnr {}",
            f.masked()
        );
        assert_eq!(
            date(&p["fodselsdato"]),
            f.birth_date(),
            "fodselsdato = date in fnr"
        );
        // ID-2: 12 digits, year not after the run year; unique here.
        if !p["duf"].is_empty() {
            Duf::parse(&p["duf"], run_year).unwrap();
            assert!(dufs.insert(p["duf"].clone()));
        }
        // ID-3: settlement municipality in the register.
        Knr::parse(&p["bosettingskommune"]).unwrap();
        assert!(register.contains(&p["bosettingskommune"]));
        let bos = date(&p["bosettingsdato"]);
        let reg = date(&p["registrert_dato"]);
        assert!(f.birth_date() <= bos && bos <= reg && reg <= end);
        for c in [
            "dodsdato",
            "utvandringsdato",
            "gjenforent_dato",
            "familie_soknadsdato",
        ] {
            if let Some(d) = opt_date(&p[c]) {
                assert!(d <= end, "{c} after the extract date");
            }
        }
        for c in ["dodsdato", "utvandringsdato", "gjenforent_dato"] {
            if let Some(d) = opt_date(&p[c]) {
                assert!(d > bos, "{c} after settlement");
            }
        }
        for c in [
            "bosatt_etter_avtale",
            "enslig_mindrearig",
            "tidligere_utlost",
        ] {
            assert!(p[c] == "ja" || p[c] == "nei");
        }
        assert!([
            "flyktning",
            "familie_flyktning",
            "familie_humanitar",
            "utenfor"
        ]
        .contains(&p["malgruppe"].as_str()));
        if p["enslig_mindrearig"] == "ja" {
            // Unaccompanied minors: 13–17 at settlement (their age on the settlement date).
            let age = age_on(f.birth_date(), bos);
            assert!((13..=17).contains(&age), "EM aged {age}");
            assert!(!p["duf"].is_empty());
        }
        by_fnr.insert(p["fnr"].clone(), p);
    }
    for p in &o.personer {
        if !p["mor_fnr"].is_empty() {
            let mor = by_fnr.get(&p["mor_fnr"]).expect("mother in the extract");
            assert_eq!(mor["sak_id"], p["sak_id"]);
            assert!(
                Fnr::parse(&mor["fnr"]).unwrap().as_str().as_bytes()[8].is_multiple_of(2),
                "mother is female"
            );
            let born = date(&p["fodselsdato"]);
            assert!(born > date(&mor["bosettingsdato"]));
            // IT-4: settled at birth.
            assert_eq!(date(&p["bosettingsdato"]), born);
        }
        // Family immigrants name their referent (IT-5); a child born here after its mother's settlement
        // (IT-4) takes her malgruppe but applied for nothing, so it has neither.
        if p["malgruppe"].starts_with("familie_") && p["mor_fnr"].is_empty() {
            let r = by_fnr
                .get(&p["referanse_fnr"])
                .expect("referent in the extract");
            assert_eq!(r["malgruppe"], "flyktning");
            let s = date(&p["familie_soknadsdato"]);
            assert!(date(&r["bosettingsdato"]) < s && s < date(&p["bosettingsdato"]));
        } else {
            assert!(p["referanse_fnr"].is_empty() && p["familie_soknadsdato"].is_empty());
        }
    }
    // Moves (SPEC §1.4): known person, on or after settlement, in date order per person, chained through
    // fra_kommune, til ≠ fra, both in the register, before death/emigration.
    let mut residence: BTreeMap<String, (String, NaiveDate)> = o
        .personer
        .iter()
        .map(|p| {
            (
                p["fnr"].clone(),
                (p["bosettingskommune"].clone(), date(&p["bosettingsdato"])),
            )
        })
        .collect();
    for m in &o.flyttinger {
        let p = by_fnr.get(&m["fnr"]).expect("move of a known person");
        let d = date(&m["flyttedato"]);
        let (cur, last) = residence.get(&m["fnr"]).unwrap().clone();
        assert!(d >= date(&p["bosettingsdato"]) && d <= end);
        assert!(d > last, "moves of one person in date order");
        assert_eq!(
            m["fra_kommune"], cur,
            "fra_kommune = residence before the move"
        );
        assert_ne!(m["til_kommune"], cur);
        assert!(register.contains(&m["til_kommune"]));
        for c in ["dodsdato", "utvandringsdato"] {
            if let Some(g) = opt_date(&p[c]) {
                assert!(d < g);
            }
        }
        residence.insert(m["fnr"].clone(), (m["til_kommune"].clone(), d));
    }
}

fn age_on(birth: NaiveDate, d: NaiveDate) -> i32 {
    let mut a = d.year() - birth.year();
    if (d.month(), d.day()) < (birth.month(), birth.day()) {
        a -= 1;
    }
    a
}

#[test]
fn identifiers_references_and_moves_are_valid() {
    for (n, seed, year) in [(3000, 1, 2024), (800, 99, 2021), (500, 7, 2030)] {
        let mut cfg = Config::new(n, seed);
        cfg.year = year;
        let o = gen(&cfg);
        check_extract(&o, year);
    }
    let mut cfg = Config::new(400, 3);
    cfg.kommuner = 2;
    let o = gen(&cfg);
    assert_eq!(o.kommuner.len(), 2);
    check_extract(&o, 2024);
}

#[test]
fn example_fixture_is_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/example");
    let o = Out {
        personer: read(&dir.join("dsf/personer.csv")),
        flyttinger: read(&dir.join("dsf/flyttinger.csv")),
        kommuner: read(&dir.join("kommuner.csv")),
        satser: read(&dir.join("satser.csv")),
        dir: dir.clone(),
        _tmp: tempfile::tempdir().unwrap(),
    };
    assert_eq!(o.personer.len(), 300);
    check_extract(&o, 2024);
    check_showcase(&o);
}

#[test]
fn register_has_required_real_municipalities_and_valid_numbers() {
    let o = gen(&Config::new(0, 1));
    let names: BTreeMap<&str, &str> = o
        .kommuner
        .iter()
        .map(|k| (k["kommunenummer"].as_str(), k["navn"].as_str()))
        .collect();
    assert!(names.len() >= 30);
    for (nr, navn) in [
        ("0301", "Oslo"),
        ("4601", "Bergen"),
        ("5001", "Trondheim"),
        ("1867", "Bø"),
        ("3419", "Våler"),
        ("1508", "Ålesund"),
    ] {
        assert_eq!(names.get(nr), Some(&navn));
    }
    let mut orgs = BTreeSet::new();
    let mut kontos = BTreeSet::new();
    for k in &o.kommuner {
        // ID-4 and ID-5 control digits.
        Orgnr::parse(&k["orgnr"]).unwrap();
        Kontonr::parse(&k["kontonummer"]).unwrap();
        assert!(orgs.insert(k["orgnr"].clone()) && kontos.insert(k["kontonummer"].clone()));
    }
    // Sorted by number (diffable).
    let nrs: Vec<&str> = o
        .kommuner
        .iter()
        .map(|k| k["kommunenummer"].as_str())
        .collect();
    let mut sorted = nrs.clone();
    sorted.sort();
    assert_eq!(nrs, sorted);
}

#[test]
fn rate_table_is_complete_and_marked_as_example() {
    let o = gen(&Config::new(0, 1));
    let mut keys = BTreeSet::new();
    for r in &o.satser {
        let ar: i32 = r["ar"].parse().unwrap();
        let kode: RateCode = r["kode"].parse().unwrap();
        assert!(keys.insert((ar, kode)), "duplicate ({ar}, {kode})");
        assert_eq!(r["status"], "eksempel");
        assert_eq!(r["kilde"], EXAMPLE_KILDE);
        let belop: i64 = r["belop"].parse().unwrap();
        assert!(belop > 0);
    }
    // 18 codes × 16 years (2015–2030) = 288.
    assert_eq!(keys.len(), 18 * 16);
    for ar in 2015..=2030 {
        for kode in RateCode::ALL {
            assert!(keys.contains(&(ar, kode)), "missing ({ar}, {kode})");
        }
    }
    let get = |ar: &str, kode: &str| {
        o.satser
            .iter()
            .find(|r| r["ar"] == ar && r["kode"] == kode)
            .unwrap()["belop"]
            .clone()
    };
    // Anchors from RATES-SOURCES.md and the fixed values of the brief.
    assert_eq!(get("2017", "AR-1 EV"), "235000");
    assert_eq!(get("2017", "BHT"), "25100");
    assert_eq!(get("2023", "EMINU"), "705000");
    assert_eq!(get("2023", "FHT-FRIST-MND"), "1");
    assert_eq!(get("2024", "FHT-FRIST-MND"), "2");
    assert_eq!(get("2015", "FHT1-TERSKEL"), "100000");
    assert_eq!(get("2030", "FHT2-TERSKEL"), "200000");
    assert_eq!(get("2021", "FHT-ANSVARSGRUPPE-MAKS"), "20000");
    // 2018 = 2017 · 1.01 rounded to hundreds: 185 000 · 1.01 = 186 850 → 186 900.
    assert_eq!(get("2018", "AR-1"), "186900");
}

fn check_showcase(o: &Out) {
    let by_fnr: BTreeMap<&str, &Row> = o.personer.iter().map(|p| (p["fnr"].as_str(), p)).collect();
    let mut sak_size: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &o.personer {
        *sak_size.entry(p["sak_id"].as_str()).or_default() += 1;
    }
    let mut moves: BTreeMap<&str, Vec<NaiveDate>> = BTreeMap::new();
    for m in &o.flyttinger {
        moves
            .entry(m["fnr"].as_str())
            .or_default()
            .push(date(&m["flyttedato"]));
    }
    let any = |what: &str, f: &dyn Fn(&Row) -> bool| {
        assert!(o.personer.iter().any(f), "showcase: no {what}");
    };
    let bos = |p: &Row| date(&p["bosettingsdato"]);
    let born = |p: &Row| date(&p["fodselsdato"]);
    any("move in the settlement year", &|p| {
        moves
            .get(p["fnr"].as_str())
            .is_some_and(|v| v.iter().any(|d| d.year() == bos(p).year()))
    });
    any("two moves within two months", &|p| {
        moves
            .get(p["fnr"].as_str())
            .is_some_and(|v| v.windows(2).any(|w| (w[1] - w[0]).num_days() <= 61))
    });
    any("death", &|p| !p["dodsdato"].is_empty());
    any("emigration", &|p| !p["utvandringsdato"].is_empty());
    any("unaccompanied minor", &|p| {
        p["enslig_mindrearig"] == "ja" && p["gjenforent_dato"].is_empty()
    });
    any("reunited unaccompanied minor", &|p| {
        p["enslig_mindrearig"] == "ja" && !p["gjenforent_dato"].is_empty()
    });
    // IT-4: born within 6 months of the mother's settlement, and one born later.
    let by_fnr = &by_fnr;
    let newborn = |within: bool| {
        move |p: &Row| {
            by_fnr.get(p["mor_fnr"].as_str()).is_some_and(|m| {
                let limit = bos(m).checked_add_months(Months::new(6)).unwrap();
                (born(p) <= limit) == within
            })
        }
    };
    any("newborn within 6 months", &newborn(true));
    any("newborn beyond 6 months", &newborn(false));
    any("familie_humanitar", &|p| {
        p["malgruppe"] == "familie_humanitar"
    });
    // IT-5: application more than 5 years after the referent's settlement.
    any("familie_flyktning past the 5-year rule", &|p| {
        p["malgruppe"] == "familie_flyktning"
            && by_fnr.get(p["referanse_fnr"].as_str()).is_some_and(|r| {
                date(&p["familie_soknadsdato"])
                    > bos(r).checked_add_months(Months::new(60)).unwrap()
            })
    });
    any("utenfor", &|p| p["malgruppe"] == "utenfor");
    any("pre-2021 with tidligere_utlost", &|p| {
        bos(p).year() < 2021 && p["tidligere_utlost"] == "ja"
    });
    any("pre-2021 without tidligere_utlost", &|p| {
        bos(p).year() < 2021 && p["tidligere_utlost"] == "nei"
    });
    any("age exactly 60 on the settlement date", &|p| {
        age_on(born(p), bos(p)) == 60
            && (born(p).month(), born(p).day()) == (bos(p).month(), bos(p).day())
    });
    any("age exactly 6 on the settlement date", &|p| {
        age_on(born(p), bos(p)) == 6
            && (born(p).month(), born(p).day()) == (bos(p).month(), bos(p).day())
    });
    any("single adult with its own sak_id", &|p| {
        sak_size[p["sak_id"].as_str()] == 1 && age_on(born(p), bos(p)) >= 18
    });
    // IT-2: registered in a later quarter than settled.
    let q = |d: NaiveDate| (d.year(), d.month0() / 3);
    any("late registration after a quarter end", &|p| {
        q(date(&p["registrert_dato"])) > q(bos(p))
    });
    any("not settled by agreement", &|p| {
        p["bosatt_etter_avtale"] == "nei"
    });
    any("elderly (60+)", &|p| age_on(born(p), bos(p)) >= 60);
    any("small child (under 6)", &|p| {
        age_on(born(p), bos(p)) < 6 && p["mor_fnr"].is_empty()
    });
}

#[test]
fn showcase_guarantee_holds_for_small_extracts_and_any_seed() {
    for seed in [1, 2, 3, 2024, u64::MAX] {
        let o = gen(&Config::new(50, seed));
        check_extract(&o, 2024);
        check_showcase(&o);
    }
}
