//! The streaming RNN-T network `rnnt-lstm-stateless` of `docs/model-format.md`: CMVN, frame
//! stacking, an LSTM encoder (optional projection, residual adds and post-layer LayerNorm), a
//! stateless prediction network and a joiner.
//!
//! [`Transducer`] is immutable (share it with `Arc` across streams); everything that changes
//! while audio flows lives in a per-stream [`EncoderState`]. It is assembled from the shared
//! [`layers`](crate::layers) (`FrameStack`, `Lstm`, `LayerNorm`, `Embedding`, `Linear`) and loaded through
//! [`ModelFile`] (memory-mapped, zero-copy). Weights are f32 or int8 ([`QMatrix`]: symmetric
//! per-row scales, activations quantized per frame at run time).
//!
//! [`QMatrix`]: crate::quant::QMatrix

mod load;
mod random;

pub use random::{random_model_bytes, small10m_hyperparameters, tiny_hyperparameters};

use crate::format::{FormatError, ModelFile};
use crate::layers::{
    Embedding, FrameStack, FrameStackState, LayerError, LayerNorm, Linear, Lstm, LstmState,
};
use crate::tensor::Buffer;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The architecture name this module implements (metadata `architecture`).
pub const ARCHITECTURE: &str = "rnnt-lstm-stateless";

/// Name of the optional search table of a transducer file (see [`Transducer::token_bigram`]).
pub const TOKEN_BIGRAM: &str = "token_bigram";

/// Errors loading or running a transducer model.
#[derive(Debug, thiserror::Error)]
pub enum TransducerError {
    /// The file could not be read, is not a valid model file, or a tensor the architecture
    /// needs is missing, has the wrong dtype or shape, or is not used by it.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The file holds another architecture or format version.
    #[error(
        "{path}: unsupported architecture {found:?} (format version {version}); expected {ARCHITECTURE:?} version 1"
    )]
    Architecture {
        path: PathBuf,
        found: String,
        version: u64,
    },
    /// Metadata inconsistent with the architecture (sizes, tokens, units).
    #[error("{path}: bad metadata: {msg}")]
    Metadata { path: PathBuf, msg: String },
    /// A tensor holds a non-finite value.
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
    /// Encoder layers l > 0 add their input to their output (optional key, default false).
    #[serde(default)]
    pub residual: bool,
    /// Each encoder layer is followed by a LayerNorm `encoder.norm.{l}` (optional key, default
    /// false).
    #[serde(default)]
    pub layer_norm: bool,
    /// Chunked look-ahead (optional key, default 0 = none; needs `residual` and `layer_norm`):
    /// one more LSTM `encoder.look` on top of the encoder, run backwards in time inside each
    /// chunk of this many encoder frames (zero state at every chunk start; chunks counted from
    /// the stream's first frame, the last one cut at the end of the audio), then a residual add
    /// and the LayerNorm `encoder.look_norm`. Each frame sees the rest of its chunk, so encoder
    /// frames come out when their chunk is complete or the stream is flushed
    /// ([`Transducer::flush`]): up to this many frames late.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lookahead_chunk: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
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

/// What the model's output symbols are (metadata key `units`; absent means BPE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Units {
    /// Sentencepiece pieces; `▁` starts a word, so text can be read off the tokens.
    Bpe,
    /// Phones (e.g. ARPAbet without stress): words need a pronunciation lexicon.
    Phones,
}

/// The parsed metadata document (`__metadata__["sotto"]`).
#[derive(Debug, Clone)]
pub struct ModelInfo {
    /// The unit set the network predicts.
    pub units: Units,
    /// Network sizes.
    pub hyper: Hyperparameters,
    /// Feature configuration as written by the recipe (sotto `FbankConfig` field names).
    pub features: serde_json::Value,
    /// Token pieces by id (`▁` starts a word).
    pub tokens: Vec<String>,
    /// The whole metadata document, for `sotto info`.
    pub raw: serde_json::Value,
}

