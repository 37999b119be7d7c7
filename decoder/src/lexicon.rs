//! Pronunciation lexicon: which unit sequences spell which word, compiled into a prefix tree
//! that the word-level search walks (shared by all streams).
//!
//! Two sources:
//! * a pronunciation dictionary for phone-unit models, CMUdict style (`WORD  PH1 PH2 …`,
//!   variants as `WORD(2)`, `;;;` comments) or `WORD<TAB>PH1 PH2 …`; stress digits on phones
//!   are dropped when the model's units have none;
//! * a word list segmented by the model's own BPE pieces, for BPE models
//!   ([`Lexicon::add_spelled`] with [`Vocab::encode`](crate::Vocab::encode)).

use crate::DecoderError;
use std::collections::HashMap;

/// Words and their unit sequences (pronunciations or segmentations).
#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    words: Vec<String>,
    ids: HashMap<String, u32>,
    /// (word id, unit ids), in insertion order (the first variant of a word is its preferred one).
    prons: Vec<(u32, Vec<usize>)>,
    /// Indices into `prons` per word id (to skip duplicates without a scan of all of them).
    by_word: Vec<Vec<u32>>,
}

impl Lexicon {
    /// An empty lexicon.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse a pronunciation dictionary. `unit` maps a unit name to its model id (`None` if the
    /// model has no such unit). Words are upper-cased (the recipe's transcripts are); lines whose
    /// word is empty, comments (`;;;`, `#`) and blank lines are skipped. A line naming a unit the
    /// model lacks is an error naming the line, unless `skip_unknown` (then it is left out and
    /// counted in the returned number).
    pub fn parse_dict(
        text: &str,
        unit: impl Fn(&str) -> Option<usize>,
        skip_unknown: bool,
    ) -> Result<(Self, usize), DecoderError> {
        let mut lex = Self::new();
        let mut skipped = 0;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with(";;;") || line.starts_with('#') {
                continue;
            }
            let err = |message: String| DecoderError::Lexicon {
                line: i + 1,
                message,
            };
            let mut parts = line.split_whitespace();
            let head = parts.next().unwrap_or_default();
            let word = strip_variant(head).to_uppercase();
            let mut units = Vec::new();
            let mut unknown = None;
            for p in parts {
                let id = unit(p).or_else(|| {
                    // CMUdict carries stress digits (AH0); models trained without stress lack them.
                    let bare = p.trim_end_matches(|c: char| c.is_ascii_digit());
                    (bare.len() < p.len()).then(|| unit(bare)).flatten()
                });
                match id {
                    Some(id) => units.push(id),
                    None => {
                        unknown = Some(p.to_string());
                        break;
                    }
                }
            }
            if let Some(u) = unknown {
                if skip_unknown {
                    skipped += 1;
                    continue;
                }
                return Err(err(format!(
                    "word {word:?}: unit {u:?} is not one of the model's"
                )));
            }
            if units.is_empty() {
                return Err(err(format!("word {word:?} has no pronunciation")));
            }
            lex.add(&word, units);
        }
        Ok((lex, skipped))
    }

    /// Add a pronunciation of `word` (a duplicate pronunciation is ignored); returns the word id.
    pub fn add(&mut self, word: &str, units: Vec<usize>) -> u32 {
        let id = self.intern(word);
        let known = &self.by_word[id as usize];
        if !known.iter().any(|&i| self.prons[i as usize].1 == units) {
            self.by_word[id as usize].push(self.prons.len() as u32);
            self.prons.push((id, units));
        }
        id
    }

    /// Add `word` spelled by `spell` (e.g. the model's BPE segmentation); words it cannot spell
    /// are returned as the error.
    pub fn add_spelled<E>(
        &mut self,
        word: &str,
        spell: impl Fn(&str) -> Result<Vec<usize>, E>,
    ) -> Result<u32, E> {
        let units = spell(word)?;
        Ok(self.add(word, units))
    }

    fn intern(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.ids.get(word) {
            return id;
        }
        let id = self.words.len() as u32;
        self.words.push(word.to_string());
        self.by_word.push(Vec::new());
        self.ids.insert(word.to_string(), id);
        id
    }

    /// Number of distinct words.
    pub fn num_words(&self) -> usize {
        self.words.len()
    }

    /// Number of pronunciations (all variants).
    pub fn num_prons(&self) -> usize {
        self.prons.len()
    }

    /// The word of an id.
    pub fn word(&self, id: u32) -> &str {
        &self.words[id as usize]
    }

    /// The id of a word, if listed.
    pub fn id(&self, word: &str) -> Option<u32> {
        self.ids.get(word).copied()
    }

    /// All words, by id.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// All pronunciations as (word id, units).
    pub fn prons(&self) -> &[(u32, Vec<usize>)] {
        &self.prons
    }
}

