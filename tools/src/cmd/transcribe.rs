//! `sotto transcribe`: batch transcription of files and folders, optionally scored against
//! references (WER) with the real-time factor.
//!
//! stdout: one `file<TAB>text` line per input file, in input order (JSON lines with words and
//! timings under `--json`), then with `--ref` exactly one summary line
//! `WER <pct>% (<errors>/<ref words>; sub <s> del <d> ins <i>) RTF <rtf>`.
//! A file that cannot be read or decoded gets an error line on stderr (and an empty
//! hypothesis in the WER); the others are still transcribed and the exit status is 1.

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use sotto_asr::recognizer::{Recognizer, RecognizerConfig, Transcript};
use sotto_decoder::wer::{score, WerStats};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Audio file extensions picked up when a folder is given.
const AUDIO_EXTENSIONS: [&str; 7] = ["wav", "flac", "mp3", "ogg", "opus", "oga", "raw"];

/// Arguments of `sotto transcribe`.
#[derive(clap::Args)]
pub struct Args {
    /// Audio files, or folders searched recursively for audio files.
    #[arg(value_name = "FILES|DIRS")]
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub recognizer: super::RecognizerArgs,
    /// References: lines `path<TAB>reference text`, paths relative to this file. Without
    /// FILES, transcribes the files it lists.
    #[arg(long = "ref", value_name = "REFS.TSV")]
    pub refs: Option<PathBuf>,
    /// Files decoded in parallel (default: number of CPUs).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// JSON lines with words, times and confidences instead of `file<TAB>text`.
    #[arg(long)]
    pub json: bool,
    /// Hotwords file: one phrase per line, optional ` :boost`.
    #[arg(long, value_name = "FILE")]
    pub hotwords: Option<PathBuf>,
}

/// Result of one file.
struct Done {
    transcript: Transcript,
    audio_secs: f64,
    compute_secs: f64,
}

/// Words as JSON with times and confidences rounded to milliseconds / 3 decimals.
pub(crate) fn words_json(words: &[sotto_asr::recognizer::Word]) -> serde_json::Value {
    let r3 = |x: f32| (x as f64 * 1000.0).round() / 1000.0;
    words
        .iter()
        .map(|w| serde_json::json!({"word": w.word, "start": r3(w.start), "end": r3(w.end), "confidence": r3(w.confidence)}))
        .collect()
}

/// Read `path<TAB>reference` lines; paths are resolved against the refs file's folder.
fn read_refs(path: &Path) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read references", path.display()))?;
    let base = path.parent().unwrap_or(Path::new(""));
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let Some((file, reference)) = line.split_once('\t') else {
            bail!(
                "{}:{}: expected `path<TAB>reference`",
                path.display(),
                i + 1
            );
        };
        out.push((base.join(file.trim()), reference.trim().to_string()));
    }
    Ok(out)
}

/// Files of the inputs: files as given, folders walked recursively (sorted).
fn collect_inputs(inputs: &[PathBuf]) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            out.push(dir.to_path_buf()); // reported as unreadable later
            return;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            if p.is_dir() {
                walk(&p, out);
            } else if p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for p in inputs {
        if p.is_dir() {
            walk(p, &mut out);
        } else {
            out.push(p.clone());
        }
    }
    out
}

/// Key to match a file to its reference regardless of how the path was spelled.
fn key(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Decode one file through a fresh stream, in one-second chunks as a live stream would.
fn transcribe_file(rec: &Recognizer, path: &Path) -> anyhow::Result<Done> {
    let (rate, samples) = read_audio(path)?;
    let start = Instant::now();
    let mut stream = rec.stream();
    for chunk in samples.chunks(rate as usize) {
        stream.accept_waveform(rate, chunk)?;
        stream.decode()?;
    }
    let transcript = stream
        .finish()
        .with_context(|| path.display().to_string())?;
    Ok(Done {
        transcript,
        audio_secs: samples.len() as f64 / rate as f64,
        compute_secs: start.elapsed().as_secs_f64(),
    })
}

/// One line for a file's error: the file, then each cause not already said by the previous
/// (library errors often repeat their source in their own message).
fn describe(e: &anyhow::Error, file: &Path) -> String {
    let mut msg = String::new();
    let name = file.display().to_string();
    if !e.to_string().contains(&name) {
        msg.push_str(&name);
    }
    for cause in e.chain() {
        let c = cause.to_string();
        if !msg.contains(&c) {
            msg.push_str(if msg.is_empty() { "" } else { ": " });
            msg.push_str(&c);
        }
    }
    msg
}

/// Run `sotto transcribe`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let refs = args.refs.as_deref().map(read_refs).transpose()?;
    let files = match (&refs, args.inputs.is_empty()) {
        (_, false) => collect_inputs(&args.inputs),
        (Some(r), true) => r.iter().map(|(p, _)| p.clone()).collect(),
        (None, true) => bail!("no input files (give FILES or DIRS, or --ref REFS.TSV)"),
    };
    if files.is_empty() {
        bail!("no audio files found in {:?}", args.inputs);
    }
    let config = RecognizerConfig {
        hotwords: args.hotwords,
        ..args.recognizer.config()?
    };
    let rec = Recognizer::new(config)?;
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
    let (tx, rx) = std::sync::mpsc::channel();
    let mut stdout = std::io::stdout().lock();
    let (mut wer, mut audio_secs, mut compute_secs, mut failed, mut unscored) =
        (WerStats::default(), 0.0, 0.0, 0, 0);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let (rec, files) = (&rec, &files);
        scope.spawn(move || {
            pool.install(|| {
                files
                    .par_iter()
                    .enumerate()
                    .for_each_with(tx, |tx, (i, f)| {
                        let _ = tx.send((i, transcribe_file(rec, f)));
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
                        let line = if args.json {
                            serde_json::json!({
                                "file": file,
                                "text": done.transcript.text,
                                "duration": done.audio_secs,
                                "words": words_json(&done.transcript.words),
                            })
                            .to_string()
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
    if unscored > 0 {
        eprintln!("sotto: warning: {unscored} file(s) have no reference and are not scored");
    }
    if refs.is_some() {
        let pct = 100.0 * wer.wer().unwrap_or(0.0);
        let rtf = if audio_secs > 0.0 {
            compute_secs / audio_secs
        } else {
            0.0
        };
        writeln!(
            stdout,
            "WER {pct:.2}% ({}/{}; sub {} del {} ins {}) RTF {rtf:.4}",
            wer.errors(),
            wer.ref_words,
            wer.substitutions,
            wer.deletions,
            wer.insertions
        )?;
    }
    stdout.flush()?;
    if failed > 0 {
        bail!(
            "{failed} of {} file(s) could not be transcribed",
            files.len()
        );
    }
    Ok(())
}

/// Read an audio file (WAV, FLAC, MP3, Ogg Vorbis) as its rate and mono f32 samples.
pub(crate) fn read_audio(path: &Path) -> anyhow::Result<(u32, Vec<f32>)> {
    let audio = sotto_frontend::audio::read_audio(path)?;
    Ok((audio.sample_rate, audio.samples))
}
