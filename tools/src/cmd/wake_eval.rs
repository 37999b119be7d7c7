//! `sotto wake-eval`: false-reject rate and false accepts per hour of wake-word models on a
//! folder of positive clips and a folder of negative audio, over every possible threshold
//! (a DET curve, optionally saved as SVG: one curve per model, all in one plot). Several models
//! (`-m A -m B`) are scored on the same decoded audio in one pass.
//!
//! A positive clip counts as accepted at threshold `t` when any sliding-window mean exceeds
//! `t`; on negative audio every detection counts as a false accept, with the detector's
//! refractory period between detections. Window means are multiples of `1 / (256 W)`, so the
//! sweep over `s = 0 ..= 255 W` (threshold `s / (256 W)`) is exact.
//!
//! Files are decoded as they are read. A file that cannot be read or decoded is reported on
//! stderr and left out (like `transcribe`); the results of the others are printed and the exit
//! status is then 2.

use super::wake::{load_models, KernelsArg};
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
    /// Repeat to compare models on the same files (one report each, one DET plot).
    #[arg(long, short = 'm', value_name = "M", required = true)]
    pub model: Vec<PathBuf>,
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
    /// Integer arithmetic of the models, as for `sotto wake`: TFLite's reference kernels (as
    /// TFLite-Micro) or its optimised x86 kernels (as pymicro-wakeword 2.5.0).
    #[arg(long, value_enum, value_name = "K", default_value = "reference")]
    pub kernels: KernelsArg,
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

