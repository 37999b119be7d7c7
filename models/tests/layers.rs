//! Layer parity with PyTorch (golden files written by `tools/train/layer_goldens.py` into
//! `tests/data/layers/`) and streaming-equals-offline property tests for every stateful layer.
//!
//! Tolerances:
//! - f32 layers: `|got - want| ≤ 1e-5·|want| + 1e-6` (relative 1e-5, absolute floor 1e-6 for values
//!   near zero, where relative error is meaningless).
//! - int8 layers (weights quantized per row, activations per frame): max error ≤ `INT8_BOUND` (3 %)
//!   of the output's max magnitude.

use std::fs::File;
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn, OwnedRepr};
use ndarray_npy::NpzReader;
use proptest::prelude::*;
use sotto_models::format::{Metadata, ModelFile, ModelWriter};
use sotto_models::layers::*;

const REL: f32 = 1e-5;
const ABS: f32 = 1e-6;
const INT8_BOUND: f32 = 0.03;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/layers")
        .join(format!("{name}.npz"))
}

/// All arrays of a golden file (f32 ones as f32, integer ones converted).
struct Golden {
    npz: NpzReader<File>,
    name: String,
}

impl Golden {
    fn open(name: &str) -> Golden {
        let f = File::open(data(name))
            .unwrap_or_else(|e| panic!("{name}.npz: {e} (run tools/train/layer_goldens.py)"));
        Golden {
            npz: NpzReader::new(f).unwrap(),
            name: name.into(),
        }
    }
    fn f(&mut self, key: &str) -> (Vec<f32>, Vec<usize>) {
        let a: ArrayD<f32> = self
            .npz
            .by_name::<OwnedRepr<f32>, IxDyn>(key)
            .unwrap_or_else(|e| panic!("{}:{key}: {e}", self.name));
        (a.iter().copied().collect(), a.shape().to_vec())
    }
    fn v(&mut self, key: &str) -> Vec<f32> {
        self.f(key).0
    }
    fn i(&mut self, key: &str) -> Vec<usize> {
        let a: ArrayD<i64> = self
            .npz
            .by_name::<OwnedRepr<i64>, IxDyn>(key)
            .unwrap_or_else(|e| panic!("{}:{key}: {e}", self.name));
        a.iter().map(|&v| v as usize).collect()
    }
    /// Every f32 array except the listed inputs/outputs, written into a model file so that layers
    /// load through their PyTorch names exactly as from a real model.
    fn model(&mut self, skip: &[&str]) -> ModelFile {
        let names = self.npz.names().unwrap();
        let mut w = ModelWriter::new(Metadata {
            architecture: "layer-golden".into(),
            ..Default::default()
        });
        for n in names {
            let n = n.trim_end_matches(".npy").to_string();
            if skip.contains(&n.as_str()) {
                continue;
            }
            if let Ok(a) = self.npz.by_name::<OwnedRepr<f32>, IxDyn>(&n) {
                let v: Vec<f32> = a.iter().copied().collect();
                w.add_f32(&n, a.shape(), &v);
            }
        }
        let path = std::env::temp_dir().join(format!(
            "sotto-layers-{}-{}.safetensors",
            self.name,
            std::process::id()
        ));
        w.write(&path).unwrap();
        let file = ModelFile::open(&path).unwrap();
        std::fs::remove_file(&path).ok(); // the map stays valid
        file
    }
}

fn assert_close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut worst = 0.0f32;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g - w).abs();
        assert!(
            err <= REL * w.abs() + ABS,
            "{what}[{i}]: got {g}, PyTorch {w} (|err| {err:e})"
        );
        worst = worst.max(err);
    }
    eprintln!("{what}: max |err| {worst:e} over {} values", got.len());
}

/// Returns max|got - want| / max|want|, asserting it is within `INT8_BOUND`.
fn assert_int8(what: &str, got: &[f32], want: &[f32]) -> f32 {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let err = got
        .iter()
        .zip(want)
        .fold(0.0f32, |m, (g, w)| m.max((g - w).abs()));
    let rel = err / scale;
    eprintln!(
        "{what} int8: max |err| {err:e} = {:.4} of max |y| {scale}",
        rel
    );
    assert!(
        rel <= INT8_BOUND,
        "{what} int8: max error {err} is {rel} of the output range, bound {INT8_BOUND}"
    );
    rel
}

fn run_stream<S>(
    step: impl Fn(&mut S, &[f32], &mut Vec<f32>) -> Result<usize, LayerError>,
    st: &mut S,
    x: &[f32],
) -> Vec<f32> {
    let mut out = Vec::new();
    step(st, x, &mut out).unwrap();
    out
}

#[test]
fn linear_matches_pytorch() {
    let mut g = Golden::open("linear");
    let file = g.model(&["x", "y"]);
    let l = Linear::load(&file, "", 24, 16, true).unwrap();
    file.finish().unwrap();
    let (x, y) = (g.v("x"), g.v("y"));
    assert_close("linear", &l.forward_vec(&x).unwrap(), &y);
    assert_int8(
        "linear",
        &l.quantized().unwrap().forward_vec(&x).unwrap(),
        &y,
    );
}

