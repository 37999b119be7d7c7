//! Silero VAD goldens (`models/tests/data/vad/*.json`, written by `tools/vad/make_goldens.py` from
//! upstream's ONNX model run by onnxruntime) and the audio they were computed on. Shared by the
//! models and asr tests (`#[path]`-included).

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// One golden file: a clip at one rate.
pub struct Golden {
    pub name: String,
    pub rate: u32,
    /// Samples in [-1, 1) (int16 / 32768), decimated by 2 for 8 kHz as the script does.
    pub audio: Vec<f32>,
    pub probs: Vec<f32>,
    /// (upstream parameters, segments as [start, end) sample pairs).
    pub segments: Vec<(serde_json::Value, Vec<(u64, u64)>)>,
}

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/tests/data/vad")
}

/// 16-bit mono PCM WAV samples.
pub fn read_wav(path: &Path) -> Vec<i16> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut i = 12;
    while i + 8 <= b.len() {
        let len = u32::from_le_bytes([b[i + 4], b[i + 5], b[i + 6], b[i + 7]]) as usize;
        if &b[i..i + 4] == b"data" {
            return b[i + 8..(i + 8 + len).min(b.len())]
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]))
                .collect();
        }
        i += 8 + len + (len & 1);
    }
    panic!("{}: no data chunk", path.display());
}

/// All goldens with their audio, or `None` (after printing why) when ../shared is absent.
pub fn load() -> Option<Vec<Golden>> {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/microfrontend");
    if !shared.exists() {
        eprintln!("skipping: {} not found", shared.display());
        return None;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(data_dir())
        .expect("vad goldens")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "expected the committed goldens");
    let mut out = Vec::new();
    for f in files {
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let name = doc["clip"].as_str().unwrap().to_string();
        let rate = doc["rate"].as_u64().unwrap() as u32;
        let s16: Vec<i16> = match doc.get("pieces") {
            Some(pieces) => pieces
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|p| match p[0].as_str() {
                    Some(clip) => read_wav(&shared.join(format!("{clip}.wav"))),
                    None => vec![0; p[1].as_u64().unwrap() as usize],
                })
                .collect(),
            None => read_wav(&shared.join(format!("{name}.wav"))),
        };
        let step = if rate == 16000 { 1 } else { 2 };
        let audio: Vec<f32> = s16
            .iter()
            .step_by(step)
            .map(|&s| s as f32 / 32768.0)
            .collect();
        assert_eq!(
            audio.len() as u64,
            doc["samples"].as_u64().unwrap(),
            "{}",
            f.display()
        );
        let probs = doc["probs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let segments = doc["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let segs = s["segments"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| (p[0].as_u64().unwrap(), p[1].as_u64().unwrap()))
                    .collect();
                (s["params"].clone(), segs)
            })
            .collect();
        out.push(Golden {
            name,
            rate,
            audio,
            probs,
            segments,
        });
    }
    Some(out)
}
