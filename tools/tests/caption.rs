//! `sotto caption --input FILE` end to end with the tiny parity model: committed lines,
//! endpoint segmentation, JSON, pseudo-terminal redraw, and the no-device error.

use sotto_testutil::{output_with_stdin, tiny_model, write_tone_wav};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn caption(model: &Path, wav: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sotto"))
        .args([
            "caption",
            "--model",
            model.to_str().unwrap(),
            "--input",
            wav.to_str().unwrap(),
            "--beam",
            "1",
        ])
        .args(extra)
        .output()
        .unwrap()
}

/// With a 1 s segment limit, a 3.5 s file is committed as several lines whose timestamps
/// follow each other; their words are exactly those of the JSON run.
#[test]
fn file_input_commits_a_line_per_segment() {
    let Some(model) = tiny_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("speech.wav");
    write_tone_wav(&wav, 3.5, 0);
    let out = caption(&model, &wav, &["--max-utterance", "1", "--timestamps"]);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        !stdout.contains('\r'),
        "no redraw when stdout is not a terminal"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.len() >= 3, "1 s segments of 3.5 s of audio: {stdout}");
    let mut last_end = 0.0;
    for l in &lines {
        let (ts, text) = l.split_once("] ").expect("[start-end] text");
        let (s, e) = ts.trim_start_matches('[').split_once('-').unwrap();
        let (s, e): (f64, f64) = (s.parse().unwrap(), e.parse().unwrap());
        assert!(last_end <= s + 1e-9 && s <= e && e <= 3.5, "{l}");
        assert!(!text.is_empty());
        last_end = e;
    }

    let json = caption(&model, &wav, &["--max-utterance", "1", "--json"]);
    assert!(json.status.success());
    let finals: Vec<serde_json::Value> = String::from_utf8(json.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|d| d["final"] == true)
        .collect();
    let texts: Vec<&str> = finals.iter().map(|d| d["text"].as_str().unwrap()).collect();
    let plain: Vec<&str> = lines
        .iter()
        .map(|l| l.split_once("] ").unwrap().1)
        .collect();
    assert_eq!(texts, plain);
}

#[test]
fn realtime_pacing_takes_about_the_audio_duration() {
    let Some(model) = tiny_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("short.wav");
    write_tone_wav(&wav, 1.0, 0);
    let t = Instant::now();
    let out = caption(&model, &wav, &["--realtime"]);
    assert!(out.status.success());
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );
}

/// Under a pseudo-terminal (`script`), partial results are redrawn in place.
#[test]
fn terminal_output_redraws_the_partial_line() {
    let Some(model) = tiny_model() else { return };
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipping: `script` not available");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("speech.wav");
    write_tone_wav(&wav, 2.0, 0);
    let cmd = format!(
        "{} caption --model {} --input {} --beam 1",
        env!("CARGO_BIN_EXE_sotto"),
        model.display(),
        wav.display()
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let tty = String::from_utf8_lossy(&out.stdout);
    assert!(
        tty.contains("\r\x1b[2K"),
        "partial line redraw expected: {tty:?}"
    );
    assert!(tty.ends_with('\n'), "the last line is committed: {tty:?}");
}

#[test]
fn bad_inputs_are_clear_errors() {
    let Some(model) = tiny_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = caption(&model, &dir.path().join("absent.wav"), &[]);
    assert_eq!(out.status.code(), Some(2), "bad input exits 2");
    assert!(String::from_utf8_lossy(&out.stderr).contains("absent.wav"));

    // Microphone: on a machine without an input device this must exit 2 with a clear message.
    let mut child = Command::new(env!("CARGO_BIN_EXE_sotto"))
        .args(["caption", "--model", model.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            if out.status.code() == Some(2) {
                assert!(stderr.contains("input device"), "{stderr}");
            }
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // A real microphone is listening: that is fine too.
    child.kill().ok();
    child.wait().ok();
}

/// Raw PCM on stdin (`--input -`) goes through the same path as the file.
#[test]
fn stdin_pcm_equals_file_input() {
    let Some(model) = tiny_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("speech.wav");
    write_tone_wav(&wav, 2.5, 0);
    let from_file = caption(&model, &wav, &["--max-utterance", "1"]);
    let pcm = std::fs::read(&wav).unwrap()[44..].to_vec();
    let out = output_with_stdin(
        Command::new(env!("CARGO_BIN_EXE_sotto")).args([
            "caption",
            "--model",
            model.to_str().unwrap(),
            "--input",
            "-",
            "--beam",
            "1",
            "--max-utterance",
            "1",
        ]),
        &pcm,
    );
    assert!(out.status.success());
    assert!(!from_file.stdout.is_empty());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(from_file.stdout).unwrap()
    );
}

/// A partial line wider than the terminal would wrap and the redraw (`\r` + clear line) would
/// leave the wrapped rows on screen: only its tail is shown, within the width.
#[test]
fn partial_lines_fit_the_terminal() {
    let Some(model) = tiny_model() else { return };
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipping: `script` not available");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("speech.wav");
    write_tone_wav(&wav, 6.0, 0);
    let cmd = format!(
        "{} caption --model {} --input {} --beam 1",
        env!("CARGO_BIN_EXE_sotto"),
        model.display(),
        wav.display()
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("COLUMNS", "24")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    let tty = String::from_utf8_lossy(&out.stdout);
    // Redraws are the pieces after a clear-line that no newline ends (those are committed
    // lines, which may wrap like any output).
    let redraws: Vec<&str> = tty
        .split("\r\x1b[2K")
        .skip(1)
        .filter(|s| !s.contains('\n'))
        .map(|s| s.trim_end_matches('\r'))
        .filter(|s| !s.is_empty())
        .collect();
    assert!(!redraws.is_empty(), "{tty:?}");
    for r in &redraws {
        assert!(r.chars().count() <= 23, "wider than the terminal: {r:?}");
    }
    assert!(
        redraws.iter().any(|r| r.starts_with('…')),
        "a long partial is cut at the front: {tty:?}"
    );
}
