//! Reading a large CSV table in parallel (issue 6), with exactly the results of the sequential reader.
//!
//! One thread reads the file once, in blocks of a few MB at most: it hashes every byte (SHA-256 for the
//! manifest), checks UTF-8 validity and NUL bytes, and cuts the data after the header into batches that
//! start and end on record boundaries. The batches are checked row by row on the rayon pool, a window of
//! them at a time, and their results are handed to the caller's sink in file order — so rows, problems
//! and line numbers come out exactly as from the one-thread reader ([`crate::input::table`]). Memory is
//! bounded by the window, never by the file.
//!
//! Two kinds of batch:
//! - **lines** (the fast path): a stretch without any `"` byte and without a lone `\r`. Then every line
//!   is one record (a blank line none), a record's fields are split on the delimiter, and its line number
//!   is the batch's first line plus its index — exactly what the csv crate and our line count give.
//! - **records** (the general path): anything else (quoted fields, embedded line breaks, old-Mac `\r`
//!   line ends) is tokenized on the reading thread by `csv_core`, the tokenizer of the csv crate, whose
//!   state carries over from batch to batch (a quoted field may span batches); line numbers are counted as
//!   [`crate::input::table`] counts them (`\n`, `\r\n` and a lone `\r` each end a line).
//!
//! The file is read optimistically as UTF-8; if it turns out not to be (a Windows-1252 file), the caller
//! redoes it from the start with the transcoding reader. A NUL byte anywhere makes the file not a table.

use crate::input::table::{huge, Row, MAX_RECORD_BYTES};
use crate::input::InputError;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::Read;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};

/// Line ends counted as the csv crate ends records: `\n`, `\r\n` and a lone `\r` each end one line.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LineCount {
    /// Line ends seen so far.
    pub ends: u64,
    /// Whether the last byte fed was `\r` (a following `\n` then ends the same line).
    pub prev_cr: bool,
}

impl LineCount {
    pub fn feed(&mut self, s: &[u8]) {
        let Some(&last) = s.last() else {
            return;
        };
        let lf = count_byte(s, b'\n');
        let cr = count_byte(s, b'\r');
        let mut crlf = if cr == 0 { 0 } else { count_crlf(s) };
        if self.prev_cr && s[0] == b'\n' {
            crlf += 1;
        }
        self.ends += (lf + cr - crlf) as u64;
        self.prev_cr = last == b'\r';
    }
}

fn count_byte(s: &[u8], b: u8) -> usize {
    s.iter().filter(|&&c| c == b).count()
}

/// Line feeds, carriage returns, and whether there is a quote — in one pass that vectorizes.
fn scan_bytes(s: &[u8]) -> (usize, usize, bool) {
    let (mut lf, mut cr, mut quote) = (0usize, 0usize, 0u8);
    for c in s.chunks(255) {
        let (mut l, mut r, mut q) = (0u8, 0u8, 0u8);
        for &x in c {
            l += u8::from(x == b'\n');
            r += u8::from(x == b'\r');
            q |= u8::from(x == b'"');
        }
        lf += usize::from(l);
        cr += usize::from(r);
        quote |= q;
    }
    (lf, cr, quote != 0)
}

fn count_crlf(s: &[u8]) -> usize {
    if s.len() < 2 {
        return 0;
    }
    s[..s.len() - 1]
        .iter()
        .zip(&s[1..])
        .filter(|(a, b)| **a == b'\r' && **b == b'\n')
        .count()
}

/// A stretch of rows for the workers.
pub(crate) enum Batch {
    /// Quote-free text whose every `\r` is followed by `\n`; starts at a record boundary and ends after a
    /// `\n` (or at the end of the file). `first_line` is the line number of its first line.
    Lines { text: Vec<u8>, first_line: u64 },
    /// Records tokenized by `csv_core`, each with the line of its first byte.
    Records(Vec<(u64, csv::ByteRecord)>),
}

/// What the reading thread learned about the whole file.
pub(crate) struct Scanned {
    pub sha256: String,
    pub utf8: bool,
    pub nul: bool,
}

/// Settings of one parallel read.
pub(crate) struct Plan<'a> {
    pub name: &'a str,
    pub delimiter: u8,
    /// Fields in the header (rows with another count get `shape`).
    pub width: usize,
    /// Bytes per read and per batch.
    pub chunk: usize,
    /// Batches in flight (read ahead plus being checked).
    pub window: usize,
}

