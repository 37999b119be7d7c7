//! TFLite flatbuffer reader and int8 interpreter, bit-exact with TFLite's reference kernels for
//! the operators streaming keyword models use (microWakeWord).
//!
//! - [`schema`]: verified accessors for the flatbuffer tables.
//! - [`Model`]: the loaded, validated and compiled graph; immutable, `Send + Sync`, shared via
//!   `Arc` between streams. Memory is planned at load ([`Model::arena_size`]).
//! - [`Interpreter`]: per-stream state (tensor arena, resource variables); [`Interpreter::invoke`]
//!   allocates nothing.
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

pub mod fixedpoint;
mod interpreter;
mod model;
mod ops;
pub mod schema;

pub use interpreter::Interpreter;
pub use model::{op_name, DType, Model, TensorInfo};

use std::path::PathBuf;

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
