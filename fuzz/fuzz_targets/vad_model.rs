//! Fuzzes loading a Silero VAD model file (`--vad-model` takes any file): any byte string must
//! give a model or a `VadModelError`, never a panic or an out-of-bounds read. A model that loads
//! runs a few windows at each of its rates.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sotto_models::vad::SileroVad;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = SileroVad::from_bytes(data, "fuzz.safetensors") else {
        return;
    };
    for rate in m.sample_rates() {
        let mut st = m.new_state(rate).expect("a listed rate has a network");
        let audio: Vec<f32> = (0..1200).map(|i| ((i * 37) % 200) as f32 / 100.0 - 1.0).collect();
        let mut out = Vec::new();
        let _ = m.step(&mut st, &audio, &mut out);
        let _ = m.flush(&mut st, &mut out);
    }
});