/// Where the reading thread starts: the file, the bytes already read from its start (`head`, of which
/// `data_start..` is data after the header), and the tokenizer and line count as left by the header.
pub(crate) struct Start {
    pub file: File,
    pub head: Vec<u8>,
    pub data_start: usize,
    pub core: csv_core::Reader,
    pub lines: LineCount,
    /// Whether hash, UTF-8 and NUL still have to be computed (false when a full scan already did).
    pub check: bool,
}

/// The outcome of a parallel read. `Err` is a fatal error of the rows (a record too long, an I/O error).
pub(crate) struct Outcome<A> {
    pub scanned: Scanned,
    pub result: Result<(u64, A), InputError>,
}

struct BatchOut<T> {
    items: Vec<T>,
    rows: u64,
    error: Option<InputError>,
}

/// Reads the data rows of a table in parallel; see the module comment. `sink` gets every row's result
/// in file order.
pub(crate) fn read_parallel<T: Send, A: Send>(
    plan: &Plan,
    start: Start,
    mut acc: A,
    map: &(dyn Fn(&Row) -> T + Sync),
    sink: &mut (dyn FnMut(&mut A, T) + Send),
) -> Outcome<A> {
    let (tx, rx) = sync_channel::<Batch>(plan.window);
    std::thread::scope(|s| {
        let reader = s.spawn(|| read_batches(plan, start, tx));
        let res = consume(plan, rx, &mut acc, map, sink);
        let scanned = reader.join();
        match scanned {
            Ok(Ok(scanned)) => Outcome {
                scanned,
                result: res.map(|n| (n, acc)),
            },
            Ok(Err(e)) => Outcome {
                scanned: Scanned {
                    sha256: String::new(),
                    utf8: true,
                    nul: false,
                },
                result: Err(e),
            },
            Err(_) => Outcome {
                scanned: Scanned {
                    sha256: String::new(),
                    utf8: true,
                    nul: false,
                },
                result: Err(InputError::Format {
                    file: plan.name.to_string(),
                    message: "the reading thread failed".into(),
                }),
            },
        }
    })
}

/// Receives batches, checks a window of them on the pool, and sinks the results in order — the sink of
/// one window runs while the next window is checked. After the first fatal error the receiver is
/// dropped (the reading thread still scans to the end, see [`Scanned`]).
fn consume<T: Send, A: Send>(
    plan: &Plan,
    rx: Receiver<Batch>,
    acc: &mut A,
    map: &(dyn Fn(&Row) -> T + Sync),
    sink: &mut (dyn FnMut(&mut A, T) + Send),
) -> Result<u64, InputError> {
    let mut rows = 0u64;
    let mut pending: Vec<BatchOut<T>> = Vec::new();
    loop {
        let mut window = Vec::new();
        if let Ok(first) = rx.recv() {
            window.push(first);
            while window.len() < plan.window {
                match rx.try_recv() {
                    Ok(b) => window.push(b),
                    Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => break,
                }
            }
        }
        let done = window.is_empty();
        let previous = std::mem::take(&mut pending);
        let (sunk, outs) = rayon::join(
            || sink_all(previous, acc, sink),
            || {
                window
                    .into_par_iter()
                    .map(|b| check_batch(plan, b, map))
                    .collect::<Vec<BatchOut<T>>>()
            },
        );
        rows += sunk?;
        if done {
            return Ok(rows);
        }
        pending = outs;
    }
}

/// Hands the results of checked batches to the sink, in order; stops at a batch's fatal error.
fn sink_all<T, A>(
    outs: Vec<BatchOut<T>>,
    acc: &mut A,
    sink: &mut (dyn FnMut(&mut A, T) + Send),
) -> Result<u64, InputError> {
    let mut rows = 0;
    for o in outs {
        rows += o.rows;
        for t in o.items {
            sink(acc, t);
        }
        if let Some(e) = o.error {
            return Err(e);
        }
    }
    Ok(rows)
}

