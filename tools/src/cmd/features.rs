//! `sotto features`: features of an audio file into a float32 `[frames, dims]` .npy.
//!
//! `--kind fbank` (default): Kaldi-compatible log-mel filterbank, equal to
//! kaldi-native-fbank with the same options. `--kind micro`: the TFLite-Micro frontend
//! of microWakeWord (40 channels, `raw * 0.0390625`). Input that is not 16 kHz is
//! resampled to 16 kHz first. A one-line summary goes to stderr (or stdout as JSON with
//! `--json`).

use std::path::PathBuf;

use anyhow::Context;
use ndarray::Array2;
use sotto_frontend::audio::{read_audio, read_raw_s16le, Audio};
use sotto_frontend::fbank::{Fbank, FbankConfig, WindowType};
use sotto_frontend::micro::{MicroFrontend, MicroFrontendConfig, MICRO_FEATURE_SCALE};
use sotto_frontend::resample::{Resampler16k, TARGET_RATE};

use super::with_status;
use crate::common::finite_f32;

/// Which feature extractor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Kaldi log-mel filterbank (kaldi-native-fbank compatible).
    Fbank,
    /// TFLite-Micro frontend (microWakeWord features, 40 channels, 10 ms step).
    Micro,
}

/// Analysis window of `--kind fbank`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Window {
    /// Hann to the power 0.85 (Kaldi default).
    Povey,
    /// Periodic Hann (kaldi-native-fbank "hann").
    Hann,
    /// Symmetric Hann (Kaldi "hanning").
    Hanning,
    /// Hamming.
    Hamming,
    /// Rectangular (none).
    Rectangular,
    /// Blackman.
    Blackman,
}

/// Arguments of `sotto features`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input audio: WAV (8/16/24/32-bit int, 32/64-bit float, A-law, µ-law), FLAC, MP3, Ogg
    /// Vorbis, Ogg Opus, or raw s16le PCM with --raw-rate. Any channel count (averaged to
    /// mono); 8-48 kHz.
    #[arg(value_name = "IN")]
    pub input: PathBuf,
    /// Output .npy file (float32, shape [frames, dims]).
    #[arg(short, long, value_name = "OUT.npy")]
    pub output: PathBuf,
    /// Feature extractor.
    #[arg(long, value_enum, default_value_t = Kind::Fbank)]
    pub kind: Kind,
    /// Treat IN as headerless little-endian 16-bit PCM at this sample rate (Hz).
    #[arg(long, value_name = "HZ")]
    pub raw_rate: Option<u32>,
    /// Channels of raw PCM input (with --raw-rate).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "raw_rate")]
    pub raw_channels: u16,
    /// Print a one-line JSON summary ({"frames", "dims", "seconds", ...}) on stdout
    /// instead of the text summary on stderr.
    #[arg(long)]
    pub json: bool,

    /// [fbank] Number of mel bins.
    #[arg(long, value_name = "N", default_value_t = 80)]
    pub mel_bins: usize,
    /// [fbank] Frame length in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 25.0, value_parser = finite_f32)]
    pub frame_length_ms: f32,
    /// [fbank] Frame shift in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10.0, value_parser = finite_f32)]
    pub frame_shift_ms: f32,
    /// [fbank] Lowest mel band edge in Hz.
    #[arg(long, value_name = "HZ", default_value_t = 20.0, value_parser = finite_f32)]
    pub low_freq: f32,
    /// [fbank] Highest mel band edge in Hz; 0 or negative = offset from Nyquist
    /// (sherpa-onnx uses -400).
    #[arg(
        long,
        value_name = "HZ",
        default_value_t = 0.0,
        allow_hyphen_values = true,
        value_parser = finite_f32
    )]
    pub high_freq: f32,
    /// [fbank] Pre-emphasis coefficient (0 = off).
    #[arg(long, value_name = "C", default_value_t = 0.97, value_parser = finite_f32)]
    pub preemph: f32,
    /// [fbank] Window function.
    #[arg(long, value_enum, default_value_t = Window::Povey)]
    pub window: Window,
    /// [fbank] Subtract each frame's mean (Kaldi remove_dc_offset).
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub remove_dc: bool,
    /// [fbank] true: only frames fully inside the audio; false: frames centred every
    /// shift, audio reflected at the edges ((N + shift/2) / shift frames).
    #[arg(long, value_name = "BOOL", default_value_t = false, action = clap::ArgAction::Set)]
    pub snip_edges: bool,
    /// [fbank] Gaussian dither standard deviation, in units of full scale (0 = off).
    #[arg(long, value_name = "D", default_value_t = 0.0, value_parser = finite_f32)]
    pub dither: f32,
    /// [fbank] Seed of the dither noise (output is reproducible for a given seed).
    #[arg(long, value_name = "SEED", default_value_t = 0)]
    pub dither_seed: u64,
    /// [fbank] Prepend the frame's log energy as an extra first column.
    #[arg(long)]
    pub use_energy: bool,
    /// [fbank] With --use-energy: floor on the energy (0 = none).
    #[arg(long, value_name = "E", default_value_t = 0.0, value_parser = finite_f32)]
    pub energy_floor: f32,
}

