//! CONV_2D and DEPTHWISE_CONV_2D, int8 with per-channel requantization (TFLite reference
//! `ConvPerChannel` / `DepthwiseConvPerChannel`: double rounding).

use super::{Inputs, Scratch, Src};
use crate::kernels::gemm_i8;
use crate::tflite::fixedpoint::multiply_by_quantized_multiplier;
use std::ops::Range;

/// Spatial geometry shared by both convolutions (NHWC).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    pub(crate) batches: usize,
    pub(crate) in_h: usize,
    pub(crate) in_w: usize,
    pub(crate) in_c: usize,
    pub(crate) out_h: usize,
    pub(crate) out_w: usize,
    pub(crate) out_c: usize,
    pub(crate) k_h: usize,
    pub(crate) k_w: usize,
    pub(crate) stride_h: usize,
    pub(crate) stride_w: usize,
    pub(crate) dil_h: usize,
    pub(crate) dil_w: usize,
    pub(crate) pad_h: usize,
    pub(crate) pad_w: usize,
}

impl Geometry {
    /// Input row/column of filter tap `f` for output position `o`, if inside the image.
    #[inline]
    fn tap(
        o: usize,
        f: usize,
        stride: usize,
        dil: usize,
        pad: usize,
        size: usize,
    ) -> Option<usize> {
        (o * stride + f * dil)
            .checked_sub(pad)
            .filter(|&i| i < size)
    }
}

/// Requantization of int32 accumulators to int8, per output channel.
#[derive(Debug)]
pub(crate) struct Requant {
    /// `bias[c] + input_offset · Σ weights[c]`: folds the input zero point out of the GEMM.
    pub(crate) bias: Vec<i32>,
    pub(crate) mult: Vec<i32>,
    pub(crate) shift: Vec<i32>,
    pub(crate) out_zp: i32,
    pub(crate) act_min: i32,
    pub(crate) act_max: i32,
}

impl Requant {
    #[inline]
    fn apply(&self, c: usize, acc: i32) -> i8 {
        let v = multiply_by_quantized_multiplier(
            acc.wrapping_add(self.bias[c]),
            self.mult[c],
            self.shift[c],
        );
        v.wrapping_add(self.out_zp)
            .clamp(self.act_min, self.act_max) as i8
    }
}

/// CONV_2D: im2col into scratch, one int8 GEMM, per-channel requantization.
#[derive(Debug)]
pub(crate) struct Conv {
    pub(crate) src: Src,
    pub(crate) dst: Range<usize>,
    pub(crate) g: Geometry,
    pub(crate) in_zp: i8,
    /// `[out_c, k_h · k_w · in_c]`.
    pub(crate) weights: Vec<i8>,
    pub(crate) rq: Requant,
}

impl Conv {
    /// Patch length (GEMM depth).
    pub(crate) fn depth(&self) -> usize {
        self.g.k_h * self.g.k_w * self.g.in_c
    }

    /// Output positions.
    pub(crate) fn positions(&self) -> usize {
        self.g.batches * self.g.out_h * self.g.out_w
    }

    pub(crate) fn run(&self, inp: &Inputs, out: &mut [i8], scratch: &mut Scratch) {
        let g = &self.g;
        let x = inp.get_i8(&self.src);
        let (depth, n) = (self.depth(), self.positions());
        let patch = &mut scratch.patch[..n * depth];
        let mut p = 0;
        for b in 0..g.batches {
            for oy in 0..g.out_h {
                for ox in 0..g.out_w {
                    for fy in 0..g.k_h {
                        let iy = Geometry::tap(oy, fy, g.stride_h, g.dil_h, g.pad_h, g.in_h);
                        for fx in 0..g.k_w {
                            let ix = Geometry::tap(ox, fx, g.stride_w, g.dil_w, g.pad_w, g.in_w);
                            let dst = &mut patch[p..p + g.in_c];
                            match (iy, ix) {
                                (Some(iy), Some(ix)) => {
                                    let s = ((b * g.in_h + iy) * g.in_w + ix) * g.in_c;
                                    dst.copy_from_slice(&x[s..s + g.in_c]);
                                }
                                // Padding contributes (zp + input_offset) · w = 0.
                                _ => dst.fill(self.in_zp),
                            }
                            p += g.in_c;
                        }
                    }
                }
            }
        }
        let acc = &mut scratch.acc[..n * g.out_c];
        gemm_i8(&self.weights, g.out_c, depth, patch, n, acc);
        for (o, a) in out.chunks_exact_mut(g.out_c).zip(acc.chunks_exact(g.out_c)) {
            for (c, (o, &a)) in o.iter_mut().zip(a).enumerate() {
                *o = self.rq.apply(c, a);
            }
        }
    }
}

/// DEPTHWISE_CONV_2D with any depth multiplier.
#[derive(Debug)]
pub(crate) struct DepthwiseConv {
    pub(crate) src: Src,
    pub(crate) dst: Range<usize>,
    pub(crate) g: Geometry,
    pub(crate) depth_multiplier: usize,
    pub(crate) input_offset: i32,
    /// `[k_h, k_w, out_c]`.
    pub(crate) weights: Vec<i8>,
    /// Here `rq.bias` is the plain bias (the input offset is applied per tap).
    pub(crate) rq: Requant,
}

impl DepthwiseConv {
    /// Accumulates tap by tap over all channels at once (contiguous in input and weights).
    pub(crate) fn run(&self, inp: &Inputs, out: &mut [i8], scratch: &mut Scratch) {
        let g = &self.g;
        let x = inp.get_i8(&self.src);
        let dm = self.depth_multiplier;
        let acc = &mut scratch.acc[..g.out_c];
        let mut o = 0;
        for b in 0..g.batches {
            for oy in 0..g.out_h {
                for ox in 0..g.out_w {
                    acc.fill(0);
                    for fy in 0..g.k_h {
                        let Some(iy) = Geometry::tap(oy, fy, g.stride_h, g.dil_h, g.pad_h, g.in_h)
                        else {
                            continue;
                        };
                        for fx in 0..g.k_w {
                            let Some(ix) =
                                Geometry::tap(ox, fx, g.stride_w, g.dil_w, g.pad_w, g.in_w)
                            else {
                                continue;
                            };
                            let s = ((b * g.in_h + iy) * g.in_w + ix) * g.in_c;
                            let xs = &x[s..s + g.in_c];
                            let t = (fy * g.k_w + fx) * g.out_c;
                            let ws = &self.weights[t..t + g.out_c];
                            if dm == 1 {
                                for ((a, &w), &xv) in acc.iter_mut().zip(ws).zip(xs) {
                                    *a = a.wrapping_add(
                                        i32::from(w) * (i32::from(xv) + self.input_offset),
                                    );
                                }
                            } else {
                                for (oc, (a, &w)) in acc.iter_mut().zip(ws).enumerate() {
                                    *a = a.wrapping_add(
                                        i32::from(w) * (i32::from(xs[oc / dm]) + self.input_offset),
                                    );
                                }
                            }
                        }
                    }
                    for (c, (o, &a)) in out[o..o + g.out_c].iter_mut().zip(acc.iter()).enumerate() {
                        *o = self.rq.apply(c, a);
                    }
                    o += g.out_c;
                }
            }
        }
    }
}
