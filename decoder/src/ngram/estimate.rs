//! Interpolated modified Kneser-Ney estimation (Chen & Goodman 1998; the conventions of KenLM's
//! `lmplz` and SRILM's `ngram-count -kndiscount -interpolate`), orders 1–5.
//!
//! * Sentences are whitespace-tokenized, tokens taken as they are; `<s>` and `</s>` are added
//!   (literal `<s>`/`</s>` tokens are dropped, empty sentences skipped). With a fixed
//!   vocabulary, other words become `<unk>`. `<unk>` is always in the model.
//! * Adjusted counts: the raw count for the highest order and for n-grams that start with
//!   `<s>`; otherwise the number of distinct words seen before the n-gram (continuation count).
//! * Discounts per order from the count-of-counts `t1..t4` of the adjusted counts:
//!   `Y = t1/(t1+2 t2)`, `D1 = 1−2Y t2/t1`, `D2 = 2−3Y t3/t2`, `D3+ = 3−4Y t4/t3`. When one is
//!   undefined or outside `(0, k]` the whole order uses the fallback (0.5, 1, 1.5) as
//!   `lmplz --discount_fallback` does.
//! * `p(w|h) = (a(hw) − D(a(hw)))/Σ_v a(hv) + γ(h) p(w|h')`,
//!   `γ(h) = (D1 N1(h·) + D2 N2(h·) + D3 N3+(h·))/Σ_v a(hv)`; unigrams interpolate with the
//!   uniform distribution over the vocabulary without `<s>`. `p(<s>) = 10^−99`.
//! * The ARPA backoff of a context is `γ(h)`. With count pruning (n-grams whose adjusted count
//!   is ≤ the order's threshold are dropped, except those that a kept longer n-gram needs as
//!   context or suffix), kept n-grams keep their probability and the backoff of a context that
//!   lost n-grams is renormalized: `bo(h) = (1 − Σ_kept p(w|h)) / (1 − Σ_kept p(w|h'))`, so
//!   every context still sums to one.
//! * Optionally Stolcke entropy pruning after that (SRILM's `ngram -prune θ`), highest order
//!   first, with the same renormalization. [`prune_tables`] applies the same pruning to a
//!   finished model (an ARPA or binary file, `NgramLm::prune_entropy`).
//!
//! Memory: word ids are integers and every n-gram is one packed `u128` key plus its count in
//! sorted vectors; text is counted in chunks that are sorted and merged, so memory grows with the
//! number of distinct n-grams, not with the text.

use std::collections::HashMap;
use std::io::BufRead;

use super::build::{self, OrderTable, Tables};
use super::{NgramError, NgramLm, WordId, BOS, EOS, MAX_ORDER, UNK};

/// Options of [`Estimator`].
#[derive(Clone, Debug)]
pub struct EstimateOptions {
    /// Order, 1–5.
    pub order: usize,
    /// Count thresholds per order (index 0 = unigrams, which are never pruned): n-grams whose
    /// adjusted count is ≤ the threshold are pruned. A shorter list repeats its last value;
    /// empty = no pruning.
    pub prune: Vec<u64>,
    /// Fixed vocabulary (other words become `<unk>`); `None` = every word of the text.
    pub vocab: Option<Vec<String>>,
    /// Discounts (D1, D2, D3+) used for an order whose count-of-counts give invalid ones.
    pub discount_fallback: [f64; 3],
    /// N-gram keys buffered before they are sorted and merged (bounds memory); at least 1024.
    pub chunk: usize,
    /// Stolcke entropy pruning threshold (SRILM `ngram -prune`): after count pruning, an
    /// n-gram is dropped when removing it raises the model's perplexity by less than this
    /// relative amount (e.g. `1e-8`); 0 = off.
    pub entropy_prune: f64,
}

impl EstimateOptions {
    /// Defaults for `order`: no pruning, open vocabulary.
    pub fn new(order: usize) -> Self {
        EstimateOptions {
            order,
            prune: Vec::new(),
            vocab: None,
            discount_fallback: [0.5, 1.0, 1.5],
            chunk: 1 << 24,
            entropy_prune: 0.0,
        }
    }

    /// The threshold of order `k` (1-based).
    pub fn threshold(&self, k: usize) -> u64 {
        if k <= 1 || self.prune.is_empty() {
            0
        } else {
            self.prune[(k - 1).min(self.prune.len() - 1)]
        }
    }
}

