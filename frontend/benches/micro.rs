//! Throughput of the TFLite-Micro frontend on 10 s of synthesized 16 kHz audio.
//!
//! The items counter is frames (one per 10 ms step), so the real-time factor is
//! `100 / (frames per second)`: e.g. 100k frames/s = 1000× faster than real time.
//! Run: `cargo bench -p sotto-frontend --bench micro`.

use divan::counter::ItemsCount;
use divan::{black_box, Bencher};
use sotto_frontend::micro::{MicroFrontend, MicroFrontendConfig};

fn main() {
    divan::main();
}

const SECONDS: usize = 10;

/// Speech-like signal: gliding tone with bursts plus LCG noise.
fn audio() -> Vec<i16> {
    let mut state = 12345u32;
    (0..SECONDS * 16000)
        .map(|t| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = ((state >> 16) as i32 - 32768) as f32 / 32768.0;
            let ts = t as f32 / 16000.0;
            let env = if (t / 2400) % 3 == 2 { 0.05 } else { 1.0 };
            let tone = (2.0 * std::f32::consts::PI * (200.0 + 300.0 * (ts % 2.0)) * ts).sin();
            ((tone * 0.4 * env + noise * 0.05) * 32767.0) as i16
        })
        .collect()
}

fn frames(samples: usize) -> usize {
    (samples - 480) / 160 + 1
}

/// Whole 10 s buffer in one `process` call.
#[divan::bench]
fn ten_seconds_one_shot(bencher: Bencher) {
    let samples = audio();
    let mut fe = MicroFrontend::new(MicroFrontendConfig::default()).unwrap();
    let mut out = Vec::with_capacity(frames(samples.len()) * fe.num_channels());
    bencher
        .counter(ItemsCount::new(frames(samples.len())))
        .bench_local(|| {
            fe.reset();
            out.clear();
            black_box(fe.process(black_box(&samples), &mut out));
        });
}

/// Same audio pushed in 160-sample (10 ms) chunks, as a live wake-word loop does.
#[divan::bench]
fn ten_seconds_10ms_chunks(bencher: Bencher) {
    let samples = audio();
    let mut fe = MicroFrontend::new(MicroFrontendConfig::default()).unwrap();
    let mut out = Vec::with_capacity(frames(samples.len()) * fe.num_channels());
    bencher
        .counter(ItemsCount::new(frames(samples.len())))
        .bench_local(|| {
            fe.reset();
            out.clear();
            for chunk in samples.chunks(160) {
                black_box(fe.process(black_box(chunk), &mut out));
            }
        });
}

/// Construction cost (all tables: window, twiddles, filterbank, PCAN LUT).
#[divan::bench]
fn construct() -> MicroFrontend {
    MicroFrontend::new(black_box(MicroFrontendConfig::default())).unwrap()
}
