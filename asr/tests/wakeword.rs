//! End-to-end wake-word parity: audio → MicroFrontend → pymicro-wakeword quantization → TFLite
//! interpreter → sliding window reproduces `shared/reference/microwakeword/expected.tsv` for
//! every model × clip (all 14 models run together on one shared frontend per clip).

use proptest::prelude::*;
use sotto_asr::wakeword::{Score, WakeWord, WakeWordModel, WakeWordSettings};
use sotto_asr::AsrError;
use sotto_testutil::read_tsv;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn root() -> Option<PathBuf> {
    sotto_testutil::shared_dir("reference/microwakeword")
}

/// `(model_id, model)` for every manifest in models.tsv.
fn models(root: &Path) -> Vec<(String, Arc<WakeWordModel>)> {
    read_tsv(&root.join("models/models.tsv"))
        .iter()
        .map(|r| {
            (
                r["model_id"].clone(),
                WakeWordModel::load(root.join(&r["json"])).unwrap_or_else(|e| panic!("{e}")),
            )
        })
        .collect()
}

fn clip(root: &Path, name: &str) -> Vec<i16> {
    let audio =
        sotto_frontend::audio::read_audio(root.join("clips").join(format!("{name}.wav"))).unwrap();
    assert_eq!(audio.sample_rate, 16000);
    audio
        .samples
        .iter()
        .map(|&s| (s * 32768.0) as i16)
        .collect()
}

/// Per model index: the score trace of `samples` fed in `chunk`-sample pieces.
fn trace(models: &[Arc<WakeWordModel>], samples: &[i16], chunk: usize) -> Vec<Vec<Score>> {
    let mut det = WakeWord::new(models.to_vec(), 16000).unwrap();
    let mut scores = Vec::new();
    for c in samples.chunks(chunk.max(1)) {
        det.accept_scored(c, &mut scores);
    }
    let mut per = vec![Vec::new(); models.len()];
    for s in scores {
        per[s.model].push(s);
    }
    per
}

#[test]
fn reproduces_expected_detections_for_every_model_and_clip() {
    let Some(root) = root() else { return };
    let models = models(&root);
    let index: HashMap<&str, usize> = models
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (id.as_str(), i))
        .collect();
    let all: Vec<Arc<WakeWordModel>> = models.iter().map(|(_, m)| m.clone()).collect();
    let rows = read_tsv(&root.join("expected.tsv"));
    let mut by_clip: HashMap<&str, Vec<&HashMap<String, String>>> = HashMap::new();
    for r in &rows {
        by_clip.entry(r["clip"].as_str()).or_default().push(r);
    }
    let (mut checked, mut detected, mut failures) = (0, 0, Vec::new());
    for (name, rows) in &by_clip {
        let samples = clip(&root, name);
        let traces = trace(&all, &samples, 4000);
        for r in rows {
            let m = index[r["model"].as_str()];
            let t = &traces[m];
            let w = r["sliding_window_size"].parse::<usize>().unwrap();
            let first = t
                .iter()
                .find(|s| s.window_mean > models[m].1.settings().probability_cutoff)
                .map_or(-1, |s| s.step as i64);
            let max_sum = t
                .windows(w)
                .map(|win| win.iter().map(|s| u32::from(s.raw)).sum::<u32>())
                .max()
                .unwrap_or(0);
            let got = (t.len(), first >= 0, first, max_sum);
            let want = (
                r["steps"].parse::<usize>().unwrap(),
                r["detected"] == "yes",
                r["first_detection_step"].parse::<i64>().unwrap(),
                r["max_window_sum_u8"].parse::<u32>().unwrap(),
            );
            if got != want {
                failures.push(format!(
                    "{name} / {}: got {got:?}, expected {want:?}",
                    r["model"]
                ));
            }
            if want.1 {
                let end = r["first_detection_audio_end_sample"]
                    .parse::<f64>()
                    .unwrap();
                assert_eq!(t[first as usize].time, end / 16000.0);
            }
            checked += 1;
            detected += usize::from(got.1);
        }
    }
    println!(
        "{checked} model x clip pairs checked, {detected} detections, {} mismatches",
        failures.len()
    );
    assert_eq!(checked, 1316);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn detections_fire_once_per_refractory_period() {
    let Some(root) = root() else { return };
    let model = WakeWordModel::load(root.join("models/v2/alexa.json")).unwrap();
    let samples = clip(&root, "pmww_alexa_1");
    let mut twice = samples.clone();
    twice.extend(vec![0i16; 16000]);
    twice.extend(&samples);
    let mut det = WakeWord::new(vec![model.clone()], 16000).unwrap();
    let d = det.accept(&twice);
    assert_eq!(d.len(), 2, "{d:?}");
    assert!(d.iter().all(|d| d.wake_word == "Alexa" && d.score > 0.9));
    assert!(d[1].time - d[0].time > 2.0);
    // A refractory period longer than the audio keeps the second one quiet.
    det.reset();
    det.set_refractory(60.0);
    assert_eq!(det.accept(&twice).len(), 1);
    // reset() gives a fresh stream: same detections again.
    det.reset();
    det.set_refractory(2.0);
    assert_eq!(det.accept(&twice), d);
}

