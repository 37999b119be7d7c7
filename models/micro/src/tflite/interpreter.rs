//! Running a [`Model`] over a caller-given arena.

use super::model::Model;
use super::ops::{as_i8_mut, Inputs, Op, Scratch, Src};
use core::fmt;

/// The arena given to [`Interpreter::new`] is smaller than [`Model::arena_bytes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArenaTooSmall {
    /// Bytes needed.
    pub needed: usize,
    /// Bytes given.
    pub given: usize,
}

impl fmt::Display for ArenaTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "tensor arena of {} bytes is too small: the model needs {}",
            self.given, self.needed
        )
    }
}

impl core::error::Error for ArenaTooSmall {}

/// Whose integer arithmetic an [`Interpreter`] reproduces. TFLite's kernel families agree on
/// the int32 accumulators but requantize them to int8 differently, so outputs differ by a few
/// 1/256 steps on some invocations (and streaming state carries a difference on).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Kernels {
    /// TFLite's reference kernels (`BUILTIN_REF`), which TFLite-Micro, the runtime of
    /// microcontrollers (ESPHome), follows: gemmlowp double rounding in CONV_2D and
    /// DEPTHWISE_CONV_2D, single rounding in FULLY_CONNECTED.
    #[default]
    Reference,
    /// TFLite's optimised builtin kernels as x86-64 builds run them without delegates
    /// (`BUILTIN_WITHOUT_DEFAULT_DELEGATES`; ai-edge-litert 2.3.0): the runtime bundled with
    /// pymicro-wakeword 2.5.0. Those builds compile TFLite's NEON code paths through an
    /// SSE translation header, so requantization follows ARM's instructions
    /// ([`Rounding::Neon`](super::fixedpoint::Rounding::Neon): `SQRDMULH`, then a rounding
    /// shift, both rounding half up):
    /// - FULLY_CONNECTED and CONV_2D (`cpu_backend_gemm`: its custom NEON GEMV for
    ///   matrix × vector products of at least 4 rows, ruy's x86 kernels, which round the same
    ///   way in this build, otherwise): NEON rounding on every output channel;
    /// - DEPTHWISE_CONV_2D (`optimized_ops::Quantize`): NEON rounding on channels in blocks
    ///   of 8, gemmlowp double rounding (the scalar fallback) on the last `channels % 8`;
    /// - LOGISTIC (the same float-built lookup table), QUANTIZE and the data movement ops:
    ///   as the reference kernels;
    /// - ADD and MUL: the reference (scalar) arithmetic, which is what TFLite applies to
    ///   contiguous runs shorter than its NEON blocks (e.g. the `[1, 1, 8, 4] × [4]`
    ///   broadcasts of microWakeWord v1 models); its NEON blocks of 16 contiguous elements
    ///   are not reproduced.
    TfliteOptimized,
}

/// One stream of a [`Model`]: its tensors, resource variables (the streaming state of
/// microWakeWord models), CALL_ONCE flags and scratch, all inside the borrowed arena.
/// [`Interpreter::invoke`] allocates nothing.
pub struct Interpreter<'m, 'r, B: AsRef<[u8]> = &'static [u8]> {
    model: &'m Model<B>,
    arena: &'r mut [u8],
    kernels: Kernels,
}

impl<'m, 'r, B: AsRef<[u8]>> Interpreter<'m, 'r, B> {
    /// A fresh stream in `arena` (at least [`Model::arena_bytes`] long; it is cleared).
    pub fn new(model: &'m Model<B>, arena: &'r mut [u8]) -> Result<Self, ArenaTooSmall> {
        let mut s = Self::attach(model, arena)?;
        s.reset();
        Ok(s)
    }

    /// Continues the stream whose state `arena` already holds (from an earlier
    /// [`Interpreter::new`] with the same model): nothing is cleared.
    pub fn attach(model: &'m Model<B>, arena: &'r mut [u8]) -> Result<Self, ArenaTooSmall> {
        let needed = model.arena_bytes();
        if arena.len() < needed {
            return Err(ArenaTooSmall {
                needed,
                given: arena.len(),
            });
        }
        Ok(Interpreter {
            model,
            arena,
            kernels: Kernels::Reference,
        })
    }

