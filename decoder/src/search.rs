//! The streaming decoder: hypotheses, options and the per-frame search step shared by
//! greedy and modified beam search.

use crate::{
    log_softmax, ContextGraph, ContextState, DecoderError, EndpointConfig, EndpointRule,
    LanguageModel, NoLm, Transcript, Transducer, Vocab,
};
use std::sync::Arc;

/// Which search to run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SearchMethod {
    /// Greedy search: per frame, emit the best symbol until blank wins or
    /// `max_symbols_per_frame` symbols were emitted (then move on to the next frame).
    Greedy {
        /// At least 1; icefall/sherpa use 1–3.
        max_symbols_per_frame: usize,
    },
    /// Modified beam search (icefall/sherpa `modified_beam_search`): at most one symbol per
    /// frame, `beam` hypotheses kept, hypotheses with equal token sequences merged by
    /// log-sum-exp of their scores.
    ModifiedBeam {
        /// Number of hypotheses kept (≥ 1); 4 is the usual choice.
        beam: usize,
    },
}

/// Decoder options.
#[derive(Debug, Clone)]
pub struct DecoderOptions {
    /// Search algorithm.
    pub method: SearchMethod,
    /// Duration of one encoder frame in seconds (e.g. 0.04 for 10 ms features subsampled ×4);
    /// used for timestamps and endpointing.
    pub frame_duration: f32,
    /// Hotword biasing graph, if any (shared between streams).
    pub hotwords: Option<Arc<ContextGraph>>,
    /// With an LM, how many best tokens per hypothesis (by acoustic + hotword score) are
    /// rescored by the LM before pruning; at least the beam size is always used.
    pub lm_candidates: usize,
}

impl Default for DecoderOptions {
    fn default() -> Self {
        Self {
            method: SearchMethod::ModifiedBeam { beam: 4 },
            frame_duration: 0.04,
            hotwords: None,
            lm_candidates: 8,
        }
    }
}

/// One emitted token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Token {
    /// Vocabulary id.
    pub id: usize,
    /// Absolute index of the encoder frame it was emitted at (counted from the stream start,
    /// across [`Decoder::reset`]).
    pub frame: usize,
    /// Acoustic log-probability of the token at emission (joiner log-softmax; no hotword or
    /// LM terms).
    pub logprob: f32,
}

/// A decoding result: the tokens of a hypothesis and its total score.
#[derive(Debug, Clone, PartialEq)]
pub struct Hypothesis {
    /// Emitted tokens in order.
    pub tokens: Vec<Token>,
    /// Total log score: acoustic log-probabilities (log-sum-exp over merged paths in beam
    /// search) + hotword bonuses + LM weight × LM log-probabilities.
    pub score: f32,
}

impl Hypothesis {
    /// The token ids.
    pub fn ids(&self) -> Vec<usize> {
        self.tokens.iter().map(|t| t.id).collect()
    }
}

/// Internal hypothesis with its network, context and LM states.
pub(crate) struct Hyp<P, S> {
    pub tokens: Vec<Token>,
    /// Rolling hash of the token ids, to find merge candidates quickly.
    pub key: u64,
    pub score: f32,
    /// Prediction state and output, shared by hypotheses that only differ by blanks.
    pub pred: Arc<(P, Vec<f32>)>,
    pub ctx: ContextState,
    pub lm: S,
    /// Frames since the last emission (or since the segment start).
    pub trailing_blanks: usize,
}

impl<P, S: Clone> Clone for Hyp<P, S> {
    fn clone(&self) -> Self {
        Self {
            tokens: self.tokens.clone(),
            key: self.key,
            score: self.score,
            pred: Arc::clone(&self.pred),
            ctx: self.ctx,
            lm: self.lm.clone(),
            trailing_blanks: self.trailing_blanks,
        }
    }
}

pub(crate) fn extend_key(key: u64, token: usize) -> u64 {
    key.wrapping_mul(0x100_0000_01b3)
        .wrapping_add(token as u64 + 1)
}

/// A scored extension of a hypothesis by one symbol.
#[derive(Debug, Clone)]
pub(crate) struct Candidate<S> {
    pub hyp: usize,
    pub token: usize,
    /// Total score after the extension.
    pub score: f32,
    pub logprob: f32,
    /// Hotword score change and LM state after the token (unused for blank).
    pub ctx: Option<(f32, ContextState)>,
    pub lm: Option<S>,
}

