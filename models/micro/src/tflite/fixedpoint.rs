//! TFLite's fixed-point requantization helpers (`tensorflow/lite/kernels/internal/common.h`,
//! `quantization_util.cc` and gemmlowp's `fixedpoint.h`), reproduced bit for bit.
//!
//! A real multiplier `m > 0` is stored as a Q31 significand `q` in `[2^30, 2^31)` and a power of
//! two `shift`: `m ≈ q · 2^(shift − 31)`. Two ways of applying it exist in TFLite:
//! - [`multiply_by_quantized_multiplier`]: gemmlowp's *double rounding* (round the high 32 bits of
//!   the doubled product, then round again while shifting right). The reference CONV_2D and
//!   DEPTHWISE_CONV_2D kernels use it.
//! - [`multiply_by_quantized_multiplier_single_round`]: one 64-bit product, one rounding
//!   (`TFLITE_SINGLE_ROUNDING`). It differs from double rounding only in tie-like cases; the
//!   reference FULLY_CONNECTED kernel of the LiteRT build behind sotto's goldens matches it.
//! - [`multiply_by_quantized_multiplier_neon`]: the NEON sequence of TFLite's optimised kernels
//!   (`SQRDMULH`, then `SRSHL` by a negative amount): two roundings, both half up (gemmlowp's
//!   second rounding is half away from zero). x86 builds of
//!   TFLite run the same code through its NEON-to-SSE translation header, so pymicro-wakeword's
//!   runtime computes it too (see [`super::Kernels::TfliteOptimized`]).
//!
//! This is the project's "TFLite-style requantization helper": other int8 code should use it
//! rather than re-deriving the arithmetic.

/// `std::frexp`: splits a finite `x` into a significand in `[0.5, 1)` (sign preserved) and an
/// exponent with `x = significand · 2^exponent`. Zero, infinities and NaN return `(x, 0)`.
pub fn frexp(x: f64) -> (f64, i32) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 {
        // Subnormal: scale into the normal range first.
        let (m, e) = frexp(x * f64::from_bits(0x4350_0000_0000_0000)); // 2^54
        return (m, e - 54);
    }
    let m = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (m, exp - 1022)
}

/// TFLite `QuantizeMultiplier`: `m ≈ q · 2^(shift − 31)` with `q` in `[2^30, 2^31)`.
/// Zero maps to `(0, 0)`; multipliers below `2^-31` flush to zero, above `2^30` saturate.
pub fn quantize_multiplier(m: f64) -> (i32, i32) {
    if m == 0.0 || !m.is_finite() {
        return (0, 0);
    }
    let (q, mut shift) = frexp(m);
    // TfLiteRound = std::round: half away from zero.
    let mut q_fixed = crate::math::round(q * (1u64 << 31) as f64) as i64;
    if q_fixed == 1 << 31 {
        q_fixed /= 2;
        shift += 1;
    }
    if shift < -31 {
        shift = 0;
        q_fixed = 0;
    }
    if shift > 30 {
        shift = 30;
        q_fixed = (1 << 31) - 1;
    }
    (q_fixed as i32, shift)
}

/// gemmlowp `SaturatingRoundingDoublingHighMul`: `round(a · b / 2^31)`, saturating the single
/// overflow case `a = b = i32::MIN`.
#[inline]
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == b && a == i32::MIN {
        return i32::MAX;
    }
    let ab = a as i64 * b as i64;
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // C++ integer division truncates toward zero, as does Rust's.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// gemmlowp `RoundingDivideByPOT`: `x / 2^exponent` rounded half away from zero
/// (`exponent` in `0..=31`).
#[inline]
pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    debug_assert!((0..=31).contains(&exponent));
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + (x < 0) as i32;
    (x >> exponent) + (remainder > threshold) as i32
}

/// TFLite `MultiplyByQuantizedMultiplier` (double rounding, the default build).
#[inline]
pub fn multiply_by_quantized_multiplier(x: i32, q: i32, shift: i32) -> i32 {
    let left = shift.max(0);
    let right = (-shift).max(0);
    rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(x.wrapping_mul(1 << left), q),
        right,
    )
}