/// `WORD(2)` → `WORD`.
fn strip_variant(w: &str) -> &str {
    match w.strip_suffix(')').and_then(|s| s.rsplit_once('(')) {
        Some((base, n)) if !base.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => base,
        _ => w,
    }
}

/// Index of the root of a [`LexiconTree`]: between words.
pub const ROOT: u32 = 0;

#[derive(Debug, Clone)]
struct TreeNode {
    /// Children in `LexiconTree::edges[first..first + count]`, sorted by unit.
    first: u32,
    count: u32,
    /// Words that end here in `LexiconTree::ends[..]`.
    ends_first: u32,
    ends_count: u32,
    /// Best score (e.g. LM unigram log-probability) of any word ending in this subtree: the
    /// look-ahead that keeps promising partial words from being pruned.
    lookahead: f32,
    /// The word achieving `lookahead` (shown as the word in progress).
    best_word: u32,
}

/// A lexicon compiled into a prefix tree over unit ids, with a per-node look-ahead score.
#[derive(Debug, Clone)]
pub struct LexiconTree {
    lexicon: Lexicon,
    nodes: Vec<TreeNode>,
    /// (unit, child node), grouped by parent.
    edges: Vec<(u32, u32)>,
    ends: Vec<u32>,
    /// Every unit the pronunciations use, sorted, once each (so a decoder checks them against
    /// its model without a pass over the whole lexicon).
    units: Vec<u32>,
}

impl LexiconTree {
    /// Build the tree. `word_score(id)` is the look-ahead score of a word (natural log, ≤ 0;
    /// e.g. its LM unigram log-probability, or 0 without an LM): every node carries the best
    /// score of the words below it.
    pub fn new(lexicon: Lexicon, word_score: impl Fn(u32) -> f32) -> Self {
        // Build with maps, then flatten to sorted arrays for cache-friendly lookups.
        struct Build {
            children: Vec<(u32, usize)>,
            ends: Vec<u32>,
        }
        let mut b = vec![Build {
            children: Vec::new(),
            ends: Vec::new(),
        }];
        for (word, units) in lexicon.prons() {
            let mut cur = 0usize;
            for &u in units {
                let u = u as u32;
                cur = match b[cur].children.iter().find(|c| c.0 == u) {
                    Some(&(_, n)) => n,
                    None => {
                        b.push(Build {
                            children: Vec::new(),
                            ends: Vec::new(),
                        });
                        let n = b.len() - 1;
                        b[cur].children.push((u, n));
                        n
                    }
                };
            }
            if !b[cur].ends.contains(word) {
                b[cur].ends.push(*word);
            }
        }
        let scores: Vec<f32> = (0..lexicon.num_words() as u32).map(&word_score).collect();
        let mut nodes = Vec::with_capacity(b.len());
        let mut edges = Vec::new();
        let mut ends = Vec::new();
        for n in &mut b {
            n.children.sort_unstable();
            nodes.push(TreeNode {
                first: edges.len() as u32,
                count: n.children.len() as u32,
                ends_first: ends.len() as u32,
                ends_count: n.ends.len() as u32,
                lookahead: f32::NEG_INFINITY,
                best_word: u32::MAX,
            });
            edges.extend(n.children.iter().map(|&(u, c)| (u, c as u32)));
            ends.extend(&n.ends);
        }
        // Children always have larger indices than parents: one backward pass fills look-aheads.
        for i in (0..nodes.len()).rev() {
            let (mut best, mut best_word) = (f32::NEG_INFINITY, u32::MAX);
            let n = &nodes[i];
            for &w in &ends[n.ends_first as usize..(n.ends_first + n.ends_count) as usize] {
                if best_word == u32::MAX || scores[w as usize] > best {
                    (best, best_word) = (scores[w as usize], w);
                }
            }
            for &(_, c) in &edges[n.first as usize..(n.first + n.count) as usize] {
                let c = &nodes[c as usize];
                if best_word == u32::MAX || c.lookahead > best {
                    (best, best_word) = (c.lookahead, c.best_word);
                }
            }
            nodes[i].lookahead = best;
            nodes[i].best_word = best_word;
        }
        Self {
            lexicon,
            units: {
                let mut u: Vec<u32> = edges.iter().map(|&(u, _)| u).collect();
                u.sort_unstable();
                u.dedup();
                u
            },
            nodes,
            edges,
            ends,
        }
    }

