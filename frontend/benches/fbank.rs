//! Throughput of the fbank extractor and the 16 kHz resampler on 10 s of audio.
//!
//! `cargo bench -p sotto-frontend --bench fbank`. Real-time factor = time / 10 s.

use divan::counter::ItemsCount;
use divan::{black_box, Bencher};
use sotto_frontend::fbank::{Fbank, FbankConfig};
use sotto_frontend::resample::Resampler16k;

fn main() {
    divan::main();
}

const SECONDS: usize = 10;

/// Speech-like test signal: two tones and a little noise.
fn signal(rate: usize) -> Vec<f32> {
    let mut s = 12345u32;
    (0..rate * SECONDS)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            let t = i as f32 / rate as f32;
            0.2 * (t * 440.0 * std::f32::consts::TAU).sin()
                + 0.1 * (t * 1830.0 * std::f32::consts::TAU).sin()
                + 0.01 * (s as f32 / u32::MAX as f32 - 0.5)
        })
        .collect()
}

/// Default config (80 bins, 25/10 ms): 1000 frames for 10 s, streamed in 10 ms pushes.
#[divan::bench]
fn fbank_10s_streaming(bencher: Bencher) {
    let x = signal(16_000);
    let mut fbank = Fbank::new(FbankConfig::default()).unwrap();
    let frames = FbankConfig::default().num_frames(x.len() as u64, true) as usize;
    let mut out = Vec::with_capacity(frames * 80);
    bencher.counter(ItemsCount::new(frames)).bench_local(|| {
        out.clear();
        for chunk in x.chunks(160) {
            fbank.accept(black_box(chunk), &mut out).unwrap();
        }
        fbank.finish(&mut out);
        black_box(&out);
    });
}

/// Items = input samples.
#[divan::bench(args = [44_100, 48_000])]
fn resample_10s_to_16k(bencher: Bencher, rate: u32) {
    let x = signal(rate as usize);
    let mut rs = Resampler16k::new(rate).unwrap();
    let mut out = Vec::with_capacity(16_000 * SECONDS + 1000);
    bencher.counter(ItemsCount::new(x.len())).bench_local(|| {
        out.clear();
        for chunk in x.chunks(1024) {
            rs.accept(black_box(chunk), &mut out);
        }
        rs.finish(&mut out);
        black_box(&out);
    });
}
