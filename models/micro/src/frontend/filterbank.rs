//! Mel filterbank of the TFLite-Micro frontend: table construction (`filterbank_util`),
//! energy accumulation with Q12 weights/unweights and the integer square root (`filterbank`).

use super::kissfft::Cpx;
use super::ConfigError;
use crate::math;
use alloc::vec;
use alloc::vec::Vec;

/// Fractional bits of the filterbank weights.
pub(crate) const FILTERBANK_BITS: u32 = 12;
/// Channel starts are aligned to 4 bytes of `i16` (= 2 bins).
const INDEX_ALIGNMENT: usize = 4 / core::mem::size_of::<i16>();
/// Channel widths are padded to multiples of this many bins.
const CHANNEL_BLOCK_SIZE: usize = 4;

fn freq_to_mel(freq: f32) -> f32 {
    1127.0 * math::log1pf(freq / 700.0)
}

/// Triangular mel filterbank state. Every table is built exactly as the C init code
/// builds it (single-precision float, `floorf(x + 0.5)` quantisation).
#[derive(Clone, Debug)]
pub(crate) struct Filterbank {
    pub num_channels: usize,
    pub start_index: usize,
    pub end_index: usize,
    /// Per channel (`num_channels + 1`, the first one only feeds the second's unweights).
    pub channel_frequency_starts: Vec<i16>,
    pub channel_weight_starts: Vec<i16>,
    pub channel_widths: Vec<i16>,
    pub weights: Vec<i16>,
    pub unweights: Vec<i16>,
    /// Per-bin energy scratch, long enough for every padded channel read.
    energy: Vec<i32>,
    /// Per-channel 64-bit accumulators (`num_channels + 1`).
    work: Vec<u64>,
}

impl Filterbank {
    pub(crate) fn new(
        num_channels: usize,
        lower_band_limit: f32,
        upper_band_limit: f32,
        sample_rate: u32,
        spectrum_size: usize,
    ) -> Result<Self, ConfigError> {
        let n1 = num_channels + 1;
        let mel_low = freq_to_mel(lower_band_limit);
        let mel_hi = freq_to_mel(upper_band_limit);
        let mel_spacing = (mel_hi - mel_low) / n1 as f32;
        let center: Vec<f32> = (0..n1)
            .map(|i| mel_low + mel_spacing * (i + 1) as f32)
            .collect();

        // DC is always excluded.
        let hz_per_sbin = 0.5 * sample_rate as f32 / (spectrum_size as f32 - 1.0);
        let start_index = (1.5 + lower_band_limit / hz_per_sbin) as usize;

        let mut freq_starts = vec![0i16; n1];
        let mut weight_starts = vec![0i16; n1];
        let mut widths = vec![0i16; n1];
        let mut actual_starts = vec![0usize; n1];
        let mut actual_widths = vec![0usize; n1];
        let mut chan_freq_index_start = start_index;
        let mut weight_index_start = 0usize;
        let mut needs_zeros = false;
        for chan in 0..n1 {
            let mut freq_index = chan_freq_index_start;
            while freq_to_mel(freq_index as f32 * hz_per_sbin) <= center[chan] {
                freq_index += 1;
                if freq_index > spectrum_size {
                    return Err(band_error(upper_band_limit, sample_rate));
                }
            }
            let width = freq_index - chan_freq_index_start;
            actual_starts[chan] = chan_freq_index_start;
            actual_widths[chan] = width;
            if width == 0 {
                // An empty channel reads a block of zero weights placed at the very
                // start of the weight arrays (inserted once, shifting earlier channels).
                freq_starts[chan] = 0;
                weight_starts[chan] = 0;
                widths[chan] = CHANNEL_BLOCK_SIZE as i16;
                if !needs_zeros {
                    needs_zeros = true;
                    for ws in &mut weight_starts[..chan] {
                        *ws += CHANNEL_BLOCK_SIZE as i16;
                    }
                    weight_index_start += CHANNEL_BLOCK_SIZE;
                }
            } else {
                let aligned_start = chan_freq_index_start / INDEX_ALIGNMENT * INDEX_ALIGNMENT;
                let aligned_width = chan_freq_index_start - aligned_start + width;
                let padded_width = (aligned_width - 1) / CHANNEL_BLOCK_SIZE * CHANNEL_BLOCK_SIZE
                    + CHANNEL_BLOCK_SIZE;
                freq_starts[chan] = aligned_start as i16;
                weight_starts[chan] = weight_index_start as i16;
                widths[chan] = padded_width as i16;
                weight_index_start += padded_width;
            }
            chan_freq_index_start = freq_index;
        }

        let mut weights = vec![0i16; weight_index_start];
        let mut unweights = vec![0i16; weight_index_start];
        let mut end_index = 0;
        for chan in 0..n1 {
            let first = actual_starts[chan];
            let offset = first - freq_starts[chan] as usize;
            let weight_start = weight_starts[chan] as usize;
            let denom = if chan == 0 { mel_low } else { center[chan - 1] };
            for j in 0..actual_widths[chan] {
                let frequency = first + j;
                let w = (center[chan] - freq_to_mel(frequency as f32 * hz_per_sbin))
                    / (center[chan] - denom);
                let scale = (1 << FILTERBANK_BITS) as f32;
                weights[weight_start + offset + j] = math::floorf(w * scale + 0.5) as i16;
                unweights[weight_start + offset + j] = math::floorf((1.0 - w) * scale + 0.5) as i16;
            }
            end_index = end_index.max(first + actual_widths[chan]);
        }
        if end_index >= spectrum_size {
            return Err(band_error(upper_band_limit, sample_rate));
        }

        let read_end = (0..n1)
            .map(|c| freq_starts[c] as usize + widths[c] as usize)
            .max()
            .unwrap_or(0)
            .max(spectrum_size);
        Ok(Self {
            num_channels,
            start_index,
            end_index,
            channel_frequency_starts: freq_starts,
            channel_weight_starts: weight_starts,
            channel_widths: widths,
            weights,
            unweights,
            energy: vec![0; read_end],
            work: vec![0; n1],
        })
    }