/// Statistics of one order.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct OrderStats {
    /// Distinct n-grams seen (unigrams: vocabulary size).
    pub ngrams: usize,
    /// N-grams in the model after pruning.
    pub kept: usize,
    /// Number of n-grams with adjusted count 1, 2, 3, 4.
    pub count_of_counts: [u64; 4],
    /// D1, D2, D3+.
    pub discounts: [f64; 3],
    /// Whether the discounts are the fallback.
    pub fallback: bool,
}

/// The result of an estimation.
pub struct Estimate {
    /// The model.
    pub lm: NgramLm,
    /// Per order (index 0 = unigrams).
    pub stats: Vec<OrderStats>,
    /// Word tokens read (not counting `<s>`/`</s>`).
    pub tokens: u64,
    /// Sentences read.
    pub sentences: u64,
    /// Tokens mapped to `<unk>` (fixed vocabulary).
    pub unk_tokens: u64,
    /// Adjusted counts per order (forward word ids), when [`Estimator::keep_counts`] was set.
    pub adjusted_counts: Option<Vec<NgramCounts>>,
}

/// N-grams (forward word ids) with their adjusted counts.
pub type NgramCounts = Vec<(Vec<WordId>, u64)>;

/// Sorted keys with counts.
#[derive(Default)]
struct Counted {
    keys: Vec<u128>,
    counts: Vec<u32>,
}

/// Sorts and run-length counts `keys`.
fn count_sorted(mut keys: Vec<u128>) -> Counted {
    keys.sort_unstable();
    let mut c = Counted::default();
    for k in keys {
        match c.keys.last() {
            Some(&last) if last == k => {
                let n = c.counts.last_mut().expect("parallel");
                *n = n.saturating_add(1);
            }
            _ => {
                c.keys.push(k);
                c.counts.push(1);
            }
        }
    }
    c.keys.shrink_to_fit();
    c.counts.shrink_to_fit();
    c
}

/// Merges two counted tables.
fn merge(a: Counted, b: Counted) -> Counted {
    if a.keys.is_empty() {
        return b;
    }
    let n = a.keys.len() + b.keys.len();
    let mut out = Counted {
        keys: Vec::with_capacity(n),
        counts: Vec::with_capacity(n),
    };
    let (mut i, mut j) = (0, 0);
    while i < a.keys.len() || j < b.keys.len() {
        if j == b.keys.len() || (i < a.keys.len() && a.keys[i] < b.keys[j]) {
            out.keys.push(a.keys[i]);
            out.counts.push(a.counts[i]);
            i += 1;
        } else if i == a.keys.len() || b.keys[j] < a.keys[i] {
            out.keys.push(b.keys[j]);
            out.counts.push(b.counts[j]);
            j += 1;
        } else {
            out.keys.push(a.keys[i]);
            out.counts.push(a.counts[i].saturating_add(b.counts[j]));
            i += 1;
            j += 1;
        }
    }
    out.keys.shrink_to_fit();
    out.counts.shrink_to_fit();
    out
}

const TAG_SHIFT: u32 = 125;

/// Streaming n-gram counter; [`Estimator::finish`] estimates the model.
pub struct Estimator {
    opts: EstimateOptions,
    ids: HashMap<String, WordId>,
    words: Vec<String>,
    fixed: bool,
    pending: Vec<u128>,
    table: Counted,
    sentence: Vec<WordId>,
    tokens: u64,
    sentences: u64,
    unk_tokens: u64,
    keep_counts: bool,
}

