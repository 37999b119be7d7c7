//! The streaming RNN-T network `rnnt-lstm-stateless` of `docs/model-format.md`: CMVN, frame
//! stacking, an LSTM encoder with projection, a stateless prediction network and a joiner.
//!
//! [`Transducer`] is immutable (share it with `Arc` across streams); everything that changes
//! while audio flows lives in a per-stream [`EncoderState`]. Weights are f32 or int8 (symmetric
//! per-row scales, activations quantized per frame at run time).

mod load;
mod matrix;
mod random;

pub use random::{random_model_bytes, tiny_hyperparameters};

use matrix::{Matrix, Scratch};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The architecture name this module implements (metadata `architecture`).
pub const ARCHITECTURE: &str = "rnnt-lstm-stateless";

/// Errors loading or running a transducer model.
#[derive(Debug, thiserror::Error)]
pub enum TransducerError {
    /// The model file could not be read.
    #[error("{path}: cannot read model file: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not a valid safetensors container.
    #[error("{path}: not a valid safetensors model file: {msg}")]
    Corrupt { path: PathBuf, msg: String },
    /// Metadata missing, malformed, or missing a required key.
    #[error("{path}: bad metadata: {msg}")]
    Metadata { path: PathBuf, msg: String },
    /// The file holds another architecture or format version.
    #[error(
        "{path}: unsupported architecture {found:?} (format version {version}); expected {ARCHITECTURE:?} version 1"
    )]
    Architecture {
        path: PathBuf,
        found: String,
        version: u64,
    },
    /// A tensor is missing or has the wrong dtype/shape.
    #[error("{path}: tensor `{name}`: {msg}")]
    Tensor {
        path: PathBuf,
        name: String,
        msg: String,
    },
    /// Input features have the wrong size or are not finite.
    #[error("bad encoder input: {0}")]
    Input(String),
}

/// Hyperparameters (metadata `hyperparameters`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Hyperparameters {
    /// Feature dimension F (mel bins).
    pub feat_dim: usize,
    /// Frames stacked into one encoder frame, S.
    pub stack: usize,
    /// Encoder LSTM layers, L.
    pub num_layers: usize,
    /// LSTM cell size, H.
    pub hidden: usize,
    /// LSTM projection size P (0: no projection, P = H).
    pub proj: usize,
    /// Prediction network embedding size, E.
    pub pred_dim: usize,
    /// Tokens of left context of the stateless prediction network, C.
    pub context_size: usize,
    /// Joiner hidden size, J.
    pub joiner_dim: usize,
    /// Vocabulary size V (including blank).
    pub vocab_size: usize,
    /// Blank token id.
    pub blank_id: u32,
    /// Whether the file has a CTC head.
    pub ctc: bool,
}

impl Hyperparameters {
    /// Encoder output size: P, or H when there is no projection.
    pub fn enc_dim(&self) -> usize {
        if self.proj > 0 {
            self.proj
        } else {
            self.hidden
        }
    }
}

/// The parsed metadata document (`__metadata__["sotto"]`).
#[derive(Debug, Clone)]
pub struct ModelInfo {
    /// Network sizes.
    pub hyper: Hyperparameters,
    /// Feature configuration as written by the recipe (sotto `FbankConfig` field names).
    pub features: serde_json::Value,
    /// Token pieces by id (`▁` starts a word).
    pub tokens: Vec<String>,
    /// The whole metadata document, for `sotto info`.
    pub raw: serde_json::Value,
}

/// One encoder LSTM layer (PyTorch `nn.LSTM(I, H, proj_size=P)`).
#[derive(Debug, Clone)]
struct LstmLayer {
    w_ih: Matrix,
    w_hh: Matrix,
    /// `bias_ih + bias_hh`, folded once at load.
    bias: Vec<f32>,
    w_hr: Option<Matrix>,
}

/// The immutable network. `Send + Sync`; one instance serves any number of streams.
#[derive(Debug, Clone)]
pub struct Transducer {
    info: ModelInfo,
    cmvn_mean: Vec<f32>,
    cmvn_istd: Vec<f32>,
    lstm: Vec<LstmLayer>,
    embedding: Vec<f32>,
    /// Depthwise conv `[E, C]` (k = 0 oldest), absent when C = 1.
    conv: Option<Vec<f32>>,
    enc_proj: (Matrix, Vec<f32>),
    pred_proj: (Matrix, Vec<f32>),
    output: (Matrix, Vec<f32>),
}

/// Per-stream encoder state: the partial stacking group and every layer's (h, c).
#[derive(Debug, Clone)]
pub struct EncoderState {
    /// Normalized frames of the group being filled (< S frames).
    pending: Vec<f32>,
    h: Vec<Vec<f32>>,
    c: Vec<Vec<f32>>,
    scratch: Scratch,
    /// Work buffers reused across calls: gate pre-activations, layer input/output, cell output.
    gates: Vec<f32>,
    buf: Vec<f32>,
    cell: Vec<f32>,
}

