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
