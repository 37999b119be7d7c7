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
//! `exp(x)` (for `x ≤ 0`, all a log-softmax needs): Cody–Waite reduction `x = n·ln 2 + r`,
//! |r| ≤ ln 2 / 2, a degree-7 Taylor polynomial for `exp(r)`, `2ⁿ` built in the exponent bits;
//! within 4 units in the last place (tested over a dense sweep against `f64`). `ln(1 + eᵈ)` in
//! [`log_add`]: a cubic Taylor expansion around the nearest of the points `d = −i/16`,
//! coefficients tabled.

use std::sync::OnceLock;

/// Below this `eˣ` is under the smallest normal `f32` (1.18e-38) and [`exp_nonpos`] returns 0.
const EXP_MIN: f32 = -87.33;
const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split so that `n · LN2_HI` is exact for |n| < 2⁹ (Cody–Waite).
const LN2_HI: f32 = f32::from_bits(0x3F31_7200); // 0.693145751953125
const LN2_LO: f32 = 1.428_606_8e-6;
/// 1.5 · 2²³: adding it rounds a float below 2²² in magnitude to an integer, which then sits
/// in the low mantissa bits.
const ROUND: f32 = 12_582_912.0;

/// Lanes of [`log_softmax`]'s max and sum: the row is read in blocks of this many values, lane
/// `i` takes every value at `i` modulo it, and the lanes are combined in a fixed tree. The order
/// of the additions is part of the definition, so every build (scalar, SSE2, AVX2, WebAssembly)
/// rounds the same way and gets the same bits, while a vector unit can run the lanes at once.
const LANES: usize = 16;

/// `eˣ` for `x ≤ 0` within 4 units in the last place, 0 below -87.33 (where the result would be
/// subnormal), NaN for NaN. Without branches, so that a loop of it vectorizes: both ends are
/// selects.
#[inline(always)]
fn exp_nonpos(x: f32) -> f32 {
    // NaN fails the comparison and stays NaN (so the row is rejected).
    let xc = if x < EXP_MIN { EXP_MIN } else { x };
    let t = xc * LOG2E + ROUND;
    let n = t - ROUND;
    let r = xc - n * LN2_HI - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // n ∈ [−126, 0]: 2ⁿ is one normal float, built in the exponent bits.
    let n_int = t.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    let two_n = f32::from_bits((n_int.wrapping_add(127) as u32) << 23);
    let v = p * two_n;
    if x < EXP_MIN {
        0.0
    } else {
        v
    }
}

/// Sum of the lanes in a fixed pairwise order.
#[inline(always)]
fn tree_sum(mut s: [f32; LANES]) -> f32 {
    let mut w = LANES / 2;
    while w > 0 {
        for i in 0..w {
            s[i] += s[i + w];
        }
        w /= 2;
    }
    s[0]
}

/// The body of [`log_softmax`], compiled once per instruction set.
#[inline(always)]
fn log_softmax_lanes(x: &mut [f32]) -> bool {
    let mut m = [f32::NEG_INFINITY; LANES];
    let mut blocks = x.chunks_exact(LANES);
    for b in &mut blocks {
        for i in 0..LANES {
            // NaN never wins a comparison, so it is skipped here and caught by the sum.
            m[i] = if b[i] > m[i] { b[i] } else { m[i] };
        }
    }
    for (i, &v) in blocks.remainder().iter().enumerate() {
        m[i] = if v > m[i] { v } else { m[i] };
    }
    let max = m
        .iter()
        .fold(f32::NEG_INFINITY, |a, &b| if b > a { b } else { a });
    if !max.is_finite() {
        // All -inf (or NaN), or a +inf.
        return false;
    }
    let mut s = [0.0f32; LANES];
    let mut blocks = x.chunks_exact(LANES);
    for b in &mut blocks {
        for i in 0..LANES {
            s[i] += exp_nonpos(b[i] - max);
        }
    }
    for (i, &v) in blocks.remainder().iter().enumerate() {
        s[i] += exp_nonpos(v - max);
    }
    let lse = max + libm::logf(tree_sum(s));
    if !lse.is_finite() {
        return false;
    }
    for v in x.iter_mut() {
        *v -= lse;
    }
    true
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn log_softmax_avx2(x: &mut [f32]) -> bool {
    log_softmax_lanes(x)
}

/// Whether the AVX2 build of [`log_softmax`] may run (std caches the CPU check).
#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

/// In-place log-softmax. Returns `false` if the logits contain NaN or `+inf` (then the
/// contents are unspecified); `-inf` entries are allowed and get probability 0.
///
/// Every joiner row of the search goes through here. The AVX2 build is chosen at run time
/// where the CPU has it; it gives the same bits as the portable one (the order of every
/// operation is fixed by the lanes, and Rust never fuses a multiply and an add).
pub(crate) fn log_softmax(x: &mut [f32]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2 (checked above).
        return unsafe { log_softmax_avx2(x) };
    }
    log_softmax_lanes(x)
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
        while x <= 0.0 {
            worst = worst.max(ulps(exp_nonpos(x), (x as f64).exp()));
            x += 0.000_37;
        }
        assert!(worst <= 4.0, "worst {worst} ulps");
        assert_eq!(exp_nonpos(0.0), 1.0);
        assert_eq!(exp_nonpos(-0.0), 1.0);
        assert_eq!(exp_nonpos(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_nonpos(-100.0), 0.0);
        assert!(exp_nonpos(f32::NAN).is_nan());
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
        assert!(!log_softmax(&mut [f32::NAN; 20]));
        let mut long = vec![0.5f32; 37];
        long[33] = f32::NAN;
        assert!(!log_softmax(&mut long));
    }

    /// A deterministic pseudo-random row of joiner-like logits in [-25, 15).
    fn row(seed: u64, len: usize) -> Vec<f32> {
        let mut rng = crate::toy::SplitMix(seed);
        (0..len).map(|_| rng.uniform() * 20.0 - 5.0).collect()
    }

    /// The lanes against a plain sequential log-softmax in f64: the order of the additions
    /// changes only the last bits.
    #[test]
    fn log_softmax_matches_f64() {
        for (seed, len) in [
            (1, 1),
            (2, 7),
            (3, 16),
            (4, 17),
            (5, 256),
            (6, 500),
            (7, 33),
        ] {
            let mut x = row(seed, len);
            let want: Vec<f64> = {
                let m = x.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b as f64));
                let lse = m + x.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln();
                x.iter().map(|&v| v as f64 - lse).collect()
            };
            assert!(log_softmax(&mut x));
            for (g, w) in x.iter().zip(&want) {
                assert!((*g as f64 - w).abs() < 2e-5 * (1.0 + w.abs()), "{g} vs {w}");
            }
        }
    }

    /// The AVX2 build gives the same bits as the portable one (the run-time choice must not
    /// change a transcript).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_log_softmax_is_bit_identical() {
        if !has_avx2() {
            eprintln!("skipped: this CPU has no AVX2");
            return;
        }
        for seed in 0..200u64 {
            let len = 1 + (seed as usize * 37) % 600;
            let mut a = row(seed, len);
            if seed % 7 == 0 {
                a[len / 2] = f32::NEG_INFINITY;
            }
            let mut b = a.clone();
            let ra = log_softmax_lanes(&mut a);
            // SAFETY: AVX2 checked above.
            let rb = unsafe { log_softmax_avx2(&mut b) };
            assert_eq!(ra, rb);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a), bits(&b), "seed {seed}, len {len}");
        }
    }
}
