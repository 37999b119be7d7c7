//! From per-order n-gram tables (forward order, as in ARPA) to the binary image: fills in
//! missing context/suffix n-grams, marks which n-grams extend, builds the reversed trie.

use super::binary::{self, Image, Layout, HEADER_LEN, MAX_VOCAB};
use super::{NgramError, NgramLm, WordId, MAX_ORDER, NO_EXTENSION};

/// Bits per word id in a packed n-gram key.
pub(crate) const BITS: u32 = 25;
const MASK: u128 = (1 << BITS) - 1;

/// Packs words (forward order, first word most significant) into a key.
pub(crate) fn pack(ws: &[WordId]) -> u128 {
    ws.iter()
        .fold(0u128, |k, &w| (k << BITS) | (w as u128 & MASK))
}

/// The `i`-th word (0 = first) of a packed `k`-gram.
#[inline]
pub(crate) fn word_at(key: u128, k: usize, i: usize) -> WordId {
    ((key >> (BITS as usize * (k - 1 - i))) & MASK) as WordId
}

/// Unpacks a `k`-gram.
pub(crate) fn unpack(key: u128, k: usize) -> Vec<WordId> {
    (0..k).map(|i| word_at(key, k, i)).collect()
}

/// The same words in reverse order.
pub(crate) fn reverse(key: u128, k: usize) -> u128 {
    let mut r = 0u128;
    let mut key = key;
    for _ in 0..k {
        r = (r << BITS) | (key & MASK);
        key >>= BITS;
    }
    r
}

/// All but the first word of a `k`-gram.
#[inline]
pub(crate) fn suffix(key: u128, k: usize) -> u128 {
    key & ((1u128 << (BITS as usize * (k - 1))) - 1)
}

/// All but the last word.
#[inline]
pub(crate) fn prefix(key: u128) -> u128 {
    key >> BITS
}

/// N-grams of one order ≥ 2: packed forward keys, log10 probabilities and backoffs.
#[derive(Default, Debug, Clone)]
pub(crate) struct OrderTable {
    pub keys: Vec<u128>,
    pub prob: Vec<f32>,
    pub backoff: Vec<f32>,
    /// ARPA line of each n-gram (for duplicate reports); empty when not from ARPA.
    pub lines: Vec<u32>,
}

impl OrderTable {
    fn find(&self, key: u128) -> Option<usize> {
        self.keys.binary_search(&key).ok()
    }
}

/// A whole model in forward tables.
#[derive(Debug, Clone)]
pub(crate) struct Tables {
    pub order: usize,
    /// Vocabulary; id = index.
    pub words: Vec<String>,
    pub uni_prob: Vec<f32>,
    pub uni_backoff: Vec<f32>,
    /// `ngrams[k - 2]` for order k.
    pub ngrams: Vec<OrderTable>,
}

/// Sorts a table by key (keeping the parallel arrays), reporting duplicates.
fn sort_table(
    t: &mut OrderTable,
    k: usize,
    words: &[String],
    name: &str,
) -> Result<(), NgramError> {
    if !t.keys.windows(2).all(|w| w[0] < w[1]) {
        let mut perm: Vec<u32> = (0..t.keys.len() as u32).collect();
        perm.sort_unstable_by_key(|&i| (t.keys[i as usize], i));
        let apply = |v: &Vec<f32>| perm.iter().map(|&i| v[i as usize]).collect::<Vec<_>>();
        t.prob = apply(&t.prob);
        t.backoff = apply(&t.backoff);
        t.keys = perm.iter().map(|&i| t.keys[i as usize]).collect();
        if !t.lines.is_empty() {
            t.lines = perm.iter().map(|&i| t.lines[i as usize]).collect();
        }
    }
    if let Some(i) = t.keys.windows(2).position(|w| w[0] == w[1]) {
        let ngram = unpack(t.keys[i], k)
            .iter()
            .map(|&w| words.get(w as usize).map_or("?", |s| s.as_str()))
            .collect::<Vec<_>>()
            .join(" ");
        return Err(NgramError::ArpaDuplicate {
            file: name.into(),
            line: t.lines.get(i + 1).map_or(0, |&l| l as usize),
            order: k,
            ngram,
        });
    }
    Ok(())
}