/// The state of splitting a quote-free text into records and fields.
struct LineSplit<'t> {
    text: &'t str,
    /// The fields of the current line so far.
    fields: Vec<&'t str>,
    /// The current line's number, and where it and its current field start.
    at: u64,
    start: usize,
    fstart: usize,
}

impl<'t> LineSplit<'t> {
    /// A delimiter at `i` ends a field.
    #[inline(always)]
    fn field(&mut self, i: usize) {
        // The delimiter is ASCII, so both ends are character boundaries.
        self.fields
            .push(self.text.get(self.fstart..i).unwrap_or_default());
        self.fstart = i + 1;
    }

    /// A `\n` at `i` (or the end of the text) ends a line (a `\r` before it is dropped): its record, if
    /// any, is checked by `map` into `out`. False on a fatal error (a record too long).
    #[inline(never)]
    fn line_end<T>(
        &mut self,
        i: usize,
        plan: &Plan,
        map: &(dyn Fn(&Row) -> T + Sync),
        out: &mut BatchOut<T>,
    ) -> bool {
        let bytes = self.text.as_bytes();
        let start = self.start;
        let end = if i > start && bytes[i - 1] == b'\r' {
            i - 1
        } else {
            i
        };
        if end > start {
            self.fields
                .push(self.text.get(self.fstart..end).unwrap_or_default());
            // The bytes of the record's fields, as `ByteRecord::as_slice` counts them.
            let len = end - start + 1 - self.fields.len();
            if len > MAX_RECORD_BYTES {
                out.error = Some(huge(plan.name, self.at, len));
                return false;
            }
            // A line of white space inside the data is not a row.
            let blank =
                self.fields.len() == 1 && bytes[start..end].iter().all(u8::is_ascii_whitespace);
            if !blank {
                out.rows += 1;
                let shape =
                    (self.fields.len() != plan.width).then_some((self.fields.len(), plan.width));
                out.items
                    .push(map(&Row::from_fields(self.at, shape, &self.fields)));
            }
        }
        // (An empty line is no record: csv_core skips line ends.)
        self.fields.clear();
        self.at += 1;
        self.start = i + 1;
        self.fstart = i + 1;
        true
    }
}

/// The rows of one batch, checked by `map` (on a pool thread).
fn check_batch<T>(plan: &Plan, batch: Batch, map: &(dyn Fn(&Row) -> T + Sync)) -> BatchOut<T> {
    let mut out = BatchOut {
        items: Vec::new(),
        rows: 0,
        error: None,
    };
    match batch {
        Batch::Lines { text, first_line } => {
            // Not UTF-8: the whole file is redone as Windows-1252 (the reading thread saw it too).
            let Ok(text) = std::str::from_utf8(&text) else {
                return out;
            };
            out.items.reserve(text.len() / 64);
            let bytes = text.as_bytes();
            let delimiter = plan.delimiter;
            let mut lines = LineSplit {
                text,
                fields: Vec::with_capacity(plan.width + 1),
                at: first_line,
                start: 0,
                fstart: 0,
            };
            // One pass: fields end at the delimiter (inline: a dozen per line), records at `\n`.
            for_each_stop(bytes, delimiter, |i| {
                if bytes.get(i) == Some(&delimiter) {
                    lines.field(i);
                    true
                } else {
                    lines.line_end(i, plan, map, &mut out)
                }
            });
        }
        Batch::Records(recs) => {
            for (at, rec) in &recs {
                if rec.as_slice().len() > MAX_RECORD_BYTES {
                    out.error = Some(huge(plan.name, *at, rec.as_slice().len()));
                    return out;
                }
                if rec.len() == 1 && rec[0].iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                out.rows += 1;
                let shape = (rec.len() != plan.width).then_some((rec.len(), plan.width));
                out.items.push(map(&Row::from_record(*at, shape, rec)));
            }
        }
    }
    out
}