impl Estimator {
    /// A counter for `opts` (checked here).
    pub fn new(opts: EstimateOptions) -> Result<Self, NgramError> {
        if !(1..=MAX_ORDER).contains(&opts.order) {
            return Err(NgramError::BadOrder {
                file: "estimate".into(),
                order: opts.order,
                max: MAX_ORDER,
            });
        }
        if opts.prune.first().is_some_and(|&t| t != 0) {
            return Err(NgramError::Options(
                "unigrams cannot be pruned (the first threshold must be 0)".into(),
            ));
        }
        let f = opts.discount_fallback;
        if !(0..3).all(|i| f[i] > 0.0 && f[i] <= (i + 1) as f64) {
            return Err(NgramError::Options(format!(
                "fallback discounts {f:?} must lie in (0, 1], (0, 2], (0, 3]"
            )));
        }
        let mut e = Estimator {
            opts,
            ids: HashMap::new(),
            words: Vec::new(),
            fixed: false,
            pending: Vec::new(),
            table: Counted::default(),
            sentence: Vec::new(),
            tokens: 0,
            sentences: 0,
            unk_tokens: 0,
            keep_counts: false,
        };
        for w in [UNK, BOS, EOS] {
            e.intern(w);
        }
        if let Some(v) = e.opts.vocab.take() {
            for w in &v {
                if w != BOS && w != EOS {
                    e.intern(w);
                }
            }
            e.fixed = true;
        }
        if !(e.opts.entropy_prune >= 0.0 && e.opts.entropy_prune.is_finite()) {
            return Err(NgramError::Options(format!(
                "entropy pruning threshold {} must be a finite number >= 0",
                e.opts.entropy_prune
            )));
        }
        e.opts.chunk = e.opts.chunk.max(1024);
        Ok(e)
    }

    /// Also return the adjusted counts (for tests).
    pub fn keep_counts(&mut self, yes: bool) {
        self.keep_counts = yes;
    }

    fn intern(&mut self, w: &str) -> WordId {
        if let Some(&id) = self.ids.get(w) {
            return id;
        }
        let id = self.words.len() as WordId;
        self.ids.insert(w.to_string(), id);
        self.words.push(w.to_string());
        id
    }

    /// Word tokens read so far.
    pub fn tokens(&self) -> u64 {
        self.tokens
    }

    /// Counts one sentence.
    pub fn add_sentence(&mut self, line: &str) -> Result<(), NgramError> {
        let mut s = std::mem::take(&mut self.sentence);
        s.clear();
        s.push(1); // <s>
        for tok in line.split_whitespace() {
            if tok == BOS || tok == EOS {
                continue;
            }
            let id = match self.ids.get(tok) {
                Some(&id) => id,
                None if self.fixed => {
                    self.unk_tokens += 1;
                    0
                }
                None => {
                    if self.words.len() >= super::binary::MAX_VOCAB {
                        return Err(NgramError::VocabTooLarge {
                            file: "estimate".into(),
                            size: self.words.len() + 1,
                            max: super::binary::MAX_VOCAB,
                        });
                    }
                    self.intern(tok)
                }
            };
            if id == 0 && !self.fixed {
                // A literal <unk> in the text.
                self.unk_tokens += 1;
            }
            s.push(id);
        }
        if s.len() > 1 {
            s.push(2); // </s>
            self.tokens += (s.len() - 2) as u64;
            self.sentences += 1;
            let n = self.opts.order;
            let len = s.len();
            let tag = |k: usize| (k as u128) << TAG_SHIFT;
            if n >= 2 {
                for k in 1..n.min(len + 1) {
                    self.pending.push(tag(k) | build::pack(&s[..k]));
                }
            }
            if len >= n {
                for win in s.windows(n) {
                    self.pending.push(tag(n) | build::pack(win));
                }
            }
            if self.pending.len() >= self.opts.chunk {
                self.flush();
            }
        }
        self.sentence = s;
        Ok(())
    }

    /// Counts every line of a text; `name` for error messages.
    pub fn add_text<R: BufRead>(&mut self, mut r: R, name: &str) -> Result<(), NgramError> {
        let mut buf = Vec::new();
        let mut line = 0;
        loop {
            buf.clear();
            let n = r.read_until(b'\n', &mut buf).map_err(|e| NgramError::Io {
                file: name.into(),
                source: e,
            })?;
            if n == 0 {
                return Ok(());
            }
            line += 1;
            let s = std::str::from_utf8(&buf).map_err(|_| NgramError::NotUtf8 {
                file: name.into(),
                line,
            })?;
            self.add_sentence(s)?;
        }
    }

    fn flush(&mut self) {
        let keys = std::mem::take(&mut self.pending);
        let c = count_sorted(keys);
        let t = std::mem::take(&mut self.table);
        self.table = merge(t, c);
    }

    /// Estimates the model.
    pub fn finish(self) -> Result<Estimate, NgramError> {
        self.finish_with(&mut |_| {})
    }