#[test]
fn embedding_matches_pytorch() {
    let mut g = Golden::open("embedding");
    let file = g.model(&["y"]);
    let e = Embedding::load(&file, "", 11, 6).unwrap();
    let ids: Vec<u32> = g.i("ids").iter().map(|&i| i as u32).collect();
    let mut out = Vec::new();
    e.lookup(&ids, &mut out).unwrap();
    assert_eq!(out, g.v("y"));
    assert_eq!(
        e.lookup(&[11], &mut out),
        Err(LayerError::TokenOutOfRange { id: 11, num: 11 })
    );
}

#[test]
fn layer_norm_matches_pytorch() {
    let mut g = Golden::open("layer_norm");
    let file = g.model(&["x", "y", "eps"]);
    let n = LayerNorm::load(&file, "", 20, g.v("eps")[0], true).unwrap();
    let mut x = g.v("x");
    n.forward(&mut x).unwrap();
    assert_close("layer_norm", &x, &g.v("y"));
}

#[test]
fn sigmoid_and_log_softmax_match_pytorch() {
    let mut g = Golden::open("activations");
    let x = g.v("x");
    let y: Vec<f32> = x.iter().map(|&v| sigmoid(v)).collect();
    assert_close("sigmoid", &y, &g.v("sigmoid"));
    let mut rows = g.v("rows");
    log_softmax(&mut rows, 10);
    assert_close("log_softmax", &rows, &g.v("log_softmax"));
}

fn conv1d_cfg(c: &[usize]) -> (Conv1dConfig, bool) {
    let cfg = Conv1dConfig {
        in_channels: c[0],
        out_channels: c[1],
        kernel: c[2],
        stride: c[3],
        dilation: c[4],
        groups: c[5],
        left_pad: c[6],
    };
    (cfg, c[7] != 0)
}

#[test]
fn conv1d_matches_pytorch() {
    for name in ["conv1d_causal", "conv1d_depthwise", "conv1d_strided"] {
        let mut g = Golden::open(name);
        let (cfg, bias) = conv1d_cfg(&g.i("config"));
        let file = g.model(&["x", "y"]);
        let conv = Conv1d::load(&file, "", cfg, bias).unwrap();
        file.finish().unwrap();
        let (x, y) = (g.v("x"), g.v("y"));
        let got = run_stream(|s, x, o| conv.step(s, x, o), &mut conv.new_state(), &x);
        assert_close(name, &got, &y);
        let q = conv.quantized().unwrap();
        assert_int8(
            name,
            &run_stream(|s, x, o| q.step(s, x, o), &mut q.new_state(), &x),
            &y,
        );
    }
}

/// A stack of LSTM layers loaded by PyTorch's multi-layer names (`_l0`, `_l1`, ...).
fn lstm_stack(file: &ModelFile, c: &[usize]) -> Vec<Lstm> {
    let (inp, hidden, proj, layers) = (c[0], c[1], c[2], c[3]);
    let out = if proj > 0 { proj } else { hidden };
    (0..layers)
        .map(|l| {
            Lstm::load(
                file,
                "",
                l,
                if l == 0 { inp } else { out },
                hidden,
                proj,
                true,
            )
            .unwrap()
        })
        .collect()
}

fn run_lstms(layers: &[Lstm], x: &[f32]) -> Vec<f32> {
    layers.iter().fold(x.to_vec(), |x, l| {
        run_stream(|s, x, o| l.step(s, x, o), &mut l.new_state(), &x)
    })
}

#[test]
fn lstm_matches_pytorch() {
    for name in ["lstm", "lstm_proj"] {
        let mut g = Golden::open(name);
        let cfg = g.i("config");
        let file = g.model(&["x", "y"]);
        let layers = lstm_stack(&file, &cfg);
        file.finish().unwrap();
        let (x, y) = (g.v("x"), g.v("y"));
        assert_close(name, &run_lstms(&layers, &x), &y);
        let q: Vec<Lstm> = layers.iter().map(|l| l.quantized().unwrap()).collect();
        assert_int8(name, &run_lstms(&q, &x), &y);
    }
}

#[test]
fn frame_stack_matches_reshape() {
    let mut g = Golden::open("frame_stack");
    let s = g.i("stack")[0];
    let fs = FrameStack::new(5, s, s).unwrap();
    let got = run_stream(|st, x, o| fs.step(st, x, o), &mut fs.new_state(), &g.v("x"));
    assert_eq!(got, g.v("y"));
}

// ---------------------------------------------------------------------------------------------
// Streaming equals offline, for every stateful layer, f32 and int8.

