//! `sotto vad`: voice activity detection (Silero VAD) in audio files (folders are searched
//! recursively) or raw PCM on stdin (`-`). Files are decoded and processed as they are read, so
//! memory does not grow with their length. Rates other than 8 kHz and multiples of 16 kHz are
//! resampled to 16 kHz first.
//!
//! Output, one line per speech segment: `file<TAB>start_s<TAB>end_s` (seconds, 3 decimals). With
//! `--probs`, one line per window instead: `time_s<TAB>probability` (window start), or
//! `file<TAB>time_s<TAB>probability` when several files are given. `--json` writes the same
//! records as JSON lines (segments also in samples). A file that cannot be read, or is shorter
//! than one window (32 ms), is reported on stderr and the others are still processed; the exit
//! status is then 2. `--stats` adds a summary on stderr (audio, speech share, CPU time of the detector).

use crate::common::{bad_input, collect_audio_files, describe, is_broken_pipe};
use crate::source::{AudioSource, FileSource, StdinSource};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use sotto_asr::vad::{Segment, Vad, VadConfig, VadEvent, VadModel};
use sotto_frontend::resample::Resampler16k;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Voice activity options shared by `vad`, `transcribe --vad` and `caption --vad`.
#[derive(clap::Args, Debug, Clone)]
pub struct VadArgs {
    /// Speech threshold: a window with probability ≥ P starts speech.
    #[arg(long, value_name = "P", default_value_t = 0.5, value_parser = unit)]
    pub threshold: f64,
    /// Inside speech, windows below P count as silence (default: threshold − 0.15, at least 0.01).
    #[arg(long, value_name = "P", value_parser = unit)]
    pub neg_threshold: Option<f64>,
    /// Segments not longer than this are dropped.
    #[arg(long, value_name = "MS", default_value_t = 250)]
    pub min_speech_ms: u32,
    /// Silence that ends a segment.
    #[arg(long, value_name = "MS", default_value_t = 100)]
    pub min_silence_ms: u32,
    /// Padding added to both sides of each segment.
    #[arg(long, value_name = "MS", default_value_t = 30)]
    pub speech_pad_ms: u32,
    /// VAD model file (`silero-vad` architecture); default: the model built into sotto.
    #[arg(long, value_name = "FILE")]
    pub vad_model: Option<PathBuf>,
}

impl VadArgs {
    /// The hysteresis parameters.
    pub fn config(&self) -> VadConfig {
        VadConfig {
            threshold: self.threshold,
            neg_threshold: self.neg_threshold,
            min_speech_ms: self.min_speech_ms,
            min_silence_ms: self.min_silence_ms,
            speech_pad_ms: self.speech_pad_ms,
        }
    }

    /// The model (built in unless `--vad-model`).
    pub fn model(&self) -> anyhow::Result<Arc<VadModel>> {
        Ok(match &self.vad_model {
            Some(p) => VadModel::load(p)?,
            None => VadModel::builtin()?,
        })
    }
}

/// clap parser: a number in [0, 1].
fn unit(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a probability in [0, 1]")),
    }
}

/// Arguments of `sotto vad`.
#[derive(clap::Args)]
pub struct Args {
    /// Audio files (WAV, FLAC, MP3, Ogg Vorbis, Ogg Opus), or folders searched recursively for
    /// them; `-` = raw s16le mono PCM on stdin.
    #[arg(value_name = "FILES|DIRS", required = true)]
    pub files: Vec<PathBuf>,
    /// Print every window's speech probability (`time_s<TAB>probability`) instead of segments.
    #[arg(long)]
    pub probs: bool,
    /// JSON lines instead of tab-separated text.
    #[arg(long)]
    pub json: bool,
    /// Summary on stderr: files, audio duration, segments, speech share, VAD CPU time and RTF.
    #[arg(long)]
    pub stats: bool,
    #[command(flatten)]
    pub vad: VadArgs,
    /// Sample rate of raw PCM read from stdin (`-`).
    #[arg(long, value_name = "HZ", default_value_t = 16000)]
    pub raw_rate: u32,
}

/// A [`Vad`] for audio at any rate: rates the network cannot take are resampled to 16 kHz.
/// Segment positions are in samples of [`Feeder::rate`].
pub struct Feeder {
    vad: Vad,
    resampler: Option<Resampler16k>,
    buf: Vec<f32>,
    input_rate: u32,
}

impl Feeder {
    /// A detector for one stream at `rate` Hz.
    pub fn new(model: Arc<VadModel>, rate: u32, cfg: VadConfig) -> anyhow::Result<Self> {
        let (vad_rate, resampler) = if model.supports(rate) {
            (rate, None)
        } else {
            (16000, Some(Resampler16k::new(rate)?))
        };
        Ok(Feeder {
            vad: Vad::new(model, vad_rate, cfg)?,
            resampler,
            buf: Vec::new(),
            input_rate: rate,
        })
    }

    /// The detector.
    pub fn vad(&mut self) -> &mut Vad {
        &mut self.vad
    }

