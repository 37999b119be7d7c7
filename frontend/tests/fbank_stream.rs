//! Fbank streaming: any chunking equals one-shot, bit for bit, for several configs.

use proptest::prelude::*;
use sotto_frontend::fbank::{Fbank, FbankConfig, WindowType};

fn signal(len: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2654435761).wrapping_add(1);
    (0..len)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            0.3 * (i as f32 * 0.05).sin() + (s as f32 / u32::MAX as f32 - 0.5) * 0.1
        })
        .collect()
}

fn configs() -> Vec<FbankConfig> {
    vec![
        FbankConfig::default(),
        FbankConfig {
            snip_edges: true,
            ..Default::default()
        },
        FbankConfig::sherpa_default(),
        FbankConfig {
            dither: 1e-3,
            dither_seed: 42,
            window: WindowType::Hann,
            ..Default::default()
        },
        FbankConfig {
            sample_rate: 8000.0,
            num_mel_bins: 23,
            high_freq: 3800.0,
            window: WindowType::Hamming,
            use_energy: true,
            frame_shift_ms: 12.5,
            round_to_power_of_two: false,
            ..Default::default()
        },
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn chunking_is_invisible(
        cfg_idx in 0usize..5,
        len in 0usize..5000,
        seed in any::<u32>(),
        cuts in proptest::collection::vec(1usize..700, 1..16),
    ) {
        let cfg = configs()[cfg_idx].clone();
        let x = signal(len, seed);
        let whole = Fbank::new(cfg.clone()).unwrap().compute_all(&x).unwrap();
        let mut fb = Fbank::new(cfg.clone()).unwrap();
        let mut out = Vec::new();
        let (mut pos, mut k) = (0, 0);
        while pos < len {
            let n = cuts[k % cuts.len()].min(len - pos);
            let before = out.len();
            let added = fb.accept(&x[pos..pos + n], &mut out).unwrap();
            prop_assert_eq!(added * fb.dim(), out.len() - before);
            pos += n;
            k += 1;
        }
        // Frames are emitted as soon as they are complete (Kaldi's non-flush count).
        prop_assert_eq!(out.len() / fb.dim(), cfg.num_frames(len as u64, false) as usize);
        fb.finish(&mut out);
        prop_assert_eq!(out.len() / fb.dim(), cfg.num_frames(len as u64, true) as usize);
        prop_assert_eq!(out, whole);
    }
}

#[test]
fn short_inputs_reflect_like_kaldi() {
    // 80..=239 samples give one frame with snip_edges=false, built by repeated reflection.
    let mut fb = Fbank::new(FbankConfig::default()).unwrap();
    for n in [1usize, 79, 80, 81, 239, 240] {
        let out = fb.compute_all(&signal(n, 3)).unwrap();
        assert_eq!(out.len() / 80, (n + 80) / 160, "n={n}");
        assert!(out.iter().all(|v| v.is_finite()));
    }
}
