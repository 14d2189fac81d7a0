//! The termin engine (SPEC §4): applies IT-1…IT-13 and EM-1…EM-4 to every person of a DSF extract, accrues
//! what is due by the end of the termin (T-1), nets it against the ledger (T-2), sums per municipality and
//! decides who is paid (T-3), and builds the new ledger (T-4).
//!
//! One person at a time goes through [`Engine::assess`] (rules → accruals per line key) and
//! [`net_person`] (accrued − already paid). `tilskudd explain` calls exactly these two functions with
//! tracing switched on, so its trail reproduces the person's `grunnlag.csv` lines by construction.
//!
//! Cost (issue 6): the indexes are sorted vectors (fnr as a number, row index) searched by bisection —
//! about 12 bytes per person, built with a couple of sorts — and the per-person work allocates nothing
//! in the common case ([`Engine::assess_into`]): a grant year's months go to their owners in runs, each
//! run one subtraction of the rate's cumulative IT-13 amounts in øre.

use crate::domain::avvik::{Avvik, Niva};
pub use crate::domain::basis::RuleSet;
use crate::domain::basis::{
    BasisLine, BlockStats, Counts, KommuneSum, LedgerTotals, LineStats, StatsAcc, TerminResult,
    TerminSummary,
};
use crate::domain::ids::{Duf, Fnr, Knr};
use crate::domain::kommune::KommuneRegister;
use crate::domain::ledger::{FeedError, LedgerFeed, LedgerLine, LineKey, Origin};
use crate::domain::money::from_ore;
use crate::domain::person::{Extract, Flytting, Person};
use crate::domain::rates::{MissingRate, RateCode, RateTable};
use crate::domain::rules::em;
use crate::domain::rules::it::{self, Exclusion, Newborn, Residence};
use crate::domain::termin::Termin;
use crate::input::keysort::{order_by_key, radix_sort_by_key, FNR_BITS};
use chrono::{Datelike, NaiveDate};
use rayon::prelude::*;
use rust_decimal::Decimal;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::Hasher;

/// A fast non-cryptographic hasher (the rotate–xor–multiply of rustc's FxHash), used to group persons by
/// `sak_id` (IT-8). The keys come from the operator's own files, so hash flooding is not a concern, and
/// equal hashes are always checked against the text.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// The start of each run of equal values in a sorted slice, and `v.len()` at the end.
fn run_starts(v: &[u64]) -> Vec<u32> {
    let mut starts: Vec<u32> = (0..v.len())
        .filter(|&i| i == 0 || v[i] != v[i - 1])
        .map(|i| i as u32)
        .collect();
    starts.push(v.len() as u32);
    starts
}

/// Which search a thread's hint belongs to (see [`seek`]).
#[derive(Clone, Copy)]
enum Hint {
    Persons,
    Contains,
    Moves,
    Ledger,
    Mothers,
    Referents,
}

thread_local! {
    /// Where this thread's previous search of each kind ended. A termin run looks its persons up in fnr
    /// order, so the next answer is at or just after it: a comparison or two instead of a bisection (some
    /// twenty dependent loads). Only a starting point: every answer is checked, so a stale hint (another
    /// engine, another order) costs time, never correctness.
    static HINTS: [Cell<usize>; 6] = const { [const { Cell::new(0) }; 6] };
}

/// The first index `i` with `keys[i] >= key` in a sorted slice: galloping forward from `hint` when every
/// key before it is smaller, else by bisection.
fn lower_bound_from<T: Ord + Copy>(keys: &[T], key: T, hint: usize) -> usize {
    if hint > keys.len() || (hint > 0 && keys[hint - 1] >= key) {
        return keys.partition_point(|&x| x < key);
    }
    // Invariant: keys[..lo] < key.
    let mut lo = hint;
    let mut step = 1;
    while lo + step <= keys.len() && keys[lo + step - 1] < key {
        lo += step;
        step *= 2;
    }
    let hi = (lo + step).min(keys.len());
    lo + keys[lo..hi].partition_point(|&x| x < key)
}

/// [`lower_bound_from`] this thread's hint of the kind, which it then moves to the answer.
fn seek<T: Ord + Copy>(hint: Hint, keys: &[T], key: T) -> usize {
    HINTS.with(|h| {
        let cell = &h[hint as usize];
        let i = lower_bound_from(keys, key, cell.get());
        cell.set(i);
        i
    })
}

/// The person rows by fødselsnummer: [`fnr_number`] and row, sorted by (number, row). 12 bytes a person.
pub struct PersonIndex {
    nums: Vec<u64>,
    rows: Vec<u32>,
}

impl PersonIndex {
    fn build(personer: &[Person]) -> PersonIndex {
        let keys = personer.par_iter().map(|p| fnr_number(&p.fnr)).collect();
        let (nums, rows) = order_by_key(keys, FNR_BITS);
        PersonIndex { nums, rows }
    }

    /// The first row (in extract order) with this number, by bisection. The reader refuses duplicate
    /// persons; should one slip through, the first row wins.
    fn find(&self, num: u64) -> Option<usize> {
        let i = self.nums.partition_point(|&x| x < num);
        (self.nums.get(i) == Some(&num)).then(|| self.rows[i] as usize)
    }

    /// The position (in fnr order) of row `row`, whose fnr number is `num`.
    fn position(&self, num: u64, row: usize) -> Option<usize> {
        let from = seek(Hint::Persons, &self.nums, num);
        (from..self.nums.len())
            .take_while(|&k| self.nums[k] == num)
            .find(|&k| self.rows[k] as usize == row)
    }

    /// Whether a person with this fnr is in the extract (fast for fnrs asked in order).
    pub fn contains_key(&self, fnr: &Fnr) -> bool {
        let num = fnr_number(fnr);
        self.nums.get(seek(Hint::Contains, &self.nums, num)) == Some(&num)
    }

    /// All rows in fnr order; rows with the same fnr in extract order.
    pub fn rows_in_fnr_order(&self) -> &[u32] {
        &self.rows
    }

    /// The fnr numbers of [`PersonIndex::rows_in_fnr_order`], position by position.
    fn numbers_in_fnr_order(&self) -> &[u64] {
        &self.nums
    }

    /// For every row, its position in fnr order.
    fn positions_of_rows(&self) -> Vec<u32> {
        let mut pos = vec![0u32; self.rows.len()];
        for (k, &r) in self.rows.iter().enumerate() {
            pos[r as usize] = k as u32;
        }
        pos
    }
}

/// For every row naming a person (`mor_fnr` and `referanse_fnr`): the row and the first row of the
/// person named, `u32::MAX` when that person is not in the extract. Resolved in number order with one
/// forward walk over the person index instead of a bisection each; one pass over the rows for both.
fn resolve_links(personer: &[Person], persons: &PersonIndex) -> [Vec<(u32, u32)>; 2] {
    type Wanted = Vec<(u64, u32)>;
    let (mut mothers, mut referents): (Wanted, Wanted) = personer
        .par_iter()
        .enumerate()
        .fold(
            || (Vec::new(), Vec::new()),
            |(mut m, mut f), (r, p)| {
                if let Some(x) = p.mor_fnr {
                    m.push((fnr_number(&x), r as u32));
                }
                if let Some(x) = p.referanse_fnr {
                    f.push((fnr_number(&x), r as u32));
                }
                (m, f)
            },
        )
        .reduce(
            || (Vec::new(), Vec::new()),
            |(mut m1, mut f1), (m2, f2)| {
                m1.extend(m2);
                f1.extend(f2);
                (m1, f1)
            },
        );
    let resolve = |want: &mut Vec<(u64, u32)>| -> Vec<(u32, u32)> {
        // By number (the order of the answers does not matter: each names its row).
        radix_sort_by_key(want, FNR_BITS, |w| w.0);
        let mut k = 0;
        want.iter()
            .map(|&(num, r)| {
                k = lower_bound_from(&persons.nums, num, k);
                let target = match persons.nums.get(k) {
                    Some(&x) if x == num => persons.rows[k],
                    _ => u32::MAX,
                };
                (r, target)
            })
            .collect()
    };
    [resolve(&mut mothers), resolve(&mut referents)]
}

/// The persons (by position in fnr order) naming a person of the extract, with that person's row.
struct Links {
    pos: Vec<u32>,
    row: Vec<u32>,
}

impl Links {
    fn new(resolved: &[(u32, u32)], pos_of_row: &[u32]) -> Links {
        let mut v: Vec<(u32, u32)> = resolved
            .iter()
            .filter(|l| l.1 != u32::MAX)
            .map(|&(r, t)| (pos_of_row[r as usize], t))
            .collect();
        v.sort_unstable();
        let (pos, row) = v.into_iter().unzip();
        Links { pos, row }
    }

    fn of(&self, hint: Hint, pos: usize) -> Option<usize> {
        let key = u32::try_from(pos).ok()?;
        let i = seek(hint, &self.pos, key);
        (self.pos.get(i) == Some(&key)).then(|| self.row[i] as usize)
    }
}

/// The moves known on the basis date, grouped by person: `list[start[g]..start[g + 1]]` are the moves
/// of the person numbered `nums[g]`, in date order (ties in file order, SPEC §1.4).
struct MoveIndex {
    nums: Vec<u64>,
    start: Vec<u32>,
    list: Vec<(NaiveDate, Knr)>,
}

impl MoveIndex {
    fn build(flyttinger: &[Flytting], basis: NaiveDate) -> MoveIndex {
        // Sorted whole by (person, date, file line): a person's moves in date order, same-date moves in
        // file order (SPEC §1.4). [model (a)] Moves dated after the basis date are not yet known.
        let mut all: Vec<(u64, NaiveDate, u32, Knr)> = flyttinger
            .par_iter()
            .enumerate()
            .filter(|(_, f)| f.flyttedato <= basis)
            .map(|(i, f)| (fnr_number(&f.fnr), f.flyttedato, i as u32, f.til_kommune))
            .collect();
        // By person (stable: file order within a person), then each person's few moves by date
        // (stable: same-date moves keep file order) — the order of (person, date, file line).
        radix_sort_by_key(&mut all, FNR_BITS, |m| m.0);
        for person in all.chunk_by_mut(|a, b| a.0 == b.0) {
            if person.len() > 1 {
                person.sort_by_key(|m| m.1);
            }
        }
        debug_assert!(all.is_sorted_by_key(|m| (m.0, m.1, m.2)));
        let mut nums = Vec::new();
        let mut start = Vec::new();
        for (i, m) in all.iter().enumerate() {
            if i == 0 || all[i - 1].0 != m.0 {
                nums.push(m.0);
                start.push(i as u32);
            }
        }
        start.push(all.len() as u32);
        MoveIndex {
            nums,
            start,
            list: all.into_iter().map(|m| (m.1, m.3)).collect(),
        }
    }

    /// The moves of the person numbered `num`; `hinted` for lookups in fnr order (a run's own persons).
    fn of(&self, num: u64, hinted: bool) -> &[(NaiveDate, Knr)] {
        let g = if hinted {
            seek(Hint::Moves, &self.nums, num)
        } else {
            self.nums.partition_point(|&x| x < num)
        };
        if self.nums.get(g) != Some(&num) {
            return &[];
        }
        &self.list[self.start[g] as usize..self.start[g + 1] as usize]
    }
}

/// The ledger lines grouped by person, each person's lines in ledger order.
struct LedgerIndex<'a> {
    nums: Vec<u64>,
    start: Vec<u32>,
    lines: Vec<&'a LedgerLine>,
}

