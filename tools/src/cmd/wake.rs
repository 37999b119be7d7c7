//! `sotto wake`: detect wake words in audio files (folders are searched recursively), raw PCM
//! on stdin (`-`), or live from the default microphone (no files; needs a build with the `mic`
//! feature). Files are decoded as they are read. An input that cannot be read is reported on
//! stderr and the others are still processed; the exit status is then 2.
//!
//! Output, one line per detection: `file<TAB>wake_word<TAB>time_s<TAB>score`. With `--scores`,
//! every model invocation instead: `step<TAB>probability` (probability = output byte / 256), or
//! `file<TAB>wake_word<TAB>step<TAB>probability` when several files or models are given.
//! `--json` writes the same records as JSON lines. `--kernels tflite-optimized` computes as
//! pymicro-wakeword 2.5.0's TFLite runtime does (its probabilities byte for byte) instead of
//! as TFLite's reference kernels and TFLite-Micro do.

use crate::common::{
    bad_input, collect_audio_files, describe, is_broken_pipe, probability, seconds,
};
use crate::source::{open_mic, AudioSource, FileSource, StdinSource};
use anyhow::Context;
use sotto_asr::wakeword::{Kernels, Score, WakeWord, WakeWordModel, WakeWordSettings};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Whose int8 arithmetic to reproduce (`--kernels`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum KernelsArg {
    /// TFLite's reference kernels, which TFLite-Micro follows on a microcontroller.
    Reference,
    /// TFLite's optimised x86 kernels, as pymicro-wakeword 2.5.0 runs models (byte-identical
    /// probabilities).
    TfliteOptimized,
}

impl From<KernelsArg> for Kernels {
    fn from(k: KernelsArg) -> Self {
        match k {
            KernelsArg::Reference => Kernels::Reference,
            KernelsArg::TfliteOptimized => Kernels::TfliteOptimized,
        }
    }
}

/// Arguments of `sotto wake`.
#[derive(clap::Args)]
pub struct Args {
    /// Wake-word model: a microWakeWord manifest (.json) or a bare .tflite (repeatable; all
    /// models share one frontend).
    #[arg(long, short = 'm', value_name = "M", required = true)]
    pub model: Vec<PathBuf>,
    /// Audio files (WAV, FLAC, MP3, Ogg Vorbis, Ogg Opus), or folders searched recursively for
    /// them; `-` = raw s16le mono PCM on stdin. Without files, listen to the default
    /// microphone (builds with `--features mic`).
    #[arg(value_name = "FILES|DIRS")]
    pub files: Vec<PathBuf>,
    /// Print every model invocation (`step<TAB>probability`) instead of detections.
    #[arg(long)]
    pub scores: bool,
    /// JSON lines instead of tab-separated text.
    #[arg(long)]
    pub json: bool,
    /// Override the probability cutoff of every model (0 < P < 1).
    #[arg(long, value_name = "P", value_parser = probability, allow_negative_numbers = true)]
    pub cutoff: Option<f64>,
    /// Sliding window (invocations averaged) for bare .tflite models.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub window: usize,
    /// Seconds after a detection during which the same wake word is not reported again.
    #[arg(long, value_name = "SECS", default_value_t = sotto_asr::wakeword::DEFAULT_REFRACTORY_S, value_parser = seconds, allow_negative_numbers = true)]
    pub refractory: f64,
    /// Sample rate of raw PCM read from stdin (`-`).
    #[arg(long, value_name = "HZ", default_value_t = 16000)]
    pub raw_rate: u32,
    /// Integer arithmetic of the model: TFLite's reference kernels (as TFLite-Micro on a
    /// microcontroller) or its optimised x86 kernels (as pymicro-wakeword 2.5.0; they round
    /// differently, moving some probabilities by a few 1/256).
    #[arg(long, value_enum, value_name = "K", default_value = "reference")]
    pub kernels: KernelsArg,
}

/// Loads the models named on the command line (manifests, or .tflite with default settings),
/// to be run with `kernels`' arithmetic.
pub(crate) fn load_models(
    paths: &[PathBuf],
    cutoff: Option<f64>,
    window: usize,
    kernels: Kernels,
) -> anyhow::Result<Vec<Arc<WakeWordModel>>> {
    paths
        .iter()
        .map(|p| {
            let m = if p
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("tflite"))
            {
                let name = p
                    .file_stem()
                    .map_or("wake word".into(), |s| s.to_string_lossy().into_owned());
                let mut s = WakeWordSettings::new(name);
                s.sliding_window_size = window;
                WakeWordModel::from_tflite(p, s)?
            } else {
                WakeWordModel::load(p)?
            };
            let m = match cutoff {
                Some(c) => m.with_settings(WakeWordSettings {
                    probability_cutoff: c,
                    ..m.settings().clone()
                })?,
                None => m,
            };
            Ok(m.with_kernels(kernels))
        })
        .collect()
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let models = load_models(&args.model, args.cutoff, args.window, args.kernels.into())
        .map_err(bad_input)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.files.is_empty() {
        let mut mic = open_mic()?;
        eprintln!("sotto: listening (Ctrl-C to stop)");
        let r = detect("mic", mic.as_mut(), &models, &args, &mut out);
        return if r.as_ref().is_err_and(is_broken_pipe) {
            Ok(())
        } else {
            r
        };
    }
    let files = collect_audio_files(&args.files);
    if files.is_empty() {
        return Err(bad_input(anyhow::anyhow!(
            "no audio files found in {:?}",
            args.files
        )));
    }
    let mut failed = 0;
    for file in &files {
        let name = file.display().to_string();
        let result = if file == Path::new("-") {
            detect(
                &name,
                &mut StdinSource::new(args.raw_rate),
                &models,
                &args,
                &mut out,
            )
        } else {
            FileSource::open(file)
                .and_then(|mut src| detect(&name, &mut src, &models, &args, &mut out))
        };
        if let Err(e) = result {
            if is_broken_pipe(&e) {
                return Ok(()); // e.g. `| head`: stop quietly
            }
            out.flush().ok();
            eprintln!("sotto: error: {}", describe(&e, file));
            failed += 1;
        }
    }
    if failed > 0 {
        return Err(bad_input(anyhow::anyhow!(
            "{failed} of {} inputs failed",
            files.len()
        )));
    }
    Ok(())
}

