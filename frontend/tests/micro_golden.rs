//! Bit-exactness of the TFLite-Micro frontend against the pymicro-features 2.0.2 goldens
//! in `/work/shared/reference/microfrontend/` (raw `u16` and float features, 9 WAVs),
//! and of its fixed-point tables against `frontend_tables.json`.

use ndarray::Array2;
use ndarray_npy::read_npy;
use serde_json::Value;
use sotto_frontend::micro::{MicroFrontend, MicroFrontendConfig, MICRO_FEATURE_SCALE};
use std::path::{Path, PathBuf};

const WAVS: [&str; 9] = [
    "speech",
    "silence",
    "music",
    "librispeech_2830-3980-0043",
    "librivox_sense_and_sensibility_0880",
    "cmu_arctic_aew_a0001",
    "jfk",
    "wakeword_okay_nabu_1",
    "wakeword_hey_jarvis_3",
];

fn reference_dir() -> Option<PathBuf> {
    sotto_testutil::shared_dir("reference/microfrontend")
}

fn read_wav(path: &Path) -> Vec<i16> {
    let mut reader =
        hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = reader.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (16000, 1, 16),
        "{}",
        path.display()
    );
    reader.samples::<i16>().collect::<Result<_, _>>().unwrap()
}

/// The goldens feed consecutive 160-sample chunks and drop a trailing partial chunk.
fn run_frontend(samples: &[i16]) -> Vec<u16> {
    let mut fe = MicroFrontend::new(MicroFrontendConfig::default()).unwrap();
    let usable = samples.len() / 160 * 160;
    let mut out = Vec::new();
    for chunk in samples[..usable].chunks(160) {
        fe.process(chunk, &mut out);
    }
    out
}

#[test]
fn raw_and_float_features_match_goldens() {
    let Some(dir) = reference_dir() else { return };
    for name in WAVS {
        let samples = read_wav(&dir.join(format!("{name}.wav")));
        let raw = run_frontend(&samples);
        let want_raw: Array2<u16> = read_npy(dir.join(format!("{name}.raw_u16.npy"))).unwrap();
        let want_f32: Array2<f32> = read_npy(dir.join(format!("{name}.features.npy"))).unwrap();
        let (frames, channels) = want_raw.dim();
        assert_eq!(channels, 40, "{name}");
        assert_eq!(
            frames,
            samples.len() / 160 - 2,
            "{name}: golden frame count"
        );
        assert_eq!(raw.len(), frames * channels, "{name}: number of values");
        let want: Vec<u16> = want_raw.iter().copied().collect();
        if let Some(i) = raw.iter().zip(&want).position(|(a, b)| a != b) {
            let mismatches = raw.iter().zip(&want).filter(|(a, b)| a != b).count();
            panic!(
                "{name}: {mismatches} raw values differ; first at frame {} channel {}: got {} want {}",
                i / channels,
                i % channels,
                raw[i],
                want[i]
            );
        }
        // The whole file in one push (trailing partial step included) gives the same frames.
        let mut fe = MicroFrontend::new(MicroFrontendConfig::default()).unwrap();
        let mut one_shot = Vec::new();
        assert_eq!(
            fe.process(&samples, &mut one_shot),
            frames,
            "{name}: one-shot frames"
        );
        assert!(
            one_shot == raw,
            "{name}: one-shot output differs from 160-sample chunks"
        );
        for (i, (&r, &f)) in raw.iter().zip(want_f32.iter()).enumerate() {
            let got = r as f32 * MICRO_FEATURE_SCALE;
            assert_eq!(
                got.to_bits(),
                f.to_bits(),
                "{name}: float feature {i}: {got} vs {f}"
            );
        }
    }
}

fn ints(v: &Value, key: &str) -> Vec<i64> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} missing"))
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

fn widen(xs: &[i16]) -> Vec<i64> {
    xs.iter().map(|&x| x as i64).collect()
}

#[test]
fn tables_match_reference_state() {
    let Some(dir) = reference_dir() else { return };
    let text = std::fs::read_to_string(dir.join("frontend_tables.json")).unwrap();
    let t: Value = serde_json::from_str(&text).unwrap();
    let int = |key: &str| t[key].as_i64().unwrap_or_else(|| panic!("{key} missing"));
    let fe = MicroFrontend::new(MicroFrontendConfig::default()).unwrap();
    let got = fe.tables();

    assert_eq!(got.window_size as i64, int("window_size"));
    assert_eq!(got.window_step as i64, int("window_step"));
    assert_eq!(got.fft_size as i64, int("fft_size"));
    assert_eq!(
        widen(got.window_coefficients),
        ints(&t, "window_coefficients")
    );
    assert_eq!(fe.num_channels() as i64, int("filterbank_num_channels"));
    assert_eq!(
        got.filterbank_start_index as i64,
        int("filterbank_start_index")
    );
    assert_eq!(got.filterbank_end_index as i64, int("filterbank_end_index"));
    assert_eq!(
        widen(got.filterbank_channel_frequency_starts),
        ints(&t, "filterbank_channel_frequency_starts")
    );
    assert_eq!(
        widen(got.filterbank_channel_weight_starts),
        ints(&t, "filterbank_channel_weight_starts")
    );
    assert_eq!(
        widen(got.filterbank_channel_widths),
        ints(&t, "filterbank_channel_widths")
    );
    assert_eq!(
        widen(got.filterbank_weights),
        ints(&t, "filterbank_weights")
    );
    assert_eq!(
        widen(got.filterbank_unweights),
        ints(&t, "filterbank_unweights")
    );
    assert_eq!(
        got.noise_reduction_smoothing_bits as i64,
        int("noise_reduction_smoothing_bits")
    );
    assert_eq!(
        got.noise_reduction_even_smoothing_q14 as i64,
        int("noise_reduction_even_smoothing_q14")
    );
    assert_eq!(
        got.noise_reduction_odd_smoothing_q14 as i64,
        int("noise_reduction_odd_smoothing_q14")
    );
    assert_eq!(
        got.noise_reduction_min_signal_remaining_q14 as i64,
        int("noise_reduction_min_signal_remaining_q14")
    );
    assert_eq!(int("pcan_enable"), 1);
    assert_eq!(
        got.pcan_snr_shift.map(|s| s as i64),
        Some(int("pcan_snr_shift"))
    );
    assert_eq!(widen(got.pcan_gain_lut), ints(&t, "pcan_gain_lut"));
    assert_eq!(int("log_scale_enable"), 1);
    assert_eq!(got.log_scale_shift as i64, int("log_scale_shift"));
}
