//! Audio readers: every supported encoding, mixdown, and every failure mode.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use sotto_frontend::audio::{
    raw_s16le_bytes, read_audio, read_audio_bytes, read_raw_s16le, Audio, AudioReader,
};
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
    // A valid IMA-ADPCM WAV is an unsupported format, not an ill-formed file.
    let e = read_audio(tmp("adpcm.wav", &ima_adpcm_wav())).unwrap_err();
    assert!(matches!(e, FrontendError::UnsupportedFormat { .. }), "{e}");
    assert_err(e, "adpcm.wav", "ima adpcm");
    // Big-endian RIFX likewise.
    let mut rifx = wav_bytes(spec(1, 16, false), &[1i16, 2]);
    rifx[..4].copy_from_slice(b"RIFX");
    let e = read_audio(tmp("rifx.wav", &rifx)).unwrap_err();
    assert!(matches!(e, FrontendError::UnsupportedFormat { .. }), "{e}");
    // A folder is not an audio file.
    let dir = std::env::temp_dir().join(format!("sotto-audio-dir-{}.wav", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let e = read_audio(&dir).unwrap_err();
    assert_err(e, dir.to_str().unwrap(), "folder");
}

/// A minimal mono IMA-ADPCM WAV (format tag 0x11), as sox writes it.
fn ima_adpcm_wav() -> Vec<u8> {
    let mut fmt = Vec::new();
    fmt.extend(0x11u16.to_le_bytes()); // IMA ADPCM
    fmt.extend(1u16.to_le_bytes()); // channels
    fmt.extend(8000u32.to_le_bytes());
    fmt.extend(4055u32.to_le_bytes()); // byte rate
    fmt.extend(256u16.to_le_bytes()); // block align
    fmt.extend(4u16.to_le_bytes()); // bits
    fmt.extend(2u16.to_le_bytes()); // extra size
    fmt.extend(505u16.to_le_bytes()); // samples per block
    let data = vec![0u8; 256];
    let mut w = b"RIFF".to_vec();
    w.extend(((4 + 8 + fmt.len() + 8 + data.len()) as u32).to_le_bytes());
    w.extend(b"WAVEfmt ");
    w.extend((fmt.len() as u32).to_le_bytes());
    w.extend(&fmt);
    w.extend(b"data");
    w.extend((data.len() as u32).to_le_bytes());
    w.extend(&data);
    w
}

/// A WAV with a plain fmt chunk of the given tag and bits, and `data` as its samples.
fn wav_with(tag: u16, channels: u16, bits: u16, data: &[u8], data_len: u32) -> Vec<u8> {
    let block = channels * bits / 8;
    let mut w = b"RIFF\xff\xff\xff\xffWAVEfmt \x10\0\0\0".to_vec();
    w.extend(tag.to_le_bytes());
    w.extend(channels.to_le_bytes());
    w.extend(8000u32.to_le_bytes());
    w.extend((8000 * u32::from(block)).to_le_bytes());
    w.extend(block.to_le_bytes());
    w.extend(bits.to_le_bytes());
    w.extend(b"data");
    w.extend(data_len.to_le_bytes());
    w.extend(data);
    w
}

#[test]
fn wav_float64_alaw_mulaw_and_extensible() {
    let f64s: Vec<u8> = [0.5f64, -0.25, 0.125]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let a = read_audio(tmp("f64.wav", &wav_with(3, 1, 64, &f64s, 24))).unwrap();
    assert_eq!(a.samples, vec![0.5, -0.25, 0.125]);
    // G.711: A-law 0xD5 = +8, µ-law 0x80 = +32124 (of 32768).
    let a = read_audio_bytes(&wav_with(6, 1, 8, &[0xD5, 0x55], 2), None).unwrap();
    assert_eq!(a.samples, vec![8.0 / 32768.0, -8.0 / 32768.0]);
    let a = read_audio_bytes(&wav_with(7, 1, 8, &[0x80, 0xFF], 2), None).unwrap();
    assert_eq!(a.samples, vec![32124.0 / 32768.0, 0.0]);
    // 8-bit PCM is unsigned.
    let a = read_audio_bytes(&wav_with(1, 1, 8, &[192, 0, 128], 3), None).unwrap();
    assert_eq!(a.samples, vec![0.5, -1.0, 0.0]);
    // WAVE_FORMAT_EXTENSIBLE with 24-bit PCM in two channels.
    let mut w = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
    w.extend(40u32.to_le_bytes());
    w.extend(0xFFFEu16.to_le_bytes());
    w.extend(2u16.to_le_bytes());
    w.extend(48000u32.to_le_bytes());
    w.extend((48000u32 * 6).to_le_bytes());
    w.extend(6u16.to_le_bytes());
    w.extend(24u16.to_le_bytes());
    w.extend(22u16.to_le_bytes()); // cbSize
    w.extend(24u16.to_le_bytes()); // valid bits
    w.extend(3u32.to_le_bytes()); // channel mask
    w.extend(1u16.to_le_bytes()); // KSDATAFORMAT_SUBTYPE_PCM ...
    w.extend([0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71]);
    w.extend(b"data");
    w.extend(6u32.to_le_bytes());
    w.extend([0, 0, 0x40, 0, 0, 0xC0]); // +0.5, -0.5
    let a = read_audio_bytes(&w, None).unwrap();
    assert_eq!((a.sample_rate, a.samples), (48000, vec![0.0]));
}

/// Writers that stream a WAV through a pipe cannot seek back to fill in the data length:
/// 0, 0x7FFFF000 (sox) and 0xFFFFFFFF (ffmpeg) mean "to the end of the file".
#[test]
fn wav_written_through_a_pipe_is_read_to_the_end() {
    let pcm: Vec<u8> = [1000i16, -1000, 16384, 0, 5]
        .iter()
        .flat_map(|s| s.to_le_bytes())
        .collect();
    let want: Vec<f32> = [1000i16, -1000, 16384, 0, 5]
        .iter()
        .map(|&s| f32::from(s) / 32768.0)
        .collect();
    for len in [0u32, 0x7FFF_F000, 0xFFFF_FFFF] {
        let w = wav_with(1, 1, 16, &pcm, len);
        let a = read_audio(tmp(&format!("pipe{len:x}.wav"), &w)).unwrap();
        assert_eq!(a.samples, want, "data length {len:#x}");
        // A trailing half sample (writer killed mid-write) is dropped.
        let mut cut = w.clone();
        cut.push(7);
        assert_eq!(read_audio_bytes(&cut, None).unwrap().samples, want);
    }
    // RF64 without a ds64 size likewise.
    let mut rf64 = wav_with(1, 1, 16, &pcm, 0xFFFF_FFFF);
    rf64[..4].copy_from_slice(b"RF64");
    assert_eq!(read_audio_bytes(&rf64, None).unwrap().samples, want);
    // Any other length past the end of the file is a truncated file.
    let e = read_audio(tmp("short.wav", &wav_with(1, 1, 16, &pcm, 100))).unwrap_err();
    assert_err(e, "short.wav", "truncated");
    // A length shorter than the file stops there (other chunks may follow).
    let a = read_audio_bytes(&wav_with(1, 1, 16, &pcm, 4), None).unwrap();
    assert_eq!(a.samples, want[..2]);
}

/// Reading block by block gives exactly what reading the whole file gives, for every format,
/// and blocks are short (the file is never held whole).
#[test]
fn streaming_reader_matches_whole_file() {
    for name in [
        "tone440_stereo.wav",
        "tone440_stereo.flac",
        "tone440_stereo.ogg",
        "tone440_stereo.opus",
        "tone3ch.opus",
    ] {
        let whole = read_audio(data(name)).unwrap();
        let mut r = AudioReader::open(data(name)).unwrap();
        assert_eq!(r.sample_rate(), whole.sample_rate, "{name}");
        let (mut all, mut block, mut blocks) = (Vec::new(), Vec::new(), 0);
        loop {
            block.clear();
            let n = r.read_chunk(&mut block).unwrap();
            if n == 0 {
                break;
            }
            assert_eq!(n, block.len());
            assert!(n <= 8192, "{name}: block of {n} samples");
            all.extend_from_slice(&block);
            blocks += 1;
        }
        assert_eq!(all, whole.samples, "{name}");
        assert_eq!(r.samples_read(), all.len() as u64);
        assert!(blocks > 1 || all.len() < 4096, "{name}: {blocks} blocks");
    }
    // A long WAV comes in bounded blocks.
    let long = wav_bytes(spec(2, 16, false), &vec![7i16; 2 * 40_000]);
    let mut r = AudioReader::from_bytes(long, None).unwrap();
    let mut block = Vec::new();
    let mut max = 0;
    loop {
        block.clear();
        let n = r.read_chunk(&mut block).unwrap();
        if n == 0 {
            break;
        }
        max = max.max(n);
    }
    assert_eq!(r.samples_read(), 40_000);
    assert!(max <= 4096, "{max}");
}

#[test]
fn ogg_opus_decodes_to_16k() {
    let a = read_audio(data("tone440_stereo.opus")).unwrap();
    assert_eq!(a.sample_rate, 16000);
    // 0.2 s: the end is trimmed to the granule position, the start by the pre-skip.
    assert_eq!(a.samples.len(), 3200);
    assert!(tone_share(&a.samples[400..], 16000.0, 440.0) > 0.95);
    // Same content from memory, with a misleading extension hint.
    let b = read_audio_bytes(
        &std::fs::read(data("tone440_stereo.opus")).unwrap(),
        Some("ogg"),
    )
    .unwrap();
    assert_eq!(a, b);
    // Three channels (mapping family 1, two streams) are mixed down.
    let c = read_audio(data("tone3ch.opus")).unwrap();
    assert_eq!((c.sample_rate, c.samples.len()), (16000, 4800));
    for f in [300.0, 500.0, 700.0] {
        let share = tone_share(&c.samples[400..], 16000.0, f);
        assert!(share > 0.2, "{f} Hz: {share}");
    }
}

/// Signal-to-noise ratio (dB) of `x` against the reference `r`.
fn snr_db(x: &[f32], r: &[f32]) -> f64 {
    let (mut s, mut n) = (0.0f64, 0.0f64);
    for (&a, &b) in x.iter().zip(r) {
        s += f64::from(b).powi(2);
        n += f64::from(a - b).powi(2);
    }
    10.0 * (s / n.max(1e-30)).log10()
}

/// `opusdec --rate 16000 --float` (opus-tools 0.2, libopus 1.3.1) decodes at 48 kHz and
/// resamples; so does this reader. Stored reference output of the fixture.
#[test]
fn ogg_opus_matches_opusdec() {
    let ours = read_audio(data("tone440_stereo.opus")).unwrap();
    let bytes = std::fs::read(data("tone440_stereo.opusdec16k.f32")).unwrap();
    let stereo: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let reference: Vec<f32> = stereo.chunks(2).map(|c| (c[0] + c[1]) / 2.0).collect();
    assert_eq!(ours.samples.len(), reference.len());
    let snr = snr_db(&ours.samples, &reference);
    let max = ours
        .samples
        .iter()
        .zip(&reference)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    eprintln!("fixture vs opusdec: SNR {snr:.1} dB, max |diff| {max:.2e}");
    assert!(snr > 35.0, "SNR {snr:.1} dB");
    // Three channels in two streams (one self-delimited), mixed down by sox.
    let ours = read_audio(data("tone3ch.opus")).unwrap();
    let reference: Vec<f32> = std::fs::read(data("tone3ch.opusdec16k.mono.f32"))
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(ours.samples.len(), reference.len());
    let snr = snr_db(&ours.samples, &reference);
    eprintln!("3-channel fixture vs opusdec: SNR {snr:.1} dB");
    assert!(snr > 35.0, "3 channels: SNR {snr:.1} dB");
}

/// The shared corpus is Ogg Opus: every sampled file decodes, and where `opusdec` is
/// installed the output matches it (same length, SNR well above 30 dB).
#[test]
fn corpus_opus_files_decode_like_opusdec() {
    let Some(corpus) = sotto_testutil::shared_dir("corpus/audio") else {
        return;
    };
    let mut files = Vec::new();
    for sub in [
        "librispeech",
        "kathleen",
        "ljspeech",
        "cmu_arctic",
        "hifitts",
    ] {
        if !corpus.join(sub).is_dir() {
            continue;
        }
        let mut f = sotto_testutil::files_with_ext(&corpus.join(sub), "opus");
        f.truncate(3);
        files.extend(f);
    }
    assert!(!files.is_empty(), "no .opus files in {}", corpus.display());
    let opusdec = std::process::Command::new("opusdec")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !opusdec {
        eprintln!("skipping the opusdec comparison: opusdec (opus-tools) is not installed");
    }
    let mut worst = f64::INFINITY;
    for f in &files {
        let a = read_audio(f).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.sample_rate, 16000);
        assert!(a.samples.len() > 16000 / 2, "{}", f.display());
        if !opusdec {
            continue;
        }
        let out = std::env::temp_dir().join(format!("sotto-opusdec-{}.wav", std::process::id()));
        let st = std::process::Command::new("opusdec")
            .args(["--quiet", "--rate", "16000", "--float"])
            .arg(f)
            .arg(&out)
            .status()
            .unwrap();
        assert!(st.success());
        let r = read_audio(&out).unwrap();
        std::fs::remove_file(&out).ok();
        assert_eq!(a.samples.len(), r.samples.len(), "{}", f.display());
        let snr = snr_db(&a.samples, &r.samples);
        eprintln!("{}: SNR {snr:.1} dB", f.display());
        assert!(snr > 25.0, "{}: SNR {snr:.1} dB", f.display());
        worst = worst.min(snr);
    }
    if opusdec {
        eprintln!(
            "{} corpus files vs opusdec: worst SNR {worst:.1} dB",
            files.len()
        );
    }
}

#[test]
fn bad_ogg_opus() {
    // Not even an Ogg page.
    let e = read_audio(tmp("clip.opus", b"OggS\0\x02junk")).unwrap_err();
    assert_err(e, "clip.opus", "ogg");
    let good = std::fs::read(data("tone440_stereo.opus")).unwrap();
    // Cut inside a page.
    let e = read_audio(tmp("cut.opus", &good[..good.len() - 100])).unwrap_err();
    assert_err(e, "cut.opus", "truncated");
    // A flipped byte in the audio fails the page checksum.
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 50] ^= 0x40;
    let e = read_audio(tmp("flip.opus", &bad)).unwrap_err();
    assert_err(e, "flip.opus", "checksum");
    // Opus headers only: no audio.
    let first_audio_page = good
        .windows(4)
        .enumerate()
        .filter(|(_, w)| w == b"OggS")
        .nth(2)
        .map(|(i, _)| i)
        .unwrap();
    let e = read_audio(tmp("headers.opus", &good[..first_audio_page])).unwrap_err();
    assert!(matches!(e, FrontendError::EmptyAudio { .. }), "{e}");
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
