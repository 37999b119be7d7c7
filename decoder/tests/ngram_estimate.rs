//! The Rust modified Kneser-Ney estimator against the plain Python reference
//! (`tools/lm/kn_reference.py` → `tests/data/ngram/kn_*.json`): vocabulary, adjusted counts,
//! count-of-counts, discounts and every probability and backoff of the model.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sotto_decoder::ngram::estimate::{EstimateOptions, Estimator};
use sotto_decoder::NgramLm;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/ngram")
        .join(name)
}

fn lines(name: &str) -> Vec<String> {
    std::fs::read_to_string(data(name))
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn golden(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(data(name)).unwrap()).unwrap()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

/// Every n-gram of the model, as "w1 w2 …" → (log10 p, log10 bo).
fn listing(lm: &NgramLm) -> Vec<HashMap<String, (f32, f32)>> {
    let mut arpa = Vec::new();
    lm.write_arpa(&mut arpa).unwrap();
    let text = String::from_utf8(arpa).unwrap();
    let mut out = vec![HashMap::new(); lm.order()];
    let mut k = 0;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix('\\') {
            k = rest.split('-').next().unwrap().parse().unwrap_or(0);
            continue;
        }
        if k == 0 || line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let p: f32 = f[0].parse().unwrap();
        let bo: f32 = f.get(k + 1).map_or(0.0, |b| b.parse().unwrap());
        out[k - 1].insert(f[1..=k].join(" "), (p, bo));
    }
    out
}

