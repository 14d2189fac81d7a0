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

impl LedgerLine {
    /// The payment the line records: one per (key, termin) (T-2). Sorting by it is the new ledger's
    /// order (T-4), the order `utbetalt.csv` is written in.
    pub fn payment(&self) -> (LineKey, Termin) {
        (self.key, self.termin)
    }
}

/// The ledger read in (`--paid`), streamed to the engine in T-4 order in batches while the termin runs
/// (issue 6: a chained run's memory must not grow with the ledger, which grows every termin). The lines
/// come from one file read once, during the run (`input::ledger::stream`), which checks each row and drops
/// the repeats of a payment (as [`dedupe_ledger`] drops them). When the reader finds the run cannot use
/// what it reads — a line out of T-4 order, a rejected row, two amounts for one payment, a file not UTF-8,
/// an error — it sends [`LedgerBatch::Stop`]: the feed refuses to go on, which stops the run early.
///
/// [`dedupe_ledger`]: crate::domain::engine::dedupe_ledger
pub struct LedgerFeed {
    rx: Receiver<LedgerBatch>,
    batch: std::iter::Peekable<std::vec::IntoIter<LedgerLine>>,
    last: Option<(LineKey, Termin)>,
    /// Lines taken and the sum of their amounts, in the order read.
    pub lines: u64,
    pub sum: Decimal,
}

/// What the ledger's reader sends the feed: lines in T-4 order, or that the run must stop (the reader's
/// own result says why). The channel closing is the end of the ledger.
pub enum LedgerBatch {
    Lines(Vec<LedgerLine>),
    Stop,
}

/// Why the feed cannot go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    /// A line not after the one before (the reader sends none: it stops instead).
    #[error("the ledger (--paid) is not in the order termin writes utbetalt.csv in: {origin} is not after the line before it")]
    OutOfOrder { origin: String },
    /// The reader stopped the run; its result says why.
    #[error("the ledger (--paid) could not be read to its end")]
    Stopped,
}

impl LedgerFeed {
    pub fn new(rx: Receiver<LedgerBatch>) -> LedgerFeed {
        LedgerFeed {
            rx,
            batch: Vec::new().into_iter().peekable(),
            last: None,
            lines: 0,
            sum: Decimal::ZERO,
        }
    }

    /// The next line, without taking it.
    fn peek(&mut self) -> Result<Option<&LedgerLine>, FeedError> {
        while self.batch.peek().is_none() {
            // A closed channel is the end (a reader that fails sends `Stop` first).
            match self.rx.recv() {
                Err(_) => return Ok(None),
                Ok(LedgerBatch::Stop) => return Err(FeedError::Stopped),
                Ok(LedgerBatch::Lines(next)) => self.batch = next.into_iter().peekable(),
            }
        }
        Ok(self.batch.peek())
    }

    /// Takes the lines while `more(line)` holds and fewer than `max` are taken; each must be a later
    /// payment than the one before (a repeat never reaches the feed). `nums`, when given, gets each line's
    /// person number (read while the line is at hand).
    fn take_while(
        &mut self,
        max: usize,
        more: impl Fn(&LedgerLine) -> bool,
        mut nums: Option<&mut Vec<u64>>,
    ) -> Result<Vec<LedgerLine>, FeedError> {
        let mut out = Vec::new();
        while out.len() < max {
            match self.peek()? {
                Some(l) if more(l) => {}
                _ => break,
            }
            let Some(l) = self.batch.next() else { break };
            let p = l.payment();
            if self.last.is_some_and(|last| p <= last) {
                return Err(FeedError::OutOfOrder {
                    origin: l.origin.to_string(),
                });
            }
            self.last = Some(p);
            self.lines += 1;
            self.sum += l.belop;
            if let Some(nums) = nums.as_deref_mut() {
                nums.push(l.key.fnr.number());
            }
            out.push(l);
        }
        Ok(out)
    }

