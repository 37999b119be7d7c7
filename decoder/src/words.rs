//! Word-level search setup: a lexicon tree, an optional word n-gram LM and word hotwords,
//! built once and shared by every stream ([`DecoderOptions::words`](crate::DecoderOptions)).

use crate::lexicon::{Lexicon, LexiconTree};
use crate::ngram::{LmState, NgramLm, WordId};
use crate::{ContextGraph, DecoderError, Hotword, Vocab, WORD_START};
use std::sync::Arc;

/// Word id of a word spelled piece by piece outside the lexicon ([`Spelling`]).
pub const SPELLED: u32 = u32::MAX;

/// Lexicon-tree "node" of a hypothesis inside a spelled word (not a node of the tree).
pub(crate) const FREE: u32 = u32::MAX;

/// Words outside the lexicon, spelled piece by piece (BPE models): a hypothesis may leave the
/// lexicon at a word start and spell any word with the model's pieces. Such a word is scored
/// like an unknown word of the LM (`<unk>`, else [`WordScoring::oov_log10`]) and pays
/// `penalty` besides, so a lexicon word with the same pieces always wins.
#[derive(Debug, Clone, PartialEq)]
pub struct Spelling {
    /// Pieces that start a word (`▁…`).
    pub start: Vec<u32>,
    /// Pieces that continue one.
    pub cont: Vec<u32>,
    /// Natural-log score taken off each spelled word (≥ 0).
    pub penalty: f32,
}

impl Spelling {
    /// Word-start and continuation pieces of a sentencepiece vocabulary; the blank, the bare
    /// `▁` and control pieces such as `<unk>` are left out.
    pub fn from_vocab(vocab: &Vocab, blank: usize, penalty: f32) -> Self {
        let (mut start, mut cont) = (Vec::new(), Vec::new());
        for id in 0..vocab.len() {
            let Some(p) = vocab.piece(id) else { continue };
            if id == blank || p.is_empty() || (p.starts_with('<') && p.ends_with('>')) {
                continue;
            }
            match p.strip_prefix(WORD_START) {
                Some("") => {}
                Some(_) => start.push(id as u32),
                None => cont.push(id as u32),
            }
        }
        Self {
            start,
            cont,
            penalty,
        }
    }
}

/// Low-order density ratio (LODR, Zheng et al. 2022): a token bigram estimated on the acoustic
/// model's training transcripts stands in for the transducer's internal LM. With a word LM in
/// the search, `weight` × its log-probability is taken off every emitted token, so the
/// training text's word statistics the network has absorbed are not counted twice beside the
/// external LM (the search then wants a higher LM weight).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBigram {
    vocab: usize,
    /// `[V, V]` natural-log probabilities, row = previous token (the blank row is the start of
    /// a segment, as the prediction network's context is padded with blanks).
    logp: Vec<f32>,
}

impl TokenBigram {
    /// From a row-major `[vocab, vocab]` table of natural-log probabilities.
    pub fn new(vocab: usize, logp: Vec<f32>) -> Result<Self, DecoderError> {
        if vocab == 0 || logp.len() != vocab * vocab {
            return Err(DecoderError::InvalidOption(format!(
                "token bigram: {} values for a vocabulary of {vocab} (want {vocab}²)",
                logp.len()
            )));
        }
        if let Some(i) = logp.iter().position(|x| !(x.is_finite() && *x <= 0.0)) {
            return Err(DecoderError::InvalidOption(format!(
                "token bigram: value {} at ({}, {}) is not a log-probability",
                logp[i],
                i / vocab,
                i % vocab
            )));
        }
        Ok(Self { vocab, logp })
    }

    /// Vocabulary size.
    pub fn vocab(&self) -> usize {
        self.vocab
    }

    /// A LODR weight must be a finite number ≥ 0 (0: off).
    pub fn check_weight(weight: f32) -> Result<(), DecoderError> {
        match weight.is_finite() && weight >= 0.0 {
            true => Ok(()),
            false => Err(DecoderError::InvalidOption(format!(
                "LODR weight {weight} is not a finite number >= 0"
            ))),
        }
    }

