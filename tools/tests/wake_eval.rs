//! `sotto wake-eval` on the shared clips: positives are the clips labelled with the model's
//! wake word in `clips.tsv` (temp folders of symlinks); the rates at the manifest cutoff must
//! agree with the detections in `expected.tsv`.

use sotto_testutil::read_tsv;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> Option<PathBuf> {
    sotto_testutil::shared_dir("reference/microwakeword")
}

/// Empty `pos/` and `neg/` folders under `dir`.
fn pos_neg_dirs(dir: &Path) -> (PathBuf, PathBuf) {
    let (pos, neg) = (dir.join("pos"), dir.join("neg"));
    std::fs::create_dir_all(&pos).unwrap();
    std::fs::create_dir_all(&neg).unwrap();
    (pos, neg)
}

/// Copies shared clips (file names under `root/clips`) into `dir`.
fn copy_clips(root: &Path, dir: &Path, clips: &[&str]) {
    for clip in clips {
        std::fs::copy(root.join("clips").join(clip), dir.join(clip)).unwrap();
    }
}

#[test]
fn rates_at_cutoff_match_expected_detections() {
    let Some(root) = root() else { return };
    let (label, model_id, manifest) = ("alexa", "v2_alexa", "models/v2/alexa.json");
    let tmp = tempfile::tempdir().unwrap();
    let (pos, neg) = pos_neg_dirs(tmp.path());
    let clips = read_tsv(&root.join("clips/clips.tsv"));
    let mut is_pos = HashMap::new();
    for c in &clips {
        let positive = c["label"] == label;
        let dir = if positive { &pos } else { &neg };
        std::os::unix::fs::symlink(root.join("clips").join(&c["clip"]), dir.join(&c["clip"]))
            .unwrap();
        is_pos.insert(c["clip"].trim_end_matches(".wav").to_string(), positive);
    }
    let (mut n_pos, mut missed, mut neg_detected) = (0, 0, 0);
    for r in read_tsv(&root.join("expected.tsv"))
        .iter()
        .filter(|r| r["model"] == model_id)
    {
        if is_pos[&r["clip"]] {
            n_pos += 1;
            missed += usize::from(r["detected"] == "no");
        } else {
            neg_detected += usize::from(r["detected"] == "yes");
        }
    }
    let svg = tmp.path().join("det.svg");
    let out = sotto_testutil::stdout_ok(
        Command::new(env!("CARGO_BIN_EXE_sotto"))
            .args(["wake-eval", "--json", "--max-fa-per-hour", "1000", "-m"])
            .arg(root.join(manifest))
            .arg("--positives")
            .arg(&pos)
            .arg("--negatives")
            .arg(&neg)
            .arg("--det")
            .arg(&svg),
    );
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["positives"].as_u64().unwrap() as usize, n_pos);
    assert_eq!(j["at_cutoff"]["missed"].as_u64().unwrap() as usize, missed);
    // Each detected negative clip gives at least one false accept.
    assert!(j["at_cutoff"]["false_accepts"].as_u64().unwrap() as usize >= neg_detected);
    let hours = j["negative_seconds"].as_f64().unwrap() / 3600.0;
    let fa = j["at_cutoff"]["false_accepts"].as_f64().unwrap();
    assert!((j["at_cutoff"]["fa_per_hour"].as_f64().unwrap() - fa / hours).abs() < 1e-9);
    // The chosen threshold meets the budget and is at least as good as the cutoff when the cutoff does.
    let chosen = &j["chosen"];
    assert!(chosen["fa_per_hour"].as_f64().unwrap() <= 1000.0);
    if j["at_cutoff"]["fa_per_hour"].as_f64().unwrap() <= 1000.0 {
        assert!(chosen["frr"].as_f64().unwrap() <= j["at_cutoff"]["frr"].as_f64().unwrap());
    }
    // The curve's change points: thresholds rise, misses rise and false accepts fall; the point
    // at the cutoff is the last change point at or below it.
    let curve = j["curve"].as_array().unwrap();
    assert!(!curve.is_empty());
    let pt = |k: usize| {
        let c = curve[k].as_array().unwrap();
        (
            c[0].as_f64().unwrap(),
            c[1].as_u64().unwrap(),
            c[2].as_u64().unwrap(),
        )
    };
    for k in 1..curve.len() {
        let (a, b) = (pt(k - 1), pt(k));
        assert!(a.0 < b.0 && a.1 <= b.1 && a.2 >= b.2 && (a.1, a.2) != (b.1, b.2));
    }
    let cutoff = j["cutoff"].as_f64().unwrap();
    let at = (0..curve.len()).rev().find(|&k| pt(k).0 <= cutoff).unwrap();
    assert_eq!(pt(at).1, j["at_cutoff"]["missed"].as_u64().unwrap());
    assert_eq!(pt(at).2, j["at_cutoff"]["false_accepts"].as_u64().unwrap());
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.starts_with("<svg") && text.contains("<polyline"),
        "not a DET plot"
    );
}

