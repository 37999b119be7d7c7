//! Audio readers: every supported encoding, mixdown, and every failure mode.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use sotto_frontend::audio::{raw_s16le_bytes, read_audio, read_audio_bytes, read_raw_s16le, Audio};
use sotto_frontend::FrontendError;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn tmp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sotto-audio-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A WAV in memory, written by hound.
fn wav_bytes<S: hound::Sample + Copy>(spec: hound::WavSpec, samples: &[S]) -> Vec<u8> {
    let mut c = Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut c, spec).unwrap();
    for &s in samples {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
    c.into_inner()
}

fn spec(channels: u16, bits: u16, float: bool) -> hound::WavSpec {
    let sample_format = if float {
        hound::SampleFormat::Float
    } else {
        hound::SampleFormat::Int
    };
    hound::WavSpec {
        channels,
        sample_rate: 8000,
        bits_per_sample: bits,
        sample_format,
    }
}

#[test]
fn wav_integer_depths_scale_to_unit_range() {
    // Half scale and the most negative code, in each depth.
    let a = read_audio_bytes(&wav_bytes(spec(1, 16, false), &[16384i16, -32768, 0]), None).unwrap();
    assert_eq!(
        a,
        Audio {
            samples: vec![0.5, -1.0, 0.0],
            sample_rate: 8000
        }
    );
    let a = read_audio_bytes(
        &wav_bytes(spec(1, 24, false), &[1i32 << 22, -(1 << 23)]),
        None,
    )
    .unwrap();
    assert_eq!(a.samples, vec![0.5, -1.0]);
    let a = read_audio_bytes(
        &wav_bytes(spec(1, 32, false), &[1i32 << 30, i32::MIN]),
        None,
    )
    .unwrap();
    assert_eq!(a.samples, vec![0.5, -1.0]);
    let a = read_audio_bytes(&wav_bytes(spec(1, 8, false), &[64i8, -128]), None).unwrap();
    assert_eq!(a.samples, vec![0.5, -1.0]);
    let a = read_audio_bytes(&wav_bytes(spec(1, 32, true), &[0.25f32, -0.75]), None).unwrap();
    assert_eq!(a.samples, vec![0.25, -0.75]);
}

#[test]
fn wav_multichannel_is_averaged() {
    let a = read_audio_bytes(
        &wav_bytes(spec(2, 16, false), &[16384i16, 0, -16384, -16384]),
        None,
    )
    .unwrap();
    assert_eq!(a.samples, vec![0.25, -0.5]);
    let a = read_audio_bytes(
        &wav_bytes(spec(3, 32, true), &[0.3f32, 0.3, 0.3, 0.0, 0.0, 0.9]),
        None,
    )
    .unwrap();
    assert_eq!(a.samples.len(), 2);
    assert!((a.samples[0] - 0.3).abs() < 1e-7 && (a.samples[1] - 0.3).abs() < 1e-7);
}

#[test]
fn flac_is_lossless_and_matches_wav() {
    let wav = read_audio(data("tone440_stereo.wav")).unwrap();
    let flac = read_audio(data("tone440_stereo.flac")).unwrap();
    assert_eq!(wav.sample_rate, 22050);
    assert_eq!(wav.samples.len(), 4410);
    assert_eq!(flac, wav);
}

/// Correlation of `x` with a complex exponential at `freq`, normalised by energy.
fn tone_share(x: &[f32], rate: f32, freq: f32) -> f32 {
    let (mut c, mut s, mut e) = (0.0f64, 0.0f64, 0.0f64);
    for (i, &v) in x.iter().enumerate() {
        let t = std::f64::consts::TAU * freq as f64 * i as f64 / rate as f64;
        c += v as f64 * t.cos();
        s += v as f64 * t.sin();
        e += (v as f64).powi(2);
    }
    ((c * c + s * s) / (e * x.len() as f64 / 2.0)) as f32
}

#[test]
fn ogg_vorbis_decodes_the_tone() {
    let a = read_audio(data("tone440_stereo.ogg")).unwrap();
    assert_eq!(a.sample_rate, 22050);
    assert!(
        (a.samples.len() as i64 - 4410).abs() <= 64,
        "{} samples",
        a.samples.len()
    );
    assert!(tone_share(&a.samples, 22050.0, 440.0) > 0.95);
    assert!(tone_share(&a.samples, 22050.0, 880.0) < 0.05);
    // Same content from memory, with no extension hint.
    let b = read_audio_bytes(&std::fs::read(data("tone440_stereo.ogg")).unwrap(), None).unwrap();
    assert_eq!(a, b);
}