    /// Log-probabilities of every token after `prev`.
    pub(crate) fn row(&self, prev: usize) -> &[f32] {
        &self.logp[prev * self.vocab..(prev + 1) * self.vocab]
    }
}

/// `ln(10)`: the LM stores log10 probabilities, the search adds natural logs.
const LN10: f32 = std::f32::consts::LN_10;

/// Scoring weights of the word-level search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WordScoring {
    /// Weight of the LM's natural-log probabilities against the acoustic ones.
    pub lm_weight: f32,
    /// Added per recognized word (counters the LM's preference for few words).
    pub word_bonus: f32,
    /// log10 probability of a lexicon word the LM does not know, when the LM has no `<unk>`.
    pub oov_log10: f32,
    /// LM look-ahead inside words (the best unigram below each lexicon-tree node is added
    /// while a word is in progress). Off only to measure what it brings.
    pub lookahead: bool,
}

impl Default for WordScoring {
    fn default() -> Self {
        Self {
            lm_weight: 0.5,
            word_bonus: 1.0,
            oov_log10: -7.0,
            lookahead: true,
        }
    }
}

/// What the word-level search needs, shared by all streams: the lexicon tree (with LM
/// look-ahead), the LM, each lexicon word's LM id, the weights and word hotwords.
#[derive(Debug)]
pub struct WordGraph {
    pub(crate) tree: LexiconTree,
    pub(crate) lm: Option<Arc<NgramLm>>,
    /// LM id per lexicon word; `None`: scored with `<unk>` or [`WordScoring::oov_log10`].
    pub(crate) lm_ids: Vec<Option<WordId>>,
    pub(crate) scoring: WordScoring,
    /// Hotword automaton over lexicon word ids.
    pub(crate) hotwords: Option<ContextGraph>,
    /// Words outside the lexicon, spelled with pieces, if allowed.
    pub(crate) spelling: Option<Spelling>,
    /// Weighted look-ahead of a spelled word (its LM score and penalty, charged at its start).
    pub(crate) spelled_la: f32,
    /// LODR: the token bigram and its weight (> 0), if set.
    pub(crate) lodr: Option<(TokenBigram, f32)>,
}

