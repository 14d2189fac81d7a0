//! Writers for the termin's CSV outputs (SPEC §6): `grunnlag.csv`, `kommuner.csv`, `utbetalt.csv` and
//! `avvik.csv`. They only render a [`TerminResult`]; every amount was computed by the engine.
//!
//! Files holding full person numbers (`grunnlag.csv`, `utbetalt.csv`) are written private (owner only);
//! `avvik.csv` masks them and is private too (birth dates, reasons such as death).

use crate::domain::avvik::Avvik;
use crate::domain::basis::{BasisLine, KommuneSum, TerminResult, TerminSummary};
use crate::domain::ledger::{LedgerLine, LineKey};
use crate::domain::money::fmt_money;
use crate::domain::rates::RateCode;
use crate::domain::termin::Termin;
use crate::output::{csv_writer, OutputDir};
use std::io::{self, Write};

pub const GRUNNLAG_FILE: &str = "grunnlag.csv";
pub const KOMMUNER_FILE: &str = "kommuner.csv";
pub const UTBETALT_FILE: &str = "utbetalt.csv";
pub const AVVIK_FILE: &str = "avvik.csv";

/// `grunnlag.csv` columns (SPEC §6).
pub const GRUNNLAG_HEADER: [&str; 13] = [
    "termin",
    "kommunenummer",
    "fnr",
    "duf",
    "kode",
    "tilskuddsar",
    "ar",
    "maneder",
    "sats",
    "opptjent",
    "tidligere_utbetalt",
    "a_utbetale",
    "regler",
];

/// `utbetalt.csv` columns (SPEC §6, T-4); the ledger reader reads the same.
pub const UTBETALT_HEADER: [&str; 6] = ["termin", "kommunenummer", "fnr", "kode", "ar", "belop"];

/// `avvik.csv` columns: SPEC §6's five, then `kolonne` and `niva`.
pub const AVVIK_HEADER: [&str; 7] = ["fil", "linje", "fnr", "kode", "melding", "kolonne", "niva"];

/// Appends a money amount exactly as [`fmt_money`] formats it (`1234.50`, never `-0.00`), without
/// allocating: the writers call it millions of times.
fn push_money(buf: &mut String, x: rust_decimal::Decimal) {
    let mut b = [0u8; 48];
    let n = money_bytes(&mut b, x);
    // money_bytes writes ASCII only ('-', digits, '.').
    buf.push_str(std::str::from_utf8(&b[..n]).unwrap_or_default());
}

/// Writes `x` rounded to øre (half away from zero, `round_ore`) with exactly two decimals, as
/// [`fmt_money`] does, into `out`; returns the length. Integer arithmetic on the mantissa instead of
/// `Decimal`'s `Display` (the hottest spot of the writers).
fn money_bytes(out: &mut [u8; 48], x: rust_decimal::Decimal) -> usize {
    // Amounts already in øre (nearly all) need no rounding.
    let r = if x.scale() <= 2 {
        x
    } else {
        crate::domain::money::round_ore(x)
    };
    let scale = r.scale();
    if scale > 2 {
        // Cannot happen after rounding to two decimals; the general path keeps it exact anyway.
        let s = fmt_money(x);
        let n = s.len().min(out.len());
        out[..n].copy_from_slice(&s.as_bytes()[..n]);
        return n;
    }
    // |mantissa| < 2^96, so × 100 fits in an i128.
    let ore = r.mantissa()
        * if scale == 2 {
            1
        } else if scale == 1 {
            10
        } else {
            100
        };
    let mut n = 0;
    if ore < 0 {
        // -0.00 never happens here: a zero mantissa is not negative.
        out[0] = b'-';
        n = 1;
    }
    let a = ore.unsigned_abs();
    let (whole, c) = match u64::try_from(a) {
        Ok(a) => (u128::from(a / 100), (a % 100) as u8),
        Err(_) => (a / 100, (a % 100) as u8),
    };
    n += uint_bytes(&mut out[n..], whole);
    out[n] = b'.';
    out[n + 1] = b'0' + c / 10;
    out[n + 2] = b'0' + c % 10;
    n + 3
}

/// Decimal digits of `v` into `out`; returns the length (`out` holds at least 40 bytes).
fn uint_bytes(out: &mut [u8], v: u128) -> usize {
    match u64::try_from(v) {
        // The common case, in 64-bit arithmetic (u128 division is a library call).
        Ok(v) => u64_bytes(out, v),
        Err(_) => u128_bytes(out, v),
    }
}

fn u64_bytes(out: &mut [u8], v: u64) -> usize {
    let mut b = itoa::Buffer::new();
    let s = b.format(v).as_bytes();
    out[..s.len()].copy_from_slice(s);
    s.len()
}

fn u128_bytes(out: &mut [u8], mut v: u128) -> usize {
    let mut tmp = [0u8; 40];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let len = tmp.len() - i;
    out[..len].copy_from_slice(&tmp[i..]);
    len
}

/// Appends `v` zero-padded to `width` digits.
fn push_padded(line: &mut Vec<u8>, v: u64, width: usize) {
    let mut b = [0u8; 40];
    let n = u64_bytes(&mut b, v);
    line.extend(std::iter::repeat_n(b'0', width.saturating_sub(n)));
    line.extend_from_slice(&b[..n]);
}

fn push_int(line: &mut Vec<u8>, v: i64) {
    if v < 0 {
        line.push(b'-');
    }
    push_padded(line, v.unsigned_abs(), 0);
}

fn push_money_bytes(line: &mut Vec<u8>, x: rust_decimal::Decimal) {
    let mut b = [0u8; 48];
    let n = money_bytes(&mut b, x);
    line.extend_from_slice(&b[..n]);
}

/// One `grunnlag.csv` record with its line end, appended to `line`: the bytes the CSV writer produces for
/// [`grunnlag_record`] (no field of a basis line ever needs quoting: digits, codes, rule ids, `-`, `.`,
/// `|` and spaces), without the per-field formatting machinery. The general form of [`LineFormat`]'s
/// fast path, used for the lines it does not take (an amount not in whole øre of an `i64`).
fn grunnlag_line(line: &mut Vec<u8>, termin: &str, l: &BasisLine) {
    line.extend_from_slice(termin.as_bytes());
    line.push(b',');
    push_padded(line, u64::from(l.key.kommune.code()), 4);
    line.push(b',');
    line.extend_from_slice(l.key.fnr.as_str().as_bytes());
    line.push(b',');
    if let Some(d) = l.duf {
        push_padded(line, d.value(), 12); // as `Duf`'s Display
    }
    line.push(b',');
    line.extend_from_slice(l.key.kode.as_str().as_bytes());
    line.push(b',');
    push_int(line, i64::from(l.tilskuddsar));
    line.push(b',');
    push_int(line, i64::from(l.key.ar));
    line.push(b',');
    if let Some(m) = l.maneder {
        push_int(line, i64::from(m));
    }
    line.push(b',');
    push_money_bytes(line, l.sats);
    line.push(b',');
    push_money_bytes(line, l.opptjent);
    line.push(b',');
    push_money_bytes(line, l.tidligere_utbetalt);
    line.push(b',');
    push_money_bytes(line, l.a_utbetale);
    line.push(b',');
    for (i, r) in l.regler.iter().enumerate() {
        if i > 0 {
            line.push(b'|');
        }
        line.extend_from_slice(r.as_bytes());
    }
    line.push(b'\n');
}

/// A short text held in a fixed-size array: copying the whole array is a couple of register moves, where
/// copying a slice of unknown length is a call to `memcpy` (issue 6: tens of millions of small pieces).
#[derive(Clone, Copy)]
struct Piece<const N: usize> {
    b: [u8; N],
    len: usize,
}

impl<const N: usize> Piece<N> {
    /// `None` when `s` is longer than `N` bytes.
    fn new(s: &[u8]) -> Option<Piece<N>> {
        let mut b = [0u8; N];
        b.get_mut(..s.len())?.copy_from_slice(s);
        Some(Piece { b, len: s.len() })
    }
}

