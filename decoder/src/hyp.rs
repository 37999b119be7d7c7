//! Hypotheses, their extensions, and the scorer that owns extension, hotword and LM scoring.
//! Greedy and beam search take a [`Scorer`] and a hypothesis list; they never see the
//! [`Decoder`](crate::Decoder) itself (so the decoder's modules form no import cycle).

use crate::ctc_track::{CtcFrames, CtcTrack};
use crate::lexicon::ROOT;
use crate::ngram::LmState;
use crate::words::{WordGraph, FREE, SPELLED};
use crate::{
    log_softmax, ContextGraph, ContextState, DecoderError, DecoderOptions, LanguageModel, Token,
    TransducerNet,
};
use std::sync::Arc;

/// A persistent singly-linked list: extending a hypothesis shares its parent's history
/// instead of copying it, so a frame costs O(beam), not O(beam × history).
#[derive(Debug)]
pub(crate) struct Chain<T> {
    last: Option<Arc<Link<T>>>,
    len: usize,
}

#[derive(Debug)]
pub(crate) struct Link<T> {
    item: T,
    parent: Option<Arc<Link<T>>>,
}

impl<T> Drop for Link<T> {
    // Iterative, so dropping an hour-long history cannot overflow the stack.
    fn drop(&mut self) {
        let mut next = self.parent.take();
        while let Some(link) = next {
            match Arc::try_unwrap(link) {
                Ok(mut l) => next = l.parent.take(),
                Err(_) => break,
            }
        }
    }
}

impl<T> Clone for Chain<T> {
    fn clone(&self) -> Self {
        Self {
            last: self.last.clone(),
            len: self.len,
        }
    }
}

impl<T> Default for Chain<T> {
    fn default() -> Self {
        Self { last: None, len: 0 }
    }
}

impl<T: Clone> Chain<T> {
    pub fn push(&self, item: T) -> Self {
        Self {
            last: Some(Arc::new(Link {
                item,
                parent: self.last.clone(),
            })),
            len: self.len + 1,
        }
    }

    /// [`push`](Self::push) reusing a link from `pool` (see [`recycle`](Self::recycle)) when
    /// there is one, so a search in steady state does not allocate its history.
    pub fn push_pooled(&self, item: T, pool: &mut Vec<Arc<Link<T>>>) -> Self {
        let parent = self.last.clone();
        let link = match pool.pop() {
            Some(mut l) => {
                let slot = Arc::get_mut(&mut l).expect("pooled links are unshared");
                slot.item = item;
                slot.parent = parent;
                l
            }
            None => Arc::new(Link { item, parent }),
        };
        Self {
            last: Some(link),
            len: self.len + 1,
        }
    }

    /// Drop this chain, keeping the links that nothing else shares in `pool` for
    /// [`push_pooled`](Self::push_pooled).
    pub fn recycle(mut self, pool: &mut Vec<Arc<Link<T>>>) {
        let mut next = self.last.take();
        while let Some(mut l) = next {
            match Arc::get_mut(&mut l) {
                Some(link) => {
                    next = link.parent.take();
                    pool.push(l);
                }
                None => break,
            }
        }
    }

    /// Items, oldest first.
    pub fn to_vec(&self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len);
        let mut cur = self.last.as_deref();
        while let Some(l) = cur {
            out.push(l.item.clone());
            cur = l.parent.as_deref();
        }
        out.reverse();
        out
    }

    /// Whether both chains hold equal items by `eq`; stops at the first shared link.
    pub fn same(&self, other: &Self, eq: impl Fn(&T, &T) -> bool) -> bool {
        if self.len != other.len {
            return false;
        }
        let (mut a, mut b) = (self.last.as_ref(), other.last.as_ref());
        while let (Some(x), Some(y)) = (a, b) {
            if Arc::ptr_eq(x, y) {
                return true;
            }
            if !eq(&x.item, &y.item) {
                return false;
            }
            (a, b) = (x.parent.as_ref(), y.parent.as_ref());
        }
        true
    }
}

