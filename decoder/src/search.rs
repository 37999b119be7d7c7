//! The streaming decoder: hypotheses, options and the per-frame search step shared by
//! greedy and modified beam search.

use crate::beam::Scratch;
use crate::ctc_track::{CtcFrames, CtcTrack};
use crate::hyp::{Hyp, Scorer};
use crate::logmath::log_add;
use crate::words::{WordGraph, SPELLED};
use crate::{
    Alternative, ContextGraph, DecoderError, EndpointConfig, EndpointRule, LanguageModel, NoLm,
    Transcript, TransducerNet, Vocab, Word, WORD_START,
};
use std::sync::Arc;

/// Largest beam accepted: the work per frame grows with the beam; 2048 ran at 0.185 of real
/// time on one core beside training (README, "Words", step 8), so 4096 is for batch work only.
pub const MAX_BEAM: usize = 4096;

/// Largest [`DecoderOptions::ctc_expand`] accepted.
pub const MAX_CTC_EXPAND: usize = 8;

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
    /// CTC prefix beam search over a CTC head: the network's
    /// [`join`](TransducerNet::join) must ignore the prediction output (the "encoder frames" are
    /// then CTC logits or the CTC head's input); a label repeated on consecutive frames is one
    /// token, a blank between two equal labels makes two. Prefixes that end in blank and in
    /// a label are kept apart and merged by log-sum-exp when they meet again.
    CtcPrefixBeam {
        /// Number of prefixes kept (≥ 1).
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
    /// Token-level hotword biasing graph, if any (shared between streams). With
    /// [`words`](Self::words), hotwords live in the [`WordGraph`] instead.
    pub hotwords: Option<Arc<ContextGraph>>,
    /// Word-level search: tokens constrained to a lexicon, a word LM applied at word ends,
    /// word hotwords (shared between streams). `None`: free token search.
    pub words: Option<Arc<WordGraph>>,
    /// With an LM, how many best tokens per hypothesis (by acoustic + hotword score) are
    /// rescored by the LM before pruning; at least the beam size is always used.
    pub lm_candidates: usize,
    /// Subtracted from the blank's logit before the log-softmax of every frame (sherpa-onnx's
    /// `blank_penalty`): a positive value makes the search emit more tokens, the remedy for a
    /// network that deletes words. 0 leaves the network's distribution unchanged.
    pub blank_penalty: f32,
    /// CTC rescoring (modified beam search over a network whose frames carry CTC logits,
    /// [`TransducerNet::has_ctc_logits`]): the final choice adds this × the CTC head's
    /// log-likelihood of each hypothesis's tokens over the segment's frames (within the
    /// bounds of [`CTC_WINDOW`](crate::CTC_WINDOW) and [`CTC_MAX_LABELS`](crate::CTC_MAX_LABELS)).
    /// With [`ctc_expand`](Self::ctc_expand) > 1 the same term also decides which hypotheses
    /// the beam keeps, and partial results are chosen with it as the final one is. 0: off.
    pub ctc_weight: f32,
    /// CTC scoring inside the search (with `ctc_weight` > 0): every frame, the best
    /// `ctc_expand × beam` extensions by the transducer's score are made, then the `beam` best by
    /// transducer + `ctc_weight` × CTC log-likelihood (over the frames so far) are kept. The CTC
    /// head then rescues paths the transducer alone would have pruned, not only reorders the
    /// final beam. 1: the CTC term is used in the final choice only. Must be ≥ 1.
    pub ctc_expand: usize,
    /// Final results also list up to this many alternative texts in
    /// [`Transcript::alternatives`] (distinct texts of the final beam, each with the log-sum of
    /// its hypotheses' final scores, best first), as Vosk's `SetMaxAlternatives`. 0: none.
    pub alternatives: usize,
    /// Minimum-Bayes-risk final choice (beam search): among the beam's most likely distinct
    /// texts (words in word search, else tokens), the final result is the one with the least
    /// expected word (token) edit distance to the others, their posteriors being
    /// `softmax(mbr_scale × final score)`; it trades sentence probability for fewer expected
    /// word errors. Partial results stay the best path. 0: off, the best path's text.
    pub mbr_scale: f32,
    /// Modified beam search: hypotheses more than this (natural log) below the best, by the
    /// beam's own ranking, are dropped each frame, however many the beam could hold.
    /// Infinite: off (the beam size alone bounds the search).
    pub score_beam: f32,
}