    /// The rate segment positions are in.
    pub fn rate(&self) -> u32 {
        self.vad.sample_rate()
    }

    /// The rate of the audio fed in.
    pub fn input_rate(&self) -> u32 {
        self.input_rate
    }

    /// Feeds samples at the input rate; returns them at [`Feeder::rate`] (as the VAD got them).
    pub fn accept<'a>(&'a mut self, samples: &'a [f32]) -> anyhow::Result<&'a [f32]> {
        match &mut self.resampler {
            Some(r) => {
                self.buf.clear();
                r.accept(samples, &mut self.buf);
                self.vad.accept(&self.buf)?;
                Ok(&self.buf)
            }
            None => {
                self.vad.accept(samples)?;
                Ok(samples)
            }
        }
    }

    /// Ends the stream; returns the resampler's last samples (at [`Feeder::rate`]).
    pub fn finish(&mut self) -> anyhow::Result<&[f32]> {
        self.buf.clear();
        if let Some(r) = &mut self.resampler {
            r.finish(&mut self.buf);
            self.vad.accept(&self.buf)?;
        }
        self.vad.finish()?;
        Ok(&self.buf)
    }
}

/// A [`Feeder`] that keeps the audio of the segments still to come, so callers can cut each
/// finished segment's samples (at [`Feeder::rate`]) without holding the whole recording.
pub struct Cutter {
    /// The detector.
    pub feeder: Feeder,
    buf: Vec<f32>,
    /// Position of `buf[0]`.
    base: u64,
}

impl Cutter {
    /// A cutter for one stream at `rate` Hz.
    pub fn new(model: Arc<VadModel>, rate: u32, cfg: VadConfig) -> anyhow::Result<Self> {
        Ok(Cutter {
            feeder: Feeder::new(model, rate, cfg)?,
            buf: Vec::new(),
            base: 0,
        })
    }

    /// Feeds samples at the input rate.
    pub fn accept(&mut self, samples: &[f32]) -> anyhow::Result<()> {
        let fed = self.feeder.accept(samples)?;
        self.buf.extend_from_slice(fed);
        Ok(())
    }

    /// Ends the stream.
    pub fn finish(&mut self) -> anyhow::Result<()> {
        let fed = self.feeder.finish()?;
        self.buf.extend_from_slice(fed);
        Ok(())
    }

    /// Events that became certain.
    pub fn events(&mut self) -> Vec<VadEvent> {
        self.feeder.vad().events().collect()
    }

    /// Position one past the last sample received.
    pub fn end(&self) -> u64 {
        self.base + self.buf.len() as u64
    }

    /// The kept samples in `[from, to)` (clamped to what is kept).
    pub fn audio(&self, from: u64, to: u64) -> &[f32] {
        let a = from.saturating_sub(self.base).min(self.buf.len() as u64) as usize;
        let b = to.saturating_sub(self.base).min(self.buf.len() as u64) as usize;
        &self.buf[a..b.max(a)]
    }

    /// Drops audio no segment still to be reported needs (in steps of a second, so the copy is
    /// amortized). Call it after taking the events and the audio of their segments.
    pub fn trim(&mut self) {
        let keep = self.feeder.vad.retain_from();
        let drop = keep.saturating_sub(self.base) as usize;
        if drop >= self.feeder.rate() as usize {
            let drop = drop.min(self.buf.len());
            self.buf.drain(..drop);
            self.base += drop as u64;
        }
    }
}