#[test]
fn raw_s16le() {
    let bytes: Vec<u8> = [16384i16, -16384, 0, 32767]
        .iter()
        .flat_map(|s| s.to_le_bytes())
        .collect();
    let a = raw_s16le_bytes(&bytes, 16000, 1).unwrap();
    assert_eq!(a.samples, vec![0.5, -0.5, 0.0, 32767.0 / 32768.0]);
    let p = tmp("x.raw", &bytes);
    let a = read_raw_s16le(&p, 16000, 2).unwrap();
    assert_eq!(a.samples, vec![0.0, 32767.0 / 65536.0]);
    let e = read_raw_s16le(&p, 16000, 3).unwrap_err();
    assert!(
        matches!(e, FrontendError::Decode { .. }) && e.to_string().contains("x.raw"),
        "{e}"
    );
    assert!(matches!(
        raw_s16le_bytes(&bytes, 0, 1),
        Err(FrontendError::InvalidConfig(_))
    ));
    assert!(matches!(
        raw_s16le_bytes(&[], 16000, 1),
        Err(FrontendError::EmptyAudio { .. })
    ));
    // A .raw file without rate/channels.
    let e = read_audio(&p).unwrap_err();
    assert!(
        matches!(e, FrontendError::UnsupportedFormat { .. }) && e.to_string().contains("raw"),
        "{e}"
    );
}

fn assert_err(e: FrontendError, file: &str, what: &str) {
    let msg = e.to_string();
    assert!(
        msg.contains(file),
        "message does not name the file {file}: {msg}"
    );
    assert!(
        msg.to_lowercase().contains(what),
        "message does not say {what:?}: {msg}"
    );
}

#[test]
fn missing_and_empty_files() {
    let e = read_audio("/nonexistent/dir/a.wav").unwrap_err();
    assert!(matches!(e, FrontendError::Io { .. }));
    assert_err(e, "/nonexistent/dir/a.wav", "cannot read");
    assert_err(
        read_audio(tmp("empty.wav", b"")).unwrap_err(),
        "empty.wav",
        "empty",
    );
}

#[test]
fn truncated_and_corrupt_wav() {
    let full = wav_bytes(spec(1, 16, false), &[1000i16; 100]);
    // Header claims 100 samples, only 50 present.
    let e = read_audio(tmp("trunc.wav", &full[..44 + 100])).unwrap_err();
    assert!(matches!(e, FrontendError::Decode { .. }), "{e}");
    assert_err(e, "trunc.wav", "truncated");
    // Cut inside the header.
    let e = read_audio(tmp("hdr.wav", &full[..20])).unwrap_err();
    assert!(matches!(e, FrontendError::Decode { .. }), "{e}");
    assert_err(e, "hdr.wav", "wav");
    // Garbage after a RIFF/WAVE signature.
    let mut bad = b"RIFF\x10\0\0\0WAVEjunkjunkjunk".to_vec();
    bad.resize(64, 0xAB);
    assert_err(
        read_audio(tmp("garbage.wav", &bad)).unwrap_err(),
        "garbage.wav",
        "wav",
    );
}

#[test]
fn zero_length_audio() {
    let e = read_audio(tmp("zero.wav", &wav_bytes::<i16>(spec(1, 16, false), &[]))).unwrap_err();
    assert!(matches!(e, FrontendError::EmptyAudio { .. }), "{e}");
    assert_err(e, "zero.wav", "empty");
}

#[test]
fn non_finite_samples() {
    let e = read_audio(tmp(
        "nan.wav",
        &wav_bytes(spec(1, 32, true), &[0.0f32, 0.1, f32::NAN]),
    ))
    .unwrap_err();
    assert!(
        matches!(e, FrontendError::NonFinite { index: 2, .. }),
        "{e}"
    );
    assert_err(e, "nan.wav", "nan");
    let e = read_audio_bytes(&wav_bytes(spec(1, 32, true), &[f32::INFINITY]), None).unwrap_err();
    assert!(
        matches!(e, FrontendError::NonFinite { index: 0, .. }),
        "{e}"
    );
}

#[test]
fn unsupported_formats() {
    let e = read_audio(tmp("notes.txt", b"hello, this is not audio")).unwrap_err();
    assert!(matches!(e, FrontendError::UnsupportedFormat { .. }), "{e}");
    assert_err(e, "notes.txt", "unsupported");
    // 64-bit float WAV: a valid file hound does not read.
    let mut w = wav_bytes(spec(1, 32, true), &[0.5f32, 0.5]);
    w[34] = 64; // bits per sample
    w[32] = 8; // block align
    w[28..32].copy_from_slice(&(8000u32 * 8).to_le_bytes());
    let e = read_audio(tmp("f64.wav", &w)).unwrap_err();
    assert_err(e, "f64.wav", "wav");
}