impl Args {
    fn fbank_config(&self) -> FbankConfig {
        FbankConfig {
            sample_rate: TARGET_RATE as f32,
            frame_length_ms: self.frame_length_ms,
            frame_shift_ms: self.frame_shift_ms,
            num_mel_bins: self.mel_bins,
            low_freq: self.low_freq,
            high_freq: self.high_freq,
            preemph_coeff: self.preemph,
            window: match self.window {
                Window::Povey => WindowType::Povey,
                Window::Hann => WindowType::Hann,
                Window::Hanning => WindowType::Hanning,
                Window::Hamming => WindowType::Hamming,
                Window::Rectangular => WindowType::Rectangular,
                Window::Blackman => WindowType::Blackman,
            },
            remove_dc_offset: self.remove_dc,
            snip_edges: self.snip_edges,
            dither: self.dither,
            dither_seed: self.dither_seed,
            use_energy: self.use_energy,
            energy_floor: self.energy_floor,
            ..FbankConfig::default()
        }
    }
}

/// Runs `sotto features`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let audio = match args.raw_rate {
        Some(rate) => read_raw_s16le(&args.input, rate, args.raw_channels),
        None => read_audio(&args.input),
    }
    .map_err(|e| with_status(2, e))?;
    let Audio {
        samples,
        sample_rate,
    } = audio;
    let seconds = samples.len() as f64 / sample_rate as f64;
    let pcm = Resampler16k::new(sample_rate)
        .map_err(|e| with_status(2, format!("{}: {e}", args.input.display())))?
        .process_all(&samples);

    let (data, dims) = match args.kind {
        Kind::Fbank => {
            let mut fbank = Fbank::new(args.fbank_config()).map_err(|e| with_status(2, e))?;
            let dims = fbank.dim();
            (
                fbank
                    .compute_all(&pcm)
                    .with_context(|| format!("{}", args.input.display()))?,
                dims,
            )
        }
        Kind::Micro => {
            let mut fe = MicroFrontend::new(MicroFrontendConfig::default())?;
            // Back to int16 (exact for 16-bit 16 kHz input, which is int16 / 32768).
            let ints: Vec<i16> = pcm
                .iter()
                .map(|&s| (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
                .collect();
            let mut raw = Vec::new();
            fe.process(&ints, &mut raw);
            (
                raw.iter()
                    .map(|&v| v as f32 * MICRO_FEATURE_SCALE)
                    .collect(),
                fe.num_channels(),
            )
        }
    };
    let frames = data.len() / dims;
    let array = Array2::from_shape_vec((frames, dims), data).expect("frames * dims values");
    ndarray_npy::write_npy(&args.output, &array)
        .with_context(|| format!("{}: cannot write .npy", args.output.display()))?;

    let kind = match args.kind {
        Kind::Fbank => "fbank",
        Kind::Micro => "micro",
    };
    if args.json {
        let summary = serde_json::json!({
            "input": args.input.display().to_string(),
            "output": args.output.display().to_string(),
            "kind": kind,
            "frames": frames,
            "dims": dims,
            "seconds": seconds,
            "sample_rate": sample_rate,
        });
        println!("{summary}");
    } else {
        eprintln!(
            "{}: {seconds:.3} s at {sample_rate} Hz{} -> {frames} frames x {dims} {kind} features -> {}",
            args.input.display(),
            if sample_rate != TARGET_RATE { " (resampled to 16 kHz)" } else { "" },
            args.output.display()
        );
    }
    Ok(())
}
