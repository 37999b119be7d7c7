//! Model file format: round trips, zero-copy mapping, validation errors by tensor name, and
//! robustness against truncated / corrupted files (errors, never panics).

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::{ArrayD, IxDyn, OwnedRepr};
use ndarray_npy::NpzReader;
use proptest::prelude::*;
use sotto_models::format::{Dtype, FormatError, Metadata, ModelFile, ModelWriter};
use sotto_models::layers::{Linear, Lstm, Weight};
use sotto_models::quant::QMatrix;
use sotto_models::toy::ToyLstm;

fn toy_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/layers/toy.safetensors")
}

/// A unique temporary path (tests run in parallel).
fn tmp(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "sotto-format-{}-{tag}-{}.safetensors",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

fn npz(name: &str, key: &str) -> Vec<f32> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/layers")
        .join(name);
    let mut z = NpzReader::new(File::open(path).unwrap()).unwrap();
    let a: ArrayD<f32> = z.by_name::<OwnedRepr<f32>, IxDyn>(key).unwrap();
    a.iter().copied().collect()
}

/// A writer holding every tensor of the PyTorch-written toy model.
fn toy_writer() -> ModelWriter {
    let file = ModelFile::open(toy_path()).unwrap();
    let mut w = ModelWriter::new(file.metadata().clone());
    for (name, _) in file.tensors() {
        w.copy_from(&file, name).unwrap();
    }
    w
}

fn open_bytes(bytes: &[u8]) -> Result<ModelFile, FormatError> {
    let path = tmp("bytes");
    std::fs::write(&path, bytes).unwrap();
    let r = ModelFile::open(&path);
    std::fs::remove_file(&path).ok();
    r
}

fn load_toy(w: &ModelWriter) -> Result<ToyLstm, FormatError> {
    ToyLstm::load(&open_bytes(&w.to_bytes().unwrap())?)
}

#[test]
fn pytorch_written_toy_model_loads_zero_copy_and_matches() {
    let file = ModelFile::open(toy_path()).unwrap();
    let m = file.metadata();
    assert_eq!(
        (m.format_version, m.architecture.as_str(), m.tokens.len()),
        (1, "toy-lstm", 12)
    );
    assert_eq!(m.provenance["recipe"], "tools/train/layer_goldens.py");
    let toy = ToyLstm::load(&file).unwrap();
    assert!(
        file.copied_tensors().is_empty(),
        "PyTorch-written f32 tensors must be aligned"
    );
    let (x, y) = (npz("toy_golden.npz", "x"), npz("toy_golden.npz", "y"));
    let mut out = Vec::new();
    toy.step(&mut toy.new_state(), &x, &mut out).unwrap();
    for (i, (g, w)) in out.iter().zip(&y).enumerate() {
        assert!(
            (g - w).abs() <= 1e-5 * w.abs() + 1e-6,
            "logp[{i}]: {g} vs PyTorch {w}"
        );
    }
    assert_eq!(out.len(), y.len());
    assert!(toy.stream_bytes(1) > 0);
}