/// Adds n-grams that a longer n-gram needs as its context (prefix) or as its suffix but the
/// tables lack (as SRILM-pruned ARPA files can), with the probability the model gives them by
/// backing off and a zero backoff, so that no query result changes (KenLM does the same).
fn fill_missing(t: &mut Tables) {
    let order = t.order;
    let mut inserted: Vec<Vec<u128>> = vec![Vec::new(); order + 1];
    for k in (3..=order).rev() {
        let (lower, upper) = t.ngrams.split_at_mut(k - 2);
        let lower = &mut lower[k - 3];
        let upper = &upper[0];
        let mut missing: Vec<u128> = Vec::new();
        for &key in &upper.keys {
            for sub in [prefix(key), suffix(key, k)] {
                if lower.find(sub).is_none() {
                    missing.push(sub);
                }
            }
        }
        if missing.is_empty() {
            continue;
        }
        missing.sort_unstable();
        missing.dedup();
        // Merge into the lower table, probabilities to be computed below (NaN for now).
        let n = lower.keys.len() + missing.len();
        let mut keys = Vec::with_capacity(n);
        let mut prob = Vec::with_capacity(n);
        let mut backoff = Vec::with_capacity(n);
        let (mut i, mut j) = (0, 0);
        while i < lower.keys.len() || j < missing.len() {
            if j == missing.len() || (i < lower.keys.len() && lower.keys[i] < missing[j]) {
                keys.push(lower.keys[i]);
                prob.push(lower.prob[i]);
                backoff.push(lower.backoff[i]);
                i += 1;
            } else {
                keys.push(missing[j]);
                prob.push(f32::NAN);
                backoff.push(0.0);
                j += 1;
            }
        }
        *lower = OrderTable {
            keys,
            prob,
            backoff,
            lines: Vec::new(),
        };
        inserted[k - 1] = missing;
    }
    // Probabilities of the inserted n-grams, lowest order first: bo(h) + p(w | h').
    for (k, missing) in inserted.iter().enumerate() {
        for &key in missing {
            let h = prefix(key);
            let bo = if k == 2 {
                t.uni_backoff[h as usize]
            } else {
                let lt = &t.ngrams[k - 3];
                lt.find(h).map_or(0.0, |i| lt.backoff[i])
            };
            let s = suffix(key, k);
            let lower = if k == 2 {
                t.uni_prob[s as usize]
            } else {
                let lt = &t.ngrams[k - 3];
                lt.find(s).map_or(f32::NAN, |i| lt.prob[i])
            };
            let tab = &mut t.ngrams[k - 2];
            if let Some(i) = tab.find(key) {
                tab.prob[i] = bo + lower;
            }
        }
    }
}

/// `has[i]`: some n-gram of the next order has n-gram `i` of `keys` as its context.
fn extended(keys_len: usize, key_of: impl Fn(usize) -> u128, next: &[u128]) -> Vec<bool> {
    let mut has = vec![false; keys_len];
    let mut i = 0;
    for &nk in next {
        let p = prefix(nk);
        while i < keys_len && key_of(i) < p {
            i += 1;
        }
        if i < keys_len && key_of(i) == p {
            has[i] = true;
        }
    }
    has
}

/// The stored backoff: `-0.0` (no extension) when zero and nothing extends the n-gram.
fn mark(bo: f32, extends: bool) -> f32 {
    if bo == 0.0 {
        if extends {
            0.0
        } else {
            f32::from_bits(NO_EXTENSION)
        }
    } else {
        bo
    }
}

/// Little-endian writer into the image.
struct Out<'a>(&'a mut [u8]);

impl Out<'_> {
    fn u32s(&mut self, off: usize, xs: impl IntoIterator<Item = u32>) {
        for (i, x) in xs.into_iter().enumerate() {
            self.0[off + 4 * i..off + 4 * i + 4].copy_from_slice(&x.to_le_bytes());
        }
    }
    fn f32s(&mut self, off: usize, xs: impl IntoIterator<Item = f32>) {
        self.u32s(off, xs.into_iter().map(f32::to_bits));
    }
}