impl<'a> LedgerIndex<'a> {
    fn build(ledger: &'a [LedgerLine]) -> LedgerIndex<'a> {
        let nums: Vec<u64> = ledger.par_iter().map(|l| fnr_number(&l.key.fnr)).collect();
        // A ledger written by `termin` (utbetalt.csv) is sorted by key, so by fnr: no sort needed.
        let (nums, lines) = if nums.is_sorted() {
            (nums, ledger.iter().collect())
        } else {
            let (nums, rows) = order_by_key(nums, FNR_BITS);
            let lines = rows.iter().map(|&r| &ledger[r as usize]).collect();
            (nums, lines)
        };
        let start = run_starts(&nums);
        let nums = start[..start.len() - 1]
            .iter()
            .map(|&s| nums[s as usize])
            .collect();
        LedgerIndex { nums, start, lines }
    }

    fn of(&self, num: u64) -> &[&'a LedgerLine] {
        let g = seek(Hint::Ledger, &self.nums, num);
        if self.nums.get(g) != Some(&num) {
            return &[];
        }
        &self.lines[self.start[g] as usize..self.start[g + 1] as usize]
    }

    /// T-2: the lines whose person is not in the extract, in ledger order (one merge walk of the two
    /// fnr-sorted lists).
    fn without_person(
        &self,
        ledger: &'a [LedgerLine],
        persons: &PersonIndex,
    ) -> Vec<&'a LedgerLine> {
        let mut out = Vec::new();
        let mut p = 0;
        for (g, &num) in self.nums.iter().enumerate() {
            while p < persons.nums.len() && persons.nums[p] < num {
                p += 1;
            }
            if persons.nums.get(p) != Some(&num) {
                out.extend_from_slice(
                    &self.lines[self.start[g] as usize..self.start[g + 1] as usize],
                );
            }
        }
        // Back to ledger order: the lines' positions in the ledger slice follow their addresses.
        let base = ledger.as_ptr() as usize;
        out.sort_by_key(|l| (*l as *const LedgerLine as usize).wrapping_sub(base));
        out
    }
}

/// A rate with its IT-13 cumulative month amounts in øre.
struct RateEntry {
    belop: Decimal,
    cum: [i128; 13],
}

/// The rate table by (year, code): a dense array when the years span a sane range, else bisection.
struct RateIndex {
    y0: i32,
    years: usize,
    /// `(year − y0) · codes + code` → position in `entries`, `u32::MAX` if absent.
    slots: Vec<u32>,
    entries: Vec<((i32, RateCode), RateEntry)>,
}

const CODES: usize = RateCode::ALL.len();

impl RateIndex {
    fn build(rates: &RateTable) -> RateIndex {
        // IT-13 month amounts, once per rate instead of once per person. `iter` is in (year, code) order.
        let entries: Vec<((i32, RateCode), RateEntry)> = rates
            .iter()
            .map(|r| {
                (
                    (r.ar, r.kode),
                    RateEntry {
                        belop: r.belop,
                        cum: it::it13_cumulative_ore(r.belop),
                    },
                )
            })
            .collect();
        let y0 = entries.first().map_or(0, |e| e.0 .0);
        let y1 = entries.last().map_or(0, |e| e.0 .0);
        let years = usize::try_from(i64::from(y1) - i64::from(y0) + 1).unwrap_or(0);
        let mut slots = Vec::new();
        if !entries.is_empty() && years <= 10_000 {
            slots = vec![u32::MAX; years * CODES];
            for (i, ((y, k), _)) in entries.iter().enumerate() {
                slots[(y - y0) as usize * CODES + *k as usize] = i as u32;
            }
        }
        RateIndex {
            y0,
            years,
            slots,
            entries,
        }
    }

    /// The place of (year, code) in the dense table, when there is one and the year is in it.
    fn slot(&self, year: i32, kode: RateCode) -> Option<usize> {
        let dy = usize::try_from(i64::from(year) - i64::from(self.y0)).ok()?;
        (!self.slots.is_empty() && dy < self.years).then_some(dy * CODES + kode as usize)
    }

    fn get(&self, year: i32, kode: RateCode) -> Option<&RateEntry> {
        if !self.slots.is_empty() {
            let dy = i64::from(year) - i64::from(self.y0);
            if dy < 0 || dy >= self.years as i64 {
                return None;
            }
            let i = self.slots[dy as usize * CODES + kode as usize];
            return self.entries.get(i as usize).map(|e| &e.1);
        }
        self.entries
            .binary_search_by(|e| e.0.cmp(&(year, kode)))
            .ok()
            .map(|i| &self.entries[i].1)
    }
}

/// IT-10 reference dates of the years a termin can accrue (from the automatic-payment start to the basis
/// year), twelve a year; other years are computed when asked.
struct RefDates {
    y0: i32,
    dates: Vec<NaiveDate>,
}

impl RefDates {
    fn build(params: &Params) -> RefDates {
        let y0 = params.auto_from.min(params.termin.year) - 1;
        let y1 = params.termin.year.max(params.basis_date.year()) + 1;
        let dates = if (0..=200).contains(&(i64::from(y1) - i64::from(y0))) {
            (y0..=y1)
                .flat_map(|y| (1..=12).map(move |m| it::it10_reference_date(y, m)))
                .collect()
        } else {
            Vec::new()
        };
        RefDates { y0, dates }
    }

    fn get(&self, y: i32, m: u32) -> NaiveDate {
        let i = (i64::from(y) - i64::from(self.y0)) * 12 + i64::from(m) - 1;
        match usize::try_from(i).ok().and_then(|i| self.dates.get(i)) {
            Some(d) => *d,
            None => it::it10_reference_date(y, m),
        }
    }
}

/// [model] For the IT-8 count: a person with `mor_fnr` born after the mother's settlement (mother in the
/// extract), or on/after its own `bosettingsdato` when the mother is absent. Per row, from the rows'
/// resolved mothers.
fn it4_newborns(personer: &[Person], mothers: &[(u32, u32)]) -> Vec<bool> {
    let mut newborn = vec![false; personer.len()];
    for &(r, m) in mothers {
        let p = &personer[r as usize];
        newborn[r as usize] = match personer.get(m as usize) {
            Some(mother) => p.fodselsdato > mother.bosettingsdato,
            None => p.fodselsdato >= p.bosettingsdato,
        };
    }
    newborn
}

/// IT-8, first half: the runs of rows with one `sak_id` in extract order (a case's persons are usually
/// listed together), and the runs ordered by a hash of the id, so that runs of one case are adjacent.
struct SakRuns {
    /// First row of each run, then the number of rows.
    start: Vec<u32>,
    /// Hashes in order, and the runs in that order.
    keys: Vec<u64>,
    order: Vec<u32>,
    /// Per run, its id in a number when it is short (see [`short_sak`]), so that the runs of one hash
    /// are compared without reading the persons' texts (scattered in memory when the extract is not in
    /// case order, e.g. sorted by fnr).
    short: Vec<u128>,
}

/// A `sak_id` that does not fit [`short_sak`]: compare the texts.
const LONG_SAK: u128 = u128::MAX;

/// A `sak_id` of up to 15 bytes as a number (its bytes, then its length in the last byte), equal for two
/// ids exactly when the texts are; [`LONG_SAK`] for a longer id.
fn short_sak(id: &str) -> u128 {
    let b = id.as_bytes();
    if b.len() > 15 {
        return LONG_SAK;
    }
    let mut a = [0u8; 16];
    a[..b.len()].copy_from_slice(b);
    a[15] = b.len() as u8;
    u128::from_le_bytes(a)
}

fn sak_runs(personer: &[Person]) -> SakRuns {
    // 40 bits of hash: a few radix passes; a collision only costs a comparison of the texts.
    sak_runs_hashed(personer, 40)
}

/// [`sak_runs`] with `bits` (1–64) of the hash: tests use a few, so that collisions are common.
fn sak_runs_hashed(personer: &[Person], bits: u32) -> SakRuns {
    debug_assert!((1..=64).contains(&bits), "{bits} bits of hash");
    let n = personer.len();
    let ((mut start, short), keys): ((Vec<u32>, Vec<u128>), Vec<u64>) = (0..n)
        .into_par_iter()
        .filter(|&r| r == 0 || personer[r].sak_id != personer[r - 1].sak_id)
        .map(|r| {
            let id = &personer[r].sak_id;
            let mut h = FxHasher::default();
            h.write(id.as_bytes());
            ((r as u32, short_sak(id)), h.finish() >> (64 - bits))
        })
        .unzip();
    let (keys, order) = order_by_key(keys, bits);
    start.push(n as u32);
    SakRuns {
        start,
        keys,
        order,
        short,
    }
}

/// IT-8: per person, in fnr order (the order of `persons`), the number of persons of the extract with
/// its `sak_id`, IT-4 newborns not counted (all accepted rows counted). Rows within a run have equal ids
/// (compared with their neighbour); runs with equal hashes are grouped by the text, so a hash collision
/// never merges two cases.
fn sak_counts(
    personer: &[Person],
    persons: &PersonIndex,
    runs: SakRuns,
    newborn: &[bool],
) -> Vec<u32> {
    let SakRuns {
        start,
        keys,
        order,
        short,
    } = runs;
    let rows = |run: u32| start[run as usize] as usize..start[run as usize + 1] as usize;
    let counted = |run: u32| newborn[rows(run)].iter().filter(|&&b| !b).count() as u32;
    let sak = |run: u32| personer[start[run as usize] as usize].sak_id.as_str();
    let same = |x: u32, y: u32| match (short[x as usize], short[y as usize]) {
        (LONG_SAK, _) | (_, LONG_SAK) => sak(x) == sak(y),
        (a, b) => a == b,
    };
    let mut count = vec![0u32; personer.len()];
    // Every row of a case's runs gets the case's count.
    let mut fill = |case: &[u32]| {
        let c = case.iter().map(|&run| counted(run)).sum();
        for &run in case {
            count[rows(run)].fill(c);
        }
    };
    let mut same_hash: Vec<u32> = Vec::new();
    for w in run_starts(&keys).windows(2) {
        let g = &order[w[0] as usize..w[1] as usize];
        // One run; or several runs with one hash: a case listed in several places (an extract not in
        // case order, e.g. sorted by fnr) or, rarely, a collision — one case unless some id differs
        // from the first.
        if g[1..].iter().all(|&run| same(g[0], run)) {
            fill(g);
            continue;
        }
        same_hash.clear();
        same_hash.extend_from_slice(g);
        same_hash.sort_by(|&x, &y| sak(x).cmp(sak(y)));
        for case in same_hash.chunk_by(|&x, &y| sak(x) == sak(y)) {
            fill(case);
        }
    }
    persons.rows.iter().map(|&r| count[r as usize]).collect()
}

/// Rule ids of the accrual lines (SPEC §4), before the per-person additions (IT-3, IT-4, IT-11, T-2).
const YEAR1_RULES: RuleSet = RuleSet::of(&["IT-6", "IT-7", "IT-8", "IT-10", "IT-12", "IT-13"]);
const ONE_OFF_RULES: RuleSet = RuleSet::of(&["IT-7", "IT-9", "IT-12"]);
const MONTHLY_RULES: RuleSet = RuleSet::of(&["IT-6", "IT-7", "IT-10", "IT-12", "IT-13"]);
const EM_RULES: RuleSet = RuleSet::of(&["EM-1", "EM-2", "EM-3", "EM-4"]);

/// What a termin run is asked to compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    pub termin: Termin,
    /// Registration cut-off (IT-2), default the quarter's last day. Events dated after it are not known
    /// to this termin [model (a)].
    pub basis_date: NaiveDate,
    /// First settlement year paid automatically (IT-3).
    pub auto_from: i32,
}

