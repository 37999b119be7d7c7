//! `sotto transcribe` end to end with the tiny random-weight model of the parity tests:
//! output format, order, error handling and that the WER summary adds up.

use sotto_testutil::{tiny_model, write_tone_wav};
use std::path::Path;
use std::process::{Command, Output};

fn sotto(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sotto"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

/// Runs `sotto` in `cwd`, asserts success and returns its stdout.
fn sotto_ok(args: &[&str], cwd: &Path) -> String {
    let out = sotto(args, cwd);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Parse `WER <pct>% (<errors>/<ref words>; sub <s> del <d> ins <i>) RTF <rtf> wall-RTF <w>`
/// (the RTF returned is the compute one).
fn parse_summary(line: &str) -> (f64, [usize; 5], f64) {
    let (line, wall) = line.rsplit_once(" wall-RTF ").expect("wall-clock RTF too");
    let wall: f64 = wall.parse().unwrap();
    assert!(wall > 0.0 && wall.is_finite(), "{line}");
    let rest = line
        .strip_prefix("WER ")
        .expect("summary starts with `WER `");
    let (pct, rest) = rest.split_once("% (").unwrap();
    let (errors, rest) = rest.split_once('/').unwrap();
    let (refw, rest) = rest.split_once("; sub ").unwrap();
    let (sub, rest) = rest.split_once(" del ").unwrap();
    let (del, rest) = rest.split_once(" ins ").unwrap();
    let (ins, rtf) = rest.split_once(") RTF ").unwrap();
    let pct_decimals = pct.split_once('.').map(|(_, d)| d.len());
    assert_eq!(pct_decimals, Some(2), "percentage has two decimals: {line}");
    let n = |s: &str| s.parse::<usize>().unwrap();
    (
        pct.parse().unwrap(),
        [n(errors), n(refw), n(sub), n(del), n(ins)],
        rtf.parse().unwrap(),
    )
}

#[test]
fn transcribes_in_order_and_wer_adds_up() {
    let Some(model) = tiny_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let refs = [
        ("a.wav", "HELLO WORLD"),
        ("sub/b.wav", "the quick brown fox"),
        ("c.wav", "one two three four five"),
    ];
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    for (i, (f, _)) in refs.iter().enumerate() {
        write_tone_wav(&dir.path().join(f), 0.8 + 0.3 * i as f32, i as u32);
    }
    let tsv: String = refs.iter().map(|(f, r)| format!("{f}\t{r}\n")).collect();
    std::fs::write(dir.path().join("refs.tsv"), tsv).unwrap();

    // No FILES: the refs' files are transcribed, in the refs' order.
    let stdout = sotto_ok(
        &[
            "transcribe",
            "--model",
            model.to_str().unwrap(),
            "--ref",
            "refs.tsv",
            "--jobs",
            "2",
        ],
        dir.path(),
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), refs.len() + 1, "{stdout}");
    let mut want = sotto_asr::wer::WerStats::default();
    for ((f, r), line) in refs.iter().zip(&lines) {
        let (file, text) = line.split_once('\t').expect("file<TAB>text");
        assert!(file.ends_with(f), "{file} should be {f}");
        want += sotto_asr::wer::score(r, text);
    }
    let (pct, [errors, refw, sub, del, ins], rtf) = parse_summary(lines[refs.len()]);
    assert_eq!(errors, sub + del + ins);
    assert_eq!(refw, 2 + 4 + 5);
    assert_eq!(
        (sub, del, ins),
        (want.substitutions, want.deletions, want.insertions)
    );
    assert!((pct - 100.0 * errors as f64 / refw as f64).abs() < 0.006);
    assert!(rtf > 0.0 && rtf.is_finite());
}

#[test]
fn unreadable_files_are_reported_but_others_still_transcribed() {
    let Some(model) = tiny_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    write_tone_wav(&dir.path().join("good1.wav"), 0.5, 1);
    std::fs::write(dir.path().join("broken.wav"), b"RIFF\x10\0\0\0WAVEjunk").unwrap();
    write_tone_wav(&dir.path().join("good2.wav"), 0.5, 2);
    let args = [
        "transcribe",
        "-m",
        model.to_str().unwrap(),
        "good1.wav",
        "missing.wav",
        "broken.wav",
        "good2.wav",
    ];
    let out = sotto(&args, dir.path());
    assert_eq!(out.status.code(), Some(2), "bad input exits 2");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let files: Vec<&str> = stdout
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(files, ["good1.wav", "good2.wav"]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("missing.wav") && stderr.contains("broken.wav"),
        "{stderr}"
    );
    assert!(stderr.contains("2 of 4"), "{stderr}");
}

#[test]
fn json_lines_and_folder_input() {
    let Some(model) = tiny_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("in/deep")).unwrap();
    write_tone_wav(&dir.path().join("in/z.wav"), 1.0, 3);
    write_tone_wav(&dir.path().join("in/deep/a.wav"), 1.0, 4);
    std::fs::write(dir.path().join("in/notes.txt"), "not audio").unwrap();
    let stdout = sotto_ok(
        &[
            "transcribe",
            "-m",
            model.to_str().unwrap(),
            "--json",
            "--beam",
            "1",
            "in",
        ],
        dir.path(),
    );
    let docs: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let files: Vec<&str> = docs.iter().map(|d| d["file"].as_str().unwrap()).collect();
    assert_eq!(files, ["in/deep/a.wav", "in/z.wav"]);
    for d in &docs {
        assert!((d["duration"].as_f64().unwrap() - 1.0).abs() < 1e-6);
        let words = d["words"].as_array().unwrap();
        let joined: Vec<&str> = words.iter().map(|w| w["word"].as_str().unwrap()).collect();
        assert_eq!(d["text"].as_str().unwrap(), joined.join(" "));
        for w in words {
            assert!(w["start"].as_f64().unwrap() <= w["end"].as_f64().unwrap());
        }
    }
}