    /// Computes with `kernels`' arithmetic from now on ([`Kernels::Reference`] unless set).
    /// The choice is not stored in the arena: an [`Interpreter::attach`] to the same stream
    /// starts from the default again.
    pub fn with_kernels(mut self, kernels: Kernels) -> Self {
        self.kernels = kernels;
        self
    }

    /// The arithmetic this interpreter reproduces.
    pub fn kernels(&self) -> Kernels {
        self.kernels
    }

    /// The model.
    pub fn model(&self) -> &'m Model<B> {
        self.model
    }

    /// Raw bytes of input `index`, to be filled before [`Interpreter::invoke`].
    pub fn input_mut(&mut self, index: usize) -> Option<&mut [u8]> {
        let r = self.model.input_range(index)?;
        Some(&mut self.arena[r])
    }

    /// Input `index` as int8 values.
    pub fn input_i8_mut(&mut self, index: usize) -> Option<&mut [i8]> {
        self.input_mut(index).map(as_i8_mut)
    }

    /// Raw bytes of output `index` after [`Interpreter::invoke`].
    pub fn output(&self, index: usize) -> Option<&[u8]> {
        let r = self.model.output_range(index)?;
        Some(&self.arena[r])
    }

    /// Runs the main graph once (the first call also runs CALL_ONCE initialisers).
    pub fn invoke(&mut self) {
        let m = self.model;
        let l = m.layout();
        let (tensors, rest) = self.arena.split_at_mut(l.vars);
        let (vars, rest) = rest.split_at_mut(l.once - l.vars);
        let (once, rest) = rest.split_at_mut(l.scratch - l.once);
        let need = m.c.scratch;
        let pad = rest.as_ptr().align_offset(4).min(3);
        let (acc, patch) = rest[pad..].split_at_mut(need.acc * 4);
        assert_eq!(acc.as_ptr().align_offset(4), 0, "arena alignment");
        // SAFETY: `acc` is 4-aligned (checked above), `need.acc * 4` bytes long and borrowed
        // uniquely; every bit pattern is a valid i32.
        let acc =
            unsafe { core::slice::from_raw_parts_mut(acc.as_mut_ptr().cast::<i32>(), need.acc) };
        let mut scratch = Scratch {
            acc,
            patch: as_i8_mut(&mut patch[..need.patch]),
            gemm: m.gemm,
            kernels: self.kernels,
        };
        run_graph(m, 0, tensors, vars, once, &mut scratch);
    }

    /// Forgets all streaming state: variables are re-initialised on the next invoke.
    pub fn reset(&mut self) {
        let n = self.model.arena_bytes();
        self.arena[..n].fill(0);
    }
}

fn run_graph<B: AsRef<[u8]>>(
    model: &Model<B>,
    g: usize,
    arena: &mut [u8],
    vars: &mut [u8],
    once: &mut [u8],
    scratch: &mut Scratch<'_>,
) {
    let consts = model.bytes();
    for op in &model.c.graphs[g].ops {
        match op {
            Op::CallOnce { graph, flag } => {
                if once[*flag] == 0 {
                    once[*flag] = 1;
                    run_graph(model, *graph, arena, vars, once, scratch);
                }
            }
            Op::ReadVar { var, dst } => arena[dst.clone()].copy_from_slice(&vars[var.clone()]),
            Op::AssignVar { src, var } => {
                let bytes = match src {
                    Src::Const(r) => &consts[r.clone()],
                    Src::Arena(r) => &arena[r.clone()],
                };
                vars[var.clone()].copy_from_slice(bytes);
            }
            op => {
                if let Some(dst) = op.dst() {
                    let (inp, out) = Inputs::split(arena, consts, dst);
                    op.run(&inp, out, scratch);
                }
            }
        }
    }
}
