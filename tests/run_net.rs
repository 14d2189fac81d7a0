//! T-2 netting (`net_person_into`) compares keys without their fnr when every key is the person's (the
//! case of a run: a person's own ledger lines), and by the whole key otherwise. Both paths must give the
//! same lines: a ledger line of another person that nets to nothing sends a case to the general path
//! without changing what it should give.

mod termin_support;

use rust_decimal::Decimal;
use termin_support::{d, fnr, k, t};
use tilskudd::domain::basis::RuleSet;
use tilskudd::domain::engine::{net_person, Accrual, Assessment, Status};
use tilskudd::domain::ledger::{LedgerLine, LineKey};
use tilskudd::domain::rates::RateCode;
use tilskudd::domain::rules::it::Exclusion;

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
fn netting_without_the_fnr_equals_netting_by_whole_keys() {
    let f = fnr("1980-03-01", 0);
    // Before and after the person in fnr order.
    let others = [fnr("1970-01-01", 0), fnr("1995-12-31", 0)];
    assert!(others[0] < f && f < others[1]);
    let kommuner = ["0301", "1103", "4601"];
    let codes = [RateCode::Ar1, RateCode::Ar2, RateCode::Eldr];
    let mut g = Gen(0x9E37_79B9_7F4A_7C15);
    let (mut cases, mut deductions) = (0, 0);
    for _ in 0..3000 {
        let mut accruals: Vec<Accrual> = Vec::new();
        let mut paid: Vec<LedgerLine> = Vec::new();
        for kommune in kommuner {
            for kode in codes {
                for ar in [2023, 2024] {
                    let key = LineKey {
                        fnr: f,
                        kommune: k(kommune),
                        kode,
                        ar,
                    };
                    if g.next(3) == 0 {
                        accruals.push(Accrual {
                            key,
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
                            key,
                            belop: Decimal::new(g.next(4) as i64 * 50_000 - 50_000, 2),
                            origin: Default::default(),
                        });
                    }
                }
            }
        }
        // The person's lines in key order or shuffled.
        if g.next(2) == 0 {
            for i in (1..paid.len()).rev() {
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
        let fast = net_person(&a, &refs);
        // A zero payment of another person (no line of its own), anywhere among the person's.
        let other = LedgerLine {
            termin: t("2024-Q1"),
            key: LineKey {
                fnr: others[g.next(2) as usize],
                kommune: k(kommuner[g.next(3) as usize]),
                kode: codes[g.next(3) as usize],
                ar: 2024,
            },
            belop: Decimal::new(0, 2),
            origin: Default::default(),
        };
        let mut mixed = refs.clone();
        mixed.insert(g.next(refs.len() as u64 + 1) as usize, &other);
        let general = net_person(&a, &mixed);
        assert_eq!(general, fast);
        assert!(fast.is_sorted_by_key(|l| l.key));
        cases += usize::from(!fast.is_empty());
        deductions += fast.iter().filter(|l| l.opptjent.is_zero()).count();
    }
    assert!(cases > 1500 && deductions > 500, "{cases} {deductions}");
}
