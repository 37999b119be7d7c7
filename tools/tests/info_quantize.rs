//! `sotto info` and `sotto quantize` on the tiny `toy-lstm` model written by PyTorch
//! (`tools/train/layer_goldens.py` → `models/tests/data/layers/toy.safetensors`).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ndarray::{ArrayD, IxDyn, OwnedRepr};
use ndarray_npy::NpzReader;
use sotto_models::format::ModelFile;
use sotto_models::toy::ToyLstm;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../models/tests/data/layers")
        .join(name)
}

fn sotto(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sotto"))
        .args(args)
        .output()
        .expect("run sotto")
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "sotto failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn info_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&stdout(&sotto(&["info", path.to_str().unwrap(), "--json"]))).unwrap()
}

fn npz(key: &str) -> Vec<f32> {
    let mut z = NpzReader::new(File::open(data("toy_golden.npz")).unwrap()).unwrap();
    let a: ArrayD<f32> = z.by_name::<OwnedRepr<f32>, IxDyn>(key).unwrap();
    a.iter().copied().collect()
}

// toy-lstm: LSTM(20, 48, proj 16) + Linear(16, 12).
const MATRICES: [(&str, usize); 4] = [
    ("lstm.weight_ih_l0", 192 * 20),
    ("lstm.weight_hh_l0", 192 * 16),
    ("lstm.weight_hr_l0", 16 * 48),
    ("out.weight", 12 * 16),
];
const OTHERS: usize = 2 * 192 + 12; // biases

#[test]
fn info_describes_the_pytorch_model() {
    let toy = data("toy.safetensors");
    let params: usize = MATRICES.iter().map(|m| m.1).sum::<usize>() + OTHERS;
    let j = info_json(&toy);
    assert_eq!(j["architecture"], "toy-lstm");
    assert_eq!(j["known_architecture"], true);
    assert_eq!(j["parameters"], params);
    assert_eq!(j["f32_bytes"], params * 4);
    assert_eq!(j["int8_bytes"], 0);
    assert_eq!(j["file_bytes"], std::fs::metadata(&toy).unwrap().len());
    assert_eq!(j["hyperparameters"]["hidden"], 48);
    assert_eq!(j["tensors"].as_array().unwrap().len(), 7);
    // State (h 16 + c 48) plus per-chunk scratch (gates 4·48 per frame), in f32.
    let per_stream = j["stream_bytes"].as_u64().unwrap() as usize;
    assert!(per_stream >= 4 * (16 + 48 + 16 * 192), "{per_stream}");
    let text = stdout(&sotto(&["info", toy.to_str().unwrap()]));
    assert!(
        text.contains("toy-lstm")
            && text.contains("lstm.weight_hr_l0")
            && text.contains(&params.to_string()),
        "{text}"
    );
}

#[test]
fn quantize_writes_an_int8_model_that_tracks_pytorch() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("toy-int8.safetensors");
    let toy = data("toy.safetensors");
    let text = stdout(&sotto(&[
        "quantize",
        toy.to_str().unwrap(),
        out.to_str().unwrap(),
    ]));
    for (name, _) in MATRICES {
        let line = text
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no error line for {name}: {text}"));
        assert!(
            line.contains("max|Δw|") && line.contains("mean|Δw|"),
            "{line}"
        );
    }
    assert!(!text.contains("bias"), "biases stay f32: {text}");

    let j = info_json(&out);
    assert_eq!(j["quantized"], "int8");
    let int8: usize = MATRICES.iter().map(|m| m.1).sum();
    assert_eq!(j["int8_bytes"], int8);
    assert_eq!(j["parameters"], int8 + OTHERS, "scales are not parameters");
    assert!(j["file_bytes"].as_u64().unwrap() < std::fs::metadata(&toy).unwrap().len() / 2);
    assert_eq!(
        j["provenance"]["recipe"], "tools/train/layer_goldens.py",
        "metadata copied"
    );

    // The int8 model runs and stays close to PyTorch's f32 log-probabilities.
    let file = ModelFile::open(&out).unwrap();
    let m = ToyLstm::load(&file).unwrap();
    assert!(m.lstm.quantized().is_ok() && m.out.weight.is_int8());
    let (x, y) = (npz("x"), npz("y"));
    let mut logp = Vec::new();
    m.step(&mut m.new_state(), &x, &mut logp).unwrap();
    let err = logp
        .iter()
        .zip(&y)
        .fold(0.0f32, |e, (a, b)| e.max((a - b).abs()));
    eprintln!("int8 toy-lstm: max |Δ log p| = {err}");
    assert!(err < 0.01, "int8 log-probabilities off by {err}");

    // Quantizing twice is refused (exit 2).
    let again = sotto(&[
        "quantize",
        out.to_str().unwrap(),
        dir.path().join("x").to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(2));
}

