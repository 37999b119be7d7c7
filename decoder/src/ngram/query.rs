//! Queries over the binary image: word lookup, the state-based score, perplexity.

use super::binary::{Layout, Sec};
use super::{LmState, NgramLm, WordId, MAX_ORDER, NO_EXTENSION, NO_UNK_LOG10};

/// Typed views of one trie level.
#[derive(Clone, Copy, Default)]
pub(crate) struct LevelView<'a> {
    pub words: &'a [u32],
    pub prob: &'a [f32],
    pub backoff: &'a [f32],
    pub child: &'a [u32],
}

/// Typed views of an image (all empty where a section is out of bounds, so nothing panics).
pub(crate) struct View<'a> {
    pub order: usize,
    pub unk: Option<u32>,
    pub word_offsets: &'a [u32],
    pub sorted_vocab: &'a [u32],
    pub uni_prob: &'a [f32],
    pub uni_backoff: &'a [f32],
    pub uni_child: &'a [u32],
    pub levels: [LevelView<'a>; MAX_ORDER - 1],
    pub word_bytes: &'a [u8],
}

/// `len` u32 (or f32) values at byte offset `off`, or an empty slice if out of bounds or
/// misaligned.
fn cast<T: Copy>(b: &[u8], s: Sec) -> &[T] {
    const { assert!(std::mem::size_of::<T>() == 4) };
    match s
        .len
        .checked_mul(4)
        .and_then(|n| b.get(s.off..s.off.checked_add(n)?))
    {
        Some(bytes) if (bytes.as_ptr() as usize).is_multiple_of(std::mem::align_of::<T>()) => {
            // SAFETY: in bounds, aligned, and T is u32 or f32 (4 bytes, every bit pattern valid).
            unsafe { std::slice::from_raw_parts(bytes.as_ptr() as *const T, s.len) }
        }
        _ => &[],
    }
}

