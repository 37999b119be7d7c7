//! 1-D convolution over time (PyTorch `nn.Conv1d`), grouped/depthwise, dilated, strided, streaming.
//!
//! Frames are time-major `[T, in_channels]`. The stream is implicitly preceded by `left_pad` zero
//! frames (`(kernel - 1) · dilation` makes it causal: output `t` sees inputs `≤ t`) and never padded
//! on the right, so streaming equals offline. Equivalent PyTorch: `conv(F.pad(x, (left_pad, 0)))`
//! with `padding=0`.

use super::window::Window;
use super::{check_weight_bias, frames, vec_bytes, LayerError, Weight};
use crate::tensor::Buffer;

/// Hyperparameters of a [`Conv1d`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv1dConfig {
    pub in_channels: usize,
    pub out_channels: usize,
    pub kernel: usize,
    pub stride: usize,
    pub dilation: usize,
    /// `in_channels` for depthwise.
    pub groups: usize,
    /// Zero frames before the stream (causal: `(kernel - 1) · dilation`).
    pub left_pad: usize,
}

impl Conv1dConfig {
    /// A causal, stride-1, undilated, ungrouped convolution.
    pub fn causal(in_channels: usize, out_channels: usize, kernel: usize) -> Self {
        Conv1dConfig {
            in_channels,
            out_channels,
            kernel,
            stride: 1,
            dilation: 1,
            groups: 1,
            left_pad: kernel.saturating_sub(1),
        }
    }

    /// Frames one output looks at: `(kernel - 1) · dilation + 1`.
    pub fn span(&self) -> usize {
        (self.kernel - 1) * self.dilation + 1
    }
}

/// A 1-D convolution; weight `[out, in/groups · kernel]` (PyTorch's `[out, in/groups, kernel]`
/// flattened), optional bias `[out]`.
#[derive(Debug, Clone)]
pub struct Conv1d {
    cfg: Conv1dConfig,
    weight: Weight,
    bias: Option<Buffer<f32>>,
}

/// Per-stream state of a [`Conv1d`]: the left context plus scratch.
#[derive(Debug, Clone)]
pub struct Conv1dState {
    win: Window,
    cols: Vec<f32>,
    y: Vec<f32>,
}

impl Conv1d {
    /// Validates the configuration against the weight and bias shapes.
    pub fn new(
        cfg: Conv1dConfig,
        weight: Weight,
        bias: Option<Buffer<f32>>,
    ) -> Result<Self, LayerError> {
        let c = &cfg;
        let bad = |msg: String| {
            Err(LayerError::Config {
                layer: "conv1d",
                msg,
            })
        };
        if c.kernel == 0
            || c.stride == 0
            || c.dilation == 0
            || c.groups == 0
            || c.in_channels == 0
            || c.out_channels == 0
        {
            return bad(format!(
                "kernel, stride, dilation, groups and channels must be > 0: {c:?}"
            ));
        }
        if !c.in_channels.is_multiple_of(c.groups) || !c.out_channels.is_multiple_of(c.groups) {
            return bad(format!(
                "channels {} -> {} not divisible by groups {}",
                c.in_channels, c.out_channels, c.groups
            ));
        }
        let cols = (c.in_channels / c.groups).saturating_mul(c.kernel);
        check_weight_bias("conv1d", &weight, bias.as_deref(), c.out_channels, cols)?;
        Ok(Conv1d { cfg, weight, bias })
    }

    /// The hyperparameters.
    pub fn config(&self) -> &Conv1dConfig {
        &self.cfg
    }

    /// The weights.
    pub fn weight(&self) -> &Weight {
        &self.weight
    }

    /// This layer with int8 weights.
    pub fn quantized(&self) -> Result<Self, LayerError> {
        Ok(Conv1d {
            cfg: self.cfg,
            weight: self.weight.quantized()?,
            bias: self.bias.clone(),
        })
    }

    /// A fresh state.
    pub fn new_state(&self) -> Conv1dState {
        Conv1dState::new(self)
    }

    /// Consumes frames `[T, in]`, appends the outputs `[T', out]` that became computable to `out`
    /// and returns `T'`.
    pub fn step(
        &self,
        st: &mut Conv1dState,
        x: &[f32],
        out: &mut Vec<f32>,
    ) -> Result<usize, LayerError> {
        let c = &self.cfg;
        frames("conv1d", x.len(), c.in_channels)?;
        let n = st.win.push(x, c.span(), c.stride).len();
        if n > 0 {
            let (ig, og) = (c.in_channels / c.groups, c.out_channels / c.groups);
            let ncols = ig * c.kernel;
            let base = out.len();
            out.resize(base + n * c.out_channels, 0.0);
            st.cols.resize(n * ncols, 0.0);
            st.y.resize(n * og, 0.0);
            for g in 0..c.groups {
                // im2col in PyTorch's weight order (channel-major, then tap).
                for i in 0..n {
                    let s = st.win.start(i, c.stride);
                    let col = &mut st.cols[i * ncols..(i + 1) * ncols];
                    for ch in 0..ig {
                        for k in 0..c.kernel {
                            col[ch * c.kernel + k] = st.win.frame(s + k * c.dilation)[g * ig + ch];
                        }
                    }
                }
                self.weight
                    .matmul_rows(g * og, (g + 1) * og, &st.cols, n, &mut st.y);
                for i in 0..n {
                    let dst = &mut out[base + i * c.out_channels + g * og..][..og];
                    dst.copy_from_slice(&st.y[i * og..(i + 1) * og]);
                }
            }
            if let Some(b) = &self.bias {
                for row in out[base..].chunks_exact_mut(c.out_channels) {
                    row.iter_mut().zip(b.iter()).for_each(|(v, b)| *v += b);
                }
            }
        }
        st.win.consume(n, c.stride);
        Ok(n)
    }
}

impl Conv1dState {
    /// A fresh state for `layer` (left context = `left_pad` zero frames).
    pub fn new(layer: &Conv1d) -> Self {
        Conv1dState {
            win: Window::new(layer.cfg.in_channels, layer.cfg.left_pad),
            cols: Vec::new(),
            y: Vec::new(),
        }
    }

    /// Back to the start-of-stream state.
    pub fn reset(&mut self) {
        self.win.reset();
    }

    /// Bytes held (context and scratch).
    pub fn bytes(&self) -> usize {
        vec_bytes(&self.win.buf) + vec_bytes(&self.cols) + vec_bytes(&self.y)
    }
}
