//! Compiled operators. Every op holds what it needs, prepared at load (shapes resolved, weights
//! decoded, multipliers quantized); running one only reads its inputs and writes its output.

mod conv;
mod elementwise;
mod fully_connected;
mod shape;

pub(crate) use conv::{Conv, DepthwiseConv, Geometry, Requant};
pub(crate) use elementwise::{Binary, BinaryKind, Lut, Requantize};
pub(crate) use fully_connected::FullyConnected;
pub(crate) use shape::{slice_axis, Copy2D, Gather};

use std::ops::Range;

/// Where an op input lives: constant data of the model or the per-stream arena.
#[derive(Clone, Debug)]
pub(crate) enum Src {
    Const(Range<usize>),
    Arena(Range<usize>),
}

impl Src {
    pub(crate) fn len(&self) -> usize {
        match self {
            Src::Const(r) | Src::Arena(r) => r.len(),
        }
    }
}

/// Read access to everything but the op's output range (which is borrowed mutably beside it).
pub(crate) struct Inputs<'a> {
    lo: &'a [u8],
    hi: &'a [u8],
    hi_start: usize,
    consts: &'a [u8],
}

impl<'a> Inputs<'a> {
    /// Splits `arena` around `dst`; the load-time plan guarantees no input overlaps `dst`.
    pub(crate) fn split(
        arena: &'a mut [u8],
        consts: &'a [u8],
        dst: &Range<usize>,
    ) -> (Self, &'a mut [u8]) {
        let (lo, rest) = arena.split_at_mut(dst.start);
        let (out, hi) = rest.split_at_mut(dst.len());
        (
            Inputs {
                lo,
                hi,
                hi_start: dst.end,
                consts,
            },
            out,
        )
    }

    /// Bytes of `src`.
    #[inline]
    pub(crate) fn get(&self, src: &Src) -> &'a [u8] {
        match src {
            Src::Const(r) => &self.consts[r.clone()],
            Src::Arena(r) if r.end <= self.lo.len() => &self.lo[r.clone()],
            Src::Arena(r) => &self.hi[r.start - self.hi_start..r.end - self.hi_start],
        }
    }

    /// Bytes of `src` as int8.
    #[inline]
    pub(crate) fn get_i8(&self, src: &Src) -> &'a [i8] {
        as_i8(self.get(src))
    }
}

/// Reinterprets bytes as int8.
#[inline]
pub(crate) fn as_i8(b: &[u8]) -> &[i8] {
    // SAFETY: u8 and i8 have identical size, alignment and no invalid bit patterns.
    unsafe { std::slice::from_raw_parts(b.as_ptr().cast::<i8>(), b.len()) }
}

/// Reinterprets bytes as int8, mutably.
#[inline]
pub(crate) fn as_i8_mut(b: &mut [u8]) -> &mut [i8] {
    // SAFETY: as in `as_i8`; the borrow is unique.
    unsafe { std::slice::from_raw_parts_mut(b.as_mut_ptr().cast::<i8>(), b.len()) }
}

/// Per-stream scratch buffers, sized at load.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scratch {
    pub(crate) acc: Vec<i32>,
    pub(crate) patch: Vec<i8>,
}

/// Scratch sizes an op needs.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ScratchNeed {
    pub(crate) acc: usize,
    pub(crate) patch: usize,
}

/// One compiled operator.
#[derive(Debug)]
pub(crate) enum Op {
    /// Run `graph` the first time this op executes in a stream (CALL_ONCE).
    CallOnce {
        graph: usize,
        flag: usize,
    },
    /// Copy a resource variable into a tensor (READ_VARIABLE).
    ReadVar {
        var: Range<usize>,
        dst: Range<usize>,
    },
    /// Store a tensor into a resource variable (ASSIGN_VARIABLE).
    AssignVar {
        src: Src,
        var: Range<usize>,
    },
    /// Block copy (RESHAPE, CONCATENATION, SPLIT_V parts).
    Copy(Copy2D),
    /// Element gather (STRIDED_SLICE).
    Gather(Gather),
    Conv(Box<Conv>),
    Depthwise(Box<DepthwiseConv>),
    FullyConnected(Box<FullyConnected>),
    /// 256-entry table (LOGISTIC).
    Lut(Box<Lut>),
    /// Requantization (QUANTIZE).
    Requantize(Requantize),
    /// Broadcasting ADD / MUL.
    Binary(Box<Binary>),
}

impl Op {
    /// Output range in the arena, if the op writes one.
    pub(crate) fn dst(&self) -> Option<&Range<usize>> {
        match self {
            Op::CallOnce { .. } | Op::AssignVar { .. } => None,
            Op::ReadVar { dst, .. } => Some(dst),
            Op::Copy(c) => Some(&c.dst),
            Op::Gather(g) => Some(&g.dst),
            Op::Conv(c) => Some(&c.dst),
            Op::Depthwise(c) => Some(&c.dst),
            Op::FullyConnected(c) => Some(&c.dst),
            Op::Lut(c) => Some(&c.dst),
            Op::Requantize(c) => Some(&c.dst),
            Op::Binary(c) => Some(&c.dst),
        }
    }

    /// Runs an op that reads `Inputs` and writes `out` (everything but the variable ops).
    pub(crate) fn run(&self, inp: &Inputs, out: &mut [u8], scratch: &mut Scratch) {
        match self {
            Op::Copy(c) => c.run(inp, out),
            Op::Gather(g) => g.run(inp, out),
            Op::Conv(c) => c.run(inp, as_i8_mut(out), scratch),
            Op::Depthwise(c) => c.run(inp, as_i8_mut(out), scratch),
            Op::FullyConnected(c) => c.run(inp, as_i8_mut(out), scratch),
            Op::Lut(c) => c.run(inp, out),
            Op::Requantize(c) => c.run(inp, out),
            Op::Binary(c) => c.run(inp, as_i8_mut(out)),
            Op::CallOnce { .. } | Op::ReadVar { .. } | Op::AssignVar { .. } => {
                unreachable!("variable ops are run by the interpreter")
            }
        }
    }
}

/// Fused activation range `[min, max]` of an int8 output (TFLite
/// `CalculateActivationRangeQuantized`), `act` being the schema's `ActivationFunctionType`.
pub(crate) fn activation_range(
    act: i8,
    scale: f32,
    zp: i32,
    qmin: i32,
    qmax: i32,
) -> Option<(i32, i32)> {
    use super::fixedpoint::quantize_f32 as q;
    Some(match act {
        0 => (qmin, qmax),
        1 => (qmin.max(q(0.0, scale, zp)), qmax),
        2 => (qmin.max(q(-1.0, scale, zp)), qmax.min(q(1.0, scale, zp))),
        3 => (qmin.max(q(0.0, scale, zp)), qmax.min(q(6.0, scale, zp))),
        _ => return None,
    })
}
