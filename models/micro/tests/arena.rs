//! `tflm_arena_estimate` against the `tensor_arena_size` microWakeWord publishes for its v2
//! models (measured with TFLite-Micro). Needs `../shared` (skips without it).

use sotto_micro::tflite::{tflm_arena_estimate, LoadError};
use std::path::PathBuf;

fn v2_dir() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/microwakeword/models/v2");
    if d.is_dir() {
        Some(d)
    } else {
        eprintln!("skipping: {} not found", d.display());
        None
    }
}

/// (model, published tensor_arena_size, estimate).
fn published() -> Vec<(String, usize, usize)> {
    let Some(d) = v2_dir() else { return Vec::new() };
    ["alexa", "hey_jarvis", "hey_mycroft", "okay_nabu", "vad"]
        .iter()
        .map(|name| {
            let text = std::fs::read_to_string(d.join(format!("{name}.json"))).unwrap();
            let at = text.find("\"tensor_arena_size\":").unwrap() + 20;
            let digits: String = text[at..]
                .trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let arena: usize = digits.parse().unwrap();
            let e = tflm_arena_estimate(&std::fs::read(d.join(format!("{name}.tflite"))).unwrap())
                .unwrap();
            eprintln!("{name}: published {arena}, estimate {} ({e:?})", e.total());
            (name.to_string(), arena, e.total())
        })
        .collect()
}

#[test]
fn estimate_covers_published_arenas_with_at_most_15_percent_margin() {
    for (name, arena, est) in published() {
        assert!(est >= arena, "{name}: estimate {est} < published {arena}");
        assert!(
            est as f64 <= 1.15 * arena as f64,
            "{name}: estimate {est} more than 15 % above published {arena}"
        );
    }
}

#[test]
fn bad_bytes_are_an_error() {
    assert!(matches!(
        tflm_arena_estimate(b"not a model"),
        Err(LoadError::NotTflite)
    ));
}
