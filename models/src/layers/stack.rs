//! Frame stacking / time reduction: concatenates `stack` consecutive frames into one, every
//! `stride` input frames (`stride == stack`: non-overlapping, a time reduction by `stack`).
//! Frames that do not complete a group at the end of a stream are never emitted.

use super::window::Window;
use super::{frames, vec_bytes, LayerError};

/// Stacks `stack` frames of dimension `dim` every `stride` frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameStack {
    dim: usize,
    stack: usize,
    stride: usize,
}

/// Per-stream state of a [`FrameStack`]: the frames of the incomplete group.
#[derive(Debug, Clone)]
pub struct FrameStackState {
    win: Window,
}

impl FrameStack {
    /// Errors unless `dim`, `stack` and `stride` are positive.
    pub fn new(dim: usize, stack: usize, stride: usize) -> Result<Self, LayerError> {
        if dim == 0 || stack == 0 || stride == 0 {
            return Err(LayerError::Config {
                layer: "frame_stack",
                msg: format!("dim {dim}, stack {stack}, stride {stride} must be > 0"),
            });
        }
        Ok(FrameStack { dim, stack, stride })
    }

    /// Output frame dimension, `stack · dim`.
    pub fn out_dim(&self) -> usize {
        self.stack * self.dim
    }

    /// A fresh state.
    pub fn new_state(&self) -> FrameStackState {
        FrameStackState::new(self)
    }

    /// Consumes new frames `[T, dim]`, appends every completed stacked frame to `out`; returns
    /// the number of frames appended.
    pub fn step(
        &self,
        st: &mut FrameStackState,
        x: &[f32],
        out: &mut Vec<f32>,
    ) -> Result<usize, LayerError> {
        frames("frame_stack", x.len(), self.dim)?;
        let n = st.win.push(x, self.stack, self.stride).len();
        for i in 0..n {
            let s = st.win.start(i, self.stride);
            out.extend_from_slice(&st.win.buf[s * self.dim..(s + self.stack) * self.dim]);
        }
        st.win.consume(n, self.stride);
        Ok(n)
    }
}

impl FrameStackState {
    /// A fresh state for `layer`.
    pub fn new(layer: &FrameStack) -> Self {
        FrameStackState {
            win: Window::new(layer.dim, 0),
        }
    }

    /// Forgets buffered frames (start of a new stream).
    pub fn reset(&mut self) {
        self.win.reset();
    }

    /// Bytes held by this state.
    pub fn bytes(&self) -> usize {
        vec_bytes(&self.win.buf)
    }
}
