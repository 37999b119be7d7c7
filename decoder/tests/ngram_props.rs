//! Properties of the n-gram LM on random texts and random bytes:
//! * every context of an estimated model (pruned or not) is a distribution: the probabilities
//!   of all words but `<s>` (with `</s>` and `<unk>`) sum to 1;
//! * so is every context of a finished model after entropy pruning, and of a static mixture of
//!   two models, whose listed n-grams carry the dynamic mixture of the components' ARPA
//!   probabilities;
//! * the binary form and ARPA round-trip exactly;
//! * the state chain gives the score of the full history under ARPA backoff semantics (a naive
//!   recursive definition over the ARPA text), also for ARPA files that lack contexts/suffixes;
//! * states are minimized: only the last order−1 words matter, equal futures give equal states;
//! * arbitrary bytes, truncations and corruptions never panic either reader.

use std::collections::HashMap;

use proptest::prelude::*;
use sotto_decoder::ngram::estimate::{estimate, EstimateOptions};
use sotto_decoder::{LmState, NgramLm, WordId};

const WORDS: [&str; 12] = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"];

fn text_strategy() -> impl Strategy<Value = (Vec<String>, usize)> {
    (2usize..=12).prop_flat_map(|v| {
        (
            prop::collection::vec(
                prop::collection::vec(
                    // Skewed towards the first words, so counts of 2–4 occur.
                    (0usize..v, 0usize..v).prop_map(|(x, y)| x.min(y)),
                    0..9,
                )
                .prop_map(|ws| ws.iter().map(|&i| WORDS[i]).collect::<Vec<_>>().join(" ")),
                1..40,
            ),
            Just(v),
        )
    })
}

/// ARPA semantics, straight from the text: n-gram → (log10 p, log10 bo).
struct Naive {
    order: usize,
    map: HashMap<Vec<String>, (f64, f64)>,
}

impl Naive {
    fn parse(arpa: &str) -> Naive {
        let mut map = HashMap::new();
        let (mut k, mut order) = (0, 0);
        for line in arpa.lines() {
            let line = line.trim();
            if let Some(r) = line.strip_prefix("ngram ") {
                order = order.max(r.split('=').next().unwrap().parse().unwrap());
            } else if let Some(r) = line.strip_prefix('\\') {
                k = r.split('-').next().unwrap().parse().unwrap_or(0);
            } else if k > 0 && !line.is_empty() {
                let f: Vec<&str> = line.split_whitespace().collect();
                let bo = f.get(k + 1).map_or(0.0, |b| b.parse().unwrap());
                map.insert(
                    f[1..=k].iter().map(|s| s.to_string()).collect(),
                    (f[0].parse().unwrap(), bo),
                );
            }
        }
        Naive { order, map }
    }

    /// log10 p(w | history), the history truncated to order − 1 words.
    fn prob(&self, hist: &[String], w: &str) -> f64 {
        let h = &hist[hist.len().saturating_sub(self.order - 1)..];
        let mut g: Vec<String> = h.to_vec();
        g.push(w.to_string());
        if let Some(&(p, _)) = self.map.get(&g) {
            return p;
        }
        if h.is_empty() {
            return self.map[&vec![w.to_string()]].0;
        }
        let bo = self.map.get(h).map_or(0.0, |&(_, b)| b);
        bo + self.prob(&h[1..], w)
    }
}

fn arpa_of(lm: &NgramLm) -> String {
    let mut v = Vec::new();
    lm.write_arpa(&mut v).unwrap();
    String::from_utf8(v).unwrap()
}

fn chain(lm: &NgramLm, start: LmState, words: &[WordId]) -> LmState {
    words.iter().fold(start, |s, &w| lm.score(&s, w).1)
}

/// Sum over the vocabulary (without `<s>`) of p(w | state).
fn mass(lm: &NgramLm, s: &LmState) -> f64 {
    (0..lm.vocab_size() as WordId)
        .filter(|&w| w != lm.bos_id())
        .map(|w| 10f64.powf(lm.score(s, w).0 as f64))
        .sum()
}

