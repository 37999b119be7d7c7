//! CONV_2D and DEPTHWISE_CONV_2D, int8 with per-channel requantization (TFLite reference
//! `ConvPerChannel` / `DepthwiseConvPerChannel`: double rounding; the optimised kernels'
//! roundings with [`Kernels::TfliteOptimized`]).

use super::{activation_range, Build, Inputs, Op, Scratch, Src};
use crate::tflite::fixedpoint::{quantize_multiplier, Rounding};
use crate::tflite::schema;
use crate::tflite::tensor::{DType, MAX_BYTES};
use crate::tflite::Kernels;
use crate::tflite::{bad, LoadError};
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::ops::Range;

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
    fn apply(&self, c: usize, acc: i32, rounding: Rounding) -> i8 {
        let v = rounding.apply(acc.wrapping_add(self.bias[c]), self.mult[c], self.shift[c]);
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
    /// A 1×1 convolution with stride 1 and no padding: the input already is the im2col
    /// matrix, so the GEMM reads it in place (no patch scratch).
    pub(crate) direct: bool,
    /// `[out_c, k_h · k_w · in_c]`, in the model file.
    pub(crate) weights: Range<usize>,
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

    pub(crate) fn run(&self, inp: &Inputs, out: &mut [i8], scratch: &mut Scratch<'_>) {
        let g = &self.g;
        let x = inp.get_i8(&self.src);
        let (depth, n) = (self.depth(), self.positions());
        let acc = &mut scratch.acc[..n * g.out_c];
        let weights = inp.const_i8(&self.weights);
        // TFLite's optimised CONV_2D is a GEMM through `cpu_backend_gemm` (see
        // `Kernels::TfliteOptimized` for why its requantization is the NEON one).
        let rounding = match scratch.kernels {
            Kernels::Reference => Rounding::Double,
            Kernels::TfliteOptimized => Rounding::Neon,
        };
        if self.direct {
            (scratch.gemm)(weights, g.out_c, depth, &x[..n * depth], n, acc);
            self.requantize(out, acc, rounding);
            return;
        }
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
        (scratch.gemm)(weights, g.out_c, depth, patch, n, acc);
        self.requantize(out, acc, rounding);
    }

    fn requantize(&self, out: &mut [i8], acc: &[i32], rounding: Rounding) {
        let g = &self.g;
        for (o, a) in out.chunks_exact_mut(g.out_c).zip(acc.chunks_exact(g.out_c)) {
            for (c, (o, &a)) in o.iter_mut().zip(a).enumerate() {
                *o = self.rq.apply(c, a, rounding);
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
    /// `[k_h, k_w, out_c]`, in the model file.
    pub(crate) weights: Range<usize>,
    /// Here `rq.bias` is the plain bias (the input offset is applied per tap).
    pub(crate) rq: Requant,
}

impl DepthwiseConv {
    /// Accumulates tap by tap over all channels at once (contiguous in input and weights).
    pub(crate) fn run(&self, inp: &Inputs, out: &mut [i8], scratch: &mut Scratch<'_>) {
        let g = &self.g;
        let x = inp.get_i8(&self.src);
        let dm = self.depth_multiplier;
        let weights = inp.const_i8(&self.weights);
        let acc = &mut scratch.acc[..g.out_c];
        // TFLite's optimised `Quantize` requantizes channels in NEON blocks of 8 and the rest
        // one by one with the scalar (gemmlowp) arithmetic; the reference kernel does all
        // channels the scalar way.
        let neon = match scratch.kernels {
            Kernels::Reference => 0,
            Kernels::TfliteOptimized => g.out_c / 8 * 8,
        };
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
                            let ws = &weights[t..t + g.out_c];
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
                        let r = if c < neon {
                            Rounding::Neon
                        } else {
                            Rounding::Double
                        };
                        *o = self.rq.apply(c, a, r);
                    }
                    o += g.out_c;
                }
            }
        }
    }
}

