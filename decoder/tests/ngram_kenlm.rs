//! Query parity with KenLM: `tools/lm/kenlm_goldens.py` scored the carried ARPA files with the
//! PyPI `kenlm` module (`tests/data/ngram/kenlm_goldens.json`); the ARPA reader, the binary
//! form (memory-mapped) and `load`'s ARPA detection must all give the same log10
//! probabilities (1e-4), through state chains from `<s>` and from the null context, with
//! backoff paths and OOV words, plus whole-sentence scores and SRILM-convention perplexity.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sotto_decoder::ngram::{estimate, perplexity};
use sotto_decoder::{LmState, NgramLm, WordId};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/ngram")
        .join(name)
}

fn goldens() -> Value {
    serde_json::from_str(&std::fs::read_to_string(data("kenlm_goldens.json")).unwrap()).unwrap()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sotto-ngram-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// A word as KenLM sees it: OOV words are `<unk>` (or an id past the vocabulary).
fn id(lm: &NgramLm, w: &str) -> WordId {
    lm.word_id(w)
        .or(lm.unk_id())
        .unwrap_or(lm.vocab_size() as WordId)
}

fn sentence_score(lm: &NgramLm, text: &str) -> f32 {
    let ids: Vec<WordId> = text.split_whitespace().map(|w| id(lm, w)).collect();
    lm.sentence_score(&ids)
}

fn check_model(lm: &NgramLm, g: &Value, how: &str) {
    let arpa = g["arpa"].as_str().unwrap();
    assert_eq!(lm.order() as u64, g["order"].as_u64().unwrap());
    let queries: Vec<WordId> = g["queries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| id(lm, w.as_str().unwrap()))
        .collect();
    let mut n = 0;
    let mut backed_off = 0;
    for c in g["contexts"].as_array().unwrap() {
        let mut s: LmState = match c["start"].as_str().unwrap() {
            "bos" => lm.begin_state(),
            _ => lm.null_state(),
        };
        let ctx: Vec<&str> = c["context"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap())
            .collect();
        for w in &ctx {
            s = lm.score(&s, id(lm, w)).1;
        }
        for (q, want) in queries.iter().zip(c["scores"].as_array().unwrap()) {
            let want = want.as_f64().unwrap() as f32;
            let (got, _) = lm.score(&s, *q);
            assert!(
                (got - want).abs() <= 1e-4,
                "{arpa} ({how}): p({} | {} {ctx:?}) = {got}, KenLM {want}",
                lm.word(*q),
                c["start"]
            );
            if !ctx.is_empty() && lm.ngram(&[*s.words().first().unwrap_or(&0), *q]).is_none() {
                backed_off += 1;
            }
            n += 1;
        }
    }
    assert!(
        n > 400 && backed_off > 50,
        "{n} queries, {backed_off} backed off"
    );
    for s in g["sentences"].as_array().unwrap() {
        let text = s["text"].as_str().unwrap();
        let want = s["score"].as_f64().unwrap() as f32;
        let got = sentence_score(lm, text);
        assert!(
            (got - want).abs() <= 1e-4,
            "{arpa} ({how}): sentence {text:?}: {got} vs KenLM {want}"
        );
    }
    let eval = std::fs::read_to_string(data("eval.txt")).unwrap();
    let p = perplexity(lm, eval.lines());
    let w = &g["perplexity"];
    assert_eq!(p.words as u64, w["words"].as_u64().unwrap());
    assert_eq!(p.oov as u64, w["oov"].as_u64().unwrap());
    assert_eq!(p.sentences as u64, w["sentences"].as_u64().unwrap());
    assert!((p.log10_prob - w["log10_prob"].as_f64().unwrap()).abs() < 1e-3);
    let want = w["ppl"].as_f64().unwrap();
    assert!(
        (p.ppl - want).abs() / want < 1e-4,
        "{arpa} ({how}): perplexity {} vs {want}",
        p.ppl
    );
}

#[test]
fn arpa_binary_and_detected_loads_match_kenlm() {
    let g = goldens();
    for m in g["models"].as_array().unwrap() {
        let arpa = data(m["arpa"].as_str().unwrap());
        let lm = NgramLm::from_arpa_file(&arpa).unwrap();
        assert!(!lm.is_mapped());
        check_model(&lm, m, "ARPA");

        let bin = tmp(&format!("{}.bin", m["arpa"].as_str().unwrap()));
        lm.write_binary(&bin).unwrap();
        let mapped = NgramLm::load(&bin).unwrap();
        assert!(mapped.is_mapped());
        assert_eq!(mapped.binary_bytes(), lm.binary_bytes());
        check_model(&mapped, m, "binary");

        let detected = NgramLm::load(&arpa).unwrap();
        check_model(&detected, m, "load() of ARPA");
        let _ = std::fs::remove_file(bin);
    }
}

#[test]
fn estimated_model_matches_kenlm_reading_its_arpa() {
    let g = goldens();
    let Some(e) = g.get("estimated") else {
        eprintln!("skipped: kenlm_goldens.json was made without --sotto");
        return;
    };
    let text = std::fs::read_to_string(data(e["text"].as_str().unwrap())).unwrap();
    let opts = estimate::EstimateOptions::new(e["order"].as_u64().unwrap() as usize);
    let lm = estimate::estimate(text.lines(), &opts).unwrap().lm;
    for s in e["sentences"].as_array().unwrap() {
        let t = s["text"].as_str().unwrap();
        let want = s["score"].as_f64().unwrap() as f32;
        let got = sentence_score(&lm, t);
        assert!((got - want).abs() <= 1e-4, "{t:?}: {got} vs KenLM {want}");
    }
    let eval = std::fs::read_to_string(data("eval.txt")).unwrap();
    let p = perplexity(&lm, eval.lines());
    let want = e["perplexity"]["ppl"].as_f64().unwrap();
    assert!((p.ppl - want).abs() / want < 1e-4, "{} vs {want}", p.ppl);
}
