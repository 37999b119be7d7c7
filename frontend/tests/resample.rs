//! Resampler: lengths, time alignment, passthrough, rate limits, chunking invariance.

use proptest::prelude::*;
use sotto_frontend::resample::{resample_to_16k, Resampler16k};
use sotto_frontend::FrontendError;

fn sine(rate: u32, freq: f64, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (0.5 * (std::f64::consts::TAU * freq * i as f64 / rate as f64).sin()) as f32)
        .collect()
}

#[test]
fn lengths_and_alignment_for_common_rates() {
    for rate in [8000u32, 11025, 22050, 24000, 32000, 44100, 48000] {
        let n = rate as usize * 3 / 4 + 17; // 0.75 s and a bit
        let x = sine(rate, 440.0, n);
        let y = resample_to_16k(&x, rate).unwrap();
        let want_len = ((n as u64 * 16000 + rate as u64 / 2) / rate as u64) as usize;
        assert_eq!(y.len(), want_len, "rate {rate}");
        // Time-aligned with the ideal 16 kHz sine away from the edges.
        let ideal = sine(16000, 440.0, y.len());
        let err = y[800..y.len() - 800]
            .iter()
            .zip(&ideal[800..])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            err < 2e-3,
            "rate {rate}: max error {err} vs ideal sine (misaligned?)"
        );
    }
}

#[test]
fn anti_aliasing_removes_content_above_8k() {
    // 10 kHz at 44.1 kHz cannot be represented at 16 kHz and must be filtered out.
    let y = resample_to_16k(&sine(44100, 10_000.0, 44100), 44100).unwrap();
    let rms = (y[1000..15000].iter().map(|v| v * v).sum::<f32>() / 14000.0).sqrt();
    assert!(rms < 1e-3, "rms {rms}");
}

#[test]
fn passthrough_at_16k() {
    let x = sine(16000, 1000.0, 1234);
    let mut r = Resampler16k::new(16000).unwrap();
    let mut out = Vec::new();
    r.push(&x[..100], &mut out);
    r.push(&x[100..], &mut out);
    r.finish(&mut out);
    assert_eq!(out, x);
}

#[test]
fn rejects_rates_out_of_range() {
    for rate in [0u32, 7999, 48001, 96000] {
        let e = Resampler16k::new(rate).unwrap_err();
        assert!(
            matches!(e, FrontendError::UnsupportedSampleRate { rate: r, .. } if r == rate),
            "{e}"
        );
        assert!(e.to_string().contains(&rate.to_string()));
    }
}

#[test]
fn empty_and_tiny_inputs() {
    assert!(resample_to_16k(&[], 44100).unwrap().is_empty());
    assert_eq!(resample_to_16k(&[0.1; 3], 44100).unwrap().len(), 1);
    // Reusable after finish.
    let mut r = Resampler16k::new(48000).unwrap();
    let a = r.process_all(&sine(48000, 300.0, 4800));
    let b = r.process_all(&sine(48000, 300.0, 4800));
    assert_eq!(a, b);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Any chunking of the input gives bit-identical output to one-shot.
    #[test]
    fn chunking_is_invisible(
        rate in prop::sample::select(vec![8000u32, 22050, 44100, 48000, 16000, 11025]),
        len in 0usize..6000,
        cuts in proptest::collection::vec(1usize..900, 1..20),
    ) {
        let x: Vec<f32> = (0..len).map(|i| (i * 7919 % 1000) as f32 / 1000.0 - 0.5).collect();
        let whole = resample_to_16k(&x, rate).unwrap();
        let mut r = Resampler16k::new(rate).unwrap();
        let mut out = Vec::new();
        let (mut pos, mut k) = (0, 0);
        while pos < len {
            let n = cuts[k % cuts.len()].min(len - pos);
            r.push(&x[pos..pos + n], &mut out);
            pos += n;
            k += 1;
        }
        r.finish(&mut out);
        prop_assert_eq!(out, whole);
    }
}