impl<'a> View<'a> {
    pub fn new(b: &'a [u8], lay: &Layout) -> View<'a> {
        let mut levels = [LevelView::default(); MAX_ORDER - 1];
        for k in 2..=lay.order.min(MAX_ORDER) {
            let l = &lay.levels[k - 2];
            levels[k - 2] = LevelView {
                words: cast(b, l.words),
                prob: cast(b, l.prob),
                backoff: cast(b, l.backoff),
                child: cast(b, l.child),
            };
        }
        let wb = lay.word_bytes;
        View {
            order: lay.order,
            unk: lay.unk,
            word_offsets: cast(b, lay.word_offsets),
            sorted_vocab: cast(b, lay.sorted_vocab),
            uni_prob: cast(b, lay.uni_prob),
            uni_backoff: cast(b, lay.uni_backoff),
            uni_child: cast(b, lay.uni_child),
            levels,
            word_bytes: wb
                .off
                .checked_add(wb.len)
                .and_then(|e| b.get(wb.off..e))
                .unwrap_or(&[]),
        }
    }

    pub fn vocab(&self) -> usize {
        self.uni_prob.len()
    }

    pub fn word_bytes_of(&self, id: WordId) -> &'a [u8] {
        let i = id as usize;
        match (self.word_offsets.get(i), self.word_offsets.get(i + 1)) {
            (Some(&a), Some(&z)) => self.word_bytes.get(a as usize..z as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    pub fn word(&self, id: WordId) -> &'a str {
        std::str::from_utf8(self.word_bytes_of(id)).unwrap_or("")
    }

    pub fn word_id(&self, w: &str) -> Option<WordId> {
        let w = w.as_bytes();
        self.sorted_vocab
            .binary_search_by(|&id| self.word_bytes_of(id).cmp(w))
            .ok()
            .map(|i| self.sorted_vocab[i])
    }

    pub fn uni_bo(&self, w: WordId) -> f32 {
        self.uni_backoff.get(w as usize).copied().unwrap_or(0.0)
    }

    /// Children range of unigram `w` in level 2.
    #[inline]
    fn uni_range(&self, w: usize) -> (usize, usize) {
        match (self.uni_child.get(w), self.uni_child.get(w + 1)) {
            (Some(&a), Some(&z)) => (a as usize, z as usize),
            _ => (0, 0),
        }
    }

    #[inline]
    pub fn score(&self, state: &LmState, word: WordId) -> (f32, LmState) {
        let mut out = LmState::default();
        let w = if (word as usize) < self.vocab() {
            word
        } else {
            match self.unk {
                Some(u) => u,
                None => return (NO_UNK_LOG10, out),
            }
        };
        let wi = w as usize;
        let mut prob = self.uni_prob.get(wi).copied().unwrap_or(NO_UNK_LOG10);
        if self.order < 2 {
            return (prob, out);
        }
        let bo = self.uni_bo(w);
        out.words[0] = w;
        out.backoff[0] = bo.to_bits();
        let mut out_len = usize::from(bo.to_bits() != NO_EXTENSION);
        let ctx_len = state.len().min(self.order - 1);
        let (mut lo, mut hi) = self.uni_range(wi);
        let mut matched = 0;
        for k in 0..ctx_len {
            // Level k + 2 holds n-grams of order k + 2; its entries under the current node are
            // the words k + 1 positions before `word`.
            let lev = &self.levels[k];
            let h = state.words[k];
            let Some(slice) = lev.words.get(lo..hi) else {
                break;
            };
            let Ok(i) = slice.binary_search(&h) else {
                break;
            };
            let idx = lo + i;
            prob = lev.prob.get(idx).copied().unwrap_or(prob);
            matched = k + 1;
            if k + 2 < self.order {
                let bo = lev.backoff.get(idx).copied().unwrap_or(0.0);
                out.words[k + 1] = h;
                out.backoff[k + 1] = bo.to_bits();
                if bo.to_bits() != NO_EXTENSION {
                    out_len = k + 2;
                }
                match (lev.child.get(idx), lev.child.get(idx + 1)) {
                    (Some(&a), Some(&z)) => (lo, hi) = (a as usize, z as usize),
                    _ => break,
                }
            }
        }
        let mut score = prob;
        for j in matched..ctx_len {
            score += f32::from_bits(state.backoff[j]);
        }
        for j in out_len..MAX_ORDER - 1 {
            out.words[j] = 0;
            out.backoff[j] = 0;
        }
        out.len = out_len as u8;
        (score, out)
    }

    /// The stored (log10 p, log10 bo) of a forward n-gram.
    pub fn lookup(&self, ngram: &[WordId]) -> Option<(f32, f32)> {
        let (&last, ctx) = ngram.split_last()?;
        if ngram.len() > self.order {
            return None;
        }
        let wi = last as usize;
        let mut p = *self.uni_prob.get(wi)?;
        let mut b = self.uni_bo(last);
        let (mut lo, mut hi) = self.uni_range(wi);
        for (k, &h) in ctx.iter().rev().enumerate() {
            let lev = &self.levels[k];
            let i = lo + lev.words.get(lo..hi)?.binary_search(&h).ok()?;
            p = *lev.prob.get(i)?;
            b = lev.backoff.get(i).copied().unwrap_or(0.0);
            if k + 2 < self.order {
                (lo, hi) = (*lev.child.get(i)? as usize, *lev.child.get(i + 1)? as usize);
            }
        }
        Some((p, if b == 0.0 { 0.0 } else { b }))
    }
}

/// Perplexity of a text under a model, SRILM's convention (`ngram -ppl`).
#[derive(Clone, Copy, Debug, PartialEq, Default, serde::Serialize)]
pub struct Perplexity {
    /// Total log10 probability of the scored words and sentence ends.
    pub log10_prob: f64,
    /// Word tokens (including OOV ones; not counting `</s>`).
    pub words: usize,
    /// Out-of-vocabulary tokens: not scored, not in the denominator.
    pub oov: usize,
    /// Sentences (non-empty lines); each contributes a scored `</s>`.
    pub sentences: usize,
    /// `10^(−log10_prob / (words − oov + sentences))`.
    pub ppl: f64,
}

impl Perplexity {
    /// Adds another text's counts (perplexity recomputed).
    pub fn merge(&mut self, o: &Perplexity) {
        self.log10_prob += o.log10_prob;
        self.words += o.words;
        self.oov += o.oov;
        self.sentences += o.sentences;
        self.ppl = ppl_of(self.log10_prob, self.words - self.oov + self.sentences);
    }
}

fn ppl_of(log10_prob: f64, n: usize) -> f64 {
    if n == 0 {
        f64::NAN
    } else {
        10f64.powf(-log10_prob / n as f64)
    }
}

/// Perplexity of `sentences` (whitespace-tokenized, one sentence each) under `lm`, with SRILM's
/// convention: each sentence is scored from `<s>` and its `</s>` is scored; a word that is not
/// in the vocabulary (`word_id` is `None`) is counted as OOV, not scored and not counted in the
/// denominator, and the context restarts empty after it. Empty sentences are skipped, and so
/// are literal `<s>` / `</s>` tokens. `ppl = 10^(−Σ log10 p / (words − OOV + sentences))`.
pub fn perplexity<I: IntoIterator<Item = S>, S: AsRef<str>>(
    lm: &NgramLm,
    sentences: I,
) -> Perplexity {
    let mut r = Perplexity::default();
    for s in sentences {
        let mut state = lm.begin_state();
        let mut any = false;
        for tok in s.as_ref().split_whitespace() {
            if tok == super::BOS || tok == super::EOS {
                continue;
            }
            any = true;
            r.words += 1;
            match lm.word_id(tok) {
                Some(id) => {
                    let (p, next) = lm.score(&state, id);
                    r.log10_prob += p as f64;
                    state = next;
                }
                None => {
                    r.oov += 1;
                    state = lm.null_state();
                }
            }
        }
        if any {
            r.sentences += 1;
            r.log10_prob += lm.end_score(&state) as f64;
        }
    }
    r.ppl = ppl_of(r.log10_prob, r.words - r.oov + r.sentences);
    r
}
