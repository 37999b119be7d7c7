//! Word-level search setup for a [`Recognizer`](super::Recognizer): which lexicon and word LM
//! to use (given, or shipped beside the model), read and compiled once.

use super::RecognizerConfig;
use crate::AsrError;
use sotto_decoder::ngram::NgramLm;
use sotto_decoder::{
    parse_hotwords, Hotword, Lexicon, Spelling, TokenBigram, Vocab, WordGraph, WordScoring,
};
use sotto_models::transducer::{ModelInfo, Units};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Suffixes of the files shipped beside a model `NAME[-int8|-f32].safetensors`:
/// `NAME.lexicon.txt` and `NAME.lm.bin`.
pub const LEXICON_SUFFIX: &str = ".lexicon.txt";
/// See [`LEXICON_SUFFIX`].
pub const LM_SUFFIX: &str = ".lm.bin";

/// `models/zoo/sotto-en-int8.safetensors` → `models/zoo/sotto-en` (the companions' stem).
fn companion_stem(model: &Path) -> Option<PathBuf> {
    let stem = model.file_stem()?.to_str()?;
    let base = stem
        .strip_suffix("-int8")
        .or_else(|| stem.strip_suffix("-f32"))
        .unwrap_or(stem);
    Some(model.with_file_name(base))
}

/// A companion file beside the model, if it exists.
pub fn companion(model: &Path, suffix: &str) -> Option<PathBuf> {
    let stem = companion_stem(model)?;
    let p = PathBuf::from(format!("{}{suffix}", stem.display()));
    p.is_file().then_some(p)
}

/// The lexicon and LM files a config resolves to.
pub(crate) fn resolve(config: &RecognizerConfig) -> (Option<PathBuf>, Option<PathBuf>) {
    let auto = |suffix| {
        if config.use_companions {
            companion(&config.model, suffix)
        } else {
            None
        }
    };
    let lexicon = config.lexicon.clone().or_else(|| auto(LEXICON_SUFFIX));
    let lm = if config.no_lm {
        None
    } else {
        config.lm.clone().or_else(|| auto(LM_SUFFIX))
    };
    (lexicon, lm)
}

/// Build the word graph, or `None` for free token search (a BPE model without lexicon and LM).
pub(crate) fn word_graph(
    config: &RecognizerConfig,
    info: &ModelInfo,
    vocab: &Vocab,
    blank: usize,
    hotwords: Option<&[Hotword]>,
    token_bigram: Option<&[f32]>,
) -> Result<Option<Arc<WordGraph>>, AsrError> {
    // Checked even when there is no bigram or LM to apply it to.
    let w = config.lodr_weight;
    TokenBigram::check_weight(w)?;
    let (lexicon_path, lm_path) = resolve(config);
    if info.units == Units::Phones && lexicon_path.is_none() {
        return Err(AsrError::ModelConfig {
            path: config.model.clone(),
            msg: "a phone model needs a pronunciation lexicon (--lexicon FILE, or NAME.lexicon.txt beside the model)".into(),
        });
    }
    if lexicon_path.is_none() && lm_path.is_none() {
        return Ok(None);
    }
    let lm = match &lm_path {
        None => None,
        Some(p) => Some(Arc::new(NgramLm::load(p).map_err(|e| AsrError::Lm {
            path: p.clone(),
            msg: e.to_string(),
        })?)),
    };
    let spell = |w: &str| vocab.encode_bpe_word(w);
    let mut lexicon = match (&lexicon_path, info.units) {
        (Some(p), Units::Phones) => {
            let text = std::fs::read_to_string(p).map_err(|e| lex_err(p, e.to_string()))?;
            let (lex, _skipped) = Lexicon::parse_dict(&text, |u| vocab.id(u), true)
                .map_err(|e| lex_err(p, e.to_string()))?;
            lex
        }
        (Some(p), Units::Bpe) => {
            // For a BPE model the lexicon is a word list (first column; pronunciations ignored).
            let text = std::fs::read_to_string(p).map_err(|e| lex_err(p, e.to_string()))?;
            let mut lex = Lexicon::new();
            for line in text.lines() {
                if let Some(w) = line.split_whitespace().next() {
                    if !w.starts_with(";;;") && !w.starts_with('#') {
                        let _ = lex.add_spelled(&w.to_uppercase(), spell);
                    }
                }
            }
            lex
        }
        (None, _) => {
            // BPE model with an LM only: the LM's words, spelled with the model's pieces.
            let lm = lm.as_ref().expect("an LM when there is no lexicon");
            let mut lex = Lexicon::new();
            for id in 0..lm.vocab_size() as u32 {
                let w = lm.word(id);
                if !matches!(w, "<s>" | "</s>" | "<unk>") {
                    let _ = lex.add_spelled(w, spell);
                }
            }
            lex
        }
    };
    // Hotword words missing from the lexicon: spelled with BPE pieces, or an error for phones.
    if let Some(list) = hotwords {
        for h in list {
            for w in h.phrase.split_whitespace() {
                let w = w.to_uppercase();
                if lexicon.id(&w).is_none() && info.units == Units::Bpe {
                    let _ = lexicon.add_spelled(&w, spell);
                }
            }
        }
    }
    if lexicon.num_prons() == 0 {
        let p = lexicon_path.or(lm_path).unwrap_or_default();
        return Err(lex_err(
            &p,
            "no word of it can be spelled with the model's units".into(),
        ));
    }
    let upper: Option<Vec<Hotword>> = hotwords.map(|l| {
        l.iter()
            .map(|h| Hotword {
                phrase: h.phrase.to_uppercase(),
                boost: h.boost,
            })
            .collect()
    });
    let scoring = WordScoring {
        lm_weight: config.lm_weight,
        word_bonus: config.word_bonus,
        ..WordScoring::default()
    };
    let graph = WordGraph::new(
        lexicon,
        lm,
        scoring,
        upper.as_deref().map(|l| (l, config.hotword_boost)),
    )
    .map_err(|e| match (&config.hotwords, e) {
        (Some(p), e @ sotto_decoder::DecoderError::Phrase { .. }) => AsrError::Hotwords {
            path: p.clone(),
            msg: e.to_string(),
        },
        (_, e) => AsrError::Decoder(e),
    })?;
    // A BPE model may still write a word outside the lexicon, piece by piece.
    let graph = match (config.spell_penalty, info.units) {
        (Some(penalty), Units::Bpe) => graph
            .with_spelling(Spelling::from_vocab(vocab, blank, penalty))
            .map_err(AsrError::Decoder)?,
        _ => graph,
    };
    // LODR only beside a word LM (it corrects shallow fusion) and only for the transducer (the
    // bigram stands in for its prediction network; CTC has no internal LM).
    let graph = match token_bigram {
        Some(b) if graph.lm().is_some() && !config.ctc => {
            let bigram = TokenBigram::new(info.hyper.vocab_size, b.to_vec())?;
            graph.with_lodr(bigram, w)?
        }
        _ => graph,
    };
    Ok(Some(Arc::new(graph)))
}

fn lex_err(path: &Path, msg: String) -> AsrError {
    AsrError::Lexicon {
        path: path.into(),
        msg,
    }
}

/// Read and parse a hotwords file.
pub(crate) fn read_hotwords(path: &Path) -> Result<Vec<Hotword>, AsrError> {
    let hw_err = |msg: String| AsrError::Hotwords {
        path: path.into(),
        msg,
    };
    let text = std::fs::read_to_string(path).map_err(|e| hw_err(e.to_string()))?;
    parse_hotwords(&text).map_err(|e| hw_err(e.to_string()))
}
