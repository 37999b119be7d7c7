//! Hotword / context biasing: a token-level Aho-Corasick automaton over boosted phrases.
//!
//! Semantics follow icefall / sherpa-onnx `ContextGraph` (strict mode): every token that
//! extends a partial match of a phrase adds that phrase's per-token boost to the hypothesis
//! score; when the match breaks, the tentative bonus collected so far is taken back (falling
//! back along failure links to the longest suffix that still matches); completing a phrase
//! additionally adds the phrase's total boost once more, and that part is kept: a hypothesis
//! containing the phrase ends up `boost * len(phrase)` above one without it. At the end of the
//! utterance [`ContextGraph::finalize`] removes the bonus of a still-unfinished match.
//! (This is the scoring of icefall's `ContextGraph` and of sherpa-onnx's before its
//! "non-strict" keyword-spotting mode.) Unlike sherpa-onnx, which adds the hotword score only
//! to the beam's survivors, the decoder adds it *before* pruning, so a hotword token can enter
//! the beam (and win in greedy search) when it is acoustically close.
//!
//! ```
//! use sotto_decoder::{parse_hotwords, ContextGraph, DecoderOptions, Vocab};
//! use std::sync::Arc;
//!
//! let vocab = Vocab::new(["<blk>", "▁NEW", "▁YORK", "▁SOT", "TO"].map(String::from).to_vec());
//! let list = parse_hotwords("NEW YORK :2.0\nSOTTO\n")?;
//! let graph = ContextGraph::from_hotwords(&list, 1.5, |phrase| vocab.encode(phrase))?;
//! let opts = DecoderOptions { hotwords: Some(Arc::new(graph)), ..Default::default() };
//! # let _ = opts;
//! # Ok::<(), sotto_decoder::DecoderError>(())
//! ```

use crate::DecoderError;
use std::collections::{BTreeMap, VecDeque};

/// One line of a hotwords list: a phrase and its optional per-token boost.
#[derive(Debug, Clone, PartialEq)]
pub struct Hotword {
    /// The phrase as written.
    pub phrase: String,
    /// Per-token boost; `None` means "use the default".
    pub boost: Option<f32>,
}

/// Parse a hotwords file: one phrase per line, optional ` :boost` suffix
/// (e.g. `NEW YORK :2.5`). Blank lines and lines starting with `#` are skipped.
pub fn parse_hotwords(text: &str) -> Result<Vec<Hotword>, DecoderError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |message: String| DecoderError::Hotwords {
            line: i + 1,
            message,
        };
        let (phrase, boost) = match line.rsplit_once(char::is_whitespace) {
            Some((p, last)) if last.starts_with(':') => {
                let b: f32 = last[1..]
                    .parse()
                    .map_err(|_| err(format!("bad boost {last:?} (expected ` :<number>`)")))?;
                if !b.is_finite() {
                    return Err(err(format!("boost {last:?} is not finite")));
                }
                (p.trim(), Some(b))
            }
            _ if line.starts_with(':') => return Err(err("boost without a phrase".into())),
            _ => (line, None),
        };
        out.push(Hotword {
            phrase: phrase.to_string(),
            boost,
        });
    }
    Ok(out)
}

/// A position in the [`ContextGraph`] (which phrase prefix the hypothesis currently matches).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ContextState(u32);

#[derive(Debug, Clone)]
struct Node {
    /// Per-token boost of the token leading here.
    token_score: f32,
    /// Sum of token scores from the root: the tentative bonus held while here.
    node_score: f32,
    /// Full-match bonus paid on arrival: this node's own phrase (if it ends here) plus every
    /// phrase ending at a suffix of it.
    output_score: f32,
    is_end: bool,
    fail: u32,
    children: BTreeMap<u32, u32>,
    /// Deterministic transitions (goto closed over failure links), sorted by token:
    /// (token, score delta, next node). Tokens not listed go to the root.
    trans: Vec<(u32, f32, u32)>,
}

/// Aho-Corasick automaton over token-id phrases with per-phrase boosts.
#[derive(Debug, Clone)]
pub struct ContextGraph {
    nodes: Vec<Node>,
    max_token: usize,
}