/// Streaming transducer decoder.
///
/// Feed encoder frames with [`accept_frames`](Self::accept_frames) as they arrive, read the
/// current best result with [`partial`](Self::partial) at any time, [`finish`](Self::finish)
/// at the end of the utterance, check [`endpoint`](Self::endpoint) for sherpa-style
/// endpointing and [`reset`](Self::reset) to start a new segment. The result does not depend
/// on how the frames are batched. The network is passed to every call rather than held, so
/// a shared model can serve many decoders.
pub struct Decoder<N: Transducer, L: LanguageModel = NoLm> {
    pub(crate) opts: DecoderOptions,
    /// The LM, its weight, and whether it is a real one (not the `new()` placeholder).
    pub(crate) lm: Arc<L>,
    pub(crate) lm_weight: f32,
    pub(crate) use_lm: bool,
    pub(crate) hyps: Vec<Hyp<N::PredState, L::State>>,
    /// Frames decoded since the stream start, and at the last reset.
    pub(crate) frames: usize,
    pub(crate) segment_start: usize,
    pub(crate) vocab_size: usize,
    pub(crate) blank: usize,
    pub(crate) enc_dim: usize,
    pub(crate) logits: Vec<f32>,
}

impl<N: Transducer> Decoder<N, NoLm> {
    /// A decoder without language model.
    pub fn new(net: &N, opts: DecoderOptions) -> Result<Self, DecoderError> {
        Self::build(net, opts, Arc::new(NoLm), 0.0, false)
    }
}

impl<N: Transducer, L: LanguageModel> Decoder<N, L> {
    /// A decoder with LM shallow fusion: `weight * lm_logprob` is added per token.
    pub fn with_lm(
        net: &N,
        opts: DecoderOptions,
        lm: Arc<L>,
        weight: f32,
    ) -> Result<Self, DecoderError> {
        if !weight.is_finite() {
            return Err(DecoderError::InvalidOption(format!(
                "LM weight {weight} is not finite"
            )));
        }
        Self::build(net, opts, lm, weight, true)
    }

    fn build(
        net: &N,
        opts: DecoderOptions,
        lm: Arc<L>,
        lm_weight: f32,
        use_lm: bool,
    ) -> Result<Self, DecoderError> {
        let bad = |m: String| Err(DecoderError::InvalidOption(m));
        match opts.method {
            SearchMethod::Greedy {
                max_symbols_per_frame: 0,
            } => return bad("max_symbols_per_frame must be ≥ 1".into()),
            SearchMethod::ModifiedBeam { beam: 0 } => return bad("beam must be ≥ 1".into()),
            _ => {}
        }
        if !(opts.frame_duration.is_finite() && opts.frame_duration > 0.0) {
            return bad(format!(
                "frame_duration {} must be a positive number of seconds",
                opts.frame_duration
            ));
        }
        let (vocab_size, blank) = (net.vocab_size(), net.blank_id());
        if blank >= vocab_size {
            return bad(format!(
                "blank id {blank} outside vocabulary of {vocab_size}"
            ));
        }
        if let Some(g) = &opts.hotwords {
            if g.max_token() >= vocab_size {
                return bad(format!(
                    "hotword token {} outside vocabulary of {vocab_size}",
                    g.max_token()
                ));
            }
            if g.uses_token(blank) {
                return bad("hotword phrase contains the blank token".into());
            }
        }
        let mut d = Self {
            opts,
            lm,
            lm_weight,
            use_lm,
            hyps: Vec::new(),
            frames: 0,
            segment_start: 0,
            vocab_size,
            blank,
            enc_dim: net.encoder_dim(),
            logits: Vec::new(),
        };
        d.reset(net);
        Ok(d)
    }

    /// The options this decoder runs with.
    pub fn options(&self) -> &DecoderOptions {
        &self.opts
    }

    /// Start a new segment (after an endpoint): fresh prediction, hotword and LM states;
    /// frame indices keep counting from the stream start.
    pub fn reset(&mut self, net: &N) {
        let (state, out) = net.pred_init();
        self.start_segment(Arc::new((state, out)));
    }

