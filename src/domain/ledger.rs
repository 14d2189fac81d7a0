//! The payment ledger (SPEC T-2/T-4, `utbetalt.csv`): what has been paid, per
//! (person, municipality, code, calendar year).

use crate::domain::ids::{Fnr, Knr};
use crate::domain::rates::RateCode;
use crate::domain::termin::Termin;
use rust_decimal::Decimal;
use std::fmt;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

/// The key every accrual and payment is netted on (T-2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct LineKey {
    pub fnr: Fnr,
    pub kommune: Knr,
    pub kode: RateCode,
    pub ar: i32,
}

/// One ledger line: `termin, kommunenummer, fnr, kode, ar, belop`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerLine {
    pub termin: Termin,
    pub key: LineKey,
    pub belop: Decimal,
    /// Source table and line (`ledger/utbetalt.csv:17`); empty for lines written by this run.
    pub origin: Origin,
}

/// A running digest of ledger lines — payment, amount (with its scale) and line number — to check that a
/// ledger read twice gave the engine the very lines its first reading checked, whatever the file's bytes
/// did in between. A multiply-rotate mix of whole words: cheap per line, and not meant to resist anyone
/// crafting a collision (the checksum of the file is checked too).
#[derive(Clone, Default)]
pub struct LinesDigest(u64);

impl LinesDigest {
    fn mix(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    pub fn add(&mut self, l: &LedgerLine) {
        let b = l.belop.serialize();
        let (lo, hi) = b.split_at(8);
        for w in [
            l.key.fnr.number(),
            u64::from(l.key.kommune.code()),
            l.key.kode as u64,
            l.key.ar as u64,
            (l.termin.year as u64) << 8 | u64::from(l.termin.quarter),
            u64::from_le_bytes(lo.try_into().unwrap_or_default()),
            u64::from_le_bytes(hi.try_into().unwrap_or_default()),
            l.origin.line().unwrap_or(u64::MAX),
        ] {
            self.mix(w);
        }
    }

    pub fn value(&self) -> u64 {
        self.0
    }
}

impl LedgerLine {
    /// The payment the line records: one per (key, termin) (T-2). Sorting by it is the new ledger's
    /// order (T-4), the order `utbetalt.csv` is written in.
    pub fn payment(&self) -> (LineKey, Termin) {
        (self.key, self.termin)
    }
}

/// The ledger read in (`--paid`), streamed to the engine in T-4 order in batches while the termin runs
/// (issue 6: a chained run's memory must not grow with the ledger, which grows every termin). The lines
/// come from one file found in T-4 order by a first pass over it (`input::ledger::scan`), which also
/// reported its repeats; here a repeat of the payment just taken is dropped, as [`dedupe_ledger`] drops
/// it, and a line out of order means the file changed since that pass.
///
/// [`dedupe_ledger`]: crate::domain::engine::dedupe_ledger
pub struct LedgerFeed {
    rx: Receiver<Vec<LedgerLine>>,
    batch: std::iter::Peekable<std::vec::IntoIter<LedgerLine>>,
    last: Option<(LineKey, Termin)>,
    /// Lines taken (repeats not counted) and the sum of their amounts, in the order read.
    pub lines: u64,
    pub sum: Decimal,
    /// The lines taken.
    pub digest: LinesDigest,
}

/// The streamed ledger was not in T-4 order after all: the file changed after its first pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the ledger (--paid) changed while the termin was computed (a line of {origin} is out of the order it had when first read); nothing written, run again")]
pub struct LedgerChanged {
    pub origin: String,
}

impl LedgerFeed {
    pub fn new(rx: Receiver<Vec<LedgerLine>>) -> LedgerFeed {
        LedgerFeed {
            rx,
            batch: Vec::new().into_iter().peekable(),
            last: None,
            lines: 0,
            sum: Decimal::ZERO,
            digest: LinesDigest::default(),
        }
    }

    /// The next line (repeats included), without taking it.
    fn peek(&mut self) -> Option<&LedgerLine> {
        while self.batch.peek().is_none() {
            // A closed channel is the end (the sender's own error is the reader thread's to report).
            let next = self.rx.recv().ok()?;
            self.batch = next.into_iter().peekable();
        }
        self.batch.peek()
    }

    /// Takes the lines while `more(line)` holds and fewer than `max` are taken, dropping repeats.
    fn take_while(
        &mut self,
        max: usize,
        more: impl Fn(&LedgerLine) -> bool,
    ) -> Result<Vec<LedgerLine>, LedgerChanged> {
        let mut out = Vec::new();
        while out.len() < max {
            match self.peek() {
                Some(l) if more(l) => {}
                _ => break,
            }
            let Some(l) = self.batch.next() else { break };
            let p = l.payment();
            match self.last.map(|last| p.cmp(&last)) {
                Some(std::cmp::Ordering::Less) => {
                    return Err(LedgerChanged {
                        origin: l.origin.to_string(),
                    })
                }
                Some(std::cmp::Ordering::Equal) => continue,
                _ => {}
            }
            self.last = Some(p);
            self.lines += 1;
            self.sum += l.belop;
            self.digest.add(&l);
            out.push(l);
        }
        Ok(out)
    }