impl ContextGraph {
    /// Build from phrases given as token ids, each with a per-token boost.
    /// A phrase listed twice (or a shared prefix) keeps the larger boost.
    pub fn new(phrases: &[(Vec<usize>, f32)]) -> Result<Self, DecoderError> {
        let node = |token_score| Node {
            token_score,
            node_score: 0.0,
            output_score: 0.0,
            is_end: false,
            fail: 0,
            children: BTreeMap::new(),
            trans: Vec::new(),
        };
        let mut nodes = vec![node(0.0)];
        let mut max_token = 0;
        for (tokens, boost) in phrases {
            let bad = |message: &str| DecoderError::Phrase {
                phrase: format!("{tokens:?}"),
                message: message.into(),
            };
            if tokens.is_empty() {
                return Err(bad("empty phrase"));
            }
            if !boost.is_finite() {
                return Err(bad("boost is not finite"));
            }
            let mut cur = 0usize;
            for &t in tokens {
                let t32 = u32::try_from(t).map_err(|_| bad("token id too large"))?;
                max_token = max_token.max(t);
                cur = match nodes[cur].children.get(&t32) {
                    Some(&n) => {
                        let n = n as usize;
                        nodes[n].token_score = nodes[n].token_score.max(*boost);
                        n
                    }
                    None => {
                        let n = nodes.len();
                        nodes.push(node(*boost));
                        nodes[cur].children.insert(t32, n as u32);
                        n
                    }
                };
            }
            nodes[cur].is_end = true;
        }
        // Breadth-first: node scores, failure links, outputs and the closed transitions
        // (a node's transitions are its failure target's, overridden by its own children).
        let mut queue = VecDeque::from([0usize]);
        while let Some(n) = queue.pop_front() {
            let (fail, node_score) = (nodes[n].fail as usize, nodes[n].node_score);
            let mut trans: BTreeMap<u32, u32> = if n == 0 {
                BTreeMap::new()
            } else {
                nodes[fail].trans.iter().map(|&(t, _, m)| (t, m)).collect()
            };
            let children: Vec<(u32, u32)> =
                nodes[n].children.iter().map(|(&t, &c)| (t, c)).collect();
            for &(t, c) in &children {
                let c = c as usize;
                // The child's failure target is where its parent's failure target goes on `t`.
                let child_fail = if n == 0 {
                    0
                } else {
                    trans.get(&t).copied().unwrap_or(0)
                };
                let fail_out = nodes[child_fail as usize].output_score;
                let child = &mut nodes[c];
                child.fail = child_fail;
                child.node_score = node_score + child.token_score;
                child.output_score = fail_out + if child.is_end { child.node_score } else { 0.0 };
                trans.insert(t, c as u32);
                queue.push_back(c);
            }
            nodes[n].trans = trans
                .into_iter()
                .map(|(t, m)| {
                    let m_node = &nodes[m as usize];
                    (t, m_node.node_score - node_score + m_node.output_score, m)
                })
                .collect();
        }
        Ok(Self { nodes, max_token })
    }

    /// Build from text phrases: `tokenize` turns a phrase into token ids (e.g.
    /// [`Vocab::encode`](crate::Vocab::encode) or a real sentencepiece model);
    /// phrases without a boost get `default_boost`.
    pub fn from_hotwords<E: std::fmt::Display>(
        hotwords: &[Hotword],
        default_boost: f32,
        mut tokenize: impl FnMut(&str) -> Result<Vec<usize>, E>,
    ) -> Result<Self, DecoderError> {
        let phrases = hotwords
            .iter()
            .map(|h| {
                let bad = |message: String| DecoderError::Phrase {
                    phrase: h.phrase.clone(),
                    message,
                };
                let ids = tokenize(&h.phrase).map_err(|e| bad(e.to_string()))?;
                if ids.is_empty() {
                    return Err(bad("tokenizes to nothing".into()));
                }
                Ok((ids, h.boost.unwrap_or(default_boost)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(&phrases)
    }

    /// The start state (nothing matched).
    pub fn root(&self) -> ContextState {
        ContextState(0)
    }

    /// Number of automaton states (root included).
    pub fn num_states(&self) -> usize {
        self.nodes.len()
    }

    /// The largest token id used by any phrase.
    pub fn max_token(&self) -> usize {
        self.max_token
    }

    /// Whether any phrase contains `token`.
    pub fn uses_token(&self, token: usize) -> bool {
        u32::try_from(token).is_ok_and(|t| self.nodes.iter().any(|n| n.children.contains_key(&t)))
    }

    /// Feed one emitted token: the score change and the next state.
    pub fn forward(&self, state: ContextState, token: usize) -> (f32, ContextState) {
        let node = &self.nodes[state.0 as usize];
        match u32::try_from(token)
            .ok()
            .and_then(|t| node.trans.binary_search_by_key(&t, |e| e.0).ok())
        {
            Some(i) => (node.trans[i].1, ContextState(node.trans[i].2)),
            None => (-node.node_score, ContextState(0)),
        }
    }

    /// Score change at the end of the utterance: takes back an unfinished match's bonus.
    pub fn finalize(&self, state: ContextState) -> f32 {
        -self.nodes[state.0 as usize].node_score
    }

    /// Tokens with a transition other than "back to the root" from `state`, with their score
    /// change; every other token scores [`finalize`](Self::finalize)`(state)`.
    pub(crate) fn transitions(
        &self,
        state: ContextState,
    ) -> impl Iterator<Item = (usize, f32)> + '_ {
        self.nodes[state.0 as usize]
            .trans
            .iter()
            .map(|&(t, d, _)| (t as usize, d))
    }
}
