//! `sotto features` end to end: goldens through the CLI, resampling, micro, errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ndarray::Array2;
use ndarray_npy::read_npy;
use sotto_testutil::write_wav;

fn sotto(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sotto"))
        .arg("features")
        .args(args)
        .output()
        .unwrap()
}

fn run_ok(args: &[&std::ffi::OsStr]) -> Output {
    let out = sotto(args);
    assert!(
        out.status.success(),
        "sotto features {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn shared(sub: &str) -> Option<PathBuf> {
    sotto_testutil::shared_dir(&format!("reference/{sub}"))
}

/// Same criterion as the frontend's golden test: 1e-4 per value, widened only by the
/// f32 FFT rounding noise of the reference (`FLT_EPSILON * E_frame / E_bin`), max 1e-3.
fn assert_close(name: &str, got: &Array2<f32>, want: &Array2<f32>) {
    assert_eq!(got.dim(), want.dim(), "{name}: shape");
    for (f, (g, w)) in got.rows().into_iter().zip(want.rows()).enumerate() {
        let energy: f64 = w.iter().map(|&v| (v as f64).exp()).sum();
        for (b, (&g, &w)) in g.iter().zip(w.iter()).enumerate() {
            let tol = (1e-4 + 4.0 * f32::EPSILON as f64 * energy / (w as f64).exp()).min(1e-3);
            assert!(
                ((g - w).abs() as f64) <= tol,
                "{name}: frame {f} bin {b}: {g} vs {w}"
            );
        }
    }
}

#[test]
fn fbank_goldens_through_the_cli() {
    let Some(dir) = shared("fbank") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("f.npy");
    let files = sotto_testutil::files_with_ext(&dir, "wav");
    assert_eq!(files.len(), 5);
    for wav in files {
        let stem = wav.file_stem().unwrap().to_str().unwrap().to_owned();
        let variants: [(&str, &[&str]); 3] = [
            ("fbank", &[]),
            ("fbank_snip", &["--snip-edges", "true"]),
            ("fbank_sherpa_default", &["--high-freq", "-400"]),
        ];
        for (variant, extra) in variants {
            let mut args: Vec<&std::ffi::OsStr> =
                vec![wav.as_os_str(), "-o".as_ref(), out.as_os_str()];
            args.extend(extra.iter().map(|s: &&str| std::ffi::OsStr::new(*s)));
            run_ok(&args);
            let got: Array2<f32> = read_npy(&out).unwrap();
            let want: Array2<f32> = read_npy(dir.join(format!("{stem}.{variant}.npy"))).unwrap();
            assert_close(&format!("{stem} {variant}"), &got, &want);
        }
    }
}

fn mel(f: f64) -> f64 {
    1127.0 * (1.0 + f / 700.0).ln()
}

#[test]
fn resamples_a_44k_stereo_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let (wav, out) = (tmp.path().join("sweep.wav"), tmp.path().join("sweep.npy"));
    // 1.5 s linear sweep 300 Hz -> 3300 Hz, left channel only (right silent: mixdown halves it).
    let (rate, n) = (44_100u32, 66_150usize);
    let (f0, f1, dur) = (300.0f64, 3300.0f64, n as f64 / rate as f64);
    let samples: Vec<i16> = (0..n)
        .flat_map(|i| {
            let t = i as f64 / rate as f64;
            let phase = std::f64::consts::TAU * (f0 * t + (f1 - f0) * t * t / (2.0 * dur));
            [(12000.0 * phase.sin()) as i16, 0]
        })
        .collect();
    write_wav(&wav, rate, 2, &samples);

    let o = run_ok(&[
        wav.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--json".as_ref(),
    ]);
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let got: Array2<f32> = read_npy(&out).unwrap();
    let n16 = (n as u64 * 16000 + rate as u64 / 2) / rate as u64; // 24000
    let frames = ((n16 + 80) / 160) as usize;
    assert_eq!(got.dim(), (frames, 80));
    assert_eq!(summary["frames"], frames);
    assert_eq!(summary["dims"], 80);
    assert!((summary["seconds"].as_f64().unwrap() - 1.5).abs() < 1e-9);
    // The loudest mel bin follows the sweep.
    let (ml, delta) = (mel(20.0), (mel(8000.0) - mel(20.0)) / 81.0);
    for frac in [0.2, 0.4, 0.6, 0.8] {
        let f = (frac * frames as f64) as usize;
        let t = f as f64 * 0.01;
        let inst = f0 + (f1 - f0) * t / dur;
        let want = (mel(inst) - ml) / delta - 1.0;
        let row = got.row(f);
        let peak = (0..80).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
        assert!(
            (peak as f64 - want).abs() <= 1.5,
            "frame {f}: peak bin {peak}, expected ~{want:.1} ({inst:.0} Hz)"
        );
    }
}