fn check_chain_equals_naive(lm: &NgramLm, naive: &Naive, sentence: &[WordId]) {
    let mut s = lm.begin_state();
    let mut hist = vec!["<s>".to_string()];
    for &w in sentence.iter().chain(std::iter::once(&lm.eos_id())) {
        let (p, next) = lm.score(&s, w);
        let want = naive.prob(&hist, lm.word(w));
        assert!(
            (p as f64 - want).abs() < 1e-4,
            "p({} | {hist:?}) = {p}, ARPA semantics {want}",
            lm.word(w)
        );
        hist.push(lm.word(w).to_string());
        s = next;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn estimated_contexts_are_distributions(
        (text, _v) in text_strategy(),
        order in 1usize..=4,
        prune in prop::collection::vec(0u64..3, 0..3),
        entropy in prop_oneof![Just(0.0), 1e-6f64..1e-1],
    ) {
        let mut opts = EstimateOptions::new(order);
        opts.entropy_prune = entropy;
        if !prune.is_empty() {
            opts.prune = std::iter::once(0).chain(prune).collect();
        }
        let Ok(e) = estimate(&text, &opts) else {
            // Only a text of empty sentences fails.
            prop_assert!(text.iter().all(|s| s.trim().is_empty()));
            return Ok(());
        };
        let lm = &e.lm;
        // Every listed context, reached from <s> or from the null context, and random histories.
        let arpa = arpa_of(lm);
        let naive = Naive::parse(&arpa);
        let mut states = vec![lm.null_state(), lm.begin_state()];
        for g in naive.map.keys().filter(|g| g.len() < order) {
            let (start, rest) = if g[0] == "<s>" { (lm.begin_state(), &g[1..]) } else { (lm.null_state(), &g[..]) };
            let ids: Vec<WordId> = rest.iter().map(|w| lm.word_id(w).unwrap()).collect();
            states.push(chain(lm, start, &ids));
        }
        for s in &text {
            let ids: Vec<WordId> = s.split_whitespace().map(|w| lm.word_id(w).unwrap()).collect();
            for i in 0..=ids.len() {
                states.push(chain(lm, lm.begin_state(), &ids[..i]));
            }
        }
        for s in &states {
            let m = mass(lm, s);
            prop_assert!((m - 1.0).abs() < 1e-4, "context {:?}: mass {}", s.words(), m);
        }
        // The state chain equals ARPA semantics over the full history.
        for s in &text {
            let ids: Vec<WordId> = s.split_whitespace().map(|w| lm.word_id(w).unwrap()).collect();
            check_chain_equals_naive(lm, &naive, &ids);
        }
    }

    #[test]
    fn pruned_finished_models_are_distributions(
        (text, _v) in text_strategy(),
        order in 2usize..=4,
        theta in 1e-6f64..1e-1,
    ) {
        let Ok(e) = estimate(&text, &EstimateOptions::new(order)) else { return Ok(()); };
        let lm = e.lm.prune_entropy(theta).unwrap();
        let (before, after) = (e.lm.num_ngrams(), lm.num_ngrams());
        prop_assert_eq!(before[0], after[0]);
        prop_assert!(before.iter().zip(&after).all(|(b, a)| a <= b));
        let naive = Naive::parse(&arpa_of(&lm));
        let mut states = vec![lm.null_state(), lm.begin_state()];
        for s in &text {
            let ids: Vec<WordId> = s.split_whitespace().map(|w| lm.word_id(w).unwrap()).collect();
            for i in 0..=ids.len() {
                states.push(chain(&lm, lm.begin_state(), &ids[..i]));
            }
            check_chain_equals_naive(&lm, &naive, &ids);
        }
        for s in &states {
            let m = mass(&lm, s);
            prop_assert!((m - 1.0).abs() < 1e-4, "context {:?}: mass {}", s.words(), m);
        }
    }

    #[test]
    fn static_mixtures_are_distributions_with_the_dynamic_mixture_listed(
        (text_a, _va) in text_strategy(),
        (text_b, _vb) in text_strategy(),
        order_a in 1usize..=3,
        order_b in 1usize..=3,
        lambda in 0.05f64..0.95,
    ) {
        let (Ok(a), Ok(b)) = (
            estimate(&text_a, &EstimateOptions::new(order_a)),
            estimate(&text_b, &EstimateOptions::new(order_b)),
        ) else { return Ok(()); };
        let (a, b) = (a.lm, b.lm);
        let m = NgramLm::mix(&[&a, &b], &[lambda, 1.0 - lambda], "mix").unwrap();
        prop_assert_eq!(m.order(), order_a.max(order_b));
        let (na, nb) = (Naive::parse(&arpa_of(&a)), Naive::parse(&arpa_of(&b)));
        let comp = |n: &Naive, hist: &[String], w: &str| -> f64 {
            if n.map.contains_key(&vec![w.to_string()]) {
                let h: Vec<String> = hist.iter().filter(|x| n.map.contains_key(&vec![x.to_string()])).cloned().collect();
                if h.len() == hist.len() { 10f64.powf(n.prob(hist, w)) } else { f64::NAN }
            } else {
                0.0
            }
        };
        // Listed n-grams (with all words known to both or one) carry the dynamic mixture.
        let nm = Naive::parse(&arpa_of(&m));
        for g in nm.map.keys() {
            let (hist, w) = (&g[..g.len() - 1], &g[g.len() - 1]);
            if w == "<s>" { continue; }
            let (pa, pb) = (comp(&na, hist, w), comp(&nb, hist, w));
            if pa.is_nan() || pb.is_nan() { continue; }
            let want = lambda * pa + (1.0 - lambda) * pb;
            let got = 10f64.powf(nm.map[g].0);
            prop_assert!((got - want).abs() < 1e-4 * want.max(1e-3), "{:?}: {} vs {}", g, got, want);
        }
        // Every context is a distribution over the union vocabulary.
        let mut states = vec![m.null_state(), m.begin_state()];
        for s in text_a.iter().chain(&text_b) {
            let ids: Vec<WordId> = s.split_whitespace().map(|w| m.word_id(w).unwrap()).collect();
            for i in 0..=ids.len() {
                states.push(chain(&m, m.begin_state(), &ids[..i]));
            }
        }
        for s in &states {
            let p = mass(&m, s);
            prop_assert!((p - 1.0).abs() < 1e-4, "context {:?}: mass {}", s.words(), p);
        }
    }

    #[test]
    fn binary_and_arpa_round_trip((text, _v) in text_strategy(), order in 1usize..=5) {
        let Ok(e) = estimate(&text, &EstimateOptions::new(order)) else { return Ok(()); };
        let lm = e.lm;
        let bytes = lm.binary_bytes().to_vec();
        let back = NgramLm::from_binary_bytes(&bytes, "mem").unwrap();
        prop_assert_eq!(back.binary_bytes(), &bytes[..]);
        let arpa = arpa_of(&lm);
        prop_assert_eq!(arpa_of(&back), arpa.clone());
        let from_arpa = NgramLm::from_arpa_reader(arpa.as_bytes(), "mem").unwrap();
        prop_assert_eq!(from_arpa.binary_bytes(), &bytes[..]);
        prop_assert_eq!(from_arpa.num_ngrams(), lm.num_ngrams());
    }

    #[test]
    fn states_keep_only_what_matters(
        (text, v) in text_strategy(),
        order in 2usize..=4,
        hist in prop::collection::vec(0usize..12, 0..10),
    ) {
        let Ok(e) = estimate(&text, &EstimateOptions::new(order)) else { return Ok(()); };
        let lm = &e.lm;
        let ids: Vec<WordId> = hist.iter().map(|&i| lm.word_id(WORDS[i % v]).or(lm.unk_id()).unwrap()).collect();
        let full = chain(lm, lm.null_state(), &ids);
        let tail = chain(lm, lm.null_state(), &ids[ids.len().saturating_sub(order - 1)..]);
        prop_assert_eq!(full, tail, "only the last order-1 words matter");
        prop_assert!(full.len() < order);
        // The oldest kept word is there for a reason: it changes some future score, or has a
        // backoff weight, or some n-gram extends the context.
        if !full.is_empty() {
            let shorter = chain(lm, lm.null_state(), &full.words()[..full.len() - 1].iter().rev().copied().collect::<Vec<_>>());
            let differs = (0..lm.vocab_size() as WordId).any(|w| {
                let a = lm.score(&full, w);
                let b = lm.score(&shorter, w);
                a.0 != b.0 || a.1 != b.1
            });
            let ctx: Vec<WordId> = full.words().iter().rev().copied().collect();
            let bo = lm.ngram(&ctx).map_or(0.0, |x| x.1);
            // A kept context is extended by some n-gram of the model; its scores may still equal
            // the shorter context's by coincidence (e.g. p(</s> | a) = p(</s>) with bo(a) = 0),
            // so "changes some score" is not required of it.
            let extended = (0..lm.vocab_size() as WordId).any(|w| {
                let mut g = ctx.clone();
                g.push(w);
                lm.ngram(&g).is_some()
            });
            prop_assert!(differs || bo != 0.0 || extended, "state {:?} keeps a word that changes nothing", full.words());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = NgramLm::from_arpa_reader(&bytes[..], "fuzz");
        let _ = NgramLm::from_binary_bytes(&bytes, "fuzz");
        if let Ok(lm) = NgramLm::from_binary_bytes_unchecked(&bytes, "fuzz") {
            let _ = lm.score(&lm.begin_state(), 0);
        }
        // With the magic in front, the header checks run.
        let mut b = b"SOTTOLM\0".to_vec();
        b.extend_from_slice(&bytes);
        let _ = NgramLm::from_binary_bytes_unchecked(&b, "fuzz");
        // With an ARPA header in front, the section parser runs.
        let mut a = b"\\data\\\nngram 1=3\nngram 2=1\n\n\\1-grams:\n".to_vec();
        a.extend_from_slice(&bytes);
        let _ = NgramLm::from_arpa_reader(&a[..], "fuzz");
    }

    #[test]
    fn corrupted_binaries_are_errors_or_safe(
        (text, _v) in text_strategy(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let Ok(e) = estimate(&text, &EstimateOptions::new(3)) else { return Ok(()); };
        let good = e.lm.binary_bytes().to_vec();
        let mut bad = good.clone();
        for (i, x) in &flips {
            let i = i.index(bad.len());
            bad[i] ^= x | 1;
        }
        prop_assert!(NgramLm::from_binary_bytes(&bad, "bad").is_err(), "checksum catches corruption");
        if let Ok(lm) = NgramLm::from_binary_bytes_unchecked(&bad, "bad") {
            // Structurally valid: queries run without panicking.
            let mut s = lm.begin_state();
            for w in 0..lm.vocab_size() as WordId + 2 {
                s = lm.score(&s, w).1;
                let _ = lm.end_score(&s);
                let _ = lm.word(w);
            }
            let mut arpa = Vec::new();
            let _ = lm.write_arpa(&mut arpa);
        }
    }
}

#[test]
fn every_truncation_is_an_error() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/ngram/commands.txt"
    ))
    .unwrap();
    let lm = estimate(text.lines(), &EstimateOptions::new(3)).unwrap().lm;
    let bytes = lm.binary_bytes();
    for n in 0..bytes.len() {
        assert!(NgramLm::from_binary_bytes(&bytes[..n], "cut").is_err());
        assert!(NgramLm::from_binary_bytes_unchecked(&bytes[..n], "cut").is_err());
    }
    let arpa = arpa_of(&lm);
    for n in 0..arpa.len() - 1 {
        // Cut anywhere before the final newline of `\end\`: an error, never a panic.
        let r = NgramLm::from_arpa_reader(&arpa.as_bytes()[..n], "cut");
        assert!(r.is_err() || n >= arpa.len() - 2, "cut at {n} loaded");
    }
}