/// CPU time used by the calling thread so far (wall time where the platform has no thread
/// clock): the `--stats` compute times, so that other load on the machine does not count.
pub fn thread_cpu() -> Duration {
    #[cfg(unix)]
    {
        // SAFETY: clock_gettime writes the timespec it is given.
        let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0 {
            return Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
        }
    }
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

/// Totals for `--stats`.
#[derive(Default)]
struct Totals {
    files: usize,
    audio_s: f64,
    speech_s: f64,
    segments: usize,
    compute: Duration,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = args.vad.config();
    let model = args.vad.model().map_err(bad_input)?;
    let files = collect_audio_files(&args.files);
    if files.is_empty() {
        return Err(bad_input(anyhow::anyhow!(
            "no audio files found in {:?}",
            args.files
        )));
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let bar = if files.len() > 1 {
        ProgressBar::new(files.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} files {elapsed} (eta {eta})",
    )?);
    let several = files.len() > 1 || args.files.iter().any(|f| f.is_dir());
    let mut totals = Totals::default();
    let mut failed = 0;
    for file in &files {
        let name = file.display().to_string();
        let result = if file == Path::new("-") {
            detect(
                &name,
                &mut StdinSource::new(args.raw_rate),
                &model,
                cfg,
                &args,
                several,
                &mut totals,
                &bar,
                &mut out,
            )
        } else {
            FileSource::open(file).and_then(|src| {
                detect(
                    &name,
                    &mut src.with_chunk_seconds(1.0),
                    &model,
                    cfg,
                    &args,
                    several,
                    &mut totals,
                    &bar,
                    &mut out,
                )
            })
        };
        bar.inc(1);
        if let Err(e) = result {
            if is_broken_pipe(&e) {
                return Ok(()); // e.g. `| head`: stop quietly
            }
            out.flush().ok();
            bar.suspend(|| eprintln!("sotto: error: {}", describe(&e, file)));
            failed += 1;
        }
    }
    bar.finish_and_clear();
    out.flush().context("writing output")?;
    if args.stats {
        let c = totals.compute.as_secs_f64();
        eprintln!(
            "sotto vad: {} file(s), {:.1} s audio, {} segment(s), speech {:.1} %, VAD CPU time {:.3} s (RTF {:.5}, {:.1} s per hour of audio)",
            totals.files,
            totals.audio_s,
            totals.segments,
            100.0 * totals.speech_s / totals.audio_s.max(1e-9),
            c,
            c / totals.audio_s.max(1e-9),
            3600.0 * c / totals.audio_s.max(1e-9),
        );
    }
    if failed > 0 {
        return Err(bad_input(anyhow::anyhow!(
            "{failed} of {} inputs failed",
            files.len()
        )));
    }
    Ok(())
}

/// Runs the detector over one source, printing segments (or probabilities) as they become
/// certain.
#[allow(clippy::too_many_arguments)]
fn detect(
    name: &str,
    src: &mut dyn AudioSource,
    model: &Arc<VadModel>,
    cfg: VadConfig,
    args: &Args,
    several: bool,
    totals: &mut Totals,
    bar: &ProgressBar,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut feeder: Option<Feeder> = None;
    let mut compute = Duration::ZERO;
    let mut next_window = 0u64;
    let mut segs = Vec::new();
    let mut input = 0u64;
    loop {
        let last = match src.next_chunk()? {
            Some((rate, chunk)) => {
                let f = match &mut feeder {
                    Some(f) if f.input_rate() == rate => f,
                    Some(f) => anyhow::bail!(
                        "sample rate changed from {} Hz to {rate} Hz",
                        f.input_rate()
                    ),
                    None => {
                        let mut f = Feeder::new(model.clone(), rate, cfg)?;
                        f.vad().keep_probs(args.probs);
                        feeder.insert(f)
                    }
                };
                input += chunk.len() as u64;
                let t = thread_cpu();
                f.accept(&chunk)?;
                compute += thread_cpu().saturating_sub(t);
                false
            }
            None => match &mut feeder {
                Some(f) => {
                    let t = thread_cpu();
                    f.finish()?;
                    compute += thread_cpu().saturating_sub(t);
                    true
                }
                None => anyhow::bail!("audio is empty (0 samples)"),
            },
        };
        let Some(f) = &mut feeder else { break };
        let (rate, window) = (f.rate(), f.vad().window() as u64);
        segs.clear();
        segs.extend(f.vad().events().filter_map(|e| match e {
            VadEvent::End(s) => Some(s),
            VadEvent::Start(_) => None,
        }));
        let probs = f.vad().take_probs();
        bar.suspend(|| -> anyhow::Result<()> {
            if args.probs {
                for p in probs {
                    let time = (next_window * window) as f64 / f64::from(rate);
                    next_window += 1;
                    if args.json {
                        let j = serde_json::json!({"file": name, "time": round(time, 4), "probability": round(p as f64, 6)});
                        writeln!(out, "{j}")?;
                    } else if several {
                        writeln!(out, "{name}\t{time:.4}\t{p:.6}")?;
                    } else {
                        writeln!(out, "{time:.4}\t{p:.6}")?;
                    }
                }
            } else {
                for s in &segs {
                    print_segment(out, name, s, rate, args.json)?;
                }
            }
            Ok(())
        })?;
        totals.segments += segs.len();
        totals.speech_s += segs
            .iter()
            .map(|s| (s.end - s.start) as f64 / f64::from(rate))
            .sum::<f64>();
        if !segs.is_empty() || args.probs {
            out.flush().context("writing output")?;
        }
        if last {
            totals.files += 1;
            totals.audio_s += input as f64 / f64::from(f.input_rate());
            totals.compute += compute;
            break;
        }
    }
    Ok(())
}

fn round(x: f64, digits: i32) -> f64 {
    let k = 10f64.powi(digits);
    (x * k).round() / k
}

fn print_segment(
    out: &mut impl Write,
    name: &str,
    s: &Segment,
    rate: u32,
    json: bool,
) -> std::io::Result<()> {
    if json {
        let j = serde_json::json!({
            "file": name,
            "start": round(s.start_s(rate), 4),
            "end": round(s.end_s(rate), 4),
            "start_sample": s.start,
            "end_sample": s.end,
            "rate": rate,
        });
        writeln!(out, "{j}")
    } else {
        writeln!(out, "{name}\t{:.3}\t{:.3}", s.start_s(rate), s.end_s(rate))
    }
}