/// Deterministic pseudo-random values in [-1, 1).
fn rand_vec(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn weight(seed: u64, rows: usize, cols: usize, int8: bool) -> Weight {
    let w = Weight::f32(
        rand_vec(seed, rows * cols)
            .iter()
            .map(|v| v * 0.5)
            .collect::<Vec<_>>(),
        rows,
        cols,
    )
    .unwrap();
    if int8 {
        w.quantized().unwrap()
    } else {
        w
    }
}

/// Splits `total` frames into chunks from `cuts` (each taken modulo what is left, zero allowed).
fn chunks(total: usize, cuts: &[usize]) -> Vec<usize> {
    let mut left = total;
    let mut out = Vec::new();
    for &c in cuts {
        let n = c % (left + 1);
        out.push(n);
        left -= n;
    }
    out.push(left);
    out
}

/// Runs `x` (frames of `dim`) at once and in the given chunking (then again after `reset`) and
/// asserts identical output.
fn check_stream<S>(
    dim: usize,
    x: &[f32],
    cuts: &[usize],
    mut st: S,
    reset: impl Fn(&mut S),
    step: impl Fn(&mut S, &[f32], &mut Vec<f32>) -> Result<usize, LayerError>,
) {
    let whole = run_stream(&step, &mut st, x);
    reset(&mut st);
    let mut parts = Vec::new();
    let mut pos = 0;
    for n in chunks(x.len() / dim, cuts) {
        step(&mut st, &x[pos * dim..(pos + n) * dim], &mut parts).unwrap();
        pos += n;
    }
    assert_eq!(whole, parts);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn conv1d_streams(t in 0usize..40, cuts in prop::collection::vec(0usize..12, 0..6), k in 1usize..5, stride in 1usize..4,
                      dil in 1usize..3, depthwise: bool, pad in 0usize..6, int8: bool, seed: u64) {
        let (cin, cout, groups) = if depthwise { (6, 6, 6) } else { (4, 6, 2) };
        let cfg = Conv1dConfig { in_channels: cin, out_channels: cout, kernel: k, stride, dilation: dil, groups, left_pad: pad };
        let conv = Conv1d::new(cfg, weight(seed, cout, cin / groups * k, int8), Some(rand_vec(seed ^ 1, cout).into())).unwrap();
        check_stream(cin, &rand_vec(seed ^ 2, t * cin), &cuts, conv.new_state(), Conv1dState::reset, |s, x, o| conv.step(s, x, o));
    }

    #[test]
    fn lstm_streams(t in 0usize..30, cuts in prop::collection::vec(0usize..10, 0..6), proj: bool, int8: bool, seed: u64) {
        let (i, h) = (5, 8);
        let p = if proj { 3 } else { h };
        let w_hr = proj.then(|| weight(seed ^ 5, p, h, int8));
        let lstm = Lstm::new(weight(seed, 4 * h, i, int8), weight(seed ^ 1, 4 * h, p, int8),
                             Some(rand_vec(seed ^ 2, 4 * h).into()), Some(rand_vec(seed ^ 3, 4 * h).into()), w_hr).unwrap();
        check_stream(i, &rand_vec(seed ^ 4, t * i), &cuts, lstm.new_state(), LstmState::reset, |s, x, o| lstm.step(s, x, o));
    }

    #[test]
    fn frame_stack_streams(t in 0usize..40, cuts in prop::collection::vec(0usize..10, 0..6), stack in 1usize..5, stride in 1usize..5, seed: u64) {
        let fs = FrameStack::new(3, stack, stride).unwrap();
        check_stream(3, &rand_vec(seed, t * 3), &cuts, fs.new_state(), FrameStackState::reset, |s, x, o| fs.step(s, x, o));
    }
}

#[test]
fn partial_frames_are_errors_not_panics() {
    let lstm = Lstm::new(
        weight(1, 8, 3, false),
        weight(2, 8, 2, false),
        None,
        None,
        None,
    )
    .unwrap();
    assert!(matches!(
        lstm.step(&mut lstm.new_state(), &[0.0; 4], &mut Vec::new()),
        Err(LayerError::Shape { .. })
    ));
    let conv = Conv1d::new(Conv1dConfig::causal(3, 2, 2), weight(3, 2, 6, true), None).unwrap();
    assert!(conv
        .step(&mut conv.new_state(), &[0.0; 5], &mut Vec::new())
        .is_err());
    // Inconsistent configurations are rejected at construction.
    assert!(Conv1d::new(
        Conv1dConfig {
            groups: 4,
            ..Conv1dConfig::causal(6, 6, 3)
        },
        weight(4, 6, 3, false),
        None
    )
    .is_err());
    assert!(Lstm::new(
        weight(1, 8, 3, false),
        weight(2, 8, 5, false),
        None,
        None,
        None
    )
    .is_err());
}

#[test]
fn layers_are_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<Linear>();
    check::<Lstm>();
    check::<Conv1d>();
    check::<Embedding>();
    check::<LayerNorm>();
    check::<Weight>();
    check::<LstmState>();
}
