//! TFLite reader robustness: the shared models load with the expected I/O; truncated, corrupted
//! and unsupported files are errors, never panics.

use flatbuffers::{FlatBufferBuilder, WIPOffset};
use sotto_models::tflite::{DType, Interpreter, Model, TfliteError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn model_files() -> Vec<PathBuf> {
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/microwakeword/models");
    let mut out = Vec::new();
    let mut dirs = vec![root];
    while let Some(d) = dirs.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|e| e == "tflite") {
                out.push(p);
            }
        }
    }
    out.sort();
    if out.is_empty() {
        eprintln!("skipping: shared microWakeWord models not found");
    }
    out
}

#[test]
fn model_is_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<Model>();
    check::<Interpreter>();
}

#[test]
fn shared_models_load_with_expected_io() {
    for path in model_files() {
        let m = Model::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let input = m.inputs().next().unwrap();
        assert_eq!(input.dtype, DType::I8, "{}", path.display());
        assert_eq!(input.shape.len(), 3);
        assert_eq!(input.shape[2], 40);
        assert_eq!(input.zero_point, -128);
        let output = m.outputs().next().unwrap();
        assert_eq!(
            (output.dtype, output.scale, output.zero_point),
            (DType::U8, 1.0 / 256.0, 0)
        );
        assert!(m.arena_size() > 0 && m.constant_size() > 0);
        println!(
            "{}: per-stream memory {} B, constants {} B",
            path.display(),
            m.arena_size(),
            m.constant_size()
        );
        for op in [
            "CALL_ONCE",
            "VAR_HANDLE",
            "READ_VARIABLE",
            "ASSIGN_VARIABLE",
            "CONV_2D",
            "FULLY_CONNECTED",
            "LOGISTIC",
        ] {
            assert!(
                m.op_names().iter().any(|n| n == op),
                "{}: {op} missing from {:?}",
                path.display(),
                m.op_names()
            );
        }
    }
}

/// Loading must never panic; whatever loads must also run.
fn load_and_run(bytes: &[u8]) {
    if let Ok(m) = Model::from_bytes(bytes) {
        let mut s = Interpreter::new(Arc::new(m));
        s.invoke();
        s.invoke();
    }
}

#[test]
fn truncated_files_are_errors() {
    let Some(path) = model_files().into_iter().next() else {
        return;
    };
    let bytes = std::fs::read(path).unwrap();
    for len in (0..bytes.len()).step_by(61) {
        assert!(
            Model::from_bytes(&bytes[..len]).is_err(),
            "prefix of {len} bytes loaded"
        );
    }
    assert!(matches!(
        Model::from_bytes(b"not a model at all"),
        Err(TfliteError::NotTflite)
    ));
}

#[test]
fn corrupted_files_never_panic() {
    let files = model_files();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for path in files.iter().take(3) {
        let bytes = std::fs::read(path).unwrap();
        for _ in 0..300 {
            let mut b = bytes.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() % b.len() as u64) as usize;
                b[i] = next() as u8;
            }
            load_and_run(&b);
        }
    }
}

#[test]
fn errors_name_the_file() {
    let err = Model::load("/nonexistent/model.tflite")
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/model.tflite"), "{err}");
}

/// A minimal model whose main graph holds the given builtin operators (no tensors).
fn model_with_ops(codes: &[i32]) -> Vec<u8> {
    let mut fbb = FlatBufferBuilder::new();
    let opcodes: Vec<WIPOffset<_>> = codes
        .iter()
        .map(|&c| {
            let t = fbb.start_table();
            fbb.push_slot::<i8>(4, c.min(127) as i8, 0);
            fbb.push_slot::<i32>(10, c, 0);
            fbb.end_table(t)
        })
        .collect();
    let opcodes = fbb.create_vector(&opcodes);
    let ops: Vec<WIPOffset<_>> = (0..codes.len())
        .map(|i| {
            let t = fbb.start_table();
            fbb.push_slot::<u32>(4, i as u32, 0);
            fbb.end_table(t)
        })
        .collect();
    let ops = fbb.create_vector(&ops);
    let sg = {
        let t = fbb.start_table();
        fbb.push_slot_always(10, ops);
        fbb.end_table(t)
    };
    let sgs = fbb.create_vector(&[sg]);
    let buf0 = {
        let t = fbb.start_table();
        fbb.end_table(t)
    };
    let bufs = fbb.create_vector(&[buf0]);
    let root = {
        let t = fbb.start_table();
        fbb.push_slot::<u32>(4, 3, 0);
        fbb.push_slot_always(6, opcodes);
        fbb.push_slot_always(8, sgs);
        fbb.push_slot_always(12, bufs);
        fbb.end_table(t)
    };
    fbb.finish(root, Some("TFL3"));
    fbb.finished_data().to_vec()
}

#[test]
fn all_unsupported_ops_are_listed_in_one_error() {
    let bytes = model_with_ops(&[25, 3, 28, 25, 200]);
    match Model::from_bytes(&bytes) {
        Err(TfliteError::Unsupported(ops)) => assert_eq!(ops, ["SOFTMAX", "TANH", "BUILTIN_200"]),
        other => panic!("expected Unsupported, got {other:?}"),
    }
    // Supported ops with missing tensors are invalid, not a panic.
    assert!(matches!(
        Model::from_bytes(&model_with_ops(&[3])),
        Err(TfliteError::Invalid(_))
    ));
}