/// Builds the model image from forward tables.
pub(crate) fn build(mut t: Tables, name: &str) -> Result<NgramLm, NgramError> {
    let order = t.order;
    if !(1..=MAX_ORDER).contains(&order) {
        return Err(NgramError::BadOrder {
            file: name.into(),
            order,
            max: MAX_ORDER,
        });
    }
    let vocab = t.words.len();
    if vocab > MAX_VOCAB {
        return Err(NgramError::VocabTooLarge {
            file: name.into(),
            size: vocab,
            max: MAX_VOCAB,
        });
    }
    let find_word = |w: &str| t.words.iter().position(|x| x == w).map(|i| i as WordId);
    let bos = find_word(super::BOS).ok_or(NgramError::MissingMarker {
        file: name.into(),
        word: super::BOS,
    })?;
    let eos = find_word(super::EOS).ok_or(NgramError::MissingMarker {
        file: name.into(),
        word: super::EOS,
    })?;
    let unk = find_word(super::UNK);
    t.ngrams.truncate(order - 1);
    while t.ngrams.len() < order - 1 {
        t.ngrams.push(OrderTable::default());
    }
    for (i, tab) in t.ngrams.iter_mut().enumerate() {
        tab.backoff.resize(tab.keys.len(), 0.0);
        sort_table(tab, i + 2, &t.words, name)?;
        if tab.keys.len() >= u32::MAX as usize - 1 {
            return Err(NgramError::Options(format!(
                "{name}: too many {}-grams",
                i + 2
            )));
        }
    }
    fill_missing(&mut t);
    for tab in t.ngrams.iter_mut() {
        tab.lines = Vec::new();
    }

    // Extension marks.
    let mut uni_backoff = t.uni_backoff.clone();
    if order >= 2 {
        let has = extended(vocab, |i| i as u128, &t.ngrams[0].keys);
        for (b, h) in uni_backoff.iter_mut().zip(has) {
            *b = mark(*b, h);
        }
    }
    for k in 2..order {
        let (lo, hi) = t.ngrams.split_at_mut(k - 1);
        let tab = &mut lo[k - 2];
        let has = extended(tab.keys.len(), |i| tab.keys[i], &hi[0].keys);
        for (b, h) in tab.backoff.iter_mut().zip(has) {
            *b = mark(*b, h);
        }
    }

    // Vocabulary.
    let mut sorted_vocab: Vec<u32> = (0..vocab as u32).collect();
    sorted_vocab.sort_unstable_by(|&a, &b| {
        t.words[a as usize]
            .as_bytes()
            .cmp(t.words[b as usize].as_bytes())
    });
    if let Some(i) = sorted_vocab
        .windows(2)
        .position(|w| t.words[w[0] as usize] == t.words[w[1] as usize])
    {
        return Err(NgramError::ArpaDuplicate {
            file: name.into(),
            line: 0,
            order: 1,
            ngram: t.words[sorted_vocab[i] as usize].clone(),
        });
    }
    let word_bytes_len: usize = t.words.iter().map(|w| w.len()).sum();
    if word_bytes_len >= u32::MAX as usize {
        return Err(NgramError::Options(format!(
            "{name}: vocabulary text too large"
        )));
    }

    let mut counts = [0usize; MAX_ORDER];
    counts[0] = vocab;
    for k in 2..=order {
        counts[k - 1] = t.ngrams[k - 2].keys.len();
    }
    let lay = Layout::compute(order, counts, word_bytes_len, (bos, eos, unk))
        .ok_or_else(|| NgramError::Options(format!("{name}: model too large")))?;
    let mut words_buf = vec![0u64; lay.file_len / 8];
    {
        // SAFETY: viewing a u64 buffer as bytes (alignment 1, any value valid).
        let bytes: &mut [u8] = unsafe {
            std::slice::from_raw_parts_mut(words_buf.as_mut_ptr() as *mut u8, words_buf.len() * 8)
        };
        bytes[..HEADER_LEN].copy_from_slice(&binary::header(&lay));
        let mut o = Out(bytes);
        let mut off = 0u32;
        let mut offsets = Vec::with_capacity(vocab + 1);
        offsets.push(0);
        for w in &t.words {
            off += w.len() as u32;
            offsets.push(off);
        }
        o.u32s(lay.word_offsets.off, offsets);
        o.u32s(lay.sorted_vocab.off, sorted_vocab);
        o.f32s(lay.uni_prob.off, t.uni_prob.iter().copied());
        o.f32s(lay.uni_backoff.off, uni_backoff);
        let mut at = lay.word_bytes.off;
        for w in &t.words {
            o.0[at..at + w.len()].copy_from_slice(w.as_bytes());
            at += w.len();
        }

        // Reversed trie, level by level; `prev_rk` = reversed keys of the previous level.
        let mut prev_rk: Vec<u128> = (0..vocab as u128).collect();
        for k in 2..=order {
            let tab = std::mem::take(&mut t.ngrams[k - 2]);
            let n = tab.keys.len();
            let mut rk: Vec<(u128, u32)> = tab
                .keys
                .iter()
                .enumerate()
                .map(|(i, &key)| (reverse(key, k), i as u32))
                .collect();
            rk.sort_unstable();
            let ls = lay.levels[k - 2];
            o.u32s(ls.words.off, rk.iter().map(|&(r, _)| (r & MASK) as u32));
            o.f32s(ls.prob.off, rk.iter().map(|&(_, i)| tab.prob[i as usize]));
            if k < order {
                o.f32s(
                    ls.backoff.off,
                    rk.iter().map(|&(_, i)| tab.backoff[i as usize]),
                );
            }
            // Children of the previous level: parent of entry j is rk_j >> BITS.
            let mut child = Vec::with_capacity(prev_rk.len() + 1);
            let mut j = 0;
            for &p in &prev_rk {
                while j < n && (rk[j].0 >> BITS) < p {
                    j += 1;
                }
                child.push(j as u32);
            }
            child.push(n as u32);
            let csec = if k == 2 {
                lay.uni_child
            } else {
                lay.levels[k - 3].child
            };
            o.u32s(csec.off, child);
            prev_rk = rk.into_iter().map(|(r, _)| r).collect();
        }
        binary::seal(bytes);
    }
    let len = lay.file_len;
    binary::from_image(
        Image::Owned {
            words: words_buf,
            len,
        },
        name,
        false,
    )
    .map_err(|e| NgramError::Options(format!("internal error building the LM: {e}")))
}
