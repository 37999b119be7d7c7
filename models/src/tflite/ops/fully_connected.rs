//! FULLY_CONNECTED, int8 (TFLite reference kernel; its requantization rounds once).

use super::{Inputs, Scratch, Src};
use crate::kernels::gemm_i8;
use crate::tflite::fixedpoint::Rounding;
use std::ops::Range;

/// `y[b] = requant(W · (x[b] − zp) + bias)`.
#[derive(Debug)]
pub(crate) struct FullyConnected {
    pub(crate) src: Src,
    pub(crate) dst: Range<usize>,
    pub(crate) batches: usize,
    pub(crate) depth: usize,
    pub(crate) units: usize,
    /// `[units, depth]`.
    pub(crate) weights: Vec<i8>,
    /// `bias[u] + input_offset · Σ weights[u]`.
    pub(crate) bias: Vec<i32>,
    /// One entry per unit (per-tensor quantization is broadcast at load).
    pub(crate) mult: Vec<i32>,
    pub(crate) shift: Vec<i32>,
    pub(crate) rounding: Rounding,
    pub(crate) out_zp: i32,
    pub(crate) act_min: i32,
    pub(crate) act_max: i32,
}

impl FullyConnected {
    pub(crate) fn run(&self, inp: &Inputs, out: &mut [i8], scratch: &mut Scratch) {
        let x = inp.get_i8(&self.src);
        let acc = &mut scratch.acc[..self.batches * self.units];
        gemm_i8(&self.weights, self.units, self.depth, x, self.batches, acc);
        for (o, a) in out
            .chunks_exact_mut(self.units)
            .zip(acc.chunks_exact(self.units))
        {
            for (u, (o, &a)) in o.iter_mut().zip(a).enumerate() {
                let v =
                    self.rounding
                        .apply(a.wrapping_add(self.bias[u]), self.mult[u], self.shift[u]);
                *o = v
                    .wrapping_add(self.out_zp)
                    .clamp(self.act_min, self.act_max) as i8;
            }
        }
    }
}
