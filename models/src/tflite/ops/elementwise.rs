//! Element-wise ops: LOGISTIC (lookup table), QUANTIZE (requantization), ADD and MUL with
//! broadcasting.

use super::{Inputs, Src};
use crate::tflite::fixedpoint::multiply_by_quantized_multiplier as mbqm;
use std::ops::Range;

/// `dst[i] = table[src[i]]` on raw bytes.
#[derive(Debug)]
pub(crate) struct Lut {
    pub(crate) src: Src,
    pub(crate) dst: Range<usize>,
    pub(crate) table: [u8; 256],
}

impl Lut {
    /// TFLite `LUTPopulate` for int8 LOGISTIC (the reference kernel's table, float32 math).
    pub(crate) fn logistic(
        src: Src,
        dst: Range<usize>,
        in_scale: f32,
        in_zp: i32,
        out_scale: f32,
        out_zp: i32,
    ) -> Self {
        let mut table = [0u8; 256];
        let inverse_scale = 1.0f32 / out_scale;
        for v in -128i32..=127 {
            let x = in_scale * (v - in_zp) as f32;
            let y = 1.0f32 / (1.0f32 + (-x).exp());
            let r = (y * inverse_scale).round();
            let q = ((r + out_zp as f32) as i32).clamp(-128, 127);
            table[v as u8 as usize] = q as i8 as u8;
        }
        Lut { src, dst, table }
    }

    pub(crate) fn run(&self, inp: &Inputs, out: &mut [u8]) {
        for (o, &i) in out.iter_mut().zip(inp.get(&self.src)) {
            *o = self.table[i as usize];
        }
    }
}

/// Requantize between 8-bit types: `clamp(mbqm(x − in_zp) + out_zp)`.
#[derive(Debug)]
pub(crate) struct Requantize {
    pub(crate) src: Src,
    pub(crate) dst: Range<usize>,
    pub(crate) in_signed: bool,
    pub(crate) in_zp: i32,
    pub(crate) out_zp: i32,
    pub(crate) mult: i32,
    pub(crate) shift: i32,
    pub(crate) out_min: i32,
    pub(crate) out_max: i32,
}

impl Requantize {
    pub(crate) fn run(&self, inp: &Inputs, out: &mut [u8]) {
        for (o, &i) in out.iter_mut().zip(inp.get(&self.src)) {
            let x = if self.in_signed {
                i as i8 as i32
            } else {
                i as i32
            };
            let v = mbqm(x - self.in_zp, self.mult, self.shift).wrapping_add(self.out_zp);
            *o = v.clamp(self.out_min, self.out_max) as u8;
        }
    }
}

/// The arithmetic of a quantized binary op (TFLite reference int8 ADD / MUL).
#[derive(Debug)]
pub(crate) enum BinaryKind {
    Add {
        left_shift: i32,
        in1: (i32, i32),
        in2: (i32, i32),
        out: (i32, i32),
    },
    Mul {
        out: (i32, i32),
    },
}

/// Broadcasting binary op; `idx` holds the (input 1, input 2) element of each output element.
#[derive(Debug)]
pub(crate) struct Binary {
    pub(crate) src1: Src,
    pub(crate) src2: Src,
    pub(crate) dst: Range<usize>,
    pub(crate) idx: Vec<(u32, u32)>,
    pub(crate) in1_offset: i32,
    pub(crate) in2_offset: i32,
    pub(crate) out_zp: i32,
    pub(crate) act_min: i32,
    pub(crate) act_max: i32,
    pub(crate) kind: BinaryKind,
}

impl Binary {
    pub(crate) fn run(&self, inp: &Inputs, out: &mut [i8]) {
        let (a, b) = (inp.get_i8(&self.src1), inp.get_i8(&self.src2));
        for (o, &(i, j)) in out.iter_mut().zip(&self.idx) {
            let x = a[i as usize] as i32 + self.in1_offset;
            let y = b[j as usize] as i32 + self.in2_offset;
            let v = match self.kind {
                BinaryKind::Mul { out } => mbqm(x * y, out.0, out.1),
                BinaryKind::Add {
                    left_shift,
                    in1,
                    in2,
                    out,
                } => {
                    let sx = mbqm(x << left_shift, in1.0, in1.1);
                    let sy = mbqm(y << left_shift, in2.0, in2.1);
                    mbqm(sx.wrapping_add(sy), out.0, out.1)
                }
            };
            *o = v
                .wrapping_add(self.out_zp)
                .clamp(self.act_min, self.act_max) as i8;
        }
    }
}