#[test]
fn bad_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.safetensors");
    std::fs::write(&junk, b"definitely not a model").unwrap();
    for cmd in [
        vec!["info", junk.to_str().unwrap()],
        vec!["quantize", junk.to_str().unwrap(), "/dev/null"],
    ] {
        let o = sotto(&cmd);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains("junk.safetensors") && !err.contains("panicked"),
            "{err}"
        );
    }
}

#[test]
fn unknown_architectures_are_listed_and_quantized_generically() {
    use sotto_models::format::{Metadata, ModelWriter};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mystery.safetensors");
    let mut w = ModelWriter::new(Metadata {
        architecture: "mystery".into(),
        ..Default::default()
    });
    let m: Vec<f32> = (0..24).map(|i| i as f32 / 7.0 - 1.5).collect();
    w.add_f32("enc.proj.weight", &[4, 6], &m)
        .add_f32("enc.proj.bias", &[4], &[0.0; 4])
        .add_f32("tok.embedding.weight", &[6, 4], &m)
        .add_f32("conv.weight", &[4, 2, 3], &m);
    w.write(&path).unwrap();
    let j = info_json(&path);
    assert_eq!(j["known_architecture"], false);
    assert!(j["stream_bytes"].is_null());
    assert_eq!(j["parameters"], 24 * 3 + 4);
    assert_eq!(j["tensors"].as_array().unwrap().len(), 4);

    let out = dir.path().join("mystery-int8.safetensors");
    let text = stdout(&sotto(&[
        "quantize",
        path.to_str().unwrap(),
        out.to_str().unwrap(),
    ]));
    assert!(
        text.contains("quantized 1 matrices"),
        "only the 2-D Linear weight: {text}"
    );
    let file = ModelFile::open(&out).unwrap();
    let info = |n: &str| file.info(n).unwrap().dtype;
    use sotto_models::format::Dtype;
    assert_eq!(
        [
            info("enc.proj.weight"),
            info("enc.proj.weight.scale"),
            info("tok.embedding.weight"),
            info("conv.weight")
        ],
        [Dtype::I8, Dtype::F32, Dtype::F32, Dtype::F32]
    );
}

/// The shipped model's `token_bigram` (the search's LODR table) is listed as a search table and
/// not counted as a network parameter.
#[test]
fn info_keeps_search_tables_out_of_the_parameters() {
    let model =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/zoo/sotto-en-int8.safetensors");
    let j = info_json(&model);
    let tensors = j["tensors"].as_array().unwrap();
    let numel = |t: &serde_json::Value| -> u64 {
        t["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap())
            .product()
    };
    let bigram: Vec<_> = tensors
        .iter()
        .filter(|t| t["name"] == "token_bigram")
        .collect();
    assert_eq!(bigram.len(), 1, "the shipped model ships its token bigram");
    assert_eq!(j["search_tensors"], serde_json::json!(["token_bigram"]));
    let weights: u64 = tensors
        .iter()
        .filter(|t| t["name"] != "token_bigram" && !t["name"].as_str().unwrap().ends_with(".scale"))
        .map(numel)
        .sum();
    assert_eq!(j["parameters"].as_u64().unwrap(), weights);
}

/// `SOTTO_KERNELS` picks the kernel variant (the scalar reference here, which every machine
/// has); a name the machine cannot run is ignored for the fastest it can.
#[test]
fn kernels_env_picks_the_variant() {
    let toy = data("toy.safetensors");
    let run = |value: &str| -> serde_json::Value {
        let o = Command::new(env!("CARGO_BIN_EXE_sotto"))
            .args(["info", toy.to_str().unwrap(), "--json"])
            .env("SOTTO_KERNELS", value)
            .output()
            .unwrap();
        serde_json::from_str(&stdout(&o)).unwrap()
    };
    let j = run("scalar");
    assert_eq!(j["kernels"], "scalar");
    let available = j["kernels_available"].as_array().unwrap().clone();
    assert_eq!(available[0], "scalar");
    let bogus = run("no-such-kernels");
    assert_eq!(&bogus["kernels"], available.last().unwrap());
    assert_eq!(info_json(&toy)["kernels"], *available.last().unwrap());
}