impl Params {
    pub fn new(termin: Termin, basis_date: Option<NaiveDate>, auto_from: i32) -> Params {
        Params {
            termin,
            basis_date: basis_date.unwrap_or_else(|| termin.basis_date()),
            auto_from,
        }
    }
}

/// One step of a person's trail, for `explain`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub rule: &'static str,
    pub text: String,
}

/// One month of one calendar year of one grant, for `explain` (IT-10/IT-13 arithmetic).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonthShare {
    pub month: u32,
    /// The last day of month m − 2 (IT-10).
    pub reference: NaiveDate,
    pub owner: Knr,
    /// IT-13 share of the yearly amount.
    pub amount: Decimal,
    /// `None`: counted. `Some(rule)`: not counted, and the rule that cut it (IT-11, EM-3, IT-12).
    pub cut_by: Option<&'static str>,
}

/// One grant for one calendar year, for `explain`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YearCalc {
    pub kode: RateCode,
    pub ar: i32,
    pub tilskuddsar: u8,
    /// The yearly rate.
    pub sats: Decimal,
    /// `true` for år 2–5 and EM (due month by month); `false` for år 1 and one-offs (due whole).
    pub monthly: bool,
    /// Twelve months for IT/EM years; empty for one-offs (wholly to the settlement municipality, IT-9).
    pub months: Vec<MonthShare>,
}

/// What was accrued for one line key (T-1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accrual {
    pub key: LineKey,
    pub tilskuddsar: u8,
    /// Months counted (monthly grants only).
    pub maneder: Option<u8>,
    pub sats: Decimal,
    pub opptjent: Decimal,
    pub regler: RuleSet,
}

/// Whether the person is paid for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Included,
    Excluded(Exclusion),
}

/// The rules applied to one person.
#[derive(Clone, Debug)]
pub struct Assessment {
    pub fnr: Fnr,
    pub duf: Option<Duf>,
    pub status: Status,
    /// Effective settlement date and municipality (IT-4 replaces them for newborns).
    pub settlement_date: NaiveDate,
    pub settlement_kommune: Knr,
    /// Rule warnings (`mor_ikke_funnet`, `referent_ikke_funnet`) and the exclusion, if any.
    pub avvik: Vec<Avvik>,
    /// Sorted by key.
    pub accruals: Vec<Accrual>,
    /// (year, code) of every rate looked up.
    pub rates_used: Vec<(i32, RateCode)>,
    /// Filled only when tracing (`explain`).
    pub steps: Vec<Step>,
    /// Filled only when tracing (`explain`).
    pub years: Vec<YearCalc>,
}

impl Assessment {
    /// An empty assessment of `p`, to be filled by [`Engine::assess_into`] (and reused for others).
    pub fn for_person(p: &Person) -> Assessment {
        Assessment {
            fnr: p.fnr,
            duf: p.duf,
            status: Status::Included,
            settlement_date: p.bosettingsdato,
            settlement_kommune: p.bosettingskommune,
            avvik: Vec::new(),
            accruals: Vec::new(),
            rates_used: Vec::new(),
            steps: Vec::new(),
            years: Vec::new(),
        }
    }

    pub fn settlement_year(&self) -> i32 {
        self.settlement_date.year()
    }
}

/// The engine over one extract, rate table and ledger. Indexes are built once; [`Engine::assess`] is pure.
pub struct Engine<'a> {
    pub params: Params,
    pub extract: &'a Extract,
    pub rates: &'a RateTable,
    pub ledger: &'a [LedgerLine],
    persons: PersonIndex,
    /// Moves known on the basis date, per person, in date order (ties in file order).
    moves: MoveIndex,
    /// IT-8: per person, in fnr order (as `persons`), the persons of its `sak_id`, IT-4 newborns not
    /// counted.
    sak_counts: Vec<u32>,
    /// IT-4 / IT-5: the mother and the referent of the persons naming one that is in the extract.
    mothers: Links,
    referents: Links,
    ledger_index: LedgerIndex<'a>,
    ledger_orphans: Vec<&'a LedgerLine>,
    /// Every rate with its IT-13 cumulative month amounts, computed once per (year, code).
    rate_index: RateIndex,
    ref_dates: RefDates,
    /// Persons taken at a time by a streaming run ([`Engine::with_chunk`]).
    chunk: usize,
}

/// Persons taken at a time by [`Engine::run_streaming`]: 128 blocks of 512.
const CHUNK: usize = 512 * 128;

fn known(d: Option<NaiveDate>, basis: NaiveDate) -> Option<NaiveDate> {
    // [model (a)] events dated after the basis date are not yet known to this termin.
    d.filter(|d| *d <= basis)
}