/// A finished word of the word-level search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct WordItem {
    /// Lexicon word id.
    pub word: u32,
    /// Frames of its first and last token.
    pub first: usize,
    pub last: usize,
    /// Sum of its tokens' acoustic log-probabilities and their number.
    pub logprob: f32,
    pub tokens: u32,
}

/// Where a hypothesis stands in the lexicon (word-level search only).
#[derive(Debug, Clone)]
pub(crate) struct WordPos {
    /// Lexicon tree node ([`ROOT`] between words).
    pub node: u32,
    /// Word LM state after the finished words.
    pub lm: Option<LmState>,
    /// The weighted look-ahead currently included in the score (replaced by the real LM
    /// score when the word ends).
    pub la: f32,
    pub words: Chain<WordItem>,
    /// The word in progress: first frame, sum of log-probs, number of tokens.
    pub first: usize,
    pub logprob: f32,
    pub tokens: u32,
}

/// A search hypothesis with its network, hotword and LM states.
pub(crate) struct Hyp<P, S> {
    pub tokens: Chain<Token>,
    /// Rolling hash of the token ids (and, in word search, of the word ends), to find merge
    /// candidates quickly.
    pub key: u64,
    pub score: f32,
    /// Prediction state and output, shared by hypotheses that only differ by blanks.
    pub pred: Arc<(P, Vec<f32>)>,
    /// Hotword state (over tokens, or over words in word search).
    pub ctx: ContextState,
    /// Token-LM state.
    pub lm: S,
    /// Frames since the last emission (or since the segment start).
    pub trailing_blanks: usize,
    pub word: Option<WordPos>,
    /// CTC search: the previous frame's label was the last token (so the same label on this
    /// frame continues it instead of starting a new token).
    pub ctc_open: bool,
    /// CTC rescoring: the CTC forward variables of the tokens (boxed: pooled, and moved
    /// cheaply with the hypothesis).
    pub ctc: Option<Box<CtcTrack>>,
}

impl<P, S: Clone> Hyp<P, S> {
    /// A copy without the CTC track (which the caller fills from its pool).
    fn clone_without_ctc(&self) -> Self {
        Self {
            tokens: self.tokens.clone(),
            key: self.key,
            score: self.score,
            pred: Arc::clone(&self.pred),
            ctx: self.ctx,
            lm: self.lm.clone(),
            trailing_blanks: self.trailing_blanks,
            word: self.word.clone(),
            ctc_open: self.ctc_open,
            ctc: None,
        }
    }
}

impl<P, S> Hyp<P, S> {
    /// Whether two hypotheses are the same path (same tokens, same word segmentation), so
    /// beam search may merge them.
    pub fn same_path(&self, other: &Self) -> bool {
        if self.key != other.key || !self.tokens.same(&other.tokens, |a, b| a.id == b.id) {
            return false;
        }
        match (&self.word, &other.word) {
            (Some(a), Some(b)) => {
                a.node == b.node && a.words.same(&b.words, |x, y| x.word == y.word)
            }
            (None, None) => true,
            _ => false,
        }
    }
}

/// Allocations the search recycles instead of freeing: prediction slots and history links of
/// dropped hypotheses, and the top-k buffer of candidate selection. After a warm-up the pools
/// hold as many as the search ever needs at once, and steady-state decoding allocates nothing.
pub(crate) struct Pool<P> {
    preds: Vec<Arc<(P, Vec<f32>)>>,
    links: Vec<Arc<Link<Token>>>,
    top: Vec<(f32, usize, u32, ())>,
    /// The word search's top-k buffer.
    word_top: Vec<(f32, usize, u32, WordMove)>,
    /// Boxed on purpose: a hypothesis holds its track in a box, so recycling moves the box.
    #[allow(clippy::vec_box)]
    ctc: Vec<Box<CtcTrack>>,
}

impl<P> Default for Pool<P> {
    fn default() -> Self {
        Self {
            preds: Vec::new(),
            links: Vec::new(),
            top: Vec::new(),
            word_top: Vec::new(),
            ctc: Vec::new(),
        }
    }
}

