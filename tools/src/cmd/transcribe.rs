//! `sotto transcribe`: batch transcription of files and folders, optionally scored against
//! references (WER) with the real-time factor.
//!
//! stdout: one `file<TAB>text` line per input file, in input order (JSON lines with words and
//! timings under `--json`), then with `--ref` exactly one summary line
//! `WER <pct>% (<errors>/<ref words>; sub <s> del <d> ins <i>) RTF <rtf> wall-RTF <w>`
//! (`WER n/a` when the references have no words; under `--json` one JSON object with the same
//! numbers). RTF is the summed per-file compute time (feeding the recognizer and searching,
//! one core per file) over the audio duration; wall-RTF is the elapsed time of the whole run
//! (audio decoding and `--jobs` parallelism included, model loading not) over the same.
//! Files are decoded and fed in one-second chunks, so memory does not grow with their length.
//! A file that cannot be read or decoded gets an error line on stderr (and an empty
//! hypothesis in the WER); the others are still transcribed and the exit status is 2.

use crate::common::{bad_input, check_model, collect_audio_files, describe};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use sotto_asr::recognizer::{Recognizer, RecognizerConfig, Transcript};
use sotto_asr::wer::{score, WerStats};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments of `sotto transcribe`.
#[derive(clap::Args)]
pub struct Args {
    /// Audio files, or folders searched recursively for audio files.
    #[arg(value_name = "FILES|DIRS")]
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub recognizer: super::RecognizerArgs,
    /// Per-file mean normalization A in [0, 1]: each file (or --vad segment) is normalized with
    /// (1 − A) × the model's feature mean + A × the file's own (a first pass over the audio);
    /// 0 = the model's mean only, as live captions use.
    #[arg(long, value_name = "A", default_value_t = sotto_asr::recognizer::DEFAULT_FILE_CMN)]
    pub file_cmn: f32,
    /// References: lines `path<TAB>reference text` (no header row, exactly two columns),
    /// paths relative to this file. Without FILES, transcribes the files it lists. Adds a
    /// final line `WER <pct>% (<errors>/<ref words>; sub s del d ins i) RTF r wall-RTF w`:
    /// RTF = summed per-file compute time (recognizer only, one core per file) / audio
    /// duration; wall-RTF = elapsed time of the whole run (with decoding and --jobs) / audio
    /// duration.
    #[arg(long = "ref", value_name = "REFS.TSV")]
    pub refs: Option<PathBuf>,
    /// Files decoded in parallel (default: number of CPUs).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// JSON lines with words, times and confidences instead of `file<TAB>text`.
    #[arg(long)]
    pub json: bool,
    /// With --json: also list up to N distinct alternative texts per file, best first, each with
    /// the search's natural-log score (`"alternatives": [{"text", "score"}]`; beam search)
    #[arg(
        long,
        value_name = "N",
        requires = "json",
        conflicts_with = "vad",
        default_value_t = 0
    )]
    pub alternatives: usize,
    /// Hotwords file: one phrase per line, optional ` :boost` (default boost 1.5 per token).
    #[arg(long, value_name = "FILE")]
    pub hotwords: Option<PathBuf>,
    /// Split each file into speech segments with voice activity detection (Silero VAD) and
    /// transcribe the segments in parallel (silence is skipped); a summary line on stderr gives
    /// the segment count, speech share and CPU-time RTF of the detector and the recognizer.
    /// The VAD options below apply.
    #[arg(long)]
    pub vad: bool,
    #[command(flatten)]
    pub vad_args: super::vad::VadArgs,
}

/// Result of one file.
struct Done {
    transcript: Transcript,
    audio_secs: f64,
    compute_secs: f64,
    /// With `--vad`: segments, their total duration and the detector's CPU time (included in
    /// `compute_secs`, which is then CPU time).
    segments: usize,
    speech_secs: f64,
    vad_secs: f64,
}

/// Words as JSON with times and confidences rounded to milliseconds / 3 decimals.
pub(crate) fn words_json(words: &[sotto_asr::recognizer::Word]) -> serde_json::Value {
    let r3 = |x: f32| (x as f64 * 1000.0).round() / 1000.0;
    words
        .iter()
        .map(|w| serde_json::json!({"word": w.word, "start": r3(w.start), "end": r3(w.end), "confidence": r3(w.confidence)}))
        .collect()
}

/// First-column names that mark a header row (`path<TAB>text`).
const HEADER_NAMES: [&str; 10] = [
    "path",
    "file",
    "filename",
    "audio",
    "wav",
    "utt",
    "utterance",
    "id",
    "key",
    "name",
];