impl<'a> Engine<'a> {
    pub fn new(
        params: Params,
        extract: &'a Extract,
        rates: &'a RateTable,
        ledger: &'a [LedgerLine],
    ) -> Engine<'a> {
        let personer = &extract.personer;
        let ((persons, by_sak), (moves, ledger_index)) = rayon::join(
            || rayon::join(|| PersonIndex::build(personer), || sak_runs(personer)),
            || {
                rayon::join(
                    || MoveIndex::build(&extract.flyttinger, params.basis_date),
                    || LedgerIndex::build(ledger),
                )
            },
        );
        let [mothers, referents] = resolve_links(personer, &persons);
        let newborn = it4_newborns(personer, &mothers);
        let ((sak_counts, ledger_orphans), (mothers, referents)) = rayon::join(
            || {
                rayon::join(
                    || sak_counts(personer, &persons, by_sak, &newborn),
                    || ledger_index.without_person(ledger, &persons),
                )
            },
            || {
                let pos_of_row = persons.positions_of_rows();
                (
                    Links::new(&mothers, &pos_of_row),
                    Links::new(&referents, &pos_of_row),
                )
            },
        );
        Engine {
            params,
            extract,
            rates,
            ledger,
            persons,
            moves,
            sak_counts,
            mothers,
            referents,
            ledger_index,
            ledger_orphans,
            rate_index: RateIndex::build(rates),
            ref_dates: RefDates::build(&params),
            chunk: CHUNK,
        }
    }

    /// Another number of persons taken at a time by a streaming run (at least 1; default 65 536). Changes
    /// no output — tests use it to put chunk boundaries (where a streamed ledger is cut) in small runs.
    pub fn with_chunk(mut self, persons: usize) -> Engine<'a> {
        self.chunk = persons.max(1);
        self
    }

    pub fn person(&self, fnr: &Fnr) -> Option<&'a Person> {
        let extract: &'a Extract = self.extract;
        self.persons
            .find(fnr_number(fnr))
            .map(|i| &extract.personer[i])
    }

    /// The rows of the extract in fnr order (equal fnrs in extract order): the order a termin's basis is
    /// written in, sorted once here.
    pub fn rows_in_fnr_order(&self) -> &[u32] {
        self.persons.rows_in_fnr_order()
    }

    /// The ledger lines of one person, in ledger order.
    pub fn paid_lines(&self, fnr: &Fnr) -> &[&'a LedgerLine] {
        if self.ledger.is_empty() {
            return &[];
        }
        self.ledger_index.of(fnr_number(fnr))
    }

    /// T-2: the ledger lines whose person is not in the extract, in ledger order (left alone).
    pub fn ledger_lines_without_person(&self) -> &[&'a LedgerLine] {
        &self.ledger_orphans
    }

    /// The moves of one person known on the basis date, in date order (ties in file order). `hinted`
    /// for the person being assessed (a run goes in fnr order).
    fn moves_of(&self, num: u64, hinted: bool) -> &[(NaiveDate, Knr)] {
        if self.moves.list.is_empty() {
            return &[];
        }
        self.moves.of(num, hinted)
    }

    /// The position in fnr order of `p`, when `p` is one of the extract's rows (as in a run and in
    /// `explain`). Its row follows from its address, checked with `ptr::eq` (plain address arithmetic, no
    /// unsafe).
    fn position_of(&self, p: &Person, num: u64) -> Option<usize> {
        let personer = &self.extract.personer;
        let size = std::mem::size_of::<Person>();
        let off = (p as *const Person as usize).wrapping_sub(personer.as_ptr() as usize);
        let row = off / size;
        if !off.is_multiple_of(size) || !personer.get(row).is_some_and(|q| std::ptr::eq(q, p)) {
            return None;
        }
        self.persons.position(num, row)
    }

    /// IT-8: the persons of the extract with `p`'s `sak_id`, IT-4 newborns not counted.
    fn sak_count(&self, p: &Person, pos: Option<usize>) -> u32 {
        match pos {
            Some(k) => self.sak_counts[k],
            // A person from outside the extract (only a caller of the library can do that): counted
            // directly.
            None => {
                let personer = &self.extract.personer;
                personer
                    .iter()
                    .filter(|q| {
                        q.sak_id == p.sak_id
                            && match q.mor_fnr {
                                None => true,
                                Some(m) => match self.person(&m) {
                                    Some(mother) => q.fodselsdato <= mother.bosettingsdato,
                                    None => q.fodselsdato < q.bosettingsdato,
                                },
                            }
                    })
                    .count() as u32
            }
        }
    }

    /// The person `p` names in `name` (its mother or referent), if in the extract.
    fn named(
        &self,
        links: &Links,
        hint: Hint,
        pos: Option<usize>,
        name: Fnr,
    ) -> Option<&'a Person> {
        let extract: &'a Extract = self.extract;
        match pos {
            Some(k) => links.of(hint, k).map(|r| &extract.personer[r]),
            None => self.person(&name),
        }
    }

    /// IT-7 / EM-2: the rate of the calendar year, with its IT-13 cumulative month amounts; a missing rate
    /// stops the run (SPEC §1.6).
    fn rate(
        &self,
        year: i32,
        kode: RateCode,
        used: &mut Vec<(i32, RateCode)>,
    ) -> Result<&RateEntry, MissingRate> {
        let r = self
            .rate_index
            .get(year, kode)
            .ok_or(MissingRate { year, kode })?;
        used.push((year, kode));
        Ok(r)
    }

    /// IT-10: the owner of each month `lo..=hi` of year `y` (index = month), reading the residence on
    /// each month's reference date (capped by death/emigration) with one pass over the moves.
    fn month_owners(
        &self,
        res: &Residence,
        y: i32,
        (lo, hi): (u32, u32),
        death: Option<NaiveDate>,
        owners: &mut [Knr; 13],
    ) {
        if res.moves.is_empty() {
            // Without moves every month belongs to the settlement municipality.
            for o in &mut owners[lo as usize..=hi as usize] {
                *o = res.first;
            }
            return;
        }
        let mut walk = res.walk();
        for m in lo..=hi {
            // Reading dates grow with the month, so the walk only moves forward.
            owners[m as usize] = walk.on(it::it10_read_on(self.ref_dates.get(y, m), death));
        }
    }

    /// explain: the twelve months of a grant year with their IT-10 owners, read month by month with
    /// [`it::it10_owner`] itself, their IT-13 amounts and what cut them; fills `owners` for T-1.
    /// IT-10 + IT-13 for one monthly grant year (år 2–5, or an EM year): the owners of its due months
    /// `due` — with the month-by-month record for `explain` when tracing, `cut_by` naming the rule that
    /// cut each month outside `due` — then the accrual (T-1).
    #[allow(clippy::too_many_arguments)]
    fn accrue_monthly_year(
        &self,
        a: &mut Assessment,
        acc: &mut Vec<Accrual>,
        owners: &mut [Knr; 13],
        ctx: &MonthlyCtx,
        line: &GrantYear,
        rate: &RateEntry,
        due: (u32, u32),
        cut_by: impl Fn(u32) -> Option<&'static str>,
    ) {
        if ctx.trace {
            let months = Self::traced_months(ctx.res, line.ar, ctx.death, rate, cut_by, owners);
            a.years.push(YearCalc {
                kode: line.kode,
                ar: line.ar,
                tilskuddsar: line.tilskuddsar,
                sats: line.sats,
                monthly: true,
                months,
            });
        } else {
            self.month_owners(ctx.res, line.ar, due, ctx.death, owners);
        }
        accrue_months(acc, line, &rate.cum, owners, due);
    }

    fn traced_months(
        res: &Residence,
        y: i32,
        death: Option<NaiveDate>,
        rate: &RateEntry,
        cut_by: impl Fn(u32) -> Option<&'static str>,
        owners: &mut [Knr; 13],
    ) -> Vec<MonthShare> {
        (1..=12)
            .map(|m| {
                let (owner, reference) = it::it10_owner(res, y, m, death);
                owners[m as usize] = owner;
                MonthShare {
                    month: m,
                    reference,
                    owner,
                    amount: from_ore(rate.cum[m as usize] - rate.cum[m as usize - 1]),
                    cut_by: cut_by(m),
                }
            })
            .collect()
    }

    /// Applies every rule to one person. `trace` fills the explanatory steps and month tables (explain).
    /// Allocates a new [`Assessment`]; a loop over many persons can reuse one with [`Engine::assess_into`].
    pub fn assess(&self, p: &Person, trace: bool) -> Result<Assessment, MissingRate> {
        let mut a = Assessment::for_person(p);
        self.assess_into(p, trace, &mut a)?;
        Ok(a)
    }

    /// [`Engine::assess`] into an existing assessment, whose vectors are cleared and reused (no allocation
    /// per person once they have grown). After an `Err` the assessment holds nothing meaningful.
    pub fn assess_into(
        &self,
        p: &Person,
        trace: bool,
        a: &mut Assessment,
    ) -> Result<(), MissingRate> {
        let prm = self.params;
        a.fnr = p.fnr;
        a.duf = p.duf;
        a.status = Status::Included;
        a.settlement_date = p.bosettingsdato;
        a.settlement_kommune = p.bosettingskommune;
        a.avvik.clear();
        a.accruals.clear();
        a.rates_used.clear();
        a.steps.clear();
        a.years.clear();
        macro_rules! step {
            ($rule:expr, $($fmt:tt)*) => {
                if trace {
                    a.steps.push(Step { rule: $rule, text: format!($($fmt)*) });
                }
            };
        }
        let num = fnr_number(&p.fnr);
        let pos = self.position_of(p, num);
        let file = self.extract.personer_file.as_str();
        let exclude = |a: &mut Assessment, e: Exclusion, why: String| {
            a.status = Status::Excluded(e);
            a.avvik.push(
                Avvik::rejected(
                    file,
                    Some(p.line),
                    Some(e.column()),
                    e.code(),
                    format!("{}: {why}", e.rule()),
                )
                .with_fnr(Some(p.fnr)),
            );
        };

        // IT-4 first determines the effective settlement (the exclusion itself is checked in rule order below).
        let mut newborn = Newborn::No;
        if let Some(mor) = p.mor_fnr {
            match self.named(&self.mothers, Hint::Mothers, pos, mor) {
                Some(m) => {
                    newborn = it::it4_newborn(p.fodselsdato, m.bosettingsdato);
                    if let Newborn::Within { limit } = newborn {
                        let mres = Residence {
                            settled: m.bosettingsdato,
                            first: m.bosettingskommune,
                            moves: self.moves_of(fnr_number(&m.fnr), false),
                        };
                        a.settlement_date = p.fodselsdato;
                        a.settlement_kommune = mres.on(p.fodselsdato);
                        step!(
                            "IT-4",
                            "born {} after the mother's settlement {} and no later than {} (6 months): newborn; settlement date = birth date {}, municipality = mother's residence that day {}",
                            p.fodselsdato, m.bosettingsdato, limit, a.settlement_date, a.settlement_kommune
                        );
                    } else if newborn == Newborn::No {
                        step!("IT-4", "born {} on or before the mother's settlement {}: not a newborn, own row used", p.fodselsdato, m.bosettingsdato);
                    }
                }
                None => {
                    a.avvik.push(
                        Avvik::warning(
                            file,
                            Some(p.line),
                            Some("mor_fnr"),
                            "mor_ikke_funnet",
                            format!("IT-4: mother {} is not in the extract; the child's own row is used", mor.masked()),
                        )
                        .with_fnr(Some(p.fnr)),
                    );
                    step!(
                        "IT-4",
                        "mother {} not in the extract (warning mor_ikke_funnet): own row used",
                        mor.masked()
                    );
                }
            }
        }
        let ys = a.settlement_date.year();

        // IT-1
        if let Err(e) = it::it1_target_group(p.malgruppe) {
            step!(
                "IT-1",
                "malgruppe = {}: not in the target group → out ({})",
                p.malgruppe,
                e.code()
            );
            exclude(a, e, format!("malgruppe is '{}'", p.malgruppe));
            return Ok(());
        }
        step!("IT-1", "malgruppe = {}: in the target group", p.malgruppe);

        // IT-2
        if let Err(e) = it::it2_registered(a.settlement_date, p.registrert_dato, prm.basis_date) {
            step!(
                "IT-2",
                "settlement {} / registered {} not both on or before the basis date {} → out ({}); paid in a later termin",
                a.settlement_date, p.registrert_dato, prm.basis_date, e.code()
            );
            let why = format!(
                "settled {} and registered {}, basis date {}: counts from a later termin",
                a.settlement_date, p.registrert_dato, prm.basis_date
            );
            exclude(a, e, why);
            return Ok(());
        }
        step!(
            "IT-2",
            "settled {} and registered {}, both on or before the basis date {}",
            a.settlement_date,
            p.registrert_dato,
            prm.basis_date
        );

        // IT-3
        let first_year = match it::it3_first_accruing_year(ys, p.tidligere_utlost, prm.auto_from) {
            Ok(y) => {
                if y > ys {
                    step!("IT-3", "settled {ys} before automatic payment ({}), tidligere_utlost = ja: only calendar years ≥ {y} accrue [model (b)]", prm.auto_from);
                } else {
                    step!(
                        "IT-3",
                        "settled {ys}, in or after the automatic-payment start {}",
                        prm.auto_from
                    );
                }
                y
            }
            Err(e) => {
                step!("IT-3", "settled {ys} before automatic payment ({}) and tidligere_utlost = nei → out ({})", prm.auto_from, e.code());
                exclude(
                    a,
                    e,
                    format!("settled in {ys}, before automatic payment started in {}, and no grant triggered before: the municipality must apply", prm.auto_from),
                );
                return Ok(());
            }
        };

        // IT-4 exclusion
        if let Newborn::TooLate { limit } = newborn {
            step!("IT-4", "born {} more than 6 months after the mother's settlement (limit {limit}) → out (fodt_etter_6_mnd)", p.fodselsdato);
            exclude(
                a,
                Exclusion::FodtEtter6Mnd,
                format!(
                    "born {}, later than {limit} (6 months after the mother's settlement)",
                    p.fodselsdato
                ),
            );
            return Ok(());
        }

        // IT-5
        if p.malgruppe.is_family() {
            if let (Some(r), Some(sd)) = (p.referanse_fnr, p.familie_soknadsdato) {
                match self.named(&self.referents, Hint::Referents, pos, r) {
                    Some(rp) => match it::it5_family_five_years(rp.bosettingsdato, sd) {
                        Ok(limit) => step!("IT-5", "family permit applied for {sd}, no later than {limit} (referent settled {} + 5 years)", rp.bosettingsdato),
                        Err(e) => {
                            let limit = it::add_months(rp.bosettingsdato, 60);
                            step!("IT-5", "family permit applied for {sd}, later than {limit} (referent settled {} + 5 years) → out ({})", rp.bosettingsdato, e.code());
                            exclude(a, e, format!("applied {sd}, more than 5 years after the referent's settlement {}", rp.bosettingsdato));
                            return Ok(());
                        }
                    },
                    None => {
                        a.avvik.push(
                            Avvik::warning(
                                file,
                                Some(p.line),
                                Some("referanse_fnr"),
                                "referent_ikke_funnet",
                                format!("IT-5: referent {} is not in the extract; the 5-year rule could not be checked", r.masked()),
                            )
                            .with_fnr(Some(p.fnr)),
                        );
                        step!("IT-5", "referent {} not in the extract (warning referent_ikke_funnet): 5-year rule not checked", r.masked());
                    }
                }
            }
        }

        // --- Included: accrue (T-1). ---
        let res = Residence {
            settled: a.settlement_date,
            first: a.settlement_kommune,
            moves: self.moves_of(num, true),
        };
        let death = match (
            known(p.dodsdato, prm.basis_date),
            known(p.utvandringsdato, prm.basis_date),
        ) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        if trace {
            for (d, k) in res.moves {
                step!("IT-10", "move on {d} to {k}");
            }
            if let Some(e) = death {
                step!("IT-11", "death/emigration on {e}: år 2–5 carry nothing after {}-{:02}; år 1 and one-offs are kept whole", e.year(), e.month());
            }
        }
        // A person has few line keys (a handful per grant year), kept in the assessment's own vector and
        // sorted by key once at the end.
        let mut acc = std::mem::take(&mut a.accruals);
        // IT-10 owner of each month of the grant year at hand (index = month).
        let mut owners = [res.first; 13];
        let ctx = MonthlyCtx {
            res: &res,
            death,
            trace,
        };
        let newborn_rule = matches!(newborn, Newborn::Within { .. });
        let it3_rule = first_year > ys;

        let n_max = it::it6_grant_years(p.malgruppe);
        step!(
            "IT-6",
            "grant years 1..{n_max} = calendar years {ys}..{} ({})",
            it::it6_calendar_year(ys, n_max),
            p.malgruppe
        );

        for n in 1..=n_max {
            let y = it::it6_calendar_year(ys, n);
            if y < first_year {
                step!(
                    "IT-3",
                    "år {n} ({y}) is before {first_year}: not accrued here"
                );
                continue;
            }
            if n == 1 {
                // IT-8 category; IT-12: år 1 is due in full in the first termin the person counts.
                let is_child = it::it8_is_child(p.fodselsdato, ys);
                let in_sak = self.sak_count(p, pos);
                let alone = in_sak <= 1;
                let code = it::it8_year1_code(p.enslig_mindrearig, is_child, alone);
                step!(
                    "IT-8",
                    "år 1 category {code}: enslig_mindrearig = {}, born {} (turns 18 in {}; child = {is_child}), persons in sak '{}' (newborns not counted) = {}",
                    yn(p.enslig_mindrearig), p.fodselsdato, p.fodselsdato.year() + 18, p.sak_id,
                    in_sak
                );
                let rate = self.rate(y, code, &mut a.rates_used)?;
                let mut regler = YEAR1_RULES;
                if newborn_rule {
                    regler.front("IT-4");
                }
                // IT-10 for all twelve months (none is cut: IT-11 does not apply to år 1).
                if trace {
                    let months = Self::traced_months(&res, y, death, rate, |_| None, &mut owners);
                    a.years.push(YearCalc {
                        kode: code,
                        ar: y,
                        tilskuddsar: n,
                        sats: rate.belop,
                        monthly: false,
                        months,
                    });
                } else {
                    self.month_owners(&res, y, (1, 12), death, &mut owners);
                }
                let line = GrantYear {
                    fnr: p.fnr,
                    kode: code,
                    ar: y,
                    tilskuddsar: n,
                    sats: rate.belop,
                    monthly: false,
                    regler,
                };
                accrue_months(&mut acc, &line, &rate.cum, &owners, (1, 12));
                // IT-9 one-offs, wholly to the settlement municipality.
                let age = it::age_on(p.fodselsdato, a.settlement_date);
                match it::it9_one_offs(p.fodselsdato, a.settlement_date) {
                    Some(code) => {
                        step!(
                            "IT-9",
                            "age {age} on the settlement date {}: one-off {code}",
                            a.settlement_date
                        );
                        let sats = self.rate(y, code, &mut a.rates_used)?.belop;
                        let mut regler = ONE_OFF_RULES;
                        if newborn_rule {
                            regler.front("IT-4");
                        }
                        acc.push(Accrual {
                            key: LineKey {
                                fnr: p.fnr,
                                kommune: a.settlement_kommune,
                                kode: code,
                                ar: y,
                            },
                            tilskuddsar: n,
                            maneder: None,
                            sats,
                            // As a sum it was 0 + sats: the same value and scale.
                            opptjent: Decimal::ZERO + sats,
                            regler,
                        });
                        if trace {
                            a.years.push(YearCalc {
                                kode: code,
                                ar: y,
                                tilskuddsar: n,
                                sats,
                                monthly: false,
                                months: Vec::new(),
                            });
                        }
                    }
                    None => step!(
                        "IT-9",
                        "age {age} on the settlement date {}: no one-off (ELDR ≥ 60, BHT < 6)",
                        a.settlement_date
                    ),
                }
                continue;
            }
            // år 2–5: month by month (IT-10, IT-11, IT-12, IT-13). Both cuts keep a prefix of the year:
            // months 1..=k11 count (IT-11) and 1..=k12 are due (IT-12).
            let Some(code) = RateCode::for_grant_year(n) else {
                continue;
            };
            let k11 = it::it11_months(death, y);
            let k12 = it::it12_months_due(prm.termin, y);
            let due = (1, k11.min(k12));
            if due.1 == 0 {
                if trace && k11 < 12 {
                    step!(
                        "IT-11",
                        "år {n} ({y}): no month left after death/emigration"
                    );
                } else {
                    step!("IT-12", "år {n} ({y}): no month due yet in {}", prm.termin);
                }
                continue;
            }
            let rate = self.rate(y, code, &mut a.rates_used)?;
            let mut regler = MONTHLY_RULES;
            if newborn_rule {
                regler.front("IT-4");
            }
            if it3_rule {
                regler.front("IT-3");
            }
            if k11 < 12 {
                // Some month of the year is cut by IT-11.
                regler.push_back("IT-11");
            }
            let cut_by = |m: u32| {
                if m > k11 {
                    Some("IT-11")
                } else if m > k12 {
                    Some("IT-12")
                } else {
                    None
                }
            };
            let line = GrantYear {
                fnr: p.fnr,
                kode: code,
                ar: y,
                tilskuddsar: n,
                sats: rate.belop,
                monthly: true,
                regler,
            };
            self.accrue_monthly_year(a, &mut acc, &mut owners, &ctx, &line, rate, due, cut_by);
        }

        // EM-1…EM-4
        if em::em1_eligible(p.enslig_mindrearig, p.bosatt_etter_avtale) {
            let b = p.fodselsdato.year();
            let stop = [
                known(p.dodsdato, prm.basis_date),
                known(p.utvandringsdato, prm.basis_date),
                known(p.gjenforent_dato, prm.basis_date),
            ]
            .into_iter()
            .flatten()
            .min();
            step!(
                "EM-1",
                "unaccompanied minor settled by agreement: EM grant from {}-{:02} to December {} (year of turning 20){}",
                a.settlement_date.year(), a.settlement_date.month(), b + 20,
                stop.map(|s| format!(", stopping after {}-{:02} (death/emigration/reunion {s})", s.year(), s.month())).unwrap_or_default()
            );
            for y in em::em3_years(a.settlement_date, b) {
                if y < first_year {
                    step!("IT-3", "EM {y} is before {first_year}: not accrued here");
                    continue;
                }
                let Some(code) = em::em2_category(y, b) else {
                    continue;
                };
                // EM-3 keeps the months lo..=hi of the year, IT-12 (EM-4) those due by the termin.
                let (lo3, hi3) = em::em3_months(a.settlement_date, b, stop, y);
                let k12 = it::it12_months_due(prm.termin, y);
                let due = (lo3.max(1), hi3.min(k12));
                if due.0 > due.1 {
                    continue;
                }
                let n = u8::try_from(y - ys + 1).unwrap_or(u8::MAX); // [model (c)] EM tilskuddsar = Y − Y_s + 1
                step!("EM-2", "{y}: {y} − {b} = {} → {code}", y - b);
                let rate = self.rate(y, code, &mut a.rates_used)?;
                let mut regler = EM_RULES;
                if it3_rule {
                    regler.front("IT-3");
                }
                let cut_by = |m: u32| {
                    if m < lo3 || m > hi3 {
                        Some("EM-3")
                    } else if m > k12 {
                        Some("IT-12")
                    } else {
                        None
                    }
                };
                let line = GrantYear {
                    fnr: p.fnr,
                    kode: code,
                    ar: y,
                    tilskuddsar: n,
                    sats: rate.belop,
                    monthly: true,
                    regler,
                };
                self.accrue_monthly_year(a, &mut acc, &mut owners, &ctx, &line, rate, due, cut_by);
            }
        } else if p.enslig_mindrearig {
            step!("EM-1", "unaccompanied minor not settled by agreement (bosatt_etter_avtale = nei): no EM grant");
        }

        // Keys are unique and share the fnr: sorting by the rest is sorting by key.
        acc.sort_unstable_by_key(|x| (x.key.kommune, x.key.kode, x.key.ar));
        a.accruals = acc;
        a.rates_used.sort_unstable();
        a.rates_used.dedup();
        Ok(())
    }

    /// Runs the whole termin (T-1…T-4) and keeps every line and the new ledger in memory (tests,
    /// `explain`, small runs). `tilskudd termin` streams instead: [`Engine::run_streaming`].
    pub fn run(&self, kommuner: Option<&KommuneRegister>) -> Result<TerminResult, MissingRate> {
        let mut sink = CollectLines::default();
        let summary = match self.run_streaming(kommuner, &mut sink) {
            Ok(s) => s,
            Err(RunError::MissingRate(e)) => return Err(e),
            // Collecting into memory cannot fail, and there is no streamed ledger.
            Err(e @ (RunError::Sink(_) | RunError::Ledger(_))) => {
                unreachable!("collecting lines failed: {e}")
            }
        };
        let lines = sink.lines;
        let paying: BTreeSet<Knr> = summary
            .kommuner
            .iter()
            .filter(|k| k.utbetales)
            .map(|k| k.kommune)
            .collect();
        let new_ledger = new_ledger(self.params.termin, self.ledger, &lines, &paying);
        Ok(TerminResult {
            summary,
            lines,
            new_ledger,
        })
    }

    /// The whole termin's sums without its lines (T-3 for `explain`): memory for the persons only.
    pub fn run_sums(
        &self,
        kommuner: Option<&KommuneRegister>,
    ) -> Result<TerminSummary, MissingRate> {
        match self.run_streaming(kommuner, &mut SumsOnly) {
            Ok(s) => Ok(s),
            Err(RunError::MissingRate(e)) => Err(e),
            // Discarding lines cannot fail, and there is no streamed ledger.
            Err(e @ (RunError::Sink(_) | RunError::Ledger(_))) => {
                unreachable!("discarding lines failed: {e}")
            }
        }
    }

    /// Runs the whole termin (T-1…T-4), handing the basis lines to `sink` block by block in
    /// (fnr, kommune, kode, ar) order instead of holding them: memory grows with the persons only
    /// (issue 6). Persons are assessed in parallel; what reaches the sink, and in which order, does not
    /// depend on the number of threads. Each block comes with the lines of the ledger read in whose person
    /// falls in the block's range of person numbers (sorted by (key, termin)), so that the sink can write
    /// the new ledger in order (T-4, [`merge_ledger`]). Person numbers are unique in an extract (the DSF
    /// reader rejects every row of a repeated number); blocks rely on it.
    pub fn run_streaming<S: LineSink>(
        &self,
        kommuner: Option<&KommuneRegister>,
        sink: &mut S,
    ) -> Result<TerminSummary, RunError> {
        self.run_streaming_fed(kommuner, sink, None)
    }

    /// [`Engine::run_streaming`], with the ledger read in coming from `feed` while the persons are taken
    /// (the engine is then built with no ledger): a chunk of persons at a time, only the lines of that
    /// chunk's range of person numbers are held, so memory does not grow with the ledger (issue 6). The
    /// lines reach the sink exactly as they would from the same ledger held in memory.
    pub fn run_streaming_fed<S: LineSink>(
        &self,
        kommuner: Option<&KommuneRegister>,
        sink: &mut S,
        mut feed: Option<&mut LedgerFeed>,
    ) -> Result<TerminSummary, RunError> {
        let personer = &self.extract.personer;
        // Persons in fnr order (the index's order; equal numbers in extract order): each person's lines
        // come out sorted by key, so the whole basis is in (fnr, kommune, kode, ar) order without sorting
        // millions of lines.
        let rows = self.rows_in_fnr_order();
        // The person numbers in that order, from the index (not from the persons, which are in extract
        // order: a cache miss each).
        let nums = self.persons.numbers_in_fnr_order();
        let number_at = |k: usize| nums[k];
        let streamed = feed.is_some();
        // T-4 order of a ledger held in memory: (key, termin), ties in the order read.
        let mut old: Vec<&LedgerLine> = self.ledger.iter().collect();
        // A ledger written by `termin` is in this order already.
        if !old.is_sorted_by_key(|l| l.payment()) {
            old.par_sort_by_key(|l| l.payment()); // stable
        }
        let old_fnr: Vec<u64> = old.iter().map(|l| fnr_number(&l.key.fnr)).collect();
        // How far the chunks have taken `old`.
        let mut taken = 0;
        // T-2: the avvik of a streamed ledger's lines whose person is not in the extract, in ledger order:
        // those the sink leaves to the summary, and how many there are.
        let mut orphans: Vec<Avvik> = Vec::new();
        let mut orphan_count = 0u64;
        let mut counts = Counts {
            personer_lest: personer.len() as u64,
            flyttinger_lest: self.extract.flyttinger.len() as u64,
            ..Counts::default()
        };
        let mut stats = StatsAcc::default();
        let mut person_avvik: Vec<(usize, Vec<Avvik>)> = Vec::new();
        let mut rates_used = BTreeSet::new();
        let mut first_err: Option<(usize, MissingRate)> = None;
        const BLOCK: usize = 512;
        // In chunks, so that only one chunk's results (and ledger lines) exist at a time. Each chunk is
        // cut into blocks assessed in parallel; the blocks are handed to the sink in order.
        for (c, chunk) in rows.chunks(self.chunk).enumerate() {
            let chunk_start = c * self.chunk;
            let chunk_end = chunk_start + chunk.len();
            // The ledger lines of this chunk: person numbers after the previous chunk's last (from the
            // very start for the first chunk) up to this chunk's last; those after the last person's are
            // carried at the end.
            let (owned, owned_fnr) = match feed.as_deref_mut() {
                Some(f) => f.take_through(&personer[rows[chunk_end - 1] as usize].fnr)?,
                None => (Vec::new(), Vec::new()),
            };
            let owned_refs: Vec<&LedgerLine>;
            let (chunk_old, chunk_fnr): (&[&LedgerLine], &[u64]) = if streamed {
                owned_refs = owned.iter().collect();
                (&owned_refs, &owned_fnr)
            } else {
                let hi = old_fnr.partition_point(|&f| f <= number_at(chunk_end - 1));
                let range = taken..hi;
                taken = hi;
                (&old[range.clone()], &old_fnr[range])
            };
            if streamed {
                // One merge walk of the chunk's ledger lines and persons, both in fnr order.
                let mut p = chunk_start;
                let mut found: Vec<&LedgerLine> = Vec::new();
                for (l, &num) in chunk_old.iter().zip(chunk_fnr) {
                    while p < chunk_end && number_at(p) < num {
                        p += 1;
                    }
                    if p == chunk_end || number_at(p) != num {
                        found.push(l);
                    }
                }
                orphan_count += found.len() as u64;
                if !sink.orphans(&found)? {
                    orphans.extend(found.into_iter().map(orphan_avvik));
                }
            }
            let blocks: Vec<Block<S::Part>> = chunk
                .par_chunks(BLOCK)
                .enumerate()
                .map(|(b, block)| {
                    let start = chunk_start + b * BLOCK;
                    // The ledger lines of this block: person numbers after the previous block's last
                    // (from the chunk's first line for its first block) up to this block's last.
                    let lo = if b == 0 {
                        0
                    } else {
                        chunk_fnr.partition_point(|&f| f <= number_at(start - 1))
                    };
                    let hi =
                        chunk_fnr.partition_point(|&f| f <= number_at(start + block.len() - 1));
                    let ledger = &chunk_old[lo..hi];
                    let paid = if streamed {
                        Paid::Sorted(ledger, &chunk_fnr[lo..hi])
                    } else if self.ledger.is_empty() {
                        Paid::None
                    } else {
                        Paid::Index(&self.ledger_index)
                    };
                    let mut b = Block::default();
                    // The thread's buffer of lines from its previous block (memory already
                    // touched, instead of a fresh allocation per block).
                    let mut lines = BLOCK_LINES.take();
                    lines.clear();
                    if first_err.is_none() {
                        self.assess_block(block, paid, &mut lines, &mut b);
                    }
                    b.stats = BlockStats::of_lines(&lines);
                    b.part = Some(sink.block(&lines, ledger));
                    BLOCK_LINES.set(lines);
                    b
                })
                .collect();
            for b in blocks {
                if let Some((i, e)) = b.first_err {
                    if first_err.as_ref().is_none_or(|(j, _)| i < *j) {
                        first_err = Some((i, e));
                    }
                }
                counts.personer_utelatt += b.counts.personer_utelatt;
                counts.personer_utelatt_med_trekk += b.counts.personer_utelatt_med_trekk;
                counts.personer_brukt += b.counts.personer_brukt;
                counts.personer_uten_belop += b.counts.personer_uten_belop;
                rates_used.extend(b.rates_used);
                person_avvik.extend(b.avvik);
                stats.add(&b.stats);
                if first_err.is_none() {
                    if let Some(part) = b.part {
                        sink.accept(part)?;
                    }
                }
            }
            if first_err.is_some() {
                break;
            }
        }
        if first_err.is_some() {
            // The error names the first person in extract order that needs a missing rate, whatever
            // the thread count: look at every person, writing nothing more.
            let errs: Vec<(usize, MissingRate)> = rows
                .par_chunks(BLOCK)
                .filter_map(|block| {
                    let mut b = Block::<()>::default();
                    let mut lines = Vec::new();
                    self.assess_block(block, Paid::None, &mut lines, &mut b);
                    b.first_err
                })
                .collect();
            if let Some((_, e)) = errs.into_iter().min_by_key(|(i, _)| *i) {
                return Err(RunError::MissingRate(e));
            }
        }
        // The ledger lines after the last person's number (all of them when there is no person, e.g.
        // every row rejected): carried whole (T-4), left alone (T-2).
        match feed.as_deref_mut() {
            Some(f) => loop {
                let tail = f.take(self.chunk)?;
                if tail.is_empty() {
                    break;
                }
                let refs: Vec<&LedgerLine> = tail.iter().collect();
                let part = sink.block(&[], &refs);
                sink.accept(part)?;
                orphan_count += refs.len() as u64;
                if !sink.orphans(&refs)? {
                    orphans.extend(refs.into_iter().map(orphan_avvik));
                }
            },
            None => {
                if taken < old.len() {
                    let part = sink.block(&[], &old[taken..]);
                    sink.accept(part)?;
                }
            }
        }
        // avvik.csv lists persons in extract order.
        person_avvik.sort_by_key(|(i, _)| *i);
        let mut avvik: Vec<Avvik> = person_avvik.into_iter().flat_map(|(_, v)| v).collect();
        // T-2: ledger lines whose person is absent from the extract are left alone.
        let (ledger_in, orphans, orphan_count) = match &feed {
            Some(f) => (
                LedgerTotals {
                    lines: f.lines,
                    sum: f.sum,
                },
                orphans,
                orphan_count,
            ),
            None => {
                let orphans: Vec<Avvik> = self
                    .ledger_lines_without_person()
                    .iter()
                    .map(|l| orphan_avvik(l))
                    .collect();
                let n = orphans.len() as u64;
                (
                    LedgerTotals {
                        lines: self.ledger.len() as u64,
                        sum: self.ledger.iter().map(|l| l.belop).sum(),
                    },
                    orphans,
                    n,
                )
            }
        };
        counts.ledger_linjer_lest = ledger_in.lines;
        counts.ledger_linjer_uten_person = orphan_count;
        let orphans_written = orphan_count - orphans.len() as u64;
        avvik.extend(orphans);
        let stats = stats.into_stats();
        let kommuner_out = sum_kommuner(&stats, kommuner);
        Ok(TerminSummary {
            termin: self.params.termin,
            basis_date: self.params.basis_date,
            kommuner: kommuner_out,
            avvik,
            rates_used: rates_used.into_iter().collect(),
            counts,
            stats,
            ledger_in,
            orphans_written,
        })
    }

    /// T-1/T-2 for a block of persons (indexes into the extract, in fnr order): their lines appended to
    /// `lines`, their counts, avvik and rates in `b`.
    fn assess_block<P>(
        &self,
        block: &[u32],
        paid: Paid<'_, '_>,
        lines: &mut Vec<BasisLine>,
        b: &mut Block<P>,
    ) {
        let personer = &self.extract.personer;
        // Persons in fnr order lie anywhere in memory: reading each once first lets the cache misses
        // overlap instead of stalling one by one.
        // A person spans several cache lines: fields from its start, middle and end are read.
        let touch = block.iter().fold(0u64, |s, &i| {
            let p = &personer[i as usize];
            s.wrapping_add(p.line)
                .wrapping_add(u64::from(p.tidligere_utlost))
                .wrapping_add(p.duf.map_or(1, |d| d.value()))
                .wrapping_add(u64::from(p.fnr.as_str().len() as u32))
                .wrapping_add(p.sak_id.len() as u64)
        });
        std::hint::black_box(touch);
        // One assessment reused for the block (no allocation per person).
        let Some(&first) = block.first() else {
            return;
        };
        let mut a = Assessment::for_person(&personer[first as usize]);
        // The rates already listed in `b.rates_used`, by their place in the rate table.
        let mut seen = vec![false; self.rate_index.slots.len()];
        for &i in block {
            let i = i as usize;
            let p = &personer[i];
            if let Err(e) = self.assess_into(p, false, &mut a) {
                // The first missing rate in extract order (deterministic).
                if b.first_err.as_ref().is_none_or(|(j, _)| i < *j) {
                    b.first_err = Some((i, e));
                }
                continue;
            }
            let before = lines.len();
            net_person_into(&a, paid.of(&p.fnr), lines);
            let has_lines = lines.len() > before;
            match (a.status, has_lines) {
                (Status::Excluded(_), false) => b.counts.personer_utelatt += 1,
                (Status::Excluded(_), true) => {
                    b.counts.personer_utelatt += 1;
                    b.counts.personer_utelatt_med_trekk += 1;
                }
                (Status::Included, true) => b.counts.personer_brukt += 1,
                (Status::Included, false) => b.counts.personer_uten_belop += 1,
            }
            for r in &a.rates_used {
                match self.rate_index.slot(r.0, r.1) {
                    Some(k) if k < seen.len() => {
                        if !seen[k] {
                            seen[k] = true;
                            b.rates_used.push(*r);
                        }
                    }
                    _ => {
                        if !b.rates_used.contains(r) {
                            b.rates_used.push(*r);
                        }
                    }
                }
            }
            if !a.avvik.is_empty() {
                b.avvik.push((i, std::mem::take(&mut a.avvik)));
            }
        }
    }
}

