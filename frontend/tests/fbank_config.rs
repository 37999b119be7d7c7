//! `FbankConfig` from a model file's `features` object (serde): the recipe's keys, defaults for
//! missing keys, unknown keys ignored, and errors that name what is wrong.

use sotto_frontend::fbank::{FbankConfig, WindowType};

fn parse(json: &str) -> Result<FbankConfig, serde_json::Error> {
    serde_json::from_str(json)
}

#[test]
fn recipe_features_object_gives_the_reference_config() {
    // The `features` object that tools/train/prepare.py writes into every model file.
    let c = parse(
        r#"{"sample_rate": 16000, "frame_length_ms": 25.0, "frame_shift_ms": 10.0, "num_mel_bins": 80,
            "low_freq": 20.0, "high_freq": 0.0, "preemph_coeff": 0.97, "window": "povey",
            "remove_dc_offset": true, "snip_edges": false, "dither": 0.0}"#,
    )
    .unwrap();
    assert_eq!(c, FbankConfig::default());
}

#[test]
fn missing_keys_keep_defaults_and_unknown_keys_are_ignored() {
    let c = parse(r#"{"num_mel_bins": 64, "window": "HAMMING", "future_key": [1, 2]}"#).unwrap();
    assert_eq!(c.num_mel_bins, 64);
    assert_eq!(c.window, WindowType::Hamming);
    assert_eq!(c.frame_shift_ms, FbankConfig::default().frame_shift_ms);
}

#[test]
fn bad_values_are_errors_that_say_what() {
    let e = parse(r#"{"window": "kaiser"}"#).unwrap_err().to_string();
    assert!(e.contains("kaiser") && e.contains("povey"), "{e}");
    let e = parse(r#"{"num_mel_bins": "eighty"}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("eighty"), "{e}");
    let e = parse(r#"{"snip_edges": 1}"#).unwrap_err().to_string();
    assert!(e.contains("bool"), "{e}");
}