    /// The lines of the persons up to and including number `fnr`, in T-4 order, and their person
    /// numbers ([`Fnr::number`]).
    pub fn take_through(&mut self, fnr: &Fnr) -> Result<(Vec<LedgerLine>, Vec<u64>), FeedError> {
        let mut nums = Vec::new();
        let lines = self.take_while(usize::MAX, |l| l.key.fnr <= *fnr, Some(&mut nums))?;
        Ok((lines, nums))
    }

    /// The next `max` lines at most (the ledger's end: none).
    pub fn take(&mut self, max: usize) -> Result<Vec<LedgerLine>, FeedError> {
        self.take_while(max, |_| true, None)
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
            tx.send(LedgerBatch::Lines(b)).unwrap();
        }
        LedgerFeed::new(rx)
    }

    #[test]
    fn the_feed_hands_out_lines_by_person_across_batches() {
        let l = |p, ar, b, n| line(p, ar, b, n);
        let mut f = feed(vec![
            vec![l(10, 2024, 100, 2), l(20, 2023, 5, 4)],
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
            origins(f.take_through(&l(9, 2024, 0, 0).key.fnr).unwrap().0),
            Vec::<u64>::new()
        );
        assert_eq!(
            origins(f.take_through(&l(10, 2024, 0, 0).key.fnr).unwrap().0),
            [2]
        );
        // Person 20's lines span two batches.
        let (lines, nums) = f.take_through(&l(25, 2024, 0, 0).key.fnr).unwrap();
        assert_eq!(
            nums,
            lines.iter().map(|l| l.key.fnr.number()).collect::<Vec<_>>()
        );
        assert_eq!(origins(lines), [4, 5]);
        assert_eq!(origins(f.take(1).unwrap()), [6]);
        assert_eq!(origins(f.take(5).unwrap()), [7]);
        assert!(f.take(5).unwrap().is_empty());
        assert_eq!((f.lines, f.sum), (5, Decimal::new(100 + 5 - 7 + 1 + 2, 2)));
    }

    #[test]
    fn a_line_not_after_the_one_before_is_refused() {
        let origin = |e: FeedError| match e {
            FeedError::OutOfOrder { origin } => origin,
            e => panic!("{e}"),
        };
        let mut f = feed(vec![vec![line(20, 2024, 1, 2), line(10, 2024, 1, 3)]]);
        let e = f.take(10).unwrap_err();
        assert!(e.to_string().contains("not in the order"), "{e}");
        assert_eq!(origin(e), "paid.csv:3");
        // The same payment with an earlier termin is out of order too.
        let mut later = line(10, 2024, 1, 2);
        later.termin = Termin::new(2025, 1).unwrap();
        let mut f = feed(vec![vec![later, line(10, 2024, 1, 3)]]);
        assert!(f.take(10).is_err());
        // And a repeat of the same payment (the reader drops repeats before they reach the feed).
        let mut f = feed(vec![vec![line(10, 2024, 1, 2)], vec![line(10, 2024, 1, 3)]]);
        assert_eq!(origin(f.take(10).unwrap_err()), "paid.csv:3");
    }

    #[test]
    fn the_reader_stopping_stops_the_feed_and_a_closed_channel_is_the_end() {
        let (tx, rx) = std::sync::mpsc::sync_channel(3);
        tx.send(LedgerBatch::Lines(vec![line(10, 2024, 1, 2)]))
            .unwrap();
        tx.send(LedgerBatch::Stop).unwrap();
        let mut f = LedgerFeed::new(rx);
        assert_eq!(f.take(1).unwrap().len(), 1);
        assert_eq!(f.take(1).unwrap_err(), FeedError::Stopped);
        let (tx, rx) = std::sync::mpsc::sync_channel(3);
        tx.send(LedgerBatch::Lines(vec![line(10, 2024, 1, 2)]))
            .unwrap();
        drop(tx);
        let mut f = LedgerFeed::new(rx);
        assert_eq!(f.take(5).unwrap().len(), 1);
        assert!(f.take(5).unwrap().is_empty());
    }
}
