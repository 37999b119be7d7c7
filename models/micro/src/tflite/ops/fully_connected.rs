//! FULLY_CONNECTED, int8 (TFLite reference kernel: its requantization rounds once; the
//! optimised kernel's twice, NEON style).

use super::{activation_range, Build, Inputs, Op, Scratch, Src};
use crate::tflite::fixedpoint::{quantize_multiplier, Rounding};
use crate::tflite::schema;
use crate::tflite::tensor::DType;
use crate::tflite::Kernels;
use crate::tflite::{bad, LoadError};
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::ops::Range;

/// `y[b] = requant(W · (x[b] − zp) + bias)`.
#[derive(Debug)]
pub(crate) struct FullyConnected {
    pub(crate) src: Src,
    pub(crate) dst: Range<usize>,
    pub(crate) batches: usize,
    pub(crate) depth: usize,
    pub(crate) units: usize,
    /// `[units, depth]`, in the model file.
    pub(crate) weights: Range<usize>,
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
    pub(crate) fn run(&self, inp: &Inputs, out: &mut [i8], scratch: &mut Scratch<'_>) {
        let x = inp.get_i8(&self.src);
        let acc = &mut scratch.acc[..self.batches * self.units];
        (scratch.gemm)(
            inp.const_i8(&self.weights),
            self.units,
            self.depth,
            x,
            self.batches,
            acc,
        );
        let rounding = match scratch.kernels {
            Kernels::Reference => self.rounding,
            Kernels::TfliteOptimized => Rounding::Neon,
        };
        for (o, a) in out
            .chunks_exact_mut(self.units)
            .zip(acc.chunks_exact(self.units))
        {
            for (u, (o, &a)) in o.iter_mut().zip(a).enumerate() {
                let v = rounding.apply(a.wrapping_add(self.bias[u]), self.mult[u], self.shift[u]);
                *o = v
                    .wrapping_add(self.out_zp)
                    .clamp(self.act_min, self.act_max) as i8;
            }
        }
    }
}

/// Compiles FULLY_CONNECTED (`i` input, `f` weights, `b` bias, `o` output).
pub(crate) fn build_fully_connected<'t, 'a: 't>(
    c: &mut impl Build<'t, 'a>,
    op: &schema::Operator,
    i: usize,
    f: usize,
    b: Option<usize>,
    o: usize,
) -> Result<(), LoadError> {
    let ts = c.tensors();
    let (ti, tf, to) = (
        ts[i].expect(DType::I8)?,
        ts[f].expect(DType::I8)?.expect_rank(2)?,
        ts[o].expect(DType::I8)?,
    );
    let opts = op.options::<schema::FullyConnectedOptions>();
    if opts.and_then(|o| o.weights_format()).unwrap_or(0) != 0 {
        return Err(bad("shuffled FULLY_CONNECTED weights are not supported"));
    }
    let (units, depth) = (tf.shape[0], tf.shape[1]);
    if depth == 0 || ti.elems % depth != 0 || to.elems != ti.elems / depth * units {
        return Err(to.err(msg!(
            "input {:?} and weights {:?} do not give {:?}",
            ti.shape,
            tf.shape,
            to.shape
        )));
    }
    let batches = ti.elems / depth;
    let ((si, zi), (so, zo)) = (ti.quant()?, to.quant()?);
    let (mut mult, mut shift) = (Vec::new(), Vec::new());
    for &fs in &tf.channel_scales(units)? {
        let (m, s) = quantize_multiplier(f64::from(si) * f64::from(fs) / f64::from(so));
        mult.push(m);
        shift.push(s);
    }
    let bias = match b {
        Some(b) => {
            let v = ts[b].const_i32()?;
            if v.len() != units {
                return Err(ts[b].err(msg!("expected {units} biases")));
            }
            v
        }
        None => vec![0; units],
    };
    let weights = tf.const_i8_range()?;
    let bias = bias
        .iter()
        .zip(tf.const_i8()?.chunks_exact(depth))
        .map(|(&b, w)| b.wrapping_add((-zi).wrapping_mul(w.iter().map(|&v| v as i32).sum())))
        .collect();
    let act = opts
        .and_then(|o| o.fused_activation_function())
        .unwrap_or(0);
    let (act_min, act_max) = activation_range(act, so, zo, -128, 127)
        .ok_or_else(|| bad("unsupported fused activation"))?;
    let src = c.src(i)?;
    let dst = c.output(o)?;
    c.need_scratch(batches * units, 0);
    c.push(Op::FullyConnected(Box::new(FullyConnected {
        src,
        dst,
        batches,
        depth,
        units,
        weights,
        bias,
        mult,
        shift,
        rounding: Rounding::Single,
        out_zp: zo,
        act_min,
        act_max,
    })));
    Ok(())
}
