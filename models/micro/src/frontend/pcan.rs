//! Per-channel amplitude normalisation (PCAN, <https://research.google/pubs/pub45911.pdf>):
//! each channel is multiplied by a gain `2^gain_bits * (noise + offset)^-strength`, read from a
//! piecewise-quadratic lookup table over the bit length of the noise estimate, then
//! compressed (`pcan_gain_control.c`, `pcan_gain_control_util.c`).

use crate::math;
use alloc::vec;
use alloc::vec::Vec;
/// Fractional bits of the SNR.
pub(crate) const PCAN_SNR_BITS: i32 = 12;
const PCAN_OUTPUT_BITS: u32 = 6;
const WIDE_DYNAMIC_FUNCTION_BITS: u32 = 32;
/// `4 * 32 - 3` entries: gains at x = 0, 1, then `(y0, a1, a2, unused)` per bit interval 2..=32.
pub(crate) const GAIN_LUT_SIZE: usize = 4 * WIDE_DYNAMIC_FUNCTION_BITS as usize - 3;

#[derive(Clone, Debug)]
pub(crate) struct Pcan {
    pub gain_lut: Vec<i16>,
    pub snr_shift: u32,
}

/// The exact gain curve sampled at `x` (in Q`input_bits`), as `int16` with round-half-up.
fn gain_lookup(strength: f32, offset: f32, gain_bits: u32, input_bits: u32, x: u32) -> i16 {
    let x_as_float = x as f32 / (1u32 << input_bits) as f32;
    let gain = (1u32 << gain_bits) as f32 * math::powf(x_as_float + offset, -strength);
    if gain > i16::MAX as f32 {
        return i16::MAX;
    }
    (gain + 0.5) as i16
}

impl Pcan {
    /// `snr_shift` and `input_bits` are validated by the caller to be usable shift counts.
    pub(crate) fn new(
        strength: f32,
        offset: f32,
        gain_bits: u32,
        snr_shift: u32,
        input_bits: u32,
    ) -> Self {
        let f = |x: u32| gain_lookup(strength, offset, gain_bits, input_bits, x);
        let mut lut = vec![0i16; GAIN_LUT_SIZE];
        lut[0] = f(0);
        lut[1] = f(1);
        for interval in 2..=WIDE_DYNAMIC_FUNCTION_BITS {
            let x0 = 1u32 << (interval - 1);
            let x1 = x0 + (x0 >> 1);
            let x2 = if interval == WIDE_DYNAMIC_FUNCTION_BITS {
                x0 + (x0 - 1)
            } else {
                2 * x0
            };
            let (y0, y1, y2) = (f(x0), f(x1), f(x2));
            let diff1 = y1 as i32 - y0 as i32;
            let diff2 = y2 as i32 - y0 as i32;
            let a1 = 4 * diff1 - diff2;
            let a2 = diff2 - a1;
            let base = 4 * interval as usize - 6;
            lut[base] = y0;
            lut[base + 1] = a1 as i16;
            lut[base + 2] = a2 as i16;
        }
        Self {
            gain_lut: lut,
            snr_shift,
        }
    }

    /// Interpolated gain for noise estimate `x` (`WideDynamicFunction`).
    fn gain(&self, x: u32) -> i16 {
        if x <= 2 {
            return self.gain_lut[x as usize];
        }
        let interval = 32 - x.leading_zeros() as i32;
        let lut = &self.gain_lut[(4 * interval - 6) as usize..];
        let frac = (if interval < 11 {
            x << (11 - interval)
        } else {
            x >> (interval - 11)
        } & 0x3FF) as i32;
        let mut result = (lut[2] as i32 * frac) >> 5;
        result = result.wrapping_add((lut[1] as i32 as u32).wrapping_shl(5) as i32);
        result = result.wrapping_mul(frac);
        result = result.wrapping_add(1 << 14) >> 15;
        result = result.wrapping_add(lut[0] as i32);
        result as i16
    }

    pub(crate) fn apply(&self, signal: &mut [u32], noise_estimate: &[u32]) {
        for (s, &noise) in signal.iter_mut().zip(noise_estimate) {
            // The i16 gain is sign-extended into a uint32_t in C.
            let gain = self.gain(noise) as i32 as u32;
            let snr = ((*s as u64 * gain as u64) >> self.snr_shift) as u32;
            *s = shrink(snr);
        }
    }
}

/// Soft compression of the SNR: quadratic below 2.0, linear above.
fn shrink(x: u32) -> u32 {
    if x < (2 << PCAN_SNR_BITS) {
        (x * x) >> (2 + 2 * PCAN_SNR_BITS as u32 - PCAN_OUTPUT_BITS)
    } else {
        (x >> (PCAN_SNR_BITS as u32 - PCAN_OUTPUT_BITS)) - (1 << PCAN_OUTPUT_BITS)
    }
}
