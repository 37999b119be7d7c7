//! Transducer network speed on one core: encoder + prediction network + joiner with a greedy
//! loop (max one symbol per frame) over 10 s of features, fed in 100 ms chunks as a live
//! stream would. Real-time factor = reported time / 10 s.
//!
//! Models: `small10m` (random weights, ~10M parameters: L 5, H 768, P 256, E 256, J 320,
//! V 500; f32 and int8) and the shipped model in `models/zoo` when present.
//!
//! Run: `cargo bench -p sotto-models --bench transducer`

use sotto_models::transducer::{
    random_model_bytes, small10m_hyperparameters as small10m, Transducer,
};
use std::sync::OnceLock;

fn main() {
    // One core: the kernels' rayon entry points must not spread the work.
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global()
        .ok();
    divan::main();
}

const SECONDS: usize = 10;
const CHUNK_FRAMES: usize = 10;

fn model(name: &str) -> Option<&'static Transducer> {
    static F32: OnceLock<Transducer> = OnceLock::new();
    static I8: OnceLock<Transducer> = OnceLock::new();
    static ZOO: OnceLock<Option<Transducer>> = OnceLock::new();
    match name {
        "small10m-f32" => Some(F32.get_or_init(|| {
            let t = Transducer::from_bytes(&random_model_bytes(&small10m(), 1, false), "small10m")
                .unwrap();
            eprintln!("small10m: {} parameters", t.num_params());
            t
        })),
        "small10m-int8" => Some(I8.get_or_init(|| model("small10m-f32").unwrap().quantized())),
        _ => ZOO
            .get_or_init(|| {
                let zoo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("zoo");
                let mut files: Vec<_> = std::fs::read_dir(zoo)
                    .ok()?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
                    .collect();
                files.sort_by_key(|p| (!p.to_string_lossy().contains("int8"), p.clone()));
                let p = files.first()?;
                eprintln!("shipped model: {}", p.display());
                Transducer::load(p).ok()
            })
            .as_ref(),
    }
}

/// Speech-range pseudo-fbank frames.
fn features(t: &Transducer) -> Vec<f32> {
    let n = SECONDS * 100 * t.hyper().feat_dim;
    (0..n)
        .map(|i| -6.0 + 3.0 * ((i as f32 * 0.37).sin() + (i as f32 * 0.0011).cos()))
        .collect()
}

/// Stream `feats` through encoder + greedy search; returns the number of emitted tokens.
fn recognize(t: &Transducer, feats: &[f32], chunk_frames: usize) -> usize {
    let hp = t.hyper();
    let (v, c, blank) = (hp.vocab_size, hp.context_size, hp.blank_id);
    let mut ctx = vec![blank; c];
    let mut pred = t.project_prediction(&t.predict(&ctx));
    let mut st = t.new_state();
    let (mut enc, mut logits, mut emitted) = (Vec::new(), vec![0.0; v], 0);
    for chunk in feats.chunks(chunk_frames * hp.feat_dim) {
        enc.clear();
        let m = t.encode(&mut st, chunk, &mut enc).unwrap();
        let proj = t.project_encoder(&enc, m);
        for e in proj.chunks_exact(hp.joiner_dim) {
            t.join_projected(e, &pred, &mut logits);
            let best = (0..v)
                .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
                .unwrap() as u32;
            if best != blank {
                ctx.rotate_left(1);
                ctx[c - 1] = best;
                pred = t.project_prediction(&t.predict(&ctx));
                emitted += 1;
            }
        }
    }
    emitted
}

#[divan::bench(args = ["small10m-int8", "small10m-f32", "shipped"], sample_count = 10, sample_size = 1)]
fn ten_seconds_streaming(bencher: divan::Bencher, name: &str) {
    let Some(t) = model(name) else {
        eprintln!("{name}: no model in models/zoo, skipped");
        return;
    };
    let feats = features(t);
    bencher.bench(|| recognize(t, divan::black_box(&feats), CHUNK_FRAMES));
}

/// The same int8 model fed one encoder frame (40 ms) per call: every product is a
/// matrix-vector product, which shows what batching the input projection over frames buys.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn ten_seconds_unbatched_int8(bencher: divan::Bencher) {
    let t = model("small10m-int8").unwrap();
    let feats = features(t);
    bencher.bench(|| recognize(t, divan::black_box(&feats), t.hyper().stack));
}