    /// Estimates the model, reporting each step to `progress`.
    pub fn finish_with(mut self, progress: &mut dyn FnMut(&str)) -> Result<Estimate, NgramError> {
        self.flush();
        if self.tokens == 0 && self.sentences == 0 {
            return Err(NgramError::EmptyText);
        }
        let n = self.opts.order;
        let vocab = self.words.len();
        let bos = 1usize;
        let tab = std::mem::take(&mut self.table);
        let strip = |k: u128| k & ((1u128 << TAG_SHIFT) - 1);

        // Split by tag: raw n-grams of the top order, raw <s>-initial lower ones.
        let mut raw: Vec<Counted> = (0..=n).map(|_| Counted::default()).collect();
        for (key, c) in tab.keys.into_iter().zip(tab.counts) {
            let k = (key >> TAG_SHIFT) as usize;
            raw[k].keys.push(strip(key));
            raw[k].counts.push(c);
        }

        // Adjusted counts, top order down. `adj[k]` for k >= 2; unigrams dense.
        progress("adjusting counts");
        let mut adj: Vec<Counted> = (0..=n).map(|_| Counted::default()).collect();
        let mut uni = vec![0u64; vocab];
        if n == 1 {
            for (&key, &c) in raw[1].keys.iter().zip(&raw[1].counts) {
                uni[key as usize] += c as u64;
            }
        } else {
            adj[n] = std::mem::take(&mut raw[n]);
            for k in (1..n).rev() {
                let suffixes: Vec<u128> = adj[k + 1]
                    .keys
                    .iter()
                    .map(|&key| build::suffix(key, k + 1))
                    .collect();
                let cont = count_sorted(suffixes);
                let sraw = std::mem::take(&mut raw[k]);
                let merged = merge(cont, sraw);
                if k == 1 {
                    for (&key, &c) in merged.keys.iter().zip(&merged.counts) {
                        uni[key as usize] += c as u64;
                    }
                } else {
                    adj[k] = merged;
                }
            }
        }

        // Count-of-counts and discounts.
        let mut stats = Vec::with_capacity(n);
        let mut disc = vec![[0f64; 3]; n + 1];
        for k in 1..=n {
            let mut t = [0u64; 4];
            let mut bump = |a: u64| {
                if (1..=4).contains(&a) {
                    t[a as usize - 1] += 1;
                }
            };
            let ngrams = if k == 1 {
                for (w, &a) in uni.iter().enumerate() {
                    if w != bos {
                        bump(a);
                    }
                }
                vocab
            } else {
                adj[k].counts.iter().for_each(|&a| bump(a as u64));
                adj[k].keys.len()
            };
            let (d, fallback) = discounts(t, self.opts.discount_fallback);
            disc[k] = d;
            stats.push(OrderStats {
                ngrams,
                kept: ngrams,
                count_of_counts: t,
                discounts: d,
                fallback,
            });
        }
        let dof = |k: usize, a: u64| -> f64 {
            match a {
                0 => 0.0,
                1 => disc[k][0],
                2 => disc[k][1],
                _ => disc[k][2],
            }
        };

        // Unigram probabilities.
        progress("computing probabilities");
        let total: u64 = uni
            .iter()
            .enumerate()
            .filter(|&(w, _)| w != bos)
            .map(|(_, &a)| a)
            .sum();
        if total == 0 {
            return Err(NgramError::EmptyText);
        }
        let mass: f64 = uni
            .iter()
            .enumerate()
            .filter(|&(w, _)| w != bos)
            .map(|(_, &a)| dof(1, a))
            .sum();
        let gamma0 = mass / total as f64;
        let uniform = 1.0 / (vocab - 1) as f64;
        let mut p1: Vec<f64> = uni
            .iter()
            .map(|&a| (a as f64 - dof(1, a)) / total as f64 + gamma0 * uniform)
            .collect();
        p1[bos] = 0.0;

        // Higher orders: probabilities, and gamma of each context (stored on the context).
        let mut prob: Vec<Vec<f64>> = vec![Vec::new(); n + 1];
        let mut gamma: Vec<Vec<f64>> = vec![Vec::new(); n + 1];
        gamma[1] = vec![f64::NAN; vocab]; // NaN: not a context
        for k in 2..=n {
            gamma[k] = vec![f64::NAN; adj[k].keys.len()];
            let (keys, counts) = (&adj[k].keys, &adj[k].counts);
            let mut p = Vec::with_capacity(keys.len());
            let mut i = 0;
            while i < keys.len() {
                let h = build::prefix(keys[i]);
                let mut j = i;
                let (mut s, mut m) = (0f64, 0f64);
                while j < keys.len() && build::prefix(keys[j]) == h {
                    s += counts[j] as f64;
                    m += dof(k, counts[j] as u64);
                    j += 1;
                }
                let g = m / s;
                let hi = if k == 2 {
                    h as usize
                } else {
                    adj[k - 1].keys.binary_search(&h).unwrap_or(usize::MAX)
                };
                if let Some(slot) = gamma[k - 1].get_mut(hi) {
                    *slot = g;
                }
                for idx in i..j {
                    let a = counts[idx] as u64;
                    let sfx = build::suffix(keys[idx], k);
                    let lower = if k == 2 {
                        p1[sfx as usize]
                    } else {
                        adj[k - 1]
                            .keys
                            .binary_search(&sfx)
                            .map_or(0.0, |x| prob[k - 1][x])
                    };
                    p.push((a as f64 - dof(k, a)) / s + g * lower);
                }
                i = j;
            }
            prob[k] = p;
        }

        // Count pruning: kept flags, closed under context and suffix.
        let mut kept: Vec<Vec<bool>> = vec![Vec::new(); n + 1];
        for k in (2..=n).rev() {
            let t = self.opts.threshold(k);
            let mut kk: Vec<bool> = adj[k].counts.iter().map(|&a| a as u64 > t).collect();
            if k < n {
                // Needed by kept (k+1)-grams.
                let (upper_keys, upper_kept) = (&adj[k + 1].keys, &kept[k + 1]);
                for (x, &key) in upper_keys.iter().enumerate() {
                    if upper_kept[x] {
                        for sub in [build::prefix(key), build::suffix(key, k + 1)] {
                            if let Ok(y) = adj[k].keys.binary_search(&sub) {
                                kk[y] = true;
                            }
                        }
                    }
                }
            }
            kept[k] = kk;
        }

        // Backoffs: gamma, or renormalized where a context lost n-grams.
        progress("computing backoffs");
        let mut bo: Vec<Vec<f64>> = vec![Vec::new(); n + 1];
        bo[1] = gamma[1].clone();
        if n > 2 {
            bo[2..n].clone_from_slice(&gamma[2..n]);
        }
        for k in 2..=n {
            let keys = &adj[k].keys;
            let mut i = 0;
            while i < keys.len() {
                let h = build::prefix(keys[i]);
                let mut j = i;
                let (mut sp, mut sl, mut pruned) = (0f64, 0f64, false);
                while j < keys.len() && build::prefix(keys[j]) == h {
                    if kept[k][j] {
                        sp += prob[k][j];
                        let sfx = build::suffix(keys[j], k);
                        sl += if k == 2 {
                            p1[sfx as usize]
                        } else {
                            adj[k - 1]
                                .keys
                                .binary_search(&sfx)
                                .map_or(0.0, |x| prob[k - 1][x])
                        };
                    } else {
                        pruned = true;
                    }
                    j += 1;
                }
                if pruned {
                    let hi = if k == 2 {
                        h as usize
                    } else {
                        adj[k - 1].keys.binary_search(&h).unwrap_or(usize::MAX)
                    };
                    if let Some(slot) = bo[k - 1].get_mut(hi) {
                        *slot = backoff_of(sp, sl);
                    }
                }
                i = j;
            }
        }

        if self.opts.entropy_prune > 0.0 {
            progress("entropy pruning");
            let mut m = Model {
                n,
                bos: bos as WordId,
                keys: adj.iter().map(|c| &c.keys[..]).collect(),
                prob: &prob,
                p1: &p1,
                kept: &mut kept,
                bo: &mut bo,
            };
            m.entropy_prune(self.opts.entropy_prune);
        }

        // To forward tables (log10).
        progress("building the model");
        let (lg, lbo) = (log10_prob, log10_backoff);
        let mut uni_prob: Vec<f32> = p1.iter().map(|&x| lg(x)).collect();
        uni_prob[bos] = -99.0;
        let uni_backoff: Vec<f32> = bo[1].iter().map(|&x| lbo(x)).collect();
        let mut ngrams = Vec::with_capacity(n.saturating_sub(1));
        let mut adjusted_counts = self.keep_counts.then(|| {
            vec![uni
                .iter()
                .enumerate()
                .map(|(w, &a)| (vec![w as WordId], a))
                .collect::<Vec<_>>()]
        });
        for k in 2..=n {
            if let Some(ac) = adjusted_counts.as_mut() {
                ac.push(
                    adj[k]
                        .keys
                        .iter()
                        .zip(&adj[k].counts)
                        .map(|(&key, &a)| (build::unpack(key, k), a as u64))
                        .collect(),
                );
            }
            let mut t = OrderTable::default();
            for x in 0..adj[k].keys.len() {
                if kept[k][x] {
                    t.keys.push(adj[k].keys[x]);
                    t.prob.push(lg(prob[k][x]));
                    t.backoff.push(if k < n { lbo(bo[k][x]) } else { 0.0 });
                }
            }
            stats[k - 1].kept = t.keys.len();
            adj[k] = Counted::default();
            prob[k] = Vec::new();
            ngrams.push(t);
        }
        let tables = Tables {
            order: n,
            words: std::mem::take(&mut self.words),
            uni_prob,
            uni_backoff,
            ngrams,
        };
        let lm = build::build(tables, "estimated")?;
        Ok(Estimate {
            lm,
            stats,
            tokens: self.tokens,
            sentences: self.sentences,
            unk_tokens: self.unk_tokens,
            adjusted_counts,
        })
    }
}