/// The immutable network. `Send + Sync`; one instance serves any number of streams.
#[derive(Debug, Clone)]
pub struct Transducer {
    info: ModelInfo,
    cmvn_mean: Buffer<f32>,
    cmvn_istd: Buffer<f32>,
    stack: FrameStack,
    lstm: Vec<Lstm>,
    /// One post-layer LayerNorm per LSTM layer when `layer_norm`, else empty. Always f32.
    norm: Vec<LayerNorm>,
    /// The chunked look-ahead layer and its LayerNorm, when `lookahead_chunk` > 0.
    look: Option<(Lstm, LayerNorm)>,
    embedding: Embedding,
    /// Depthwise conv `[E, 1, C]` (k = 0 oldest), absent when C = 1. Applied directly rather than
    /// as a streaming `Conv1d`: the stateless prediction network sees its whole context each call.
    conv: Option<Buffer<f32>>,
    enc_proj: Linear,
    pred_proj: Linear,
    output: Linear,
    /// CTC head `[P]` → `[V]` (trained as an auxiliary loss; decodable with CTC prefix beam
    /// search), present when the hyperparameter `ctc` is true.
    ctc: Option<Linear>,
    /// Optional `token_bigram` `[V, V]`: natural-log token bigram of the training transcripts
    /// (row = previous token, blank row = segment start), for the search's LODR term. Not a
    /// network weight: it never enters the forward pass.
    token_bigram: Option<Buffer<f32>>,
}

/// Per-stream encoder state: the partial stacking group, every layer's (h, c) and, with a
/// look-ahead layer, the frames of its unfinished chunk.
#[derive(Debug, Clone)]
pub struct EncoderState {
    stack: FrameStackState,
    lstm: Vec<LstmState>,
    /// The look-ahead layer's state (reset at every chunk) and the lower layers' output frames
    /// waiting for their chunk to complete (< `lookahead_chunk` frames between calls).
    look: Option<LstmState>,
    look_wait: Vec<f32>,
    /// Work buffers of the look-ahead layer: a chunk in reverse time order and its output.
    look_rev: Vec<f32>,
    look_out: Vec<f32>,
    /// Feature frames waiting in `stack` (< S).
    pending: usize,
    /// This stream's feature mean, replacing the model's CMVN mean when set
    /// ([`Transducer::set_feature_mean`]).
    mean: Option<Vec<f32>>,
    /// Work buffers reused across calls: normalized features, layer input and output.
    norm: Vec<f32>,
    x: Vec<f32>,
    y: Vec<f32>,
}

impl EncoderState {
    /// Feature frames waiting for their stacking group to fill.
    pub fn pending_frames(&self, _feat_dim: usize) -> usize {
        self.pending
    }

    /// Encoder frames computed by the lower layers that wait for their look-ahead chunk to
    /// complete (always 0 without a look-ahead layer); [`Transducer::flush`] releases them.
    pub fn lookahead_frames(&self, enc_dim: usize) -> usize {
        self.look_wait.len() / enc_dim.max(1)
    }

    /// The feature mean this stream normalizes with, when it is not the model's.
    pub fn feature_mean(&self) -> Option<&[f32]> {
        self.mean.as_deref()
    }
}

/// A layer rejected input the encoder had already validated; report it as bad input anyway.
fn input_err(e: LayerError) -> TransducerError {
    TransducerError::Input(e.to_string())
}

fn linear_params(l: &Linear) -> usize {
    l.in_dim() * l.out_dim() + l.bias.as_ref().map_or(0, |b| b.len())
}

fn linear_bytes(l: &Linear) -> usize {
    l.weight.bytes() + 4 * l.bias.as_ref().map_or(0, |b| b.len())
}