    /// Every unit the pronunciations use, ascending.
    pub fn units(&self) -> &[u32] {
        &self.units
    }

    /// The lexicon it was built from.
    pub fn lexicon(&self) -> &Lexicon {
        &self.lexicon
    }

    /// Number of nodes (the root included).
    pub fn num_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// Children of a node as (unit, node), sorted by unit.
    pub fn children(&self, node: u32) -> &[(u32, u32)] {
        let n = &self.nodes[node as usize];
        &self.edges[n.first as usize..(n.first + n.count) as usize]
    }

    /// The child of `node` reached by `unit`, if any.
    pub fn child(&self, node: u32, unit: usize) -> Option<u32> {
        let c = self.children(node);
        let u = u32::try_from(unit).ok()?;
        c.binary_search_by_key(&u, |e| e.0).ok().map(|i| c[i].1)
    }

    /// Words whose unit sequence ends at `node` (homophones share a node).
    pub fn words_at(&self, node: u32) -> &[u32] {
        let n = &self.nodes[node as usize];
        &self.ends[n.ends_first as usize..(n.ends_first + n.ends_count) as usize]
    }

    /// Best word score in the subtree of `node` (the root's is the best of all words).
    pub fn lookahead(&self, node: u32) -> f32 {
        self.nodes[node as usize].lookahead
    }

    /// The word achieving [`lookahead`](Self::lookahead), shown as the word in progress.
    pub fn best_word(&self, node: u32) -> Option<u32> {
        let w = self.nodes[node as usize].best_word;
        (w != u32::MAX).then_some(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(name: &str) -> Option<usize> {
        ["<blk>", "AH", "B", "K", "T", "R", "EH", "D"]
            .iter()
            .position(|u| *u == name)
    }

    #[test]
    fn parses_cmudict_variants_and_stress() {
        let text = ";;; comment\nRED  R EH1 D\nREAD R EH1 D\nread(2) R IY1 D\nBAT B AH T\n";
        let (lex, skipped) = Lexicon::parse_dict(text, units, true).unwrap();
        assert_eq!(skipped, 1); // IY is not a unit
        assert_eq!(lex.num_words(), 3);
        assert_eq!(lex.prons()[0], (0, vec![5, 6, 7]));
        let e = Lexicon::parse_dict(text, units, false).unwrap_err();
        assert!(e.to_string().contains("line 4"), "{e}");
    }

    #[test]
    fn tree_shares_prefixes_and_keeps_homophones() {
        let (lex, _) =
            Lexicon::parse_dict("RED R EH D\nREAD R EH D\nRE R EH\n", units, false).unwrap();
        let scores = [-1.0, -3.0, -2.0];
        let tree = LexiconTree::new(lex, |w| scores[w as usize]);
        let r = tree.child(ROOT, 5).unwrap();
        let re = tree.child(r, 6).unwrap();
        let red = tree.child(re, 7).unwrap();
        assert_eq!(tree.words_at(red), &[0, 1]);
        assert_eq!(tree.words_at(re), &[2]);
        assert_eq!(tree.lookahead(re), -1.0); // RED below RE
        assert_eq!(tree.best_word(re), Some(0));
        assert_eq!(tree.lookahead(ROOT), -1.0);
        assert!(tree.child(red, 1).is_none());
    }
}
