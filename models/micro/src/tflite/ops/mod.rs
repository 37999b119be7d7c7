//! Compiled operators. Every op holds what it needs, prepared at load (shapes resolved,
//! multipliers quantized, biases folded; weights stay in the model file and are referenced by
//! range); running one only reads its inputs and writes its output. Each op's builder (which
//! validates the TFLite operator and compiles it) sits next to its kernel.

mod conv;
mod elementwise;
mod fully_connected;
mod shape;

pub(crate) use conv::{build_conv, Conv, DepthwiseConv, Geometry, Requant};
pub(crate) use elementwise::{
    build_binary, build_logistic, build_quantize, Binary, BinaryKind, Lut, Requantize,
};
pub(crate) use fully_connected::{build_fully_connected, FullyConnected};
pub(crate) use shape::{
    build_concatenation, build_reshape, build_split_v, build_strided_slice, Copy2D, Gather,
};

use super::tensor::T;
use super::LoadError;
use alloc::boxed::Box;
use core::ops::Range;

/// What an op builder needs from the graph compiler: the subgraph's tensors, the location of
/// inputs, arena space for outputs, and a place for the compiled op.
pub(crate) trait Build<'t, 'a: 't> {
    /// The subgraph's tensors (a borrow independent of `self`).
    fn tensors(&self) -> &'t [T<'a>];
    /// Where input tensor `i` is read from (constant data in the file or the arena).
    fn src(&mut self, i: usize) -> Result<Src, LoadError>;
    /// Allocates output tensor `i` in the arena.
    fn output(&mut self, i: usize) -> Result<Range<usize>, LoadError>;
    /// Appends a compiled op.
    fn push(&mut self, op: Op);
    /// Records the scratch an op needs (int32 accumulators, int8 patch bytes).
    fn need_scratch(&mut self, acc: usize, patch: usize);
}

/// Where an op input lives: constant data in the model file or the per-stream arena.
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
    /// The model file (constant tensors and weights).
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

    /// Constant int8 data (weights) at `r` in the model file.
    #[inline]
    pub(crate) fn const_i8(&self, r: &Range<usize>) -> &'a [i8] {
        as_i8(&self.consts[r.clone()])
    }
}

/// Reinterprets bytes as int8.
#[inline]
pub(crate) fn as_i8(b: &[u8]) -> &[i8] {
    // SAFETY: u8 and i8 have identical size, alignment and no invalid bit patterns.
    unsafe { core::slice::from_raw_parts(b.as_ptr().cast::<i8>(), b.len()) }
}

/// Reinterprets bytes as int8, mutably.
#[inline]
pub(crate) fn as_i8_mut(b: &mut [u8]) -> &mut [i8] {
    // SAFETY: as in `as_i8`; the borrow is unique.
    unsafe { core::slice::from_raw_parts_mut(b.as_mut_ptr().cast::<i8>(), b.len()) }
}

/// Per-stream scratch buffers (carved from the arena), sized at load.
pub(crate) struct Scratch<'s> {
    pub(crate) acc: &'s mut [i32],
    pub(crate) patch: &'s mut [i8],
    /// The GEMM to use (the host plugs in its runtime-dispatched SIMD one).
    pub(crate) gemm: crate::kernels::GemmI8,
    /// Whose requantization arithmetic to reproduce.
    pub(crate) kernels: super::Kernels,
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
    /// CONV_2D.
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
    pub(crate) fn run(&self, inp: &Inputs, out: &mut [u8], scratch: &mut Scratch<'_>) {
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
