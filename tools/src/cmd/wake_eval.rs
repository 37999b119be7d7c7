//! `sotto wake-eval`: false-reject rate and false accepts per hour of one wake-word model on a
//! folder of positive clips and a folder of negative audio, over every possible threshold
//! (a DET curve, optionally saved as SVG).
//!
//! A positive clip counts as accepted at threshold `t` when any sliding-window mean exceeds
//! `t`; on negative audio every detection counts as a false accept, with the detector's
//! refractory period between detections. Window means are multiples of `1 / (256 W)`, so the
//! sweep over `s = 0 ..= 255 W` (threshold `s / (256 W)`) is exact.
//!
//! Files are decoded as they are read. A file that cannot be read or decoded is reported on
//! stderr and left out (like `transcribe`); the results of the others are printed and the exit
//! status is then 2.

use super::wake::load_models;
use crate::common::{bad_input, describe, seconds, AUDIO_EXTENSIONS};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use sotto_asr::wakeword::{Score, WakeWord, WakeWordModel};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Arguments of `sotto wake-eval`.
#[derive(clap::Args)]
pub struct Args {
    /// Wake-word model: a microWakeWord manifest (.json) or a bare .tflite (default settings).
    #[arg(long, short = 'm', value_name = "M")]
    pub model: PathBuf,
    /// Folder of clips that contain the wake word (searched recursively).
    #[arg(long, value_name = "DIR")]
    pub positives: PathBuf,
    /// Folder of audio without the wake word (searched recursively).
    #[arg(long, value_name = "DIR")]
    pub negatives: PathBuf,
    /// Also pick the lowest-FRR threshold with at most this many false accepts per hour.
    #[arg(long, value_name = "X")]
    pub max_fa_per_hour: Option<f64>,
    /// Save the DET curve (FRR vs false accepts per hour) as SVG.
    #[arg(long, value_name = "OUT.svg")]
    pub det: Option<PathBuf>,
    /// Seconds after a detection during which no further detection counts.
    #[arg(long, value_name = "SECS", default_value_t = sotto_asr::wakeword::DEFAULT_REFRACTORY_S, value_parser = seconds, allow_negative_numbers = true)]
    pub refractory: f64,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Audio files under `dir`, sorted (symlinks followed).
fn audio_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)
            .with_context(|| format!("{}: cannot list folder", d.display()))
            .map_err(bad_input)?
        {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                let e = e.to_ascii_lowercase();
                e != "raw" && AUDIO_EXTENSIONS.contains(&e.as_str())
            }) {
                out.push(p);
            }
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(bad_input(anyhow::anyhow!(
            "{}: no audio files (wav, flac, mp3, ogg, opus)",
            dir.display()
        )));
    }
    Ok(out)
}

/// Window sums (in 1/256 units) with their times, and the clip's duration.
struct Trace {
    sums: Vec<(f64, u32)>,
    seconds: f64,
}

/// Scores one file, decoding and detecting block by block (as the whole-file version did, the
/// detector is not flushed at the end).
fn trace(model: &Arc<WakeWordModel>, path: &Path) -> anyhow::Result<Trace> {
    let mut reader = sotto_frontend::audio::AudioReader::open(path)?;
    let mut det = WakeWord::new(vec![model.clone()], reader.sample_rate())?;
    let w = model.settings().sliding_window_size;
    let mut scores = Vec::<Score>::new();
    let mut window = std::collections::VecDeque::with_capacity(w + 1);
    let (mut sums, mut block) = (Vec::new(), Vec::new());
    loop {
        block.clear();
        if reader.read_chunk(&mut block)? == 0 {
            break;
        }
        scores.clear();
        det.accept_f32_scored(&block, &mut scores)?;
        // Window sums over consecutive invocations, across block boundaries.
        for s in &scores {
            window.push_back(u32::from(s.raw));
            if window.len() > w {
                window.pop_front();
            }
            if window.len() == w {
                sums.push((s.time, window.iter().sum()));
            }
        }
    }
    Ok(Trace {
        sums,
        seconds: reader.samples_read() as f64 / f64::from(reader.sample_rate()),
    })
}

