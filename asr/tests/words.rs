//! Word-level recognition through the public API: phone models with a lexicon, BPE models with
//! a word LM, and the lexicon / LM files shipped beside a model.

use proptest::prelude::*;
use sotto_asr::recognizer::{Recognizer, RecognizerConfig};
use sotto_asr::AsrError;
use sotto_decoder::NgramLm;
use sotto_models::transducer::{random_model_bytes, tiny_hyperparameters, Transducer};
use std::path::{Path, PathBuf};

mod common;
use common::{chunked, one_shot};

/// Rewrite the `sotto` metadata document of a safetensors model file.
fn with_metadata(bytes: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let doc = header["__metadata__"]["sotto"]
        .as_str()
        .unwrap()
        .to_string();
    let mut meta: serde_json::Value = serde_json::from_str(&doc).unwrap();
    edit(&mut meta);
    header["__metadata__"]["sotto"] = serde_json::Value::String(meta.to_string());
    let mut h = serde_json::to_vec(&header).unwrap();
    // Keep the tensor data 8-byte aligned, as the writer did (safetensors pads with spaces).
    while !(8 + h.len()).is_multiple_of(8) {
        h.push(b' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&h);
    out.extend_from_slice(&bytes[8 + n..]);
    out
}

/// The tiny random model as a phone model: units P1..P11.
fn phone_model() -> Vec<u8> {
    with_metadata(&random_model_bytes(&tiny_hyperparameters(), 5, true), |m| {
        m["units"] = "phones".into();
        let tokens: Vec<String> = std::iter::once("<blk>".to_string())
            .chain((1..12).map(|i| format!("P{i}")))
            .collect();
        m["tokens"] = tokens.into();
    })
}

/// Writes `contents` to `dir/name` and returns the path.
fn write_in(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    p
}

/// A recognizer around a model given as file bytes (`config.model` is only a name).
fn from_bytes(bytes: &[u8], config: RecognizerConfig) -> Result<Recognizer, AsrError> {
    Recognizer::from_transducer(Transducer::from_bytes(bytes, "m").unwrap(), config)
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sotto-asr-words-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Speech-like synthetic audio (gliding tones with bursts).
fn synth(seconds: f32, seed: u32) -> Vec<f32> {
    sotto_testutil::gliding_tones(seconds, seed)
        .into_iter()
        .map(|s| s as f32 / 32768.0)
        .collect()
}

const PHONE_LEXICON: &str = "ONE P1 P2\nTWO P3\nTHREE P4 P5 P6\nFOUR P7\nFIVE P8 P9\nSIX P10\nSEVEN P11\nEIGHT P1\nNINE P2 P3\n";

/// A word LM over the lexicon words (uniform-ish unigrams, a few bigrams).
const WORD_ARPA: &str = "\\data\\
ngram 1=12
ngram 2=2

\\1-grams:
-1.0 </s>
-99 <s> -0.2
-1.0 ONE -0.2
-1.0 TWO -0.2
-1.0 THREE -0.2
-1.0 FOUR -0.2
-1.0 FIVE -0.2
-1.0 SIX -0.2
-1.0 SEVEN -0.2
-1.0 EIGHT -0.2
-1.0 NINE -0.2
-2.0 <unk>

\\2-grams:
-0.3 ONE TWO
-0.3 <s> ONE

\\end\\
";

fn phone_recognizer(dir: &Path, beam: usize) -> Recognizer {
    let lex = write_in(dir, "lexicon.txt", PHONE_LEXICON);
    let t = Transducer::from_bytes(&phone_model(), "phones").unwrap();
    Recognizer::from_transducer(
        t,
        RecognizerConfig {
            beam,
            lexicon: Some(lex),
            ..RecognizerConfig::new(dir.join("phones.safetensors"))
        },
    )
    .unwrap()
}

#[test]
fn a_phone_model_needs_a_lexicon() {
    let t = Transducer::from_bytes(&phone_model(), "phones").unwrap();
    let e =
        Recognizer::from_transducer(t, RecognizerConfig::new("phones.safetensors")).unwrap_err();
    assert!(matches!(e, AsrError::ModelConfig { .. }), "{e}");
    assert!(e.to_string().contains("lexicon"), "{e}");
}

#[test]
fn a_phone_model_spells_lexicon_words() {
    let dir = temp_dir("phones");
    let rec = phone_recognizer(&dir, 4);
    let words = [
        "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE",
    ];
    let t = one_shot(&rec, &synth(2.0, 3));
    assert!(
        !t.words.is_empty(),
        "the random model should emit something"
    );
    for w in &t.words {
        assert!(
            words.contains(&w.word.as_str()),
            "{} is not a lexicon word",
            w.word
        );
        assert!(w.start < w.end);
    }
    // Every token belongs to a word: the tokens spell the words' pronunciations in order.
    let spelled: Vec<&str> = t.tokens.iter().map(|t| t.piece.as_str()).collect();
    let lex: std::collections::HashMap<&str, Vec<&str>> = PHONE_LEXICON
        .lines()
        .map(|l| {
            let mut p = l.split_whitespace();
            (p.next().unwrap(), p.collect())
        })
        .collect();
    let want: Vec<&str> = t
        .words
        .iter()
        .flat_map(|w| lex[w.word.as_str()].clone())
        .collect();
    assert_eq!(spelled, want);
}

#[test]
fn a_bad_lexicon_is_a_named_error() {
    let dir = temp_dir("badlex");
    let lex = write_in(&dir, "bad.txt", "ONE XX YY\n");
    let t = Transducer::from_bytes(&phone_model(), "phones").unwrap();
    let e = Recognizer::from_transducer(
        t,
        RecognizerConfig {
            lexicon: Some(lex.clone()),
            ..RecognizerConfig::new("phones.safetensors")
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("bad.txt"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]
    /// Word-level decoding: any chunking gives the one-shot transcript.
    #[test]
    fn word_search_chunking_equals_one_shot(cuts in proptest::collection::vec(1usize..5000, 1..8), beam in 1usize..5) {
        let dir = temp_dir("chunks");
        let rec = phone_recognizer(&dir, beam);
        let audio = synth(1.5, 4);
        let want = one_shot(&rec, &audio);
        prop_assert_eq!(chunked(&rec, 16000, &audio, &cuts, true), want);
    }
}

#[test]
fn companions_beside_the_model_are_used_unless_told_otherwise() {
    let dir = temp_dir("companions");
    let model = write_in(&dir, "x-int8.safetensors", phone_model());
    write_in(&dir, "x.lexicon.txt", PHONE_LEXICON);
    let lm = NgramLm::from_arpa_reader(WORD_ARPA.as_bytes(), "words.arpa").unwrap();
    lm.write_binary(&dir.join("x.lm.bin")).unwrap();
    let rec = Recognizer::new(RecognizerConfig::new(&model)).unwrap();
    let g = rec.word_graph().expect("lexicon found beside the model");
    assert!(g.lm().is_some(), "LM found beside the model");
    let rec = Recognizer::new(RecognizerConfig {
        no_lm: true,
        ..RecognizerConfig::new(&model)
    })
    .unwrap();
    assert!(rec.word_graph().unwrap().lm().is_none());
    // With the LM the words still come from the lexicon.
    let rec = Recognizer::new(RecognizerConfig::new(&model)).unwrap();
    let t = one_shot(&rec, &synth(2.0, 5));
    assert!(t
        .words
        .iter()
        .all(|w| PHONE_LEXICON.contains(&format!("{} ", w.word))));
}

#[test]
fn a_bpe_model_with_an_lm_spells_lm_words_with_its_pieces() {
    // The random model's pieces: ▁b c d ▁e f g ▁h i j ▁k l.
    let arpa = "\\data\\\nngram 1=7\n\n\\1-grams:\n-1.0 </s>\n-99 <s>\n-1.0 bc\n-1.0 ef\n-1.0 hij\n-1.0 k\n-1.0 xyz\n\n\\end\\\n";
    let dir = temp_dir("bpe");
    let model = random_model_bytes(&tiny_hyperparameters(), 5, true);
    let with_lm = |lm: PathBuf| RecognizerConfig {
        lm: Some(lm),
        ..RecognizerConfig::new("m")
    };
    let rec = from_bytes(&model, with_lm(write_in(&dir, "w.arpa", arpa))).unwrap();
    let g = rec.word_graph().unwrap();
    // xyz cannot be spelled with the model's pieces and is left out.
    assert_eq!(g.tree().lexicon().num_words(), 4);
    let out = one_shot(&rec, &synth(2.0, 6));
    assert!(
        out.words
            .iter()
            .all(|w| ["bc", "ef", "hij", "k"].contains(&w.word.as_str())),
        "{}",
        out.text
    );
    // A broken LM file is a named error.
    let bad = write_in(&dir, "bad.arpa", "\\data\\\nngram 1=x\n");
    let e = from_bytes(&model, with_lm(bad)).unwrap_err();
    assert!(
        matches!(e, AsrError::Lm { .. }) && e.to_string().contains("bad.arpa"),
        "{e}"
    );
}

/// The tiny random model with a `token_bigram` tensor (uniform over its 12 tokens).
fn model_with_bigram() -> Vec<u8> {
    use sotto_models::format::{ModelFile, ModelWriter};
    let bytes = random_model_bytes(&tiny_hyperparameters(), 5, true);
    let file = ModelFile::from_bytes(&bytes, "m").unwrap();
    let mut w = ModelWriter::new(file.metadata().clone());
    let names: Vec<String> = file.tensors().map(|(n, _)| n.to_string()).collect();
    for n in &names {
        w.copy_from(&file, n).unwrap();
    }
    let v = tiny_hyperparameters().vocab_size;
    w.add_f32("token_bigram", &[v, v], &vec![-(v as f32).ln(); v * v]);
    w.to_bytes().unwrap()
}

#[test]
fn lodr_applies_with_a_word_lm_and_a_model_bigram_only() {
    let arpa = "\\data\\\nngram 1=6\n\n\\1-grams:\n-1.0 </s>\n-99 <s>\n-1.0 bc\n-1.0 ef\n-1.0 hij\n-1.0 k\n\n\\end\\\n";
    let dir = temp_dir("lodr");
    let lm_path = write_in(&dir, "w.arpa", arpa);
    let with_lm = |lodr_weight: f32| RecognizerConfig {
        lm: Some(lm_path.clone()),
        lodr_weight,
        ..RecognizerConfig::new("m")
    };
    let bigram = model_with_bigram();
    let w = sotto_asr::recognizer::DEFAULT_LODR_WEIGHT;
    let rec = from_bytes(&bigram, with_lm(w)).unwrap();
    assert_eq!(rec.word_graph().unwrap().lodr().map(|(_, x)| x), Some(w));
    let rec = from_bytes(&bigram, with_lm(0.0)).unwrap();
    assert!(rec.word_graph().unwrap().lodr().is_none());
    // No bigram in the file: nothing to subtract.
    let plain = random_model_bytes(&tiny_hyperparameters(), 5, true);
    let rec = from_bytes(&plain, with_lm(w)).unwrap();
    assert!(rec.word_graph().unwrap().lodr().is_none());
    // A bad weight is an error, with or without a bigram to apply it to.
    for bytes in [&bigram, &plain] {
        let e = from_bytes(bytes, with_lm(-1.0)).unwrap_err();
        assert!(e.to_string().contains("LODR weight -1"), "{e}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
