//! Streaming behaviour of the TFLite-Micro frontend: any chunking of the input gives the
//! one-shot output, `reset` restores a fresh state, and configurations are validated.
//! Uses synthesized audio only, so it runs without `/work/shared`.

use proptest::prelude::*;
use sotto_frontend::micro::{MicroFrontend, MicroFrontendConfig};
use sotto_frontend::FrontendError;

/// Deterministic speech-like test signal: two gliding tones, bursts and LCG noise.
fn synth(len: usize, seed: u32) -> Vec<i16> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|t| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = ((state >> 16) as i32 - 32768) as f32 / 32768.0;
            let ts = t as f32 / 16000.0;
            let env = if (t / 2400) % 3 == 2 { 0.05 } else { 1.0 };
            let tone = (2.0 * std::f32::consts::PI * (300.0 + 900.0 * ts) * ts).sin() * 0.4
                + (2.0 * std::f32::consts::PI * 2300.0 * ts).sin() * 0.2;
            ((tone * env + noise * 0.05) * 32767.0) as i16
        })
        .collect()
}

fn one_shot(samples: &[i16]) -> Vec<u16> {
    let mut fe = MicroFrontend::new(MicroFrontendConfig::default()).unwrap();
    let mut out = Vec::new();
    let frames = fe.process(samples, &mut out);
    assert_eq!(out.len(), frames * fe.num_channels());
    out
}

fn chunked(samples: &[i16], sizes: &[usize]) -> Vec<u16> {
    let mut fe = MicroFrontend::new(MicroFrontendConfig::default()).unwrap();
    let mut out = Vec::new();
    let mut rest = samples;
    let mut frames = 0;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let n = size.min(rest.len());
        frames += fe.process(&rest[..n], &mut out);
        rest = &rest[n..];
    }
    assert_eq!(out.len(), frames * fe.num_channels());
    out
}

