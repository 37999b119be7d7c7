//! Word n-gram language models (orders 1–5): ARPA and a memory-mapped binary form, a fast
//! state-based query for beam search, interpolated modified Kneser-Ney estimation and
//! perplexity.
//!
//! * [`NgramLm`] — an immutable backoff n-gram model (`Send + Sync`; share it through an `Arc`).
//!   Read ARPA ([`NgramLm::from_arpa_file`]) or the binary form ([`NgramLm::load`], which
//!   memory-maps the file and also accepts ARPA), write either ([`NgramLm::write_binary`],
//!   [`NgramLm::write_arpa`]).
//! * [`LmState`] — a fixed-size, heap-free context (at most `order - 1` words, minimized like
//!   KenLM's: only the longest suffix that can still be extended is kept, so hypotheses with the
//!   same future get equal states). [`NgramLm::score`] returns `log10 p(word | state)` with
//!   backoff applied and the next state.
//! * [`estimate`] — interpolated modified Kneser-Ney from text (count pruning, fixed vocabulary).
//! * [`perplexity`] — SRILM's convention (`</s>` scored, OOV words skipped).
//!
//! # Example
//!
//! ```
//! use sotto_decoder::ngram::{estimate::{estimate, EstimateOptions}, perplexity};
//!
//! let text = ["the cat sat", "the dog sat", "a cat ran"];
//! let lm = estimate(text, &EstimateOptions::new(3))?.lm;
//! let (the, cat) = (lm.word_id("the").unwrap(), lm.word_id("cat").unwrap());
//! let (p_the, s) = lm.score(&lm.begin_state(), the);
//! let (p_cat, s) = lm.score(&s, cat);
//! let p_end = lm.end_score(&s);
//! assert!(p_the < 0.0 && p_cat < 0.0 && p_end < 0.0);
//! let ppl = perplexity(&lm, ["the cat sat"]);
//! assert_eq!((ppl.words, ppl.oov, ppl.sentences), (3, 0, 1));
//! # Ok::<(), sotto_decoder::NgramError>(())
//! ```
//!
//! # Binary format
//!
//! See [`binary`]: a versioned little-endian image (magic `SOTTOLM\0`) holding the vocabulary and
//! a reversed trie (KenLM's `trie` layout without quantization) of f32 log10 probabilities and
//! backoffs; it is memory-mapped and queried in place.

pub mod arpa;
pub mod binary;
mod build;
mod error;
pub mod estimate;
mod mix;
mod query;

use std::path::Path;

pub use error::NgramError;
pub use query::{perplexity, Perplexity};

use binary::{Image, Layout};

/// Index of a word in an [`NgramLm`]'s vocabulary.
pub type WordId = u32;

/// Highest order supported.
pub const MAX_ORDER: usize = 5;

/// Log10 probability returned for a word id outside the vocabulary when the model has no
/// `<unk>` (KenLM's value for a missing `<unk>`).
pub const NO_UNK_LOG10: f32 = -100.0;

/// The sentence-start marker.
pub const BOS: &str = "<s>";
/// The sentence-end marker.
pub const EOS: &str = "</s>";
/// The unknown-word token.
pub const UNK: &str = "<unk>";

/// Bit pattern of a backoff stored as `-0.0`: numerically zero, and it marks an n-gram that
/// cannot be extended (no longer n-gram has it as context), as in KenLM.
pub(crate) const NO_EXTENSION: u32 = 0x8000_0000;

/// The context of a query: up to `order - 1` preceding words (most recent first) and the
/// backoff weights of those contexts. Fixed size, no heap; equal contexts compare equal.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct LmState {
    /// `words[0]` is the most recent word.
    words: [WordId; MAX_ORDER - 1],
    /// `backoff[j]` = bits of log10 bo(words[j] … words[0]) (a function of the words).
    backoff: [u32; MAX_ORDER - 1],
    len: u8,
}

impl LmState {
    /// Number of context words kept.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the context is empty (the null context).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The context words kept, most recent first.
    pub fn words(&self) -> &[WordId] {
        &self.words[..self.len()]
    }
}