#[test]
fn f32_input_round_trips_16_bit_audio() {
    let Some(root) = root() else { return };
    let model = WakeWordModel::load(root.join("models/v2/hey_jarvis.json")).unwrap();
    let samples = clip(&root, "pmww_hey_jarvis_1");
    let floats: Vec<f32> = samples.iter().map(|&s| f32::from(s) / 32768.0).collect();
    let mut a = WakeWord::new(vec![model.clone()], 16000).unwrap();
    let mut b = WakeWord::new(vec![model], 16000).unwrap();
    let da = a.accept(&samples);
    assert!(!da.is_empty());
    assert_eq!(b.accept_f32(&floats).unwrap(), da);
    let err = b.accept_f32(&[0.0, f32::NAN]).unwrap_err();
    assert!(matches!(err, AsrError::NonFinite { .. }), "{err}");
}

#[test]
fn bad_manifests_are_errors_naming_the_file() {
    let Some(root) = root() else { return };
    let dir = std::env::temp_dir().join(format!("sotto-wake-manifest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        ("broken.json", "{ not json".to_string()),
        ("nomicro.json", r#"{"type": "micro", "wake_word": "x", "model": "x.tflite"}"#.to_string()),
        ("badcutoff.json", r#"{"wake_word": "x", "model": "x.tflite", "micro": {"probability_cutoff": 2, "sliding_window_size": 5}}"#.to_string()),
        ("missing.json", r#"{"wake_word": "x", "model": "nope.tflite", "micro": {"probability_cutoff": 0.5, "sliding_window_size": 5}}"#.to_string()),
        ("other.json", r#"{"type": "openwakeword", "wake_word": "x", "model": "x.tflite", "micro": {}}"#.to_string()),
    ];
    for (name, text) in cases {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        let msg = WakeWordModel::load(&p).unwrap_err().to_string();
        let named = if name == "missing.json" {
            "nope.tflite"
        } else {
            name
        };
        assert!(msg.contains(named), "{name}: {msg}");
    }
    // A non-model file passed as .tflite.
    let msg = WakeWordModel::from_tflite(
        root.join("models/v2/alexa.json"),
        WakeWordSettings::new("x"),
    )
    .unwrap_err()
    .to_string();
    assert!(msg.contains("alexa.json"), "{msg}");
    std::fs::remove_dir_all(&dir).ok();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]
    #[test]
    fn any_chunking_gives_identical_scores(chunk in 1usize..5000) {
        let Some(root) = root() else { return Ok(()) };
        let models: Vec<_> = ["models/v2/okay_nabu.json", "models/pymicro-wakeword-tests/computer.json", "models/v1/alexa.json"]
            .iter().map(|p| WakeWordModel::load(root.join(p)).unwrap()).collect();
        let samples = clip(&root, "pmww_okay_nabu_1");
        prop_assert_eq!(trace(&models, &samples, chunk), trace(&models, &samples, samples.len()));
    }
}

/// `x` at 16 kHz linearly interpolated to 48 kHz.
fn upsample3(x: &[i16]) -> Vec<i16> {
    let mut out = Vec::with_capacity(x.len() * 3);
    for (i, &a) in x.iter().enumerate() {
        let b = *x.get(i + 1).unwrap_or(&a);
        for k in 0..3 {
            out.push(
                ((f32::from(a) * (3 - k) as f32 + f32::from(b) * k as f32) / 3.0).round() as i16,
            );
        }
    }
    out
}

#[test]
fn other_sample_rates_are_resampled() {
    let Some(root) = root() else { return };
    let model = WakeWordModel::load(root.join("models/v2/alexa.json")).unwrap();
    let samples = clip(&root, "pmww_alexa_1");
    let at16 = WakeWord::new(vec![model.clone()], 16000)
        .unwrap()
        .accept(&samples);
    let up = upsample3(&samples);
    let run48 = |chunk: usize| {
        let mut det = WakeWord::new(vec![model.clone()], 48000).unwrap();
        let mut scores = Vec::new();
        let mut d: Vec<_> = up
            .chunks(chunk)
            .flat_map(|c| det.accept_scored(c, &mut scores))
            .collect();
        d.extend(det.finish(Some(&mut scores)));
        (d, scores)
    };
    let (at48, scores) = run48(4800);
    assert_eq!(at16.len(), 1);
    assert_eq!(at48.len(), 1, "{at48:?}");
    assert!(
        (at48[0].time - at16[0].time).abs() <= 0.1,
        "{at48:?} vs {at16:?}"
    );
    // Chunking does not matter through the resampler either.
    assert_eq!(run48(777), (at48, scores));
    assert!(WakeWord::new(vec![model], 100).is_err());
}
