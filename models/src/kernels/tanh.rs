//! Fast `tanh` over slices: the transducer joiner's activation. Beam search runs it on every
//! hypothesis × joiner unit of every frame, where libm's `tanhf` (through `expm1f`) took a
//! fifth of the decoding time at beam 128.
//!
//! One branch-free formula, [`tanh`], written so that compilers vectorize it:
//! `tanh(x) = (e − 1) / (e + 1)` with `e = exp(2x)` and `x` clamped to ±9 (where `tanh` is 1
//! within 3e-8); `exp` by Cody–Waite reduction to `2ⁿ · exp(r)`, |r| ≤ ln 2 / 2, and a
//! degree-7 Taylor polynomial, `2ⁿ` built in the exponent bits. Absolute error ≤ 4e-7 against
//! the exact value (tested over a dense sweep); NaN stays NaN.
//!
//! The SIMD variants are the same code compiled with AVX2 or AVX-512 enabled. Rust never fuses a
//! multiply and an add on its own and every operation here is element-wise and correctly rounded,
//! so they are bit-identical to the scalar reference (tested). On aarch64 NEON is part of the
//! baseline, so the reference is already vectorized there.

use super::Variant;

const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split so that `n · LN2_HI` is exact for |n| < 2⁹ (Cody–Waite).
const LN2_HI: f32 = f32::from_bits(0x3F31_7200); // 0.693145751953125
const LN2_LO: f32 = 1.428_606_8e-6;
/// 1.5 · 2²³: adding it rounds a float below 2²² in magnitude to an integer, which then sits in
/// the low mantissa bits.
const ROUND: f32 = 12_582_912.0;
/// Beyond this `tanh` is ±1 to f32 precision (1 − tanh 9 = 3.0e-8).
const CLAMP: f32 = 9.0;

/// `tanh(x)` by the formula in the module documentation (the scalar reference).
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    // `clamp` keeps NaN (unlike `min`/`max`).
    let x = x.clamp(-CLAMP, CLAMP);
    let y = 2.0 * x;
    let t = y * LOG2E + ROUND;
    let n = t - ROUND;
    let r = y - n * LN2_HI - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // n ∈ [−26, 26] here, so 2ⁿ is a normal float: exponent field n + 127.
    let n_int = t.to_bits().wrapping_sub(ROUND.to_bits());
    let two_n = f32::from_bits(n_int.wrapping_add(127) << 23);
    let e = p * two_n;
    (e - 1.0) / (e + 1.0)
}

#[inline(always)]
fn add_tanh_rows_body(rows: &mut [f32], bias: &[f32]) {
    for row in rows.chunks_exact_mut(bias.len()) {
        for (v, b) in row.iter_mut().zip(bias) {
            *v = tanh(*v + b);
        }
    }
}

/// Scalar reference of [`add_tanh_rows`].
pub fn add_tanh_rows_scalar(rows: &mut [f32], bias: &[f32]) {
    add_tanh_rows_body(rows, bias)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn add_tanh_rows_avx2(rows: &mut [f32], bias: &[f32]) {
    add_tanh_rows_body(rows, bias)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn add_tanh_rows_avx512(rows: &mut [f32], bias: &[f32]) {
    add_tanh_rows_body(rows, bias)
}

/// `rows[i] = tanh(rows[i] + bias[i mod bias.len()])`: `rows` is `[n, bias.len()]` row-major
/// (the joiner: projected prediction outputs plus one projected encoder frame).
///
/// # Panics
/// If `bias` is empty or `rows.len()` is not a multiple of `bias.len()`.
pub fn add_tanh_rows(rows: &mut [f32], bias: &[f32]) {
    add_tanh_rows_with(super::best_variant(), rows, bias)
}

/// [`add_tanh_rows`] with an explicit variant.
///
/// # Panics
/// If the CPU does not support `variant`, or on a shape mismatch as in [`add_tanh_rows`].
pub fn add_tanh_rows_with(variant: Variant, rows: &mut [f32], bias: &[f32]) {
    assert!(
        !bias.is_empty() && rows.len().is_multiple_of(bias.len()),
        "add_tanh_rows: rows length {} is not a multiple of bias length {}",
        rows.len(),
        bias.len()
    );
    assert!(
        variant.is_available(),
        "kernel variant {variant} is not supported by this CPU"
    );
    match variant {
        // SAFETY: availability checked above (AVX2 implies the features this body uses).
        #[cfg(target_arch = "x86_64")]
        Variant::Avx2 => unsafe { add_tanh_rows_avx2(rows, bias) },
        // SAFETY: as above (the VNNI variant requires AVX-512 F).
        #[cfg(target_arch = "x86_64")]
        Variant::Avx512Vnni => unsafe { add_tanh_rows_avx512(rows, bias) },
        _ => add_tanh_rows_scalar(rows, bias),
    }
}