#[test]
fn tensors_are_mapped_views_of_the_file() {
    let file = ModelFile::open(toy_path()).unwrap();
    let b = file.tensor_f32("out.bias", &[12]).unwrap();
    assert!(b.is_mapped());
    // The view is the file's bytes, not a copy.
    let info = file.info("out.bias").unwrap();
    let raw = std::fs::read(toy_path()).unwrap();
    let expect: Vec<f32> = raw[info.offset..info.offset + info.bytes]
        .chunks(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(&b[..], &expect[..]);
}

#[test]
fn writer_round_trip_with_int8() {
    let w = [0.5f32, -1.0, 0.25, 0.0, 2.0, -0.75];
    let q = QMatrix::quantize(&w, 2, 3);
    let mut meta = Metadata {
        architecture: "test".into(),
        quantized: Some("int8".into()),
        ..Default::default()
    };
    meta.extra
        .insert("future_key".into(), serde_json::json!({"a": 1}));
    let mut wr = ModelWriter::new(meta.clone());
    wr.add_qmatrix("lin.weight", &q)
        .add_f32("lin.bias", &[2], &[0.1, -0.2])
        .add_i8("raw", &[3], &[1, -2, 3]);
    let path = tmp("rt");
    wr.write(&path).unwrap();
    let file = ModelFile::open(&path).unwrap();
    meta.format_version = 1;
    assert_eq!(file.metadata(), &meta, "unknown keys survive a round trip");
    let lin = Linear::load(&file, "lin", 3, 2, true).unwrap();
    assert!(lin.weight.is_int8());
    assert_eq!(&file.tensor_i8("raw", &[3]).unwrap()[..], &[1, -2, 3]);
    file.finish().unwrap();
    let y = lin.forward_vec(&[1.0, 1.0, 1.0]).unwrap();
    assert!(
        (y[0] - (-0.25 + 0.1)).abs() < 0.02 && (y[1] - (1.25 - 0.2)).abs() < 0.02,
        "{y:?}"
    );
    // `weight()` accepts f32 `[rows, inner..]` or int8 `[rows, Π inner]`.
    assert!(matches!(
        sotto_models::layers::weight(&file, "lin.weight", 2, &[3]),
        Ok(Weight::I8(_))
    ));
    std::fs::remove_file(&path).ok();
}

#[test]
fn first_mismatch_is_reported_by_tensor_name() {
    // Wrong shape.
    let mut w = toy_writer();
    w.add_f32("out.weight", &[12, 15], &[0.0; 180]);
    let e = load_toy(&w).unwrap_err();
    assert!(
        matches!(&e, FormatError::Shape { name, expected, .. } if name == "out.weight" && expected == &[12, 16]),
        "{e}"
    );
    assert!(e.to_string().contains("out.weight"), "{e}");

    // Wrong dtype.
    let mut w = toy_writer();
    w.add_i8("lstm.bias_ih_l0", &[192], &[0; 192]);
    let e = load_toy(&w).unwrap_err();
    assert!(
        matches!(&e, FormatError::Dtype { name, found: Dtype::I8, .. } if name == "lstm.bias_ih_l0"),
        "{e}"
    );

    // Unexpected tensor.
    let mut w = toy_writer();
    w.add_f32("extra.thing", &[1], &[0.0]);
    let e = load_toy(&w).unwrap_err();
    assert!(
        matches!(&e, FormatError::UnexpectedTensor { name, .. } if name == "extra.thing"),
        "{e}"
    );

    // Missing tensor: rebuild without `lstm.weight_hr_l0`.
    let file = ModelFile::open(toy_path()).unwrap();
    let mut w = ModelWriter::new(file.metadata().clone());
    for (name, _) in file.tensors().filter(|(n, _)| *n != "lstm.weight_hr_l0") {
        w.copy_from(&file, name).unwrap();
    }
    let e = load_toy(&w).unwrap_err();
    assert!(
        matches!(&e, FormatError::MissingTensor { name, .. } if name == "lstm.weight_hr_l0"),
        "{e}"
    );

    // Missing hyperparameter, wrong architecture, missing metadata keys.
    let mut w = toy_writer();
    w.metadata_mut().hyperparameters.remove("hidden");
    let e = load_toy(&w).unwrap_err();
    assert!(
        matches!(&e, FormatError::MissingKey { key, .. } if key == "hyperparameters.hidden"),
        "{e}"
    );
    let mut w = toy_writer();
    w.metadata_mut()
        .hyperparameters
        .insert("hidden".into(), serde_json::json!(u64::MAX));
    let e = load_toy(&w).unwrap_err();
    assert!(
        matches!(&e, FormatError::MissingKey { key, .. } if key == "hyperparameters.hidden"),
        "{e}"
    );
    let mut w = toy_writer();
    w.metadata_mut().architecture = "other".into();
    assert!(matches!(
        load_toy(&w),
        Err(FormatError::Architecture { .. })
    ));
    let mut w = toy_writer();
    w.metadata_mut().architecture.clear();
    assert!(
        matches!(load_toy(&w), Err(FormatError::MissingKey { key, .. }) if key == "architecture")
    );
}

#[test]
fn files_without_sotto_metadata_are_rejected() {
    let bytes =
        safetensors::serialize(Vec::<(&str, safetensors::tensor::TensorView)>::new(), &None)
            .unwrap();
    assert!(matches!(
        open_bytes(&bytes),
        Err(FormatError::Metadata { .. })
    ));
    assert!(matches!(
        ModelFile::open("/nonexistent/model.safetensors"),
        Err(FormatError::Io { .. })
    ));
}

#[test]
fn misaligned_f32_tensors_are_copied_and_counted() {
    // Hand-made (valid) safetensors file: a 1-byte i8 tensor first puts the f32 data at an odd offset.
    let meta = serde_json::json!({"format_version": 1, "architecture": "test"}).to_string();
    let header = serde_json::json!({
        "__metadata__": {"sotto": meta},
        "a": {"dtype": "I8", "shape": [1], "data_offsets": [0, 1]},
        "b": {"dtype": "F32", "shape": [2], "data_offsets": [1, 9]},
    })
    .to_string();
    let mut header = header.into_bytes();
    while !(8 + header.len()).is_multiple_of(8) {
        header.push(b' ');
    }
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(&header);
    bytes.push(7);
    bytes.extend(1.5f32.to_le_bytes());
    bytes.extend((-2.0f32).to_le_bytes());
    let file = open_bytes(&bytes).unwrap();
    let b = file.tensor_f32("b", &[2]).unwrap();
    assert_eq!(&b[..], &[1.5, -2.0]);
    assert!(!b.is_mapped());
    assert_eq!(file.copied_tensors(), vec!["b".to_string()]);
}

/// Loading reads no weight bytes: after the file is opened, it is truncated to its header, so any
/// read of tensor data (all placed past the first page) would kill the process with SIGBUS.
#[test]
fn loading_touches_no_weight_bytes() {
    let mut w = toy_writer();
    // Sorts first (f32 data is ordered by name), pushing every real tensor past the first page.
    w.add_f32("0pad", &[4096], &[0.0; 4096]);
    let path = tmp("lazy");
    w.write(&path).unwrap();
    let file = ModelFile::open(&path).unwrap();
    let first = file
        .tensors()
        .filter(|(n, _)| *n != "0pad")
        .map(|(_, t)| t.offset)
        .min()
        .unwrap();
    assert!(first >= 8192, "real tensors start at byte {first}");
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(4096)
        .unwrap();
    let lstm = Lstm::load(&file, "lstm", 0, 20, 48, 16, true).unwrap();
    let out = Linear::load(&file, "out", 16, 12, true).unwrap();
    assert_eq!((lstm.output_size(), out.out_dim()), (16, 12));
    assert!(
        matches!(file.finish(), Err(FormatError::UnexpectedTensor { name, .. }) if name == "0pad")
    );
    std::fs::remove_file(&path).ok();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any truncation is an error at open.
    #[test]
    fn truncated_files_are_errors(frac in 0.0f64..1.0) {
        let bytes = toy_writer().to_bytes().unwrap();
        let cut = ((bytes.len() as f64) * frac) as usize;
        prop_assert!(open_bytes(&bytes[..cut]).is_err());
    }

    /// Flipped header bytes give an error at open or load, or a model that still runs; never a panic.
    #[test]
    fn corrupted_headers_never_panic(flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4)) {
        let mut bytes = toy_writer().to_bytes().unwrap();
        let header_end = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        for (i, x) in flips {
            bytes[i.index(header_end)] ^= x;
        }
        if let Ok(file) = open_bytes(&bytes) {
            if let Ok(toy) = ToyLstm::load(&file) {
                let x = vec![0.5; 3 * toy.lstm.input_size()];
                toy.step(&mut toy.new_state(), &x, &mut Vec::new()).unwrap();
            }
        }
    }
}