/// Read `path<TAB>reference` lines; paths are resolved against the refs file's folder. A line
/// with more than two columns, or a header row, is an error naming the line (either would
/// silently be mis-scored).
fn read_refs(path: &Path) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read references", path.display()))
        .map_err(bad_input)?;
    let base = path.parent().unwrap_or(Path::new(""));
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{}:{}", path.display(), i + 1);
        let cols: Vec<&str> = line.split('\t').collect();
        let [file, reference] = cols[..] else {
            return Err(bad_input(anyhow::anyhow!(
                "{at}: expected `path<TAB>reference`, found {} tab-separated column(s)",
                cols.len()
            )));
        };
        let file = file.trim();
        if out.is_empty()
            && HEADER_NAMES.contains(&file.to_ascii_lowercase().as_str())
            && !base.join(file).exists()
        {
            return Err(bad_input(anyhow::anyhow!(
                "{at}: looks like a header row (`{}`); the references file has none, remove it",
                line.trim()
            )));
        }
        out.push((base.join(file), reference.trim().to_string()));
    }
    Ok(out)
}

/// Key to match a file to its reference regardless of how the path was spelled.
fn key(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Decode one file through a fresh stream ([`Recognizer::transcribe_file`]: one-second chunks,
/// memory flat however long the file is).
fn transcribe_file(rec: &Recognizer, path: &Path) -> anyhow::Result<Done> {
    // No path context here: `describe` prefixes the file name when the error lacks it.
    let f = rec.transcribe_file(path)?;
    Ok(Done {
        transcript: f.transcript,
        audio_secs: f.audio_secs,
        compute_secs: f.compute_secs,
        segments: 0,
        speech_secs: 0.0,
        vad_secs: 0.0,
    })
}

/// Speech segments waiting for the recognizer, at most this much audio at once (memory stays
/// bounded however long the file is).
const VAD_BATCH_SECS: f64 = 120.0;

/// One segment through a fresh stream: its transcript (times from the segment start) and the
/// compute time.
fn transcribe_segment(
    rec: &Recognizer,
    rate: u32,
    audio: &[f32],
) -> anyhow::Result<(Transcript, f64)> {
    let t = super::vad::thread_cpu();
    let mut stream = rec.stream();
    // --file-cmn: each segment is normalized with its own adapted mean.
    if let Some(mean) = rec.adapted_feature_mean(rate, audio)? {
        stream.set_feature_mean(Some(&mean))?;
    }
    for chunk in audio.chunks(rate as usize) {
        stream.accept_waveform(rate, chunk)?;
        stream.decode()?;
    }
    let transcript = stream.finish()?;
    Ok((
        transcript,
        super::vad::thread_cpu().saturating_sub(t).as_secs_f64(),
    ))
}

/// Appends `t` to `all`, its times shifted by `offset` seconds.
fn append_shifted(all: &mut Transcript, mut t: Transcript, offset: f64) {
    let off = offset as f32;
    for w in &mut t.words {
        w.start += off;
        w.end += off;
    }
    for k in &mut t.tokens {
        k.time += off;
    }
    if !t.text.is_empty() {
        if !all.text.is_empty() {
            all.text.push(' ');
        }
        all.text.push_str(&t.text);
    }
    all.words.extend(t.words);
    all.tokens.extend(t.tokens);
}

/// `--vad`: decode the file once, cutting speech segments as the detector finds them; batches
/// of segments are transcribed in parallel (each through its own stream) and joined in order.
fn transcribe_file_vad(
    rec: &Recognizer,
    vad: &super::vad::VadArgs,
    model: &std::sync::Arc<sotto_asr::vad::VadModel>,
    path: &Path,
) -> anyhow::Result<Done> {
    use sotto_asr::vad::VadEvent;
    let mut reader = sotto_frontend::audio::AudioReader::open(path)?;
    let input_rate = reader.sample_rate();
    let mut cutter = super::vad::Cutter::new(model.clone(), input_rate, vad.config())?;
    let rate = cutter.feeder.rate();
    let mut buf = Vec::with_capacity(input_rate as usize + 8192);
    let mut batch: Vec<(u64, Vec<f32>)> = Vec::new();
    let mut all = Transcript::default();
    let (mut compute, mut vad_secs, mut segments, mut speech) = (0.0, 0.0, 0usize, 0.0);
    let flush = |batch: &mut Vec<(u64, Vec<f32>)>, all: &mut Transcript, compute: &mut f64| {
        let results: Vec<anyhow::Result<(Transcript, f64)>> = batch
            .par_iter()
            .map(|(_, a)| transcribe_segment(rec, rate, a))
            .collect();
        for ((start, _), r) in batch.drain(..).zip(results) {
            let (t, secs) = r?;
            *compute += secs;
            append_shifted(all, t, start as f64 / f64::from(rate));
        }
        anyhow::Ok(())
    };
    loop {
        let n = reader.read_chunk(&mut buf)?;
        if buf.len() >= input_rate as usize || (n == 0 && !buf.is_empty()) {
            let t = super::vad::thread_cpu();
            cutter.accept(&buf)?;
            vad_secs += super::vad::thread_cpu().saturating_sub(t).as_secs_f64();
            buf.clear();
        }
        if n == 0 {
            let t = super::vad::thread_cpu();
            cutter.finish()?;
            vad_secs += super::vad::thread_cpu().saturating_sub(t).as_secs_f64();
        }
        for e in cutter.events() {
            if let VadEvent::End(seg) = e {
                segments += 1;
                speech += (seg.end - seg.start) as f64 / f64::from(rate);
                batch.push((seg.start, cutter.audio(seg.start, seg.end).to_vec()));
            }
        }
        cutter.trim();
        let pending: usize = batch.iter().map(|(_, a)| a.len()).sum();
        if n == 0
            || batch.len() >= rayon::current_num_threads()
            || pending as f64 >= VAD_BATCH_SECS * f64::from(rate)
        {
            flush(&mut batch, &mut all, &mut compute)?;
        }
        if n == 0 {
            break;
        }
    }
    Ok(Done {
        transcript: all,
        audio_secs: reader.samples_read() as f64 / f64::from(input_rate),
        compute_secs: compute + vad_secs,
        segments,
        speech_secs: speech,
        vad_secs,
    })
}

/// Run `sotto transcribe`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let refs = args.refs.as_deref().map(read_refs).transpose()?;
    let files = match (&refs, args.inputs.is_empty()) {
        (_, false) => collect_audio_files(&args.inputs),
        (Some(r), true) => r.iter().map(|(p, _)| p.clone()).collect(),
        (None, true) => {
            return Err(bad_input(anyhow::anyhow!(
                "no input files (give FILES or DIRS, or --ref REFS.TSV)"
            )))
        }
    };
    if files.is_empty() {
        return Err(bad_input(anyhow::anyhow!(
            "no audio files found in {:?}",
            args.inputs
        )));
    }
    check_model(args.recognizer.model.as_deref())?;
    let config = RecognizerConfig {
        hotwords: args.hotwords,
        file_cmn: args.file_cmn,
        alternatives: args.alternatives,
        ..args.recognizer.config().map_err(bad_input)?
    };
    let rec = Recognizer::new(config).map_err(bad_input)?;
    let vad_model = if args.vad {
        Some(args.vad_args.model().map_err(bad_input)?)
    } else {
        None
    };

    let ref_map: HashMap<PathBuf, String> = refs
        .iter()
        .flatten()
        .map(|(p, r)| (key(p), r.clone()))
        .collect();

    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build()?;
    let bar = ProgressBar::new(files.len() as u64);
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} files {elapsed} (eta {eta}) {msg}",
    )?);

    // Workers send results as they finish; this thread prints them in input order.
    let wall = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    let mut stdout = std::io::stdout().lock();
    let (mut wer, mut audio_secs, mut compute_secs, mut failed, mut unscored) =
        (WerStats::default(), 0.0, 0.0, 0, 0);
    let (mut segments, mut speech_secs, mut vad_secs) = (0usize, 0.0, 0.0);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let (rec, files, vad_model, vad_args) = (&rec, &files, &vad_model, &args.vad_args);
        scope.spawn(move || {
            pool.install(|| {
                files
                    .par_iter()
                    .enumerate()
                    .for_each_with(tx, |tx, (i, f)| {
                        let r = match vad_model {
                            Some(m) => transcribe_file_vad(rec, vad_args, m, f),
                            None => transcribe_file(rec, f),
                        };
                        let _ = tx.send((i, r));
                    })
            })
        });
        let mut pending = BTreeMap::new();
        let mut next = 0;
        for (i, result) in rx {
            pending.insert(i, result);
            while let Some(result) = pending.remove(&next) {
                let file = &files[next];
                let hyp = match result {
                    Ok(done) => {
                        audio_secs += done.audio_secs;
                        compute_secs += done.compute_secs;
                        segments += done.segments;
                        speech_secs += done.speech_secs;
                        vad_secs += done.vad_secs;
                        let line = if args.json {
                            let mut j = serde_json::json!({
                                "file": file,
                                "text": done.transcript.text,
                                "duration": done.audio_secs,
                                "words": words_json(&done.transcript.words),
                            });
                            if args.vad {
                                j["segments"] = done.segments.into();
                            }
                            if !done.transcript.alternatives.is_empty() {
                                j["alternatives"] = done
                                    .transcript
                                    .alternatives
                                    .iter()
                                    .map(|a| serde_json::json!({"text": a.text, "score": (a.score as f64 * 1000.0).round() / 1000.0}))
                                    .collect();
                            }
                            j.to_string()
                        } else {
                            format!("{}\t{}", file.display(), done.transcript.text)
                        };
                        bar.suspend(|| writeln!(stdout, "{line}"))?;
                        done.transcript.text
                    }
                    Err(e) => {
                        failed += 1;
                        bar.suspend(|| eprintln!("sotto: error: {}", describe(&e, file)));
                        String::new()
                    }
                };
                if refs.is_some() {
                    match ref_map.get(&key(file)) {
                        Some(r) => wer += score(r, &hyp),
                        None => unscored += 1,
                    }
                }
                bar.inc(1);
                next += 1;
            }
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    let wall_secs = wall.elapsed().as_secs_f64();
    if args.vad && audio_secs > 0.0 {
        eprintln!(
            "sotto transcribe: --vad: {segments} segment(s), speech {:.1} % of {:.1} s; CPU-time RTF {:.4} (VAD {:.4} + recognizer {:.4}) wall-RTF {:.4}",
            100.0 * speech_secs / audio_secs.max(1e-9),
            audio_secs,
            compute_secs / audio_secs.max(1e-9),
            vad_secs / audio_secs.max(1e-9),
            (compute_secs - vad_secs) / audio_secs.max(1e-9),
            wall_secs / audio_secs.max(1e-9),
        );
    }
    if unscored > 0 {
        eprintln!("sotto: warning: {unscored} file(s) have no reference and are not scored");
    }
    if refs.is_some() {
        let s = Summary {
            wer: &wer,
            audio_secs,
            compute_secs,
            wall_secs,
            files: files.len(),
            failed,
            unscored,
        };
        if wer.ref_words == 0 {
            eprintln!("sotto: warning: the references have no words: WER is undefined (n/a)");
        }
        let line = if args.json {
            s.json().to_string()
        } else {
            s.text()
        };
        writeln!(stdout, "{line}")?;
    }
    stdout.flush()?;
    if failed > 0 {
        return Err(bad_input(anyhow::anyhow!(
            "{failed} of {} file(s) could not be transcribed",
            files.len()
        )));
    }
    Ok(())
}

