//! Sorting many rows by a person number (issue 6): the readers' duplicate check and the join of
//! `flyttinger` with `personer` sort a million rows by fnr. A comparison sort of (number, line, fnr)
//! tuples was a tenth of the read phase; a stable radix sort of one `u64` per row (the number with the
//! row's index below it) costs a few passes over 8 MB.

/// Bits of a person number as an integer ([`crate::domain::ids::Fnr::number`] < 10^11 < 2^37).
pub(crate) const FNR_BITS: u32 = 37;

/// Bits that hold every index below `n`.
pub(crate) fn index_bits(n: usize) -> u32 {
    usize::BITS - n.saturating_sub(1).leading_zeros()
}

/// Bits per radix pass: 1024 counters (4 KB each pass) stay in the L1 cache.
const DIGIT: u32 = 10;

/// Sorts `v` stably by `key`, every key below 2^`bits`: equal keys keep their order in `v`. An LSD
/// radix sort; a pass whose digit is the same for every element is skipped.
pub(crate) fn radix_sort_by_key<T: Copy>(v: &mut Vec<T>, bits: u32, key: impl Fn(&T) -> u64) {
    let n = v.len();
    if n < 64 {
        v.sort_by_key(|x| key(x));
        return;
    }
    let passes = bits.div_ceil(DIGIT).max(1) as usize;
    let mask = (1u64 << DIGIT) - 1;
    let mut counts = vec![[0usize; 1 << DIGIT]; passes];
    let mut any_bits = 0u64;
    for x in v.iter() {
        let k = key(x);
        any_bits |= k;
        for (p, c) in counts.iter_mut().enumerate() {
            c[((k >> (p as u32 * DIGIT)) & mask) as usize] += 1;
        }
    }
    // A wider key would be sorted by its low `bits` only (a caller's bug, not the data's): a debug build
    // says so, a release build sorts by the whole key (the same stable order, only slower).
    let sorted_bits = passes as u32 * DIGIT; // passes ≤ 7
    let wider = sorted_bits < 64 && any_bits >> sorted_bits != 0;
    debug_assert!(!wider, "radix key wider than {bits} bits");
    if wider {
        v.sort_by_key(|x| key(x));
        return;
    }
    let mut src = std::mem::take(v);
    // Every slot is written before the pass ends: the contents start as a copy only to be initialised.
    let mut dst = src.clone();
    for (p, c) in counts.iter().enumerate() {
        if c.contains(&n) {
            continue; // one digit value only: the pass would not move anything
        }
        let mut at = [0usize; 1 << DIGIT];
        let mut sum = 0;
        for (a, &k) in at.iter_mut().zip(c.iter()) {
            *a = sum;
            sum += k;
        }
        let shift = p as u32 * DIGIT;
        for x in &src {
            let d = ((key(x) >> shift) & mask) as usize;
            dst[at[d]] = *x;
            at[d] += 1;
        }
        std::mem::swap(&mut src, &mut dst);
    }
    *v = src;
}

/// Rows `0..keys.len()` ordered by (key, row) — equal keys keep row order — returned as the sorted keys
/// and the rows. Every key must be below 2^`key_bits`. A stable radix sort by the key alone
/// ([`radix_sort_by_key`]: a few passes over the data instead of a comparison sort), of key and row
/// packed into one `u64` when they fit (always so for fnr numbers below 2^27 rows). Rows are `u32`: the
/// readers refuse a table of more rows first (`dsf::MAX_ROWS`), so none is cut.
pub(crate) fn order_by_key(mut keys: Vec<u64>, key_bits: u32) -> (Vec<u64>, Vec<u32>) {
    if keys.is_sorted() {
        // Already in order (e.g. an extract listed by fnr): the rows are in order too.
        let rows = (0..keys.len() as u32).collect();
        return (keys, rows);
    }
    let bits = index_bits(keys.len());
    if key_bits + bits <= 64 {
        for (i, k) in keys.iter_mut().enumerate() {
            *k = (*k << bits) | i as u64;
        }
        // Stable by key, rows in order before: (key, row) order.
        radix_sort_by_key(&mut keys, key_bits, |&x| x >> bits);
        let mask = (1u64 << bits) - 1;
        let rows = keys.iter().map(|&v| (v & mask) as u32).collect();
        for k in keys.iter_mut() {
            *k >>= bits;
        }
        (keys, rows)
    } else {
        let mut pairs: Vec<(u64, u32)> = keys
            .into_iter()
            .enumerate()
            .map(|(i, k)| (k, i as u32))
            .collect();
        radix_sort_by_key(&mut pairs, key_bits, |p| p.0);
        pairs.into_iter().unzip()
    }
}