impl EncoderState {
    /// Feature frames waiting for their stacking group to fill.
    pub fn pending_frames(&self, feat_dim: usize) -> usize {
        self.pending.len() / feat_dim.max(1)
    }
}

impl Transducer {
    /// Load and validate a model file (f32 or int8). Every tensor's presence, dtype and shape is
    /// checked against the hyperparameters; errors name the file and the tensor.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, TransducerError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| TransducerError::Io {
            path: path.into(),
            source,
        })?;
        load::load(path, &bytes)
    }

    /// Load from the bytes of a model file; `name` stands for the file in error messages.
    pub fn from_bytes(bytes: &[u8], name: impl AsRef<Path>) -> Result<Self, TransducerError> {
        load::load(name.as_ref(), bytes)
    }

    /// Metadata: hyperparameters, feature config, tokens.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Hyperparameters.
    pub fn hyper(&self) -> &Hyperparameters {
        &self.info.hyper
    }

    /// True when the weight matrices are int8.
    pub fn is_int8(&self) -> bool {
        self.output.0.is_int8()
    }

    /// Total number of parameters.
    pub fn num_params(&self) -> usize {
        let mut n = self.cmvn_mean.len() + self.cmvn_istd.len() + self.embedding.len();
        n += self.conv.as_ref().map_or(0, Vec::len);
        for l in &self.lstm {
            n += l.w_ih.len()
                + l.w_hh.len()
                + 2 * l.bias.len()
                + l.w_hr.as_ref().map_or(0, Matrix::len);
        }
        for (m, b) in [&self.enc_proj, &self.pred_proj, &self.output] {
            n += m.len() + b.len();
        }
        n
    }

    /// Bytes of weights held in memory.
    pub fn weight_bytes(&self) -> usize {
        let mut n = 4 * (self.cmvn_mean.len() + self.cmvn_istd.len() + self.embedding.len());
        n += 4 * self.conv.as_ref().map_or(0, Vec::len);
        for l in &self.lstm {
            n += l.w_ih.bytes()
                + l.w_hh.bytes()
                + 4 * l.bias.len()
                + l.w_hr.as_ref().map_or(0, Matrix::bytes);
        }
        for (m, b) in [&self.enc_proj, &self.pred_proj, &self.output] {
            n += m.bytes() + 4 * b.len();
        }
        n
    }

    /// Bytes of persistent state one stream needs: the stacking buffer ((S−1)·F) and every
    /// layer's h (P) and c (H), all f32. Work buffers that grow with chunk size are not counted.
    pub fn state_bytes(&self) -> usize {
        let hp = self.hyper();
        4 * ((hp.stack - 1) * hp.feat_dim + hp.num_layers * (hp.enc_dim() + hp.hidden))
    }

    /// The same network with every weight matrix quantized to int8 (per-row symmetric), as
    /// `sotto quantize` would write it.
    pub fn quantized(&self) -> Transducer {
        let mut t = self.clone();
        for l in &mut t.lstm {
            l.w_ih = l.w_ih.quantized();
            l.w_hh = l.w_hh.quantized();
            l.w_hr = l.w_hr.as_ref().map(Matrix::quantized);
        }
        for (m, _) in [&mut t.enc_proj, &mut t.pred_proj, &mut t.output] {
            *m = m.quantized();
        }
        t.info.raw["quantized"] = "int8".into();
        t
    }

    /// A fresh stream state (zero LSTM state, empty stacking buffer).
    pub fn new_state(&self) -> EncoderState {
        let hp = self.hyper();
        EncoderState {
            pending: Vec::with_capacity(hp.stack * hp.feat_dim),
            h: vec![vec![0.0; hp.enc_dim()]; hp.num_layers],
            c: vec![vec![0.0; hp.hidden]; hp.num_layers],
            scratch: Scratch::default(),
            gates: Vec::new(),
            buf: Vec::new(),
            cell: vec![0.0; hp.hidden],
        }
    }

    /// Feed fbank frames (`[n, F]`, row-major) and append the encoder frames that became
    /// complete (`[m, P]`) to `out`; returns m. Frames that do not fill a stacking group wait in
    /// `state`. Any split of the same frames over calls gives the same output.
    pub fn encode(
        &self,
        state: &mut EncoderState,
        feats: &[f32],
        out: &mut Vec<f32>,
    ) -> Result<usize, TransducerError> {
        let hp = self.hyper();
        let f = hp.feat_dim;
        if feats.len() % f != 0 {
            return Err(TransducerError::Input(format!(
                "{} values is not a whole number of {f}-dim frames",
                feats.len()
            )));
        }
        if let Some(i) = feats.iter().position(|v| !v.is_finite()) {
            return Err(TransducerError::Input(format!(
                "non-finite feature value at frame {}",
                i / f
            )));
        }
        let group = hp.stack * f;
        // Normalize into the stacking buffer, then move whole groups into the batch.
        let mut x = std::mem::take(&mut state.buf);
        x.clear();
        for frame in feats.chunks_exact(f) {
            state.pending.extend(
                frame
                    .iter()
                    .zip(&self.cmvn_mean)
                    .zip(&self.cmvn_istd)
                    .map(|((v, m), s)| (v - m) * s),
            );
            if state.pending.len() == group {
                x.extend_from_slice(&state.pending);
                state.pending.clear();
            }
        }
        let m = x.len() / group;
        if m > 0 {
            for (l, layer) in self.lstm.iter().enumerate() {
                x = self.lstm_layer(layer, l, state, x, m);
            }
            out.extend_from_slice(&x);
        }
        state.buf = x;
        Ok(m)
    }

    /// Run one LSTM layer over `m` frames `x` (`[m, I]`), returning `[m, P]`.
    fn lstm_layer(
        &self,
        layer: &LstmLayer,
        l: usize,
        st: &mut EncoderState,
        x: Vec<f32>,
        m: usize,
    ) -> Vec<f32> {
        let hd = self.hyper().hidden;
        let p = self.hyper().enc_dim();
        // The input projection of all m frames is one product (the main speed lever).
        st.gates.resize(m * 4 * hd, 0.0);
        layer
            .w_ih
            .matmul(&x, m, Some(&layer.bias), &mut st.gates, &mut st.scratch);
        let mut y = x; // reuse the allocation for the output
        y.clear();
        y.resize(m * p, 0.0);
        let mut rec = vec![0.0; 4 * hd];
        let (h, c) = (&mut st.h[l], &mut st.c[l]);
        for t in 0..m {
            layer.w_hh.matmul(h, 1, None, &mut rec, &mut st.scratch);
            let g = &st.gates[t * 4 * hd..(t + 1) * 4 * hd];
            for j in 0..hd {
                let i = sigmoid(g[j] + rec[j]);
                let fg = sigmoid(g[hd + j] + rec[hd + j]);
                let gg = (g[2 * hd + j] + rec[2 * hd + j]).tanh();
                let o = sigmoid(g[3 * hd + j] + rec[3 * hd + j]);
                c[j] = fg * c[j] + i * gg;
                st.cell[j] = o * c[j].tanh();
            }
            match &layer.w_hr {
                Some(w) => w.matmul(&st.cell, 1, None, h, &mut st.scratch),
                None => h.copy_from_slice(&st.cell),
            }
            y[t * p..(t + 1) * p].copy_from_slice(h);
        }
        y
    }

    /// Prediction network output `[E]` for the last C emitted tokens (oldest first; pad with
    /// blank at the start of an utterance). Panics if `context.len() != C` or an id ≥ V.
    pub fn predict(&self, context: &[u32]) -> Vec<f32> {
        let hp = self.hyper();
        let e = hp.pred_dim;
        assert_eq!(
            context.len(),
            hp.context_size,
            "prediction context must hold C tokens"
        );
        let emb = |t: u32| &self.embedding[t as usize * e..(t as usize + 1) * e];
        let mut out = vec![0.0; e];
        match &self.conv {
            Some(w) => {
                let cs = hp.context_size;
                for (k, &t) in context.iter().enumerate() {
                    for (j, (o, v)) in out.iter_mut().zip(emb(t)).enumerate() {
                        *o += w[j * cs + k] * v;
                    }
                }
            }
            None => out.copy_from_slice(emb(context[0])),
        }
        out.iter_mut().for_each(|v| *v = v.max(0.0));
        out
    }

    /// Joiner encoder projection of `n` encoder frames (`[n, P]` → `[n, J]`), batched.
    pub fn project_encoder(&self, enc: &[f32], n: usize) -> Vec<f32> {
        let mut y = vec![0.0; n * self.hyper().joiner_dim];
        self.enc_proj.0.matmul(
            enc,
            n,
            Some(&self.enc_proj.1),
            &mut y,
            &mut Scratch::default(),
        );
        y
    }

    /// Joiner prediction projection (`[E]` → `[J]`).
    pub fn project_prediction(&self, pred: &[f32]) -> Vec<f32> {
        let mut y = vec![0.0; self.hyper().joiner_dim];
        self.pred_proj.0.matmul(
            pred,
            1,
            Some(&self.pred_proj.1),
            &mut y,
            &mut Scratch::default(),
        );
        y
    }

    /// Logits `[V]` from projected encoder (`[J]`) and prediction (`[J]`) vectors:
    /// `output(tanh(enc + pred))`.
    pub fn join_projected(&self, enc_p: &[f32], pred_p: &[f32], logits: &mut [f32]) {
        let hidden: Vec<f32> = enc_p
            .iter()
            .zip(pred_p)
            .map(|(a, b)| (a + b).tanh())
            .collect();
        self.output.0.matmul(
            &hidden,
            1,
            Some(&self.output.1),
            logits,
            &mut Scratch::default(),
        );
    }

    /// Logits `[V]` for one encoder frame `[P]` and prediction output `[E]`.
    pub fn join(&self, enc: &[f32], pred: &[f32]) -> Vec<f32> {
        let mut logits = vec![0.0; self.hyper().vocab_size];
        self.join_projected(
            &self.project_encoder(enc, 1),
            &self.project_prediction(pred),
            &mut logits,
        );
        logits
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}
