//! The `no_std` API as a firmware uses it: a borrowed model, a caller-given arena, the frontend
//! and the wake glue; on bad bytes only errors. Needs `../shared` (skips without it).

use sotto_micro::frontend::{MicroFrontend, MicroFrontendConfig};
use sotto_micro::kernels::gemm_i8_scalar;
use sotto_micro::tflite::{ArenaTooSmall, Interpreter, Model};
use sotto_micro::wake::{output_raw, FrameStacker, InputQuantizer};
use std::path::Path;

fn okay_nabu() -> Option<Vec<u8>> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/microwakeword/models/v2/okay_nabu.tflite");
    let bytes = std::fs::read(&p).ok();
    if bytes.is_none() {
        eprintln!("skipping: {} not found", p.display());
    }
    bytes
}

/// Frontend → model over a chirp, as the firmware runs it; returns the output bytes.
fn run(model: &Model<&[u8]>, arena: &mut [u8]) -> Vec<u8> {
    let input = model.inputs().next().unwrap();
    let q = InputQuantizer::new(input.scale, input.zero_point);
    let mut stacker = FrameStacker::new(input.shape[1], input.shape[2]);
    let mut stream = Interpreter::new(model, arena).unwrap();
    let mut fe = MicroFrontend::new(MicroFrontendConfig::default()).unwrap();
    let pcm: Vec<i16> = (0..32000)
        .map(|i| {
            let t = i as f64 / 16000.0;
            (8000.0 * (2.0 * std::f64::consts::PI * (200.0 + 900.0 * t) * t).sin()) as i16
        })
        .collect();
    let mut out = Vec::new();
    for chunk in pcm.chunks(160) {
        fe.process_with(chunk, |frame| {
            if stacker.push(&q, stream.input_i8_mut(0).unwrap(), frame) {
                stream.invoke();
                out.push(output_raw(stream.output(0).unwrap()[0], true));
            }
        });
    }
    out
}

#[test]
fn borrowed_model_in_a_caller_arena() {
    let Some(bytes) = okay_nabu() else { return };
    let model = Model::from_bytes(&bytes[..]).unwrap();
    let need = model.arena_bytes();
    let mut small = vec![0u8; need - 1];
    assert_eq!(
        Interpreter::new(&model, &mut small).err(),
        Some(ArenaTooSmall {
            needed: need,
            given: need - 1
        })
    );
    let mut arena = vec![0u8; need + 5];
    let a = run(&model, &mut arena);
    assert_eq!(a.len(), 198 / 3); // (32000 − 480) / 160 + 1 frames, 3 per invocation
                                  // A fresh Interpreter resets the stream: the same bytes again; an arena at another
                                  // alignment and the explicit scalar GEMM change nothing.
    assert_eq!(run(&model, &mut arena[1..]), a);
    let scalar = Model::from_bytes(&bytes[..])
        .unwrap()
        .with_gemm(gemm_i8_scalar);
    assert_eq!(run(&scalar, &mut arena[3..]), a);
}

#[test]
fn truncated_or_corrupted_models_are_errors() {
    let Some(bytes) = okay_nabu() else { return };
    for k in (0..bytes.len()).step_by(97) {
        let _ = Model::from_bytes(&bytes[..k]);
    }
    let mut b = bytes.clone();
    for k in (8..b.len()).step_by(61) {
        b[k] ^= 0x5a;
        if let Ok(m) = Model::from_bytes(&b[..]) {
            let mut arena = vec![0u8; m.arena_bytes().min(1 << 24)];
            if let Ok(mut s) = Interpreter::new(&m, &mut arena) {
                s.invoke();
            }
        }
        b[k] ^= 0x5a;
    }
}

/// Every `.tflite` under shared/reference/microwakeword/models (none without shared/).
fn shared_models() -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/microwakeword/models");
    let mut out = Vec::new();
    for sub in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(sub.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let p = f.path();
            if p.extension().is_some_and(|e| e == "tflite") {
                let b = std::fs::read(&p).unwrap();
                out.push((p, b));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_plan_loads_the_same_model() {
    for (path, bytes) in shared_models() {
        let Ok(model) = Model::from_bytes(&bytes[..]) else {
            continue;
        };
        let plan = model.plan();
        let planned = Model::from_plan(&bytes[..], &plan).unwrap();
        // Same compiled ops, arena plan and I/O, field for field.
        assert_eq!(
            format!("{model:?}"),
            format!("{planned:?}"),
            "{}",
            path.display()
        );
        assert_eq!(planned.plan(), plan);
        if model.inputs().next().is_some_and(|i| i.shape.len() == 3) {
            let mut arena = vec![0u8; model.arena_bytes()];
            assert_eq!(
                run(&model, &mut arena),
                run(&planned, &mut arena),
                "{}",
                path.display()
            );
        }
    }
}

#[test]
fn bad_plans_are_errors() {
    let Some(bytes) = okay_nabu() else { return };
    let plan = Model::from_bytes(&bytes[..]).unwrap().plan();
    for k in 0..plan.len() {
        assert!(Model::from_plan(&bytes[..], &plan[..k]).is_err());
    }
    let mut p = plan.clone();
    for k in 0..p.len() {
        p[k] ^= 0x10;
        assert!(
            Model::from_plan(&bytes[..], &p).is_err(),
            "byte {k} flipped"
        );
        p[k] ^= 0x10;
    }
    // Bound to the model bytes it was made from.
    let mut other = bytes.clone();
    *other.last_mut().unwrap() ^= 1;
    assert!(Model::from_plan(&other[..], &plan).is_err());
    assert!(Model::from_plan(&bytes[..bytes.len() - 1], &plan).is_err());
}