/// T-2: a ledger line whose person is not in the extract is left alone (no line), carried to the new
/// ledger, and listed.
fn orphan_avvik(l: &LedgerLine) -> Avvik {
    let mut a = Avvik::warning("", None, None, "", String::new());
    orphan_avvik_into(l, &mut a);
    a
}

/// T-2: the avvik of a ledger line whose person is not in the extract (`ukjent_person_i_reskontro`:
/// left alone, carried), written into `a` (its text buffers reused: no allocation per line once they
/// are large enough). The same as [`Avvik::warning`] of the same text.
pub fn orphan_avvik_into(l: &LedgerLine, a: &mut Avvik) {
    use std::fmt::Write;
    a.fil.clear();
    a.fil.push_str(l.origin.file());
    a.linje = l.origin.line();
    match &mut a.kolonne {
        Some(k) => {
            k.clear();
            k.push_str("fnr");
        }
        None => a.kolonne = Some("fnr".into()),
    }
    a.fnr = Some(l.key.fnr);
    a.kode.clear();
    a.kode.push_str("ukjent_person_i_reskontro");
    a.niva = Niva::Advarsel;
    // The amount and the other values hold no person number, but a message is masked all the same
    // (as `Avvik::warning` masks it): written whole, then masked in place only if it has to be.
    a.melding.clear();
    let _ = write!(
        a.melding,
        "T-2: ledger line ({} {} {} {}, termin {}) belongs to a person not in the extract; left alone, carried to the new ledger",
        l.key.kommune,
        l.key.kode,
        l.key.ar,
        crate::domain::money::fmt_money(l.belop),
        l.termin
    );
    if crate::domain::ids::has_person_number(&a.melding) {
        a.melding = crate::domain::ids::mask_text(&a.melding);
    }
}

