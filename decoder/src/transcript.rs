//! Vocabulary pieces → words, timestamps and confidences.

use crate::{DecoderError, Token};
use std::collections::HashMap;

/// The word-start marker of sentencepiece pieces (U+2581).
pub const WORD_START: char = '\u{2581}';

/// The BPE vocabulary: piece strings by token id.
#[derive(Debug, Clone)]
pub struct Vocab {
    pieces: Vec<String>,
    ids: HashMap<String, usize>,
    max_piece_chars: usize,
}

impl Vocab {
    /// From pieces indexed by token id (`pieces[0]` is usually `<blk>`).
    pub fn new(pieces: Vec<String>) -> Self {
        let ids = pieces
            .iter()
            .enumerate()
            .map(|(i, p)| (p.clone(), i))
            .rev()
            .collect();
        let max_piece_chars = pieces.iter().map(|p| p.chars().count()).max().unwrap_or(0);
        Self {
            pieces,
            ids,
            max_piece_chars,
        }
    }

    /// Parse a sherpa/icefall `tokens.txt`: one `piece id` per line, ids `0..n` each once.
    pub fn from_tokens_txt(text: &str) -> Result<Self, DecoderError> {
        let mut pieces: Vec<Option<String>> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let err = |message: String| DecoderError::TokenTable {
                line: i + 1,
                message,
            };
            if line.trim().is_empty() {
                continue;
            }
            let (piece, id) = line
                .trim_end()
                .rsplit_once([' ', '\t'])
                .ok_or_else(|| err(format!("expected `piece id`, got {line:?}")))?;
            let id: usize = id.parse().map_err(|_| err(format!("bad id {id:?}")))?;
            if id > 1_000_000 {
                return Err(err(format!("id {id} is implausibly large")));
            }
            if pieces.len() <= id {
                pieces.resize(id + 1, None);
            }
            if pieces[id].replace(piece.to_string()).is_some() {
                return Err(err(format!("id {id} listed twice")));
            }
        }
        if pieces.is_empty() {
            return Err(DecoderError::TokenTable {
                line: 0,
                message: "no tokens".into(),
            });
        }
        let pieces = pieces
            .into_iter()
            .enumerate()
            .map(|(id, p)| {
                p.ok_or_else(|| DecoderError::TokenTable {
                    line: 0,
                    message: format!("id {id} missing"),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self::new(pieces))
    }

    /// Number of pieces.
    pub fn len(&self) -> usize {
        self.pieces.len()
    }

    /// Whether the vocabulary is empty.
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// The piece of a token id, if any.
    pub fn piece(&self, id: usize) -> Option<&str> {
        self.pieces.get(id).map(String::as_str)
    }

    /// The id of a piece, if any.
    pub fn id(&self, piece: &str) -> Option<usize> {
        self.ids.get(piece).copied()
    }

    /// Segment one word as sentencepiece BPE does when piece ids follow merge order (the
    /// recipe's models: a piece's score is minus its id): start from characters (with `▁`
    /// first) and repeatedly merge the adjacent pair whose merged piece has the lowest id.
    pub fn encode_bpe_word(&self, word: &str) -> Result<Vec<usize>, DecoderError> {
        // Parts are adjacent byte ranges of the marked word, so a merged pair is a substring:
        // no allocation per candidate merge.
        let marked: String = std::iter::once(WORD_START).chain(word.chars()).collect();
        let mut parts: Vec<(usize, usize)> = marked
            .char_indices()
            .map(|(i, c)| (i, i + c.len_utf8()))
            .collect();
        // `▁` alone may be absent: then it is merged with the first character up front.
        if parts.len() > 1 && self.id(&marked[parts[0].0..parts[0].1]).is_none() {
            parts[0].1 = parts[1].1;
            parts.remove(1);
        }
        loop {
            let mut best: Option<(usize, usize)> = None;
            for i in 0..parts.len().saturating_sub(1) {
                if let Some(id) = self.id(&marked[parts[i].0..parts[i + 1].1]) {
                    if best.is_none_or(|(b, _)| id < b) {
                        best = Some((id, i));
                    }
                }
            }
            let Some((_, i)) = best else { break };
            parts[i].1 = parts[i + 1].1;
            parts.remove(i + 1);
        }
        parts
            .iter()
            .map(|&(a, b)| {
                self.id(&marked[a..b])
                    .ok_or_else(|| DecoderError::Tokenize {
                        word: word.to_string(),
                        rest: marked[a..b].to_string(),
                    })
            })
            .collect()
    }

    /// Split text into pieces by greedy longest match, each whitespace-separated word
    /// starting with `▁` (a simple stand-in for sentencepiece, good enough for hotwords when
    /// the real tokenizer is not at hand). The text must use the vocabulary's case.
    pub fn encode(&self, text: &str) -> Result<Vec<usize>, DecoderError> {
        let mut ids = Vec::new();
        for word in text.split_whitespace() {
            let marked: Vec<char> = std::iter::once(WORD_START).chain(word.chars()).collect();
            let mut pos = 0;
            while pos < marked.len() {
                let longest = (pos + 1..=marked.len().min(pos + self.max_piece_chars))
                    .rev()
                    .find_map(|end| {
                        self.id(&marked[pos..end].iter().collect::<String>())
                            .map(|id| (end, id))
                    });
                match longest {
                    Some((end, id)) => {
                        ids.push(id);
                        pos = end;
                    }
                    None => {
                        return Err(DecoderError::Tokenize {
                            word: word.to_string(),
                            rest: marked[pos..].iter().collect(),
                        })
                    }
                }
            }
        }
        Ok(ids)
    }
}

/// One recognized word.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Word {
    /// The word text (pieces joined, `▁` removed).
    pub word: String,
    /// Start time in seconds: emission frame of its first token × frame duration.
    pub start: f32,
    /// End time in seconds: emission frame of its last token + 1, × frame duration.
    pub end: f32,
    /// Geometric mean of its tokens' probabilities, `exp(mean log p)`, in (0, 1].
    pub confidence: f32,
}

/// One token of a transcript.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TokenInfo {
    /// Vocabulary id.
    pub id: usize,
    /// The piece (`<unk:ID>` for an id outside the vocabulary).
    pub piece: String,
    /// Emission time in seconds (emission frame × frame duration).
    pub time: f32,
    /// Acoustic probability at emission.
    pub prob: f32,
}

