//! Layers load from any `Vars` source: a `VarMap` in memory builds the same network as a model
//! file holding the same tensors (f32 and int8), without writing a file.

use sotto_models::format::{quantize_model, Metadata, ModelFile, ModelWriter};
use sotto_models::layers::{Linear, Lstm};
use sotto_models::vars::{VarError, VarMap, Vars};

/// A random one-layer LSTM (input 12, hidden 16, projection 8) and a Linear 8 → 5.
fn random_vars() -> VarMap {
    let mut vm = VarMap::new();
    vm.insert_random("lstm.weight_ih_l0", &[64, 12], 0.5, 1)
        .insert_random("lstm.weight_hh_l0", &[64, 8], 0.5, 2)
        .insert_random("lstm.bias_ih_l0", &[64], 0.1, 3)
        .insert_random("lstm.bias_hh_l0", &[64], 0.1, 4)
        .insert_random("lstm.weight_hr_l0", &[8, 16], 0.5, 5)
        .insert_random("out.weight", &[5, 8], 0.5, 6)
        .insert_random("out.bias", &[5], 0.1, 7);
    vm
}

/// The same tensors written as a model file (in memory).
fn as_file(vm: &VarMap, names: &[(&str, &[usize])]) -> ModelFile {
    let mut w = ModelWriter::new(Metadata {
        architecture: "vars-test".into(),
        ..Default::default()
    });
    for (n, shape) in names {
        w.add_f32(n, shape, &vm.tensor_f32(n, shape).unwrap());
    }
    ModelFile::from_bytes(&w.to_bytes().unwrap(), "vars-test").unwrap()
}

const NAMES: [(&str, &[usize]); 7] = [
    ("lstm.weight_ih_l0", &[64, 12]),
    ("lstm.weight_hh_l0", &[64, 8]),
    ("lstm.bias_ih_l0", &[64]),
    ("lstm.bias_hh_l0", &[64]),
    ("lstm.weight_hr_l0", &[8, 16]),
    ("out.weight", &[5, 8]),
    ("out.bias", &[5]),
];

/// LSTM then Linear over 6 frames.
fn run<V: Vars + ?Sized>(v: &V) -> Vec<f32>
where
    V::Error: std::fmt::Debug,
{
    let lstm = Lstm::load(v, "lstm", 0, 12, 16, 8, true).unwrap();
    let out = Linear::load(v, "out", 8, 5, true).unwrap();
    let x: Vec<f32> = (0..6 * 12).map(|i| (i as f32 * 0.37).sin()).collect();
    let mut st = lstm.new_state();
    let mut h = Vec::new();
    lstm.step(&mut st, &x, &mut h).unwrap();
    let mut y = vec![0.0; 6 * 5];
    out.forward(&h, &mut y).unwrap();
    y
}

#[test]
fn a_varmap_builds_the_network_a_file_does() {
    let vm = random_vars();
    let file = as_file(&vm, &NAMES);
    let from_map = run(&vm);
    assert_eq!(from_map, run(&file));
    assert!(from_map.iter().any(|v| v.abs() > 1e-3), "{from_map:?}");
    // int8: the map's quantization equals the file pipeline's.
    let (q, report) = quantize_model(&file).unwrap();
    assert_eq!(report.len(), 4, "{report:?}");
    let qfile = ModelFile::from_bytes(&q.to_bytes().unwrap(), "vars-test-int8").unwrap();
    let qmap = vm.quantized().unwrap();
    assert_eq!(run(&qmap), run(&qfile));
    assert_ne!(run(&qmap), from_map);
}

#[test]
fn a_missing_or_misshapen_tensor_is_named() {
    let mut vm = random_vars();
    vm.insert_random("out.weight", &[5, 7], 0.5, 6);
    match Linear::load(&vm, "out", 8, 5, true) {
        Err(VarError::Shape { name, .. }) => assert_eq!(name, "out.weight"),
        other => panic!("{other:?}"),
    }
    match Lstm::load(&vm, "enc", 0, 12, 16, 8, true) {
        Err(e @ VarError::Missing { .. }) => assert!(e.to_string().contains("enc.weight_ih_l0")),
        other => panic!("{other:?}"),
    }
}