    /// Start a new segment like [`reset`](Self::reset), but keep the best hypothesis's
    /// prediction-network state, so the first tokens of the new segment are predicted in the
    /// context of the last ones (what sherpa-onnx does on endpoints: a stateless network keeps
    /// its last `context_size` tokens).
    pub fn reset_keep_context(&mut self) {
        let pred = Arc::clone(&self.hyps[self.best_index()].pred);
        self.start_segment(pred);
    }

    fn start_segment(&mut self, pred: Arc<(N::PredState, Vec<f32>)>) {
        let ctx = self
            .opts
            .hotwords
            .as_ref()
            .map_or(ContextState::default(), |g| g.root());
        let lm = self.lm.start();
        self.hyps = vec![Hyp {
            tokens: Vec::new(),
            key: 0,
            score: 0.0,
            pred,
            ctx,
            lm,
            trailing_blanks: 0,
        }];
        self.segment_start = self.frames;
    }

    /// Frames decoded since the stream start.
    pub fn frames_decoded(&self) -> usize {
        self.frames
    }

    /// Feed encoder frames: `frames` holds any whole number of frames of
    /// `net.encoder_dim()` values each, concatenated. After an error (wrong length, or a
    /// network producing NaN/inf) the frame is not counted but the hypotheses may be half
    /// updated: [`reset`](Self::reset) or drop the decoder.
    pub fn accept_frames(&mut self, net: &N, frames: &[f32]) -> Result<(), DecoderError> {
        if frames.len().checked_rem(self.enc_dim) != Some(0) {
            return Err(DecoderError::FrameSize {
                expected: self.enc_dim,
                got: frames.len(),
            });
        }
        for enc in frames.chunks_exact(self.enc_dim) {
            match self.opts.method {
                SearchMethod::Greedy {
                    max_symbols_per_frame,
                } => crate::greedy::step(self, net, enc, max_symbols_per_frame)?,
                SearchMethod::ModifiedBeam { beam } => crate::beam::step(self, net, enc, beam)?,
            }
            self.frames += 1;
        }
        Ok(())
    }

    fn best_index(&self) -> usize {
        // First maximum, so ties keep the earlier (better-ranked) hypothesis.
        let mut best = 0;
        for (i, h) in self.hyps.iter().enumerate() {
            if h.score > self.hyps[best].score {
                best = i;
            }
        }
        best
    }

    /// The current best hypothesis (hotword bonuses of unfinished matches included).
    pub fn partial_hypothesis(&self) -> Hypothesis {
        let h = &self.hyps[self.best_index()];
        Hypothesis {
            tokens: h.tokens.clone(),
            score: h.score,
        }
    }

    /// All live hypotheses (the beam; one for greedy search), best first, with their
    /// current scores.
    pub fn hypotheses(&self) -> Vec<Hypothesis> {
        let mut all: Vec<Hypothesis> = self
            .hyps
            .iter()
            .map(|h| Hypothesis {
                tokens: h.tokens.clone(),
                score: h.score,
            })
            .collect();
        all.sort_by(|a, b| b.score.total_cmp(&a.score));
        all
    }

    /// The best hypothesis at the end of the utterance: unfinished hotword matches lose their
    /// tentative bonus and the LM's final score is added before choosing. Does not change the
    /// decoder; call [`reset`](Self::reset) to go on with a new segment.
    pub fn finish_hypothesis(&self) -> Hypothesis {
        let final_score = |h: &Hyp<N::PredState, L::State>| {
            let ctx = self
                .opts
                .hotwords
                .as_ref()
                .map_or(0.0, |g| g.finalize(h.ctx));
            let lm = if self.use_lm {
                self.lm_weight * self.lm.final_score(&h.lm)
            } else {
                0.0
            };
            h.score + ctx + lm
        };
        let mut best = 0;
        for (i, h) in self.hyps.iter().enumerate() {
            if final_score(h) > final_score(&self.hyps[best]) {
                best = i;
            }
        }
        let h = &self.hyps[best];
        Hypothesis {
            tokens: h.tokens.clone(),
            score: final_score(h),
        }
    }

    /// The current best result as text, words and timestamps.
    pub fn partial(&self, vocab: &Vocab) -> Transcript {
        Transcript::from_tokens(
            &self.partial_hypothesis().tokens,
            vocab,
            self.opts.frame_duration,
        )
    }

