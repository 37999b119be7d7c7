//! Voice activity detection speed on one core: the Silero VAD network plus hysteresis over
//! `shared/reference/microfrontend/jfk.wav` (11 s; a synthetic chirp when the shared folder is
//! absent), at 16 kHz and decimated to 8 kHz. Real-time factor = reported time / 11 s.
//! Compare: `tools/vad/bench.py` (upstream's ONNX model under onnxruntime, one thread).

use sotto_asr::vad::{Vad, VadConfig, VadModel};
use std::path::Path;

fn main() {
    divan::main();
}

/// 11 s of audio at 16 kHz.
fn audio() -> Vec<f32> {
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/microfrontend/jfk.wav");
    match sotto_frontend::audio::read_audio(p) {
        Ok(a) => a.samples,
        Err(_) => (0..176_000)
            .map(|i| {
                let t = i as f32 / 16000.0;
                0.3 * (t * (200.0 + 300.0 * t) * std::f32::consts::TAU).sin()
            })
            .collect(),
    }
}

#[divan::bench(args = [16000, 8000])]
fn vad_11s(bencher: divan::Bencher, rate: u32) {
    let model = VadModel::builtin().unwrap();
    let a16 = audio();
    let a: Vec<f32> = if rate == 16000 {
        a16
    } else {
        a16.iter().step_by(2).copied().collect()
    };
    bencher.bench_local(|| {
        let mut vad = Vad::new(model.clone(), rate, VadConfig::default()).unwrap();
        for chunk in a.chunks(rate as usize / 10) {
            vad.accept(chunk).unwrap();
        }
        vad.finish().unwrap();
        vad.events().count()
    });
}
