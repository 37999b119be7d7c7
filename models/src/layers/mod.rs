//! Layers with explicit streaming state.
//!
//! Every layer is immutable after construction (`Send + Sync`, shareable between streams); layers
//! that look at the past keep it in a separate per-stream state object:
//!
//! ```text
//! let mut st = layer.new_state();       // or XState::new(&layer)
//! layer.step(&mut st, new_frames, &mut out)?;   // appends the frames it can produce
//! st.reset();                           // start a new utterance
//! ```
//!
//! Data layout: a sequence of `T` frames of dimension `D` is a row-major `[T, D]` slice; `step`
//! accepts any number of whole frames (including zero) and feeding a sequence in any chunking gives
//! bit-identical output to feeding it at once. Matrices come in f32 or int8 ([`Weight`]), so one
//! layer type serves both precisions.

mod activation;
mod conv1d;
mod embedding;
mod linear;
mod load;
pub use load::{join, weight};
mod lstm;
mod norm;
mod stack;
mod weight;
mod window;

pub use activation::{log_softmax, sigmoid};
pub use conv1d::{Conv1d, Conv1dConfig, Conv1dState};
pub use embedding::Embedding;
pub use linear::Linear;
pub use lstm::{Lstm, LstmState};
pub use norm::LayerNorm;
pub use stack::{FrameStack, FrameStackState};
pub use weight::Weight;

/// Misuse of a layer: wrong slice lengths, inconsistent configuration, out-of-range ids.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LayerError {
    /// A slice does not have the length the layer needs.
    #[error("{layer}: {what} has {got} values, expected {expected}")]
    Shape {
        layer: &'static str,
        what: &'static str,
        expected: String,
        got: usize,
    },
    /// Hyperparameters that do not fit together (e.g. channels not divisible by groups).
    #[error("{layer}: invalid configuration: {msg}")]
    Config { layer: &'static str, msg: String },
    /// An embedding lookup with an id outside the table.
    #[error("embedding: token id {id} out of range for a table of {num} rows")]
    TokenOutOfRange { id: u32, num: usize },
}

pub(crate) fn shape_err(
    layer: &'static str,
    what: &'static str,
    expected: impl ToString,
    got: usize,
) -> LayerError {
    LayerError::Shape {
        layer,
        what,
        expected: expected.to_string(),
        got,
    }
}

/// Checks a `[rows, cols]` weight and an optional `[rows]` bias (shared by the conv layers).
pub(crate) fn check_weight_bias(
    layer: &'static str,
    weight: &Weight,
    bias: Option<&[f32]>,
    rows: usize,
    cols: usize,
) -> Result<(), LayerError> {
    if weight.rows() != rows || weight.cols() != cols {
        return Err(shape_err(
            layer,
            "weight",
            format!("{rows} x {cols}"),
            weight.rows() * weight.cols(),
        ));
    }
    match bias {
        Some(b) if b.len() != rows => Err(shape_err(layer, "bias", rows, b.len())),
        _ => Ok(()),
    }
}

/// `Ok(len / frame)` when `len` is a whole number of frames, else a shape error.
pub(crate) fn frames(layer: &'static str, len: usize, frame: usize) -> Result<usize, LayerError> {
    if frame == 0 || !len.is_multiple_of(frame) {
        return Err(shape_err(
            layer,
            "input",
            format!("a multiple of {frame}"),
            len,
        ));
    }
    Ok(len / frame)
}

/// Adds `bias` (if any) to every row of `x` (rows of `bias.len()`).
pub(crate) fn add_bias(x: &mut [f32], bias: Option<&[f32]>) {
    if let Some(b) = bias {
        for row in x.chunks_exact_mut(b.len().max(1)) {
            row.iter_mut().zip(b).for_each(|(v, b)| *v += b);
        }
    }
}

/// Bytes held by a `Vec` (its capacity), for per-stream memory accounting.
pub(crate) fn vec_bytes<T>(v: &Vec<T>) -> usize {
    v.capacity() * std::mem::size_of::<T>()
}