fn check_case(name: &str) {
    let g = golden(&format!("{name}.json"));
    let order = g["order"].as_u64().unwrap() as usize;
    let mut opts = EstimateOptions::new(order);
    opts.prune = g["prune"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    if let Some(v) = g["vocab_file"].as_str() {
        opts.vocab = Some(lines(v));
    }
    opts.chunk = 1024; // exercise the chunked counting and merging
    let mut est = Estimator::new(opts).unwrap();
    est.keep_counts(true);
    for s in lines(g["text"].as_str().unwrap()) {
        est.add_sentence(&s).unwrap();
    }
    let e = est.finish().unwrap();
    let lm = &e.lm;
    assert_eq!(e.tokens, g["tokens"].as_u64().unwrap(), "{name}: tokens");
    assert_eq!(
        e.sentences,
        g["sentences"].as_u64().unwrap(),
        "{name}: sentences"
    );

    // Vocabulary, in the same id order.
    let vocab: Vec<&str> = g["vocab"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(lm.vocab_size(), vocab.len(), "{name}: vocabulary size");
    for (i, w) in vocab.iter().enumerate() {
        assert_eq!(lm.word(i as u32), *w, "{name}: word {i}");
        assert_eq!(lm.word_id(w), Some(i as u32));
    }

    // Adjusted counts of every n-gram.
    let ac = e.adjusted_counts.as_ref().unwrap();
    for k in 0..order {
        let want: HashMap<String, u64> = g["adjusted_counts"][k]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_u64().unwrap()))
            .collect();
        let got: HashMap<String, u64> = ac[k]
            .iter()
            .map(|(ws, a)| {
                let s: Vec<&str> = ws.iter().map(|&w| lm.word(w)).collect();
                (s.join(" "), *a)
            })
            .collect();
        assert_eq!(got, want, "{name}: adjusted counts of order {}", k + 1);
    }

    // Count-of-counts and discounts.
    for k in 0..order {
        let st = &e.stats[k];
        let coc: Vec<u64> = g["count_of_counts"][k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(
            st.count_of_counts.to_vec(),
            coc,
            "{name}: count-of-counts {}",
            k + 1
        );
        assert_eq!(st.fallback, g["fallback"][k].as_bool().unwrap());
        for j in 0..3 {
            let d = g["discounts"][k][j].as_f64().unwrap();
            assert!(
                close(st.discounts[j], d, 1e-12),
                "{name}: order {} D{}: {} vs {d}",
                k + 1,
                j + 1,
                st.discounts[j]
            );
        }
    }

    // Every probability and backoff.
    let have = listing(lm);
    let mut total = 0;
    for k in 0..order {
        let rows = g["ngrams"][k].as_array().unwrap();
        assert_eq!(
            have[k].len(),
            rows.len(),
            "{name}: number of {}-grams",
            k + 1
        );
        assert_eq!(lm.num_ngrams()[k], rows.len());
        for r in rows {
            let ng = r[0].as_str().unwrap();
            let p = r[1].as_f64().unwrap();
            let bo = r[2].as_f64().unwrap_or(0.0);
            let Some(&(gp, gbo)) = have[k].get(ng) else {
                panic!("{name}: {ng:?} missing from the Rust model");
            };
            assert!(close(gp as f64, p, 1e-5), "{name}: p({ng}) {gp} vs {p}");
            assert!(
                close(gbo as f64, bo, 1e-5),
                "{name}: bo({ng}) {gbo} vs {bo}"
            );
            // The same through the explicit lookup.
            let ids: Vec<u32> = ng.split(' ').map(|w| lm.word_id(w).unwrap()).collect();
            let (lp, lbo) = lm.ngram(&ids).unwrap();
            assert_eq!((lp, lbo), (gp, gbo));
            total += 1;
        }
    }
    assert!(total > 10);
}

#[test]
fn kitchen_order3_equals_reference() {
    check_case("kn_kitchen3");
}

#[test]
fn kitchen_order3_pruned_fixed_vocab_equals_reference() {
    check_case("kn_kitchen3_pruned_vocab");
}

#[test]
fn garden_order4_pruned_equals_reference() {
    check_case("kn_garden4_pruned");
}

#[test]
fn commands_order2_fixed_vocab_equals_reference() {
    check_case("kn_commands2_vocab");
}

#[test]
fn commands_order1_equals_reference() {
    check_case("kn_commands1");
}

#[test]
fn estimated_arpa_round_trips() {
    let text = lines("kitchen.txt");
    let e = sotto_decoder::ngram::estimate::estimate(&text, &EstimateOptions::new(3)).unwrap();
    let mut arpa = Vec::new();
    e.lm.write_arpa(&mut arpa).unwrap();
    let back = NgramLm::from_arpa_reader(&arpa[..], "mem").unwrap();
    assert_eq!(
        back.binary_bytes(),
        e.lm.binary_bytes(),
        "ARPA → model is exact"
    );
}

/// Entropy pruning keeps a proper model, removes more with a larger threshold, and costs
/// little perplexity on the training text at a small threshold.
#[test]
fn entropy_pruning_shrinks_the_model_gradually() {
    let text = lines("kitchen.txt");
    let mut sizes = Vec::new();
    let mut ppls = Vec::new();
    for theta in [0.0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1] {
        let mut o = EstimateOptions::new(3);
        o.entropy_prune = theta;
        let lm = sotto_decoder::ngram::estimate::estimate(&text, &o)
            .unwrap()
            .lm;
        let n = lm.num_ngrams();
        assert_eq!(n[0], 90, "unigrams are never pruned");
        sizes.push(n[1] + n[2]);
        ppls.push(sotto_decoder::ngram::perplexity(&lm, &text).ppl);
    }
    eprintln!("n-grams {sizes:?}, training perplexity {ppls:?}");
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
    assert!(sizes[6] < sizes[0] / 2, "{sizes:?}");
    assert!(ppls[1] < ppls[0] * 1.01, "{ppls:?}");
    assert!(ppls.windows(2).all(|w| w[1] >= w[0] * 0.999), "{ppls:?}");
}

/// Every n-gram of `want` is in `got` with the same log10 probability (within 1e-5) and backoff
/// (within 1e-4): equal up to the log10 rounding of stored values.
fn assert_same_ngrams(got: &NgramLm, want: &NgramLm, what: &str) {
    let (g, w) = (listing(got), listing(want));
    for (k, (gk, wk)) in g.iter().zip(&w).enumerate() {
        for (ngram, &(wp, wb)) in wk {
            let &(gp, gb) = gk
                .get(ngram)
                .unwrap_or_else(|| panic!("{what}: {}-gram {ngram} lost", k + 1));
            assert!(
                close(gp as f64, wp as f64, 1e-5) && close(gb as f64, wb as f64, 1e-4),
                "{what}: {ngram}: ({gp}, {gb}) vs ({wp}, {wb})"
            );
        }
    }
}

/// Pruning a finished model (`NgramLm::prune_entropy`, read back from its ARPA text) keeps and
/// drops the same n-grams as pruning at estimation, with the same probabilities and backoffs up
/// to the log10 rounding of the stored values.
#[test]
fn pruning_a_finished_model_equals_pruning_at_estimation() {
    let text = lines("kitchen.txt");
    let full = sotto_decoder::ngram::estimate::estimate(&text, &EstimateOptions::new(3))
        .unwrap()
        .lm;
    let mut arpa = Vec::new();
    full.write_arpa(&mut arpa).unwrap();
    let from_arpa = NgramLm::from_arpa_reader(&arpa[..], "full.arpa").unwrap();
    let mut removed = Vec::new();
    for theta in [1e-5, 1e-4, 1e-3, 1e-2] {
        let mut o = EstimateOptions::new(3);
        o.entropy_prune = theta;
        let want = sotto_decoder::ngram::estimate::estimate(&text, &o)
            .unwrap()
            .lm;
        let got = from_arpa.prune_entropy(theta).unwrap();
        assert_eq!(got.num_ngrams(), want.num_ngrams(), "theta {theta}");
        assert_same_ngrams(&got, &want, &format!("theta {theta}"));
        let n = full.num_ngrams();
        let m = got.num_ngrams();
        removed.push(n[1] + n[2] - m[1] - m[2]);
    }
    assert!(removed[3] > removed[0] && removed[0] > 0, "{removed:?}");
    for bad in [0.0, -1e-6, f64::NAN, f64::INFINITY] {
        assert!(
            matches!(
                full.prune_entropy(bad),
                Err(sotto_decoder::NgramError::Options(_))
            ),
            "threshold {bad}"
        );
    }
}

/// A model mixed with itself is itself (up to log10 rounding); bad weights are named errors.
#[test]
fn mixing_a_model_with_itself_changes_nothing() {
    let text = lines("kitchen.txt");
    let lm = sotto_decoder::ngram::estimate::estimate(&text, &EstimateOptions::new(3))
        .unwrap()
        .lm;
    let m = NgramLm::mix(&[&lm, &lm], &[0.3, 0.7], "self").unwrap();
    assert_eq!(m.num_ngrams(), lm.num_ngrams());
    assert_same_ngrams(&m, &lm, "self-mix");
    for w in [
        &[0.5, 0.6][..],
        &[1.0][..],
        &[-0.5, 1.5][..],
        &[0.5, f64::NAN][..],
    ] {
        assert!(
            matches!(
                NgramLm::mix(&[&lm, &lm], w, "bad"),
                Err(sotto_decoder::NgramError::Options(_))
            ),
            "weights {w:?}"
        );
    }
}

#[test]
fn options_are_checked() {
    let mut o = EstimateOptions::new(6);
    assert!(Estimator::new(o.clone()).is_err());
    o.order = 0;
    assert!(Estimator::new(o.clone()).is_err());
    o.order = 3;
    o.prune = vec![1, 1];
    assert!(
        Estimator::new(o.clone()).is_err(),
        "unigrams cannot be pruned"
    );
    o.prune = vec![];
    let e = Estimator::new(o).unwrap();
    assert!(matches!(
        e.finish(),
        Err(sotto_decoder::NgramError::EmptyText)
    ));
}