#[test]
fn empty_folder_is_an_error() {
    let Some(root) = root() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sotto"))
        .args(["wake-eval", "-m"])
        .arg(root.join("models/v2/alexa.json"))
        .arg("--positives")
        .arg(tmp.path())
        .arg("--negatives")
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "bad input exits 2");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no audio files"));
}

/// A bad file is reported with its name and left out, the others are still scored (exit 2);
/// too little negative audio for the requested false-accept rate is warned about.
#[test]
fn bad_files_are_skipped_and_short_negatives_warned() {
    let Some(root) = root() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (pos, neg) = pos_neg_dirs(tmp.path());
    copy_clips(&root, &pos, &["pmww_alexa_1.wav", "pmww_alexa_2.wav"]);
    copy_clips(&root, &neg, &["pmww_hey_jarvis_1.wav"]);
    std::fs::write(pos.join("broken.wav"), b"RIFF\x10\0\0\0WAVEjunk").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sotto"))
        .args(["wake-eval", "--json", "--max-fa-per-hour", "0.5", "-m"])
        .arg(root.join("models/v2/alexa.json"))
        .arg("--positives")
        .arg(&pos)
        .arg("--negatives")
        .arg(&neg)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["positives"], 2);
    assert!(stderr.contains("broken.wav"), "{stderr}");
    assert!(stderr.contains("1 of 4"), "{stderr}");
    assert!(stderr.contains("--max-fa-per-hour 0.5"), "{stderr}");
}

/// Several models in one run: one JSON report per model, each equal to that model's report
/// from a run of its own, and one DET plot with a curve per model.
#[test]
fn several_models_report_like_single_runs_and_share_one_plot() {
    let Some(root) = root() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (pos, neg) = pos_neg_dirs(tmp.path());
    copy_clips(&root, &pos, &["pmww_alexa_1.wav", "pmww_alexa_2.wav"]);
    copy_clips(
        &root,
        &neg,
        &["pmww_hey_jarvis_1.wav", "pmww_okay_nabu_1.wav"],
    );
    let models = [
        root.join("models/v2/alexa.json"),
        root.join("models/v2/hey_jarvis.json"),
    ];
    let run = |ms: &[&PathBuf], det: Option<&PathBuf>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sotto"));
        c.args(["wake-eval", "--json", "--max-fa-per-hour", "100"]);
        for m in ms {
            c.arg("-m").arg(m);
        }
        c.arg("--positives").arg(&pos).arg("--negatives").arg(&neg);
        if let Some(d) = det {
            c.arg("--det").arg(d);
        }
        sotto_testutil::stdout_ok(&mut c)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    let svg = tmp.path().join("both.svg");
    let both = run(&[&models[0], &models[1]], Some(&svg));
    assert_eq!(both.len(), 2);
    for (k, m) in models.iter().enumerate() {
        let single = run(&[m], None);
        let (mut a, mut b) = (both[k].clone(), single[0].clone());
        a["det"] = serde_json::Value::Null;
        b["det"] = serde_json::Value::Null;
        assert_eq!(a, b, "{}", m.display());
    }
    assert_ne!(both[0]["model"], both[1]["model"]);
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.matches("<polyline").count() >= 2,
        "one curve per model"
    );
}