    /// The lines of the persons up to and including number `fnr`, in T-4 order.
    pub fn take_through(&mut self, fnr: &Fnr) -> Result<Vec<LedgerLine>, LedgerChanged> {
        self.take_while(usize::MAX, |l| l.key.fnr <= *fnr)
    }

    /// The next `max` lines at most (the ledger's end: none).
    pub fn take(&mut self, max: usize) -> Result<Vec<LedgerLine>, LedgerChanged> {
        self.take_while(max, |_| true)
    }
}

/// Where a ledger line was read: the table's name (shared by all its lines) and the line number. Printed
/// as `file:line`, or as nothing for a line written by this run. Holds no text of its own, so that a
/// ledger of many millions of lines costs no allocation per line (issue 6: memory grows with the persons).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin(Option<(Arc<str>, u64)>);

impl Origin {
    pub fn new(file: Arc<str>, line: u64) -> Origin {
        Origin(Some((file, line)))
    }

    /// No origin: a line written by this run.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The table's name (empty for a line written by this run).
    pub fn file(&self) -> &str {
        self.0.as_ref().map_or("", |(f, _)| f)
    }

    pub fn line(&self) -> Option<u64> {
        self.0.as_ref().map(|(_, l)| *l)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some((file, line)) => write!(f, "{file}:{line}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_prints_file_colon_line_or_nothing() {
        let file: Arc<str> = "ledger/utbetalt.csv".into();
        for line in [0u64, 1, 17, u64::MAX] {
            let o = Origin::new(file.clone(), line);
            assert_eq!(o.to_string(), format!("ledger/utbetalt.csv:{line}"));
            assert_eq!((o.file(), o.line()), ("ledger/utbetalt.csv", Some(line)));
            assert!(!o.is_empty());
        }
        let none = Origin::default();
        assert_eq!(none.to_string(), "");
        assert_eq!((none.file(), none.line()), ("", None));
        assert!(none.is_empty());
    }

    fn line(person: u32, ar: i32, belop: i64, n: u64) -> LedgerLine {
        let fnr = (0..1000)
            .find_map(|i| Fnr::with_control_digits(&format!("1581{person:02}{i:03}")))
            .unwrap();
        LedgerLine {
            termin: Termin::new(2024, 4).unwrap(),
            key: LineKey {
                fnr,
                kommune: Knr::parse("0301").unwrap(),
                kode: RateCode::ALL[0],
                ar,
            },
            belop: Decimal::new(belop, 2),
            origin: Origin::new("paid.csv".into(), n),
        }
    }

    fn feed(batches: Vec<Vec<LedgerLine>>) -> LedgerFeed {
        let (tx, rx) = std::sync::mpsc::sync_channel(batches.len() + 1);
        for b in batches {
            tx.send(b).unwrap();
        }
        LedgerFeed::new(rx)
    }

    #[test]
    fn the_feed_hands_out_lines_by_person_across_batches_dropping_repeats() {
        let l = |p, ar, b, n| line(p, ar, b, n);
        let mut f = feed(vec![
            vec![l(10, 2024, 100, 2), l(10, 2024, 100, 3), l(20, 2023, 5, 4)],
            vec![],
            vec![l(20, 2024, -7, 5), l(30, 2024, 1, 6), l(40, 2024, 2, 7)],
        ]);
        let origins = |v: Vec<LedgerLine>| {
            v.iter()
                .map(|l| l.origin.line().unwrap())
                .collect::<Vec<_>>()
        };
        // Nobody before person 10.
        assert_eq!(
            origins(f.take_through(&l(9, 2024, 0, 0).key.fnr).unwrap()),
            Vec::<u64>::new()
        );
        // Person 10's repeat (line 3) is dropped; person 20's lines span two batches.
        assert_eq!(
            origins(f.take_through(&l(10, 2024, 0, 0).key.fnr).unwrap()),
            [2]
        );
        assert_eq!(
            origins(f.take_through(&l(25, 2024, 0, 0).key.fnr).unwrap()),
            [4, 5]
        );
        assert_eq!(origins(f.take(1).unwrap()), [6]);
        assert_eq!(origins(f.take(5).unwrap()), [7]);
        assert!(f.take(5).unwrap().is_empty());
        assert_eq!((f.lines, f.sum), (5, Decimal::new(100 + 5 - 7 + 1 + 2, 2)));
    }

    #[test]
    fn a_line_out_of_order_means_the_file_changed() {
        let mut f = feed(vec![vec![line(20, 2024, 1, 2), line(10, 2024, 1, 3)]]);
        let e = f.take(10).unwrap_err();
        assert_eq!(e.origin, "paid.csv:3");
        assert!(e
            .to_string()
            .contains("changed while the termin was computed"));
        // The same payment with an earlier termin is out of order too.
        let mut later = line(10, 2024, 1, 2);
        later.termin = Termin::new(2025, 1).unwrap();
        let mut f = feed(vec![vec![later, line(10, 2024, 1, 3)]]);
        assert!(f.take(10).is_err());
    }
}
