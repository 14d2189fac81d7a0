//! Money: exact decimals in NOK with øre, rounded half away from zero (SPEC IT-13).
//!
//! `Decimal::round_dp` is banker's rounding; never use it for money here.

use rust_decimal::prelude::*;
use rust_decimal::{Decimal, RoundingStrategy};

/// Rounds to øre, half away from zero (IT-13).
pub fn round_ore(x: Decimal) -> Decimal {
    x.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// IT-13: the amount of month `j` (1..=12) of a yearly amount `a`:
/// `round(a·j/12) − round(a·(j−1)/12)`. The twelve months add up to `a` exactly (when `a` is in øre).
pub fn month_amount(a: Decimal, j: u32) -> Decimal {
    debug_assert!((1..=12).contains(&j));
    cumulative(a, j) - cumulative(a, j - 1)
}

/// IT-13: `round(a·j/12)`, the amount of months 1..=j of a yearly amount `a` together.
pub fn cumulative(a: Decimal, j: u32) -> Decimal {
    round_ore(a * Decimal::from(j) / Decimal::from(12))
}

/// [`cumulative`] for j = 0..=12 in whole øre, for adding up runs of months with integers: months i..=j
/// are `c[j] − c[i−1]`, exactly the sum of their [`month_amount`]s. A yearly amount so large that
/// `a·j` overflows a `Decimal` (far beyond any amount the readers accept) is computed with integers,
/// exactly, instead of panicking.
pub fn cumulative_ore(a: Decimal) -> [i128; 13] {
    let mut out = [0i128; 13];
    for (j, c) in out.iter_mut().enumerate() {
        let jd = Decimal::from(j as u32);
        *c = match a
            .checked_mul(jd)
            .and_then(|x| x.checked_div(Decimal::from(12)))
        {
            Some(x) => to_ore(round_ore(x)),
            None => {
                // round(m·10^-s·j/12) in øre = round(m·j·100 / (12·10^s)), half away from zero;
                // |m| < 2^96, so m·j·100 < 2^107 fits.
                let num = a.mantissa() * j as i128 * 100;
                let den = 12 * 10i128.pow(a.scale());
                let (q, r) = (num / den, num % den);
                if 2 * r.abs() >= den {
                    q + num.signum()
                } else {
                    q
                }
            }
        };
    }
    out
}

/// A value with at most two decimals (as [`round_ore`] leaves it) in whole øre.
fn to_ore(x: Decimal) -> i128 {
    let m = x.mantissa();
    match x.scale() {
        0 => m * 100,
        1 => m * 10,
        // `round_ore` leaves at most two decimals.
        _ => m,
    }
}

/// Whole øre as a `Decimal` with two decimals. Saturates at `Decimal`'s range (sums of month amounts of
/// accepted rates are far inside it).
pub fn from_ore(ore: i128) -> Decimal {
    Decimal::try_from_i128_with_scale(ore, 2).unwrap_or(if ore < 0 {
        Decimal::MIN
    } else {
        Decimal::MAX
    })
}

/// The amounts of all twelve months of a yearly amount (IT-13), index 0 = January.
pub fn month_amounts(a: Decimal) -> [Decimal; 12] {
    let mut out = [Decimal::ZERO; 12];
    for (i, m) in out.iter_mut().enumerate() {
        *m = month_amount(a, i as u32 + 1);
    }
    out
}

/// `1234.50`: a plain decimal with a point and exactly two decimals (SPEC §6).
pub fn fmt_money(x: Decimal) -> String {
    let r = round_ore(x);
    let mut s = format!("{:.2}", r);
    if s == "-0.00" {
        s = "0.00".into();
    }
    s
}

/// Converts a spreadsheet number to a decimal without passing through a lossy text guess: the shortest
/// representation that round-trips the `f64` is taken as the exact value (Excel stores `1234.5` as the
/// nearest binary double; its shortest form is the value the user typed).
pub fn decimal_from_sheet_number(x: f64) -> Option<Decimal> {
    if !x.is_finite() {
        return None;
    }
    Decimal::from_str(&format!("{x}"))
        .ok()
        .or_else(|| Decimal::from_f64(x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros_free::dec;

    mod rust_decimal_macros_free {
        macro_rules! dec {
            ($s:expr) => {
                rust_decimal::Decimal::from_str_exact(stringify!($s)).unwrap()
            };
        }
        pub(crate) use dec;
    }

    #[test]
    fn it13_half_away_from_zero() {
        assert_eq!(round_ore(dec!(2.345)), dec!(2.35));
        assert_eq!(round_ore(dec!(-2.345)), dec!(-2.35));
        assert_eq!(round_ore(dec!(2.344)), dec!(2.34));
    }

    #[test]
    fn it13_months_of_100_000() {
        // 100000/12 = 8333.333…: month 1 = round(8333.333) − 0 = 8333.33;
        // month 2 = round(16666.667) − 8333.33 = 16666.67 − 8333.33 = 8333.34;
        // month 3 = 25000.00 − 16666.67 = 8333.33.
        let m = month_amounts(dec!(100000));
        assert_eq!(m[0], dec!(8333.33));
        assert_eq!(m[1], dec!(8333.34));
        assert_eq!(m[2], dec!(8333.33));
        assert_eq!(m.iter().copied().sum::<Decimal>(), dec!(100000));
    }

    #[test]
    fn it13_months_of_awkward_amount_sum_exactly() {
        for a in [
            dec!(235000),
            dec!(70500),
            dec!(0.01),
            dec!(0.05),
            dec!(1118000),
            dec!(999999.99),
        ] {
            assert_eq!(month_amounts(a).iter().copied().sum::<Decimal>(), a, "{a}");
        }
    }

    #[test]
    fn it13_cumulative_ore_matches_month_amounts() {
        for a in [
            dec!(235000),
            dec!(70500.5),
            dec!(0.01),
            dec!(0.05),
            dec!(1118000),
            dec!(999999.99),
            dec!(100000.125),
            dec!(999999999999999.99),
        ] {
            let c = cumulative_ore(a);
            assert_eq!(c[0], 0);
            for j in 1..=12u32 {
                assert_eq!(
                    from_ore(c[j as usize] - c[j as usize - 1]),
                    month_amount(a, j),
                    "{a} {j}"
                );
                assert_eq!(from_ore(c[j as usize]), cumulative(a, j), "{a} {j}");
            }
        }
        // Beyond Decimal's range for a·j: integers, rounded half away from zero, no panic.
        let huge = Decimal::MAX;
        let c = cumulative_ore(huge);
        assert_eq!(c[12], huge.mantissa() * 100);
        assert_eq!(c[6], huge.mantissa() * 50);
        assert_eq!(from_ore(c[12] * 2), Decimal::MAX);
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_money(dec!(1234.5)), "1234.50");
        assert_eq!(fmt_money(dec!(-0.001)), "0.00");
        assert_eq!(fmt_money(dec!(-12)), "-12.00");
        assert_eq!(decimal_from_sheet_number(1234.5), Some(dec!(1234.5)));
        assert_eq!(decimal_from_sheet_number(0.1), Some(dec!(0.1)));
    }
}
