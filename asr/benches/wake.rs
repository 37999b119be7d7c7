//! Wake-word detection speed on one core: frontend + quantization + TFLite interpreter +
//! sliding window over `shared/reference/microfrontend/jfk.wav` (11 s; synthetic noise when
//! the shared folder is absent). Real-time factor = reported time / 11 s.
//! Compare: `tools/bench/pmww_rtf.py` (pymicro-wakeword 2.5.0, TFLite runtime).

use sotto_asr::wakeword::{WakeWord, WakeWordModel};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn main() {
    divan::main();
}

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference")
}

/// 11 s of audio.
fn audio() -> Vec<i16> {
    match sotto_frontend::audio::read_audio(shared().join("microfrontend/jfk.wav")) {
        Ok(a) => a.samples.iter().map(|&s| (s * 32768.0) as i16).collect(),
        Err(_) => {
            let mut x = 1u32;
            (0..176_000)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    (x >> 20) as i16 - 2048
                })
                .collect()
        }
    }
}

fn models(names: &[&str]) -> Option<Vec<Arc<WakeWordModel>>> {
    names
        .iter()
        .map(|n| WakeWordModel::load(shared().join("microwakeword/models").join(n)).ok())
        .collect()
}

fn run(bencher: divan::Bencher, names: &[&str]) {
    let Some(models) = models(names) else {
        eprintln!("skipping: shared models not found");
        return;
    };
    let samples = audio();
    bencher.bench_local(|| {
        let mut det = WakeWord::new(models.clone(), 16000).unwrap();
        for chunk in samples.chunks(1600) {
            divan::black_box(det.accept(chunk));
        }
    });
}

/// One v2 model (stride 3), 100 ms chunks.
#[divan::bench(sample_count = 20)]
fn v2_okay_nabu_11s(bencher: divan::Bencher) {
    run(bencher, &["v2/okay_nabu.json"]);
}

/// One v1 model (stride 1: three times the invocations, larger network).
#[divan::bench(sample_count = 10)]
fn v1_alexa_11s(bencher: divan::Bencher) {
    run(bencher, &["v1/alexa.json"]);
}

/// Four v2 wake words sharing one frontend.
#[divan::bench(sample_count = 10)]
fn four_v2_models_11s(bencher: divan::Bencher) {
    run(
        bencher,
        &[
            "v2/okay_nabu.json",
            "v2/alexa.json",
            "v2/hey_jarvis.json",
            "v2/hey_mycroft.json",
        ],
    );
}

/// The frontend alone (for the split between frontend and model).
#[divan::bench(sample_count = 20)]
fn frontend_only_11s(bencher: divan::Bencher) {
    use sotto_frontend::micro::{MicroFrontend, MicroFrontendConfig};
    let samples = audio();
    bencher.bench_local(|| {
        let mut fe = MicroFrontend::new(MicroFrontendConfig::default()).unwrap();
        let mut raw = Vec::with_capacity(40 * 1100);
        for chunk in samples.chunks(1600) {
            fe.process(chunk, &mut raw);
        }
        divan::black_box(raw.len())
    });
}