/// An immutable backoff word n-gram model (orders 1–5), queried with [`LmState`]s.
///
/// In memory it is always the binary image (see [`binary`]): owned when parsed from ARPA or
/// estimated, memory-mapped when loaded from a binary file.
pub struct NgramLm {
    image: Image,
    lay: Layout,
    /// Where it came from (file path or reader name), for messages.
    name: String,
}

impl std::fmt::Debug for NgramLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NgramLm")
            .field("name", &self.name)
            .field("order", &self.order())
            .field("num_ngrams", &self.num_ngrams())
            .field("mapped", &self.is_mapped())
            .finish()
    }
}

impl NgramLm {
    /// Reads an ARPA file.
    pub fn from_arpa_file(path: &Path) -> Result<Self, NgramError> {
        let f = std::fs::File::open(path).map_err(|e| NgramError::io(path, e))?;
        Self::from_arpa_reader(
            std::io::BufReader::with_capacity(1 << 16, f),
            &path.display().to_string(),
        )
    }

    /// Reads ARPA text; `name` stands for the file in error messages.
    pub fn from_arpa_reader<R: std::io::BufRead>(r: R, name: &str) -> Result<Self, NgramError> {
        let tables = arpa::read(r, name)?;
        build::build(tables, name)
    }

    /// Loads a model file: the binary form (memory-mapped, queried in place after its structure
    /// and checksum are verified) or, recognized by its content, ARPA text.
    pub fn load(path: &Path) -> Result<Self, NgramError> {
        let f = std::fs::File::open(path).map_err(|e| NgramError::io(path, e))?;
        let mut head = [0u8; 8];
        let n = {
            use std::io::Read;
            let mut n = 0;
            let mut r = &f;
            while n < head.len() {
                match r.read(&mut head[n..]) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(NgramError::io(path, e)),
                }
            }
            n
        };
        if n == head.len() && head == binary::MAGIC {
            binary::load_mapped(&f, path)
        } else {
            drop(f);
            Self::from_arpa_file(path)
        }
    }

    /// Parses a binary image held in memory (copied into aligned storage), verifying it.
    pub fn from_binary_bytes(bytes: &[u8], name: &str) -> Result<Self, NgramError> {
        binary::from_bytes(bytes, name, true)
    }

    /// Like [`NgramLm::from_binary_bytes`] but without the header and data checksums, so that
    /// the structural checks see corrupted data (for fuzzing). The result is still safe to query.
    #[doc(hidden)]
    pub fn from_binary_bytes_unchecked(bytes: &[u8], name: &str) -> Result<Self, NgramError> {
        binary::from_bytes(bytes, name, false)
    }

    /// Writes the binary form (atomically: a temporary file renamed into place).
    pub fn write_binary(&self, path: &Path) -> Result<(), NgramError> {
        binary::write(self, path)
    }

    /// The binary image (what [`NgramLm::write_binary`] writes).
    pub fn binary_bytes(&self) -> &[u8] {
        self.image.bytes()
    }

    /// Writes ARPA text (n-grams of each order sorted by word ids, f32 values printed exactly).
    pub fn write_arpa<W: std::io::Write>(&self, w: W) -> Result<(), NgramError> {
        arpa::write(self, w)
    }

    /// The order (longest n-gram).
    pub fn order(&self) -> usize {
        self.lay.order
    }

    /// Number of n-grams of each order (index 0: unigrams = vocabulary size).
    pub fn num_ngrams(&self) -> Vec<usize> {
        self.lay.counts[..self.lay.order].to_vec()
    }

    /// Number of words (unigrams, including `<s>`, `</s>` and `<unk>` when present).
    pub fn vocab_size(&self) -> usize {
        self.lay.vocab
    }

    /// The word with id `id` (`""` for an id outside the vocabulary).
    pub fn word(&self, id: WordId) -> &str {
        self.view().word(id)
    }

    /// The id of `w`, or `None` if it is not a unigram of the model (out of vocabulary).
    pub fn word_id(&self, w: &str) -> Option<WordId> {
        self.view().word_id(w)
    }

    /// The id of `<unk>`, if the model has it.
    pub fn unk_id(&self) -> Option<WordId> {
        self.lay.unk
    }

    /// The id of `<s>`.
    pub fn bos_id(&self) -> WordId {
        self.lay.bos
    }

    /// The id of `</s>`.
    pub fn eos_id(&self) -> WordId {
        self.lay.eos
    }

    /// The state at the start of a sentence: context `<s>`.
    pub fn begin_state(&self) -> LmState {
        let mut s = LmState::default();
        if self.lay.order > 1 {
            s.words[0] = self.lay.bos;
            s.backoff[0] = self.view().uni_bo(self.lay.bos).to_bits();
            s.len = 1;
        }
        s
    }

    /// The empty context (unigram probabilities).
    pub fn null_state(&self) -> LmState {
        LmState::default()
    }

    /// `log10 p(word | state)` with backoff applied, and the state after `word` (minimized:
    /// only the longest suffix that some longer n-gram extends, or whose backoff is not zero).
    ///
    /// A `word` outside the vocabulary is scored as `<unk>` (or [`NO_UNK_LOG10`] with the null
    /// state after it if the model has no `<unk>`). No allocation, no hashing: one binary search
    /// per matched order in the reversed trie.
    #[inline]
    pub fn score(&self, state: &LmState, word: WordId) -> (f32, LmState) {
        self.view().score(state, word)
    }

    /// `log10 p(</s> | state)`.
    pub fn end_score(&self, state: &LmState) -> f32 {
        self.view().score(state, self.lay.eos).0
    }

    /// Log10 probability of a whole sentence of word ids, from `<s>` through `</s>`.
    pub fn sentence_score(&self, words: &[WordId]) -> f32 {
        let mut s = self.begin_state();
        let mut total = 0.0;
        for &w in words {
            let (p, next) = self.score(&s, w);
            total += p;
            s = next;
        }
        total + self.end_score(&s)
    }

    /// Stolcke relative-entropy pruning of this model (SRILM `ngram -lm IN -prune θ`): n-grams
    /// (order ≥ 2) whose removal raises the model's perplexity by a relative amount below
    /// `threshold` go, highest order first, except those a kept longer n-gram needs; the
    /// backoffs of contexts that lost n-grams are renormalized so every context still sums to
    /// one. The same pruning as `sotto lm build --prune-entropy`, for a finished model such as a
    /// large ARPA file that must fit a size budget.
    pub fn prune_entropy(&self, threshold: f64) -> Result<NgramLm, NgramError> {
        let t = arpa::tables(self);
        let t = estimate::prune_tables(t, threshold, &self.name)?;
        build::build(t, &self.name)
    }

    /// Static interpolation of `models` with `weights` (positive, summing to 1) into one backoff
    /// model (SRILM `ngram -lm A -mix-lm B -lambda λ`, N-way): the union vocabulary and n-grams,
    /// each listed n-gram with the mixture `Σ λ_i p_i(w|h)` of the components' backed-off
    /// probabilities, and backoffs recomputed so every context sums to one. For adapting a large
    /// generic LM with a small in-domain one. The result is named `name` in messages.
    pub fn mix(models: &[&NgramLm], weights: &[f64], name: &str) -> Result<NgramLm, NgramError> {
        mix::mix(models, weights, name)
    }

    /// Explicit n-gram lookup: the stored log10 probability and backoff of `ngram` (forward
    /// order), if the model lists it. Not for the inner loop.
    pub fn ngram(&self, ngram: &[WordId]) -> Option<(f32, f32)> {
        self.view().lookup(ngram)
    }

    /// Whether the image is memory-mapped from a file.
    pub fn is_mapped(&self) -> bool {
        matches!(self.image, Image::Mapped(_))
    }

    /// Bytes of the binary image.
    pub fn size_bytes(&self) -> usize {
        self.image.bytes().len()
    }

    /// The file path or reader name the model came from.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn view(&self) -> query::View<'_> {
        query::View::new(self.image.bytes(), &self.lay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<NgramLm>();
        check::<LmState>();
    }
}
