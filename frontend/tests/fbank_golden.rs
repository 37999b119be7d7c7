//! Parity with kaldi-native-fbank 1.23.0 goldens in `shared/reference/fbank/`.

use std::path::{Path, PathBuf};

use ndarray::Array2;
use ndarray_npy::read_npy;
use sotto_frontend::fbank::{Fbank, FbankConfig};

fn fbank_dir() -> Option<PathBuf> {
    sotto_testutil::shared_dir("reference/fbank")
}

/// int16 / 32768, as the goldens were produced (read with hound, independently of our reader).
fn read_wav(p: &Path) -> Vec<f32> {
    let mut r = hound::WavReader::open(p).unwrap();
    assert_eq!(r.spec().sample_rate, 16000);
    r.samples::<i16>()
        .map(|s| s.unwrap() as f32 / 32768.0)
        .collect()
}

fn wavs(dir: &Path) -> Vec<PathBuf> {
    let v = sotto_testutil::files_with_ext(dir, "wav");
    assert_eq!(v.len(), 5, "expected the 5 reference WAVs");
    v
}

fn variants() -> [(&'static str, FbankConfig); 3] {
    [
        ("fbank", FbankConfig::default()),
        (
            "fbank_snip",
            FbankConfig {
                snip_edges: true,
                ..FbankConfig::default()
            },
        ),
        ("fbank_sherpa_default", FbankConfig::sherpa_default()),
    ]
}

fn golden(wav: &Path, variant: &str) -> Array2<f32> {
    let stem = wav.file_stem().unwrap().to_str().unwrap();
    read_npy(wav.with_file_name(format!("{stem}.{variant}.npy"))).unwrap()
}

/// Tolerance: 1e-4 absolute per value, widened only where f32 FFT rounding is
/// provably larger than that. The reference's FFT is KISS FFT compiled with
/// `-ffast-math` (kissfft's CMake sets it), whose exact f32 rounding cannot be
/// reproduced; an FFT's rounding error is a fraction ~FLT_EPSILON of the frame's
/// total energy, so in a mel bin holding a tiny share of it (bins far from the tone
/// in `tone_1khz_0.5s`) it moves the log energy by up to
/// `FLT_EPSILON * E_frame / E_bin`. (An exact f64 DFT differs from the goldens by as
/// much as we do there.) Hence per value:
/// `|diff| <= 1e-4 + 4 * FLT_EPSILON * sum_b exp(golden_b) / exp(golden_i)`, and
/// never more than 1e-3.
fn compare(name: &str, got: &[f32], want: &Array2<f32>) {
    let dim = want.ncols();
    assert_eq!(got.len() % dim, 0);
    assert_eq!(got.len() / dim, want.nrows(), "{name}: frame count");
    let (mut worst, mut over, mut widened) = (0.0f32, 0usize, 0usize);
    for (f, (g, w)) in got.chunks(dim).zip(want.rows()).enumerate() {
        let frame_energy: f64 = w.iter().map(|&v| (v as f64).exp()).sum();
        for (b, (&g, &w)) in g.iter().zip(w.iter()).enumerate() {
            let d = (g - w).abs();
            assert!(d.is_finite(), "{name}: non-finite at frame {f} bin {b}");
            let tol = 1e-4 + 4.0 * f32::EPSILON as f64 * frame_energy / (w as f64).exp();
            assert!(
                d as f64 <= tol.min(1e-3),
                "{name}: frame {f} bin {b}: got {g}, want {w} (|diff| {d} > {tol})"
            );
            worst = worst.max(d);
            over += usize::from(d > 1e-4);
            widened += usize::from(tol > 2e-4);
        }
    }
    eprintln!("{name}: {} frames, max |diff| {worst:.3e}, {over} of {} values > 1e-4 (tolerance above 2e-4 for {widened})", want.nrows(), got.len());
}

#[test]
fn default_config_matches_reference_config_json() {
    let Some(dir) = fbank_dir() else { return };
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    for (variant, ours) in variants() {
        let o = &cfg["options"][variant];
        let (fo, mo) = (&o["frame_opts"], &o["mel_opts"]);
        let f = |v: &serde_json::Value| v.as_f64().unwrap() as f32;
        assert_eq!(ours.sample_rate, f(&fo["samp_freq"]));
        assert_eq!(ours.frame_shift_ms, f(&fo["frame_shift_ms"]));
        assert_eq!(ours.frame_length_ms, f(&fo["frame_length_ms"]));
        assert_eq!(ours.dither, f(&fo["dither"]));
        assert_eq!(ours.preemph_coeff, f(&fo["preemph_coeff"]));
        assert_eq!(
            ours.remove_dc_offset,
            fo["remove_dc_offset"].as_bool().unwrap()
        );
        assert_eq!(
            format!("{:?}", ours.window).to_lowercase(),
            fo["window_type"].as_str().unwrap()
        );
        assert_eq!(
            ours.round_to_power_of_two,
            fo["round_to_power_of_two"].as_bool().unwrap()
        );
        assert_eq!(
            ours.snip_edges,
            fo["snip_edges"].as_bool().unwrap(),
            "{variant}"
        );
        assert_eq!(ours.num_mel_bins as u64, mo["num_bins"].as_u64().unwrap());
        assert_eq!(ours.low_freq, f(&mo["low_freq"]));
        assert_eq!(ours.high_freq, f(&mo["high_freq"]), "{variant}");
        assert!(!mo["htk_mode"].as_bool().unwrap() && !mo["is_librosa"].as_bool().unwrap());
        assert_eq!(ours.use_energy, o["use_energy"].as_bool().unwrap());
        assert_eq!(ours.energy_floor, f(&o["energy_floor"]));
        assert_eq!(ours.raw_energy, o["raw_energy"].as_bool().unwrap());
        assert_eq!(ours.use_power, o["use_power"].as_bool().unwrap());
        assert!(o["use_log_fbank"].as_bool().unwrap() && o["use_log_floor"].as_bool().unwrap());
        assert_eq!(ours.log_floor, f(&o["eps"]));
    }
}

#[test]
fn one_shot_matches_goldens() {
    let Some(dir) = fbank_dir() else { return };
    for wav in wavs(&dir) {
        let x = read_wav(&wav);
        for (variant, cfg) in variants() {
            let got = Fbank::new(cfg).unwrap().compute_all(&x).unwrap();
            compare(
                &format!("{} {variant}", wav.display()),
                &got,
                &golden(&wav, variant),
            );
        }
    }
}

#[test]
fn chunk37_streaming_matches_goldens_and_frames_ready() {
    let Some(dir) = fbank_dir() else { return };
    let cfg_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    for wav in wavs(&dir) {
        let x = read_wav(&wav);
        let name = wav.file_name().unwrap().to_str().unwrap();
        let entry = cfg_json["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["wav"] == name)
            .unwrap();
        for (variant, cfg) in variants() {
            let mut fb = Fbank::new(cfg.clone()).unwrap();
            let mut out = Vec::new();
            for c in x.chunks(37) {
                fb.accept(c, &mut out).unwrap();
            }
            let ready = out.len() / fb.dim();
            let want_ready = entry["outputs"][variant]
                ["frames_ready_before_input_finished_chunk37"]
                .as_u64()
                .unwrap();
            assert_eq!(
                ready as u64, want_ready,
                "{name} {variant}: frames ready before finish"
            );
            fb.finish(&mut out);
            let one_shot = Fbank::new(cfg).unwrap().compute_all(&x).unwrap();
            assert_eq!(out, one_shot, "{name} {variant}: chunked != one-shot");
            compare(
                &format!("{name} {variant} chunk37"),
                &out,
                &golden(&wav, variant),
            );
        }
    }
}
