//! `sotto caption`: live captions from the default microphone, or from a file played through
//! the identical streaming path (`--input FILE`, paced at real time with `--realtime`).
//!
//! On a terminal the partial line is redrawn in place (`\r` + clear-line); an endpoint commits
//! it and starts a new line. When stdout is not a terminal only committed lines are written.
//! `--json` writes one JSON object per line: `{"final": false, "text"}` whenever the partial
//! text changes, and `{"final": true, "start", "end", "text", "words"}` per committed segment.

use crate::source::{open_mic, AudioSource, FileSource, StdinSource};
use anyhow::Context;
use sotto_asr::recognizer::{Recognizer, RecognizerConfig, Stream, Transcript};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Arguments of `sotto caption`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub recognizer: super::RecognizerArgs,
    /// Play this audio file instead of listening to the microphone; `-` reads raw s16le mono
    /// PCM at `--rate` from stdin (e.g. piped from `arecord -f S16_LE -r 16000`).
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Sample rate of raw PCM on stdin (`--input -`).
    #[arg(long, value_name = "HZ", default_value_t = 16000)]
    pub rate: u32,
    /// With --input: pace the file at real time (default: as fast as possible).
    #[arg(long, requires = "input")]
    pub realtime: bool,
    /// Prefix committed lines with the segment's start and end time in seconds.
    #[arg(long)]
    pub timestamps: bool,
    /// JSON lines (partial and final results) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Trailing silence (seconds) after speech that ends a line (endpoint rule 2).
    #[arg(long, value_name = "SECS", default_value_t = 1.2)]
    pub endpoint_silence: f32,
    /// Longest line in seconds before it is committed anyway (endpoint rule 3).
    #[arg(long, value_name = "SECS", default_value_t = 20.0)]
    pub max_utterance: f32,
}

/// A file source paced at real time: a chunk is handed out once the audio it holds has
/// "been spoken", counted from the first call.
struct Paced<S> {
    inner: S,
    start: Option<Instant>,
    seconds: f64,
}

impl<S: AudioSource> AudioSource for Paced<S> {
    fn next_chunk(&mut self) -> anyhow::Result<Option<(u32, Vec<f32>)>> {
        let chunk = self.inner.next_chunk()?;
        if let Some((rate, samples)) = &chunk {
            let start = *self.start.get_or_insert_with(Instant::now);
            self.seconds += samples.len() as f64 / f64::from(*rate);
            let due = start + Duration::from_secs_f64(self.seconds);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        Ok(chunk)
    }
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

/// Decode what the stream holds, committing a line at every endpoint (the stream stops its
/// search exactly there, so lines do not depend on how the audio arrived).
fn drain(stream: &mut Stream, printer: &mut Printer) -> anyhow::Result<()> {
    loop {
        stream.decode()?;
        if !stream.is_endpoint() {
            return Ok(printer.partial(&stream.partial_transcript())?);
        }
        printer.commit(&stream.finish_segment())?;
    }
}

/// Feed a source through one stream until it ends, printing as results change.
fn caption(
    stream: &mut Stream,
    source: &mut dyn AudioSource,
    printer: &mut Printer,
) -> anyhow::Result<()> {
    while let Some((rate, chunk)) = source.next_chunk()? {
        stream.accept_waveform(rate, &chunk)?;
        drain(stream, printer)?;
    }
    stream.input_finished()?;
    drain(stream, printer)?;
    printer.commit(&stream.finish()?)?;
    Ok(())
}

/// Run `sotto caption`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if !(args.endpoint_silence > 0.0 && args.max_utterance > 0.0) {
        anyhow::bail!("--endpoint-silence and --max-utterance must be positive numbers of seconds");
    }
    let mut config = RecognizerConfig {
        stop_at_endpoints: true,
        ..args.recognizer.config()?
    };
    config.endpoint.rule2.min_trailing_silence = args.endpoint_silence;
    config.endpoint.rule3.min_utterance_length = args.max_utterance;
    let rec = Recognizer::new(config)?;
    let mut source: Box<dyn AudioSource> = match &args.input {
        Some(path) if path.as_os_str() == "-" => Box::new(StdinSource::new(args.rate)),
        Some(path) => {
            let file = FileSource::open(path)
                .with_context(|| format!("cannot play {}", path.display()))?;
            if args.realtime {
                Box::new(Paced {
                    inner: file,
                    start: None,
                    seconds: 0.0,
                })
            } else {
                Box::new(file)
            }
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