/// The indices `0..nums.len()` ordered by `nums[i]` (each below 2^[`FNR_BITS`]), equal numbers in index
/// order; returned with the numbers in that order ([`order_by_key`] of person numbers).
pub(crate) fn order_by_number(nums: &[u64]) -> (Vec<u64>, Vec<u32>) {
    order_by_key(nums.to_vec(), FNR_BITS)
}

/// The runs of equal numbers in `sorted`: each number once, with the range of its positions.
pub(crate) fn runs(sorted: &[u64]) -> impl Iterator<Item = (u64, std::ops::Range<usize>)> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let &num = sorted.get(i)?;
        let start = i;
        i += sorted[i..].iter().take_while(|&&n| n == num).count();
        Some((num, start..i))
    })
}

/// The first index `i >= from` with `sorted[i] >= key`, for keys asked in ascending order: gallops
/// forward from `from` (every element before `from` must be below `key`).
pub(crate) fn lower_bound_from(sorted: &[u64], key: u64, from: usize) -> usize {
    let rest = sorted.get(from..).unwrap_or_default();
    let mut step = 1;
    let mut lo = 0;
    // Invariant: rest[..lo] < key.
    while lo + step <= rest.len() && rest[lo + step - 1] < key {
        lo += step;
        step *= 2;
    }
    let hi = (lo + step).min(rest.len());
    from + lo + rest[lo..hi].partition_point(|&x| x < key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_the_equal_numbers_with_their_positions() {
        let got: Vec<_> = runs(&[1, 1, 3, 5, 5, 5]).collect();
        assert_eq!(got, vec![(1, 0..2), (3, 2..3), (5, 3..6)]);
        assert_eq!(runs(&[]).count(), 0);
    }

    /// A small deterministic generator (xorshift).
    fn numbers(n: usize, modulo: u64, seed: u64) -> Vec<u64> {
        let mut s = seed | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                s % modulo
            })
            .collect()
    }

    #[test]
    fn radix_sort_is_the_stable_sort() {
        for (n, modulo) in [
            (0, 10),
            (1, 10),
            (63, 5),
            (64, 5),
            (1000, 3),
            (5000, 1 << 37),
            (3000, 99_999_999_999),
        ] {
            let nums = numbers(n, modulo, n as u64 + 7);
            let mut pairs: Vec<(u64, usize)> = nums.iter().copied().zip(0..).collect();
            let mut want = pairs.clone();
            want.sort_by_key(|p| p.0);
            radix_sort_by_key(&mut pairs, FNR_BITS, |p| p.0);
            assert_eq!(pairs, want, "n {n}");
            let (sorted, idx) = order_by_number(&nums);
            assert_eq!(sorted, want.iter().map(|p| p.0).collect::<Vec<_>>());
            assert_eq!(
                idx,
                want.iter().map(|p| p.1 as u32).collect::<Vec<_>>(),
                "n {n}"
            );
        }
        // The largest numbers, and every element with the same digits but one.
        let mut v = vec![(1u64 << 37) - 1, 0, (1 << 37) - 2, 1 << 20, 1 << 36];
        v.extend((0..100).map(|i| (i % 3) << 30));
        let mut want = v.clone();
        want.sort();
        radix_sort_by_key(&mut v, FNR_BITS, |&x| x);
        assert_eq!(v, want);
    }

    #[test]
    #[cfg_attr(
        debug_assertions,
        should_panic(expected = "radix key wider than 20 bits")
    )]
    fn a_key_wider_than_its_bits_is_still_sorted_in_a_release_build() {
        let nums = numbers(1000, 1 << 40, 7);
        let mut v = nums.clone();
        radix_sort_by_key(&mut v, 20, |x| *x);
        let mut want = nums;
        want.sort();
        assert_eq!(v, want);
    }

    #[test]
    fn lower_bound_from_any_start_below_the_key() {
        let v: Vec<u64> = vec![1, 3, 3, 3, 7, 9, 9, 12, 40, 41, 42, 43, 44, 45, 46, 100];
        for key in 0..=101 {
            let want = v.partition_point(|&x| x < key);
            for from in 0..=want {
                assert_eq!(
                    lower_bound_from(&v, key, from),
                    want,
                    "key {key} from {from}"
                );
            }
        }
        assert_eq!(lower_bound_from(&[], 5, 0), 0);
    }

    #[test]
    fn index_bits_hold_every_index() {
        assert_eq!(index_bits(0), 0);
        assert_eq!(index_bits(1), 0);
        assert_eq!(index_bits(2), 1);
        assert_eq!(index_bits(1 << 20), 20);
        assert_eq!(index_bits((1 << 20) + 1), 21);
    }
}