/// Runs the detector over one source, printing as results arrive.
fn detect(
    name: &str,
    src: &mut dyn AudioSource,
    models: &[Arc<WakeWordModel>],
    args: &Args,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut detector: Option<WakeWord> = None;
    let mut scores: Vec<Score> = Vec::new();
    let plain_scores =
        args.files.len() <= 1 && !args.files.iter().any(|f| f.is_dir()) && models.len() == 1;
    loop {
        scores.clear();
        let dets = match src.next_chunk()? {
            Some((rate, chunk)) => {
                let det = match &mut detector {
                    Some(d) if d.sample_rate() == rate => d,
                    Some(d) => anyhow::bail!(
                        "sample rate changed from {} Hz to {rate} Hz",
                        d.sample_rate()
                    ),
                    None => {
                        let mut d = WakeWord::new(models.to_vec(), rate)?;
                        d.set_refractory(args.refractory);
                        detector.insert(d)
                    }
                };
                det.accept_f32_scored(&chunk, &mut scores)?
            }
            // End of input: flush the resampler's tail.
            None => match detector.take() {
                Some(mut d) => d.finish(Some(&mut scores)),
                None => break,
            },
        };
        if args.scores {
            for s in &scores {
                let word = models[s.model].name();
                if args.json {
                    let j = serde_json::json!({"file": name, "wake_word": word, "step": s.step, "probability": s.probability(), "time": s.time});
                    writeln!(out, "{j}")?;
                } else if plain_scores {
                    writeln!(out, "{}\t{:.6}", s.step, s.probability())?;
                } else {
                    writeln!(out, "{name}\t{word}\t{}\t{:.6}", s.step, s.probability())?;
                }
            }
        } else {
            for d in &dets {
                if args.json {
                    let j = serde_json::json!({"file": name, "wake_word": d.wake_word, "time": d.time, "score": d.score, "step": d.step});
                    writeln!(out, "{j}")?;
                } else {
                    writeln!(
                        out,
                        "{name}\t{}\t{:.3}\t{:.6}",
                        d.wake_word, d.time, d.score
                    )?;
                }
            }
        }
        if !dets.is_empty() || args.scores {
            out.flush().context("writing output")?;
        }
    }
    Ok(())
}