/// Stolcke entropy pruning of a finished backoff model given as forward tables sorted by key
/// (SRILM `ngram -lm IN -prune θ -write-lm OUT`): the same pruning and renormalization as after
/// estimation, on the model's own probabilities. Unigrams are never pruned; backoffs of contexts
/// that lost nothing keep their stored values bit for bit.
pub(crate) fn prune_tables(t: Tables, threshold: f64, name: &str) -> Result<Tables, NgramError> {
    if !(threshold > 0.0 && threshold.is_finite()) {
        return Err(NgramError::Options(format!(
            "entropy pruning threshold {threshold} must be a finite number > 0"
        )));
    }
    let n = t.order;
    let bos = t
        .words
        .iter()
        .position(|w| w == BOS)
        .ok_or(NgramError::MissingMarker {
            file: name.into(),
            word: BOS,
        })? as WordId;
    let lin = |x: f32| 10f64.powf(x as f64);
    let p1: Vec<f64> = t.uni_prob.iter().map(|&x| lin(x)).collect();
    let empty: &[u128] = &[];
    let mut keys: Vec<&[u128]> = vec![empty, empty];
    let mut prob: Vec<Vec<f64>> = vec![Vec::new(), Vec::new()];
    let mut kept: Vec<Vec<bool>> = vec![Vec::new(), Vec::new()];
    let mut bo: Vec<Vec<f64>> = vec![Vec::new(), t.uni_backoff.iter().map(|&x| lin(x)).collect()];
    for tab in &t.ngrams[..n.saturating_sub(1)] {
        keys.push(&tab.keys);
        prob.push(tab.prob.iter().map(|&x| lin(x)).collect());
        kept.push(vec![true; tab.keys.len()]);
        bo.push(tab.backoff.iter().map(|&x| lin(x)).collect());
    }
    let before = bo.clone();
    let mut m = Model {
        n,
        bos,
        keys,
        prob: &prob,
        p1: &p1,
        kept: &mut kept,
        bo: &mut bo,
    };
    m.entropy_prune(threshold);
    // Renormalized backoffs in log10; the others as stored.
    let relog = |old: f32, b0: f64, b: f64| -> f32 {
        if b.to_bits() == b0.to_bits() {
            old
        } else {
            log10_prob(b)
        }
    };
    let uni_backoff = (t.uni_backoff.iter().zip(&before[1]).zip(&bo[1]))
        .map(|((&o, &b0), &b)| relog(o, b0, b))
        .collect();
    let mut ngrams = Vec::with_capacity(t.ngrams.len());
    for (i, tab) in t.ngrams[..n.saturating_sub(1)].iter().enumerate() {
        let k = i + 2;
        let mut out = OrderTable::default();
        for x in 0..tab.keys.len() {
            if kept[k][x] {
                out.keys.push(tab.keys[x]);
                out.prob.push(tab.prob[x]);
                out.backoff
                    .push(relog(tab.backoff[x], before[k][x], bo[k][x]));
            }
        }
        ngrams.push(out);
    }
    Ok(Tables {
        order: n,
        words: t.words,
        uni_prob: t.uni_prob,
        uni_backoff,
        ngrams,
    })
}