/// Compiles CONV_2D or DEPTHWISE_CONV_2D (`i` input, `f` filter, `b` bias, `o` output).
pub(crate) fn build_conv<'t, 'a: 't>(
    c: &mut impl Build<'t, 'a>,
    op: &schema::Operator,
    i: usize,
    f: usize,
    b: Option<usize>,
    o: usize,
    depthwise: bool,
) -> Result<(), LoadError> {
    let ts = c.tensors();
    let (ti, tf, to) = (
        ts[i].expect(DType::I8)?.expect_rank(4)?,
        ts[f].expect(DType::I8)?.expect_rank(4)?,
        ts[o].expect(DType::I8)?.expect_rank(4)?,
    );
    // The depth multiplier is derived from the shapes (its option is redundant, as in TFLite).
    let (padding, stride_w, stride_h, act, dil_w, dil_h) = if depthwise {
        let p = op
            .options::<schema::DepthwiseConv2DOptions>()
            .ok_or_else(|| bad("no options"))?;
        (
            p.padding(),
            p.stride_w(),
            p.stride_h(),
            p.fused_activation_function(),
            p.dilation_w_factor(),
            p.dilation_h_factor(),
        )
    } else {
        let p = op
            .options::<schema::Conv2DOptions>()
            .ok_or_else(|| bad("no options"))?;
        (
            p.padding(),
            p.stride_w(),
            p.stride_h(),
            p.fused_activation_function(),
            p.dilation_w_factor(),
            p.dilation_h_factor(),
        )
    };
    let pos = |v: Option<i32>, default: i32| {
        usize::try_from(v.unwrap_or(default))
            .ok()
            .filter(|&v| (1..=1 << 16).contains(&v))
    };
    let (Some(stride_h), Some(stride_w), Some(dil_h), Some(dil_w)) = (
        pos(stride_h, 0),
        pos(stride_w, 0),
        pos(dil_h, 1),
        pos(dil_w, 1),
    ) else {
        return Err(bad("strides and dilations must be positive"));
    };
    let [batches, in_h, in_w, in_c] = ti.shape[..] else {
        unreachable!()
    };
    let (k_h, k_w, out_c) = if depthwise {
        (tf.shape[1], tf.shape[2], tf.shape[3])
    } else {
        (tf.shape[1], tf.shape[2], tf.shape[0])
    };
    if depthwise {
        if tf.shape[0] != 1 || in_c == 0 || out_c % in_c != 0 {
            return Err(tf.err(msg!(
                "depthwise filter {:?} does not fit input channels {in_c}",
                tf.shape
            )));
        }
    } else if tf.shape[3] != in_c {
        return Err(tf.err(msg!(
            "filter {:?} does not fit input channels {in_c}",
            tf.shape
        )));
    }
    let same = match padding.unwrap_or(0) {
        0 => true,
        1 => false,
        p => return Err(bad(msg!("unknown padding {p}"))),
    };
    let out_dim = |size: usize, k: usize, stride: usize, dil: usize| -> Option<(usize, usize)> {
        let eff = (k.checked_sub(1)?).checked_mul(dil)? + 1;
        let out = if same {
            size.div_ceil(stride)
        } else {
            (size + stride).checked_sub(eff)? / stride
        };
        let total = ((out.checked_sub(1)?) * stride + eff).saturating_sub(size);
        Some((out, total / 2))
    };
    let (Some((out_h, pad_h)), Some((out_w, pad_w))) = (
        out_dim(in_h, k_h, stride_h, dil_h),
        out_dim(in_w, k_w, stride_w, dil_w),
    ) else {
        return Err(bad("convolution has an empty output"));
    };
    if to.shape != [batches, out_h, out_w, out_c] {
        return Err(to.err(msg!("expected shape {:?}", [batches, out_h, out_w, out_c])));
    }
    let g = Geometry {
        batches,
        in_h,
        in_w,
        in_c,
        out_h,
        out_w,
        out_c,
        k_h,
        k_w,
        stride_h,
        stride_w,
        dil_h,
        dil_w,
        pad_h,
        pad_w,
    };
    let ((si, zi), (so, zo)) = (ti.quant()?, to.quant()?);
    let fscales = tf.channel_scales(out_c)?;
    let (mut mult, mut shift) = (Vec::with_capacity(out_c), Vec::with_capacity(out_c));
    for &fs in &fscales {
        let (m, s) = quantize_multiplier(f64::from(si) * f64::from(fs) / f64::from(so));
        mult.push(m);
        shift.push(s);
    }
    let bias = match b {
        Some(b) => {
            let v = ts[b].const_i32()?;
            if v.len() != out_c {
                return Err(ts[b].err(msg!("expected {out_c} biases")));
            }
            v
        }
        None => vec![0; out_c],
    };
    let (act_min, act_max) = activation_range(act.unwrap_or(0), so, zo, -128, 127)
        .ok_or_else(|| bad("unsupported fused activation"))?;
    let weights = tf.const_i8_range()?;
    let src = c.src(i)?;
    let dst = c.output(o)?;
    if depthwise {
        let rq = Requant {
            bias,
            mult,
            shift,
            out_zp: zo,
            act_min,
            act_max,
        };
        let depth_multiplier = out_c / in_c;
        c.need_scratch(out_c, 0);
        c.push(Op::Depthwise(Box::new(DepthwiseConv {
            src,
            dst,
            g,
            depth_multiplier,
            input_offset: -zi,
            weights,
            rq,
        })));
    } else {
        let depth = k_h * k_w * in_c;
        let folded = bias
            .iter()
            .zip(tf.const_i8()?.chunks_exact(depth.max(1)))
            .map(|(&b, w)| b.wrapping_add((-zi).wrapping_mul(w.iter().map(|&v| v as i32).sum())))
            .collect();
        let rq = Requant {
            bias: folded,
            mult,
            shift,
            out_zp: zo,
            act_min,
            act_max,
        };
        let direct = k_h == 1
            && k_w == 1
            && stride_h == 1
            && stride_w == 1
            && (out_h, out_w) == (in_h, in_w)
            && pad_h == 0
            && pad_w == 0;
        let conv = Conv {
            src,
            dst,
            g,
            in_zp: zi as i8,
            direct,
            weights,
            rq,
        };
        let n = conv.positions();
        // The im2col patches of all output positions are held at once: bound them.
        let patch = n
            .checked_mul(conv.depth())
            .filter(|&p| p <= MAX_BYTES)
            .ok_or_else(|| bad("convolution scratch too large"))?;
        c.need_scratch(n * out_c, if direct { 0 } else { patch });
        c.push(Op::Conv(Box::new(conv)));
    }
    Ok(())
}
