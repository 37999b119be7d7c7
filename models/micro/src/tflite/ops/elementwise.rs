//! Element-wise ops: LOGISTIC (lookup table), QUANTIZE (requantization), ADD and MUL with
//! broadcasting.

use super::{activation_range, Build, Inputs, Op, Src};
use crate::math;
use crate::tflite::fixedpoint::{multiply_by_quantized_multiplier as mbqm, quantize_multiplier};
use crate::tflite::tensor::{DType, T};
use crate::tflite::{bad, opcode, schema, LoadError};
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::ops::Range;

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
            let y = 1.0f32 / (1.0f32 + math::expf(-x));
            let r = math::roundf(y * inverse_scale);
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

/// Compiles LOGISTIC (int8 → int8 through a table).
pub(crate) fn build_logistic<'t, 'a: 't>(
    c: &mut impl Build<'t, 'a>,
    i: usize,
    o: usize,
) -> Result<(), LoadError> {
    let ts = c.tensors();
    let (ti, to) = (ts[i].expect(DType::I8)?, ts[o].expect(DType::I8)?);
    if ti.elems != to.elems {
        return Err(to.err("shape differs from the input"));
    }
    let ((si, zi), (so, zo)) = (ti.quant()?, to.quant()?);
    let src = c.src(i)?;
    let dst = c.output(o)?;
    c.push(Op::Lut(Box::new(Lut::logistic(src, dst, si, zi, so, zo))));
    Ok(())
}

/// Compiles QUANTIZE between 8-bit types.
pub(crate) fn build_quantize<'t, 'a: 't>(
    c: &mut impl Build<'t, 'a>,
    i: usize,
    o: usize,
) -> Result<(), LoadError> {
    let ts = c.tensors();
    let (ti, to) = (&ts[i], &ts[o]);
    let eight_bit = |t: &T| matches!(t.dtype, DType::I8 | DType::U8);
    if !eight_bit(ti) || !eight_bit(to) {
        return Err(to.err(msg!(
            "QUANTIZE {:?} -> {:?} is not supported (8-bit only)",
            ti.dtype,
            to.dtype
        )));
    }
    if ti.elems != to.elems {
        return Err(to.err("shape differs from the input"));
    }
    let ((si, zi), (so, zo)) = (ti.quant()?, to.quant()?);
    let (mult, shift) = quantize_multiplier(f64::from(si) / f64::from(so));
    let (out_min, out_max) = if to.dtype == DType::I8 {
        (-128, 127)
    } else {
        (0, 255)
    };
    let in_signed = ti.dtype == DType::I8;
    let src = c.src(i)?;
    let dst = c.output(o)?;
    c.push(Op::Requantize(Requantize {
        src,
        dst,
        in_signed,
        in_zp: zi,
        out_zp: zo,
        mult,
        shift,
        out_min,
        out_max,
    }));
    Ok(())
}

/// Compiles ADD or MUL (`code`) with broadcasting.
pub(crate) fn build_binary<'t, 'a: 't>(
    c: &mut impl Build<'t, 'a>,
    op: &schema::Operator,
    code: i32,
    a: usize,
    b: usize,
    o: usize,
) -> Result<(), LoadError> {
    let ts = c.tensors();
    let (ta, tb, to) = (
        ts[a].expect(DType::I8)?,
        ts[b].expect(DType::I8)?,
        ts[o].expect(DType::I8)?,
    );
    // numpy broadcasting, aligned at the last dimension.
    let rank = ta.shape.len().max(tb.shape.len());
    let dim = |s: &[usize], k: usize| {
        if k + s.len() < rank {
            1
        } else {
            s[k + s.len() - rank]
        }
    };
    let mut shape = Vec::with_capacity(rank);
    for k in 0..rank {
        let (x, y) = (dim(&ta.shape, k), dim(&tb.shape, k));
        if x != y && x != 1 && y != 1 {
            return Err(to.err(msg!("cannot broadcast {:?} with {:?}", ta.shape, tb.shape)));
        }
        shape.push(if x == 1 { y } else { x });
    }
    if shape.iter().product::<usize>() != to.elems
        || to.shape.iter().product::<usize>() != to.elems
        || shape.len() > 8
    {
        return Err(to.err(msg!("expected broadcast shape {shape:?}")));
    }
    let strides = |s: &[usize]| {
        let mut st = vec![0usize; rank];
        let mut acc = 1;
        for k in (0..rank).rev() {
            let d = dim(s, k);
            st[k] = if d == 1 { 0 } else { acc };
            acc *= d;
        }
        st
    };
    let (sa, sb) = (strides(&ta.shape), strides(&tb.shape));
    let mut idx = Vec::with_capacity(to.elems);
    let mut pos = vec![0usize; rank];
    for _ in 0..to.elems {
        let ia: usize = pos.iter().zip(&sa).map(|(p, s)| p * s).sum();
        let ib: usize = pos.iter().zip(&sb).map(|(p, s)| p * s).sum();
        idx.push((ia as u32, ib as u32));
        for k in (0..rank).rev() {
            pos[k] += 1;
            if pos[k] < shape[k] {
                break;
            }
            pos[k] = 0;
        }
    }
    let ((s1, z1), (s2, z2), (so, zo)) = (ta.quant()?, tb.quant()?, to.quant()?);
    let act = if code == opcode::ADD {
        op.options::<schema::AddOptions>()
            .and_then(|o| o.fused_activation_function())
    } else {
        op.options::<schema::MulOptions>()
            .and_then(|o| o.fused_activation_function())
    };
    let (act_min, act_max) = activation_range(act.unwrap_or(0), so, zo, -128, 127)
        .ok_or_else(|| bad("unsupported fused activation"))?;
    let kind = if code == opcode::ADD {
        let left_shift = 20;
        let twice_max = 2.0 * f64::from(s1.max(s2));
        BinaryKind::Add {
            left_shift,
            in1: quantize_multiplier(f64::from(s1) / twice_max),
            in2: quantize_multiplier(f64::from(s2) / twice_max),
            out: quantize_multiplier(twice_max / (f64::from(1 << left_shift) * f64::from(so))),
        }
    } else {
        BinaryKind::Mul {
            out: quantize_multiplier(f64::from(s1) * f64::from(s2) / f64::from(so)),
        }
    };
    let (src1, src2) = (c.src(a)?, c.src(b)?);
    let dst = c.output(o)?;
    c.push(Op::Binary(Box::new(Binary {
        src1,
        src2,
        dst,
        idx,
        in1_offset: -z1,
        in2_offset: -z2,
        out_zp: zo,
        act_min,
        act_max,
        kind,
    })));
    Ok(())
}