/// An ARPA file that lacks a trigram's context bigram and another's suffix bigram (as pruned
/// SRILM models can): the missing n-grams are added with their backed-off probability, and every
/// query equals the ARPA semantics of the original text.
#[test]
fn missing_contexts_and_suffixes_keep_arpa_semantics() {
    let arpa = "\\data\\\nngram 1=7\nngram 2=5\nngram 3=4\n\n\\1-grams:\n-1.0\t<unk>\n\
        -99\t<s>\t-0.5\n-0.8\t</s>\n-0.7\ta\t-0.3\n-0.9\tb\t-0.2\n-1.1\tc\t-0.25\n-1.2\td\t-0.4\n\n\
        \\2-grams:\n-0.4\t<s> a\t-0.1\n-0.5\ta b\t-0.15\n-0.3\tc </s>\n-0.7\ta </s>\n-0.45\tb a\t0.05\n\n\
        \\3-grams:\n-0.2\t<s> a b\n-0.35\ta b c\n-0.25\td c </s>\n-0.15\t<s> b d\n\n\\end\\\n";
    let lm = NgramLm::from_arpa_reader(arpa.as_bytes(), "holes").unwrap();
    assert!(lm.num_ngrams()[1] > 5, "missing bigrams were added");
    let naive = Naive::parse(arpa);
    let ids: Vec<WordId> = (0..lm.vocab_size() as WordId)
        .filter(|&w| w != lm.bos_id())
        .collect();
    // Every history of up to 3 words after <s>, every next word.
    let mut hists: Vec<Vec<WordId>> = vec![vec![]];
    for _ in 0..3 {
        let more: Vec<Vec<WordId>> = hists
            .iter()
            .flat_map(|h| {
                ids.iter().map(move |&w| {
                    let mut h = h.clone();
                    h.push(w);
                    h
                })
            })
            .collect();
        hists.extend(more);
        hists.dedup();
    }
    for h in &hists {
        let s = chain(&lm, lm.begin_state(), h);
        let mut words = vec!["<s>".to_string()];
        words.extend(h.iter().map(|&w| lm.word(w).to_string()));
        for &w in &ids {
            let want = naive.prob(&words, lm.word(w));
            let got = lm.score(&s, w).0 as f64;
            assert!(
                (got - want).abs() < 1e-5,
                "p({} | {words:?}) = {got}, want {want}",
                lm.word(w)
            );
        }
    }
}