impl WordGraph {
    /// Build from a lexicon and an optional LM. `hotwords` (phrases of lexicon words, with the
    /// default per-word boost) must only use words of the lexicon: add the missing ones first
    /// (with a pronunciation, or a BPE segmentation).
    pub fn new(
        lexicon: Lexicon,
        lm: Option<Arc<NgramLm>>,
        scoring: WordScoring,
        hotwords: Option<(&[Hotword], f32)>,
    ) -> Result<Self, DecoderError> {
        for (name, v) in [
            ("LM weight", scoring.lm_weight),
            ("word bonus", scoring.word_bonus),
            ("OOV log10 probability", scoring.oov_log10),
        ] {
            if !v.is_finite() {
                return Err(DecoderError::InvalidOption(format!(
                    "{name} {v} is not finite"
                )));
            }
        }
        if lexicon.num_prons() == 0 {
            return Err(DecoderError::InvalidOption("the lexicon is empty".into()));
        }
        let hotwords = match hotwords {
            None => None,
            Some((list, default_boost)) => {
                let graph = ContextGraph::from_hotwords(list, default_boost, |phrase| {
                    phrase
                        .split_whitespace()
                        .map(|w| {
                            lexicon.id(w).map(|id| id as usize).ok_or_else(|| {
                                format!("word {w:?} is not in the lexicon (add it with a pronunciation)")
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()
                })?;
                Some(graph)
            }
        };
        let lm_ids: Vec<Option<WordId>> = match &lm {
            Some(lm) => lexicon.words().iter().map(|w| lm.word_id(w)).collect(),
            None => vec![None; lexicon.num_words()],
        };
        // Look-ahead: the word's unigram log-probability (context-free, so computed once).
        let unigram: Vec<f32> = match &lm {
            Some(lm) => {
                let null = lm.null_state();
                lm_ids
                    .iter()
                    .map(|id| match id.or(lm.unk_id()) {
                        Some(id) => lm.score(&null, id).0 * LN10,
                        None => scoring.oov_log10 * LN10,
                    })
                    .collect()
            }
            None => vec![0.0; lexicon.num_words()],
        };
        let tree = LexiconTree::new(lexicon, |w| unigram[w as usize]);
        Ok(Self {
            tree,
            lm,
            lm_ids,
            scoring,
            hotwords,
            spelling: None,
            spelled_la: 0.0,
            lodr: None,
        })
    }

    /// Allow words outside the lexicon, spelled piece by piece (see [`Spelling`]).
    pub fn with_spelling(mut self, spelling: Spelling) -> Result<Self, DecoderError> {
        if !(spelling.penalty.is_finite() && spelling.penalty >= 0.0) {
            return Err(DecoderError::InvalidOption(format!(
                "spelling penalty {} is not a finite number >= 0",
                spelling.penalty
            )));
        }
        if spelling.start.is_empty() {
            return Err(DecoderError::InvalidOption(
                "spelling needs word-start pieces (`▁…`); is this a BPE model?".into(),
            ));
        }
        let lm = match &self.lm {
            Some(lm) => match lm.unk_id() {
                Some(unk) => lm.score(&lm.null_state(), unk).0 * LN10,
                None => self.scoring.oov_log10 * LN10,
            },
            None => 0.0,
        };
        self.spelled_la = self.scoring.lm_weight * lm - spelling.penalty;
        self.spelling = Some(spelling);
        Ok(self)
    }

    /// Subtract `weight` × the token bigram's log-probability from every emitted token
    /// ([`TokenBigram`]; weight 0 turns it off).
    pub fn with_lodr(mut self, bigram: TokenBigram, weight: f32) -> Result<Self, DecoderError> {
        TokenBigram::check_weight(weight)?;
        self.lodr = (weight > 0.0).then_some((bigram, weight));
        Ok(self)
    }

    /// The LODR token bigram and its weight, if set.
    pub fn lodr(&self) -> Option<(&TokenBigram, f32)> {
        self.lodr.as_ref().map(|(b, w)| (b, *w))
    }

    /// The spelling of out-of-lexicon words, if allowed.
    pub fn spelling(&self) -> Option<&Spelling> {
        self.spelling.as_ref()
    }

    /// The lexicon tree.
    pub fn tree(&self) -> &LexiconTree {
        &self.tree
    }

    /// The LM, if any.
    pub fn lm(&self) -> Option<&NgramLm> {
        self.lm.as_deref()
    }

    /// The weights.
    pub fn scoring(&self) -> WordScoring {
        self.scoring
    }

    /// LM state at the start of a segment (`<s>`; a placeholder without LM).
    pub(crate) fn lm_start(&self) -> Option<LmState> {
        self.lm.as_ref().map(|lm| lm.begin_state())
    }

    /// Weighted LM log-probability (natural log) of lexicon word `w` after `state`, and the
    /// state after it.
    pub(crate) fn lm_word(&self, state: Option<&LmState>, w: u32) -> (f32, Option<LmState>) {
        let id = if w == SPELLED {
            None
        } else {
            self.lm_ids[w as usize]
        };
        match (&self.lm, state) {
            (Some(lm), Some(st)) => match id.or(lm.unk_id()) {
                Some(id) => {
                    let (l, next) = lm.score(st, id);
                    (self.scoring.lm_weight * l * LN10, Some(next))
                }
                None => (
                    self.scoring.lm_weight * self.scoring.oov_log10 * LN10,
                    Some(lm.null_state()),
                ),
            },
            _ => (0.0, None),
        }
    }

    /// Weighted LM log-probability of ending the sentence after `state`.
    pub(crate) fn lm_end(&self, state: Option<&LmState>) -> f32 {
        match (&self.lm, state) {
            (Some(lm), Some(st)) => self.scoring.lm_weight * lm.end_score(st) * LN10,
            _ => 0.0,
        }
    }

    /// Weighted look-ahead of a tree node.
    pub(crate) fn lookahead(&self, node: u32) -> f32 {
        if self.lm.is_some() && self.scoring.lookahead {
            self.scoring.lm_weight * self.tree.lookahead(node)
        } else {
            0.0
        }
    }
}
