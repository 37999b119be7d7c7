//! `sotto caption`: live captions from the default microphone, or from a file through the
//! identical streaming path (`--input FILE`, as fast as it decodes; paced at real time with
//! `--realtime`).
//!
//! On a terminal the partial line is redrawn in place (`\r` + clear-line; only its tail when it
//! is wider than the terminal, so it never wraps); an endpoint commits it and starts a new
//! line. When stdout is not a terminal only committed lines are written. A line cut by the
//! segment-length limit (`--max-utterance`) is committed up to its last word start: the last
//! word moves on to the next line, where the rest of it may follow, so no word is split
//! across lines. `--json` writes one JSON object per line: `{"final": false, "text"}` whenever
//! the partial text changes, and `{"final": true, "start", "end", "text", "words"}` per
//! committed line.

use super::vad::thread_cpu;
use crate::common::{bad_input, check_model, positive_seconds};
use crate::source::{open_mic, AudioSource, FileSource, StdinSource};
use sotto_asr::recognizer::{Recognizer, RecognizerConfig, Stream, Transcript, Word};
use sotto_decoder::{EndpointRule, WORD_START};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Arguments of `sotto caption`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub recognizer: super::RecognizerArgs,
    /// Caption this audio file instead of listening to the microphone (decoded as it is read,
    /// as fast as possible unless --realtime); `-` reads raw s16le mono PCM at `--rate` from
    /// stdin (e.g. piped from `arecord -f S16_LE -r 16000`).
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Sample rate of raw PCM on stdin (`--input -`) [default: 16000]. Not used for files:
    /// their header gives the rate.
    #[arg(long, value_name = "HZ")]
    pub rate: Option<u32>,
    /// With --input: pace the audio at real time, as a live source would arrive.
    #[arg(long, requires = "input")]
    pub realtime: bool,
    /// Prefix committed lines with the segment's start and end time in seconds.
    #[arg(long)]
    pub timestamps: bool,
    /// JSON lines (partial and final results) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Trailing silence (seconds) after speech that ends a line (endpoint rule 2).
    #[arg(long, value_name = "SECS", default_value_t = 1.2, value_parser = positive_seconds, allow_negative_numbers = true)]
    pub endpoint_silence: f32,
    /// Longest line in seconds before it is committed anyway (endpoint rule 3).
    #[arg(long, value_name = "SECS", default_value_t = 20.0, value_parser = positive_seconds, allow_negative_numbers = true)]
    pub max_utterance: f32,
    /// Voice activity detection (Silero VAD): only speech reaches the recognizer (silence
    /// costs no recognizer time) and each speech segment's end commits its line.
    #[arg(long)]
    pub vad: bool,
    #[command(flatten)]
    pub vad_args: super::vad::VadArgs,
    /// Summary on stderr: audio duration, audio given to the recognizer, CPU time of the
    /// recognizer and of the voice activity detector.
    #[arg(long)]
    pub stats: bool,
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

/// Columns of the terminal: `$COLUMNS`, else the terminal's own size, else 80.
fn terminal_width() -> usize {
    if let Some(c) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
    {
        return c;
    }
    #[cfg(unix)]
    {
        // SAFETY: TIOCGWINSZ fills the `winsize` it is given; failure leaves it zeroed.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        if unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) } == 0 && ws.ws_col > 0 {
            return usize::from(ws.ws_col);
        }
    }
    80
}

/// The tail of `text` that fits in `width - 1` columns (one left for the cursor), marked with
/// a leading `…` when cut.
fn fit(text: &str, width: usize) -> String {
    let room = width.saturating_sub(1).max(2);
    let n = text.chars().count();
    if n <= room {
        return text.to_string();
    }
    let tail: String = text.chars().skip(n - (room - 1)).collect();
    format!("…{tail}")
}