/// Chunk sizes biased towards the edge cases 0 and 1 and the 160/480 boundaries.
fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    let size = prop_oneof![
        2 => Just(0usize),
        2 => Just(1usize),
        1 => Just(159usize),
        1 => Just(160usize),
        1 => Just(481usize),
        6 => 0usize..1200,
    ];
    // At least one non-zero size so the cycle always makes progress.
    (prop::collection::vec(size, 1..40), 1usize..500).prop_map(|(mut v, extra)| {
        v.push(extra);
        v
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_chunking_equals_one_shot(sizes in chunk_sizes(), seed in any::<u32>()) {
        let samples = synth(16000, seed);
        prop_assert_eq!(chunked(&samples, &sizes), one_shot(&samples));
    }

    /// Arbitrary samples (including full-scale and -32768) never panic and still stream exactly.
    #[test]
    fn arbitrary_samples_stream_exactly(
        samples in prop::collection::vec(any::<i16>(), 0..4000),
        sizes in chunk_sizes(),
    ) {
        let want = one_shot(&samples);
        let frames = if samples.len() >= 480 { (samples.len() - 480) / 160 + 1 } else { 0 };
        prop_assert_eq!(want.len(), frames * 40);
        prop_assert_eq!(chunked(&samples, &sizes), want);
    }
}

#[test]
fn frame_count_follows_window_and_step() {
    let mut fe = MicroFrontend::new(MicroFrontendConfig::default()).unwrap();
    let mut out = Vec::new();
    assert_eq!(fe.process(&[0; 479], &mut out), 0);
    assert_eq!(fe.process(&[0; 1], &mut out), 1);
    assert_eq!(fe.process(&[0; 159], &mut out), 0);
    assert_eq!(fe.process(&[0; 1], &mut out), 1);
    assert_eq!(fe.process(&[], &mut out), 0);
    assert_eq!(fe.process(&[0; 1600], &mut out), 10);
    assert_eq!(out.len(), 12 * 40);
    assert_eq!(
        (fe.window_samples(), fe.step_samples(), fe.num_channels()),
        (480, 160, 40)
    );
}

#[test]
fn reset_restores_fresh_state() {
    let a = synth(8000, 1);
    let b = synth(9000, 2);
    let mut fe = MicroFrontend::new(MicroFrontendConfig::default()).unwrap();
    let mut out = Vec::new();
    fe.process(&a[..7777], &mut out);
    fe.reset();
    out.clear();
    fe.process(&b, &mut out);
    assert_eq!(out, one_shot(&b));
    // The adaptive state matters: without reset the same audio gives different values.
    let mut warm = Vec::new();
    fe.process(&b, &mut warm);
    assert_ne!(warm, out);
}

#[test]
fn silence_and_loud_input_are_sane() {
    // Digital silence: every channel is exactly zero after the log (value <= 1 maps to 0).
    let out = one_shot(&[0; 4800]);
    assert!(out.iter().all(|&v| v == 0));
    // A loud tone lights up some channels far above others.
    let out = one_shot(&synth(4800, 3));
    let last = &out[out.len() - 40..];
    assert!(
        last.iter().max().unwrap() - last.iter().min().unwrap() > 100,
        "{last:?}"
    );
}

#[test]
fn other_configurations_work() {
    let tflm_defaults = MicroFrontendConfig {
        window_size_ms: 25,
        num_channels: 32,
        enable_pcan: false,
        ..MicroFrontendConfig::default()
    };
    let samples = synth(16000, 4);
    for cfg in [
        tflm_defaults,
        MicroFrontendConfig {
            enable_log: false,
            ..MicroFrontendConfig::default()
        },
        MicroFrontendConfig {
            sample_rate: 8000,
            upper_band_limit: 3800.0,
            ..MicroFrontendConfig::default()
        },
        MicroFrontendConfig {
            num_channels: 80,
            ..MicroFrontendConfig::default()
        },
    ] {
        let mut fe = MicroFrontend::new(cfg.clone()).unwrap_or_else(|e| panic!("{cfg:?}: {e}"));
        let mut out = Vec::new();
        let frames = fe.process(&samples, &mut out);
        let expect = (samples.len() - fe.window_samples()) / fe.step_samples() + 1;
        assert_eq!(frames, expect, "{cfg:?}");
        assert_eq!(out.len(), frames * cfg.num_channels);
        assert!(out.iter().any(|&v| v > 0), "{cfg:?}");
    }
}

#[test]
fn invalid_configurations_are_rejected() {
    let d = MicroFrontendConfig::default;
    for (cfg, needle) in [
        (
            MicroFrontendConfig {
                sample_rate: 0,
                ..d()
            },
            "sample rate",
        ),
        (
            MicroFrontendConfig {
                window_step_ms: 0,
                ..d()
            },
            "step",
        ),
        (
            MicroFrontendConfig {
                window_step_ms: 40,
                ..d()
            },
            "step",
        ),
        (
            MicroFrontendConfig {
                window_size_ms: 0,
                ..d()
            },
            "window",
        ),
        (
            MicroFrontendConfig {
                num_channels: 0,
                ..d()
            },
            "num_channels",
        ),
        (
            MicroFrontendConfig {
                upper_band_limit: 9000.0,
                ..d()
            },
            "upper band limit",
        ),
        (
            MicroFrontendConfig {
                lower_band_limit: f32::NAN,
                ..d()
            },
            "band limits",
        ),
        (
            MicroFrontendConfig {
                lower_band_limit: 8000.0,
                ..d()
            },
            "band limits",
        ),
        (
            MicroFrontendConfig {
                noise_even_smoothing: 1.5,
                ..d()
            },
            "noise_even_smoothing",
        ),
        (
            MicroFrontendConfig {
                pcan_gain_bits: 40,
                ..d()
            },
            "pcan_gain_bits",
        ),
        (
            MicroFrontendConfig {
                pcan_offset: -1.0,
                ..d()
            },
            "pcan",
        ),
        (
            MicroFrontendConfig {
                log_scale_shift: 40,
                ..d()
            },
            "log_scale_shift",
        ),
    ] {
        match MicroFrontend::new(cfg.clone()) {
            Err(FrontendError::InvalidConfig(msg)) => {
                assert!(msg.contains(needle), "{cfg:?}: {msg}")
            }
            other => panic!("{cfg:?}: expected InvalidConfig, got {other:?}"),
        }
    }
}

#[test]
fn frontend_is_send_and_sync() {
    fn check<T: Send + Sync + Clone>() {}
    check::<MicroFrontend>();
}