/// TFLite `MultiplyByQuantizedMultiplier` as built with `TFLITE_SINGLE_ROUNDING`:
/// `(x · q + 2^(30 − shift)) >> (31 − shift)` in 64 bits (`shift` in `-31..=30`).
#[inline]
pub fn multiply_by_quantized_multiplier_single_round(x: i32, q: i32, shift: i32) -> i32 {
    let total = (31 - shift) as u32;
    let round = 1i64 << (total - 1);
    ((x as i64 * q as i64 + round) >> total) as i32
}

/// ARM NEON `SRSHL` by `-exponent` on one lane: `x / 2^exponent` rounded half *up*
/// (`exponent` in `0..=31`; the sum cannot overflow since the instruction rounds in wider
/// precision, as done here in 64 bits). gemmlowp's [`rounding_divide_by_pot`] rounds half away
/// from zero instead.
#[inline]
pub fn rounding_shift_right(x: i32, exponent: i32) -> i32 {
    debug_assert!((0..=31).contains(&exponent));
    if exponent == 0 {
        return x;
    }
    ((x as i64 + (1i64 << (exponent - 1))) >> exponent) as i32
}

/// The requantization of TFLite's NEON code paths (GEMV / GEMM behind FULLY_CONNECTED and
/// CONV_2D, `optimized_ops::Quantize` behind DEPTHWISE_CONV_2D): a wrapping left shift by
/// `max(shift, 0)` (`VSHL`), `SQRDMULH` by `q` — which rounds exactly like gemmlowp's
/// [`saturating_rounding_doubling_high_mul`] (half up, despite the nudge's sign) — then
/// [`rounding_shift_right`] by `max(-shift, 0)`. So it differs from
/// [`multiply_by_quantized_multiplier`] only where the high product is negative and the shift
/// meets an exact tie (e.g. `-6 · 2^-2`: -1 here, -2 there).
#[inline]
pub fn multiply_by_quantized_multiplier_neon(x: i32, q: i32, shift: i32) -> i32 {
    let left = shift.max(0) as u32;
    let right = (-shift).max(0);
    rounding_shift_right(
        saturating_rounding_doubling_high_mul(x.wrapping_shl(left), q),
        right,
    )
}

/// Which of TFLite's requantization roundings an op applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    /// gemmlowp double rounding ([`multiply_by_quantized_multiplier`]).
    Double,
    /// 64-bit single rounding ([`multiply_by_quantized_multiplier_single_round`]).
    Single,
    /// NEON double rounding, half up twice ([`multiply_by_quantized_multiplier_neon`]).
    Neon,
}

impl Rounding {
    /// Applies the quantized multiplier `(q, shift)` to `x` with this rounding.
    #[inline]
    pub fn apply(self, x: i32, q: i32, shift: i32) -> i32 {
        match self {
            Rounding::Double => multiply_by_quantized_multiplier(x, q, shift),
            Rounding::Single => multiply_by_quantized_multiplier_single_round(x, q, shift),
            Rounding::Neon => multiply_by_quantized_multiplier_neon(x, q, shift),
        }
    }
}

