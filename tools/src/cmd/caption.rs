//! `sotto caption`: live captions from the default microphone, or from a file played through
//! the identical streaming path (`--input FILE`, paced at real time with `--realtime`).
//!
//! On a terminal the partial line is redrawn in place (`\r` + clear-line); an endpoint commits
//! it and starts a new line. When stdout is not a terminal only committed lines are written.
//! `--json` writes one JSON object per line: `{"final": false, "text"}` whenever the partial
//! text changes, and `{"final": true, "start", "end", "text", "words"}` per committed segment.

use super::with_status;
use anyhow::Context;
use sotto_asr::recognizer::{Recognizer, RecognizerConfig, Stream, Transcript};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Arguments of `sotto caption`.
#[derive(clap::Args)]
pub struct Args {
    /// Model file (default: $SOTTO_MODEL, else the shipped model in models/zoo).
    #[arg(long, short = 'm', value_name = "M")]
    pub model: Option<PathBuf>,
    /// Play this audio file instead of listening to the microphone.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// With --input: pace the file at real time (default: as fast as possible).
    #[arg(long, requires = "input")]
    pub realtime: bool,
    /// Prefix committed lines with the segment's start and end time in seconds.
    #[arg(long)]
    pub timestamps: bool,
    /// JSON lines (partial and final results) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Beam size of modified beam search (1 = greedy).
    #[arg(long, value_name = "K", default_value_t = 4)]
    pub beam: usize,
    /// Trailing silence (seconds) after speech that ends a line (endpoint rule 2).
    #[arg(long, value_name = "SECS", default_value_t = 1.2)]
    pub endpoint_silence: f32,
    /// Longest line in seconds before it is committed anyway (endpoint rule 3).
    #[arg(long, value_name = "SECS", default_value_t = 20.0)]
    pub max_utterance: f32,
}

/// Chunk length fed to the recognizer.
const CHUNK_SECONDS: f64 = 0.1;

/// Where audio comes from: chunks of mono samples at a rate.
trait Source {
    /// Next chunk, or `None` at the end of the input.
    fn next_chunk(&mut self) -> anyhow::Result<Option<(u32, Vec<f32>)>>;
}

/// A file played in 100 ms chunks, optionally at real-time pace.
struct FileSource {
    rate: u32,
    samples: Vec<f32>,
    pos: usize,
    realtime: Option<Instant>,
}

impl Source for FileSource {
    fn next_chunk(&mut self) -> anyhow::Result<Option<(u32, Vec<f32>)>> {
        if self.pos >= self.samples.len() {
            return Ok(None);
        }
        let n = ((self.rate as f64 * CHUNK_SECONDS) as usize).max(1);
        let end = (self.pos + n).min(self.samples.len());
        if let Some(start) = self.realtime {
            // A chunk is available once the audio it holds has "been spoken".
            let due = start + Duration::from_secs_f64(end as f64 / self.rate as f64);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        let chunk = self.samples[self.pos..end].to_vec();
        self.pos = end;
        Ok(Some((self.rate, chunk)))
    }
}

#[cfg(feature = "mic")]
mod mic {
    //! Default input device through cpal.
    use super::{with_status, Source};
    use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
    use std::sync::mpsc::{channel, Receiver};

    pub(super) struct MicSource {
        _stream: cpal::Stream,
        rate: u32,
        rx: Receiver<Vec<f32>>,
    }

    pub(super) fn open() -> anyhow::Result<MicSource> {
        let device = cpal::default_host().default_input_device().ok_or_else(|| {
            with_status(
                2,
                "no input device (connect a microphone, or use --input FILE)",
            )
        })?;
        let config = device.default_input_config().map_err(|e| {
            with_status(
                2,
                format!("no usable input device ({e}); connect a microphone, or use --input FILE"),
            )
        })?;
        let (channels, rate) = (config.channels() as usize, config.sample_rate().0);
        let (tx, rx) = channel();
        let err = |e| eprintln!("sotto: audio input error: {e}");
        let mono = move |x: &mut dyn Iterator<Item = f32>| -> Vec<f32> {
            let v: Vec<f32> = x.collect();
            v.chunks(channels.max(1))
                .map(|c| c.iter().sum::<f32>() / c.len() as f32)
                .collect()
        };
        let cfg: cpal::StreamConfig = config.clone().into();
        let stream = match config.sample_format() {
            cpal::SampleFormat::F32 => device.build_input_stream(
                &cfg,
                move |d: &[f32], _: &_| drop(tx.send(mono(&mut d.iter().copied()))),
                err,
                None,
            ),
            cpal::SampleFormat::I16 => device.build_input_stream(
                &cfg,
                move |d: &[i16], _: &_| {
                    drop(tx.send(mono(&mut d.iter().map(|&s| s as f32 / 32768.0))))
                },
                err,
                None,
            ),
            cpal::SampleFormat::U16 => device.build_input_stream(
                &cfg,
                move |d: &[u16], _: &_| {
                    drop(tx.send(mono(&mut d.iter().map(|&s| (s as f32 - 32768.0) / 32768.0))))
                },
                err,
                None,
            ),
            f => {
                return Err(with_status(
                    2,
                    format!("input device sample format {f:?} is not supported"),
                ))
            }
        }
        .map_err(|e| with_status(2, format!("cannot open input device: {e}")))?;
        stream
            .play()
            .map_err(|e| with_status(2, format!("cannot start input device: {e}")))?;
        Ok(MicSource {
            _stream: stream,
            rate,
            rx,
        })
    }