/// Two-digit groups for [`LineBuf`]'s number writers.
const DIGIT_PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Room for one line: the longest basis line is far shorter (a termin of at most 16 bytes, at most 5 +
/// 11 + 20 digits of ids, a code of at most 32, three small numbers of at most 11, four amounts of at most
/// 21 bytes — an `i64` of øre — and at most 11 rule ids of at most 5 bytes, each copied as 8; with commas
/// about 330 bytes, the last copy ending at most 32 bytes beyond).
const LINE_ROOM: usize = 512;

/// Text under construction, written left to right at `n` straight into the block's buffer `b` (no copy
/// per line). Before each line [`LineBuf::room`] makes sure that `b` holds at least [`LINE_ROOM`] bytes
/// beyond `n`; what `b` holds beyond `n` is scratch, cut off by [`LineBuf::finish`].
struct LineBuf {
    b: Vec<u8>,
    n: usize,
}

impl LineBuf {
    #[cfg(test)]
    fn new() -> LineBuf {
        LineBuf::after(Vec::new())
    }

    /// Text continuing after the bytes `b` holds (the append form of the writers).
    fn after(mut b: Vec<u8>) -> LineBuf {
        let n = b.len();
        // One line's room, not [`LineBuf::room`]'s doubling: the append form is made once per line and
        // cut back by `finish`, so doubling here would zero the whole text written so far for every line
        // (quadratic). `resize` still grows the capacity geometrically.
        b.resize(n + LINE_ROOM, 0);
        LineBuf { b, n }
    }

    /// A block's text in a buffer, fresh or recycled ([`text_buffer`]): its whole capacity is scratch,
    /// and a recycled buffer is not zeroed again.
    fn recycled(mut b: Vec<u8>) -> LineBuf {
        // Only the bytes beyond the old text are zeroed (up to the capacity, each time the buffer is
        // reused): the old text itself is overwritten, never read.
        b.resize(b.capacity(), 0);
        let mut t = LineBuf { b, n: 0 };
        t.room();
        t
    }

    /// Makes room for one more line.
    #[inline]
    fn room(&mut self) {
        if self.b.len() < self.n + LINE_ROOM {
            let want = (self.b.len() * 2).max(self.n + LINE_ROOM);
            self.b.resize(want, 0);
        }
    }

    /// The text written.
    fn finish(mut self) -> Vec<u8> {
        self.b.truncate(self.n);
        self.b
    }

    /// Gives the line begun at `start` to a general formatter appending to a `Vec` (a line the fast path
    /// does not take).
    fn general(&mut self, start: usize, f: impl FnOnce(&mut Vec<u8>)) {
        self.b.truncate(start);
        f(&mut self.b);
        self.n = self.b.len();
    }

    #[inline]
    fn byte(&mut self, c: u8) {
        self.b[self.n] = c;
        self.n += 1;
    }

    #[inline]
    fn piece<const N: usize>(&mut self, p: &Piece<N>) {
        self.b[self.n..self.n + N].copy_from_slice(&p.b);
        self.n += p.len;
    }

    /// `len` (≤ `W`) bytes of `src` from `from`, copied as `W` bytes when both sides have them (a fixed
    /// copy is a couple of register moves; the bytes beyond `len` are scratch, overwritten next).
    #[inline(always)]
    fn copy<const W: usize>(&mut self, src: &[u8], from: usize, len: usize) {
        let n = self.n;
        match (src.get(from..from + W), self.b.get_mut(n..n + W)) {
            (Some(s), Some(d)) if len <= W => d.copy_from_slice(s),
            _ => self.b[n..n + len].copy_from_slice(&src[from..from + len]),
        }
        self.n += len;
    }

    /// The decimal digits of `v`, at least `width` of them (zero-padded on the left). Numbers below
    /// 10^8 (every code, year, month count and nearly every amount) in groups of two digits without a
    /// loop; others by [`write_digits_back`].
    #[inline(always)]
    fn uint(&mut self, v: u64, width: usize) {
        if width <= 4 && v < 10_000 {
            self.small(v as usize, width);
        } else if width <= 4 && v < 100_000_000 {
            // At least five digits: the high part has no padding, the low part exactly four digits.
            self.small((v / 10_000) as usize, 0);
            self.four((v % 10_000) as usize);
        } else {
            let digits = v.checked_ilog10().map_or(1, |d| d as usize + 1).max(width);
            let end = self.n + digits;
            write_digits_back(&mut self.b[self.n..end], v);
            self.n = end;
        }
    }

    /// `v` < 10 000 with at least `width` (≤ 4) digits.
    #[inline(always)]
    fn small(&mut self, v: usize, width: usize) {
        if v >= 1000 || width == 4 {
            self.four(v);
        } else if v >= 100 || width == 3 {
            self.b[self.n] = b'0' + (v / 100) as u8;
            self.pair(v % 100, 1);
            self.n += 3;
        } else if v >= 10 || width == 2 {
            self.pair(v, 0);
            self.n += 2;
        } else {
            self.b[self.n] = b'0' + v as u8;
            self.n += 1;
        }
    }

    /// `v` < 10 000 as exactly four digits.
    #[inline(always)]
    fn four(&mut self, v: usize) {
        self.pair(v / 100, 0);
        self.pair(v % 100, 2);
        self.n += 4;
    }

    /// `v` < 100 as two digits at `n + at` (`n` is not moved).
    #[inline(always)]
    fn pair(&mut self, v: usize, at: usize) {
        let i = self.n + at;
        let d = (v % 100) * 2;
        self.b[i..i + 2].copy_from_slice(&DIGIT_PAIRS[d..d + 2]);
    }

    #[inline]
    fn int(&mut self, v: i64) {
        if v < 0 {
            self.byte(b'-');
        }
        self.uint(v.unsigned_abs(), 0);
    }

    /// Whole øre as kroner with two decimals (`-1234.50`; zero is `0.00`): exactly [`money_bytes`] of the
    /// same amount as a `Decimal`.
    #[inline]
    fn ore(&mut self, ore: i64) {
        if ore < 0 {
            self.byte(b'-');
        }
        let a = ore.unsigned_abs();
        self.uint(a / 100, 0);
        self.b[self.n] = b'.';
        self.pair((a % 100) as usize, 1);
        self.n += 3;
    }

    /// The `utbetalt.csv` record of this termin for the `grunnlag.csv` line at `s` of `src`: its termin,
    /// kommunenummer, fnr, kode, ar and a_utbetale are the fields `utbetalt_line` writes, and the fast
    /// writer wrote them with the same bytes, so they are copied instead of formatted again.
    #[inline]
    fn utbetalt_of(&mut self, src: &[u8], s: &Spans) {
        self.room();
        // Lengths: termin (≤ 16) + kommunenummer (4) + fnr (11) and three commas ≤ 34; a code of at
        // most 32 and a comma; a year (≤ 11) and a comma; an amount of at most 21 bytes.
        self.copy::<48>(src, s.start, s.fnr_end - s.start);
        self.copy::<40>(src, s.kode.0, s.kode.1 - s.kode.0);
        self.copy::<16>(src, s.ar.0, s.ar.1 - s.ar.0);
        self.copy::<24>(src, s.a_utbetale.0, s.a_utbetale.1 - s.a_utbetale.0);
        self.byte(b'\n');
    }
}

/// Where the fields of one `grunnlag.csv` line written by the fast path lie in its buffer: the line's
/// start and the end of `termin,kommunenummer,fnr,`, then `kode,` and `ar,` (each with its comma) and
/// `a_utbetale` (without).
#[derive(Clone, Copy)]
struct Spans {
    start: usize,
    fnr_end: usize,
    kode: (usize, usize),
    ar: (usize, usize),
    a_utbetale: (usize, usize),
}

/// Writes `v` into all of `out`, right-aligned and zero-padded (`out` holds at least its digits).
#[inline]
fn write_digits_back(out: &mut [u8], mut v: u64) {
    let mut i = out.len();
    while v >= 100 && i >= 2 {
        let r = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        out[i..i + 2].copy_from_slice(&DIGIT_PAIRS[r..r + 2]);
    }
    while i > 0 {
        i -= 1;
        out[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// `x` in whole øre, when it is exactly that (at most two decimals) and fits an `i64` — every amount of
/// the engine (IT-13); `None` sends the line to the general path, which formats any `Decimal` exactly.
#[inline]
fn ore_of(x: rust_decimal::Decimal) -> Option<i64> {
    let m = x.mantissa();
    let ore = match x.scale() {
        2 => m,
        1 => m.checked_mul(10)?,
        0 => m.checked_mul(100)?,
        _ => return None,
    };
    i64::try_from(ore).ok()
}

/// The fast writer of `grunnlag.csv` and `utbetalt.csv` lines: the constant pieces (termin, codes, rule
/// ids) prepared once, the person's fnr and DUF once per person, every number written straight into the
/// block's text. A line it cannot take (an amount beyond whole øre of an `i64`, a piece longer than
/// expected) goes through [`grunnlag_line`]/[`utbetalt_line`], which give the same bytes (tests compare
/// the two).
pub(crate) struct LineFormat {
    termin_value: Termin,
    termin_text: String,
    termin: Option<Piece<16>>,
    kode: Vec<Option<Piece<32>>>,
    /// The rule ids of [`RULE_IDS`], `None` for one that would need quoting (none does).
    rule: Vec<Option<Piece<8>>>,
    /// The last person's fnr and DUF, and their text.
    person: Option<(crate::domain::ids::Fnr, Option<crate::domain::ids::Duf>)>,
    fnr_text: Piece<16>,
    duf_text: Option<Piece<16>>,
    /// The last old ledger line's termin and its text.
    old_termin: Option<(Termin, String, Option<Piece<16>>)>,
}

impl LineFormat {
    pub(crate) fn new(termin: Termin) -> LineFormat {
        let termin_text = termin.to_string();
        LineFormat {
            termin_value: termin,
            termin: Piece::new(termin_text.as_bytes()),
            termin_text,
            kode: RateCode::ALL
                .iter()
                .map(|c| Piece::new(c.as_str().as_bytes()))
                .collect(),
            rule: crate::domain::basis::RULE_IDS
                .iter()
                .map(|r| {
                    if needs_quoting(r) {
                        None
                    } else {
                        Piece::new(r.as_bytes())
                    }
                })
                .collect(),
            person: None,
            fnr_text: Piece { b: [0; 16], len: 0 },
            duf_text: None,
            old_termin: None,
        }
    }

    /// The texts of the person of `key` and `duf`, computed when the person changes.
    #[inline]
    fn person(
        &mut self,
        fnr: crate::domain::ids::Fnr,
        duf: Option<crate::domain::ids::Duf>,
    ) -> bool {
        if self.person != Some((fnr, duf)) {
            // An fnr is 11 ASCII digits: copied as 11 bytes (a copy of unknown length is a call).
            let text = fnr.as_str().as_bytes();
            let mut t = [0u8; 16];
            match text.get(..11) {
                Some(d) if text.len() == 11 => t[..11].copy_from_slice(d),
                _ => return false,
            }
            self.fnr_text = Piece { b: t, len: 11 };
            self.duf_text = match duf {
                // As `Duf`'s Display: zero-padded to 12 digits.
                Some(d) => {
                    let v = d.value();
                    let digits = v.checked_ilog10().map_or(1, |d| d as usize + 1).max(12);
                    let mut t = [0u8; 16];
                    match t.get_mut(..digits) {
                        Some(s) => {
                            write_digits_back(s, v);
                            Some(Piece { b: t, len: digits })
                        }
                        None => None,
                    }
                }
                None => Some(Piece { b: [0; 16], len: 0 }),
            };
            self.person = Some((fnr, duf));
        }
        self.duf_text.is_some()
    }

    /// One `grunnlag.csv` record with its line end, appended to `out`: the bytes of [`grunnlag_line`].
    pub(crate) fn grunnlag(&mut self, out: &mut Vec<u8>, l: &BasisLine) {
        let mut b = LineBuf::after(std::mem::take(out));
        self.grunnlag_into(&mut b, l);
        *out = b.finish();
    }

    /// [`LineFormat::grunnlag`] into a block's text; where its fields lie when the fast path wrote it.
    #[inline]
    fn grunnlag_into(&mut self, out: &mut LineBuf, l: &BasisLine) -> Option<Spans> {
        out.room();
        let start = out.n;
        let spans = self.grunnlag_fast(out, l);
        if spans.is_none() {
            let (text, termin) = (&self.termin_text, self.termin_value);
            out.general(start, |v| format_grunnlag_line(v, text, termin, l));
        }
        spans
    }

    /// The fast path of [`LineFormat::grunnlag`] into `b` (with room for a line); `None` (and bytes to
    /// be discarded) for a line it does not take.
    #[inline]
    fn grunnlag_fast(&mut self, b: &mut LineBuf, l: &BasisLine) -> Option<Spans> {
        let (Some(sats), Some(opptjent), Some(tidligere), Some(a_utbetale)) = (
            ore_of(l.sats),
            ore_of(l.opptjent),
            ore_of(l.tidligere_utbetalt),
            ore_of(l.a_utbetale),
        ) else {
            return None;
        };
        let (Some(termin), Some(Some(kode))) = (self.termin, self.kode.get(l.key.kode as usize))
        else {
            return None;
        };
        let kode = *kode;
        if !self.person(l.key.fnr, l.duf) {
            return None;
        }
        let (fnr, duf) = (self.fnr_text, self.duf_text.unwrap_or(self.fnr_text));
        let start = b.n;
        b.piece(&termin);
        b.byte(b',');
        b.uint(u64::from(l.key.kommune.code()), 4);
        b.byte(b',');
        b.piece(&fnr);
        b.byte(b',');
        let fnr_end = b.n;
        b.piece(&duf);
        b.byte(b',');
        let kode_at = b.n;
        b.piece(&kode);
        b.byte(b',');
        let kode_end = b.n;
        b.uint(u64::from(l.tilskuddsar), 0);
        b.byte(b',');
        let ar_at = b.n;
        b.int(i64::from(l.key.ar));
        b.byte(b',');
        let ar_end = b.n;
        if let Some(m) = l.maneder {
            b.uint(u64::from(m), 0);
        }
        b.byte(b',');
        b.ore(sats);
        b.byte(b',');
        b.ore(opptjent);
        b.byte(b',');
        b.ore(tidligere);
        b.byte(b',');
        let a_at = b.n;
        b.ore(a_utbetale);
        let a_end = b.n;
        b.byte(b',');
        for (i, &r) in l.regler.indexes().iter().enumerate() {
            let Some(Some(p)) = self.rule.get(usize::from(r)) else {
                return None;
            };
            if i > 0 {
                b.byte(b'|');
            }
            b.piece(p);
        }
        b.byte(b'\n');
        Some(Spans {
            start,
            fnr_end,
            kode: (kode_at, kode_end),
            ar: (ar_at, ar_end),
            a_utbetale: (a_at, a_end),
        })
    }

    /// One `utbetalt.csv` record of this termin: the bytes of [`utbetalt_line`].
    #[cfg(test)]
    pub(crate) fn utbetalt_new(
        &mut self,
        out: &mut Vec<u8>,
        key: LineKey,
        belop: rust_decimal::Decimal,
    ) {
        let mut b = LineBuf::after(std::mem::take(out));
        self.utbetalt_new_into(&mut b, key, belop);
        *out = b.finish();
    }

    fn utbetalt_new_into(&mut self, out: &mut LineBuf, key: LineKey, belop: rust_decimal::Decimal) {
        out.room();
        let start = out.n;
        let termin = self.termin;
        match termin {
            Some(t) if self.utbetalt_fast(out, &t, key, belop) => {}
            _ => {
                let text = &self.termin_text;
                out.general(start, |v| utbetalt_line(v, text, key, belop));
            }
        }
    }

    /// One `utbetalt.csv` record carried from the ledger read in (its own termin).
    pub(crate) fn utbetalt_old(&mut self, out: &mut Vec<u8>, l: &LedgerLine) {
        let mut b = LineBuf::after(std::mem::take(out));
        self.utbetalt_old_into(&mut b, l);
        *out = b.finish();
    }

    fn utbetalt_old_into(&mut self, out: &mut LineBuf, l: &LedgerLine) {
        // A ledger holds few termins: the text of the last one is kept.
        if self
            .old_termin
            .as_ref()
            .is_none_or(|(t, _, _)| *t != l.termin)
        {
            let text = l.termin.to_string();
            let piece = Piece::new(text.as_bytes());
            self.old_termin = Some((l.termin, text, piece));
        }
        out.room();
        let start = out.n;
        let piece = self.old_termin.as_ref().and_then(|(_, _, p)| *p);
        match piece {
            Some(t) if self.utbetalt_fast(out, &t, l.key, l.belop) => {}
            _ => {
                let text = self.old_termin.as_ref().map_or("", |(_, s, _)| s.as_str());
                out.general(start, |v| utbetalt_line(v, text, l.key, l.belop));
            }
        }
    }

    /// The fast path of an `utbetalt.csv` record into `b` (with room for a line); `false` (and bytes to
    /// be discarded) for a line it does not take.
    #[inline]
    fn utbetalt_fast(
        &mut self,
        b: &mut LineBuf,
        termin: &Piece<16>,
        key: LineKey,
        belop: rust_decimal::Decimal,
    ) -> bool {
        let (Some(belop), Some(Some(kode))) = (ore_of(belop), self.kode.get(key.kode as usize))
        else {
            return false;
        };
        let kode = *kode;
        // The DUF is not in utbetalt.csv; the fnr's text is shared with the person's basis lines.
        let duf = self
            .person
            .and_then(|(f, d)| (f == key.fnr).then_some(d))
            .flatten();
        if !self.person(key.fnr, duf) {
            return false;
        }
        let fnr = self.fnr_text;
        b.piece(termin);
        b.byte(b',');
        b.uint(u64::from(key.kommune.code()), 4);
        b.byte(b',');
        b.piece(&fnr);
        b.byte(b',');
        b.piece(&kode);
        b.byte(b',');
        b.int(i64::from(key.ar));
        b.byte(b',');
        b.ore(belop);
        b.byte(b'\n');
        true
    }
}

/// Fields that the CSV writer would quote: then the general path is used.
fn needs_quoting(s: &str) -> bool {
    s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
}

/// Emits the 13 fields of one `grunnlag.csv` record through `emit`, reusing `buf` (one implementation for
/// the file writer and for [`grunnlag_record`], which `explain` prints).
fn grunnlag_fields<E>(termin: &str, l: &BasisLine, buf: &mut String, mut emit: E) -> io::Result<()>
where
    E: FnMut(&str) -> io::Result<()>,
{
    use std::fmt::Write as _;
    let mut put = |buf: &mut String, f: &dyn Fn(&mut String)| {
        buf.clear();
        f(buf);
        emit(buf)
    };
    put(buf, &|b| b.push_str(termin))?;
    put(buf, &|b| {
        let _ = write!(b, "{}", l.key.kommune);
    })?;
    put(buf, &|b| b.push_str(l.key.fnr.as_str()))?;
    put(buf, &|b| {
        if let Some(d) = l.duf {
            let _ = write!(b, "{d}");
        }
    })?;
    put(buf, &|b| b.push_str(l.key.kode.as_str()))?;
    put(buf, &|b| {
        let _ = write!(b, "{}", l.tilskuddsar);
    })?;
    put(buf, &|b| {
        let _ = write!(b, "{}", l.key.ar);
    })?;
    put(buf, &|b| {
        if let Some(m) = l.maneder {
            let _ = write!(b, "{m}");
        }
    })?;
    put(buf, &|b| push_money(b, l.sats))?;
    put(buf, &|b| push_money(b, l.opptjent))?;
    put(buf, &|b| push_money(b, l.tidligere_utbetalt))?;
    put(buf, &|b| push_money(b, l.a_utbetale))?;
    put(buf, &|b| {
        for (i, r) in l.regler.iter().enumerate() {
            if i > 0 {
                b.push('|');
            }
            b.push_str(r);
        }
    })
}

/// One `grunnlag.csv` record. `explain` prints the same records, so an auditor can match them.
pub fn grunnlag_record(termin: Termin, l: &BasisLine) -> [String; 13] {
    let mut out: [String; 13] = Default::default();
    let mut i = 0;
    let mut buf = String::new();
    // Writing into Strings cannot fail.
    let _ = grunnlag_fields(&termin.to_string(), l, &mut buf, |f| {
        out[i] = f.to_string();
        i += 1;
        Ok(())
    });
    out
}

/// The `kommuner.csv` header: one column per [`RateCode::TERMIN_CODES`].
pub fn kommuner_header() -> Vec<String> {
    let mut h = vec!["termin".to_string(), "kommunenummer".into(), "navn".into()];
    h.extend(
        RateCode::TERMIN_CODES
            .iter()
            .map(|c| c.as_str().to_string()),
    );
    h.push("sum".into());
    h.push("utbetales".into());
    h
}

pub fn kommune_record(termin: Termin, k: &KommuneSum) -> Vec<String> {
    let mut r = vec![
        termin.to_string(),
        k.kommune.to_string(),
        k.navn.clone().unwrap_or_default(),
    ];
    r.extend(
        RateCode::TERMIN_CODES
            .iter()
            .map(|c| fmt_money(k.per_kode.get(c).copied().unwrap_or_default())),
    );
    r.push(fmt_money(k.sum));
    r.push(if k.utbetales { "ja" } else { "nei" }.into());
    r
}

pub fn ledger_record(l: &LedgerLine) -> [String; 6] {
    [
        l.termin.to_string(),
        l.key.kommune.to_string(),
        l.key.fnr.to_string(),
        l.key.kode.to_string(),
        l.key.ar.to_string(),
        fmt_money(l.belop),
    ]
}

pub fn avvik_record(a: &Avvik) -> [String; 7] {
    [
        a.fil.clone(),
        a.linje.map(|l| l.to_string()).unwrap_or_default(),
        a.fnr.map(|f| f.masked()).unwrap_or_default(),
        a.kode.clone(),
        crate::domain::ids::mask_text(&a.melding),
        a.kolonne.clone().unwrap_or_default(),
        a.niva.as_str().to_string(),
    ]
}

pub fn write_grunnlag<W: Write>(mut w: W, r: &TerminResult) -> io::Result<()> {
    w.write_all(GRUNNLAG_HEADER.join(",").as_bytes())?;
    w.write_all(b"\n")?;
    // Blocks of lines are formatted in parallel and written in order: the same bytes with any number of
    // threads, and at most one batch of blocks in memory.
    write_blocks(
        &mut w,
        &r.lines,
        || LineFormat::new(r.termin),
        |f, buf, l| {
            f.grunnlag(buf, l);
            Ok(())
        },
    )?;
    w.flush()
}

/// One `grunnlag.csv` record with its line end (`termin_text` = `termin` as text, formatted once).
fn format_grunnlag_line(buf: &mut Vec<u8>, termin_text: &str, termin: Termin, l: &BasisLine) {
    if l.regler.iter().any(needs_quoting) {
        // Never for the engine's rule ids; kept exact should one ever need quoting.
        let mut c = csv_writer(Vec::new());
        // Writing into a Vec cannot fail.
        let _ = c.write_record(grunnlag_record(termin, l));
        if let Ok(bytes) = c.into_inner() {
            buf.extend_from_slice(&bytes);
        }
    } else {
        grunnlag_line(buf, termin_text, l);
    }
}

/// Formats `items` in blocks of 16 384 on the rayon pool, 16 blocks at a time, and writes the blocks in
/// order.
fn write_blocks<T, W, S, M, F>(w: &mut W, items: &[T], make: M, format: F) -> io::Result<()>
where
    T: Sync,
    W: Write,
    M: Fn() -> S + Sync,
    F: Fn(&mut S, &mut Vec<u8>, &T) -> io::Result<()> + Sync,
{
    use rayon::prelude::*;
    const BLOCK: usize = 1 << 14;
    for batch in items.chunks(BLOCK * 16) {
        let bufs: Vec<io::Result<Vec<u8>>> = batch
            .par_chunks(BLOCK)
            .map(|block| {
                let mut buf = Vec::with_capacity(block.len() * 128);
                let mut state = make();
                for x in block {
                    format(&mut state, &mut buf, x)?;
                }
                Ok(buf)
            })
            .collect();
        for b in bufs {
            w.write_all(&b?)?;
        }
    }
    Ok(())
}

pub fn write_kommuner<W: Write>(w: W, r: &TerminSummary) -> io::Result<()> {
    let mut c = csv_writer(w);
    c.write_record(kommuner_header())?;
    for k in &r.kommuner {
        c.write_record(kommune_record(r.termin, k))?;
    }
    c.flush()
}

/// `utbetalt.csv`: every field is digits, a termin, a code, `-` or `.`, so nothing is ever quoted and the
/// records are assembled as bytes (the same bytes as the CSV writer gives for [`ledger_record`]).
pub fn write_utbetalt<W: Write>(mut w: W, ledger: &[LedgerLine]) -> io::Result<()> {
    w.write_all(UTBETALT_HEADER.join(",").as_bytes())?;
    w.write_all(b"\n")?;
    // The termin of the first line only names the state's own termin; every line is written with its own.
    let first = ledger
        .first()
        .map_or(Termin::new(2000, 1), |l| Some(l.termin));
    write_blocks(
        &mut w,
        ledger,
        || first.map(LineFormat::new),
        |f, line, l| {
            match f {
                Some(f) => f.utbetalt_old(line, l),
                None => utbetalt_line(line, &l.termin.to_string(), l.key, l.belop),
            }
            Ok(())
        },
    )?;
    w.flush()
}

/// One `utbetalt.csv` record with its line end (`termin` as text).
fn utbetalt_line(line: &mut Vec<u8>, termin: &str, key: LineKey, belop: rust_decimal::Decimal) {
    line.extend_from_slice(termin.as_bytes());
    line.push(b',');
    push_padded(line, u64::from(key.kommune.code()), 4);
    line.push(b',');
    line.extend_from_slice(key.fnr.as_str().as_bytes());
    line.push(b',');
    line.extend_from_slice(key.kode.as_str().as_bytes());
    line.push(b',');
    push_int(line, i64::from(key.ar));
    line.push(b',');
    push_money_bytes(line, belop);
    line.push(b'\n');
}

pub fn write_avvik<W: Write>(w: W, avvik: &[Avvik]) -> io::Result<()> {
    write_avvik_with(w, avvik, None)
}

/// [`write_avvik`], with the rows of a spill ([`OrphanSpill`]) after the first `at` avvik.
fn write_avvik_with<W: Write>(
    mut w: W,
    avvik: &[Avvik],
    spill: Option<(usize, &mut OrphanSpill)>,
) -> io::Result<()> {
    let (at, spill) = match spill {
        Some((at, spill)) => (at.min(avvik.len()), Some(spill)),
        None => (avvik.len(), None),
    };
    let (before, after) = avvik.split_at(at);
    let mut c = csv_writer(&mut w);
    c.write_record(AVVIK_HEADER)?;
    write_avvik_rows(&mut c, before)?;
    c.flush()?;
    drop(c);
    if let Some(spill) = spill {
        spill.copy_to(&mut w)?;
    }
    let mut c = csv_writer(&mut w);
    write_avvik_rows(&mut c, after)?;
    c.flush()
}

/// The rows of `avvik.csv` for `avvik` (no header).
fn write_avvik_rows<W: Write>(c: &mut csv::Writer<W>, avvik: &[Avvik]) -> io::Result<()> {
    let mut melding = String::new();
    for a in avvik {
        write_avvik_row(c, a, &mut melding)?;
    }
    Ok(())
}

/// One row of `avvik.csv`; `melding` is a buffer for the masked message, reused from row to row.
fn write_avvik_row<W: Write>(
    c: &mut csv::Writer<W>,
    a: &Avvik,
    melding: &mut String,
) -> io::Result<()> {
    // The fields of `avvik_record`, written one by one from borrowed text (no String per field).
    let mut linje = itoa::Buffer::new();
    {
        c.write_field(&a.fil)?;
        match a.linje {
            Some(l) => c.write_field(linje.format(l))?,
            None => c.write_field("")?,
        }
        match a.fnr {
            Some(f) => c.write_field(masked_fnr(&f))?,
            None => c.write_field("")?,
        }
        c.write_field(&a.kode)?;
        melding.clear();
        crate::domain::ids::mask_text_into(&a.melding, melding);
        c.write_field(&*melding)?;
        c.write_field(a.kolonne.as_deref().unwrap_or_default())?;
        c.write_field(a.niva.as_str())?;
        c.write_record(None::<&[u8]>)?;
    }
    Ok(())
}

/// The T-2 avvik of a streamed ledger's lines whose person is not in the extract
/// (`ukjent_person_i_reskontro`), written as `avvik.csv` rows to an unnamed scratch file beside the
/// outputs as the run finds them, instead of held until `avvik.csv` is written: in a long chain most
/// ledger lines are of persons who have left the extract (issue 6: memory must not grow with the ledger).
/// The first `keep` are also kept, for the report's Avvik sheet.
pub struct OrphanSpill {
    file: io::BufWriter<std::fs::File>,
    /// Rows written.
    pub count: u64,
    /// The first rows, at most `keep`.
    pub kept: Vec<Avvik>,
    keep: usize,
    /// The avvik being written, and its masked message: buffers reused from row to row.
    row: Avvik,
    melding: String,
}

impl OrphanSpill {
    /// A spill in folder `dir` (the output folder: the same disk as the outputs); the file has no name
    /// and is gone when the spill is dropped or the process ends.
    pub fn create(dir: &std::path::Path, keep: usize) -> io::Result<OrphanSpill> {
        Ok(OrphanSpill {
            file: io::BufWriter::new(tempfile::tempfile_in(dir)?),
            count: 0,
            kept: Vec::new(),
            keep,
            row: Avvik::warning("", None, None, "", String::new()),
            melding: String::new(),
        })
    }

    /// Writes the avvik of `lines` ([`orphan_avvik_into`](crate::domain::engine::orphan_avvik_into)),
    /// without an allocation per line but for the amount.
    fn add(&mut self, lines: &[&LedgerLine]) -> io::Result<()> {
        let mut c = csv_writer(&mut self.file);
        for l in lines {
            crate::domain::engine::orphan_avvik_into(l, &mut self.row);
            write_avvik_row(&mut c, &self.row, &mut self.melding)?;
            if self.kept.len() < self.keep {
                self.kept.push(self.row.clone());
            }
        }
        c.flush()?;
        self.count += lines.len() as u64;
        Ok(())
    }

    /// Copies the rows written to `w`.
    fn copy_to(&mut self, w: &mut dyn Write) -> io::Result<()> {
        use std::io::Seek;
        self.file.flush()?;
        let file = self.file.get_mut();
        file.seek(io::SeekFrom::Start(0))?;
        io::copy(file, w)?;
        Ok(())
    }
}

/// The bytes of [`crate::domain::ids::Fnr::masked`] (`010180*****`), without a String.
fn masked_fnr(f: &crate::domain::ids::Fnr) -> [u8; 11] {
    let mut m = *b"000000*****";
    m[..6].copy_from_slice(&f.as_str().as_bytes()[..6]);
    m
}

/// The streaming writer of `grunnlag.csv` and the new ledger `utbetalt.csv` for
/// [`Engine::run_streaming`](crate::domain::engine::Engine::run_streaming): each block of lines is
/// formatted on the worker that computed it, and the text goes, in order, to one writer thread per file
/// (issue 6: a national basis is never held in memory). The new ledger is written with every non-zero line
/// of this termin, whether or not its municipality turns out to be paid (T-3 is known only at the end);
/// [`filter_new_ledger`] then drops the lines of municipalities not paid, using [`BasisStream::flags`].
pub struct BasisStream {
    termin: Termin,
    grunnlag: std::sync::mpsc::SyncSender<Vec<u8>>,
    utbetalt: std::sync::mpsc::SyncSender<Vec<u8>>,
    /// Which lines written to `utbetalt.csv` are new.
    pub flags: LedgerFlags,
    /// The first lines of the basis, at least `preview_rows` of them (for rapport.xlsx).
    pub preview: Vec<BasisLine>,
    preview_rows: usize,
    preview_full: std::sync::atomic::AtomicBool,
    /// Every line, when asked for (`--split-kommuner`).
    pub all_lines: Option<Vec<BasisLine>>,
    /// Where the avvik of ledger lines without a person go, when asked for ([`BasisStream::spill_orphans`]).
    pub orphans: Option<OrphanSpill>,
}

/// Blocks of text queued for each writer thread: two chunks of the engine's run (128 blocks a chunk), so that
/// handing a chunk over never waits for the disk while the next chunk could be computed. The queue holds
/// at most about 60 MB of text.
pub const STREAM_QUEUE: usize = 256;

/// Text buffers of blocks already written, handed back by the writer threads ([`drain_to`]) for the next
/// blocks ([`text_buffer`]): a block's text then goes into memory already touched, instead of fresh pages
/// (a page fault each) of buffers that the allocator would return to the system once freed. Buffers are
/// kept only while a writer thread runs (`writers`), at most [`POOL_MAX`] of them: the pool holds buffers
/// that were in the queues or being filled before, so it adds no memory beyond the run's peak of text in
/// flight (two queues of [`STREAM_QUEUE`] blocks and the chunk being formatted). Only capacity is shared:
/// no byte of one block's text reaches another's.
struct TextPool {
    bufs: std::sync::Mutex<Vec<Vec<u8>>>,
    writers: std::sync::atomic::AtomicUsize,
}

static TEXT_POOL: TextPool = TextPool {
    bufs: std::sync::Mutex::new(Vec::new()),
    writers: std::sync::atomic::AtomicUsize::new(0),
};

const POOL_MAX: usize = 2 * STREAM_QUEUE;

/// A buffer for a block's text of about `want` bytes: the best fitting of the last buffers handed back
/// (two sizes circulate, `grunnlag.csv`'s and `utbetalt.csv`'s), or a new one. The whole pool is searched
/// (at most [`POOL_MAX`] capacities): a new buffer is made only when none fits, so the buffers made
/// number no more than were ever in flight at once (queued, or being filled), by size.
fn text_buffer(want: usize) -> Vec<u8> {
    if let Ok(mut pool) = TEXT_POOL.bufs.lock() {
        let best = (0..pool.len())
            .filter(|&i| pool[i].capacity() >= want)
            .min_by_key(|&i| pool[i].capacity());
        if let Some(i) = best {
            return pool.swap_remove(i);
        }
    }
    vec![0; want]
}

/// Hands a written block's buffer back to [`TEXT_POOL`].
fn give_back(buf: Vec<u8>) {
    if TEXT_POOL.writers.load(std::sync::atomic::Ordering::Acquire) == 0 {
        return;
    }
    if let Ok(mut pool) = TEXT_POOL.bufs.lock() {
        if pool.len() < POOL_MAX {
            pool.push(buf);
        }
    }
}

/// Which lines of the streamed `utbetalt.csv` are new, for [`filter_new_ledger`]. A line of another termin
/// is always one carried from the ledger read in, so a flag is kept only for the lines of this termin — the
/// new ones, and the rare carried line of the same termin (a ledger that already holds it): memory grows
/// with this termin's lines, not with the ledger, which grows every termin (issue 6).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LedgerFlags {
    /// Lines carried from the ledger read in.
    pub carried: u64,
    /// One flag per line of this termin, in file order: new (true) or carried (false).
    pub this_termin: Vec<bool>,
}

impl LedgerFlags {
    fn carry(&mut self, o: &LedgerLine, termin: Termin) {
        self.carried += 1;
        if o.termin == termin {
            self.this_termin.push(false);
        }
    }

    fn add(&mut self, part: LedgerFlags) {
        self.carried += part.carried;
        self.this_termin.extend(part.this_termin);
    }
}

/// What [`BasisStream`] makes of one block.
pub struct StreamPart {
    grunnlag: Vec<u8>,
    utbetalt: Vec<u8>,
    flags: LedgerFlags,
    lines: Option<Vec<BasisLine>>,
}

impl BasisStream {
    /// Sends the two headers at once. `keep_all` keeps every line (memory grows with the basis).
    pub fn new(
        termin: Termin,
        grunnlag: std::sync::mpsc::SyncSender<Vec<u8>>,
        utbetalt: std::sync::mpsc::SyncSender<Vec<u8>>,
        preview_rows: usize,
        keep_all: bool,
    ) -> io::Result<BasisStream> {
        let closed = |_| io::Error::other("the writer thread stopped");
        grunnlag
            .send(format!("{}\n", GRUNNLAG_HEADER.join(",")).into_bytes())
            .map_err(closed)?;
        utbetalt
            .send(format!("{}\n", UTBETALT_HEADER.join(",")).into_bytes())
            .map_err(closed)?;
        Ok(BasisStream {
            termin,
            grunnlag,
            utbetalt,
            flags: LedgerFlags::default(),
            preview: Vec::new(),
            preview_rows,
            preview_full: std::sync::atomic::AtomicBool::new(preview_rows == 0),
            all_lines: keep_all.then(Vec::new),
            orphans: None,
        })
    }

    /// The avvik of a streamed ledger's lines without a person are written to `spill`, not kept in the
    /// run's summary ([`LineSink::orphans`](crate::domain::engine::LineSink::orphans)).
    pub fn spill_orphans(&mut self, spill: OrphanSpill) {
        self.orphans = Some(spill);
    }
}

impl crate::domain::engine::LineSink for BasisStream {
    type Part = StreamPart;

    fn block(&self, lines: &[BasisLine], ledger: &[&LedgerLine]) -> StreamPart {
        let mut f = LineFormat::new(self.termin);
        let mut g = LineBuf::recycled(text_buffer(lines.len() * 120));
        let mut u = LineBuf::recycled(text_buffer((lines.len() + ledger.len()) * 48));
        let mut flags = LedgerFlags {
            carried: 0,
            this_termin: Vec::with_capacity(lines.len()),
        };
        // T-4: the order of `merge_ledger` — the old lines (sorted by (key, termin)) merged with the
        // non-zero lines of this termin (in key order), the old line first on equal (key, termin) —
        // walked here along the basis lines, so that each new ledger line is copied from the
        // `grunnlag.csv` line just written.
        let mut old = ledger.iter().peekable();
        for l in lines {
            let spans = f.grunnlag_into(&mut g, l);
            if l.a_utbetale.is_zero() {
                continue;
            }
            while let Some(o) = old.next_if(|o| (o.key, o.termin) <= (l.key, self.termin)) {
                f.utbetalt_old_into(&mut u, o);
                flags.carry(o, self.termin);
            }
            match spans {
                Some(s) => u.utbetalt_of(&g.b, &s),
                None => f.utbetalt_new_into(&mut u, l.key, l.a_utbetale),
            }
            flags.this_termin.push(true);
        }
        for o in old {
            f.utbetalt_old_into(&mut u, o);
            flags.carry(o, self.termin);
        }
        let (g, u) = (g.finish(), u.finish());
        // Blocks are accepted in order, so once the preview is full no later block is needed for it.
        let want = self.all_lines.is_some()
            || !self.preview_full.load(std::sync::atomic::Ordering::Acquire);
        StreamPart {
            grunnlag: g,
            utbetalt: u,
            flags,
            lines: want.then(|| lines.to_vec()),
        }
    }

    fn accept(&mut self, part: StreamPart) -> io::Result<()> {
        let closed = |_| io::Error::other("the writer thread stopped");
        self.grunnlag.send(part.grunnlag).map_err(closed)?;
        self.utbetalt.send(part.utbetalt).map_err(closed)?;
        self.flags.add(part.flags);
        if let Some(lines) = part.lines {
            if self.preview.len() < self.preview_rows {
                let n = (self.preview_rows - self.preview.len()).min(lines.len());
                self.preview.extend_from_slice(&lines[..n]);
                if self.preview.len() >= self.preview_rows {
                    self.preview_full
                        .store(true, std::sync::atomic::Ordering::Release);
                }
            }
            if let Some(all) = self.all_lines.as_mut() {
                all.extend(lines);
            }
        }
        Ok(())
    }

    fn orphans(&mut self, lines: &[&LedgerLine]) -> io::Result<bool> {
        match self.orphans.as_mut() {
            Some(spill) => spill.add(lines).map(|()| true),
            None => Ok(false),
        }
    }
}

/// Writes everything received on `rx` to `w` and flushes it — the writer thread of a [`BasisStream`]
/// file. The file is returned unsynced: the caller syncs it (on another thread) before the commit.
pub fn drain_to(
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    mut w: io::BufWriter<std::fs::File>,
) -> io::Result<std::fs::File> {
    // The data is pushed to disk every SYNC_EVERY bytes while the engine goes on (the queue absorbs
    // the wait), so that the final sync before the commit has little left to do.
    const SYNC_EVERY: usize = 64 << 20;
    let mut unsynced = 0usize;
    use std::sync::atomic::Ordering;
    TEXT_POOL.writers.fetch_add(1, Ordering::AcqRel);
    let written = (|| {
        for buf in rx {
            // Straight to the file: a block's text is written as it is, not copied through the
            // `BufWriter`'s buffer first (which then holds nothing: flushing it is free).
            w.flush()?;
            w.get_mut().write_all(&buf)?;
            unsynced += buf.len();
            give_back(buf);
            if unsynced >= SYNC_EVERY {
                w.flush()?;
                w.get_ref().sync_data()?;
                unsynced = 0;
            }
        }
        Ok::<(), io::Error>(())
    })();
    // The last writer thread to end empties the pool: its memory is not kept past the run.
    if TEXT_POOL.writers.fetch_sub(1, Ordering::AcqRel) == 1 {
        if let Ok(mut pool) = TEXT_POOL.bufs.lock() {
            *pool = Vec::new();
        }
    }
    written?;
    w.into_inner().map_err(|e| e.into_error())
}

/// T-4 after T-3: rewrites the streamed `utbetalt.csv` (read from `r`) without the new lines of the
/// municipalities not paid now. A line of another termin than `termin` is carried; `flags` tells of each
/// line of `termin`, in order, whether it is new.
pub fn filter_new_ledger(
    r: &mut dyn io::BufRead,
    w: &mut dyn Write,
    flags: &LedgerFlags,
    termin: Termin,
    paying: &std::collections::BTreeSet<crate::domain::ids::Knr>,
) -> io::Result<()> {
    let this = termin.to_string();
    let mut line = Vec::new();
    let mut i = 0usize;
    let mut lines = 0u64;
    let mut header = true;
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        if header {
            header = false;
            w.write_all(&line)?;
            continue;
        }
        lines += 1;
        // termin,kommunenummer,... — the first field says whether a flag is kept for the line, the
        // second whether its municipality is paid.
        let mut fields = line.split(|b| *b == b',');
        let new = if fields.next() == Some(this.as_bytes()) {
            i += 1;
            flags.this_termin.get(i - 1).copied().unwrap_or(false)
        } else {
            false
        };
        if new {
            let knr = fields
                .next()
                .and_then(|f| std::str::from_utf8(f).ok())
                .and_then(|f| crate::domain::ids::Knr::parse(f).ok());
            if !knr.is_some_and(|k| paying.contains(&k)) {
                continue;
            }
        }
        w.write_all(&line)?;
    }
    let written = flags.carried + flags.this_termin.iter().filter(|n| **n).count() as u64;
    if i != flags.this_termin.len() || lines != written {
        return Err(io::Error::other(format!(
            "utbetalt.csv has {lines} lines ({i} of termin {termin}), {written} were written ({} of termin {termin})",
            flags.this_termin.len()
        )));
    }
    Ok(())
}

/// Writes `kommuner.csv` and `avvik.csv` (a streaming run has written `grunnlag.csv` and `utbetalt.csv`).
pub fn write_summary_files(
    out: &mut OutputDir,
    r: &TerminSummary,
    spill: Option<(usize, &mut OrphanSpill)>,
) -> io::Result<()> {
    out.write_file(KOMMUNER_FILE, false, |w| write_kommuner(w, r))?;
    // Private as well: masked numbers still carry birth dates and the reasons (death, emigration) are
    // personal data (issue 7: person-level files are readable by the owner only). A spill's rows go after
    // the first `at` avvik (those of the readers and the persons).
    out.write_file(AVVIK_FILE, true, |w| write_avvik_with(w, &r.avvik, spill))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::basis::RuleSet;
    use crate::domain::ids::{Fnr, Knr};
    use rust_decimal::Decimal;
    use std::str::FromStr;

    /// Spilled avvik (the T-2 avvik of a streamed ledger's lines without a person) are written into
    /// `avvik.csv` where they would be held: after the first `at` avvik, in the order spilled, the same
    /// rows as those avvik held; the first `keep` are kept (for the report).
    #[test]
    fn spilled_avvik_are_written_where_they_would_be_held() {
        use crate::domain::engine::orphan_avvik_into;
        use crate::domain::ledger::{LineKey, Origin};
        let line = |n: u64, belop: &str| LedgerLine {
            termin: "2024-Q4".parse().unwrap(),
            key: LineKey {
                fnr: (0..1000)
                    .find_map(|i| Fnr::with_control_digits(&format!("158190{i:03}")))
                    .unwrap(),
                kommune: Knr::parse("0301").unwrap(),
                kode: RateCode::ALL[0],
                ar: 2024,
            },
            belop: Decimal::from_str(belop).unwrap(),
            origin: Origin::new("paid.csv".into(), n),
        };
        // The third amount holds 11 digits: masked, as any message is.
        let lines = [
            line(3, "100.00"),
            line(4, "-7.50"),
            line(5, "12345678901.00"),
        ];
        let refs: Vec<&LedgerLine> = lines.iter().collect();
        let orphan = |l: &LedgerLine| {
            let mut a = Avvik::rejected("other.csv", None, None, "x", "a longer message".into());
            orphan_avvik_into(l, &mut a);
            a
        };
        let a = |n: u64| Avvik::warning("f.csv", Some(n), None, "x", format!("m{n}"));
        let all: Vec<Avvik> = [a(1), a(2)]
            .into_iter()
            .chain(lines.iter().map(orphan))
            .chain([a(6), a(7)])
            .collect();
        assert_eq!(all[2].kode, "ukjent_person_i_reskontro");
        assert!(all[4].melding.contains("123456*****"), "{}", all[4].melding);
        let mut held = Vec::new();
        write_avvik(&mut held, &all).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for keep in [0, 2, 5] {
            let mut spill = OrphanSpill::create(dir.path(), keep).unwrap();
            spill.add(&refs[..2]).unwrap();
            spill.add(&[]).unwrap();
            spill.add(&refs[2..]).unwrap();
            assert_eq!(spill.count, 3);
            assert_eq!(spill.kept, all[2..2 + keep.min(3)].to_vec());
            let rest: Vec<Avvik> = all[..2].iter().chain(&all[5..]).cloned().collect();
            let mut out = Vec::new();
            write_avvik_with(&mut out, &rest, Some((2, &mut spill))).unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                String::from_utf8(held.clone()).unwrap()
            );
        }
        // The spill's file is unnamed: nothing is left in the folder.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    /// T-4 after T-3: of this termin's lines only the new ones of a municipality not paid are dropped; a
    /// carried line of this same termin (a ledger that already held it) and lines of other termins stay,
    /// without a flag of their own.
    #[test]
    fn filtering_the_new_ledger_drops_only_new_lines_of_municipalities_not_paid() {
        let text = "termin,kommunenummer,fnr,kode,ar,belop\n\
            2024-Q3,0301,15819012345,AR-2,2024,1.00\n\
            2024-Q4,0301,15819012345,AR-2,2024,2.00\n\
            2024-Q4,0301,15819012345,AR-2,2024,3.00\n\
            2024-Q4,1103,15819012345,AR-2,2024,4.00\n\
            2023-Q4,0301,15819012346,AR-2,2023,5.00\n";
        let flags = LedgerFlags {
            carried: 3,
            this_termin: vec![false, true, true],
        };
        let termin = Termin::new(2024, 4).unwrap();
        let paying = [Knr::parse("1103").unwrap()].into_iter().collect();
        let mut out = Vec::new();
        filter_new_ledger(&mut text.as_bytes(), &mut out, &flags, termin, &paying).unwrap();
        let kept: Vec<&str> = std::str::from_utf8(&out)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.rsplit(',').next().unwrap())
            .collect();
        assert_eq!(kept, ["1.00", "2.00", "4.00", "5.00"]);
        // Flags that do not match the file: an error, not a silent ledger.
        for wrong in [
            LedgerFlags {
                carried: 3,
                this_termin: vec![false, true],
            },
            LedgerFlags {
                carried: 2,
                this_termin: vec![false, true, true],
            },
        ] {
            let mut out = Vec::new();
            assert!(
                filter_new_ledger(&mut text.as_bytes(), &mut out, &wrong, termin, &paying).is_err()
            );
        }
    }

    /// A basis line of `fnr` with the given amounts (as text, any scale).
    fn line_with(
        fnr: Fnr,
        amounts: [&str; 4],
        duf: Option<&str>,
        maneder: Option<u8>,
    ) -> BasisLine {
        let d = |x: &str| Decimal::from_str(x).unwrap();
        BasisLine {
            key: LineKey {
                fnr,
                kommune: Knr::parse("0301").unwrap(),
                kode: RateCode::Ar2,
                ar: 2024,
            },
            duf: duf.map(|x| crate::domain::ids::Duf::parse(x, 2024).unwrap()),
            tilskuddsar: 2,
            maneder,
            sats: d(amounts[0]),
            opptjent: d(amounts[1]),
            tidligere_utbetalt: d(amounts[2]),
            a_utbetale: d(amounts[3]),
            regler: RuleSet::of(&["IT-6", "IT-10", "IT-13"]),
        }
    }

    #[test]
    fn fast_line_writer_gives_the_general_bytes() {
        let fnrs: Vec<Fnr> = (100..900)
            .filter_map(|i| Fnr::with_control_digits(&format!("018180{i:03}")))
            .take(3)
            .collect();
        let t: Termin = "2024-Q4".parse().unwrap();
        let amounts = [
            "0",
            "-0",
            "0.00",
            "-0.00",
            "0.01",
            "-0.01",
            "0.5",
            "-0.5",
            "0.99",
            "1",
            "-1",
            "10",
            "99.99",
            "100",
            "123456.78",
            "-123456.78",
            "235000",
            "8333.33",
            "-8333.34",
            // The largest and smallest i64 of øre, and beyond (the general path).
            "92233720368547758.07",
            "-92233720368547758.08",
            "92233720368547758.08",
            "-92233720368547758.09",
            "2.345",
            "-2.345",
            "0.004",
            "-0.004",
            "0.005",
            "79228162514264337593543950335",
            "-79228162514264337593543950335",
        ];
        let mut lines = Vec::new();
        for (i, a) in amounts.iter().enumerate() {
            let b = amounts[(i * 7 + 3) % amounts.len()];
            let c = amounts[(i * 5 + 1) % amounts.len()];
            let fnr = fnrs[i % fnrs.len()];
            let duf = [None, Some("202300000123"), Some("000000000001")][i % 3];
            let m = [None, Some(12), Some(0), Some(255)][i % 4];
            let mut l = line_with(fnr, [a, b, c, a], duf, m);
            l.key.kode = RateCode::ALL[i % RateCode::ALL.len()];
            l.key.kommune = Knr::parse(["0301", "0001", "9999", "4601"][i % 4]).unwrap();
            l.key.ar = [2024, 1, -5, i32::MAX, i32::MIN][i % 5];
            l.tilskuddsar = [1, 0, 255][i % 3];
            l.regler = [
                RuleSet::default(),
                RuleSet::of(&["T-2"]),
                RuleSet::of(&[
                    "IT-3", "IT-4", "IT-6", "IT-7", "IT-10", "IT-12", "IT-13", "IT-11", "T-2",
                    "EM-4", "T-5",
                ]),
            ][i % 3];
            lines.push(l);
        }
        assert!(lines.len() > 25);
        // Lines of one person follow each other, as in a run, and the person cache changes with them.
        let mut f = LineFormat::new(t);
        let (mut fast, mut slow) = (Vec::new(), Vec::new());
        for l in &lines {
            f.grunnlag(&mut fast, l);
            grunnlag_line(&mut slow, &t.to_string(), l);
        }
        assert_eq!(
            String::from_utf8(fast).unwrap(),
            String::from_utf8(slow).unwrap()
        );
        // And both are what the CSV writer makes of grunnlag_record.
        let mut c = csv_writer(Vec::new());
        for l in &lines {
            c.write_record(grunnlag_record(t, l)).unwrap();
        }
        let mut fast = Vec::new();
        let mut f = LineFormat::new(t);
        for l in &lines {
            f.grunnlag(&mut fast, l);
        }
        assert_eq!(fast, c.into_inner().unwrap());
        // utbetalt.csv: new lines of this termin and old lines of other termins, interleaved.
        let old_t: Termin = "2023-Q1".parse().unwrap();
        let (mut fast, mut slow) = (Vec::new(), Vec::new());
        for (i, l) in lines.iter().enumerate() {
            if i % 2 == 0 {
                f.utbetalt_new(&mut fast, l.key, l.a_utbetale);
                utbetalt_line(&mut slow, "2024-Q4", l.key, l.a_utbetale);
            } else {
                let ll = LedgerLine {
                    termin: if i % 3 == 0 { old_t } else { t },
                    key: l.key,
                    belop: l.sats,
                    origin: crate::domain::ledger::Origin::default(),
                };
                f.utbetalt_old(&mut fast, &ll);
                slow.extend_from_slice(ledger_record(&ll).join(",").as_bytes());
                slow.push(b'\n');
            }
        }
        assert_eq!(
            String::from_utf8(fast).unwrap(),
            String::from_utf8(slow).unwrap()
        );
    }

    /// The streamed block writes each new ledger line by copying fields of the `grunnlag.csv` line just
    /// written: it must give `utbetalt_line`'s bytes for every amount, including those that take the
    /// general path, and whatever a recycled buffer held before.
    #[test]
    fn streamed_block_copies_the_general_ledger_bytes() {
        use crate::domain::engine::LineSink;
        let fnrs: Vec<Fnr> = (100..900)
            .filter_map(|i| Fnr::with_control_digits(&format!("020270{i:03}")))
            .take(4)
            .collect();
        let t: Termin = "2025-Q1".parse().unwrap();
        let amounts = [
            "0",
            "-0.00",
            "0.01",
            "-0.01",
            "0.5",
            "-1",
            "99.99",
            "-123456.78",
            "235000",
            "92233720368547758.07",
            "-92233720368547758.08",
            "92233720368547758.08",
            "2.345",
            "-0.004",
            "79228162514264337593543950335",
        ];
        let mut lines = Vec::new();
        for (i, a) in amounts.iter().cycle().take(90).enumerate() {
            let b = amounts[(i * 7 + 3) % amounts.len()];
            let duf = [None, Some("202300000123")][i % 2];
            let mut l = line_with(fnrs[i / 23], [b, b, a, a], duf, [None, Some(12)][i % 2]);
            l.key.kode = RateCode::ALL[i % RateCode::ALL.len()];
            l.key.kommune = Knr::parse(["0301", "0001", "9999"][i % 3]).unwrap();
            l.key.ar = [2024, 1, -5, i32::MAX, i32::MIN][i % 5];
            lines.push(l);
        }
        // A recycled buffer full of other text.
        TEXT_POOL.bufs.lock().unwrap().push(vec![b'x'; 1 << 16]);
        let (gtx, _grx) = std::sync::mpsc::sync_channel(4);
        let (utx, _urx) = std::sync::mpsc::sync_channel(4);
        let stream = BasisStream::new(t, gtx, utx, 0, false).unwrap();
        let part = stream.block(&lines, &[]);
        let (mut g, mut u) = (Vec::new(), Vec::new());
        for l in &lines {
            grunnlag_line(&mut g, "2025-Q1", l);
            if !l.a_utbetale.is_zero() {
                utbetalt_line(&mut u, "2025-Q1", l.key, l.a_utbetale);
            }
        }
        assert!(u.len() > 1000);
        assert_eq!(
            String::from_utf8(part.grunnlag).unwrap(),
            String::from_utf8(g).unwrap()
        );
        assert_eq!(
            String::from_utf8(part.utbetalt).unwrap(),
            String::from_utf8(u).unwrap()
        );
        let new = lines.iter().filter(|l| !l.a_utbetale.is_zero()).count();
        assert_eq!(
            part.flags,
            LedgerFlags {
                carried: 0,
                this_termin: vec![true; new]
            }
        );
    }

    #[test]
    fn ore_text_is_the_decimal_with_two_decimals() {
        let check = |ore: i64| {
            let mut b = LineBuf::new();
            b.ore(ore);
            let fast = std::str::from_utf8(&b.b[..b.n]).unwrap().to_string();
            let d = Decimal::new(ore, 2);
            // Decimal's own text with two decimals; zero is 0.00, never -0.00.
            assert_eq!(fast, d.to_string(), "{ore}");
            assert_eq!(fast, fmt_money(d), "{ore}");
            let mut m = [0u8; 48];
            let n = money_bytes(&mut m, d);
            assert_eq!(fast.as_bytes(), &m[..n], "{ore}");
            assert_eq!(ore_of(d), Some(ore));
        };
        for ore in [
            0,
            1,
            -1,
            9,
            -9,
            10,
            99,
            -99,
            100,
            -100,
            101,
            12345,
            -12345,
            23_500_000,
            999_999_999,
            1_000_000_000,
            i64::MAX,
            i64::MIN,
            i64::MAX - 1,
            i64::MIN + 1,
        ] {
            check(ore);
        }
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            // xorshift: amounts of every size and sign.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let shift = (x % 64) as u32;
            check((x as i64) >> shift);
        }
        // Plain and zero-padded numbers of every length, as `format!` writes them.
        let mut x: u64 = 12345;
        for i in 0..5_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for v in [i, x >> (i % 64), x % 100_000_000, u64::MAX - i] {
                for width in [0usize, 1, 2, 3, 4, 5, 11, 12] {
                    let mut b = LineBuf::new();
                    b.uint(v, width);
                    assert_eq!(
                        std::str::from_utf8(&b.b[..b.n]).unwrap(),
                        format!("{v:0width$}"),
                        "{v} {width}"
                    );
                }
            }
        }
        // Scales 0 and 1 convert exactly, beyond two decimals or i64 they do not.
        assert_eq!(ore_of(Decimal::new(5, 0)), Some(500));
        assert_eq!(ore_of(Decimal::new(-5, 1)), Some(-50));
        assert_eq!(ore_of(Decimal::new(5, 3)), None);
        assert_eq!(ore_of(Decimal::new(i64::MAX, 0)), None);
        assert_eq!(ore_of(Decimal::from_str("-0.00").unwrap()), Some(0));
    }

    #[test]
    fn avvik_file_is_the_csv_of_avvik_record() {
        let fnr = (100..500)
            .find_map(|i| Fnr::with_control_digits(&format!("018180{i:03}")))
            .unwrap();
        let avvik = vec![
            Avvik::rejected(
                "x.csv",
                Some(3),
                Some("fnr"),
                "k",
                format!("bad {fnr}, \"quoted\""),
            )
            .with_fnr(Some(fnr)),
            Avvik::warning(
                "y.csv",
                None,
                None,
                "w",
                "12345678901 and 123456789012 æøå".to_string(),
            ),
            Avvik::warning("", Some(0), Some(""), "", String::new()),
            Avvik::rejected(
                "z,comma.csv",
                Some(u64::MAX),
                None,
                "k\nl",
                "line\nbreak".into(),
            ),
        ];
        let mut fast = Vec::new();
        write_avvik(&mut fast, &avvik).unwrap();
        let mut c = csv_writer(Vec::new());
        c.write_record(AVVIK_HEADER).unwrap();
        for a in &avvik {
            c.write_record(avvik_record(a)).unwrap();
        }
        assert_eq!(
            String::from_utf8(fast).unwrap(),
            String::from_utf8(c.into_inner().unwrap()).unwrap()
        );
        assert_eq!(&masked_fnr(&fnr), fnr.masked().as_bytes());
    }

    #[test]
    fn records_follow_spec_columns() {
        let fnr = (100..500)
            .find_map(|i| Fnr::with_control_digits(&format!("018180{i:03}")))
            .unwrap();
        let t: Termin = "2024-Q3".parse().unwrap();
        let l = BasisLine {
            key: LineKey {
                fnr,
                kommune: Knr::parse("0301").unwrap(),
                kode: RateCode::Ar2,
                ar: 2024,
            },
            duf: None,
            tilskuddsar: 2,
            maneder: Some(9),
            sats: Decimal::from(100000),
            opptjent: Decimal::from_str("75000").unwrap(),
            tidligere_utbetalt: Decimal::from_str("50000.5").unwrap(),
            a_utbetale: Decimal::from_str("24999.5").unwrap(),
            regler: RuleSet::of(&["IT-10", "IT-13"]),
        };
        let r = grunnlag_record(t, &l);
        assert_eq!(r[0], "2024-Q3");
        assert_eq!(r[2], fnr.as_str());
        assert_eq!(r[3], "");
        assert_eq!(
            &r[4..],
            [
                "AR-2",
                "2",
                "2024",
                "9",
                "100000.00",
                "75000.00",
                "50000.50",
                "24999.50",
                "IT-10|IT-13"
            ]
        );
        let a = Avvik::rejected("x.csv", Some(3), Some("fnr"), "k", format!("bad {}", fnr))
            .with_fnr(Some(fnr));
        let ar = avvik_record(&a);
        assert_eq!(ar[2], fnr.masked());
        assert!(!ar[4].contains(fnr.as_str()));
        assert_eq!(kommuner_header().len(), 3 + 12 + 2);
        // The streaming writers give the same text as the record functions.
        for x in ["-0.001", "0", "-12", "1234.5", "2.345", "-2.345"] {
            let mut b = String::new();
            push_money(&mut b, Decimal::from_str(x).unwrap());
            assert_eq!(b, fmt_money(Decimal::from_str(x).unwrap()), "{x}");
        }
        // The byte writer of grunnlag.csv gives exactly what the CSV writer gives for grunnlag_record,
        // also for DUF, no months, negative amounts, -0.004 (→ 0.00) and more than two decimals.
        let mut lines = vec![l.clone()];
        for (duf, m, x) in [
            (Some("202300000123"), None, "-0.004"),
            (None, Some(12), "-1234567.895"),
            (Some("199900000001"), Some(1), "0.005"),
        ] {
            let mut v = l.clone();
            v.duf = duf.map(|d| crate::domain::ids::Duf::parse(d, 2024).unwrap());
            v.maneder = m;
            v.sats = Decimal::from_str(x).unwrap();
            v.opptjent = Decimal::from_str(x).unwrap() * Decimal::from(3);
            v.tidligere_utbetalt = Decimal::ZERO - Decimal::from_str(x).unwrap();
            v.a_utbetale = Decimal::from_str("100").unwrap();
            v.regler = RuleSet::of(&["IT-4", "IT-6", "T-2"]);
            lines.push(v);
        }
        let result = TerminResult::from_parts(
            t,
            t.basis_date(),
            lines.clone(),
            vec![],
            vec![],
            vec![],
            vec![],
            Default::default(),
        );
        let mut fast = Vec::new();
        write_grunnlag(&mut fast, &result).unwrap();
        let mut c = csv_writer(Vec::new());
        c.write_record(GRUNNLAG_HEADER).unwrap();
        for x in &lines {
            c.write_record(grunnlag_record(t, x)).unwrap();
        }
        let slow = c.into_inner().unwrap();
        assert_eq!(
            String::from_utf8(fast).unwrap(),
            String::from_utf8(slow).unwrap()
        );
        // -1234567.895 rounds half away from zero to -1234567.90; ×3 = -3703703.685 → -3703703.69.
        assert_eq!(
            &grunnlag_record(t, &lines[2])[8..11],
            ["-1234567.90", "-3703703.69", "1234567.90"]
        );
        // -0.004 rounds to zero and is written 0.00, never -0.00.
        assert_eq!(grunnlag_record(t, &lines[1])[8], "0.00");
        let mut ledger_text = Vec::new();
        let ll = LedgerLine {
            termin: t,
            key: l.key,
            belop: Decimal::from_str("-10.5").unwrap(),
            origin: crate::domain::ledger::Origin::default(),
        };
        write_utbetalt(&mut ledger_text, std::slice::from_ref(&ll)).unwrap();
        assert_eq!(
            String::from_utf8(ledger_text)
                .unwrap()
                .lines()
                .nth(1)
                .unwrap(),
            ledger_record(&ll).join(",")
        );
    }
}