/// log10 of a linear probability, −99 for 0.
pub(crate) fn log10_prob(x: f64) -> f32 {
    if x > 0.0 {
        x.log10() as f32
    } else {
        -99.0
    }
}

/// log10 of a linear backoff; NaN (not a context) is 0.
pub(crate) fn log10_backoff(x: f64) -> f32 {
    if x.is_nan() {
        0.0
    } else {
        log10_prob(x)
    }
}

/// The backoff that makes a context sum to one: `(1 − Σ p(w|h)) / (1 − Σ p(w|h'))` over its listed
/// words (`sp`, `sq`), 1 where the lower order leaves no mass.
pub(crate) fn backoff_of(sp: f64, sq: f64) -> f64 {
    let (num, den) = ((1.0 - sp).max(0.0), 1.0 - sq);
    if den > 1e-12 {
        (num / den).max(1e-99)
    } else {
        1.0
    }
}

/// A backoff model in linear probabilities over sorted forward keys: for entropy pruning (of an
/// estimate or of a finished model) and for mixing models.
pub(crate) struct Model<'a> {
    pub n: usize,
    pub bos: WordId,
    /// `keys[k]`: n-grams of order k ≥ 2, sorted.
    pub keys: Vec<&'a [u128]>,
    pub prob: &'a [Vec<f64>],
    pub p1: &'a [f64],
    pub kept: &'a mut Vec<Vec<bool>>,
    /// Linear backoffs; NaN = not a context (1).
    pub bo: &'a mut Vec<Vec<f64>>,
}