/// Words of `t` after the `carry`ed words of the previous line; when `t` starts inside a word
/// (its first BPE piece does not start a word), that piece continues the last carried word.
fn join(carry: &[Word], t: &Transcript, bpe: bool) -> Vec<Word> {
    let mut words = carry.to_vec();
    let mut rest = t.words.iter();
    let continues = bpe
        && t.tokens
            .first()
            .is_some_and(|k| !k.piece.starts_with(WORD_START));
    if continues {
        if let (Some(last), Some(first)) = (words.last_mut(), rest.clone().next()) {
            last.word.push_str(&first.word);
            last.end = first.end;
            last.confidence = last.confidence.min(first.confidence);
            rest.next();
        }
    }
    words.extend(rest.cloned());
    words
}

fn text_of(words: &[Word]) -> String {
    words
        .iter()
        .map(|w| w.word.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes partial and committed results.
struct Printer {
    tty: bool,
    json: bool,
    timestamps: bool,
    width: usize,
    /// The partial text last written.
    partial: String,
    /// Words held back from the last committed line (it was cut by the length limit).
    carry: Vec<Word>,
    /// The model's tokens are BPE pieces (`▁` marks word starts).
    bpe: bool,
    /// Seconds added to word times (with --vad: where the current segment's stream starts).
    offset: f32,
    out: std::io::Stdout,
}

impl Printer {
    /// Whether partial results are shown at all (else they need not be computed).
    fn wants_partials(&self) -> bool {
        self.json || self.tty
    }

    fn partial(&mut self, t: &Transcript) -> std::io::Result<()> {
        self.bpe |= t.tokens.iter().any(|k| k.piece.starts_with(WORD_START));
        let text = text_of(&join(&self.carry, t, self.bpe));
        if text == self.partial {
            return Ok(());
        }
        let mut out = self.out.lock();
        if self.json {
            writeln!(out, "{}", serde_json::json!({"final": false, "text": text}))?;
        } else if self.tty {
            write!(out, "\r\x1b[2K{}", fit(&text, self.width))?;
        }
        self.partial = text;
        out.flush()
    }

    /// Commits a segment that ended by `rule` (`None`: the end of the audio).
    fn commit(&mut self, t: &Transcript, rule: Option<EndpointRule>) -> std::io::Result<()> {
        self.bpe |= t.tokens.iter().any(|k| k.piece.starts_with(WORD_START));
        let mut shifted;
        let t = if self.offset != 0.0 {
            shifted = t.clone();
            for w in &mut shifted.words {
                w.start += self.offset;
                w.end += self.offset;
            }
            &shifted
        } else {
            t
        };
        let mut words = join(&self.carry, t, self.bpe);
        // Cut by the length limit, the segment may end inside a word: hold its last word back.
        self.carry = match rule {
            Some(EndpointRule::Rule3) if self.bpe => words.pop().into_iter().collect(),
            _ => Vec::new(),
        };
        let mut out = self.out.lock();
        if self.tty && !self.json && !self.partial.is_empty() {
            write!(out, "\r\x1b[2K")?;
        }
        self.partial.clear();
        if words.is_empty() {
            return out.flush();
        }
        let text = text_of(&words);
        let (start, end) = (words[0].start, words[words.len() - 1].end);
        if self.json {
            let doc = serde_json::json!({
                "final": true,
                "start": (start as f64 * 1000.0).round() / 1000.0,
                "end": (end as f64 * 1000.0).round() / 1000.0,
                "text": text,
                "words": super::transcribe::words_json(&words),
            });
            writeln!(out, "{doc}")?;
        } else if self.timestamps {
            writeln!(out, "[{start:.2}-{end:.2}] {text}")?;
        } else {
            writeln!(out, "{text}")?;
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
            if printer.wants_partials() {
                printer.partial(&stream.partial_transcript())?;
            }
            return Ok(());
        }
        let rule = stream.endpoint_rule();
        printer.commit(&stream.finish_segment(), rule)?;
    }
}

/// Time spent in the recognizer and audio given to it, for `--stats`.
#[derive(Default)]
struct Usage {
    audio_s: f64,
    fed_s: f64,
    /// CPU time of the recognizer (feeding, decoding, printing).
    compute: Duration,
    /// CPU time of the voice activity detector.
    vad: Duration,
}

/// Feed a source through one stream until it ends, printing as results change.
fn caption(
    stream: &mut Stream,
    source: &mut dyn AudioSource,
    printer: &mut Printer,
    usage: &mut Usage,
) -> anyhow::Result<()> {
    while let Some((rate, chunk)) = source.next_chunk().map_err(bad_input)? {
        usage.audio_s += chunk.len() as f64 / f64::from(rate);
        usage.fed_s += chunk.len() as f64 / f64::from(rate);
        let t = thread_cpu();
        stream.accept_waveform(rate, &chunk).map_err(bad_input)?;
        drain(stream, printer)?;
        usage.compute += thread_cpu().saturating_sub(t);
    }
    let t = thread_cpu();
    stream.input_finished()?;
    drain(stream, printer)?;
    printer.commit(&stream.finish()?, None)?;
    usage.compute += thread_cpu().saturating_sub(t);
    Ok(())
}

/// `--vad`: only speech segments reach the recognizer, each through a fresh stream fed from the
/// segment's (padded) start as soon as the detector is sure of it; the segment's end commits
/// the line. Lines inside a long segment still end at the recognizer's endpoints.
fn caption_vad(
    stream: &mut Stream,
    source: &mut dyn AudioSource,
    printer: &mut Printer,
    vad: &super::vad::VadArgs,
    usage: &mut Usage,
) -> anyhow::Result<()> {
    use sotto_asr::vad::VadEvent;
    let model = vad.model().map_err(bad_input)?;
    let mut cutter: Option<super::vad::Cutter> = None;
    // Inside a segment: the position up to which its stream has been fed.
    let mut fed: Option<u64> = None;
    loop {
        let last = match source.next_chunk().map_err(bad_input)? {
            Some((rate, chunk)) => {
                let c = match &mut cutter {
                    Some(c) if c.feeder.input_rate() == rate => c,
                    Some(c) => {
                        return Err(bad_input(anyhow::anyhow!(
                            "sample rate changed from {} Hz to {rate} Hz",
                            c.feeder.input_rate()
                        )))
                    }
                    None => cutter.insert(
                        super::vad::Cutter::new(model.clone(), rate, vad.config())
                            .map_err(bad_input)?,
                    ),
                };
                usage.audio_s += chunk.len() as f64 / f64::from(rate);
                let t = thread_cpu();
                c.accept(&chunk).map_err(bad_input)?;
                usage.vad += thread_cpu().saturating_sub(t);
                false
            }
            None => match &mut cutter {
                Some(c) => {
                    let t = thread_cpu();
                    c.finish().map_err(bad_input)?;
                    usage.vad += thread_cpu().saturating_sub(t);
                    true
                }
                None => return Ok(()),
            },
        };
        let Some(c) = &mut cutter else { break };
        let rate = c.feeder.rate();
        let t = thread_cpu();
        let mut feed = |stream: &mut Stream, audio: &[f32]| -> anyhow::Result<()> {
            usage.fed_s += audio.len() as f64 / f64::from(rate);
            stream.accept_waveform(rate, audio).map_err(bad_input)?;
            Ok(())
        };
        for e in c.events() {
            match e {
                VadEvent::Start(s) => {
                    stream.reset();
                    printer.offset = (s as f64 / f64::from(rate)) as f32;
                    fed = Some(s);
                }
                VadEvent::End(seg) => {
                    if let Some(from) = fed.take() {
                        feed(stream, c.audio(from, seg.end))?;
                    }
                    stream.input_finished()?;
                    drain(stream, printer)?;
                    printer.commit(&stream.finish()?, None)?;
                }
            }
        }
        if let Some(from) = fed {
            // Inside speech: everything that arrived goes on to the recognizer.
            let end = c.end();
            feed(stream, c.audio(from, end))?;
            fed = Some(end.max(from));
            drain(stream, printer)?;
        }
        c.trim();
        usage.compute += thread_cpu().saturating_sub(t);
        if last {
            break;
        }
    }
    Ok(())
}

/// Run `sotto caption`.
pub fn run(args: Args) -> anyhow::Result<()> {
    check_model(args.recognizer.model.as_deref())?;
    let mut config = RecognizerConfig {
        stop_at_endpoints: true,
        ..args.recognizer.config().map_err(bad_input)?
    };
    config.endpoint.rule2.min_trailing_silence = args.endpoint_silence;
    config.endpoint.rule3.min_utterance_length = args.max_utterance;
    let rec = Recognizer::new(config).map_err(bad_input)?;
    let mut source: Box<dyn AudioSource> = match &args.input {
        Some(path) if path.as_os_str() == "-" => {
            Box::new(StdinSource::new(args.rate.unwrap_or(16000)))
        }
        Some(path) => {
            if let Some(r) = args.rate {
                eprintln!(
                    "sotto: warning: --rate {r} is for raw PCM on stdin; {} gives its own rate",
                    path.display()
                );
            }
            let file = FileSource::open(path).map_err(bad_input)?;
            if args.realtime {
                Box::new(Paced {
                    inner: file,
                    start: None,
                    seconds: 0.0,
                })
            } else {
                // Not paced: longer chunks cost less per second of audio (same lines: the
                // stream stops at endpoints whatever the chunking).
                Box::new(file.with_chunk_seconds(1.0))
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
        width: if tty { terminal_width() } else { 80 },
        partial: String::new(),
        carry: Vec::new(),
        bpe: false,
        offset: 0.0,
        out,
    };
    let mut usage = Usage::default();
    let mut stream = rec.stream();
    if args.vad {
        caption_vad(
            &mut stream,
            source.as_mut(),
            &mut printer,
            &args.vad_args,
            &mut usage,
        )?;
    } else {
        caption(&mut stream, source.as_mut(), &mut printer, &mut usage)?;
    }
    if args.stats {
        eprintln!(
            "sotto caption: {:.1} s audio, {:.1} s ({:.1} %) given to the recognizer; CPU time: recognizer {:.3} s, VAD {:.3} s",
            usage.audio_s,
            usage.fed_s,
            100.0 * usage.fed_s / usage.audio_s.max(1e-9),
            usage.compute.as_secs_f64(),
            usage.vad.as_secs_f64(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sotto_decoder::TokenInfo;

    fn word(w: &str, start: f32) -> Word {
        Word {
            word: w.into(),
            start,
            end: start + 0.1,
            confidence: 0.9,
        }
    }

    fn transcript(pieces: &[&str], words: &[&str]) -> Transcript {
        Transcript {
            text: words.join(" "),
            words: words
                .iter()
                .enumerate()
                .map(|(i, w)| word(w, i as f32))
                .collect(),
            tokens: pieces
                .iter()
                .map(|p| TokenInfo {
                    id: 0,
                    piece: p.to_string(),
                    time: 0.0,
                    prob: 1.0,
                })
                .collect(),
            alternatives: Vec::new(),
        }
    }

    #[test]
    fn a_continued_word_is_joined() {
        let carry = vec![word("EATQU", 0.0)];
        let t = transcript(&["ALLY", "▁ON"], &["ALLY", "ON"]);
        assert_eq!(text_of(&join(&carry, &t, true)), "EATQUALLY ON");
        let t = transcript(&["▁ALLY"], &["ALLY"]);
        assert_eq!(text_of(&join(&carry, &t, true)), "EATQU ALLY");
        // Phone models have no word-start marks: never joined.
        let t = transcript(&["AH"], &["ALLY"]);
        assert_eq!(text_of(&join(&carry, &t, false)), "EATQU ALLY");
    }

    #[test]
    fn long_partials_show_their_tail() {
        assert_eq!(fit("HELLO", 80), "HELLO");
        assert_eq!(fit("ABCDEFGHIJ", 6), "…GHIJ");
        assert_eq!(fit("ABCDEFGHIJ", 6).chars().count(), 5);
    }
}