/// One point of the DET curve: detect when the window sum exceeds `sum`.
#[derive(Clone, Copy, Debug)]
struct Point {
    threshold: f64,
    frr: f64,
    missed: usize,
    false_accepts: usize,
    fa_per_hour: f64,
}

/// Traces of the files that could be scored; the others are reported on stderr and counted.
fn traces(
    model: &Arc<WakeWordModel>,
    files: &[PathBuf],
    bar: &ProgressBar,
    failed: &mut usize,
) -> Vec<Trace> {
    let results: Vec<anyhow::Result<Trace>> = files
        .par_iter()
        .map(|f| {
            let t = trace(model, f);
            bar.inc(1);
            t
        })
        .collect();
    let mut out = Vec::new();
    for (f, r) in files.iter().zip(results) {
        match r {
            Ok(t) => out.push(t),
            Err(e) => {
                *failed += 1;
                bar.suspend(|| eprintln!("sotto: error: {}", describe(&e, f)));
            }
        }
    }
    out
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let model = load_models(std::slice::from_ref(&args.model), None, 5)
        .map_err(bad_input)?
        .remove(0);
    let (pos_files, neg_files) = (audio_files(&args.positives)?, audio_files(&args.negatives)?);
    let bar = ProgressBar::new((pos_files.len() + neg_files.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} files {msg}").expect("valid template"),
    );
    bar.set_message("scoring");
    let mut failed = 0;
    let pos = traces(&model, &pos_files, &bar, &mut failed);
    let neg = traces(&model, &neg_files, &bar, &mut failed);
    bar.finish_and_clear();
    let total = pos_files.len() + neg_files.len();
    if pos.is_empty() || neg.is_empty() {
        return Err(bad_input(anyhow::anyhow!(
            "no {} file could be scored ({failed} of {total} files failed)",
            if pos.is_empty() {
                "positive"
            } else {
                "negative"
            }
        )));
    }
    let hours: f64 = neg.iter().map(|t| t.seconds).sum::<f64>() / 3600.0;
    if hours <= 0.0 {
        return Err(bad_input(anyhow::anyhow!(
            "{}: negative audio is empty",
            args.negatives.display()
        )));
    }
    if let Some(x) = args.max_fa_per_hour {
        // One false accept in `hours` of audio is 1/hours per hour: rates below that cannot
        // be told from zero.
        if x < 1.0 / hours {
            eprintln!(
                "sotto: warning: the negatives are {:.2} h, so one false accept is {:.1} per \
                 hour: --max-fa-per-hour {x} can only be met with none at all; use at least \
                 {:.1} h of negative audio to measure that rate",
                hours,
                1.0 / hours,
                1.0 / x.max(1e-9)
            );
        }
    }
    let w = model.settings().sliding_window_size as u32;
    let denom = 256.0 * f64::from(w);
    let pos_max: Vec<Option<u32>> = pos
        .iter()
        .map(|t| t.sums.iter().map(|&(_, s)| s).max())
        .collect();
    let point = |sum: u32| {
        let missed = pos_max
            .iter()
            .filter(|m| m.is_none_or(|m| m <= sum))
            .count();
        let false_accepts: usize = neg
            .iter()
            .map(|t| {
                let (mut n, mut quiet) = (0, f64::NEG_INFINITY);
                for &(time, s) in &t.sums {
                    if s > sum && time >= quiet {
                        n += 1;
                        quiet = time + args.refractory;
                    }
                }
                n
            })
            .sum();
        Point {
            threshold: f64::from(sum) / denom,
            frr: missed as f64 / pos.len() as f64,
            missed,
            false_accepts,
            fa_per_hour: false_accepts as f64 / hours,
        }
    };
    let curve: Vec<Point> = (0..=255 * w).into_par_iter().map(point).collect();
    // The manifest cutoff: detect when mean > cutoff, i.e. sum > the largest s with s/denom <= cutoff.
    let cutoff = model.settings().probability_cutoff;
    let at_cutoff = curve
        .iter()
        .rev()
        .find(|p| p.threshold <= cutoff)
        .copied()
        .unwrap_or(curve[0]);
    let chosen = args.max_fa_per_hour.map(|x| {
        let best = curve
            .iter()
            .filter(|p| p.fa_per_hour <= x)
            .map(|p| p.missed)
            .min()
            .unwrap_or(pos.len());
        // Lowest FRR, then the fewest false accepts.
        *curve
            .iter()
            .rev()
            .find(|p| p.fa_per_hour <= x && p.missed == best)
            .unwrap_or(&curve[curve.len() - 1])
    });
    if let Some(svg) = &args.det {
        plot(svg, &curve, &at_cutoff, chosen.as_ref(), model.name())?;
    }
    let neg_seconds = hours * 3600.0;
    let pos_seconds: f64 = pos.iter().map(|t| t.seconds).sum();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        let p = |p: &Point| {
            serde_json::json!({"threshold": p.threshold, "frr": p.frr, "missed": p.missed,
                "false_accepts": p.false_accepts, "fa_per_hour": p.fa_per_hour})
        };
        let j = serde_json::json!({
            "model": model.name(), "manifest": args.model, "positives": pos.len(), "positive_seconds": pos_seconds,
            "negatives": neg.len(), "negative_seconds": neg_seconds, "cutoff": cutoff, "at_cutoff": p(&at_cutoff),
            "max_fa_per_hour": args.max_fa_per_hour, "chosen": chosen.as_ref().map(p), "det": args.det,
        });
        writeln!(out, "{j}")?;
    } else {
        writeln!(out, "model: {} ({})", model.name(), args.model.display())?;
        writeln!(out, "positives: {} files, {pos_seconds:.1} s; negatives: {} files, {neg_seconds:.1} s ({hours:.4} h)", pos.len(), neg.len())?;
        let line = |label: String, p: &Point| {
            format!(
                "{label}: FRR {:.2}% ({}/{} missed), false accepts {} ({:.2} per hour)",
                100.0 * p.frr,
                p.missed,
                pos.len(),
                p.false_accepts,
                p.fa_per_hour
            )
        };
        writeln!(out, "{}", line(format!("at cutoff {cutoff}"), &at_cutoff))?;
        if let (Some(x), Some(c)) = (args.max_fa_per_hour, &chosen) {
            writeln!(
                out,
                "{}",
                line(format!("for <= {x} FA/h: cutoff {:.6}", c.threshold), c)
            )?;
        }
        if let Some(svg) = &args.det {
            writeln!(out, "DET curve: {}", svg.display())?;
        }
    }
    out.flush()?;
    if failed > 0 {
        return Err(bad_input(anyhow::anyhow!(
            "{failed} of {total} file(s) could not be scored and were left out"
        )));
    }
    Ok(())
}