/// Scores one file with every model (one detector, so the audio is decoded once), block by
/// block (as the whole-file version did, the detector is not flushed at the end). One trace
/// per model.
fn trace(models: &[Arc<WakeWordModel>], path: &Path) -> anyhow::Result<Vec<Trace>> {
    let mut reader = sotto_frontend::audio::AudioReader::open(path)?;
    let mut det = WakeWord::new(models.to_vec(), reader.sample_rate())?;
    let mut scores = Vec::<Score>::new();
    let mut windows: Vec<_> = models
        .iter()
        .map(|m| std::collections::VecDeque::with_capacity(m.settings().sliding_window_size + 1))
        .collect();
    let mut sums = vec![Vec::new(); models.len()];
    let mut block = Vec::new();
    loop {
        block.clear();
        if reader.read_chunk(&mut block)? == 0 {
            break;
        }
        scores.clear();
        det.accept_f32_scored(&block, &mut scores)?;
        // Window sums over consecutive invocations, across block boundaries.
        for s in &scores {
            let (window, w) = (
                &mut windows[s.model],
                models[s.model].settings().sliding_window_size,
            );
            window.push_back(u32::from(s.raw));
            if window.len() > w {
                window.pop_front();
            }
            if window.len() == w {
                sums[s.model].push((s.time, window.iter().sum()));
            }
        }
    }
    let seconds = reader.samples_read() as f64 / f64::from(reader.sample_rate());
    Ok(sums
        .into_iter()
        .map(|sums| Trace { sums, seconds })
        .collect())
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

/// Traces of the files that could be scored (per file, one per model); the others are reported
/// on stderr and counted.
fn traces(
    models: &[Arc<WakeWordModel>],
    files: &[PathBuf],
    bar: &ProgressBar,
    failed: &mut usize,
) -> Vec<Vec<Trace>> {
    let results: Vec<anyhow::Result<Vec<Trace>>> = files
        .par_iter()
        .map(|f| {
            let t = trace(models, f);
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

/// One model's results: its DET curve, the point at its manifest cutoff and the point chosen
/// for `--max-fa-per-hour`.
struct Report {
    name: String,
    manifest: PathBuf,
    cutoff: f64,
    curve: Vec<Point>,
    at_cutoff: Point,
    chosen: Option<Point>,
}

/// The DET curve of one model from its traces.
fn evaluate(
    model: &WakeWordModel,
    pos: &[&Trace],
    neg: &[&Trace],
    hours: f64,
    args: &Args,
) -> (Vec<Point>, Point, Option<Point>) {
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
    (curve, at_cutoff, chosen)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let models = load_models(&args.model, None, 5, args.kernels.into()).map_err(bad_input)?;
    let (pos_files, neg_files) = (audio_files(&args.positives)?, audio_files(&args.negatives)?);
    let bar = ProgressBar::new((pos_files.len() + neg_files.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} files {msg}").expect("valid template"),
    );
    bar.set_message("scoring");
    let mut failed = 0;
    let pos = traces(&models, &pos_files, &bar, &mut failed);
    let neg = traces(&models, &neg_files, &bar, &mut failed);
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
    let hours: f64 = neg.iter().map(|t| t[0].seconds).sum::<f64>() / 3600.0;
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
    let reports: Vec<Report> = models
        .iter()
        .zip(&args.model)
        .enumerate()
        .map(|(k, (model, manifest))| {
            let p: Vec<&Trace> = pos.iter().map(|t| &t[k]).collect();
            let n: Vec<&Trace> = neg.iter().map(|t| &t[k]).collect();
            let (curve, at_cutoff, chosen) = evaluate(model, &p, &n, hours, &args);
            Report {
                name: model.name().to_string(),
                manifest: manifest.clone(),
                cutoff: model.settings().probability_cutoff,
                curve,
                at_cutoff,
                chosen,
            }
        })
        .collect();
    if let Some(svg) = &args.det {
        plot(svg, &reports)?;
    }
    let neg_seconds = hours * 3600.0;
    let pos_seconds: f64 = pos.iter().map(|t| t[0].seconds).sum();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for r in &reports {
        if args.json {
            let p = |p: &Point| {
                serde_json::json!({"threshold": p.threshold, "frr": p.frr, "missed": p.missed,
                    "false_accepts": p.false_accepts, "fa_per_hour": p.fa_per_hour})
            };
            // The DET curve where it changes: [threshold, missed, false accepts] by rising
            // threshold (any other rate can be read off it without scoring again).
            let curve: Vec<_> = r
                .curve
                .iter()
                .enumerate()
                .filter(|&(i, q)| {
                    i == 0 || {
                        let o = &r.curve[i - 1];
                        (o.missed, o.false_accepts) != (q.missed, q.false_accepts)
                    }
                })
                .map(|(_, q)| serde_json::json!([q.threshold, q.missed, q.false_accepts]))
                .collect();
            let j = serde_json::json!({
                "model": r.name, "manifest": r.manifest, "positives": pos.len(), "positive_seconds": pos_seconds,
                "negatives": neg.len(), "negative_seconds": neg_seconds, "cutoff": r.cutoff, "at_cutoff": p(&r.at_cutoff),
                "max_fa_per_hour": args.max_fa_per_hour, "chosen": r.chosen.as_ref().map(p), "det": args.det,
                "curve": curve,
            });
            writeln!(out, "{j}")?;
        } else {
            writeln!(out, "model: {} ({})", r.name, r.manifest.display())?;
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
            writeln!(
                out,
                "{}",
                line(format!("at cutoff {}", r.cutoff), &r.at_cutoff)
            )?;
            if let (Some(x), Some(c)) = (args.max_fa_per_hour, &r.chosen) {
                writeln!(
                    out,
                    "{}",
                    line(format!("for <= {x} FA/h: cutoff {:.6}", c.threshold), c)
                )?;
            }
        }
    }
    if let (false, Some(svg)) = (args.json, &args.det) {
        writeln!(out, "DET curve: {}", svg.display())?;
    }
    out.flush()?;
    if failed > 0 {
        return Err(bad_input(anyhow::anyhow!(
            "{failed} of {total} file(s) could not be scored and were left out"
        )));
    }
    Ok(())
}

/// Draws FRR (%) against false accepts per hour: one curve per model, each with its point at
/// the manifest cutoff (filled circle) and the point chosen for `--max-fa-per-hour` (ring).
fn plot(path: &Path, reports: &[Report]) -> anyhow::Result<()> {
    use plotters::prelude::*;
    let err = |e: &dyn std::fmt::Display| {
        anyhow::anyhow!("{}: cannot draw DET curve: {e}", path.display())
    };
    let curves: Vec<Vec<(f64, f64)>> = reports
        .iter()
        .map(|r| {
            let mut pts: Vec<(f64, f64)> = r
                .curve
                .iter()
                .map(|p| (p.fa_per_hour, 100.0 * p.frr))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
            pts
        })
        .collect();
    let max_fa = curves
        .iter()
        .flatten()
        .map(|p| p.0)
        .fold(0.0, f64::max)
        .max(1.0);
    let title = match reports {
        [r] => format!("DET: {}", r.name),
        _ => "DET".to_string(),
    };
    let root = SVGBackend::new(path, (720, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
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
    const COLORS: [RGBColor; 6] = [
        BLUE,
        RED,
        RGBColor(0, 150, 0),
        MAGENTA,
        RGBColor(230, 140, 0),
        BLACK,
    ];
    for (k, (r, pts)) in reports.iter().zip(curves).enumerate() {
        let color = COLORS[k % COLORS.len()];
        let label = match r.chosen {
            Some(c) => format!(
                "{} ({}): FRR {:.1}% at {:.2} FA/h",
                r.name,
                r.manifest.display(),
                100.0 * c.frr,
                c.fa_per_hour
            ),
            None => format!("{} ({})", r.name, r.manifest.display()),
        };
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        let p = r.at_cutoff;
        chart
            .draw_series(std::iter::once(Circle::new(
                (p.fa_per_hour, 100.0 * p.frr),
                5,
                color.filled(),
            )))
            .map_err(|e| err(&e))?;
        if let Some(c) = r.chosen {
            chart
                .draw_series(std::iter::once(Circle::new(
                    (c.fa_per_hour, 100.0 * c.frr),
                    7,
                    color.stroke_width(2),
                )))
                .map_err(|e| err(&e))?;
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