impl<P> Pool<P> {
    /// Drop a hypothesis, keeping its unshared prediction slot and history links.
    pub fn recycle<S>(&mut self, h: Hyp<P, S>) {
        self.recycle_pred(h.pred);
        h.tokens.recycle(&mut self.links);
        if let Some(t) = h.ctc {
            self.ctc.push(t);
        }
    }

    /// A CTC track from the pool (contents unspecified) or a new one.
    pub(crate) fn ctc_track(&mut self) -> Box<CtcTrack> {
        self.ctc
            .pop()
            .unwrap_or_else(|| Box::new(CtcTrack::start()))
    }

    /// Return a CTC track to the pool.
    pub(crate) fn recycle_ctc(&mut self, t: Box<CtcTrack>) {
        self.ctc.push(t);
    }

    fn recycle_pred(&mut self, mut pred: Arc<(P, Vec<f32>)>) {
        if Arc::get_mut(&mut pred).is_some() {
            self.preds.push(pred);
        }
    }
}

pub(crate) fn extend_key(key: u64, token: usize) -> u64 {
    key.wrapping_mul(0x100_0000_01b3)
        .wrapping_add(token as u64 + 1)
}

/// Key contribution of a word end (kept apart from token ids).
fn word_key(key: u64, word: u32) -> u64 {
    extend_key(key ^ 0x9e37_79b9_7f4a_7c15, word as usize)
}

/// How a candidate moves a hypothesis through the lexicon.
#[derive(Debug, Clone)]
pub(crate) struct WordMove {
    /// Node after the token.
    pub node: u32,
    /// Weighted look-ahead at that node.
    pub la: f32,
    /// The word finished before the token started a new one: word id, LM state after it,
    /// hotword state after it.
    pub ended: Option<(u32, Option<LmState>, ContextState)>,
}

/// A scored extension of a hypothesis by one symbol.
#[derive(Debug, Clone)]
pub(crate) struct Candidate<S> {
    pub hyp: usize,
    pub token: usize,
    /// Total score after the extension.
    pub score: f32,
    pub logprob: f32,
    /// Hotword score change and state after the token (token-level hotwords).
    pub ctx: Option<(f32, ContextState)>,
    /// Token-LM state after the token.
    pub lm: Option<S>,
    pub word: Option<WordMove>,
    /// CTC search: the label repeats the open last token (no new token).
    pub stay: bool,
}

/// Keeps the best `k` (score, token, extra) entries: best first, ties to the lower token and
/// then the earlier push. A push is amortized O(1): entries collect unsorted until there are
/// 2k, then the best k are selected, and the k-th one's score turns away worse pushes (beam
/// search pushes a whole vocabulary per hypothesis, so large beams would otherwise spend
/// their time shifting a sorted list).
struct TopK<X> {
    k: usize,
    /// (score, token, push number, extra).
    items: Vec<(f32, usize, u32, X)>,
    floor: f32,
    pushed: u32,
}

/// Best first: higher score, then lower token, then earlier push (a total order).
fn top_order<X>(a: &(f32, usize, u32, X), b: &(f32, usize, u32, X)) -> std::cmp::Ordering {
    b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2))
}

impl<X> TopK<X> {
    /// Reuse `items`' allocation (cleared first); pushes scoring below `floor` are turned away
    /// from the start.
    fn with_buffer(k: usize, mut items: Vec<(f32, usize, u32, X)>, floor: f32) -> Self {
        items.clear();
        Self {
            k,
            items,
            floor,
            pushed: 0,
        }
    }

    fn push(&mut self, s: f32, t: usize, x: X) {
        if s < self.floor || self.k == 0 {
            return;
        }
        self.items.push((s, t, self.pushed, x));
        self.pushed += 1;
        if self.items.len() >= 2 * self.k {
            self.keep_best();
        }
    }

    fn keep_best(&mut self) {
        if self.items.len() > self.k {
            self.items.select_nth_unstable_by(self.k - 1, top_order);
            self.items.truncate(self.k);
            self.floor = self.items[self.k - 1].0;
        }
    }

    /// The best `k`, best first.
    fn into_sorted(mut self) -> Vec<(f32, usize, u32, X)> {
        self.keep_best();
        self.items.sort_unstable_by(top_order);
        self.items
    }
}

