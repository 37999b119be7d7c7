//! Log-domain arithmetic of the search: [`log_softmax`] and [`log_add`].
//!
//! The same bits on every target: a native build and the WebAssembly one must give the same
//! scores and so the same text, where the platforms' `expf` / `log1pf` differ in the last bit and
//! flip near ties. So `exp` here is `+ − ×` only (each correctly rounded by IEEE 754; Rust never
//! fuses a multiply and an add on its own), the one `ln` per row is the `libm` crate's (the same
//! code everywhere), and [`log_add`]'s table is built from `libm` in `f64`. They are also the
//! search's hottest functions (the CTC prefix scores call [`log_add`] per state and frame; every
//! joiner row goes through [`log_softmax`]).
//!
//! `exp(x)`: Cody–Waite reduction `x = n·ln 2 + r`, |r| ≤ ln 2 / 2, a degree-7 Taylor polynomial
//! for `exp(r)`, `2ⁿ` built in the exponent bits; within 4 units in the last place (tested over a
//! dense sweep against `f64`). `ln(1 + eᵈ)` in [`log_add`]: a cubic Taylor expansion around the
//! nearest of the points `d = −i/16`, coefficients tabled.

use std::sync::OnceLock;

/// Below this `exp` is under the smallest normal `f32` (1.18e-38) and [`exp`] returns 0.
const EXP_MIN: f32 = -87.33;
/// Above this `exp` overflows `f32`; [`exp`] returns `+inf`.
const EXP_MAX: f32 = 88.72;
const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split so that `n · LN2_HI` is exact for |n| < 2⁹ (Cody–Waite).
const LN2_HI: f32 = f32::from_bits(0x3F31_7200); // 0.693145751953125
const LN2_LO: f32 = 1.428_606_8e-6;
/// 1.5 · 2²³: adding it rounds a float below 2²² in magnitude to an integer, which then sits
/// in the low mantissa bits.
const ROUND: f32 = 12_582_912.0;

/// `eˣ` within 4 units in the last place; 0 below -87.33 (where the result would be
/// subnormal), `+inf` above 88.72, NaN for NaN.
#[inline]
fn exp(x: f32) -> f32 {
    if x < EXP_MIN {
        return 0.0;
    }
    if x > EXP_MAX {
        return f32::INFINITY;
    }
    // NaN passes both tests: `p` is NaN, so the result is too.
    let t = x * LOG2E + ROUND;
    let n = t - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // n ∈ [−126, 128] here; 2ⁿ as two factors so that n = 128 does not overflow the exponent.
    let n_int = t.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    let half = n_int / 2;
    let a = f32::from_bits((half.wrapping_add(127) as u32) << 23);
    let b = f32::from_bits((n_int.wrapping_sub(half).wrapping_add(127) as u32) << 23);
    p * a * b
}

/// In-place log-softmax. Returns `false` if the logits contain NaN or `+inf` (then the
/// contents are unspecified); `-inf` entries are allowed and get probability 0.
pub(crate) fn log_softmax(x: &mut [f32]) -> bool {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        // All -inf, or a +inf; NaNs are skipped by f32::max and caught below.
        return false;
    }
    let sum: f32 = x.iter().map(|&v| exp(v - max)).sum();
    let lse = max + libm::logf(sum);
    if !lse.is_finite() {
        return false;
    }
    for v in x.iter_mut() {
        *v -= lse;
    }
    true
}

/// Table points per unit of `d` in [`log_add`].
const STEPS: f32 = 16.0;
/// Below `d = -CUTOFF`, `ln(1 + eᵈ)` is under 4.2e-8 and [`log_add`] returns the larger term.
const CUTOFF: f32 = 17.0;
const NODES: usize = (CUTOFF * STEPS) as usize + 1;

/// Taylor coefficients of `f(d) = ln(1 + eᵈ)` at `d = -i / STEPS`: `f`, `f′`, `f″ / 2`,
/// `f‴ / 6`, computed in `f64` with the `libm` crate (the same bits on every target).
fn log_add_table() -> &'static [[f32; 4]; NODES] {
    static TABLE: OnceLock<[[f32; 4]; NODES]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [[0.0f32; 4]; NODES];
        for (i, c) in t.iter_mut().enumerate() {
            let d = -(i as f64) / f64::from(STEPS);
            // f′ = σ(d), f″ = σ(1 − σ), f‴ = σ(1 − σ)(1 − 2σ).
            let sig = 1.0 / (1.0 + libm::exp(-d));
            let f2 = sig * (1.0 - sig);
            let f3 = f2 * (1.0 - 2.0 * sig);
            *c = [
                libm::log1p(libm::exp(d)) as f32,
                sig as f32,
                (f2 / 2.0) as f32,
                (f3 / 6.0) as f32,
            ];
        }
        t
    })
}

