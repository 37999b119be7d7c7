//! TFLite flatbuffer reader and int8 interpreter, bit-exact with TFLite's reference kernels for
//! the operators streaming keyword models use (microWakeWord), or on request with TFLite's
//! optimised x86 kernels ([`Kernels`]). `no_std`; `alloc` at load only.
//!
//! Loading goes by stage:
//! - [`schema`]: verified accessors for the flatbuffer tables;
//! - `tensor`: tensor descriptions ([`DType`], [`TensorInfo`]) parsed from the file;
//! - `planner`: the first-fit arena planner (tensor lifetimes → offsets);
//! - `compiler`: walks each subgraph and asks each operator's builder (in `ops/`, next to its
//!   kernel) for a compiled op;
//! - [`Model`]: the result, borrowing the file bytes (weights stay where they are, e.g. in
//!   flash);
//! - [`Interpreter`]: runs the model over a caller-given arena; allocates nothing.
//! - `plan`: [`Model::plan`] / [`Model::from_plan`], the compiled graph as bytes, so that a
//!   firmware can skip verifying and compiling;
//! - [`fixedpoint`]: TFLite's requantization arithmetic;
//! - [`arena`]: an estimate of the arena TFLite-Micro needs (a manifest's `tensor_arena_size`).
//!
//! ```no_run
//! use sotto_micro::tflite::{Interpreter, Model};
//! static MODEL: &[u8] = &[]; // include_bytes!("okay_nabu.tflite") in a firmware
//! let model = Model::from_bytes(MODEL)?;
//! let mut arena = [0u8; 16 * 1024];
//! let mut stream = Interpreter::new(&model, &mut arena).expect("arena large enough");
//! stream.input_i8_mut(0).unwrap().fill(-128);
//! stream.invoke();
//! let p = stream.output(0).unwrap()[0];
//! # Ok::<(), sotto_micro::tflite::LoadError>(())
//! ```

pub mod arena;
mod compiler;
pub mod fixedpoint;
mod interpreter;
mod model;
mod opcode;
mod ops;
mod plan;
mod planner;
pub mod schema;
mod tensor;
pub mod writer;

pub use arena::{tflm_arena_estimate, ArenaEstimate};
pub use interpreter::{ArenaTooSmall, Interpreter, Kernels};
pub use model::Model;
pub use opcode::op_name;
pub use tensor::{DType, TensorInfo};

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Errors loading a TFLite model from bytes. Loading never panics on bad bytes.
#[derive(Debug)]
pub enum LoadError {
    /// The bytes are not a TFLite flatbuffer.
    NotTflite,
    /// The flatbuffer structure is corrupt (bad offset, length, vtable, string...).
    Flatbuffer(flatbuffers::InvalidFlatbuffer),
    /// The graph is inconsistent (shapes, types, quantization, tensor references).
    Invalid(String),
    /// Operators sotto does not implement (all of them).
    Unsupported(Vec<String>),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::NotTflite => write!(f, "not a TFLite model (no TFL3 file identifier)"),
            LoadError::Flatbuffer(e) => write!(f, "corrupt TFLite flatbuffer: {e}"),
            LoadError::Invalid(m) => write!(f, "invalid TFLite model: {m}"),
            LoadError::Unsupported(ops) => {
                write!(f, "unsupported TFLite operators: {}", ops.join(", "))
            }
        }
    }
}

// No `source`: flatbuffers implements `Error` only with its `std` feature.
impl core::error::Error for LoadError {}

impl From<flatbuffers::InvalidFlatbuffer> for LoadError {
    fn from(e: flatbuffers::InvalidFlatbuffer) -> Self {
        LoadError::Flatbuffer(e)
    }
}

/// An [`LoadError::Invalid`] with `msg` (out of line: it is called from many error paths).
#[cold]
#[inline(never)]
pub(crate) fn bad(msg: impl Into<String>) -> LoadError {
    LoadError::Invalid(msg.into())
}