    impl Source for MicSource {
        fn next_chunk(&mut self) -> anyhow::Result<Option<(u32, Vec<f32>)>> {
            Ok(self.rx.recv().ok().map(|c| (self.rate, c)))
        }
    }
}

fn open_mic() -> anyhow::Result<Box<dyn Source>> {
    #[cfg(feature = "mic")]
    return Ok(Box::new(mic::open()?));
    #[cfg(not(feature = "mic"))]
    Err(with_status(2, "no input device: sotto was built without microphone support (feature `mic`); use --input FILE"))
}

/// Writes partial and committed results.
struct Printer {
    tty: bool,
    json: bool,
    timestamps: bool,
    partial: String,
    out: std::io::Stdout,
}

impl Printer {
    fn partial(&mut self, t: &Transcript) -> std::io::Result<()> {
        if t.text == self.partial {
            return Ok(());
        }
        self.partial = t.text.clone();
        let mut out = self.out.lock();
        if self.json {
            writeln!(
                out,
                "{}",
                serde_json::json!({"final": false, "text": t.text})
            )?;
        } else if self.tty {
            write!(out, "\r\x1b[2K{}", t.text)?;
        }
        out.flush()
    }

    fn commit(&mut self, t: &Transcript) -> std::io::Result<()> {
        let mut out = self.out.lock();
        if self.tty && !self.json && !self.partial.is_empty() {
            write!(out, "\r\x1b[2K")?;
        }
        self.partial.clear();
        if t.text.is_empty() {
            return out.flush();
        }
        let (start, end) = (
            t.words.first().map_or(0.0, |w| w.start),
            t.words.last().map_or(0.0, |w| w.end),
        );
        if self.json {
            let doc = serde_json::json!({
                "final": true,
                "start": (start as f64 * 1000.0).round() / 1000.0,
                "end": (end as f64 * 1000.0).round() / 1000.0,
                "text": t.text,
                "words": super::transcribe::words_json(&t.words),
            });
            writeln!(out, "{doc}")?;
        } else if self.timestamps {
            writeln!(out, "[{start:.2}-{end:.2}] {}", t.text)?;
        } else {
            writeln!(out, "{}", t.text)?;
        }
        out.flush()
    }
}

/// Feed a source through one stream until it ends, printing as results change.
fn caption(
    stream: &mut Stream,
    source: &mut dyn Source,
    printer: &mut Printer,
) -> anyhow::Result<()> {
    while let Some((rate, chunk)) = source.next_chunk()? {
        stream.accept_waveform(rate, &chunk)?;
        stream.decode()?;
        if stream.is_endpoint() {
            printer.commit(&stream.finish_segment())?;
        } else {
            printer.partial(&stream.partial_transcript())?;
        }
    }
    printer.commit(&stream.finish()?)?;
    Ok(())
}

/// Run `sotto caption`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let model = match args.model {
        Some(m) => m,
        None => Recognizer::default_model()?,
    };
    let mut config = RecognizerConfig {
        beam: args.beam.max(1),
        ..RecognizerConfig::new(model)
    };
    config.endpoint.rule2.min_trailing_silence = args.endpoint_silence;
    config.endpoint.rule3.min_utterance_length = args.max_utterance;
    let rec = Recognizer::new(config)?;
    let mut source: Box<dyn Source> = match &args.input {
        Some(path) => {
            let (rate, samples) = super::transcribe::read_audio(path)
                .with_context(|| format!("cannot play {}", path.display()))?;
            let realtime = args.realtime.then(Instant::now);
            Box::new(FileSource {
                rate,
                samples,
                pos: 0,
                realtime,
            })
        }
        None => open_mic()?,
    };
    let out = std::io::stdout();
    let tty = out.is_terminal();
    let mut printer = Printer {
        tty,
        json: args.json,
        timestamps: args.timestamps,
        partial: String::new(),
        out,
    };
    caption(&mut rec.stream(), source.as_mut(), &mut printer)
}
