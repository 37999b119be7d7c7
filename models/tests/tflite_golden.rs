//! Bit-exactness of the TFLite interpreter against the microWakeWord goldens: every model ×
//! clip in `shared/reference/microwakeword/golden`, invocation by invocation, must reproduce the
//! TFLite reference kernels' `output_u8` exactly. Differences to TFLite-Micro are counted.

use ndarray::{Array1, Array3};
use ndarray_npy::NpzReader;
use rayon::prelude::*;
use sotto_models::tflite::{Interpreter, Model};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn shared() -> Option<PathBuf> {
    sotto_testutil::shared_dir("reference/microwakeword")
}

/// `(model_id, tflite path)` from models.tsv.
fn models(root: &Path) -> Vec<(String, PathBuf)> {
    let tsv = std::fs::read_to_string(root.join("models/models.tsv")).unwrap();
    let mut lines = tsv.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let (id, file) = (
        header.iter().position(|&h| h == "model_id").unwrap(),
        header.iter().position(|&h| h == "tflite").unwrap(),
    );
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[id].to_string(), root.join(f[file]))
        })
        .collect()
}

struct Outcome {
    runs: usize,
    steps: usize,
    mismatches: Vec<String>,
    tflm_diff: usize,
}

fn run_model(root: &Path, id: &str, path: &Path) -> Outcome {
    let model = Arc::new(Model::load(path).unwrap_or_else(|e| panic!("{e}")));
    let mut out = Outcome {
        runs: 0,
        steps: 0,
        mismatches: Vec::new(),
        tflm_diff: 0,
    };
    let mut clips: Vec<_> = std::fs::read_dir(root.join("golden").join(id))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    clips.sort();
    for clip in clips {
        let mut npz = NpzReader::new(File::open(&clip).unwrap()).unwrap();
        let input: Array3<i8> = npz.by_name("input_int8.npy").unwrap();
        let golden: Array1<u8> = npz.by_name("output_u8.npy").unwrap();
        let tflm: Array1<u8> = npz.by_name("output_u8_tflm.npy").unwrap();
        assert_eq!(input.shape()[0], golden.len());
        let mut stream = Interpreter::new(model.clone());
        for (step, frames) in input.outer_iter().enumerate() {
            let inp = stream.input_i8_mut(0).unwrap();
            assert_eq!(inp.len(), frames.len(), "{id}: input size");
            for (d, s) in inp.iter_mut().zip(frames.iter()) {
                *d = *s;
            }
            stream.invoke();
            let got = stream.output(0).unwrap()[0];
            if got != golden[step] && out.mismatches.len() < 20 {
                out.mismatches.push(format!(
                    "{id}/{}: step {step}: got {got}, reference {}",
                    clip.display(),
                    golden[step]
                ));
            } else if got != golden[step] {
                out.mismatches.push(String::new());
            }
            out.tflm_diff += usize::from(got != tflm[step]);
        }
        out.runs += 1;
        out.steps += golden.len();
    }
    out
}

#[test]
fn every_model_and_clip_matches_the_reference_kernels() {
    let Some(root) = shared() else { return };
    let models = models(&root);
    assert!(
        models.len() >= 14,
        "models.tsv lists {} models",
        models.len()
    );
    let results: Vec<(String, Outcome)> = models
        .par_iter()
        .map(|(id, path)| (id.clone(), run_model(&root, id, path)))
        .collect();
    let (mut runs, mut steps, mut tflm, mut bad) = (0, 0, 0, Vec::new());
    for (id, r) in &results {
        println!(
            "{id}: {} clips, {} invocations, {} differ from reference, {} differ from TFLite-Micro",
            r.runs,
            r.steps,
            r.mismatches.len(),
            r.tflm_diff
        );
        runs += r.runs;
        steps += r.steps;
        tflm += r.tflm_diff;
        bad.extend(r.mismatches.iter().filter(|m| !m.is_empty()).cloned());
    }
    let total_bad: usize = results.iter().map(|(_, r)| r.mismatches.len()).sum();
    println!("total: {runs} runs, {steps} invocations, {total_bad} differ from output_u8, {tflm} differ from output_u8_tflm");
    assert_eq!(runs, 1316, "expected every model x clip");
    assert!(
        total_bad == 0,
        "{total_bad} invocations differ from the reference:\n{}",
        bad.join("\n")
    );
}