/// Everything needed to score and extend hypotheses: options, token LM, word graph.
pub(crate) struct Scorer<L: LanguageModel> {
    pub opts: DecoderOptions,
    pub lm: Arc<L>,
    pub lm_weight: f32,
    pub use_lm: bool,
    pub vocab_size: usize,
    pub blank: usize,
    /// CTC rescoring is on: hypotheses carry CTC tracks.
    pub ctc: bool,
}

/// Score given to a hypothesis that ends inside a word (no word ends at its node): below any
/// complete one, but still ordered, so something is shown when nothing is complete.
const INCOMPLETE: f32 = -1.0e6;

impl<L: LanguageModel> Scorer<L> {
    fn hotwords(&self) -> Option<&ContextGraph> {
        self.opts.hotwords.as_deref()
    }

    fn words(&self) -> Option<&WordGraph> {
        self.opts.words.as_deref()
    }

    /// The hypothesis at the start of a segment.
    pub fn start<P>(&self, pred: Arc<(P, Vec<f32>)>, pool: &mut Pool<P>) -> Hyp<P, L::State> {
        let words = self.words();
        let ctx = match (words, self.hotwords()) {
            (Some(w), _) => w
                .hotwords
                .as_ref()
                .map_or(ContextState::default(), |g| g.root()),
            (None, Some(g)) => g.root(),
            (None, None) => ContextState::default(),
        };
        Hyp {
            tokens: Chain::default(),
            key: 0,
            score: 0.0,
            pred,
            ctx,
            lm: self.lm.start(),
            trailing_blanks: 0,
            word: words.map(|w| WordPos {
                node: ROOT,
                lm: w.lm_start(),
                la: 0.0,
                words: Chain::default(),
                first: 0,
                logprob: 0.0,
                tokens: 0,
            }),
            ctc_open: false,
            ctc: self.ctc.then(|| {
                let mut t = pool.ctc_track();
                t.restart();
                t
            }),
        }
    }

    /// Apply the blank penalty and log-softmax `logits` in place, erroring on a broken network.
    pub fn normalize(&self, logits: &mut [f32], frame: usize) -> Result<(), DecoderError> {
        if self.opts.blank_penalty != 0.0 {
            if let Some(b) = logits.get_mut(self.blank) {
                *b -= self.opts.blank_penalty;
            }
        }
        if log_softmax(logits) {
            Ok(())
        } else {
            Err(DecoderError::NonFiniteLogits { frame })
        }
    }

    /// The best `k` extensions of hypothesis `h` (index `hi`) given its log-probabilities
    /// `logp`, appended to `out` best first; ties go to the lower token id. Extensions whose
    /// score would be below `floor` are left out (beam search passes the beam-th best score
    /// seen so far this frame: nothing below it can survive, and not collecting and sorting
    /// those is most of the per-hypothesis cost at wide beams).
    #[allow(clippy::too_many_arguments)]
    pub fn candidates<P>(
        &self,
        hi: usize,
        h: &Hyp<P, L::State>,
        logp: &[f32],
        k: usize,
        floor: f32,
        out: &mut Vec<Candidate<L::State>>,
        pool: &mut Pool<P>,
    ) {
        match (self.words(), &h.word) {
            (Some(g), Some(pos)) => {
                self.word_candidates(g, hi, h, pos, logp, k, floor, out, &mut pool.word_top)
            }
            _ => self.token_candidates(hi, h, logp, k, floor, out, &mut pool.top),
        }
    }