#[test]
fn micro_matches_microfrontend_goldens() {
    let Some(dir) = shared("microfrontend") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("m.npy");
    for name in ["speech", "wakeword_hey_jarvis_3"] {
        let wav = dir.join(format!("{name}.wav"));
        run_ok(&[
            wav.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
            "--kind".as_ref(),
            "micro".as_ref(),
        ]);
        let got: Array2<f32> = read_npy(&out).unwrap();
        let want: Array2<f32> = read_npy(dir.join(format!("{name}.features.npy"))).unwrap();
        assert_eq!(got, want, "{name}: micro features differ");
    }
}

#[test]
fn errors_name_the_file_and_exit_nonzero() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("x.npy");
    let check = |input: &Path, what: &str| {
        let o = sotto(&[input.as_os_str(), "-o".as_ref(), out.as_os_str()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{input:?} should fail");
        assert!(
            err.contains(input.file_name().unwrap().to_str().unwrap()),
            "{err}"
        );
        assert!(err.to_lowercase().contains(what), "{err} lacks {what:?}");
        assert!(!out.exists());
    };
    check(&tmp.path().join("missing.wav"), "cannot read");
    let junk = tmp.path().join("junk.wav");
    std::fs::write(&junk, b"RIFF\x04\0\0\0WAVEnot really").unwrap();
    check(&junk, "wav");
    let hi = tmp.path().join("96k.wav");
    write_wav(&hi, 96_000, 1, &[0; 960]);
    check(&hi, "96000");
    let opus = tmp.path().join("a.opus");
    std::fs::write(&opus, b"OggS\0\x02........OpusHead").unwrap();
    check(&opus, "opus");
}

#[test]
fn raw_input_and_text_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let (raw, out) = (tmp.path().join("a.raw"), tmp.path().join("a.npy"));
    let bytes: Vec<u8> = (0..8000)
        .flat_map(|i| (((i as f32 * 0.3).sin() * 8000.0) as i16).to_le_bytes())
        .collect();
    std::fs::write(&raw, bytes).unwrap();
    let o = run_ok(&[
        raw.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--raw-rate".as_ref(),
        "8000".as_ref(),
        "--mel-bins".as_ref(),
        "40".as_ref(),
    ]);
    let got: Array2<f32> = read_npy(&out).unwrap();
    assert_eq!(got.dim(), ((16000 + 80) / 160, 40));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("100 frames") && err.contains("resampled"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn help_documents_options_and_defaults() {
    let o = Command::new(env!("CARGO_BIN_EXE_sotto"))
        .args(["features", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    for opt in [
        "--kind",
        "--output",
        "--json",
        "--raw-rate",
        "--raw-channels",
        "--mel-bins",
        "--frame-length-ms",
        "--frame-shift-ms",
        "--low-freq",
        "--high-freq",
        "--preemph",
        "--window",
        "--remove-dc",
        "--snip-edges",
        "--dither",
        "--dither-seed",
        "--use-energy",
        "--energy-floor",
    ] {
        assert!(help.contains(opt), "--help lacks {opt}");
    }
    for default in [
        "[default: 80]",
        "[default: 25]",
        "[default: 10]",
        "[default: 0.97]",
        "[default: povey]",
        "[default: fbank]",
    ] {
        assert!(help.contains(default), "--help lacks {default}");
    }
}
