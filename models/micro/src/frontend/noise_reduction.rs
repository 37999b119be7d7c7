//! Stationary-noise suppression: a per-channel low-pass noise estimate is subtracted from
//! the signal, leaving at least `min_signal_remaining` of it (`noise_reduction.c`).

use alloc::vec;
use alloc::vec::Vec;
/// Fractional bits of the smoothing coefficients.
pub(crate) const NOISE_REDUCTION_BITS: u32 = 14;

#[derive(Clone, Debug)]
pub(crate) struct NoiseReduction {
    pub smoothing_bits: u32,
    pub even_smoothing: u16,
    pub odd_smoothing: u16,
    pub min_signal_remaining: u16,
    /// Noise estimate per channel, scaled up by `smoothing_bits`; PCAN reads it too.
    pub estimate: Vec<u32>,
}

/// Q14 conversion as the C init does it: `float * 16384` truncated to `uint16_t`.
fn q14(x: f32) -> u16 {
    (x * (1 << NOISE_REDUCTION_BITS) as f32) as u16
}

impl NoiseReduction {
    pub(crate) fn new(
        smoothing_bits: u32,
        even: f32,
        odd: f32,
        min_remaining: f32,
        channels: usize,
    ) -> Self {
        Self {
            smoothing_bits,
            even_smoothing: q14(even),
            odd_smoothing: q14(odd),
            min_signal_remaining: q14(min_remaining),
            estimate: vec![0; channels],
        }
    }

    pub(crate) fn apply(&mut self, signal: &mut [u32]) {
        for (i, (s, est)) in signal.iter_mut().zip(&mut self.estimate).enumerate() {
            let smoothing = if i % 2 == 0 {
                self.even_smoothing
            } else {
                self.odd_smoothing
            } as u64;
            let one_minus = (1u64 << NOISE_REDUCTION_BITS) - smoothing;
            // Bits shifted out of the u32 are lost, as in C.
            let scaled_up = *s << self.smoothing_bits;
            let estimate = ((scaled_up as u64 * smoothing + *est as u64 * one_minus)
                >> NOISE_REDUCTION_BITS) as u32;
            *est = estimate;
            let floor =
                ((*s as u64 * self.min_signal_remaining as u64) >> NOISE_REDUCTION_BITS) as u32;
            let subtracted = (scaled_up - estimate.min(scaled_up)) >> self.smoothing_bits;
            *s = subtracted.max(floor);
        }
    }

    pub(crate) fn reset(&mut self) {
        self.estimate.fill(0);
    }
}
