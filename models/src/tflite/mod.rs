//! TFLite flatbuffer reader and int8 interpreter, bit-exact with TFLite's reference kernels for
//! the operators streaming keyword models use (microWakeWord).
//!
//! This is the host face of the `no_std` runtime in `sotto-micro` (`models/micro`), the same
//! code a microcontroller runs: here a [`Model`] owns its file bytes and plugs in sotto's
//! runtime-dispatched SIMD GEMM, and an [`Interpreter`] owns its arena.
//!
//! - [`schema`]: verified accessors for the flatbuffer tables.
//! - [`Model`]: the loaded, validated and compiled graph; immutable, `Send + Sync`, shared via
//!   `Arc` between streams. Memory is planned at load ([`Model::arena_size`]).
//! - [`Interpreter`]: per-stream state (tensor arena, resource variables); [`Interpreter::invoke`]
//!   allocates nothing. [`Interpreter::with_kernels`] picks whose arithmetic it reproduces
//!   ([`Kernels`]: TFLite's reference kernels by default, or its optimised x86 kernels).
//! - [`fixedpoint`]: TFLite's requantization arithmetic.
//!
//! ```no_run
//! use std::sync::Arc;
//! use sotto_models::tflite::{Interpreter, Model};
//! let model = Arc::new(Model::load("okay_nabu.tflite")?);
//! let mut stream = Interpreter::new(model);
//! stream.input_i8_mut(0).unwrap().fill(-128);
//! stream.invoke();
//! let p = stream.output(0).unwrap()[0];
//! # Ok::<(), sotto_models::tflite::TfliteError>(())
//! ```

pub use sotto_micro::tflite::{fixedpoint, op_name, schema, DType, Kernels, LoadError, TensorInfo};

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Errors loading a TFLite model.
#[derive(Debug, thiserror::Error)]
pub enum TfliteError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// An error in a named file.
    #[error("{path}: {source}")]
    InFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: Box<TfliteError>,
    },
    /// The bytes are not a TFLite flatbuffer.
    #[error("not a TFLite model (no TFL3 file identifier)")]
    NotTflite,
    /// The flatbuffer structure is corrupt (bad offset, length, vtable, string...).
    #[error("corrupt TFLite flatbuffer: {0}")]
    Flatbuffer(#[from] flatbuffers::InvalidFlatbuffer),
    /// The graph is inconsistent (shapes, types, quantization, tensor references).
    #[error("invalid TFLite model: {0}")]
    Invalid(String),
    /// Operators sotto does not implement (all of them).
    #[error("unsupported TFLite operators: {}", .0.join(", "))]
    Unsupported(Vec<String>),
}

impl From<LoadError> for TfliteError {
    fn from(e: LoadError) -> Self {
        match e {
            LoadError::NotTflite => TfliteError::NotTflite,
            LoadError::Flatbuffer(e) => TfliteError::Flatbuffer(e),
            LoadError::Invalid(m) => TfliteError::Invalid(m),
            LoadError::Unsupported(ops) => TfliteError::Unsupported(ops),
        }
    }
}

/// An immutable, validated TFLite model (owning its file bytes): compiled operators, constant
/// data and the memory plan. Share it between streams with `Arc`; per-stream state lives in
/// [`Interpreter`].
#[derive(Debug)]
pub struct Model {
    inner: sotto_micro::tflite::Model<Box<[u8]>>,
}

impl Model {
    /// Reads and loads a `.tflite` file; errors name the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, TfliteError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| TfliteError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_vec(bytes).map_err(|e| TfliteError::InFile {
            path: path.to_owned(),
            source: Box::new(e),
        })
    }

    /// Loads a model from the bytes of a `.tflite` file. Any corrupt or unsupported content is an
    /// error (all unsupported operators are listed in one [`TfliteError::Unsupported`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TfliteError> {
        Self::from_vec(bytes.to_vec())
    }

    fn from_vec(bytes: Vec<u8>) -> Result<Self, TfliteError> {
        let inner = sotto_micro::tflite::Model::from_bytes(bytes.into_boxed_slice())?
            .with_gemm(crate::kernels::gemm_i8);
        Ok(Model { inner })
    }

    /// The `no_std` model this wraps.
    pub fn micro(&self) -> &sotto_micro::tflite::Model<Box<[u8]>> {
        &self.inner
    }

    /// Inputs of the main graph.
    pub fn inputs(&self) -> impl ExactSizeIterator<Item = &TensorInfo> {
        self.inner.inputs()
    }

    /// Outputs of the main graph.
    pub fn outputs(&self) -> impl ExactSizeIterator<Item = &TensorInfo> {
        self.inner.outputs()
    }

    /// Bytes of per-stream memory: the tensor arena, resource variables and scratch.
    pub fn arena_size(&self) -> usize {
        self.inner.state_bytes()
    }

    /// Bytes of constant data (weights, biases, constant tensors) the model uses.
    pub fn constant_size(&self) -> usize {
        self.inner.constant_size()
    }

    /// Distinct operator names the model uses, in first-use order.
    pub fn op_names(&self) -> &[String] {
        self.inner.op_names()
    }
}

/// One stream's state for a [`Model`]: the tensor arena, resource variables (the streaming
/// state of microWakeWord models) and scratch, in one buffer. Created once;
/// [`Interpreter::invoke`] allocates nothing.
#[derive(Clone, Debug)]
pub struct Interpreter {
    model: Arc<Model>,
    arena: Vec<u8>,
    kernels: Kernels,
}

impl Interpreter {
    /// Allocates the planned memory for `model`; computes like TFLite's reference kernels.
    pub fn new(model: Arc<Model>) -> Self {
        Self::with_kernels(model, Kernels::Reference)
    }

    /// Like [`Interpreter::new`], reproducing `kernels`' arithmetic.
    pub fn with_kernels(model: Arc<Model>, kernels: Kernels) -> Self {
        let arena = vec![0; model.inner.arena_bytes()];
        Interpreter {
            model,
            arena,
            kernels,
        }
    }

    /// The arithmetic this interpreter reproduces.
    pub fn kernels(&self) -> Kernels {
        self.kernels
    }

    fn stream(&mut self) -> sotto_micro::tflite::Interpreter<'_, '_, Box<[u8]>> {
        sotto_micro::tflite::Interpreter::attach(&self.model.inner, &mut self.arena)
            .expect("the arena is sized by the model")
            .with_kernels(self.kernels)
    }

    /// The shared model.
    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    /// Raw bytes of input `index`, to be filled before [`Interpreter::invoke`].
    pub fn input_mut(&mut self, index: usize) -> Option<&mut [u8]> {
        let r = self.model.inner.input_range(index)?;
        Some(&mut self.arena[r])
    }

    /// Input `index` as int8 values.
    pub fn input_i8_mut(&mut self, index: usize) -> Option<&mut [i8]> {
        self.input_mut(index).map(|b| {
            // SAFETY: u8 and i8 have identical size, alignment and no invalid bit patterns.
            unsafe { std::slice::from_raw_parts_mut(b.as_mut_ptr().cast::<i8>(), b.len()) }
        })
    }

    /// Raw bytes of output `index` after [`Interpreter::invoke`].
    pub fn output(&self, index: usize) -> Option<&[u8]> {
        let r = self.model.inner.output_range(index)?;
        Some(&self.arena[r])
    }

    /// Runs the main graph once (the first call also runs CALL_ONCE initialisers).
    pub fn invoke(&mut self) {
        self.stream().invoke();
    }

    /// Forgets all streaming state: variables are re-initialised on the next invoke.
    pub fn reset(&mut self) {
        self.stream().reset();
    }
}