/// Where [`Engine::assess_block`] finds a person's ledger lines.
#[derive(Clone, Copy)]
enum Paid<'x, 'l> {
    /// No ledger.
    None,
    /// The ledger held in memory (each person's lines in the order read).
    Index(&'x LedgerIndex<'l>),
    /// The block's lines of a streamed ledger, in T-4 order (so by fnr), and their fnr numbers.
    Sorted(&'x [&'l LedgerLine], &'x [u64]),
}

impl<'x, 'l> Paid<'x, 'l> {
    fn of(self, fnr: &Fnr) -> &'x [&'l LedgerLine] {
        match self {
            Paid::None => &[],
            Paid::Index(ix) => ix.of(fnr_number(fnr)),
            Paid::Sorted(lines, nums) => {
                let n = fnr_number(fnr);
                let a = nums.partition_point(|&x| x < n);
                let b = a + nums[a..].partition_point(|&x| x == n);
                &lines[a..b]
            }
        }
    }
}

thread_local! {
    /// The lines of the block a thread of [`Engine::run_streaming`] is at, reused from block to block.
    static BLOCK_LINES: std::cell::RefCell<Vec<BasisLine>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Where a streaming run ([`Engine::run_streaming`]) puts its basis lines.
pub trait LineSink: Sync {
    /// What [`LineSink::block`] makes of one block (e.g. the block's CSV bytes).
    type Part: Send;
    /// Called on a worker thread for each block of whole persons' lines, in (fnr, kommune, kode, ar)
    /// order, with the ledger lines read in (`--paid`) of the block's range of person numbers, sorted by
    /// (key, termin) — including lines of persons absent from the extract. Blocks may be called in any
    /// order and at the same time.
    fn block(&self, lines: &[BasisLine], ledger: &[&LedgerLine]) -> Self::Part;
    /// Called on the run's thread with each block's part, in order. An error stops the run.
    fn accept(&mut self, part: Self::Part) -> std::io::Result<()>;
    /// T-2: a streamed ledger's lines whose person is not in the extract, as the run finds them, in
    /// ledger order: true when the sink writes their avvik ([`orphan_avvik_into`]) itself (`tilskudd
    /// termin` spills them to a file until `avvik.csv` is written: in a long chain most ledger lines are
    /// of persons who left the extract, issue 6); false, the run keeps them in its summary. An error
    /// stops the run.
    fn orphans(&mut self, _lines: &[&LedgerLine]) -> std::io::Result<bool> {
        Ok(false)
    }
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    MissingRate(#[from] MissingRate),
    #[error("writing the basis: {0}")]
    Sink(#[from] std::io::Error),
    #[error(transparent)]
    Ledger(#[from] FeedError),
}

/// A sink that keeps no line ([`Engine::run_sums`]).
struct SumsOnly;

impl LineSink for SumsOnly {
    type Part = ();
    fn block(&self, _lines: &[BasisLine], _ledger: &[&LedgerLine]) {}
    fn accept(&mut self, _part: ()) -> std::io::Result<()> {
        Ok(())
    }
}

/// A sink that keeps every line in memory ([`Engine::run`]).
#[derive(Default)]
struct CollectLines {
    lines: Vec<BasisLine>,
}

impl LineSink for CollectLines {
    type Part = Vec<BasisLine>;
    fn block(&self, lines: &[BasisLine], _ledger: &[&LedgerLine]) -> Vec<BasisLine> {
        lines.to_vec()
    }
    fn accept(&mut self, part: Vec<BasisLine>) -> std::io::Result<()> {
        self.lines.extend(part);
        Ok(())
    }
}

/// What the termin run keeps of a block of persons (assessed on one thread, in fnr order).
struct Block<P> {
    counts: Counts,
    /// Distinct (year, code) pairs, in first-use order (few: the rate table is small).
    rates_used: Vec<(i32, RateCode)>,
    avvik: Vec<(usize, Vec<Avvik>)>,
    /// The missing rate of the block's first person in extract order that needs one.
    first_err: Option<(usize, MissingRate)>,
    stats: BlockStats,
    part: Option<P>,
}

impl<P> Default for Block<P> {
    fn default() -> Self {
        Block {
            counts: Counts::default(),
            rates_used: Vec::new(),
            avvik: Vec::new(),
            first_err: None,
            stats: BlockStats::default(),
            part: None,
        }
    }
}

/// The fnr's 11 digits as a number (< 10^11): orders like the fnr itself.
fn fnr_number(f: &Fnr) -> u64 {
    f.number()
}

fn yn(b: bool) -> &'static str {
    if b {
        "ja"
    } else {
        "nei"
    }
}

/// One grant year of a person (år 1, år 2–5 or an EM year): what its lines are keyed, rated and ruled by.
/// What every monthly grant year of one person shares: the residence (IT-10), the end by death or
/// emigration (IT-11), and whether `explain` is tracing.
struct MonthlyCtx<'r, 'm> {
    res: &'r Residence<'m>,
    death: Option<NaiveDate>,
    trace: bool,
}

struct GrantYear {
    fnr: Fnr,
    kode: RateCode,
    ar: i32,
    tilskuddsar: u8,
    sats: Decimal,
    /// Due month by month (år 2–5, EM): the lines count their months.
    monthly: bool,
    regler: RuleSet,
}

/// T-1 for one grant year (IT-10 + IT-13, år 1 and år 2–5 and EM-4 alike): each month `lo..=hi` goes to
/// its owner (`owners[m]`), the months cut by IT-11, IT-12 or EM-3 being outside the range. A run of
/// consecutive months with one owner adds `cum[last] − cum[first − 1]` — exactly the sum of its months'
/// IT-13 amounts — so a year without moves costs one subtraction.
fn accrue_months(
    acc: &mut Vec<Accrual>,
    year: &GrantYear,
    cum: &[i128; 13],
    owners: &[Knr; 13],
    (lo, hi): (u32, u32),
) {
    let first = acc.len();
    let mut m = lo as usize;
    let hi = hi as usize;
    while m <= hi {
        let owner = owners[m];
        let mut e = m;
        while e < hi && owners[e + 1] == owner {
            e += 1;
        }
        let amount = from_ore(cum[e] - cum[m - 1]);
        let months = (e - m + 1) as u8;
        // Keys of different grant years differ in code or year, so only this year's lines can match.
        match acc[first..].iter_mut().find(|x| x.key.kommune == owner) {
            Some(x) => {
                // Back to a municipality owning earlier months of the year (moved away and back).
                x.opptjent += amount;
                if let Some(n) = x.maneder.as_mut() {
                    *n += months;
                }
            }
            None => acc.push(Accrual {
                key: LineKey {
                    fnr: year.fnr,
                    kommune: owner,
                    kode: year.kode,
                    ar: year.ar,
                },
                tilskuddsar: year.tilskuddsar,
                maneder: year.monthly.then_some(months),
                sats: year.sats,
                opptjent: amount,
                regler: year.regler,
            }),
        }
        m = e + 1;
    }
}

/// T-2 for one person: every key with anything accrued or paid gets a line `accrued − paid`. Keys paid
/// before but no longer accrued (a late move, an exclusion, …) become deductions (sats 0).
pub fn net_person(a: &Assessment, paid: &[&LedgerLine]) -> Vec<BasisLine> {
    let mut out = Vec::new();
    net_person_into(a, paid, &mut out);
    out
}

/// [`net_person`], appending the lines to `out`: one merge of the accruals (sorted by key) with the paid
/// lines in key order — a person's ledger lines normally already are (utbetalt.csv is sorted by key);
/// otherwise a sorted copy is made.
pub fn net_person_into(a: &Assessment, paid: &[&LedgerLine], out: &mut Vec<BasisLine>) {
    if paid.is_empty() {
        // Nothing paid before (the common case): every accrual is a line as it is.
        out.extend(
            a.accruals
                .iter()
                .filter(|x| !x.opptjent.is_zero())
                .map(|x| BasisLine {
                    key: x.key,
                    duf: a.duf,
                    tilskuddsar: x.tilskuddsar,
                    maneder: x.maneder,
                    sats: x.sats,
                    opptjent: x.opptjent,
                    tidligere_utbetalt: Decimal::ZERO,
                    a_utbetale: x.opptjent,
                    regler: x.regler,
                }),
        );
        return;
    }
    // Keys are compared without their fnr when every key has the person's (as in a run: the person's
    // own ledger lines): the same order, without comparing 11 bytes each time.
    if a.accruals.iter().all(|x| x.key.fnr == a.fnr) && paid.iter().all(|l| l.key.fnr == a.fnr) {
        net_merge(a, paid, out, |k| (k.kommune, k.kode, k.ar));
    } else {
        net_merge(a, paid, out, |k| *k);
    }
}

/// The merge of [`net_person_into`], keys ordered and matched by `ord` (which must order them as
/// [`LineKey`]'s own order does).
fn net_merge<K: Ord>(
    a: &Assessment,
    paid: &[&LedgerLine],
    out: &mut Vec<BasisLine>,
    ord: impl Fn(&LineKey) -> K,
) {
    let sorted_copy;
    let paid: &[&LedgerLine] = if paid.is_sorted_by_key(|l| ord(&l.key)) {
        paid
    } else {
        let mut v = paid.to_vec();
        v.sort_by_key(|l| ord(&l.key)); // stable
        sorted_copy = v;
        &sorted_copy
    };
    let (mut i, mut j) = (0, 0);
    loop {
        let accrual = a.accruals.get(i);
        let next_paid = paid.get(j).map(|l| l.key);
        let key = match (accrual, next_paid) {
            (Some(x), Some(k)) => {
                if ord(&k) < ord(&x.key) {
                    k
                } else {
                    x.key
                }
            }
            (Some(x), None) => x.key,
            (None, Some(k)) => k,
            (None, None) => break,
        };
        let okey = ord(&key);
        let accrual = accrual.filter(|x| ord(&x.key) == okey);
        if accrual.is_some() {
            i += 1;
        }
        // All payments of the key (one per termin paid), summed from zero.
        let mut tidligere = Decimal::ZERO;
        while let Some(l) = paid.get(j).filter(|l| ord(&l.key) == okey) {
            tidligere += l.belop;
            j += 1;
        }
        let line = match accrual {
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
}

/// T-3: per municipality, the sum per code and in total; paid only when the sum is positive.
pub fn sum_kommuner(stats: &LineStats, register: Option<&KommuneRegister>) -> Vec<KommuneSum> {
    let mut by: BTreeMap<Knr, KommuneSum> = BTreeMap::new();
    for ((k, kode), agg) in &stats.per_kode {
        let e = by.entry(*k).or_insert_with(|| KommuneSum {
            kommune: *k,
            navn: register.and_then(|r| r.latest(*k)).map(|r| r.navn.clone()),
            per_kode: BTreeMap::new(),
            sum: Decimal::ZERO,
            utbetales: false,
        });
        e.per_kode.insert(*kode, agg.a_utbetale);
        e.sum += agg.a_utbetale;
    }
    by.into_values()
        .map(|mut k| {
            k.utbetales = k.sum > Decimal::ZERO;
            k
        })
        .collect()
}

/// One line of the new ledger (T-4): carried from the ledger read in, or a basis line of this termin.
#[derive(Clone, Copy, Debug)]
pub enum LedgerEntry<'a> {
    Old(&'a LedgerLine),
    /// A line with `a_utbetale ≠ 0`; recorded only if its municipality is paid now (T-3).
    New(&'a BasisLine),
}

/// T-4 order of the new ledger: `old` (sorted by (key, termin)) merged with the non-zero `lines` of this
/// `termin` (sorted by key) into (fnr, kommunenummer, kode, ar, termin) order [model (h)], the old line
/// first on equal (key, termin). Whether a new line is kept (its municipality paid) is the caller's.
/// The streamed run merges per block with the same order inline (`output::basis::BasisStream::block`);
/// `tests/streaming.rs` holds the two to each other — change both together.
pub fn merge_ledger<'a>(
    termin: Termin,
    old: &'a [&'a LedgerLine],
    lines: &'a [BasisLine],
    mut f: impl FnMut(LedgerEntry<'a>),
) {
    let mut old = old.iter().peekable();
    let mut new = lines.iter().filter(|l| !l.a_utbetale.is_zero()).peekable();
    loop {
        let take_old = match (old.peek(), new.peek()) {
            (Some(o), Some(n)) => (o.key, o.termin) <= (n.key, termin),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if take_old {
            if let Some(o) = old.next() {
                f(LedgerEntry::Old(o));
            }
        } else if let Some(n) = new.next() {
            f(LedgerEntry::New(n));
        }
    }
}

/// T-4: the ledger read in plus every non-zero line of the municipalities paid now (termin = this one),
/// sorted by (fnr, kommunenummer, kode, ar, termin) [model (h)]; ties keep input order.
pub fn new_ledger(
    termin: Termin,
    old: &[LedgerLine],
    lines: &[BasisLine],
    paying: &BTreeSet<Knr>,
) -> Vec<LedgerLine> {
    let mut old: Vec<&LedgerLine> = old.iter().collect();
    old.sort_by_key(|l| (l.key, l.termin)); // stable: ties keep the order read
    let mut out = Vec::with_capacity(old.len() + lines.len());
    merge_ledger(termin, &old, lines, |e| match e {
        LedgerEntry::Old(o) => out.push(o.clone()),
        LedgerEntry::New(l) => {
            if paying.contains(&l.key.kommune) {
                out.push(LedgerLine {
                    termin,
                    key: l.key,
                    belop: l.a_utbetale,
                    origin: Origin::default(),
                });
            }
        }
    });
    out
}

/// Two ledger lines record the same payment (termin and key) with different amounts: the ledger is
/// inconsistent and no amount can be trusted (T-2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the ledger records termin {termin}, {kommune} {kode} {ar} for {fnr} twice with different amounts ({a} in {origin_a}, {b} in {origin_b}); correct the ledger files")]
pub struct LedgerConflict {
    pub termin: Termin,
    pub kommune: Knr,
    pub kode: RateCode,
    pub ar: i32,
    /// Masked.
    pub fnr: String,
    pub a: String,
    pub origin_a: String,
    pub b: String,
    pub origin_b: String,
}

/// A ledger line `l` repeating the payment (termin and key) of `first`, read before it: the warning
/// `dobbel_reskontrolinje` when the amounts agree (the repeat is then dropped), else the run stops
/// ([`dedupe_ledger`]; the streamed ledger's reader, `input::ledger::stream`, the same).
pub fn repeated_payment(first: &LedgerLine, l: &LedgerLine) -> Result<Avvik, Box<LedgerConflict>> {
    if first.belop != l.belop {
        return Err(Box::new(LedgerConflict {
            termin: l.termin,
            kommune: l.key.kommune,
            kode: l.key.kode,
            ar: l.key.ar,
            fnr: l.key.fnr.masked(),
            a: crate::domain::money::fmt_money(first.belop),
            origin_a: first.origin.to_string(),
            b: crate::domain::money::fmt_money(l.belop),
            origin_b: l.origin.to_string(),
        }));
    }
    let (fil, linje) = (l.origin.file(), l.origin.line());
    Ok(Avvik::warning(
        fil,
        linje,
        None,
        "dobbel_reskontrolinje",
        format!(
            "T-2: the same payment ({} {} {} {}, termin {}) is already in {}; counted once",
            l.key.kommune,
            l.key.kode,
            l.key.ar,
            crate::domain::money::fmt_money(l.belop),
            l.termin,
            first.origin
        ),
    )
    .with_fnr(Some(l.key.fnr)))
}

/// T-2 guard: a payment is one line per (termin, key). When the same payment appears twice with the same
/// amount (typically `--paid` given both Q1's and Q2's `utbetalt.csv`, the second already holding the
/// first) the repeat is dropped with a warning `dobbel_reskontrolinje`; with a different amount the run
/// stops. [model]
///
/// Repeats are found by one stable sort of the line numbers by (key, termin) — linear when the ledger is
/// already in that order, as `utbetalt.csv` is, or a few sorted files one after the other.
pub fn dedupe_ledger(
    lines: Vec<LedgerLine>,
) -> Result<(Vec<LedgerLine>, Vec<Avvik>), Box<LedgerConflict>> {
    let payment = |l: &LedgerLine| (l.key, l.termin);
    // (repeat, first line of the same payment), in the order of the repeats.
    let mut repeats: Vec<(usize, usize)> = Vec::new();
    if lines.windows(2).all(|w| payment(&w[0]) <= payment(&w[1])) {
        let mut first = 0;
        for i in 1..lines.len() {
            if payment(&lines[i]) == payment(&lines[first]) {
                repeats.push((i, first));
            } else {
                first = i;
            }
        }
    } else {
        let mut order: Vec<u32> = (0..lines.len() as u32).collect();
        order.sort_by_key(|&i| payment(&lines[i as usize])); // stable: a payment's first line leads
        for g in order.chunk_by(|&x, &y| payment(&lines[x as usize]) == payment(&lines[y as usize]))
        {
            repeats.extend(g[1..].iter().map(|&i| (i as usize, g[0] as usize)));
        }
        repeats.sort_unstable();
    }
    let mut avvik = Vec::with_capacity(repeats.len());
    for &(i, f) in &repeats {
        avvik.push(repeated_payment(&lines[f], &lines[i])?);
    }
    if repeats.is_empty() {
        return Ok((lines, avvik));
    }
    let mut drop = repeats.iter().map(|r| r.0).peekable();
    let out = lines
        .into_iter()
        .enumerate()
        .filter(|(i, _)| {
            let repeat = drop.peek() == Some(i);
            if repeat {
                drop.next();
            }
            !repeat
        })
        .map(|(_, l)| l)
        .collect();
    Ok((out, avvik))
}

#[cfg(test)]
mod orphan_tests {
    use super::*;
    use crate::domain::termin::Termin;

    /// The avvik of a ledger line without a person, built in a buffer that held another avvik, is the
    /// one `Avvik::warning` makes of the same text (T-2, docs/rules.md), its message masked as any is.
    #[test]
    fn orphan_avvik_into_a_used_buffer_is_the_warning() {
        let fnr = (0..1000)
            .find_map(|i| Fnr::with_control_digits(&format!("158190{i:03}")))
            .unwrap();
        let mut buf = Avvik::rejected(
            "other.csv",
            None,
            Some("a much longer column name"),
            "some_other_code_that_is_long",
            "x".repeat(300),
        );
        for (belop, shown) in [("-7.5", "-7.50"), ("12345678901.00", "12345678901.00")] {
            let l = LedgerLine {
                termin: Termin::new(2024, 4).unwrap(),
                key: LineKey {
                    fnr,
                    kommune: Knr::parse("0301").unwrap(),
                    kode: RateCode::ALL[0],
                    ar: 2023,
                },
                belop: belop.parse().unwrap(),
                origin: Origin::new("ledger/utbetalt.csv".into(), 17),
            };
            let want = Avvik::warning(
                "ledger/utbetalt.csv",
                Some(17),
                Some("fnr"),
                "ukjent_person_i_reskontro",
                format!(
                    "T-2: ledger line (0301 {} 2023 {shown}, termin 2024-Q4) belongs to a person not in the extract; left alone, carried to the new ledger",
                    RateCode::ALL[0]
                ),
            )
            .with_fnr(Some(fnr));
            orphan_avvik_into(&l, &mut buf);
            assert_eq!(buf, want);
            assert_eq!(orphan_avvik(&l), want);
            assert!(
                !crate::domain::ids::has_person_number(&buf.melding),
                "{}",
                buf.melding
            );
        }
    }
}

#[cfg(test)]
mod sak_tests {
    use super::*;
    use std::collections::HashMap;

    /// IT-8's count of a case (its rows in the extract, newborns not counted) is that of a map from the
    /// id's text, whatever the order of the rows (a case in one run or several, scattered), the length of the ids
    /// (up to 15 bytes compared as numbers, longer ones as text, ids equal in their first 16 bytes) and
    /// the hash: with 1–3 bits nearly every run shares its hash with runs of other cases.
    #[test]
    fn sak_counts_are_those_of_a_map_of_the_ids() {
        let ids: Vec<String> = [
            "",
            "A",
            "SAK00000001",
            "SAK00000002",
            "123456789012345",
            "123456789012346",
            "1234567890123456",
            "1234567890123457",
            "en veldig lang saksreferanse 1",
            "en veldig lang saksreferanse 2",
            "æøå-sak",
            "A\u{0}",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Synthetic numbers (SPEC ID-1: month + 80).
        let fnrs: Vec<Fnr> = (0..3000)
            .filter_map(|i| Fnr::with_control_digits(&format!("15819{}{:03}", i / 1000, i % 1000)))
            .take(300)
            .collect();
        assert_eq!(fnrs.len(), 300);
        let template = |fnr: Fnr, sak: &str| Person {
            fnr,
            duf: None,
            fodselsdato: NaiveDate::from_ymd_opt(1990, 1, 1).unwrap(),
            bosettingsdato: NaiveDate::from_ymd_opt(2022, 1, 1).unwrap(),
            bosettingskommune: Knr::parse("0301").unwrap(),
            sak_id: sak.to_string(),
            malgruppe: crate::domain::person::Malgruppe::Flyktning,
            bosatt_etter_avtale: true,
            enslig_mindrearig: false,
            mor_fnr: None,
            referanse_fnr: None,
            familie_soknadsdato: None,
            registrert_dato: NaiveDate::from_ymd_opt(2022, 1, 1).unwrap(),
            dodsdato: None,
            utvandringsdato: None,
            gjenforent_dato: None,
            tidligere_utlost: false,
            line: 0,
        };
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for round in 0..40 {
            // Runs of 1–4 rows of one id, in a random order of fnrs: a case may be in several runs.
            // A quarter of the runs have an id of their own (a case of one run; short or long).
            let mut personer = Vec::new();
            while personer.len() < fnrs.len() {
                let own = match next(8) {
                    0 => Some(format!("solo-{}", personer.len())),
                    1 => Some(format!(
                        "en lang saksreferanse uten like {}",
                        personer.len()
                    )),
                    _ => None,
                };
                let id = own.as_ref().unwrap_or_else(|| &ids[next(ids.len())]);
                for _ in 0..1 + next(if round % 2 == 0 { 4 } else { 1 }) {
                    if personer.len() < fnrs.len() {
                        personer.push(template(fnrs[0], id));
                    }
                }
            }
            // Distinct numbers (7 is prime to 300), in an order other than the rows'.
            for (i, p) in personer.iter_mut().enumerate() {
                p.fnr = fnrs[(i * 7 + round) % fnrs.len()];
            }
            let newborn: Vec<bool> = (0..personer.len()).map(|_| next(5) == 0).collect();
            let mut model: HashMap<&str, u32> = HashMap::new();
            for (p, &nb) in personer.iter().zip(&newborn) {
                *model.entry(p.sak_id.as_str()).or_default() += u32::from(!nb);
            }
            let persons = PersonIndex::build(&personer);
            let want: Vec<u32> = persons
                .rows_in_fnr_order()
                .iter()
                .map(|&r| model[personer[r as usize].sak_id.as_str()])
                .collect();
            for bits in [1, 2, 3, 40, 64] {
                let got = sak_counts(
                    &personer,
                    &persons,
                    sak_runs_hashed(&personer, bits),
                    &newborn,
                );
                assert_eq!(got, want, "round {round}, {bits} bits");
            }
        }
    }

    #[test]
    fn short_sak_is_equal_exactly_when_the_texts_are() {
        let ids = [
            "",
            "A",
            "A\u{0}",
            "AB",
            "123456789012345",
            "1234567890123456",
            "æ",
        ];
        for x in ids {
            for y in ids {
                let (a, b) = (short_sak(x), short_sak(y));
                if a != LONG_SAK && b != LONG_SAK {
                    assert_eq!(a == b, x == y, "{x:?} {y:?}");
                }
            }
            assert_eq!(short_sak(x) == LONG_SAK, x.len() > 15, "{x:?}");
        }
    }
}
