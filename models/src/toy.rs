//! `toy-lstm`: the smallest complete architecture in the format (one LSTM with projection, a
//! Linear output layer, log-softmax). Used by tests and `sotto info`/`quantize` checks, and as the
//! template for loading a real architecture.
//!
//! Hyperparameters: `input_dim` I, `hidden` H, `proj` P (0 = none), `vocab_size` V.
//! Tensors (PyTorch names): `lstm.{weight_ih,weight_hh,bias_ih,bias_hh,weight_hr}_l0`,
//! `out.weight` `[V, P]`, `out.bias` `[V]`.

use crate::format::{FormatError, ModelFile};
use crate::layers::{log_softmax, LayerError, Linear, Lstm, LstmState};

/// Architecture name in the metadata.
pub const ARCHITECTURE: &str = "toy-lstm";

/// The loaded network.
#[derive(Debug, Clone)]
pub struct ToyLstm {
    /// The recurrent layer.
    pub lstm: Lstm,
    /// Output layer.
    pub out: Linear,
}

/// Per-stream state.
#[derive(Debug, Clone)]
pub struct ToyState {
    lstm: LstmState,
    hidden: Vec<f32>,
}

impl ToyLstm {
    /// Loads and validates every tensor (and rejects unused ones).
    pub fn load(file: &ModelFile) -> Result<Self, FormatError> {
        file.require_architecture(ARCHITECTURE)?;
        let (i, h, p, v) = (
            file.dim("input_dim")?,
            file.dim("hidden")?,
            file.dim("proj")?,
            file.dim("vocab_size")?,
        );
        let lstm = Lstm::load(file, "lstm", 0, i, h, p, true)?;
        let out = Linear::load(file, "out", lstm.output_size(), v, true)?;
        file.finish()?;
        Ok(ToyLstm { lstm, out })
    }

    /// A fresh stream state.
    pub fn new_state(&self) -> ToyState {
        ToyState {
            lstm: self.lstm.new_state(),
            hidden: Vec::new(),
        }
    }

    /// Features `[T, I]` → log-probabilities `[T, V]` appended to `out`; returns `T`.
    pub fn step(
        &self,
        st: &mut ToyState,
        x: &[f32],
        out: &mut Vec<f32>,
    ) -> Result<usize, LayerError> {
        st.hidden.clear();
        let t = self.lstm.step(&mut st.lstm, x, &mut st.hidden)?;
        let base = out.len();
        out.resize(base + t * self.out.out_dim(), 0.0);
        self.out.forward(&st.hidden, &mut out[base..])?;
        log_softmax(&mut out[base..], self.out.out_dim());
        Ok(t)
    }

    /// Peak bytes per stream when fed chunks of `chunk` frames: the state and scratch measured after
    /// running one zero chunk, plus the chunk's output buffer.
    pub fn stream_bytes(&self, chunk: usize) -> usize {
        let mut st = self.new_state();
        let mut out = Vec::new();
        let x = vec![0.0; chunk * self.lstm.input_size()];
        // Cannot fail: the input is whole frames of the right size.
        let _ = self.step(&mut st, &x, &mut out);
        st.lstm.bytes() + (st.hidden.capacity() + out.capacity()) * 4
    }
}
