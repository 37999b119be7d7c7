//! The glue between the frontend and a microWakeWord model, as pymicro-wakeword does it:
//! each raw `u16` feature is quantized to the model's int8 input (round half to even in
//! float64), frames are stacked `stride` at a time, and the output byte is read as a uint8
//! probability (`raw / 256`). The host's `WakeWord` detector and a firmware share this code.

use crate::frontend::MICRO_FEATURE_SCALE;

/// Quantization of raw frontend values to a model's int8 input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InputQuantizer {
    scale: f64,
    zero_point: f64,
}

impl InputQuantizer {
    /// For an input tensor with `scale` and `zero_point`.
    pub fn new(scale: f32, zero_point: i32) -> Self {
        InputQuantizer {
            scale: f64::from(scale),
            zero_point: f64::from(zero_point),
        }
    }

    /// `round_half_even(raw · 0.0390625 / scale + zero_point)` in float64, clamped to int8.
    #[inline]
    pub fn quantize(&self, raw: u16) -> i8 {
        let feature = f64::from(f32::from(raw) * MICRO_FEATURE_SCALE);
        // rint rounds half to even (the default rounding mode); NaN cannot occur (scale > 0).
        libm::rint(feature / self.scale + self.zero_point).clamp(-128.0, 127.0) as i8
    }
}

/// The uint8 probability byte from a model's output byte (`signed`: an int8 output with zero
/// point -128).
#[inline]
pub fn output_raw(byte: u8, signed: bool) -> u8 {
    if signed {
        (byte as i8 as i16 + 128) as u8
    } else {
        byte
    }
}

/// Stacks frontend frames into a model input of `stride` frames × `channels`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameStacker {
    stride: usize,
    channels: usize,
    filled: usize,
}

impl FrameStacker {
    /// For an input of `stride` frames of `channels` values.
    pub fn new(stride: usize, channels: usize) -> Self {
        FrameStacker {
            stride,
            channels,
            filled: 0,
        }
    }

    /// Quantizes `frame` into its row of `input`; true when the input is complete (then
    /// invoke the model; the next frame starts a new input).
    pub fn push(&mut self, q: &InputQuantizer, input: &mut [i8], frame: &[u16]) -> bool {
        let c = self.channels;
        let row = &mut input[self.filled * c..(self.filled + 1) * c];
        for (d, &raw) in row.iter_mut().zip(frame) {
            *d = q.quantize(raw);
        }
        self.filled += 1;
        if self.filled < self.stride {
            return false;
        }
        self.filled = 0;
        true
    }

    /// Forgets a partly stacked input.
    pub fn reset(&mut self) {
        self.filled = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_rounds_half_to_even() {
        // scale 0.0390625·2 = 0.078125: raw 1 → 0.5 → 0, raw 3 → 1.5 → 2.
        let q = InputQuantizer::new(0.078125, 0);
        assert_eq!(q.quantize(1), 0);
        assert_eq!(q.quantize(3), 2);
        assert_eq!(q.quantize(u16::MAX), 127);
        let q = InputQuantizer::new(0.1, -128);
        assert_eq!(q.quantize(0), -128);
    }

    #[test]
    fn stacker_completes_every_stride_frames() {
        let q = InputQuantizer::new(1.0, 0);
        let mut s = FrameStacker::new(3, 2);
        let mut input = [0i8; 6];
        assert!(!s.push(&q, &mut input, &[0, 0]));
        assert!(!s.push(&q, &mut input, &[100, 100]));
        assert!(s.push(&q, &mut input, &[200, 200]));
        assert_eq!(input, [0, 0, 4, 4, 8, 8]);
        assert_eq!(output_raw(0x80, true), 0);
        assert_eq!(output_raw(0x7f, true), 255);
    }
}
