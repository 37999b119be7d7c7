//! LSTM streaming step speed, f32 vs int8 weights: a large layer (input 512, hidden 1024,
//! projection 512, ~6.3M weights) and a small one (input 80, hidden 256, projection 128), fed one
//! frame per call (latency-bound streaming) or 16 frames per call (input projection batched).
//! The state carries over between iterations, as in a live stream.
//!
//! `cargo bench -p sotto-models --bench layers`

use std::fmt;

use divan::{black_box, counter::ItemsCount, Bencher};
use sotto_models::layers::{Lstm, Weight};

fn main() {
    divan::main();
}

#[derive(Clone, Copy)]
struct Case {
    input: usize,
    hidden: usize,
    proj: usize,
    frames: usize,
    int8: bool,
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = if self.int8 { "int8" } else { "f32" };
        write!(
            f,
            "{}-{}-{} x{} {p}",
            self.input, self.hidden, self.proj, self.frames
        )
    }
}

const CASES: [Case; 8] = {
    const fn c(input: usize, hidden: usize, proj: usize, frames: usize, int8: bool) -> Case {
        Case {
            input,
            hidden,
            proj,
            frames,
            int8,
        }
    }
    [
        c(512, 1024, 512, 1, false),
        c(512, 1024, 512, 1, true),
        c(512, 1024, 512, 16, false),
        c(512, 1024, 512, 16, true),
        c(80, 256, 128, 1, false),
        c(80, 256, 128, 1, true),
        c(80, 256, 128, 16, false),
        c(80, 256, 128, 16, true),
    ]
};

fn values(seed: u32, n: usize, scale: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            ((s >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

fn lstm(c: &Case) -> Lstm {
    let w = |seed, rows, cols| {
        let w = Weight::f32(
            values(seed, rows * cols, 1.0 / (cols as f32).sqrt()),
            rows,
            cols,
        )
        .unwrap();
        if c.int8 {
            w.quantized().unwrap()
        } else {
            w
        }
    };
    let h4 = 4 * c.hidden;
    Lstm::new(
        w(1, h4, c.input),
        w(2, h4, c.proj),
        Some(values(3, h4, 0.1).into()),
        Some(values(4, h4, 0.1).into()),
        Some(w(5, c.proj, c.hidden)),
    )
    .unwrap()
}

#[divan::bench(args = CASES, sample_count = 30, sample_size = 4)]
fn lstm_step(bencher: Bencher, c: Case) {
    let layer = lstm(&c);
    let mut st = layer.new_state();
    let x = values(6, c.frames * c.input, 1.0);
    let mut out = Vec::with_capacity(c.frames * c.proj);
    bencher.counter(ItemsCount::new(c.frames)).bench_local(|| {
        out.clear();
        layer.step(&mut st, black_box(&x), &mut out).unwrap();
        black_box(&out);
    });
}