/// `log(exp(a) + exp(b))` without overflow; `-inf` is the log of 0. The correction
/// `ln(1 + eᵈ)` (`d` = smaller − larger ≤ 0) comes from the table around the nearest point
/// (|δ| ≤ 1/32: truncation error under 1e-8), and is 0 below `d = -17`.
#[inline]
pub(crate) fn log_add(a: f32, b: f32) -> f32 {
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    if lo == f32::NEG_INFINITY {
        return hi;
    }
    let d = lo - hi;
    if d < -CUTOFF {
        return hi;
    }
    // The nearest point; a NaN `d` gives index 0, and the NaN stays in `x`.
    let i = ((-d * STEPS + 0.5) as usize).min(NODES - 1);
    let c = &log_add_table()[i];
    let x = d + i as f32 / STEPS;
    hi + (c[0] + x * (c[1] + x * (c[2] + x * c[3])))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Units in the last place between `got` and the exact `want`.
    fn ulps(got: f32, want: f64) -> f64 {
        let w = want as f32;
        let ulp = (f32::from_bits(w.abs().to_bits() + 1) - w.abs()) as f64;
        (got as f64 - want).abs() / ulp
    }

    #[test]
    fn exp_is_within_a_few_ulps() {
        let mut worst: f64 = 0.0;
        let mut x = EXP_MIN;
        while x < EXP_MAX {
            worst = worst.max(ulps(exp(x), (x as f64).exp()));
            x += 0.000_37;
        }
        assert!(worst <= 4.0, "worst {worst} ulps");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(-100.0), 0.0);
        assert_eq!(exp(f32::INFINITY), f32::INFINITY);
        assert!(exp(f32::NAN).is_nan());
        assert!(exp(88.7).is_finite());
    }

    #[test]
    fn log_add_is_accurate() {
        let mut worst: f64 = 0.0;
        for hi in [-0.0f32, -1e-4, -0.3, -1.0, -7.5, -60.0, -400.0] {
            let mut d = 0.0f32;
            while d > -30.0 {
                let lo = hi + d;
                let l = (((lo as f64) - (hi as f64)).exp()).ln_1p();
                let want = hi as f64 + l;
                // Against the size of the terms (the sum itself may cancel to near 0), plus
                // the cutoff's 4.2e-8.
                let err = (log_add(hi, lo) as f64 - want).abs() - 4.2e-8;
                worst = worst.max(err / (hi.abs() as f64 + l));
                d -= 0.0013;
            }
        }
        assert!(worst < 2.5e-7, "worst relative error {worst}");
        assert_eq!(log_add(-2.0, f32::NEG_INFINITY), -2.0);
        assert_eq!(log_add(f32::NEG_INFINITY, -2.0), -2.0);
        assert_eq!(
            log_add(f32::NEG_INFINITY, f32::NEG_INFINITY),
            f32::NEG_INFINITY
        );
        assert_eq!(log_add(-1.0, -1.0), -1.0 + std::f32::consts::LN_2);
        assert!(log_add(f32::NAN, -1.0).is_nan());
        assert!(log_add(-1.0, f32::NAN).is_nan());
    }

    #[test]
    fn log_softmax_normalizes_and_rejects_bad_rows() {
        let mut x = vec![1.0f32, 2.0, 3.0, f32::NEG_INFINITY];
        assert!(log_softmax(&mut x));
        let total: f64 = x.iter().map(|&v| (v as f64).exp()).sum();
        assert!((total - 1.0).abs() < 1e-6, "{total}");
        assert_eq!(x[3], f32::NEG_INFINITY);
        assert!(!log_softmax(&mut [1.0, f32::NAN]));
        assert!(!log_softmax(&mut [1.0, f32::INFINITY]));
        assert!(!log_softmax(&mut [f32::NEG_INFINITY; 3]));
    }
}