    /// Token-level search: score = hyp score + logp + hotword delta (+ LM on the pre-selected
    /// tokens). Blank never changes the hotword or LM state.
    #[allow(clippy::too_many_arguments)]
    fn token_candidates<P>(
        &self,
        hi: usize,
        h: &Hyp<P, L::State>,
        logp: &[f32],
        k: usize,
        floor: f32,
        out: &mut Vec<Candidate<L::State>>,
        top_buf: &mut Vec<(f32, usize, u32, ())>,
    ) {
        let graph = self.hotwords();
        let default_delta = graph.map_or(0.0, |g| g.finalize(h.ctx));
        let k_pre = if self.use_lm {
            k.max(self.opts.lm_candidates)
        } else {
            k
        };
        // Scores here leave out `h.score`; the LM can only lower them, so the floor applies
        // before it.
        let mut top = TopK::with_buffer(k_pre, std::mem::take(top_buf), floor - h.score);
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
            top.push(lp + delta, t, ());
        }
        let start = out.len();
        let items = top.into_sorted();
        for &(s, t, _, ()) in &items {
            let mut c = Candidate {
                hyp: hi,
                token: t,
                score: h.score + s,
                logprob: logp[t],
                ctx: None,
                lm: None,
                word: None,
                stay: false,
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
        *top_buf = items;
        if self.use_lm {
            let new = &mut out[start..];
            new.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.token.cmp(&b.token)));
            out.truncate(start + k);
        }
    }

    /// Score of finishing the word in progress as lexicon word `w`: LM + bonus + hotword
    /// deltas relative to the current score (the look-ahead is taken back), and the states.
    fn end_word<P>(
        &self,
        g: &WordGraph,
        h: &Hyp<P, L::State>,
        pos: &WordPos,
        w: u32,
    ) -> (f32, Option<LmState>, ContextState) {
        let (lm, st) = g.lm_word(pos.lm.as_ref(), w);
        // A spelled word is no hotword word: `forward` with an id outside the graph breaks
        // any match in progress.
        let (hw, ctx) = g
            .hotwords
            .as_ref()
            .map_or((0.0, h.ctx), |hg| hg.forward(h.ctx, w as usize));
        let penalty = match (w, &g.spelling) {
            (SPELLED, Some(sp)) => sp.penalty,
            _ => 0.0,
        };
        (lm + g.scoring.word_bonus + hw - penalty - pos.la, st, ctx)
    }

    /// Word-level search: tokens must follow the lexicon tree; a token that cannot continue
    /// the word in progress may start a new word if the current node ends a word (one
    /// candidate per homophone, each with its LM score).
    #[allow(clippy::too_many_arguments)]
    fn word_candidates<P>(
        &self,
        g: &WordGraph,
        hi: usize,
        h: &Hyp<P, L::State>,
        pos: &WordPos,
        logp: &[f32],
        k: usize,
        floor: f32,
        out: &mut Vec<Candidate<L::State>>,
        top_buf: &mut Vec<(f32, usize, u32, WordMove)>,
    ) {
        let tree = &g.tree;
        // LODR: each emitted token pays `weight × ln p_bigram(token | previous token)`; the
        // blank never does. Without it, `ilm` is the empty slice and nothing is subtracted.
        let (ilm, iw) = match &g.lodr {
            Some((b, w)) => (b.row(h.tokens.last().map_or(self.blank, |t| t.id)), *w),
            None => (&[][..], 0.0),
        };
        let lp = |u: u32| match ilm.get(u as usize) {
            Some(&l) => logp[u as usize] - iw * l,
            None => logp[u as usize],
        };
        let mut top: TopK<WordMove> = TopK::with_buffer(k, std::mem::take(top_buf), floor);
        top.push(
            h.score + logp[self.blank],
            self.blank,
            WordMove {
                node: pos.node,
                la: pos.la,
                ended: None,
            },
        );
        // Tokens that start a word after `base` (lexicon words, and spelled ones if allowed),
        // having finished `ended` first.
        let starts = |top: &mut TopK<WordMove>,
                      base: f32,
                      ended: Option<(u32, Option<LmState>, ContextState)>| {
            for &(u, c) in tree.children(ROOT) {
                let la = g.lookahead(c);
                top.push(
                    base + lp(u) + la,
                    u as usize,
                    WordMove { node: c, la, ended },
                );
            }
            if let Some(sp) = &g.spelling {
                for &u in &sp.start {
                    top.push(
                        base + lp(u) + g.spelled_la,
                        u as usize,
                        WordMove {
                            node: FREE,
                            la: g.spelled_la,
                            ended,
                        },
                    );
                }
            }
        };
        if pos.node == ROOT {
            starts(&mut top, h.score - pos.la, None);
        } else if pos.node == FREE {
            let sp = g.spelling.as_ref().expect("spelled words need a spelling");
            for &u in &sp.cont {
                top.push(
                    h.score + lp(u),
                    u as usize,
                    WordMove {
                        node: FREE,
                        la: pos.la,
                        ended: None,
                    },
                );
            }
            let (delta, lm, ctx) = self.end_word(g, h, pos, SPELLED);
            starts(&mut top, h.score + delta, Some((SPELLED, lm, ctx)));
        } else {
            for &(u, c) in tree.children(pos.node) {
                let la = g.lookahead(c);
                top.push(
                    h.score + lp(u) + la - pos.la,
                    u as usize,
                    WordMove {
                        node: c,
                        la,
                        ended: None,
                    },
                );
            }
            for &w in tree.words_at(pos.node) {
                let (delta, lm, ctx) = self.end_word(g, h, pos, w);
                starts(&mut top, h.score + delta, Some((w, lm, ctx)));
            }
        }
        let mut items = top.into_sorted();
        out.extend(items.drain(..).map(|(score, t, _, mv)| Candidate {
            hyp: hi,
            token: t,
            score,
            logprob: logp[t],
            ctx: None,
            lm: None,
            word: Some(mv),
            stay: false,
        }));
        // The emptied buffer keeps its allocation for the next hypothesis.
        *top_buf = items;
    }

    /// Apply a candidate to a copy of its hypothesis. The prediction network is stepped on
    /// an emitted token only if `step_pred` (beam search first merges, then steps the
    /// survivors with [`step_pred`](Self::step_pred)). With CTC rescoring, `ctc` holds the
    /// CTC head's frames up to this one, and the copy's CTC track advances by it; `advanced`,
    /// when given, is the parent's track already advanced by this frame (shared by all the
    /// parent's extensions).
    #[allow(clippy::too_many_arguments)]
    pub fn extend<N: TransducerNet>(
        &self,
        net: &N,
        parent: &Hyp<N::PredState, L::State>,
        c: Candidate<L::State>,
        frame: usize,
        step_pred: bool,
        ctc: Option<&CtcFrames>,
        advanced: Option<&CtcTrack>,
        pool: &mut Pool<N::PredState>,
    ) -> Hyp<N::PredState, L::State> {
        let mut h = parent.clone_without_ctc();
        if let (Some(track), Some(fr)) = (&parent.ctc, ctc) {
            let mut t = pool.ctc_track();
            match (advanced, c.token == self.blank) {
                (Some(a), true) => (*t).clone_from(a),
                (Some(a), false) => track.extend_from(a, c.token as u32, fr, &mut t),
                (None, true) => track.advance_into(fr, &mut t),
                (None, false) => track.extend_into(c.token as u32, fr, &mut t),
            }
            h.ctc = Some(t);
        }
        h.score = c.score;
        if c.token == self.blank {
            h.trailing_blanks += 1;
            h.ctc_open = false;
            return h;
        }
        h.ctc_open = true;
        if c.stay {
            h.trailing_blanks = 0;
            return h;
        }
        let token = Token {
            id: c.token,
            frame,
            logprob: c.logprob,
        };
        if let Some(mv) = c.word {
            let pos = h.word.as_mut().expect("word move on a word hypothesis");
            if let Some((w, lm, ctx)) = mv.ended {
                pos.words = pos.words.push(WordItem {
                    word: w,
                    first: pos.first,
                    last: h.tokens.last_frame(),
                    logprob: pos.logprob,
                    tokens: pos.tokens,
                });
                pos.lm = lm;
                h.ctx = ctx;
                h.key = word_key(h.key, w);
            }
            if pos.node == ROOT || mv.ended.is_some() {
                (pos.first, pos.logprob, pos.tokens) = (frame, 0.0, 0);
            }
            pos.node = mv.node;
            pos.la = mv.la;
            pos.logprob += c.logprob;
            pos.tokens += 1;
        }
        h.tokens = h.tokens.push_pooled(token, &mut pool.links);
        h.key = extend_key(h.key, c.token);
        if let Some((_, st)) = c.ctx {
            h.ctx = st;
        }
        if let Some(st) = c.lm {
            h.lm = st;
        }
        h.trailing_blanks = 0;
        if step_pred {
            self.step_pred(net, &mut h, pool);
        }
        h
    }

    /// Feed the hypothesis's last token to the prediction network (into a recycled slot from
    /// `pool` when there is one).
    pub fn step_pred<N: TransducerNet>(
        &self,
        net: &N,
        h: &mut Hyp<N::PredState, L::State>,
        pool: &mut Pool<N::PredState>,
    ) {
        let token = h.tokens.last().expect("a token was emitted").id;
        let mut slot = pool
            .preds
            .pop()
            .unwrap_or_else(|| Arc::new((h.pred.0.clone(), Vec::new())));
        let (state, out) = Arc::get_mut(&mut slot).expect("pooled slots are unshared");
        state.clone_from(&h.pred.0);
        net.pred_step(state, token, out);
        let old = std::mem::replace(&mut h.pred, slot);
        pool.recycle_pred(old);
    }

    /// Score of a hypothesis if the utterance ended now, and (word search) the word that the
    /// word in progress becomes: unfinished hotword matches lose their tentative bonus, the
    /// LM's end-of-sentence score is added; a hypothesis stuck inside a word ranks below all
    /// complete ones.
    pub fn final_score<P>(&self, h: &Hyp<P, L::State>) -> (f32, Option<u32>) {
        let (Some(g), Some(pos)) = (self.words(), &h.word) else {
            let ctx = self.hotwords().map_or(0.0, |g| g.finalize(h.ctx));
            let lm = if self.use_lm {
                self.lm_weight * self.lm.final_score(&h.lm)
            } else {
                0.0
            };
            return (h.score + ctx + lm, None);
        };
        let fin = |lm: Option<&LmState>, ctx: ContextState| {
            g.lm_end(lm) + g.hotwords.as_ref().map_or(0.0, |hg| hg.finalize(ctx))
        };
        if pos.node == ROOT {
            return (h.score + fin(pos.lm.as_ref(), h.ctx), None);
        }
        if pos.node == FREE {
            let (delta, lm, ctx) = self.end_word(g, h, pos, SPELLED);
            return (h.score + delta + fin(lm.as_ref(), ctx), Some(SPELLED));
        }
        let mut best: Option<(f32, u32)> = None;
        for &w in g.tree.words_at(pos.node) {
            let (delta, lm, ctx) = self.end_word(g, h, pos, w);
            let s = h.score + delta + fin(lm.as_ref(), ctx);
            if best.is_none_or(|(b, _)| s > b) {
                best = Some((s, w));
            }
        }
        match best {
            Some((s, w)) => (s, Some(w)),
            None => (h.score + INCOMPLETE, g.tree.best_word(pos.node)),
        }
    }

    /// The word in progress to show in a partial result: the likeliest word (in the LM
    /// context) ending at the current node, else the best word below it.
    pub fn word_in_progress<P>(&self, h: &Hyp<P, L::State>) -> Option<u32> {
        let (g, pos) = (self.words()?, h.word.as_ref()?);
        if pos.node == ROOT {
            return None;
        }
        if pos.node == FREE {
            return Some(SPELLED);
        }
        let tree = &g.tree;
        let mut best: Option<(f32, u32)> = None;
        for &w in tree.words_at(pos.node) {
            let s = g.lm_word(pos.lm.as_ref(), w).0;
            if best.is_none_or(|(b, _)| s > b) {
                best = Some((s, w));
            }
        }
        best.map(|(_, w)| w).or_else(|| tree.best_word(pos.node))
    }
}

impl<T> Chain<T> {
    /// The newest item.
    pub fn last(&self) -> Option<&T> {
        self.last.as_ref().map(|l| &l.item)
    }
}

impl Chain<Token> {
    /// Frame of the last token (0 if none).
    pub fn last_frame(&self) -> usize {
        self.last.as_ref().map_or(0, |l| l.item.frame)
    }
}