/// Draws FRR (%) against false accepts per hour.
fn plot(
    path: &Path,
    curve: &[Point],
    at_cutoff: &Point,
    chosen: Option<&Point>,
    name: &str,
) -> anyhow::Result<()> {
    use plotters::prelude::*;
    let err = |e: &dyn std::fmt::Display| {
        anyhow::anyhow!("{}: cannot draw DET curve: {e}", path.display())
    };
    let mut pts: Vec<(f64, f64)> = curve
        .iter()
        .map(|p| (p.fa_per_hour, 100.0 * p.frr))
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
    let max_fa = pts.iter().map(|p| p.0).fold(0.0, f64::max).max(1.0);
    let root = SVGBackend::new(path, (720, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("DET: {name}"), ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..max_fa * 1.05, 0.0..100.0)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("false accepts per hour")
        .y_desc("false-reject rate (%)")
        .draw()
        .map_err(|e| err(&e))?;
    chart
        .draw_series(LineSeries::new(pts, &BLUE))
        .map_err(|e| err(&e))?;
    let mut marks = vec![(at_cutoff, RED)];
    marks.extend(chosen.map(|c| (c, GREEN)));
    for (p, color) in marks {
        chart
            .draw_series(std::iter::once(Circle::new(
                (p.fa_per_hour, 100.0 * p.frr),
                5,
                color.filled(),
            )))
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
