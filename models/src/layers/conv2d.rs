//! 2-D convolution over `[time, frequency]` feature maps (PyTorch `nn.Conv2d` on `[N, C, T, F]`),
//! streaming over time, for time/frequency subsampling front-ends.
//!
//! A time frame is `[channels, freq]` (channel-major), so a stream is `[T, C, F]`; the output frame
//! is `[out_channels, freq_out]`, i.e. PyTorch's `y.transpose(1, 2).reshape(N, T', C·F')` rows.
//! Time: `left_pad` zero frames before the stream, no right padding (see [`super::Conv1d`]);
//! frequency: symmetric zero padding `freq_pad`. Equivalent PyTorch:
//! `conv(F.pad(x, (0, 0, left_pad, 0)))` with `padding=(0, freq_pad)`.

use super::window::Window;
use super::{check_weight_bias, frames, vec_bytes, LayerError, Weight};
use crate::tensor::Buffer;

/// Hyperparameters of a [`Conv2d`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dConfig {
    pub in_channels: usize,
    pub out_channels: usize,
    /// Input frequency bins.
    pub freq: usize,
    /// Kernel `(time, freq)`.
    pub kernel: (usize, usize),
    /// Stride `(time, freq)`.
    pub stride: (usize, usize),
    /// Zero padding on both frequency edges.
    pub freq_pad: usize,
    pub groups: usize,
    /// Zero frames before the stream (causal: `kernel.0 - 1`).
    pub left_pad: usize,
}

impl Conv2dConfig {
    /// Output frequency bins.
    pub fn freq_out(&self) -> usize {
        (self.freq + 2 * self.freq_pad).saturating_sub(self.kernel.1) / self.stride.1 + 1
    }

    /// Input frame size `in_channels · freq`.
    pub fn in_frame(&self) -> usize {
        self.in_channels * self.freq
    }

    /// Output frame size `out_channels · freq_out`.
    pub fn out_frame(&self) -> usize {
        self.out_channels * self.freq_out()
    }
}

/// A 2-D convolution; weight `[out, in/groups · kt · kf]` (PyTorch `[out, in/groups, kt, kf]`
/// flattened), optional bias `[out]`.
#[derive(Debug, Clone)]
pub struct Conv2d {
    cfg: Conv2dConfig,
    weight: Weight,
    bias: Option<Buffer<f32>>,
}

/// Per-stream state of a [`Conv2d`]: cached left frames plus scratch.
#[derive(Debug, Clone)]
pub struct Conv2dState {
    win: Window,
    cols: Vec<f32>,
    y: Vec<f32>,
}

impl Conv2d {
    /// Validates the configuration against the weight and bias shapes.
    pub fn new(
        cfg: Conv2dConfig,
        weight: Weight,
        bias: Option<Buffer<f32>>,
    ) -> Result<Self, LayerError> {
        let c = &cfg;
        let bad = |msg: String| {
            Err(LayerError::Config {
                layer: "conv2d",
                msg,
            })
        };
        if [
            c.in_channels,
            c.out_channels,
            c.freq,
            c.kernel.0,
            c.kernel.1,
            c.stride.0,
            c.stride.1,
            c.groups,
        ]
        .contains(&0)
        {
            return bad(format!("sizes must be > 0: {c:?}"));
        }
        if !c.in_channels.is_multiple_of(c.groups) || !c.out_channels.is_multiple_of(c.groups) {
            return bad(format!(
                "channels {} -> {} not divisible by groups {}",
                c.in_channels, c.out_channels, c.groups
            ));
        }
        if c.freq + 2 * c.freq_pad < c.kernel.1 {
            return bad(format!(
                "frequency kernel {} exceeds padded input {}",
                c.kernel.1,
                c.freq + 2 * c.freq_pad
            ));
        }
        let cols = (c.in_channels / c.groups)
            .saturating_mul(c.kernel.0)
            .saturating_mul(c.kernel.1);
        check_weight_bias("conv2d", &weight, bias.as_deref(), c.out_channels, cols)?;
        Ok(Conv2d { cfg, weight, bias })
    }

    /// The hyperparameters.
    pub fn config(&self) -> &Conv2dConfig {
        &self.cfg
    }

    /// This layer with int8 weights.
    pub fn quantized(&self) -> Result<Self, LayerError> {
        Ok(Conv2d {
            cfg: self.cfg,
            weight: self.weight.quantized()?,
            bias: self.bias.clone(),
        })
    }

    /// A fresh state.
    pub fn new_state(&self) -> Conv2dState {
        Conv2dState::new(self)
    }

    /// Consumes frames `[T, in, freq]`, appends outputs `[T', out, freq_out]` to `out`, returns `T'`.
    pub fn step(
        &self,
        st: &mut Conv2dState,
        x: &[f32],
        out: &mut Vec<f32>,
    ) -> Result<usize, LayerError> {
        let c = &self.cfg;
        frames("conv2d", x.len(), c.in_frame())?;
        let n = st.win.push(x, c.kernel.0, c.stride.0).len();
        if n > 0 {
            let (ig, og) = (c.in_channels / c.groups, c.out_channels / c.groups);
            let (kt, kf) = c.kernel;
            let fo = c.freq_out();
            let ncols = ig * kt * kf;
            let rows = n * fo;
            let base = out.len();
            out.resize(base + n * c.out_frame(), 0.0);
            st.cols.resize(rows * ncols, 0.0);
            st.y.resize(rows * og, 0.0);
            for g in 0..c.groups {
                for i in 0..n {
                    let s = st.win.start(i, c.stride.0);
                    for f in 0..fo {
                        let col = &mut st.cols[(i * fo + f) * ncols..][..ncols];
                        for ch in 0..ig {
                            for a in 0..kt {
                                let frame = st.win.frame(s + a);
                                let plane = &frame[(g * ig + ch) * c.freq..][..c.freq];
                                for b in 0..kf {
                                    // Padded frequency index; outside the input is zero padding.
                                    let fi = (f * c.stride.1 + b).wrapping_sub(c.freq_pad);
                                    col[(ch * kt + a) * kf + b] =
                                        plane.get(fi).copied().unwrap_or(0.0);
                                }
                            }
                        }
                    }
                }
                self.weight
                    .matmul_rows(g * og, (g + 1) * og, &st.cols, rows, &mut st.y);
                for i in 0..n {
                    let frame = &mut out[base + i * c.out_frame()..][..c.out_frame()];
                    for f in 0..fo {
                        for o in 0..og {
                            frame[(g * og + o) * fo + f] = st.y[(i * fo + f) * og + o];
                        }
                    }
                }
            }
            if let Some(b) = &self.bias {
                for frame in out[base..].chunks_exact_mut(c.out_frame()) {
                    for (plane, b) in frame.chunks_exact_mut(fo).zip(b.iter()) {
                        plane.iter_mut().for_each(|v| *v += b);
                    }
                }
            }
        }
        st.win.consume(n, c.stride.0);
        Ok(n)
    }
}

impl Conv2dState {
    /// A fresh state for `layer`.
    pub fn new(layer: &Conv2d) -> Self {
        Conv2dState {
            win: Window::new(layer.cfg.in_frame(), layer.cfg.left_pad),
            cols: Vec::new(),
            y: Vec::new(),
        }
    }

    /// Back to the start-of-stream state.
    pub fn reset(&mut self) {
        self.win.reset();
    }

    /// Bytes held (cached frames and scratch).
    pub fn bytes(&self) -> usize {
        vec_bytes(&self.win.buf) + vec_bytes(&self.cols) + vec_bytes(&self.y)
    }
}