#[test]
fn opus_is_named_as_unsupported() {
    let e = read_audio(tmp("clip.opus", b"OggS\0\x02junk")).unwrap_err();
    assert!(matches!(e, FrontendError::UnsupportedFormat { .. }), "{e}");
    assert_err(e, "clip.opus", "opus");
    // Real Ogg Opus content under another name is detected from its header.
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/audio");
    let opus = std::fs::read_dir(corpus.join("kathleen"))
        .ok()
        .and_then(|mut d| d.next())
        .map(|e| e.unwrap().path());
    if let Some(p) = opus {
        let e = read_audio_bytes(&std::fs::read(&p).unwrap(), Some("ogg")).unwrap_err();
        assert_err(e, "<memory>", "opus");
    }
}

#[test]
fn truncated_and_corrupt_compressed() {
    let flac = std::fs::read(data("tone440_stereo.flac")).unwrap();
    let e = read_audio(tmp("cut.flac", &flac[..60])).unwrap_err();
    assert_err(e, "cut.flac", "flac");
    let ogg = std::fs::read(data("tone440_stereo.ogg")).unwrap();
    let e = read_audio(tmp("cut.ogg", &ogg[..40])).unwrap_err();
    assert_err(e, "cut.ogg", "ogg");
    // An MP3 signature followed by garbage (no MP3 fixture: no encoder available).
    let mut mp3 = b"ID3\x04\0\0\0\0\0\x00".to_vec();
    mp3.extend([0x55; 300]);
    let e = read_audio(tmp("bad.mp3", &mp3)).unwrap_err();
    assert_err(e, "bad.mp3", "mp3");
    // Corrupted FLAC frames (bytes flipped after the header).
    let mut bad = flac.clone();
    for b in bad.iter_mut().skip(100).step_by(7) {
        *b ^= 0x5A;
    }
    let e = read_audio(tmp("corrupt.flac", &bad)).unwrap_err();
    assert_err(e, "corrupt.flac", "flac");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Random bytes never panic; with a RIFF header prefix either.
    #[test]
    fn random_bytes_give_errors_not_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600), prefix in 0usize..4) {
        let heads: [&[u8]; 4] = [b"", b"RIFF\0\0\0\0WAVE", b"fLaC", b"OggS"];
        let mut input = heads[prefix].to_vec();
        input.extend(bytes);
        let _ = read_audio_bytes(&input, None);
        let _ = raw_s16le_bytes(&input, 16000, 2);
    }

    /// Decoding a WAV gives exactly the written PCM values for any length/channel count.
    #[test]
    fn wav_roundtrip(samples in proptest::collection::vec(any::<i16>(), 1..400), channels in 1u16..4) {
        let n = samples.len() / channels as usize * channels as usize;
        prop_assume!(n > 0);
        let a = read_audio_bytes(&wav_bytes(spec(channels, 16, false), &samples[..n]), None).unwrap();
        let want: Vec<f32> = samples[..n].chunks(channels as usize)
            .map(|c| c.iter().map(|&s| s as f32 / 32768.0).sum::<f32>() / channels as f32).collect();
        prop_assert_eq!(a.samples, want);
    }
}

/// Regression (found by fuzzing): symphonia 0.5 allocates whatever length a Vorbis
/// comment claims. FLAC tags are dropped unread; a bad Ogg comment header is an error.
#[test]
fn huge_comment_lengths_do_not_allocate() {
    let flac = std::fs::read(data("tone440_stereo.flac")).unwrap();
    let at = flac
        .windows(8)
        .position(|w| w == b"Comment=")
        .expect("a comment")
        - 4;
    let mut bad = flac.clone();
    bad[at..at + 4].copy_from_slice(&0xF000_0000u32.to_le_bytes());
    assert_eq!(
        read_audio_bytes(&bad, None).unwrap(),
        read_audio_bytes(&flac, None).unwrap()
    );

    let ogg = std::fs::read(data("tone440_stereo.ogg")).unwrap();
    let c = ogg.windows(7).position(|w| w == b"\x03vorbis").unwrap() + 7;
    let vendor = u32::from_le_bytes(ogg[c..c + 4].try_into().unwrap()) as usize;
    let n = c + 4 + vendor;
    assert!(
        u32::from_le_bytes(ogg[n..n + 4].try_into().unwrap()) > 0,
        "fixture has comments"
    );
    let mut bad = ogg.clone();
    bad[n + 4..n + 8].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let e = read_audio_bytes(&bad, None).unwrap_err();
    assert_err(e, "<memory>", "comment header");
}
