//! Embeds the model and reference clips at build time from paths in the environment (set by
//! .ci/mcu.sh; nothing third-party is kept in the repository):
//! - `SOTTO_MCU_MODEL`: the `.tflite` file;
//! - `SOTTO_MCU_CLIPS`: `:`-separated 16 kHz mono 16-bit WAV files.
//!
//! Writes `$OUT_DIR/data.rs` (the model, its execution plan and raw little-endian PCM via
//! `include_bytes!`) and puts `memory.x` on the linker path. The plan comes from
//! `sotto_micro::tflite::Model::plan`: the model is verified and compiled here, on the host, by
//! the same code the host runtime uses.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

/// The samples of a canonical PCM WAV (16-bit, mono, 16 kHz), as little-endian bytes.
fn wav_pcm(path: &str) -> Vec<u8> {
    let b = fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(&b[0..4] == b"RIFF" && &b[8..12] == b"WAVE", "{path}: not a WAV file");
    let mut k = 12;
    let mut fmt_ok = false;
    while k + 8 <= b.len() {
        let id = &b[k..k + 4];
        let len = u32::from_le_bytes([b[k + 4], b[k + 5], b[k + 6], b[k + 7]]) as usize;
        let body = &b[k + 8..(k + 8 + len).min(b.len())];
        if id == b"fmt " {
            let u16_at = |i: usize| u16::from_le_bytes([body[i], body[i + 1]]);
            let rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
            fmt_ok = u16_at(0) == 1 && u16_at(2) == 1 && rate == 16000 && u16_at(14) == 16;
            assert!(fmt_ok, "{path}: need 16-bit mono PCM at 16 kHz");
        } else if id == b"data" {
            assert!(fmt_ok, "{path}: data before fmt");
            return body[..body.len() / 2 * 2].to_vec();
        }
        k += 8 + len + (len & 1);
    }
    panic!("{path}: no data chunk");
}

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    fs::copy("memory.x", out.join("memory.x")).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-env-changed=SOTTO_MCU_MODEL");
    println!("cargo:rerun-if-env-changed=SOTTO_MCU_CLIPS");
    let model = env::var("SOTTO_MCU_MODEL")
        .expect("set SOTTO_MCU_MODEL to a .tflite file (see .ci/mcu.sh)");
    let clips = env::var("SOTTO_MCU_CLIPS").expect("set SOTTO_MCU_CLIPS (see .ci/mcu.sh)");
    println!("cargo:rerun-if-changed={model}");
    let bytes = fs::read(&model).unwrap_or_else(|e| panic!("{model}: {e}"));
    let compiled = sotto_micro::tflite::Model::from_bytes(&bytes[..])
        .unwrap_or_else(|e| panic!("{model}: {e}"));
    let plan = out.join("model.plan");
    fs::write(&plan, compiled.plan()).unwrap();
    let mut rs = String::new();
    writeln!(rs, "/// The model, in flash.").unwrap();
    writeln!(
        rs,
        "pub static MODEL: &[u8] = include_bytes!({:?});",
        fs::canonicalize(&model).unwrap()
    )
    .unwrap();
    writeln!(rs, "/// Its execution plan (`Model::plan`), in flash.").unwrap();
    writeln!(rs, "pub static PLAN: &[u8] = include_bytes!({plan:?});").unwrap();
    writeln!(rs, "/// Reference clips: (name, little-endian 16-bit PCM).").unwrap();
    writeln!(rs, "pub static CLIPS: &[(&str, &[u8])] = &[").unwrap();
    for (k, clip) in clips.split(':').filter(|c| !c.is_empty()).enumerate() {
        println!("cargo:rerun-if-changed={clip}");
        let pcm = out.join(format!("clip{k}.pcm"));
        fs::write(&pcm, wav_pcm(clip)).unwrap();
        let name = std::path::Path::new(clip).file_stem().unwrap().to_string_lossy();
        writeln!(rs, "    ({name:?}, include_bytes!({pcm:?})),").unwrap();
    }
    writeln!(rs, "];").unwrap();
    fs::write(out.join("data.rs"), rs).unwrap();
}