impl Default for DecoderOptions {
    fn default() -> Self {
        Self {
            method: SearchMethod::ModifiedBeam { beam: 4 },
            frame_duration: 0.04,
            hotwords: None,
            words: None,
            lm_candidates: 8,
            blank_penalty: 0.0,
            ctc_weight: 0.0,
            ctc_expand: 1,
            alternatives: 0,
            mbr_scale: 0.0,
            score_beam: f32::INFINITY,
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
    /// search) + hotword bonuses + LM weight × LM log-probabilities (in a finished result,
    /// also the CTC rescoring term).
    pub score: f32,
    /// With CTC rescoring: the CTC head's log-likelihood of the tokens over the segment's
    /// frames so far ([`DecoderOptions::ctc_weight`]); `None` without.
    pub ctc_logprob: Option<f32>,
}

impl Hypothesis {
    /// The token ids.
    pub fn ids(&self) -> Vec<usize> {
        self.tokens.iter().map(|t| t.id).collect()
    }
}

/// Streaming transducer decoder.
///
/// Feed encoder frames with [`accept_frames`](Self::accept_frames) as they arrive, read the
/// current best result with [`partial`](Self::partial) at any time, [`finish`](Self::finish)
/// at the end of the utterance, check [`endpoint`](Self::endpoint) for sherpa-style
/// endpointing and [`reset`](Self::reset) to start a new segment. The result does not depend
/// on how the frames are batched. The network is passed to every call rather than held, so
/// a shared model can serve many decoders.
pub struct Decoder<N: TransducerNet, L: LanguageModel = NoLm> {
    scorer: Scorer<L>,
    hyps: Vec<Hyp<N::PredState, L::State>>,
    /// Frames decoded since the stream start, and at the last reset.
    frames: usize,
    segment_start: usize,
    enc_dim: usize,
    logits: Vec<f32>,
    /// CTC rescoring: the CTC head's last frames.
    ctc: Option<CtcFrames>,
    /// Work buffers and recycled allocations of the search (steady-state decoding allocates
    /// nothing).
    scratch: Scratch<N::PredState, L::State>,
}

impl<N: TransducerNet> Decoder<N, NoLm> {
    /// A decoder without token language model (a word LM comes with
    /// [`DecoderOptions::words`]).
    pub fn new(net: &N, opts: DecoderOptions) -> Result<Self, DecoderError> {
        Self::build(net, opts, Arc::new(NoLm), 0.0, false)
    }
}

impl<N: TransducerNet, L: LanguageModel> Decoder<N, L> {
    /// A decoder with token-level LM shallow fusion: `weight * lm_logprob` is added per token.
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
        if opts.words.is_some() {
            return Err(DecoderError::InvalidOption(
                "a token LM cannot be combined with the word-level search (its word LM applies)"
                    .into(),
            ));
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
            SearchMethod::Greedy {
                max_symbols_per_frame: m,
            } if m > MAX_BEAM => {
                return bad(format!("max_symbols_per_frame {m} is above {MAX_BEAM}"))
            }
            SearchMethod::ModifiedBeam { beam: 0 } | SearchMethod::CtcPrefixBeam { beam: 0 } => {
                return bad("beam must be ≥ 1".into())
            }
            SearchMethod::ModifiedBeam { beam } | SearchMethod::CtcPrefixBeam { beam }
                if beam > MAX_BEAM =>
            {
                return bad(format!("beam {beam} is above the maximum of {MAX_BEAM}"))
            }
            _ => {}
        }
        if !(opts.frame_duration.is_finite() && opts.frame_duration > 0.0) {
            return bad(format!(
                "frame_duration {} must be a positive number of seconds",
                opts.frame_duration
            ));
        }
        if !opts.blank_penalty.is_finite() {
            return bad(format!(
                "blank_penalty {} must be a finite number",
                opts.blank_penalty
            ));
        }
        if !(opts.ctc_weight.is_finite() && opts.ctc_weight >= 0.0) {
            return bad(format!(
                "ctc_weight {} must be a finite number ≥ 0",
                opts.ctc_weight
            ));
        }
        if !(opts.mbr_scale.is_finite() && opts.mbr_scale >= 0.0) {
            return bad(format!(
                "mbr_scale {} must be a finite number ≥ 0",
                opts.mbr_scale
            ));
        }
        if opts.score_beam.is_nan() || opts.score_beam <= 0.0 {
            return bad(format!(
                "score_beam {} must be a number > 0 (infinity: off)",
                opts.score_beam
            ));
        }
        if opts.ctc_expand == 0 || opts.ctc_expand > MAX_CTC_EXPAND {
            return bad(format!(
                "ctc_expand {} must be between 1 and {MAX_CTC_EXPAND}",
                opts.ctc_expand
            ));
        }
        let rescore = opts.ctc_weight > 0.0;
        if rescore && !matches!(opts.method, SearchMethod::ModifiedBeam { .. }) {
            return bad("CTC rescoring (ctc_weight > 0) needs modified beam search".into());
        }
        if rescore && !net.has_ctc_logits() {
            return bad("CTC rescoring (ctc_weight > 0) needs a network with a CTC head".into());
        }
        let (vocab_size, blank) = (net.vocab_size(), net.blank_id());
        if blank >= vocab_size {
            return bad(format!(
                "blank id {blank} outside vocabulary of {vocab_size}"
            ));
        }
        if let Some(g) = &opts.hotwords {
            if opts.words.is_some() {
                return bad("with the word-level search, hotwords belong to the word graph".into());
            }
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
        if let Some(w) = &opts.words {
            let tree = w.tree();
            let unit_ok = |u: usize| u < vocab_size && u != blank;
            if let Some(&u) = tree.units().iter().find(|&&u| !unit_ok(u as usize)) {
                return bad(format!(
                    "lexicon unit {u} is blank or outside the model's vocabulary of {vocab_size}"
                ));
            }
            if let Some((b, _)) = w.lodr() {
                if b.vocab() != vocab_size {
                    return bad(format!(
                        "LODR token bigram over {} tokens, the model has {vocab_size}",
                        b.vocab()
                    ));
                }
            }
            if let Some(sp) = w.spelling() {
                let all = sp.start.iter().chain(&sp.cont).map(|&u| u as usize);
                if let Some(u) = all.into_iter().find(|&u| u >= vocab_size || u == blank) {
                    return bad(format!(
                        "spelling piece {u} is blank or outside the model's vocabulary of {vocab_size}"
                    ));
                }
            }
        }
        let mut d = Self {
            scorer: Scorer {
                opts,
                lm,
                lm_weight,
                use_lm,
                vocab_size,
                blank,
                ctc: rescore,
            },
            hyps: Vec::new(),
            frames: 0,
            segment_start: 0,
            enc_dim: net.encoder_dim(),
            logits: Vec::new(),
            ctc: rescore.then(|| CtcFrames::new(vocab_size, blank)),
            scratch: Scratch::default(),
        };
        d.reset(net);
        Ok(d)
    }

    /// The options this decoder runs with.
    pub fn options(&self) -> &DecoderOptions {
        &self.scorer.opts
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
        // The old segment's hypotheses go to the pool: the next segment reuses their history.
        for h in self.hyps.drain(..) {
            self.scratch.pool.recycle(h);
        }
        self.hyps
            .push(self.scorer.start(pred, &mut self.scratch.pool));
        if let Some(c) = &mut self.ctc {
            c.reset();
        }
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
            let (s, hyps, logits, ctc, sc) = (
                &self.scorer,
                &mut self.hyps,
                &mut self.logits,
                &mut self.ctc,
                &mut self.scratch,
            );
            match s.opts.method {
                SearchMethod::Greedy {
                    max_symbols_per_frame,
                } => crate::greedy::step(
                    s,
                    hyps,
                    net,
                    enc,
                    self.frames,
                    logits,
                    max_symbols_per_frame,
                    sc,
                )?,
                SearchMethod::ModifiedBeam { beam } => {
                    if let Some(c) = ctc.as_mut() {
                        let row = net.ctc_logits(enc).ok_or_else(|| {
                            DecoderError::InvalidOption(
                                "the network's frames carry no CTC logits".into(),
                            )
                        })?;
                        if row.len() != s.vocab_size || !c.push(row) {
                            return Err(DecoderError::NonFiniteLogits { frame: self.frames });
                        }
                    }
                    let ctc = ctc.as_ref();
                    crate::beam::step(s, hyps, net, enc, self.frames, logits, beam, ctc, sc)?
                }
                SearchMethod::CtcPrefixBeam { beam } => {
                    crate::ctc::step(s, hyps, net, enc, self.frames, logits, beam, &mut sc.pool)?
                }
            }
            self.frames += 1;
        }
        Ok(())
    }

    /// Per hypothesis, what its score lacks of its path's total: in CTC search a prefix may
    /// be held twice (ending in blank and in its label), and its probability is the sum of
    /// both. Zero for the transducer searches, whose beam holds each path once.
    fn path_bonus(&self) -> Vec<f32> {
        let mut bonus = vec![0.0; self.hyps.len()];
        if !matches!(self.scorer.opts.method, SearchMethod::CtcPrefixBeam { .. }) {
            return bonus;
        }
        for (i, h) in self.hyps.iter().enumerate() {
            for (j, o) in self.hyps.iter().enumerate() {
                if i != j && h.same_path(o) {
                    bonus[i] = log_add(h.score, o.score) - h.score;
                }
            }
        }
        bonus
    }

    fn best_index(&self) -> usize {
        // First maximum, so ties keep the earlier (better-ranked) hypothesis. With CTC scoring
        // in the search, the CTC term counts as it does for the beam and the final choice.
        let bonus = self.path_bonus();
        let in_search = self.scorer.opts.ctc_expand > 1;
        let key = |i: usize| {
            let h = &self.hyps[i];
            h.score + bonus[i] + if in_search { self.ctc_term(h) } else { 0.0 }
        };
        let mut best = 0;
        for i in 1..self.hyps.len() {
            if key(i) > key(best) {
                best = i;
            }
        }
        best
    }

    /// Index of the best hypothesis by final score, and its final word (word search).
    fn best_final(&self) -> (usize, f32, Option<u32>) {
        let bonus = self.path_bonus();
        let mut best = (0, f32::NEG_INFINITY, None);
        for (i, h) in self.hyps.iter().enumerate() {
            let (s, w) = self.scorer.final_score(h);
            let s = s + bonus[i] + self.ctc_term(h);
            if i == 0 || s > best.1 {
                best = (i, s, w);
            }
        }
        best
    }

    /// The hypothesis the final result comes from: the best by final score, or with
    /// [`DecoderOptions::mbr_scale`] the best-scored hypothesis of the minimum-Bayes-risk text.
    fn final_choice(&self) -> (usize, f32, Option<u32>) {
        let scale = self.scorer.opts.mbr_scale;
        if scale <= 0.0 || self.hyps.len() < 2 {
            return self.best_final();
        }
        let scored = self.final_scores();
        let (entries, at): (Vec<crate::mbr::Entry>, Vec<usize>) =
            Self::distinct(&scored, crate::mbr::EVIDENCE, |i, w| {
                self.units(&self.hyps[i], w)
            })
            .into_iter()
            .map(|(units, score, at)| (crate::mbr::Entry { score, units }, at))
            .unzip();
        let (s, i, w) = scored[at[crate::mbr::choose(&entries, scale)]];
        (i, s + self.path_bonus()[i], w)
    }

    /// Each hypothesis's final score (and final word), best first, without the CTC search's
    /// path bonus: a prefix held twice then counts once when equal results are summed.
    fn final_scores(&self) -> Vec<(f32, usize, Option<u32>)> {
        let mut scored: Vec<(f32, usize, Option<u32>)> = self
            .hyps
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let (s, w) = self.scorer.final_score(h);
                (s + self.ctc_term(h), i, w)
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored
    }

    /// The distinct results of `scored` by `key` (of a hypothesis and its final word),
    /// likeliest first: each with the log-sum of its hypotheses' scores and the place in
    /// `scored` of its best one. Keys first met after `n` others are left out, so these are
    /// the texts of the likeliest paths, summed.
    fn distinct<K: Eq + std::hash::Hash + Clone>(
        scored: &[(f32, usize, Option<u32>)],
        n: usize,
        mut key: impl FnMut(usize, Option<u32>) -> K,
    ) -> Vec<(K, f32, usize)> {
        let mut out: Vec<(K, f32, usize)> = Vec::new();
        let mut index: std::collections::HashMap<K, usize> = Default::default();
        for (at, &(s, i, w)) in scored.iter().enumerate() {
            let k = key(i, w);
            match index.get(&k) {
                Some(&e) => out[e].1 = log_add(out[e].1, s),
                None if out.len() < n => {
                    index.insert(k.clone(), out.len());
                    out.push((k, s, at));
                }
                None => {}
            }
        }
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        out
    }

    /// What the minimum-Bayes-risk choice compares: word ids in word search (a spelled word by
    /// a hash of its tokens), token ids otherwise. `last_word` finishes the word in progress.
    fn units(&self, h: &Hyp<N::PredState, L::State>, last_word: Option<u32>) -> Vec<u64> {
        let Some(pos) = &h.word else {
            return h.tokens.to_vec().iter().map(|t| t.id as u64).collect();
        };
        let items = pos.words.to_vec();
        let spelled = items.iter().any(|w| w.word == SPELLED) || last_word == Some(SPELLED);
        let tokens = if spelled {
            h.tokens.to_vec()
        } else {
            Vec::new()
        };
        let mut next = 0usize;
        let mut unit = |w: u32, n: u32| {
            let span = next.min(tokens.len())..(next + n as usize).min(tokens.len());
            next += n as usize;
            if w != SPELLED {
                return u64::from(w);
            }
            // FNV-1a over the token ids, top bit set so it cannot equal a word id.
            let hash = tokens[span].iter().fold(0xcbf2_9ce4_8422_2325u64, |h, t| {
                (h ^ t.id as u64).wrapping_mul(0x0000_0100_0000_01b3)
            });
            hash | 1 << 63
        };
        let mut out: Vec<u64> = items.iter().map(|w| unit(w.word, w.tokens)).collect();
        if let (Some(w), true) = (last_word, pos.tokens > 0) {
            out.push(unit(w, pos.tokens));
        }
        out
    }

    /// CTC rescoring's term of the final score: weight × the CTC log-likelihood.
    fn ctc_term(&self, h: &Hyp<N::PredState, L::State>) -> f32 {
        h.ctc
            .as_deref()
            .map_or(0.0, |t| self.scorer.opts.ctc_weight * t.log_likelihood())
    }

    /// The current best hypothesis (hotword bonuses of unfinished matches included).
    pub fn partial_hypothesis(&self) -> Hypothesis {
        let h = &self.hyps[self.best_index()];
        Hypothesis {
            tokens: h.tokens.to_vec(),
            score: h.score,
            ctc_logprob: h.ctc.as_deref().map(CtcTrack::log_likelihood),
        }
    }

    /// All live hypotheses (the beam; one for greedy search), best first, with their
    /// current scores.
    pub fn hypotheses(&self) -> Vec<Hypothesis> {
        let mut all: Vec<Hypothesis> = self
            .hyps
            .iter()
            .map(|h| Hypothesis {
                tokens: h.tokens.to_vec(),
                score: h.score,
                ctc_logprob: h.ctc.as_deref().map(CtcTrack::log_likelihood),
            })
            .collect();
        all.sort_by(|a, b| b.score.total_cmp(&a.score));
        all
    }

    /// The best hypothesis at the end of the utterance: unfinished hotword matches lose their
    /// tentative bonus and the LM's final score is added before choosing (word search: the
    /// word in progress is finished, best homophone first). Does not change the decoder;
    /// call [`reset`](Self::reset) to go on with a new segment.
    pub fn finish_hypothesis(&self) -> Hypothesis {
        let (i, score, _) = self.final_choice();
        let h = &self.hyps[i];
        Hypothesis {
            tokens: h.tokens.to_vec(),
            score,
            ctc_logprob: h.ctc.as_deref().map(CtcTrack::log_likelihood),
        }
    }

    /// The current best result as text, words and timestamps (word search: the finished
    /// words plus the most likely word in progress).
    pub fn partial(&self, vocab: &Vocab) -> Transcript {
        let h = &self.hyps[self.best_index()];
        self.transcript(h, self.scorer.word_in_progress(h), vocab)
    }

    /// The final result of the segment (see [`finish_hypothesis`](Self::finish_hypothesis)).
    pub fn finish(&self, vocab: &Vocab) -> Transcript {
        let (i, _, w) = self.final_choice();
        let mut t = self.transcript(&self.hyps[i], w, vocab);
        if self.scorer.opts.alternatives > 0 {
            t.alternatives = self.alternatives(vocab, self.scorer.opts.alternatives);
        }
        t
    }

    /// The `n` most likely distinct texts of the final beam. Hypotheses that spell the same
    /// words (different tokens or timings) are one alternative whose score is the log-sum of
    /// theirs, so the first need not be the single best path's text.
    fn alternatives(&self, vocab: &Vocab, n: usize) -> Vec<Alternative> {
        Self::distinct(&self.final_scores(), n, |i, w| {
            self.transcript(&self.hyps[i], w, vocab).text
        })
        .into_iter()
        .map(|(text, score, _)| Alternative { text, score })
        .collect()
    }

    fn transcript(
        &self,
        h: &Hyp<N::PredState, L::State>,
        last_word: Option<u32>,
        vocab: &Vocab,
    ) -> Transcript {
        let tokens = h.tokens.to_vec();
        let fd = self.scorer.opts.frame_duration;
        let (Some(g), Some(pos)) = (&self.scorer.opts.words, &h.word) else {
            return Transcript::from_tokens(&tokens, vocab, fd);
        };
        let lex = g.tree().lexicon();
        let time = |frame: usize| (frame as f64 * fd as f64) as f32;
        // Every token of the word search belongs to one word, in order: a spelled word's
        // text is its own pieces.
        let mut next_token = 0usize;
        let mut word = |w: u32, first: usize, last: usize, logprob: f32, n: u32| {
            let span =
                &tokens[next_token.min(tokens.len())..(next_token + n as usize).min(tokens.len())];
            next_token += n as usize;
            let text = if w == SPELLED {
                span.iter()
                    .filter_map(|t| vocab.piece(t.id))
                    .collect::<String>()
                    .replace(WORD_START, "")
            } else {
                lex.word(w).to_string()
            };
            Word {
                word: text,
                start: time(first),
                end: time(last + 1),
                confidence: libm::expf(logprob / n.max(1) as f32),
            }
        };
        let mut words: Vec<Word> = pos
            .words
            .to_vec()
            .into_iter()
            .map(|w| word(w.word, w.first, w.last, w.logprob, w.tokens))
            .collect();
        if let (Some(w), true) = (last_word, pos.tokens > 0) {
            words.push(word(
                w,
                pos.first,
                h.tokens.last_frame(),
                pos.logprob,
                pos.tokens,
            ));
        }
        Transcript::from_words(words, &tokens, vocab, fd)
    }

    /// Whether an endpoint rule fires for the current best hypothesis; see [`EndpointConfig`].
    pub fn endpoint(&self, config: &EndpointConfig) -> Option<EndpointRule> {
        let h = &self.hyps[self.best_index()];
        config.detect(
            self.frames - self.segment_start,
            h.trailing_blanks,
            self.scorer.opts.frame_duration,
        )
    }
}