/// Calls `f` with the position of every `delimiter` and `\n` byte of `bytes`, in order, and then with
/// `bytes.len()` (the end of the text ends its last line); stops early when `f` returns false (and
/// returns false). Eight bytes at a time: a word's bytes equal to either are found with exact bit tricks
/// (no false positives: no carry crosses a byte). Inlined into the caller, so a batch's stops are never
/// stored (a vector of them was a quarter of the batch's size in fresh memory, per batch).
#[inline(always)]
fn for_each_stop(bytes: &[u8], delimiter: u8, mut f: impl FnMut(usize) -> bool) -> bool {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // High bit of each byte that is zero.
    let zero = |x: u64| !(((x & LOW7) + LOW7) | x | LOW7);
    let d = u64::from_ne_bytes([delimiter; 8]);
    let n = u64::from_ne_bytes([b'\n'; 8]);
    let mut words = bytes.chunks_exact(8);
    let mut base = 0;
    for w in &mut words {
        let w = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        let mut m = zero(w ^ d) | zero(w ^ n);
        while m != 0 {
            if !f(base + (m.trailing_zeros() / 8) as usize) {
                return false;
            }
            m &= m - 1;
        }
        base += 8;
    }
    for (i, &c) in words.remainder().iter().enumerate() {
        if (c == delimiter || c == b'\n') && !f(base + i) {
            return false;
        }
    }
    f(bytes.len())
}

/// Streaming UTF-8 check: a sequence may straddle two blocks.
struct Utf8Check {
    carry: Vec<u8>,
    valid: bool,
}

impl Utf8Check {
    fn feed(&mut self, b: &[u8]) {
        if !self.valid {
            return;
        }
        let mut b = b;
        if !self.carry.is_empty() {
            // Complete the straddling sequence (at most 3 bytes were carried).
            let take = b.len().min(4 - self.carry.len());
            self.carry.extend_from_slice(&b[..take]);
            match std::str::from_utf8(&self.carry) {
                Ok(_) => {
                    b = &b[take..];
                    self.carry.clear();
                }
                Err(e) if e.valid_up_to() > 0 => {
                    // The carried sequence is complete at valid_up_to; the rest belongs to `b`.
                    let used = e.valid_up_to() - (self.carry.len() - take);
                    b = &b[used..];
                    self.carry.clear();
                }
                Err(e) if e.error_len().is_none() => {
                    // Still incomplete (a tiny block): keep carrying.
                    return;
                }
                Err(_) => {
                    self.valid = false;
                    return;
                }
            }
        }
        match std::str::from_utf8(b) {
            Ok(_) => {}
            Err(e) if e.error_len().is_none() => {
                self.carry.extend_from_slice(&b[e.valid_up_to()..]);
            }
            Err(_) => self.valid = false,
        }
    }

    fn finish(&self) -> bool {
        self.valid && self.carry.is_empty()
    }
}

/// The general tokenizer: `csv_core`'s state plus the record being assembled.
struct General {
    core: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    outlen: usize,
    endlen: usize,
    in_record: bool,
    rec_line: u64,
}

impl General {
    /// Tokenizes all of `b` (which follows the bytes fed before), adding complete records to `recs`;
    /// at the end of the file (`eof`) a record without a line end is complete too.
    fn feed(
        &mut self,
        b: &[u8],
        eof: bool,
        lines: &mut LineCount,
        recs: &mut Vec<(u64, csv::ByteRecord)>,
    ) {
        use csv_core::ReadRecordResult as R;
        let mut i = 0;
        loop {
            if !self.in_record {
                // Line ends before a record are skipped (as csv_core does) and counted.
                let skip = b[i..]
                    .iter()
                    .take_while(|&&c| c == b'\r' || c == b'\n')
                    .count();
                lines.feed(&b[i..i + skip]);
                i += skip;
                if i == b.len() {
                    if eof {
                        // Lets csv_core see the end (it returns End with no record pending).
                        let _ = self.core.read_record(&[], &mut self.out, &mut self.ends);
                    }
                    return;
                }
                self.in_record = true;
                self.rec_line = lines.ends + 1;
                self.outlen = 0;
                self.endlen = 0;
            }
            let (res, nin, nout, nend) = self.core.read_record(
                &b[i..],
                &mut self.out[self.outlen..],
                &mut self.ends[self.endlen..],
            );
            lines.feed(&b[i..i + nin]);
            i += nin;
            self.outlen += nout;
            self.endlen += nend;
            match res {
                R::InputEmpty => {
                    if i < b.len() {
                        continue;
                    }
                    if !eof {
                        return;
                    }
                    // End of file inside a record: an empty input completes it.
                    let (res, _, nout, nend) = self.core.read_record(
                        &[],
                        &mut self.out[self.outlen..],
                        &mut self.ends[self.endlen..],
                    );
                    self.outlen += nout;
                    self.endlen += nend;
                    match res {
                        R::OutputFull => self.grow_out(),
                        R::OutputEndsFull => self.grow_ends(),
                        R::Record => {
                            self.emit(recs);
                            return;
                        }
                        R::InputEmpty | R::End => return,
                    }
                }
                R::OutputFull => self.grow_out(),
                R::OutputEndsFull => self.grow_ends(),
                R::Record => self.emit(recs),
                R::End => return,
            }
        }
    }