    /// Squared magnitudes of the FFT bins, then the weighted/unweighted channel sums.
    pub(crate) fn accumulate(&mut self, fft: &[Cpx]) {
        // Only bins in [start_index, end_index) carry non-zero weights; the C code leaves
        // the other bins holding reinterpreted FFT output, which is always multiplied by a
        // zero weight, so keeping them at zero here gives identical sums.
        for (e, c) in self.energy[self.start_index..self.end_index]
            .iter_mut()
            .zip(&fft[self.start_index..self.end_index])
        {
            let (r, i) = (c.r as i32, c.i as i32);
            *e = (r * r).wrapping_add(i * i);
        }
        let mut weight_acc = 0u64;
        let mut unweight_acc = 0u64;
        for chan in 0..=self.num_channels {
            let fs = self.channel_frequency_starts[chan] as usize;
            let ws = self.channel_weight_starts[chan] as usize;
            let width = self.channel_widths[chan] as usize;
            let mags = &self.energy[fs..fs + width];
            for ((&m, &w), &u) in mags
                .iter()
                .zip(&self.weights[ws..])
                .zip(&self.unweights[ws..])
            {
                // C multiplies the i32 energy as uint64_t (sign-extending) with wrapping.
                let m = m as i64 as u64;
                weight_acc = weight_acc.wrapping_add((w as i64 as u64).wrapping_mul(m));
                unweight_acc = unweight_acc.wrapping_add((u as i64 as u64).wrapping_mul(m));
            }
            self.work[chan] = weight_acc;
            weight_acc = unweight_acc;
            unweight_acc = 0;
        }
    }

    /// Rounded integer square root of each channel sum, scaled down by the FFT input shift.
    pub(crate) fn sqrt(&self, scale_down_shift: u32, out: &mut [u32]) {
        for (o, &w) in out.iter_mut().zip(&self.work[1..]) {
            *o = sqrt64(w) >> scale_down_shift;
        }
    }

    pub(crate) fn reset(&mut self) {
        self.work.fill(0);
    }
}

// `msg!` is a `&str` without the `messages` feature.
#[allow(clippy::useless_conversion)]
fn band_error(upper: f32, sample_rate: u32) -> ConfigError {
    ConfigError(
        msg!(
            "filterbank upper band limit {upper} Hz reaches the Nyquist bin at sample rate {sample_rate} Hz"
        )
        .into(),
    )
}

/// Digit-by-digit square root with round-to-nearest, as `Sqrt32` in the C code.
fn sqrt32(mut num: u32) -> u32 {
    if num == 0 {
        return 0;
    }
    let mut res = 0u32;
    let max_bit_number = num.leading_zeros() | 1;
    let mut bit = 1u32 << (31 - max_bit_number);
    for _ in 0..(31 - max_bit_number) / 2 + 1 {
        if num >= res + bit {
            num -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    if num > res && res != 0xFFFF {
        res += 1;
    }
    res
}

/// `Sqrt64`: takes the 32-bit path whenever the upper word is clear (the C code's
/// deliberate shortcut, kept for bit-exactness).
fn sqrt64(mut num: u64) -> u32 {
    if num >> 32 == 0 {
        return sqrt32(num as u32);
    }
    let mut res = 0u64;
    let max_bit_number = num.leading_zeros() | 1;
    let mut bit = 1u64 << (63 - max_bit_number);
    for _ in 0..(63 - max_bit_number) / 2 + 1 {
        if num >= res + bit {
            num -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    if num > res && res != 0xFFFF_FFFF {
        res += 1;
    }
    res as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqrt_rounds_to_nearest() {
        for x in [
            0u64,
            1,
            2,
            3,
            4,
            8,
            15,
            16,
            17,
            1 << 20,
            123_456_789,
            0xFFFE_0001,
        ] {
            let exact = (x as f64).sqrt();
            assert!((sqrt64(x) as f64 - exact).abs() <= 0.5 + 1e-9, "{x}");
        }
        // The 32-bit path saturates at 0xFFFF instead of rounding up to 65536.
        assert_eq!(sqrt64(u32::MAX as u64), 0xFFFF);
        for x in [1u64 << 32, (1 << 40) + 12345, 1 << 62, u64::MAX >> 1] {
            let exact = (x as f64).sqrt();
            assert!((sqrt64(x) as f64 - exact).abs() <= 1.0, "{x}");
        }
    }
}