impl Model<'_> {
    /// Index of a kept n-gram of order `k` ≥ 2.
    pub fn find(&self, k: usize, key: u128) -> Option<usize> {
        let i = self.keys[k].binary_search(&key).ok()?;
        self.kept[k][i].then_some(i)
    }

    /// Backoff of context `c` (1 when it is not a kept context).
    fn backoff(&self, c: &[WordId]) -> f64 {
        let b = match c.len() {
            0 => 1.0,
            1 => self.bo[1][c[0] as usize],
            k => self.find(k, build::pack(c)).map_or(1.0, |i| self.bo[k][i]),
        };
        if b.is_nan() {
            1.0
        } else {
            b
        }
    }

    /// p(w | ctx) under the current (pruned) model.
    pub fn p(&self, ctx: &[WordId], w: WordId) -> f64 {
        let ctx = &ctx[ctx.len().saturating_sub(self.n - 1)..];
        let mut acc = 1.0;
        let mut g: Vec<WordId> = Vec::with_capacity(ctx.len() + 1);
        for start in 0..=ctx.len() {
            let c = &ctx[start..];
            if c.is_empty() {
                return acc * self.p1[w as usize];
            }
            g.clear();
            g.extend_from_slice(c);
            g.push(w);
            if let Some(i) = self.find(g.len(), build::pack(&g)) {
                return acc * self.prob[g.len()][i];
            }
            acc *= self.backoff(c);
        }
        acc * self.p1[w as usize]
    }

    /// Σ p(w|h) and Σ p(w|h') over the kept order-`k` n-grams `i..j`, which share the context
    /// `h` (its words `hw`).
    fn kept_mass(&self, k: usize, i: usize, j: usize, hw: &[WordId]) -> (f64, f64) {
        let (mut sp, mut sq) = (0.0, 0.0);
        for x in i..j {
            if self.kept[k][x] {
                sp += self.prob[k][x];
                sq += self.p(&hw[1..], build::word_at(self.keys[k][x], k, k - 1));
            }
        }
        (sp, sq)
    }

    /// Sets the backoff of context `h` (packed, order `k` − 1), the prefix of the order-`k`
    /// n-grams `i..j`, so that the context sums to one over its kept n-grams. Reads only orders
    /// below `k` − 1, so a whole order can be done in one pass.
    pub fn renormalize(&mut self, k: usize, i: usize, j: usize, h: u128) {
        let (sp, sq) = self.kept_mass(k, i, j, &build::unpack(h, k - 1));
        let b = backoff_of(sp, sq);
        let slot = if k == 2 {
            self.bo[1].get_mut(h as usize)
        } else {
            let y = self.keys[k - 1].binary_search(&h).ok();
            y.and_then(|y| self.bo[k - 1].get_mut(y))
        };
        if let Some(s) = slot {
            *s = b;
        }
    }

    /// Probability of a history: p(h1) p(h2|h1) …, with p(<s>) = 1 at the start.
    fn history(&self, h: &[WordId]) -> f64 {
        let mut p = 1.0;
        for i in 0..h.len() {
            if i == 0 && h[0] == self.bos {
                continue;
            }
            p *= self.p(&h[..i], h[i]);
        }
        p
    }

    /// Stolcke (1998) pruning, highest order first: within each context, every n-gram that no
    /// kept longer n-gram needs is judged against the current model; those whose removal raises
    /// perplexity by less than `threshold` go, and the context's backoff is renormalized.
    fn entropy_prune(&mut self, threshold: f64) {
        for k in (2..=self.n).rev() {
            // N-grams a kept (k+1)-gram needs (as prefix or suffix) stay.
            let mut protected = vec![false; self.keys[k].len()];
            if k < self.n {
                for (x, &key) in self.keys[k + 1].iter().enumerate() {
                    if self.kept[k + 1][x] {
                        for sub in [build::prefix(key), build::suffix(key, k + 1)] {
                            if let Ok(y) = self.keys[k].binary_search(&sub) {
                                protected[y] = true;
                            }
                        }
                    }
                }
            }
            let keys = self.keys[k];
            let mut prune = Vec::new();
            let mut groups = Vec::new();
            let mut i = 0;
            while i < keys.len() {
                let h = build::prefix(keys[i]);
                let mut j = i;
                while j < keys.len() && build::prefix(keys[j]) == h {
                    j += 1;
                }
                let hw = build::unpack(h, k - 1);
                let lower = |x: usize| self.p(&hw[1..], build::word_at(keys[x], k, k - 1));
                let (sp, sq) = self.kept_mass(k, i, j, &hw);
                let (num, den) = ((1.0 - sp).max(0.0), 1.0 - sq);
                let candidates: Vec<usize> = (i..j)
                    .filter(|&x| self.kept[k][x] && !protected[x])
                    .collect();
                if !candidates.is_empty() && den > 1e-12 && num > 0.0 {
                    let bo = num / den;
                    let ph = self.history(&hw);
                    let before = prune.len();
                    for &x in &candidates {
                        let (p, q) = (self.prob[k][x], lower(x));
                        let bo2 = (num + p) / (den + q);
                        let dh = -ph
                            * (p * ((bo2 * q).log10() - p.log10())
                                + num * (bo2.log10() - bo.log10()));
                        if 10f64.powf(dh) - 1.0 < threshold {
                            prune.push(x);
                        }
                    }
                    if prune.len() > before {
                        groups.push((i, j, h));
                    }
                }
                i = j;
            }
            for &x in &prune {
                self.kept[k][x] = false;
            }
            // Renormalize the backoffs of the contexts that lost n-grams.
            for (i, j, h) in groups {
                self.renormalize(k, i, j, h);
            }
        }
    }
}

/// Modified Kneser-Ney discounts from count-of-counts, or the fallback.
pub fn discounts(t: [u64; 4], fallback: [f64; 3]) -> ([f64; 3], bool) {
    let [t1, t2, t3, t4] = t.map(|x| x as f64);
    if t1 > 0.0 && t2 > 0.0 && t3 > 0.0 {
        let y = t1 / (t1 + 2.0 * t2);
        let d = [
            1.0 - 2.0 * y * t2 / t1,
            2.0 - 3.0 * y * t3 / t2,
            3.0 - 4.0 * y * t4 / t3,
        ];
        if (0..3).all(|i| d[i].is_finite() && d[i] > 0.0 && d[i] <= (i + 1) as f64) {
            return (d, false);
        }
    }
    (fallback, true)
}

/// Estimates a model from sentences (one per item).
pub fn estimate<I: IntoIterator<Item = S>, S: AsRef<str>>(
    sentences: I,
    opts: &EstimateOptions,
) -> Result<Estimate, NgramError> {
    let mut e = Estimator::new(opts.clone())?;
    for s in sentences {
        e.add_sentence(s.as_ref())?;
    }
    e.finish()
}