    fn grow_out(&mut self) {
        let n = self.out.len().max(64) * 2;
        self.out.resize(n, 0);
    }

    fn grow_ends(&mut self) {
        let n = self.ends.len().max(8) * 2;
        self.ends.resize(n, 0);
    }

    fn emit(&mut self, recs: &mut Vec<(u64, csv::ByteRecord)>) {
        let mut rec = csv::ByteRecord::with_capacity(self.outlen, self.endlen);
        let mut from = 0;
        for &end in &self.ends[..self.endlen] {
            rec.push_field(&self.out[from..end]);
            from = end;
        }
        recs.push((self.rec_line, rec));
        self.in_record = false;
    }
}

/// The reading thread: hash, checks and cutting into batches (see the module comment).
fn read_batches(plan: &Plan, start: Start, tx: SyncSender<Batch>) -> Result<Scanned, InputError> {
    let Start {
        mut file,
        head,
        data_start,
        core,
        mut lines,
        check,
    } = start;
    let mut hasher = Sha256::new();
    let mut utf8 = Utf8Check {
        carry: Vec::new(),
        valid: true,
    };
    let mut nul = false;
    if check {
        hasher.update(&head);
        utf8.feed(&head);
        nul = head.contains(&0);
    }
    let mut general = General {
        core,
        out: vec![0; 1024],
        ends: vec![0; 64],
        outlen: 0,
        endlen: 0,
        in_record: false,
        rec_line: 0,
    };
    // Batches are sent while the receiver listens and the file still looks like UTF-8.
    let mut sending = true;
    let mut buf: Vec<u8> = Vec::with_capacity(2 * plan.chunk);
    buf.extend_from_slice(&head[data_start..]);
    drop(head);
    let mut eof = false;
    let mut need_more = false;
    loop {
        // Top up to about one chunk of unprocessed bytes (more when a record is longer).
        if !eof && (need_more || buf.len() < plan.chunk) {
            if !sending {
                buf.clear(); // only hashed and checked
            }
            let before = buf.len();
            // At least as much as is held: a long record is read in O(n log n), not O(n²).
            let n = (&mut file)
                .take(plan.chunk.max(buf.len()) as u64)
                .read_to_end(&mut buf)
                .map_err(|e| InputError::Io {
                    path: plan.name.to_string(),
                    source: e,
                })?;
            need_more = false;
            if n == 0 {
                eof = true;
            } else {
                let got = &buf[before..];
                if check {
                    hasher.update(got);
                    utf8.feed(got);
                    nul |= got.contains(&0);
                }
                if sending && buf.len() < plan.chunk {
                    continue;
                }
            }
        }
        if sending && check && (!utf8.valid || nul) {
            sending = false;
        }
        if !sending {
            buf.clear();
            if eof {
                break;
            }
            continue;
        }
        if eof && buf.is_empty() && !general.in_record {
            break;
        }
        match cut(&mut buf, eof, &mut lines, &mut general) {
            Some(b) => {
                if tx.send(b).is_err() {
                    sending = false;
                }
            }
            None if eof => break,
            None => need_more = true,
        }
    }
    drop(tx);
    Ok(Scanned {
        sha256: if check {
            hex::encode(hasher.finalize())
        } else {
            String::new()
        },
        utf8: utf8.finish(),
        nul,
    })
}

