//! Word n-gram LM speed: `cargo bench -p sotto-decoder --bench ngram`.
//!
//! A 3-gram of > 1 M n-grams is estimated (once) from 2.4 M words of generated Zipf-like text
//! with some Markov structure (vocabulary 20 000), then:
//! * `score_chain`: `NgramLm::score` along held-out sentences (state chaining, `</s>` at ends),
//!   as the search's inner loop does;
//! * `score_beam`: 8 different states × every next word of a sentence (beam-like fan-out);
//! * `load_binary`: `NgramLm::load` of the binary file (mmap + checksum + structural checks);
//! * `parse_arpa`: `NgramLm::from_arpa_reader` of the same model's ARPA text.

use std::sync::OnceLock;

use divan::counter::ItemsCount;
use sotto_decoder::ngram::estimate::{estimate, EstimateOptions};
use sotto_decoder::{NgramLm, WordId};

fn main() {
    divan::main();
}

const VOCAB: usize = 20_000;

/// xorshift64*.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Sentences of words `w<rank>`: Zipf(1.1) unigrams, and half the time one of 6 successors
/// that depend on the previous word (so bigrams and trigrams repeat).
fn text(sentences: usize, seed: u64) -> Vec<String> {
    let mut cdf = Vec::with_capacity(VOCAB);
    let mut acc = 0.0;
    for r in 1..=VOCAB {
        acc += 1.0 / (r as f64).powf(1.1);
        cdf.push(acc);
    }
    let mut rng = Rng(seed);
    let zipf = |rng: &mut Rng| {
        let x = rng.unit() * acc;
        cdf.partition_point(|&c| c < x)
    };
    (0..sentences)
        .map(|_| {
            let len = 4 + (rng.next() % 14) as usize;
            let mut prev = zipf(&mut rng);
            let mut words = vec![format!("w{prev}")];
            for _ in 1..len {
                let w = if rng.next().is_multiple_of(2) {
                    let k = rng.next() % 6;
                    (prev
                        .wrapping_mul(2_654_435_761)
                        .wrapping_add(k as usize * 7919))
                        % VOCAB
                } else {
                    zipf(&mut rng)
                };
                words.push(format!("w{w}"));
                prev = w;
            }
            words.join(" ")
        })
        .collect()
}

struct Fixture {
    lm: NgramLm,
    held_out: Vec<Vec<WordId>>,
    bin: std::path::PathBuf,
    arpa: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let t = std::time::Instant::now();
        let lm = estimate(text(240_000, 7), &EstimateOptions::new(3))
            .expect("estimate")
            .lm;
        let n = lm.num_ngrams();
        eprintln!(
            "3-gram: {n:?} n-grams ({} total), binary {:.1} MiB, estimated in {:.1} s",
            n.iter().sum::<usize>(),
            lm.size_bytes() as f64 / (1 << 20) as f64,
            t.elapsed().as_secs_f64()
        );
        assert!(n.iter().sum::<usize>() >= 1_000_000, "{n:?}");
        let held_out = text(2_000, 99)
            .iter()
            .map(|s| {
                s.split_whitespace()
                    .map(|w| lm.word_id(w).or(lm.unk_id()).unwrap())
                    .collect()
            })
            .collect();
        let bin = std::env::temp_dir().join(format!("sotto-bench-{}.lm.bin", std::process::id()));
        lm.write_binary(&bin).unwrap();
        let mut arpa = Vec::new();
        lm.write_arpa(&mut arpa).unwrap();
        Fixture {
            lm,
            held_out,
            bin,
            arpa,
        }
    })
}

#[divan::bench]
fn score_chain(bencher: divan::Bencher) {
    let f = fixture();
    let words: usize = f.held_out.iter().map(|s| s.len() + 1).sum();
    bencher.counter(ItemsCount::new(words)).bench(|| {
        let lm = &f.lm;
        let mut total = 0f32;
        for s in &f.held_out {
            let mut st = lm.begin_state();
            for &w in s {
                let (p, next) = lm.score(&st, divan::black_box(w));
                total += p;
                st = next;
            }
            total += lm.end_score(&st);
        }
        total
    });
}

#[divan::bench]
fn score_beam(bencher: divan::Bencher) {
    let f = fixture();
    let lm = &f.lm;
    // 8 states from different histories; each step scores the next word from all of them.
    let states: Vec<_> = f.held_out[..8]
        .iter()
        .map(|s| s.iter().fold(lm.begin_state(), |st, &w| lm.score(&st, w).1))
        .collect();
    let next: Vec<WordId> = f.held_out[8..200].iter().flatten().copied().collect();
    bencher
        .counter(ItemsCount::new(next.len() * states.len()))
        .bench(|| {
            let mut total = 0f32;
            for &w in &next {
                for st in &states {
                    total += lm.score(st, divan::black_box(w)).0;
                }
            }
            total
        });
}

#[divan::bench(sample_count = 20, sample_size = 1)]
fn load_binary(bencher: divan::Bencher) {
    let f = fixture();
    bencher.bench(|| NgramLm::load(&f.bin).unwrap().num_ngrams());
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn parse_arpa(bencher: divan::Bencher) {
    let f = fixture();
    bencher.bench(|| {
        NgramLm::from_arpa_reader(&f.arpa[..], "bench")
            .unwrap()
            .num_ngrams()
    });
}