    /// The final result of the segment (see [`finish_hypothesis`](Self::finish_hypothesis)).
    pub fn finish(&self, vocab: &Vocab) -> Transcript {
        Transcript::from_tokens(
            &self.finish_hypothesis().tokens,
            vocab,
            self.opts.frame_duration,
        )
    }

    /// Whether an endpoint rule fires for the current best hypothesis; see [`EndpointConfig`].
    pub fn endpoint(&self, config: &EndpointConfig) -> Option<EndpointRule> {
        let h = &self.hyps[self.best_index()];
        config.detect(
            self.frames - self.segment_start,
            h.trailing_blanks,
            self.opts.frame_duration,
        )
    }

    /// Log-softmax `logits` in place, erroring on a broken network.
    pub(crate) fn normalize(&self, logits: &mut [f32]) -> Result<(), DecoderError> {
        if log_softmax(logits) {
            Ok(())
        } else {
            Err(DecoderError::NonFiniteLogits { frame: self.frames })
        }
    }

    /// The best `k` extensions of hypothesis `hi` given its log-probabilities `logp`:
    /// score = hyp score + logp + hotword delta (+ LM on the pre-selected tokens).
    /// Blank never changes the hotword or LM state. Appended to `out`, best first;
    /// ties go to the lower token id.
    pub(crate) fn candidates(
        &self,
        hi: usize,
        logp: &[f32],
        k: usize,
        out: &mut Vec<Candidate<L::State>>,
    ) {
        let h = &self.hyps[hi];
        let graph = self.opts.hotwords.as_deref();
        let default_delta = graph.map_or(0.0, |g| g.finalize(h.ctx));
        let k_pre = if self.use_lm {
            k.max(self.opts.lm_candidates)
        } else {
            k
        };
        // Top-k_pre by (acoustic + default hotword delta), small insertion-sorted list.
        let mut top: Vec<(f32, usize)> = Vec::with_capacity(k_pre + 1);
        let push = |s: f32, t: usize, top: &mut Vec<(f32, usize)>| {
            if top.len() == k_pre && s <= top[k_pre - 1].0 {
                return;
            }
            let pos = top.partition_point(|&(ts, tt)| ts > s || (ts == s && tt < t));
            top.insert(pos, (s, t));
            top.truncate(k_pre);
        };
        let mut special: Vec<(usize, f32)> = Vec::new();
        if let Some(g) = graph {
            special.extend(g.transitions(h.ctx));
        }
        let mut si = 0;
        for (t, &lp) in logp.iter().enumerate() {
            // `special` is sorted by token, so walk it alongside.
            let delta = if t == self.blank {
                0.0
            } else if si < special.len() && special[si].0 == t {
                si += 1;
                special[si - 1].1
            } else {
                default_delta
            };
            push(lp + delta, t, &mut top);
        }
        let start = out.len();
        for (s, t) in top {
            let mut c = Candidate {
                hyp: hi,
                token: t,
                score: h.score + s,
                logprob: logp[t],
                ctx: None,
                lm: None,
            };
            if t != self.blank {
                c.ctx = graph.map(|g| g.forward(h.ctx, t));
                if self.use_lm {
                    let (ls, st) = self.lm.score(&h.lm, t);
                    c.score += self.lm_weight * ls;
                    c.lm = Some(st);
                }
            }
            out.push(c);
        }
        if self.use_lm {
            let new = &mut out[start..];
            new.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.token.cmp(&b.token)));
            out.truncate(start + k);
        }
    }

    /// Apply a candidate to a copy of its hypothesis (prediction network stepped on tokens).
    pub(crate) fn extend(&self, net: &N, c: Candidate<L::State>) -> Hyp<N::PredState, L::State> {
        let mut h = self.hyps[c.hyp].clone();
        h.score = c.score;
        if c.token == self.blank {
            h.trailing_blanks += 1;
            return h;
        }
        h.tokens.push(Token {
            id: c.token,
            frame: self.frames,
            logprob: c.logprob,
        });
        h.key = extend_key(h.key, c.token);
        if let Some((_, st)) = c.ctx {
            h.ctx = st;
        }
        if let Some(st) = c.lm {
            h.lm = st;
        }
        let (mut state, mut out) = (h.pred.0.clone(), Vec::new());
        net.pred_step(&mut state, c.token, &mut out);
        h.pred = Arc::new((state, out));
        h.trailing_blanks = 0;
        h
    }
}