impl Transducer {
    /// Load and validate a model file (f32 or int8), memory-mapped. Every tensor's presence,
    /// dtype, shape and finiteness is checked against the hyperparameters, and tensors the
    /// architecture does not use are rejected; errors name the file and the tensor.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, TransducerError> {
        Self::from_file(&ModelFile::open(path)?)
    }

    /// Load from the bytes of a model file; `name` stands for the file in error messages.
    pub fn from_bytes(bytes: &[u8], name: impl AsRef<Path>) -> Result<Self, TransducerError> {
        Self::from_file(&ModelFile::from_bytes(bytes, name)?)
    }

    /// Load from an opened model file (its tensors stay mapped, nothing is copied).
    pub fn from_file(file: &ModelFile) -> Result<Self, TransducerError> {
        load::load(file)
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
        self.output.weight.is_int8()
    }

    /// Every encoder LSTM, the look-ahead layer's last.
    fn lstms(&self) -> impl Iterator<Item = &Lstm> {
        self.lstm.iter().chain(self.look.as_ref().map(|(l, _)| l))
    }

    /// Every encoder LayerNorm, the look-ahead layer's last.
    fn norms(&self) -> impl Iterator<Item = &LayerNorm> {
        self.norm.iter().chain(self.look.as_ref().map(|(_, n)| n))
    }

    /// Total number of parameters (the CTC head included, when present).
    pub fn num_params(&self) -> usize {
        let mut n = self.cmvn_mean.len() + self.cmvn_istd.len();
        n += self.embedding.num() * self.embedding.dim();
        n += self.conv.as_ref().map_or(0, |c| c.len());
        for l in self.lstms() {
            let (i, h, p) = (l.input_size(), l.hidden_size(), l.output_size());
            n += 4 * h * (i + p + 2) + if self.hyper().proj > 0 { p * h } else { 0 };
        }
        n += self.norms().map(|l| 2 * l.dim()).sum::<usize>();
        n + [&self.enc_proj, &self.pred_proj, &self.output]
            .into_iter()
            .chain(&self.ctc)
            .map(linear_params)
            .sum::<usize>()
    }

    /// Bytes of weights held (mapped or in memory).
    pub fn weight_bytes(&self) -> usize {
        let mut n = 4 * (self.cmvn_mean.len() + self.cmvn_istd.len());
        n += 4 * self.embedding.num() * self.embedding.dim();
        n += 4 * self.conv.as_ref().map_or(0, |c| c.len());
        n += self.lstms().map(Lstm::weight_bytes).sum::<usize>();
        n += self.norms().map(|l| 8 * l.dim()).sum::<usize>();
        n + [&self.enc_proj, &self.pred_proj, &self.output]
            .into_iter()
            .chain(&self.ctc)
            .map(linear_bytes)
            .sum::<usize>()
    }

    /// Bytes of persistent state one stream needs: the stacking buffer ((S−1)·F), every
    /// layer's h (P) and c (H) and, with a look-ahead layer, its h and c and the frames of an
    /// unfinished chunk ((K−1)·P), all f32. Work buffers that grow with chunk size are not
    /// counted.
    pub fn state_bytes(&self) -> usize {
        let hp = self.hyper();
        let look = match hp.lookahead_chunk {
            0 => 0,
            k => hp.enc_dim() + hp.hidden + (k - 1) * hp.enc_dim(),
        };
        4 * ((hp.stack - 1) * hp.feat_dim + hp.num_layers * (hp.enc_dim() + hp.hidden) + look)
    }

    /// The same network with every weight matrix quantized to int8 (per-row symmetric), as
    /// `sotto quantize` would write it (LayerNorm parameters stay f32).
    pub fn quantized(&self) -> Transducer {
        // Cannot fail: loading rejected non-finite weights.
        const FINITE: &str = "weights were checked finite at load";
        let mut t = self.clone();
        for l in t.lstm.iter_mut().chain(t.look.as_mut().map(|(l, _)| l)) {
            *l = l.quantized().expect(FINITE);
        }
        for l in [&mut t.enc_proj, &mut t.pred_proj, &mut t.output]
            .into_iter()
            .chain(&mut t.ctc)
        {
            *l = l.quantized().expect(FINITE);
        }
        t.info.raw["quantized"] = "int8".into();
        t
    }

    /// A fresh stream state (zero LSTM state, empty stacking buffer).
    pub fn new_state(&self) -> EncoderState {
        EncoderState {
            stack: self.stack.new_state(),
            lstm: self.lstm.iter().map(Lstm::new_state).collect(),
            look: self.look.as_ref().map(|(l, _)| l.new_state()),
            look_wait: Vec::new(),
            look_rev: Vec::new(),
            look_out: Vec::new(),
            pending: 0,
            mean: None,
            norm: Vec::new(),
            x: Vec::new(),
            y: Vec::new(),
        }
    }

    /// The model's CMVN mean `[F]` (of the training features): what a stream subtracts from
    /// each fbank frame unless [`set_feature_mean`](Self::set_feature_mean) gave it another.
    pub fn cmvn_mean(&self) -> &[f32] {
        &self.cmvn_mean
    }

    /// Normalize this stream's features with `mean` (`[F]`) instead of the model's CMVN mean
    /// (the scale stays the model's); `None` goes back to the model's. For a mean adapted to
    /// the speaker or channel, e.g. one moved toward the mean of a whole file's features.
    /// Applies to frames encoded from now on; set it before the first frame so that a stream
    /// normalizes all its frames alike.
    pub fn set_feature_mean(
        &self,
        state: &mut EncoderState,
        mean: Option<&[f32]>,
    ) -> Result<(), TransducerError> {
        if let Some(m) = mean {
            let f = self.hyper().feat_dim;
            if m.len() != f {
                return Err(TransducerError::Input(format!(
                    "feature mean has {} values, the model's features have {f}",
                    m.len()
                )));
            }
            if let Some(i) = m.iter().position(|v| !v.is_finite()) {
                return Err(TransducerError::Input(format!(
                    "non-finite feature mean value at bin {i}"
                )));
            }
        }
        state.mean = mean.map(<[f32]>::to_vec);
        Ok(())
    }

    /// Feed fbank frames (`[n, F]`, row-major) and append the encoder frames that became
    /// complete (`[m, P]`) to `out`; returns m. Frames that do not fill a stacking group wait in
    /// `state`, and so, with a look-ahead layer, do encoder frames whose chunk is not complete
    /// (call [`flush`](Self::flush) at the end of the audio). Any split of the same frames over
    /// calls gives the same output.
    pub fn encode(
        &self,
        state: &mut EncoderState,
        feats: &[f32],
        out: &mut Vec<f32>,
    ) -> Result<usize, TransducerError> {
        let hp = self.hyper();
        let f = hp.feat_dim;
        if !feats.len().is_multiple_of(f) {
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
        let st = state;
        st.norm.clear();
        let mean = st.mean.as_deref().unwrap_or(&self.cmvn_mean);
        for frame in feats.chunks_exact(f) {
            st.norm.extend(
                frame
                    .iter()
                    .zip(mean.iter())
                    .zip(self.cmvn_istd.iter())
                    .map(|((v, m), s)| (v - m) * s),
            );
        }
        st.x.clear();
        let m = self
            .stack
            .step(&mut st.stack, &st.norm, &mut st.x)
            .map_err(input_err)?;
        st.pending = (st.pending + feats.len() / f) % hp.stack;
        if m > 0 {
            // Each layer runs all m frames at once: its input projection is one batched product.
            // Residual add and LayerNorm act per frame, so chunking cannot change the output.
            for (l, (layer, ls)) in self.lstm.iter().zip(&mut st.lstm).enumerate() {
                st.y.clear();
                layer.step(ls, &st.x, &mut st.y).map_err(input_err)?;
                if hp.residual && l > 0 {
                    st.y.iter_mut().zip(&st.x).for_each(|(y, x)| *y += x);
                }
                if let Some(norm) = self.norm.get(l) {
                    norm.forward(&mut st.y).map_err(input_err)?;
                }
                std::mem::swap(&mut st.x, &mut st.y);
            }
            if self.look.is_none() {
                out.extend_from_slice(&st.x);
                return Ok(m);
            }
            st.look_wait.extend_from_slice(&st.x);
            return self.run_lookahead(st, out, false);
        }
        Ok(0)
    }

    /// End of the audio: append the encoder frames still waiting for their look-ahead chunk
    /// (the last chunk ends here) to `out` and return how many. Without a look-ahead layer
    /// nothing waits and this returns 0. A partial stacking group is dropped, as in training.
    /// Encoding may go on afterwards: the next frame starts a new chunk.
    pub fn flush(
        &self,
        state: &mut EncoderState,
        out: &mut Vec<f32>,
    ) -> Result<usize, TransducerError> {
        match self.look {
            Some(_) => self.run_lookahead(state, out, true),
            None => Ok(0),
        }
    }

    /// Runs the look-ahead layer over every complete chunk waiting in `st` (and the partial
    /// last one when `flush`): reverse the chunk's frames, LSTM from zero state, reverse back,
    /// add the input, LayerNorm. Returns the frames appended to `out`.
    fn run_lookahead(
        &self,
        st: &mut EncoderState,
        out: &mut Vec<f32>,
        flush: bool,
    ) -> Result<usize, TransducerError> {
        let (Some((layer, norm)), Some(ls)) = (&self.look, st.look.as_mut()) else {
            return Ok(0);
        };
        let p = self.hyper().enc_dim();
        let k = self.hyper().lookahead_chunk;
        let waiting = st.look_wait.len() / p;
        let take = if flush { waiting } else { waiting / k * k };
        for chunk in st.look_wait[..take * p].chunks(k * p) {
            st.look_rev.clear();
            for frame in chunk.chunks_exact(p).rev() {
                st.look_rev.extend_from_slice(frame);
            }
            ls.reset();
            st.look_out.clear();
            layer
                .step(ls, &st.look_rev, &mut st.look_out)
                .map_err(input_err)?;
            let start = out.len();
            for (y, x) in st.look_out.chunks_exact(p).rev().zip(chunk.chunks_exact(p)) {
                out.extend(y.iter().zip(x).map(|(y, x)| y + x));
            }
            norm.forward(&mut out[start..]).map_err(input_err)?;
        }
        st.look_wait.drain(..take * p);
        Ok(take)
    }

    /// Prediction network output `[E]` for the last C emitted tokens (oldest first; pad with
    /// blank at the start of an utterance). Panics if `context.len() != C` or an id ≥ V.
    pub fn predict(&self, context: &[u32]) -> Vec<f32> {
        let mut out = vec![0.0; self.hyper().pred_dim];
        self.predict_into(context, &mut out);
        out
    }

    /// [`predict`](Self::predict) into `out` (`[E]`), without allocating. Panics if
    /// `context.len() != C`, an id ≥ V or `out.len() != E`.
    pub fn predict_into(&self, context: &[u32], out: &mut [f32]) {
        let hp = self.hyper();
        assert_eq!(
            context.len(),
            hp.context_size,
            "prediction context must hold C tokens"
        );
        assert_eq!(
            out.len(),
            hp.pred_dim,
            "prediction output must hold E values"
        );
        let emb = |t: u32| {
            self.embedding
                .row(t)
                .unwrap_or_else(|e| panic!("prediction context: {e}"))
        };
        match &self.conv {
            Some(w) => {
                out.fill(0.0);
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
    }

    /// Joiner encoder projection of `n` encoder frames (`[n, P]` → `[n, J]`), batched.
    /// Panics if `enc.len() != n·P`.
    pub fn project_encoder(&self, enc: &[f32], n: usize) -> Vec<f32> {
        let mut y = vec![0.0; n * self.hyper().joiner_dim];
        self.project_encoder_into(enc, &mut y);
        y
    }

    /// [`project_encoder`](Self::project_encoder) into `out` (`[n, J]`, n = `enc.len() / P`).
    /// Panics on other lengths.
    pub fn project_encoder_into(&self, enc: &[f32], out: &mut [f32]) {
        self.enc_proj
            .forward(enc, out)
            .unwrap_or_else(|e| panic!("project_encoder: {e}"));
    }

    /// The token bigram of the training transcripts shipped in the file (`[V, V]` row-major
    /// natural logs), if any.
    pub fn token_bigram(&self) -> Option<&[f32]> {
        self.token_bigram.as_deref()
    }

    /// Whether the model has a CTC head ([`ctc_logits`](Self::ctc_logits)).
    pub fn has_ctc(&self) -> bool {
        self.ctc.is_some()
    }

    /// CTC head logits of `n` encoder frames (`[n, P]` → `[n, V]`), batched; `None` when the
    /// model has no CTC head. Panics if `enc.len() != n·P`.
    pub fn ctc_logits(&self, enc: &[f32], n: usize) -> Option<Vec<f32>> {
        if !self.has_ctc() {
            return None;
        }
        let mut y = vec![0.0; n * self.hyper().vocab_size];
        self.ctc_logits_into(enc, &mut y).then_some(y)
    }

    /// [`ctc_logits`](Self::ctc_logits) into `out` (`[n, V]`); false (and `out` untouched)
    /// when the model has no CTC head. Panics on other lengths.
    pub fn ctc_logits_into(&self, enc: &[f32], out: &mut [f32]) -> bool {
        let Some(head) = self.ctc.as_ref() else {
            return false;
        };
        head.forward(enc, out)
            .unwrap_or_else(|e| panic!("ctc_logits: {e}"));
        true
    }

    /// Joiner prediction projection (`[E]` → `[J]`). Panics if `pred.len() != E`.
    pub fn project_prediction(&self, pred: &[f32]) -> Vec<f32> {
        let mut y = vec![0.0; self.hyper().joiner_dim];
        self.project_prediction_into(pred, &mut y);
        y
    }

    /// [`project_prediction`](Self::project_prediction) into `out` (`[J]`). Panics on other
    /// lengths.
    pub fn project_prediction_into(&self, pred: &[f32], out: &mut [f32]) {
        self.pred_proj
            .forward(pred, out)
            .unwrap_or_else(|e| panic!("project_prediction: {e}"));
    }

    /// Logits `[V]` from projected encoder (`[J]`) and prediction (`[J]`) vectors:
    /// `output(tanh(enc + pred))`. Panics on other lengths.
    pub fn join_projected(&self, enc_p: &[f32], pred_p: &[f32], logits: &mut [f32]) {
        assert_eq!(enc_p.len(), pred_p.len(), "join: projected vector lengths");
        let mut hidden = pred_p.to_vec();
        crate::kernels::add_tanh_rows(&mut hidden, enc_p);
        self.output
            .forward(&hidden, logits)
            .unwrap_or_else(|e| panic!("join: {e}"));
    }

    /// [`join_projected`](Self::join_projected) for one projected encoder frame against several
    /// projected prediction outputs (one per beam hypothesis): the output layer runs once over
    /// all of them as a matrix product. `logits` holds `preds.len() × V` values.
    pub fn join_projected_batch(&self, enc_p: &[f32], preds: &[&[f32]], logits: &mut [f32]) {
        let mut rows = Vec::with_capacity(preds.len() * enc_p.len());
        for p in preds {
            assert_eq!(enc_p.len(), p.len(), "join: projected vector lengths");
            rows.extend_from_slice(p);
        }
        self.join_projected_rows(enc_p, &mut rows, logits);
    }

    /// [`join_projected_batch`](Self::join_projected_batch) over projected prediction outputs
    /// stored row after row in `preds` (`[n, J]`), which is overwritten with the joiner's
    /// hidden activations: no allocation. `logits` holds `n × V` values. Panics on other
    /// lengths.
    pub fn join_projected_rows(&self, enc_p: &[f32], preds: &mut [f32], logits: &mut [f32]) {
        assert!(
            !enc_p.is_empty() && preds.len().is_multiple_of(enc_p.len()),
            "join: projected vector lengths"
        );
        crate::kernels::add_tanh_rows(preds, enc_p);
        self.output
            .forward(preds, logits)
            .unwrap_or_else(|e| panic!("join: {e}"));
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