/// A recognition result: text, words with times and confidence, and the tokens.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct Transcript {
    /// Words separated by single spaces.
    pub text: String,
    /// The words.
    pub words: Vec<Word>,
    /// The tokens.
    pub tokens: Vec<TokenInfo>,
    /// Final results with [`DecoderOptions::alternatives`](crate::DecoderOptions::alternatives)
    /// > 0: the most likely distinct texts, best first; empty otherwise (and not serialized).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<Alternative>,
}

/// One alternative text of a final result.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Alternative {
    /// Words separated by single spaces.
    pub text: String,
    /// Natural-log score of the search (acoustic + LM and the other terms of the final
    /// choice), summed over the beam's hypotheses with this text; only differences between
    /// alternatives of one result mean something.
    pub score: f32,
}

impl Transcript {
    /// Assemble a transcript from words found by the word-level search and the tokens that
    /// spell them.
    pub fn from_words(
        words: Vec<Word>,
        tokens: &[Token],
        vocab: &Vocab,
        frame_duration: f32,
    ) -> Self {
        let time = |frame: usize| (frame as f64 * frame_duration as f64) as f32;
        let tokens = tokens
            .iter()
            .map(|t| TokenInfo {
                id: t.id,
                piece: vocab
                    .piece(t.id)
                    .map_or_else(|| format!("<unk:{}>", t.id), str::to_string),
                time: time(t.frame),
                prob: libm::expf(t.logprob),
            })
            .collect();
        let text = words
            .iter()
            .map(|w| w.word.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            text,
            words,
            tokens,
            alternatives: Vec::new(),
        }
    }

    /// Assemble a transcript from emitted tokens: pieces are concatenated and split into
    /// words at `▁`. `frame_duration` is the encoder frame duration in seconds.
    pub fn from_tokens(tokens: &[Token], vocab: &Vocab, frame_duration: f32) -> Self {
        let time = |frame: usize| (frame as f64 * frame_duration as f64) as f32;
        let mut words = Vec::new();
        // Current word: text, first frame, last frame, sum of log-probs, token count.
        let mut cur: Option<(String, usize, usize, f32, usize)> = None;
        let mut flush = |cur: &mut Option<(String, usize, usize, f32, usize)>| {
            if let Some((word, first, last, sum, n)) = cur.take() {
                if !word.is_empty() {
                    let confidence = libm::expf(sum / n as f32);
                    words.push(Word {
                        word,
                        start: time(first),
                        end: time(last + 1),
                        confidence,
                    });
                }
            }
        };
        for t in tokens {
            let piece = vocab
                .piece(t.id)
                .map_or_else(|| format!("<unk:{}>", t.id), str::to_string);
            let mut counted = false;
            for ch in piece.chars() {
                if ch == WORD_START || ch.is_whitespace() {
                    flush(&mut cur);
                    cur = Some((String::new(), t.frame, t.frame, t.logprob, 1));
                    counted = true;
                    continue;
                }
                let w = cur.get_or_insert_with(|| (String::new(), t.frame, t.frame, 0.0, 0));
                if !counted {
                    w.2 = t.frame;
                    w.3 += t.logprob;
                    w.4 += 1;
                    counted = true;
                }
                w.0.push(ch);
            }
        }
        flush(&mut cur);
        Self::from_words(words, tokens, vocab, frame_duration)
    }
}