/// The `--ref` summary.
struct Summary<'a> {
    wer: &'a WerStats,
    audio_secs: f64,
    compute_secs: f64,
    wall_secs: f64,
    files: usize,
    failed: usize,
    unscored: usize,
}

impl Summary<'_> {
    fn rtf(&self, secs: f64) -> f64 {
        if self.audio_secs > 0.0 {
            secs / self.audio_secs
        } else {
            0.0
        }
    }

    /// `WER <pct>% (<errors>/<ref words>; sub s del d ins i) RTF r wall-RTF w`.
    fn text(&self) -> String {
        let w = self.wer;
        let pct = match w.wer() {
            Some(x) if w.ref_words > 0 => format!("{:.2}%", 100.0 * x),
            _ => "n/a".into(),
        };
        format!(
            "WER {pct} ({}/{}; sub {} del {} ins {}) RTF {:.4} wall-RTF {:.4}",
            w.errors(),
            w.ref_words,
            w.substitutions,
            w.deletions,
            w.insertions,
            self.rtf(self.compute_secs),
            self.rtf(self.wall_secs)
        )
    }

    /// The same numbers as one JSON object (`wer` in percent, `null` when undefined).
    fn json(&self) -> serde_json::Value {
        let w = self.wer;
        let r4 = |x: f64| (x * 10_000.0).round() / 10_000.0;
        let pct = w.wer().filter(|_| w.ref_words > 0).map(|x| r4(100.0 * x));
        serde_json::json!({
            "wer": pct,
            "errors": w.errors(),
            "ref_words": w.ref_words,
            "substitutions": w.substitutions,
            "deletions": w.deletions,
            "insertions": w.insertions,
            "files": self.files,
            "failed": self.failed,
            "unscored": self.unscored,
            "audio_seconds": r4(self.audio_secs),
            "compute_seconds": r4(self.compute_secs),
            "wall_seconds": r4(self.wall_secs),
            "rtf": r4(self.rtf(self.compute_secs)),
            "wall_rtf": r4(self.rtf(self.wall_secs)),
        })
    }
}
