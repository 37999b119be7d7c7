//! Search speed on a toy network: `cargo bench -p sotto-decoder --bench search`.

use sotto_decoder::{toy::RandomTransducer, Decoder, DecoderOptions, SearchMethod};

fn main() {
    divan::main();
}

/// 500 frames, vocabulary 500, width 32.
fn setup() -> (RandomTransducer, Vec<f32>) {
    let net = RandomTransducer::new(500, 32, 2.0, 7);
    let frames = net.random_frames(500, 11);
    (net, frames)
}

fn decode(method: SearchMethod, net: &RandomTransducer, frames: &[f32]) -> usize {
    let opts = DecoderOptions {
        method,
        ..Default::default()
    };
    let mut dec = Decoder::new(net, opts).unwrap();
    dec.accept_frames(net, frames).unwrap();
    dec.finish_hypothesis().tokens.len()
}

#[divan::bench]
fn beam4_500_frames_vocab500(bencher: divan::Bencher) {
    let (net, frames) = setup();
    bencher.bench(|| {
        decode(
            SearchMethod::ModifiedBeam { beam: 4 },
            &net,
            divan::black_box(&frames),
        )
    });
}

#[divan::bench]
fn greedy_500_frames_vocab500(bencher: divan::Bencher) {
    let (net, frames) = setup();
    bencher.bench(|| {
        decode(
            SearchMethod::Greedy {
                max_symbols_per_frame: 3,
            },
            &net,
            divan::black_box(&frames),
        )
    });
}

/// Word-level search setup for the benches: a 3-gram of over a million n-grams estimated from
/// Zipf-distributed text over 5000 words, each spelled by 2–5 random tokens of the toy
/// network's 500 (so the lexicon tree is as bushy as a BPE one).
fn word_graph() -> std::sync::Arc<sotto_decoder::WordGraph> {
    use sotto_decoder::ngram::estimate::{estimate, EstimateOptions};
    use sotto_decoder::{toy::SplitMix, Lexicon, WordGraph, WordScoring};
    let mut rng = SplitMix(3);
    let words: Vec<String> = (0..5000).map(|i| format!("W{i}")).collect();
    // Zipf by inverse-CDF on a precomputed table.
    let weights: Vec<f64> = (1..=words.len()).map(|r| 1.0 / r as f64).collect();
    let total: f64 = weights.iter().sum();
    let mut cdf = Vec::with_capacity(words.len());
    let mut acc = 0.0;
    for w in &weights {
        acc += w / total;
        cdf.push(acc);
    }
    let draw = |rng: &mut SplitMix| {
        let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        cdf.partition_point(|&c| c < u).min(words.len() - 1)
    };
    let sentences: Vec<String> = (0..400_000)
        .map(|_| {
            let n = 3 + (rng.next_u64() % 10) as usize;
            (0..n)
                .map(|_| words[draw(&mut rng)].as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let est = estimate(&sentences, &EstimateOptions::new(3)).unwrap();
    assert!(
        est.lm.num_ngrams().iter().sum::<usize>() >= 1_000_000,
        "{:?}",
        est.lm.num_ngrams()
    );
    let mut lex = Lexicon::new();
    for w in &words {
        let n = 2 + (rng.next_u64() % 4) as usize;
        lex.add(
            w,
            (0..n)
                .map(|_| 1 + (rng.next_u64() % 499) as usize)
                .collect(),
        );
    }
    std::sync::Arc::new(
        WordGraph::new(
            lex,
            Some(std::sync::Arc::new(est.lm)),
            WordScoring::default(),
            None,
        )
        .unwrap(),
    )
}

/// Beam 4 constrained to a 5000-word lexicon with the 3-gram (compare with
/// `beam4_500_frames_vocab500`: the budget is +30 %).
#[divan::bench(sample_count = 20)]
fn beam4_words_3gram_500_frames(bencher: divan::Bencher) {
    let (net, frames) = setup();
    let graph = word_graph();
    bencher.bench(|| {
        let opts = DecoderOptions {
            method: SearchMethod::ModifiedBeam { beam: 4 },
            words: Some(graph.clone()),
            ..Default::default()
        };
        let mut dec = Decoder::new(&net, opts).unwrap();
        dec.accept_frames(&net, divan::black_box(&frames)).unwrap();
        dec.finish_hypothesis().tokens.len()
    });
}
