//! One unidirectional GRU layer: exact PyTorch `nn.GRU` (gate order r, z, n).
//!
//! `r = σ(W_ir x + b_ir + W_hr h + b_hr)`, `z = σ(W_iz x + b_iz + W_hz h + b_hz)`,
//! `n = tanh(W_in x + b_in + r·(W_hn h + b_hn))`, `h' = (1 - z)·n + z·h`.

use super::activation::sigmoid;
use super::{add_bias, frames, shape_err, vec_bytes, LayerError, Weight};
use crate::tensor::Buffer;

/// A GRU layer: input `I`, hidden `H`.
#[derive(Debug, Clone)]
pub struct Gru {
    w_ih: Weight,
    w_hh: Weight,
    b_ih: Option<Buffer<f32>>,
    b_hh: Option<Buffer<f32>>,
    input: usize,
    hidden: usize,
}

/// Per-stream state of a [`Gru`]: `h` `[H]` and scratch.
#[derive(Debug, Clone)]
pub struct GruState {
    /// Hidden state (the last output).
    pub h: Vec<f32>,
    gx: Vec<f32>,
    gh: Vec<f32>,
}

impl Gru {
    /// `w_ih [3H, I]`, `w_hh [3H, H]`, optional biases `[3H]`.
    pub fn new(
        w_ih: Weight,
        w_hh: Weight,
        b_ih: Option<Buffer<f32>>,
        b_hh: Option<Buffer<f32>>,
    ) -> Result<Self, LayerError> {
        if !w_ih.rows().is_multiple_of(3) || w_ih.rows() == 0 {
            return Err(shape_err(
                "gru",
                "weight_ih rows",
                "a positive multiple of 3",
                w_ih.rows(),
            ));
        }
        let hidden = w_ih.rows() / 3;
        if w_hh.rows() != 3 * hidden || w_hh.cols() != hidden {
            return Err(shape_err(
                "gru",
                "weight_hh",
                format!("{} x {hidden}", 3 * hidden),
                w_hh.rows() * w_hh.cols(),
            ));
        }
        for (what, b) in [("bias_ih", &b_ih), ("bias_hh", &b_hh)] {
            if let Some(b) = b {
                if b.len() != 3 * hidden {
                    return Err(shape_err("gru", what, 3 * hidden, b.len()));
                }
            }
        }
        Ok(Gru {
            b_ih,
            b_hh,
            input: w_ih.cols(),
            w_ih,
            w_hh,
            hidden,
        })
    }

    /// Input dimension.
    pub fn input_size(&self) -> usize {
        self.input
    }

    /// Hidden (= output) dimension.
    pub fn hidden_size(&self) -> usize {
        self.hidden
    }

    /// This layer with int8 matrices.
    pub fn quantized(&self) -> Result<Self, LayerError> {
        Ok(Gru {
            w_ih: self.w_ih.quantized()?,
            w_hh: self.w_hh.quantized()?,
            ..self.clone()
        })
    }

    /// A zero state.
    pub fn new_state(&self) -> GruState {
        GruState::new(self)
    }

    /// Runs frames `[T, I]`, appending outputs `[T, H]` to `out`; returns `T`.
    pub fn step(
        &self,
        st: &mut GruState,
        x: &[f32],
        out: &mut Vec<f32>,
    ) -> Result<usize, LayerError> {
        let t = frames("gru", x.len(), self.input)?;
        let hd = self.hidden;
        if st.h.len() != hd {
            return Err(shape_err("gru", "state", hd, st.h.len()));
        }
        st.gx.resize(t * 3 * hd, 0.0);
        self.w_ih.matmul(x, t, &mut st.gx);
        st.gh.resize(3 * hd, 0.0);
        add_bias(&mut st.gx, self.b_ih.as_deref());
        for gx in st.gx.chunks_exact(3 * hd) {
            self.w_hh.matmul(&st.h, 1, &mut st.gh);
            add_bias(&mut st.gh, self.b_hh.as_deref());
            for j in 0..hd {
                let gh = &st.gh;
                let r = sigmoid(gx[j] + gh[j]);
                let z = sigmoid(gx[hd + j] + gh[hd + j]);
                let n = (gx[2 * hd + j] + r * gh[2 * hd + j]).tanh();
                st.h[j] = (1.0 - z) * n + z * st.h[j];
            }
            out.extend_from_slice(&st.h);
        }
        Ok(t)
    }
}

impl GruState {
    /// A zero state for `layer`.
    pub fn new(layer: &Gru) -> Self {
        GruState {
            h: vec![0.0; layer.hidden],
            gx: Vec::new(),
            gh: Vec::new(),
        }
    }

    /// Zeroes `h`.
    pub fn reset(&mut self) {
        self.h.iter_mut().for_each(|v| *v = 0.0);
    }

    /// Bytes held (state and scratch).
    pub fn bytes(&self) -> usize {
        vec_bytes(&self.h) + vec_bytes(&self.gx) + vec_bytes(&self.gh)
    }
}
