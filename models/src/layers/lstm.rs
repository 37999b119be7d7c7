//! One unidirectional LSTM layer with optional projection: exact PyTorch `nn.LSTM(proj_size=P)`.
//!
//! Gate order i, f, g, o: `gates = W_ih x + b_ih + W_hh h + b_hh`, `c' = σ(f)·c + σ(i)·tanh(g)`,
//! `h' = W_hr (σ(o)·tanh(c'))` (no `W_hr` without projection). Stack layers for `num_layers > 1`.

use super::{add_bias, frames, shape_err, vec_bytes, LayerError, Weight};
use crate::tensor::Buffer;

/// An LSTM layer: input `I`, hidden `H`, output `P` (= `H` without projection).
#[derive(Debug, Clone)]
pub struct Lstm {
    w_ih: Weight,
    w_hh: Weight,
    w_hr: Option<Weight>,
    /// `[4H]` each; absent for `bias=False`. Kept as (mapped) buffers so loading copies nothing.
    b_ih: Option<Buffer<f32>>,
    b_hh: Option<Buffer<f32>>,
    input: usize,
    hidden: usize,
    out: usize,
}

/// Per-stream state of an [`Lstm`]: `h` `[P]`, `c` `[H]` and scratch.
#[derive(Debug, Clone)]
pub struct LstmState {
    /// Hidden state (the last output), `[P]`.
    pub h: Vec<f32>,
    /// Cell state, `[H]`.
    pub c: Vec<f32>,
    gx: Vec<f32>,
    gh: Vec<f32>,
    hfull: Vec<f32>,
}

impl Lstm {
    /// `w_ih [4H, I]`, `w_hh [4H, P]`, optional biases `[4H]` (PyTorch `bias_ih_l0`, `bias_hh_l0`),
    /// optional `w_hr [P, H]`.
    pub fn new(
        w_ih: Weight,
        w_hh: Weight,
        b_ih: Option<Buffer<f32>>,
        b_hh: Option<Buffer<f32>>,
        w_hr: Option<Weight>,
    ) -> Result<Self, LayerError> {
        if !w_ih.rows().is_multiple_of(4) || w_ih.rows() == 0 {
            return Err(shape_err(
                "lstm",
                "weight_ih rows",
                "a positive multiple of 4",
                w_ih.rows(),
            ));
        }
        let hidden = w_ih.rows() / 4;
        let out = match &w_hr {
            Some(w) if w.cols() != hidden => {
                return Err(shape_err("lstm", "weight_hr cols", hidden, w.cols()))
            }
            Some(w) => w.rows(),
            None => hidden,
        };
        if w_hh.rows() != 4 * hidden || w_hh.cols() != out {
            return Err(shape_err(
                "lstm",
                "weight_hh",
                format!("{} x {out}", 4 * hidden),
                w_hh.rows() * w_hh.cols(),
            ));
        }
        for (what, b) in [("bias_ih", &b_ih), ("bias_hh", &b_hh)] {
            if let Some(b) = b {
                if b.len() != 4 * hidden {
                    return Err(shape_err("lstm", what, 4 * hidden, b.len()));
                }
            }
        }
        Ok(Lstm {
            input: w_ih.cols(),
            w_ih,
            w_hh,
            w_hr,
            b_ih,
            b_hh,
            hidden,
            out,
        })
    }

    /// Input dimension `I`.
    pub fn input_size(&self) -> usize {
        self.input
    }

    /// Hidden (cell) dimension `H`.
    pub fn hidden_size(&self) -> usize {
        self.hidden
    }

    /// Output dimension: `P` with projection, else `H`.
    pub fn output_size(&self) -> usize {
        self.out
    }

    /// Weight bytes (all matrices; biases are small and f32).
    pub fn weight_bytes(&self) -> usize {
        self.w_ih.bytes()
            + self.w_hh.bytes()
            + self.w_hr.as_ref().map_or(0, Weight::bytes)
            + [&self.b_ih, &self.b_hh]
                .iter()
                .map(|b| b.as_ref().map_or(0, |b| b.len() * 4))
                .sum::<usize>()
    }

    /// This layer with int8 matrices.
    pub fn quantized(&self) -> Result<Self, LayerError> {
        let w_hr = self.w_hr.as_ref().map(Weight::quantized).transpose()?;
        Ok(Lstm {
            w_ih: self.w_ih.quantized()?,
            w_hh: self.w_hh.quantized()?,
            w_hr,
            ..self.clone()
        })
    }

    /// A zero state.
    pub fn new_state(&self) -> LstmState {
        LstmState::new(self)
    }

    /// Runs frames `[T, I]`, appending outputs `[T, P]` to `out`; returns `T`.
    pub fn step(
        &self,
        st: &mut LstmState,
        x: &[f32],
        out: &mut Vec<f32>,
    ) -> Result<usize, LayerError> {
        let t = frames("lstm", x.len(), self.input)?;
        let h4 = 4 * self.hidden;
        if st.c.len() != self.hidden || st.h.len() != self.out {
            return Err(shape_err("lstm", "state", self.hidden, st.c.len()));
        }
        // The input projection of all new frames is one matrix product.
        st.gx.resize(t * h4, 0.0);
        self.w_ih.matmul(x, t, &mut st.gx);
        st.gh.resize(h4, 0.0);
        st.hfull.resize(self.hidden, 0.0);
        add_bias(&mut st.gx, self.b_ih.as_deref());
        for gx in st.gx.chunks_exact(h4) {
            self.w_hh.matmul(&st.h, 1, &mut st.gh);
            add_bias(&mut st.gh, self.b_hh.as_deref());
            // The gates' pre-activations are gx + gh (the kernel adds them).
            crate::kernels::lstm_cell(gx, &st.gh, &mut st.c, &mut st.hfull);
            match &self.w_hr {
                Some(w) => w.matmul(&st.hfull, 1, &mut st.h),
                None => st.h.copy_from_slice(&st.hfull),
            }
            out.extend_from_slice(&st.h);
        }
        Ok(t)
    }
}

impl LstmState {
    /// A zero state for `layer`.
    pub fn new(layer: &Lstm) -> Self {
        LstmState {
            h: vec![0.0; layer.out],
            c: vec![0.0; layer.hidden],
            gx: Vec::new(),
            gh: Vec::new(),
            hfull: Vec::new(),
        }
    }

    /// Zeroes `h` and `c`.
    pub fn reset(&mut self) {
        self.h.iter_mut().for_each(|v| *v = 0.0);
        self.c.iter_mut().for_each(|v| *v = 0.0);
    }

    /// Bytes held (state and scratch; scratch grows with the largest chunk seen).
    pub fn bytes(&self) -> usize {
        vec_bytes(&self.h)
            + vec_bytes(&self.c)
            + vec_bytes(&self.gx)
            + vec_bytes(&self.gh)
            + vec_bytes(&self.hfull)
    }
}