/// TFLite `Quantize` of a float into an integer with `scale`/`zero_point` (float32 arithmetic,
/// round half away from zero), as used for fused activation ranges.
pub fn quantize_f32(x: f32, scale: f32, zero_point: i32) -> i32 {
    let t = crate::math::roundf(x / scale);
    zero_point.saturating_add(t.clamp(i32::MIN as f32, i32::MAX as f32) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frexp_matches_definition() {
        for &x in &[1.0, 0.5, 0.75, 3.0, 1e-300, 5e-324, 123456.789, -2.5] {
            let (m, e) = frexp(x);
            assert!((0.5..1.0).contains(&m.abs()), "{x}: {m}");
            // Two steps: 2^e alone underflows for subnormal x.
            assert_eq!(m * 2f64.powi(e / 2) * 2f64.powi(e - e / 2), x);
        }
    }

    #[test]
    fn quantize_multiplier_known_values() {
        assert_eq!(quantize_multiplier(1.0), (1 << 30, 1));
        assert_eq!(quantize_multiplier(0.5), (1 << 30, 0));
        assert_eq!(quantize_multiplier(0.0), (0, 0));
        // Rounds up to 2^31 and renormalises.
        let (q, s) = quantize_multiplier(1.0 - 1e-12);
        assert_eq!((q, s), (1 << 30, 1));
    }

    #[test]
    fn rounding_divide_by_pot_rounds_half_away() {
        assert_eq!(rounding_divide_by_pot(5, 1), 3);
        assert_eq!(rounding_divide_by_pot(-5, 1), -3);
        assert_eq!(rounding_divide_by_pot(4, 1), 2);
        assert_eq!(rounding_divide_by_pot(-7, 2), -2);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
    }

    #[test]
    fn roundings_agree_away_from_ties() {
        let (q, s) = quantize_multiplier(0.0123);
        for x in [-100000, -12345, -1, 0, 1, 777, 99999] {
            let exact = x as f64 * q as f64 * 2f64.powi(s - 31);
            let d = multiply_by_quantized_multiplier(x, q, s);
            let r = multiply_by_quantized_multiplier_single_round(x, q, s);
            assert!((d as f64 - exact).abs() <= 0.5 + 1e-9, "{x}");
            assert!((r as f64 - exact).abs() <= 0.5 + 1e-9, "{x}");
        }
        // A negative tie (-2 · 0.25): single rounding goes up, double rounding away from zero.
        assert_eq!(
            multiply_by_quantized_multiplier_single_round(-2, 1 << 30, -1),
            0
        );
        assert_eq!(multiply_by_quantized_multiplier(-2, 1 << 30, -1), -1);
    }

    #[test]
    fn neon_rounds_half_up_twice() {
        // 5 · 0.25 = 1.25: the high product 2.5 rounds up to 3 in both double roundings, 3 / 2
        // rounds up again to 2, where one rounding gives 1.
        assert_eq!(multiply_by_quantized_multiplier_neon(5, 1 << 30, -1), 2);
        assert_eq!(multiply_by_quantized_multiplier(5, 1 << 30, -1), 2);
        assert_eq!(
            multiply_by_quantized_multiplier_single_round(5, 1 << 30, -1),
            1
        );
        // -5 · 0.25: -2.5 rounds up to -2 in both high multiplies (gemmlowp's nudge and
        // truncation amount to half up too), then -1 exactly.
        assert_eq!(saturating_rounding_doubling_high_mul(-5, 1 << 30), -2);
        assert_eq!(multiply_by_quantized_multiplier_neon(-5, 1 << 30, -1), -1);
        assert_eq!(multiply_by_quantized_multiplier(-5, 1 << 30, -1), -1);
        // -6 · 0.25: the shift meets the tie -1.5, rounded up here, away from zero by gemmlowp.
        assert_eq!(multiply_by_quantized_multiplier_neon(-6, 1 << 30, -1), -1);
        assert_eq!(multiply_by_quantized_multiplier(-6, 1 << 30, -1), -2);
        assert_eq!(
            multiply_by_quantized_multiplier_single_round(-6, 1 << 30, -1),
            -1
        );
        // A positive exponent shifts left first (multiplier 2 · 0.75 = 1.5).
        let (q, s) = quantize_multiplier(1.5);
        assert_eq!(s, 1);
        assert_eq!(multiply_by_quantized_multiplier_neon(7, q, s), 11); // 10.5 rounds up
        assert_eq!(multiply_by_quantized_multiplier_neon(-7, q, s), -10);
        assert_eq!(rounding_shift_right(i32::MAX, 1), 1 << 30);
        assert_eq!(rounding_shift_right(-3, 1), -1);
        // Away from ties all three agree to within rounding of the exact product.
        let (q, s) = quantize_multiplier(0.0123);
        for x in [-100000, -12345, -1, 0, 1, 777, 99999] {
            let exact = x as f64 * q as f64 * 2f64.powi(s - 31);
            let n = multiply_by_quantized_multiplier_neon(x, q, s);
            assert!((n as f64 - exact).abs() <= 0.5 + 1e-6, "{x}");
        }
    }
}
