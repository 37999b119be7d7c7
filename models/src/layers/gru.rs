//! One unidirectional GRU layer: exact PyTorch `nn.GRU` (gate order r, z, n).
//!
//! `r = σ(W_ir x + b_ir + W_hr h + b_hr)`, `z = σ(W_iz x + b_iz + W_hz h + b_hz)`,
//! `n = tanh(W_in x + b_in + r·(W_hn h + b_hn))`, `h' = (1 - z)·n + z·h`.

use super::activation::sigmoid;
use super::{frames, shape_err, vec_bytes, LayerError, Weight};

/// A GRU layer: input `I`, hidden `H`.
#[derive(Debug, Clone)]
pub struct Gru {
    w_ih: Weight,
    w_hh: Weight,
    b_ih: Vec<f32>,
    b_hh: Vec<f32>,
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
        b_ih: Option<&[f32]>,
        b_hh: Option<&[f32]>,
    ) -> Result<Self, LayerError> {
        if w_ih.rows() % 3 != 0 || w_ih.rows() == 0 {
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
        let bias = |what, b: Option<&[f32]>| match b {
            Some(b) if b.len() != 3 * hidden => Err(shape_err("gru", what, 3 * hidden, b.len())),
            Some(b) => Ok(b.to_vec()),
            None => Ok(vec![0.0; 3 * hidden]),
        };
        Ok(Gru {
            b_ih: bias("bias_ih", b_ih)?,
            b_hh: bias("bias_hh", b_hh)?,
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
        for gx in st.gx.chunks_exact(3 * hd) {
            self.w_hh.matmul(&st.h, 1, &mut st.gh);
            for j in 0..hd {
                let (bi, bh) = (&self.b_ih, &self.b_hh);
                let r = sigmoid(gx[j] + bi[j] + st.gh[j] + bh[j]);
                let z = sigmoid(gx[hd + j] + bi[hd + j] + st.gh[hd + j] + bh[hd + j]);
                let n =
                    (gx[2 * hd + j] + bi[2 * hd + j] + r * (st.gh[2 * hd + j] + bh[2 * hd + j]))
                        .tanh();
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
