//! `sotto vad` end to end: segments equal upstream's goldens, probabilities per window, JSON,
//! resampled and raw input, bad files skipped with exit status 2, quiet on a closed pipe.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sotto(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sotto"))
        .arg("vad")
        .args(args)
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = sotto(args);
    assert!(
        out.status.success(),
        "sotto vad {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn clips() -> Option<PathBuf> {
    sotto_testutil::shared_dir("reference/microfrontend")
}

/// Default-parameter segments of a clip from the committed goldens, in samples at 16 kHz.
fn golden_segments(clip: &str) -> Vec<(u64, u64)> {
    let p = sotto_testutil::workspace_root().join(format!("models/tests/data/vad/{clip}.16k.json"));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    let set = &doc["segments"][0];
    assert_eq!(set["params"], serde_json::json!({}));
    set["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s[0].as_u64().unwrap(), s[1].as_u64().unwrap()))
        .collect()
}

#[test]
fn segments_equal_upstream() {
    let Some(dir) = clips() else { return };
    for clip in ["jfk", "speech", "silence", "cmu_arctic_aew_a0001"] {
        let f = dir.join(format!("{clip}.wav"));
        let f = f.to_str().unwrap();
        let want: Vec<String> = golden_segments(clip)
            .iter()
            .map(|&(a, b)| format!("{f}\t{:.3}\t{:.3}", a as f64 / 16000.0, b as f64 / 16000.0))
            .collect();
        let got: Vec<String> = ok(&[f]).lines().map(str::to_owned).collect();
        assert_eq!(got, want, "{clip}");
        // JSON carries exact samples.
        let json: Vec<(u64, u64)> = ok(&["--json", f])
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                assert_eq!(v["file"], f);
                assert_eq!(v["rate"], 16000);
                (
                    v["start_sample"].as_u64().unwrap(),
                    v["end_sample"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(json, golden_segments(clip), "{clip} --json");
    }
}

#[test]
fn probs_match_upstream_per_window() {
    let Some(dir) = clips() else { return };
    let f = dir.join("speech.wav");
    let out = ok(&["--probs", f.to_str().unwrap()]);
    let p = sotto_testutil::workspace_root().join("models/tests/data/vad/speech.16k.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    let want = doc["probs"].as_array().unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), want.len());
    for (i, (l, w)) in lines.iter().zip(want).enumerate() {
        let (t, p) = l.split_once('\t').unwrap();
        assert_eq!(t, format!("{:.4}", i as f64 * 0.032));
        let p: f64 = p.parse().unwrap();
        assert!(
            (p - w.as_f64().unwrap()).abs() < 2e-6,
            "window {i}: {p} vs {w}"
        );
    }
    // Several files: the file name first; JSON lines carry it too.
    let s = f.to_str().unwrap();
    let two = ok(&["--probs", s, s]);
    assert_eq!(two.lines().count(), 2 * want.len());
    assert!(two.lines().all(|l| l.starts_with(&format!("{s}\t"))));
    let j = ok(&["--probs", "--json", s]);
    let v: serde_json::Value = serde_json::from_str(j.lines().nth(1).unwrap()).unwrap();
    assert_eq!(v["time"], 0.032);
}

#[test]
fn other_rates_and_raw_pcm() {
    let Some(dir) = clips() else { return };
    let wav = dir.join("jfk.wav");
    let samples = sotto_testutil_read(&wav);
    let tmp = tempfile::tempdir().unwrap();
    // 44.1 kHz is resampled to 16 kHz: segments stay within a window of the 16 kHz ones.
    let resampled = tmp.path().join("jfk44.wav");
    let up: Vec<i16> = (0..samples.len() * 441 / 160)
        .map(|i| samples[(i * 160 / 441).min(samples.len() - 1)])
        .collect();
    sotto_testutil::write_wav(&resampled, 44100, 1, &up);
    let got = ok(&[resampled.to_str().unwrap()]);
    let want = golden_segments("jfk");
    assert_eq!(got.lines().count(), want.len(), "{got}");
    for (l, &(a, b)) in got.lines().zip(&want) {
        let f: Vec<f64> = l.split('\t').skip(1).map(|x| x.parse().unwrap()).collect();
        assert!(
            (f[0] - a as f64 / 16000.0).abs() < 0.07 && (f[1] - b as f64 / 16000.0).abs() < 0.07,
            "{l}"
        );
    }
    // Raw s16le on stdin gives exactly the WAV's segments.
    let pcm: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let out = sotto_testutil::output_with_stdin(
        Command::new(env!("CARGO_BIN_EXE_sotto")).args(["vad", "-"]),
        &pcm,
    );
    assert!(out.status.success());
    let raw: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split_once('\t').unwrap().1.to_owned())
        .collect();
    let file: Vec<String> = ok(&[wav.to_str().unwrap()])
        .lines()
        .map(|l| l.split_once('\t').unwrap().1.to_owned())
        .collect();
    assert_eq!(raw, file);
}

fn sotto_testutil_read(p: &Path) -> Vec<i16> {
    let b = std::fs::read(p).unwrap();
    let i = b.windows(4).position(|w| w == b"data").unwrap();
    b[i + 8..]
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect()
}

#[test]
fn bad_files_are_skipped_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let short = tmp.path().join("short.wav");
    sotto_testutil::write_wav(&short, 16000, 1, &[0; 300]);
    let junk = tmp.path().join("junk.wav");
    std::fs::write(&junk, b"not audio at all").unwrap();
    let good = tmp.path().join("tone.wav");
    sotto_testutil::write_tone_wav(&good, 2.0, 3);
    let out = sotto(&[
        short.to_str().unwrap(),
        junk.to_str().unwrap(),
        good.to_str().unwrap(),
        "--stats",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}: audio too short for voice activity detection",
            short.display()
        )),
        "{err}"
    );
    assert!(err.contains("junk.wav"), "{err}");
    assert!(err.contains("2 of 3 inputs failed"), "{err}");
    assert!(err.contains("sotto vad: 1 file(s)"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // Bad options are refused by name.
    let out = sotto(&["--threshold", "1.5", good.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1.5"));
    let out = sotto(&[
        "--vad-model",
        good.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tone.wav"));
}

#[test]
fn closed_pipe_is_quiet() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("tone.wav");
    sotto_testutil::write_tone_wav(&f, 60.0, 1);
    let bin = env!("CARGO_BIN_EXE_sotto");
    let pipeline = format!(
        "{bin} vad --probs {} 2>&1 | head -n 1 >/dev/null; echo rc=${{PIPESTATUS[0]}}",
        f.display()
    );
    let out = Command::new("bash")
        .args(["-c", &pipeline])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // 141: killed by SIGPIPE (default disposition, as `head` expects); never an error message.
    assert!(text.contains("rc=0") || text.contains("rc=141"), "{text}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn help_describes_the_output() {
    let out = Command::new(env!("CARGO_BIN_EXE_sotto"))
        .args(["vad", "--help"])
        .output()
        .unwrap();
    let h = String::from_utf8(out.stdout).unwrap();
    for w in [
        "--probs",
        "--json",
        "--threshold",
        "--min-silence-ms",
        "--speech-pad-ms",
        "--vad-model",
    ] {
        assert!(h.contains(w), "{w}: {h}");
    }
}

/// jfk.wav, 3 s of silence, speech.wav, 2 s of silence (16 kHz), repeated `times`.
fn speech_with_pauses(dir: &Path, path: &Path, times: usize) -> Vec<i16> {
    let jfk = sotto_testutil_read(&dir.join("jfk.wav"));
    let speech = sotto_testutil_read(&dir.join("speech.wav"));
    let mut one = jfk;
    one.extend(std::iter::repeat_n(0i16, 48000));
    one.extend(speech);
    one.extend(std::iter::repeat_n(0i16, 32000));
    let all: Vec<i16> = std::iter::repeat_n(one, times).flatten().collect();
    sotto_testutil::write_wav(path, 16000, 1, &all);
    all
}

/// `(start_s, end_s)` of `sotto vad` on a file.
fn vad_segments(f: &str) -> Vec<(f64, f64)> {
    ok(&[f])
        .lines()
        .map(|l| {
            let v: Vec<&str> = l.split('\t').collect();
            (v[1].parse().unwrap(), v[2].parse().unwrap())
        })
        .collect()
}

fn shipped_model() -> Option<PathBuf> {
    sotto_testutil::existing(
        sotto_testutil::workspace_root().join("models/zoo/sotto-en-int8.safetensors"),
    )
}

#[test]
fn transcribe_vad_transcribes_the_segments() {
    let (Some(dir), Some(model)) = (clips(), shipped_model()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("pauses.wav");
    speech_with_pauses(&dir, &f, 1);
    let fs = f.to_str().unwrap();
    let segs = vad_segments(fs);
    assert!(segs.len() >= 4, "{segs:?}");
    let out = Command::new(env!("CARGO_BIN_EXE_sotto"))
        .args([
            "transcribe",
            "--vad",
            "--json",
            "--beam",
            "1",
            "--jobs",
            "2",
            "-m",
        ])
        .arg(&model)
        .arg(fs)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!("--vad: {} segment(s)", segs.len())),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["segments"], segs.len());
    let words = v["words"].as_array().unwrap();
    assert!(!words.is_empty(), "{v}");
    // Every word lies inside a speech segment: the silence was never transcribed.
    for w in words {
        let (s, e) = (w["start"].as_f64().unwrap(), w["end"].as_f64().unwrap());
        assert!(
            segs.iter().any(|&(a, b)| s >= a - 0.01 && e <= b + 0.05),
            "word {w} outside {segs:?}"
        );
    }
    // Word times increase across segments (joined in order).
    let starts: Vec<f64> = words.iter().map(|w| w["start"].as_f64().unwrap()).collect();
    assert!(starts.windows(2).all(|p| p[0] <= p[1]), "{starts:?}");
}

#[test]
fn caption_vad_gives_only_speech_to_the_recognizer() {
    let (Some(dir), Some(model)) = (clips(), shipped_model()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("pauses.wav");
    speech_with_pauses(&dir, &f, 1);
    let fs = f.to_str().unwrap();
    let segs = vad_segments(fs);
    let speech: f64 = segs.iter().map(|(a, b)| b - a).sum();
    let run = |vad: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sotto"));
        c.args(["caption", "--stats", "--timestamps", "--beam", "1", "-m"])
            .arg(&model);
        if vad {
            c.arg("--vad");
        }
        let out = c.args(["--input", fs]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{err}");
        let re = err.split("audio, ").nth(1).unwrap();
        let fed: f64 = re.split(' ').next().unwrap().parse().unwrap();
        (String::from_utf8(out.stdout).unwrap(), fed)
    };
    let (lines, fed) = run(true);
    // The recognizer hears the segments (plus at most the silence before a segment's end is
    // certain), never the pauses.
    assert!(
        fed >= speech - 0.1 && fed <= speech + 0.25 * segs.len() as f64,
        "fed {fed} s, speech {speech} s"
    );
    let (_, fed_all) = run(false);
    assert!(fed_all > fed + 4.0, "{fed_all} vs {fed}");
    // Committed lines lie inside segments.
    for l in lines.lines() {
        let ts = l.trim_start_matches('[').split(']').next().unwrap();
        let (a, b) = ts.split_once('-').unwrap();
        let (a, b): (f64, f64) = (a.parse().unwrap(), b.parse().unwrap());
        assert!(
            segs.iter().any(|&(s, e)| a >= s - 0.01 && b <= e + 0.05),
            "{l} outside {segs:?}"
        );
    }
}

#[test]
// wait4 reaps the child (clippy cannot see it).
#[allow(clippy::zombie_processes)]
fn transcribe_vad_memory_stays_flat() {
    use std::os::unix::process::ExitStatusExt;
    let (Some(dir), Some(model)) = (clips(), sotto_testutil::tiny_model()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let peak = |f: &Path| {
        let child = Command::new(env!("CARGO_BIN_EXE_sotto"))
            .args(["transcribe", "--vad", "--beam", "1", "--jobs", "1", "-m"])
            .arg(&model)
            .arg(f)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut status = 0;
        // SAFETY: rusage is plain data filled by wait4 for our own child.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
        assert_eq!(pid, child.id() as i32);
        assert!(std::process::ExitStatus::from_raw(status).success());
        usage.ru_maxrss
    };
    let (short, long) = (tmp.path().join("short.wav"), tmp.path().join("long.wav"));
    speech_with_pauses(&dir, &short, 3); // ≈ 1 min
    speech_with_pauses(&dir, &long, 30); // ≈ 10 min
    let (a, b) = (peak(&short), peak(&long));
    eprintln!("transcribe --vad: peak RSS 1 min {a} KiB, 10 min {b} KiB");
    // Holding the file would add ≈ 540 s × 64 KB (f32 at 16 kHz) ≈ 35 MB.
    assert!(b - a < 8 * 1024, "{a} KiB -> {b} KiB");
}
