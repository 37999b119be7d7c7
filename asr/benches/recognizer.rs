//! Recognizer speed on one core, the whole path (fbank → encoder → search), with a random
//! ~10M-parameter int8 model (L 5, H 768, P 256, E 256, J 320, V 500) and the shipped model in
//! `models/zoo` when present:
//! - `ten_seconds_*`: 10 s of audio in 100 ms chunks, decode after each (RTF = time / 10 s);
//! - `finish_latency_*`: end of audio → final transcript: the time of [`Stream::finish`] on a
//!   stream that has received and decoded 3 s of audio, as a live caller would have.
//!
//! Run: `cargo bench -p sotto-asr --bench recognizer`

use sotto_asr::recognizer::{Recognizer, RecognizerConfig, Stream};
use sotto_models::transducer::{
    random_model_bytes, small10m_hyperparameters as small10m, Transducer,
};
use std::sync::OnceLock;

fn main() {
    rayon_single_thread();
    divan::main();
}

/// One core: keep any rayon-parallel kernel on the calling thread.
fn rayon_single_thread() {
    std::env::set_var("RAYON_NUM_THREADS", "1");
}

const MODELS: [&str; 2] = ["small10m-int8", "shipped"];

fn network(name: &str) -> Option<&'static Transducer> {
    static SMALL: OnceLock<Transducer> = OnceLock::new();
    static SHIPPED: OnceLock<Option<Transducer>> = OnceLock::new();
    if name == "shipped" {
        return SHIPPED
            .get_or_init(|| {
                let p = Recognizer::default_model().ok()?;
                eprintln!("shipped model: {}", p.display());
                Transducer::load(p).ok()
            })
            .as_ref();
    }
    Some(SMALL.get_or_init(|| {
        Transducer::from_bytes(&random_model_bytes(&small10m(), 1, true), "small10m")
            .expect("random model")
    }))
}

fn recognizer(name: &str, beam: usize) -> Option<Recognizer> {
    let t = network(name)?.clone();
    Some(
        Recognizer::from_transducer(
            t,
            RecognizerConfig {
                beam,
                ..RecognizerConfig::new(name)
            },
        )
        .unwrap(),
    )
}

/// Speech-like synthetic audio (gliding tones with bursts) at 16 kHz.
fn audio(seconds: f32) -> Vec<f32> {
    (0..(seconds * 16000.0) as usize)
        .map(|i| {
            let t = i as f32 / 16000.0;
            let f = 180.0 + 120.0 * (t * 2.0).sin();
            (0.5 + 0.5 * (t * 5.0).sin()) * 0.3 * (2.0 * std::f32::consts::PI * f * t).sin()
        })
        .collect()
}

fn feed(stream: &mut Stream, samples: &[f32]) {
    for chunk in samples.chunks(1600) {
        stream.accept_waveform(16000, chunk).unwrap();
        stream.decode().unwrap();
    }
}

fn ten_seconds(bencher: divan::Bencher, name: &str, beam: usize) {
    let Some(rec) = recognizer(name, beam) else {
        eprintln!("{name}: no model in models/zoo, skipped");
        return;
    };
    let x = audio(10.0);
    bencher.bench(|| {
        let mut s = rec.stream();
        feed(&mut s, divan::black_box(&x));
        s.finish().unwrap()
    });
}

#[divan::bench(args = MODELS, sample_count = 10, sample_size = 1)]
fn ten_seconds_greedy(bencher: divan::Bencher, name: &str) {
    ten_seconds(bencher, name, 1);
}

#[divan::bench(args = MODELS, sample_count = 10, sample_size = 1)]
fn ten_seconds_beam4(bencher: divan::Bencher, name: &str) {
    ten_seconds(bencher, name, 4);
}

fn finish_latency(bencher: divan::Bencher, name: &str, beam: usize) {
    let Some(rec) = recognizer(name, beam) else {
        eprintln!("{name}: no model in models/zoo, skipped");
        return;
    };
    bench_finish(bencher, &rec);
}

/// Time of `finish()` on a stream that has been fed 3 s of audio.
fn bench_finish(bencher: divan::Bencher, rec: &Recognizer) {
    let x = audio(3.0);
    bencher
        .with_inputs(|| {
            let mut s = rec.stream();
            feed(&mut s, &x);
            s
        })
        .bench_local_values(|mut s: Stream| s.finish().unwrap());
}

#[divan::bench(args = MODELS, sample_count = 20, sample_size = 1)]
fn finish_latency_greedy(bencher: divan::Bencher, name: &str) {
    finish_latency(bencher, name, 1);
}

#[divan::bench(args = MODELS, sample_count = 20, sample_size = 1)]
fn finish_latency_beam4(bencher: divan::Bencher, name: &str) {
    finish_latency(bencher, name, 4);
}

/// The shipped model as `sotto transcribe` runs it by default: the default search (beam
/// [`DEFAULT_BEAM`](sotto_asr::recognizer::DEFAULT_BEAM), word-level, with the word LM shipped
/// beside it, `sotto-en.lm.bin`, > 1 M n-grams): the LM's end-of-sentence scores and the word in
/// progress are settled in `finish`.
#[divan::bench(sample_count = 20, sample_size = 1)]
fn finish_latency_default_word_lm(bencher: divan::Bencher) {
    let (Some(t), Ok(path)) = (network("shipped"), Recognizer::default_model()) else {
        eprintln!("no shipped model in models/zoo, skipped");
        return;
    };
    let rec = Recognizer::from_transducer(t.clone(), RecognizerConfig::new(path)).unwrap();
    bench_finish(bencher, &rec);
}