/// Takes the next batch from the front of `buf`: the lines up to its last `\n` when they are
/// quote-free, else everything through the general tokenizer. `None`: more bytes are needed.
fn cut(
    buf: &mut Vec<u8>,
    eof: bool,
    lines: &mut LineCount,
    general: &mut General,
) -> Option<Batch> {
    if !general.in_record {
        // The `\n` of a `\r\n` split by the previous batch ends no further line.
        if lines.prev_cr && buf.first() == Some(&b'\n') {
            buf.remove(0);
            lines.prev_cr = false;
        }
        let end = match buf.iter().rposition(|&b| b == b'\n') {
            Some(i) => Some(i + 1),
            None if eof => Some(buf.len()),
            None => None,
        };
        if let Some(end) = end {
            let region = &buf[..end];
            let (lf, cr, quote) = scan_bytes(region);
            if !quote && (cr == 0 || count_crlf(region) == cr) {
                let first_line = lines.ends + 1;
                lines.ends += lf as u64;
                lines.prev_cr = false;
                let mut rest = Vec::with_capacity(buf.capacity().max(end));
                rest.extend_from_slice(&buf[end..]);
                buf.truncate(end);
                let text = std::mem::replace(buf, rest);
                if text.is_empty() {
                    return None;
                }
                return Some(Batch::Lines { text, first_line });
            }
        } else if !buf.contains(&b'"') && !buf.contains(&b'\r') {
            return None; // no line end yet: read on
        }
    }
    // The general tokenizer takes the bytes up to the last line feed (all of them at the end of the
    // file): a record may end there, and the fast path take over again.
    let end = if eof {
        buf.len()
    } else {
        buf.iter()
            .rposition(|&b| b == b'\n')
            .map_or(buf.len(), |i| i + 1)
    };
    let mut recs = Vec::new();
    general.feed(&buf[..end], eof, lines, &mut recs);
    buf.drain(..end);
    (!recs.is_empty()).then_some(Batch::Records(recs))
}

/// Reads until `buf` is full or the file ends.
pub(crate) fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_count_crlf_and_lone_cr() {
        let mut c = LineCount::default();
        c.feed(b"a\r\nb\rc\n\n");
        assert_eq!(c.ends, 4);
        // A `\r\n` split over two pieces is one line end.
        let mut c = LineCount::default();
        c.feed(b"a\r");
        c.feed(b"\nb\n");
        assert_eq!(c.ends, 2);
    }

    fn stops(t: &[u8], delimiter: u8) -> Vec<usize> {
        let mut got = Vec::new();
        for_each_stop(t, delimiter, |i| {
            got.push(i);
            true
        });
        got
    }

    #[test]
    fn stops_are_every_delimiter_and_line_feed() {
        let text = b"a;b\n;;x\xc3\xa5;\n\n123456789;abc\r\n;";
        for delim in [b';', b','] {
            for len in 0..=text.len() {
                let t = &text[..len];
                let got = stops(t, delim);
                let want: Vec<usize> = (0..len)
                    .filter(|&i| t[i] == delim || t[i] == b'\n')
                    .chain([len])
                    .collect();
                assert_eq!(got, want, "len {len}");
            }
        }
        // Bytes one above or below the wanted ones, and high bytes, are no stops.
        let got = stops(
            &[b':', b'<', 0x0b, 0x09, 0xbb, 0x8a, 0x0a, 0x3b, 0xff, 0x00],
            b';',
        );
        assert_eq!(got, vec![6, 7, 10]);
        // Several words, stops in every byte position.
        let long: Vec<u8> = (0..64u8)
            .map(|i| if i % 3 == 0 { b';' } else { b'a' + i % 7 })
            .collect();
        let got = stops(&long, b';');
        assert_eq!(got, (0..64).step_by(3).chain([64]).collect::<Vec<usize>>());
    }

    #[test]
    fn utf8_check_across_blocks() {
        let text = "bø;æ\nå".as_bytes();
        for split in 0..text.len() {
            let mut u = Utf8Check {
                carry: Vec::new(),
                valid: true,
            };
            u.feed(&text[..split]);
            u.feed(&text[split..]);
            assert!(u.finish(), "split at {split}");
        }
        let mut u = Utf8Check {
            carry: Vec::new(),
            valid: true,
        };
        u.feed(b"ab\xc3");
        assert!(!u.finish(), "a truncated sequence at the end is not UTF-8");
        let mut u = Utf8Check {
            carry: Vec::new(),
            valid: true,
        };
        u.feed(b"\xe6r\n");
        assert!(!u.finish());
    }
}