#[test]
fn missing_model_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    write_tone_wav(&dir.path().join("a.wav"), 0.2, 1);
    let out = sotto(
        &[
            "transcribe",
            "--model",
            "no-such-model.safetensors",
            "a.wav",
        ],
        dir.path(),
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("no-such-model.safetensors") && stderr.contains("not found"),
        "{stderr}"
    );
}

/// `--json --ref` ends with one JSON object (not a text line) with the WER numbers and both
/// real-time factors.
#[test]
fn json_summary_is_an_object() {
    let Some(model) = tiny_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    write_tone_wav(&dir.path().join("a.wav"), 0.8, 1);
    write_tone_wav(&dir.path().join("b.wav"), 0.6, 2);
    std::fs::write(
        dir.path().join("refs.tsv"),
        "a.wav\tHELLO THERE\nb.wav\tWORLD\n",
    )
    .unwrap();
    let m = model.to_str().unwrap();
    let stdout = sotto_ok(
        &[
            "transcribe",
            "-m",
            m,
            "--beam",
            "1",
            "--json",
            "--ref",
            "refs.tsv",
        ],
        dir.path(),
    );
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    let s = &lines[2];
    assert_eq!(s["ref_words"], 3);
    let errors = s["errors"].as_u64().unwrap();
    assert_eq!(
        errors,
        s["substitutions"].as_u64().unwrap()
            + s["deletions"].as_u64().unwrap()
            + s["insertions"].as_u64().unwrap()
    );
    assert!((s["wer"].as_f64().unwrap() - 100.0 * errors as f64 / 3.0).abs() < 1e-3);
    assert!(s["rtf"].as_f64().unwrap() > 0.0 && s["wall_rtf"].as_f64().unwrap() > 0.0);
    assert_eq!(s["files"], 2);
    assert!((s["audio_seconds"].as_f64().unwrap() - 1.4).abs() < 1e-3);
}

/// References with no words cannot give a WER: `n/a`, never `0.00% (11/0 …)`.
#[test]
fn empty_references_give_no_wer() {
    let Some(model) = tiny_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    write_tone_wav(&dir.path().join("a.wav"), 1.0, 1);
    std::fs::write(dir.path().join("refs.tsv"), "a.wav\t\n").unwrap();
    let m = model.to_str().unwrap();
    let out = sotto(
        &["transcribe", "-m", m, "--beam", "1", "--ref", "refs.tsv"],
        dir.path(),
    );
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let last = stdout.lines().last().unwrap();
    assert!(last.starts_with("WER n/a ("), "{last}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no words"));
    let stdout = sotto_ok(
        &[
            "transcribe",
            "-m",
            m,
            "--beam",
            "1",
            "--json",
            "--ref",
            "refs.tsv",
        ],
        dir.path(),
    );
    let s: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert!(s["wer"].is_null(), "{s}");
}

/// A header row or a line with extra columns would be mis-scored silently: rejected, naming
/// the line.
#[test]
fn malformed_references_name_the_line() {
    let Some(model) = tiny_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    write_tone_wav(&dir.path().join("a.wav"), 0.5, 1);
    let m = model.to_str().unwrap();
    for (tsv, line, what) in [
        ("path\ttext\na.wav\tHELLO\n", "refs.tsv:1", "header"),
        (
            "a.wav\tHELLO\n\na.wav\tHELLO\t0.93\n",
            "refs.tsv:3",
            "3 tab-separated",
        ),
        ("a.wav HELLO\n", "refs.tsv:1", "1 tab-separated"),
    ] {
        std::fs::write(dir.path().join("refs.tsv"), tsv).unwrap();
        let out = sotto(&["transcribe", "-m", m, "--ref", "refs.tsv"], dir.path());
        let e = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{e}");
        assert!(e.contains(line) && e.contains(what), "{tsv:?}: {e}");
        assert!(out.stdout.is_empty());
    }
}

/// `--alternatives N` lists up to N distinct texts, best first, the final text among them
/// (with the default minimum-Bayes-risk choice too); it needs `--json`.
#[test]
fn alternatives_in_json() {
    let Some(model) = tiny_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    write_tone_wav(&dir.path().join("a.wav"), 1.5, 5);
    let m = model.to_str().unwrap();
    for extra in [&[][..], &["--mbr-scale", "0"][..]] {
        let mut args = vec![
            "transcribe",
            "-m",
            m,
            "--no-lm",
            "--beam",
            "8",
            "--json",
            "--alternatives",
            "3",
        ];
        args.extend_from_slice(extra);
        args.push("a.wav");
        let stdout = sotto_ok(&args, dir.path());
        let d: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
        let alts = d["alternatives"].as_array().expect("alternatives listed");
        assert!((1..=3).contains(&alts.len()), "{d}");
        let texts: Vec<&str> = alts.iter().map(|a| a["text"].as_str().unwrap()).collect();
        assert!(texts.contains(&d["text"].as_str().unwrap()), "{d}");
        let scores: Vec<f64> = alts.iter().map(|a| a["score"].as_f64().unwrap()).collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    }
    let out = sotto(
        &["transcribe", "-m", m, "--alternatives", "3", "a.wav"],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--json"));
}
