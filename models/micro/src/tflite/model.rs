//! [`Model`]: the compiled graph plus the `.tflite` bytes it reads weights from.

use super::compiler::{self, Compiled};
use super::ops::Op;
use super::schema;
use super::tensor::TensorInfo;
use super::LoadError;
use crate::kernels::{self, GemmI8};
use alloc::string::String;
use core::ops::Range;

/// An immutable, validated TFLite model: the file bytes `B` (`&'static [u8]` in flash on a
/// microcontroller, an owned buffer on a host), the compiled operators and the memory plan.
/// Per-stream state lives in an arena of [`Model::arena_bytes`] bytes given to
/// [`super::Interpreter`]; a model can serve any number of streams.
pub struct Model<B: AsRef<[u8]> = &'static [u8]> {
    pub(crate) bytes: B,
    pub(crate) c: Compiled,
    pub(crate) gemm: GemmI8,
}

impl<B: AsRef<[u8]>> core::fmt::Debug for Model<B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Model")
            .field("bytes", &self.bytes.as_ref().len())
            .field("compiled", &self.c)
            .finish()
    }
}

/// Where each part of a stream's state starts in the arena.
pub(crate) struct Layout {
    pub(crate) vars: usize,
    pub(crate) once: usize,
    pub(crate) scratch: usize,
    /// Bytes needed, including up to 3 bytes to align the int32 scratch.
    pub(crate) total: usize,
}

impl<B: AsRef<[u8]>> Model<B> {
    /// Loads a model from the bytes of a `.tflite` file, which it keeps (weights are read from
    /// them at run time). Any corrupt or unsupported content is an error, never a panic (all
    /// unsupported operators are listed in one [`LoadError::Unsupported`]).
    pub fn from_bytes(bytes: B) -> Result<Self, LoadError> {
        let file = bytes.as_ref();
        if !schema::has_identifier(file) {
            return Err(LoadError::NotTflite);
        }
        let fb = schema::root(file)?;
        let c = compiler::compile(file, fb)?;
        Ok(Model {
            bytes,
            c,
            gemm: kernels::gemm_i8,
        })
    }

    /// Uses `gemm` for CONV_2D and FULLY_CONNECTED (e.g. a host's runtime-dispatched SIMD
    /// GEMM); it must give [`kernels::gemm_i8_scalar`]'s results.
    pub fn with_gemm(mut self, gemm: GemmI8) -> Self {
        self.gemm = gemm;
        self
    }

    /// The `.tflite` bytes.
    pub fn bytes(&self) -> &[u8] {
        self.bytes.as_ref()
    }

    /// Inputs of the main graph.
    pub fn inputs(&self) -> impl ExactSizeIterator<Item = &TensorInfo> {
        self.c.inputs.iter().map(|(t, _)| t)
    }

    /// Outputs of the main graph.
    pub fn outputs(&self) -> impl ExactSizeIterator<Item = &TensorInfo> {
        self.c.outputs.iter().map(|(t, _)| t)
    }

    /// Byte range of input `index` in a stream's arena.
    pub fn input_range(&self, index: usize) -> Option<Range<usize>> {
        self.c.inputs.get(index).map(|(_, r)| r.clone())
    }

    /// Byte range of output `index` in a stream's arena.
    pub fn output_range(&self, index: usize) -> Option<Range<usize>> {
        self.c.outputs.get(index).map(|(_, r)| r.clone())
    }

    pub(crate) fn layout(&self) -> Layout {
        let c = &self.c;
        let vars = c.arena_size;
        let once = vars + c.vars_size;
        let scratch = once + c.num_once;
        let total = scratch + 3 + c.scratch.acc * 4 + c.scratch.patch;
        Layout {
            vars,
            once,
            scratch,
            total,
        }
    }

    /// Bytes of per-stream memory an [`super::Interpreter`] needs: tensors, resource
    /// variables, CALL_ONCE flags and scratch (plus up to 3 bytes of alignment).
    pub fn arena_bytes(&self) -> usize {
        self.layout().total
    }

    /// Bytes of per-stream state without the alignment slack: the tensor arena, resource
    /// variables and scratch.
    pub fn state_bytes(&self) -> usize {
        let c = &self.c;
        c.arena_size + c.vars_size + c.scratch.acc * 4 + c.scratch.patch
    }

    /// Bytes of constant data (weights, biases, constant tensors) the compiled graph uses:
    /// weights and constant tensors in the file, plus biases and per-channel multipliers
    /// (12 bytes per output channel) prepared at load.
    pub fn constant_size(&self) -> usize {
        let weights: usize = self
            .c
            .graphs
            .iter()
            .flat_map(|g| &g.ops)
            .map(|op| match op {
                Op::Conv(c) => c.weights.len() + 12 * c.rq.bias.len(),
                Op::Depthwise(c) => c.weights.len() + 12 * c.rq.bias.len(),
                Op::FullyConnected(c) => c.weights.len() + 12 * c.bias.len(),
                _ => 0,
            })
            .sum();
        weights + self.c.const_bytes
    }

    /// Distinct operator names the model uses, in first-use order.
    pub fn op_names(&self) -> &[String] {
        &self.c.op_names
    }
}
