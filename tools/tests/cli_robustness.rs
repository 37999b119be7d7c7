//! What a new user and a hostile tester run into first: exit codes, broken pipes, error text,
//! option validation, bounded options, memory that stays flat for long files, Opus input, an
//! installed binary that finds its model, and a build without the microphone.

use sotto_testutil::{tiny_model, write_tone_wav, write_wav};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sotto(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sotto"))
        .args(args)
        .current_dir(cwd)
        .env_remove("SOTTO_MODEL")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn frontend_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../frontend/tests/data")
        .join(name)
}

fn no_panic(o: &Output) {
    let e = stderr(o);
    assert!(!e.contains("panicked"), "{e}");
    assert_ne!(o.status.code(), Some(101), "{e}");
}

/// `--beam 100000` once asked for a 261 GB allocation and aborted: now a clean error.
#[test]
fn huge_beam_is_a_clean_error() {
    let Some(model) = tiny_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    write_tone_wav(&dir.path().join("a.wav"), 0.5, 1);
    let m = model.to_str().unwrap();
    for cmd in [
        vec!["transcribe", "-m", m, "--beam", "100000", "a.wav"],
        vec!["caption", "-m", m, "--beam", "100000", "--input", "a.wav"],
    ] {
        let out = sotto(&cmd, dir.path());
        no_panic(&out);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("beam"), "{}", stderr(&out));
    }
}

/// Exit status 2 for bad input everywhere (README): unreadable files, missing models, bad
/// option values.
#[test]
fn bad_input_exits_2_everywhere() {
    let Some(model) = tiny_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let m = model.to_str().unwrap();
    for cmd in [
        vec!["transcribe", "-m", m, "missing.wav"],
        vec!["transcribe", "-m", "missing.safetensors", "missing.wav"],
        vec!["caption", "-m", m, "--input", "missing.wav"],
        vec!["wake", "-m", "missing.json", "missing.wav"],
        vec!["features", "missing.wav", "-o", "x.npy"],
        vec!["info", "missing.safetensors"],
        vec!["transcribe", "-m", m, "--beam", "many", "a.wav"],
    ] {
        let out = sotto(&cmd, dir.path());
        no_panic(&out);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {}", stderr(&out));
    }
}

/// `… | head` closes stdout early: the process ends quietly (0, or killed by SIGPIPE as any
/// filter), never with a panic.
#[test]
fn broken_pipe_is_quiet() {
    let Some(model) = tiny_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    write_tone_wav(&dir.path().join("long.wav"), 60.0, 3);
    for f in 0..40 {
        write_tone_wav(&dir.path().join(format!("f{f:02}.wav")), 0.2, f);
    }
    let bin = env!("CARGO_BIN_EXE_sotto");
    let m = model.display();
    for pipeline in [
        // 1.9 MB of features into a pipe that takes 10 bytes.
        format!("{bin} features long.wav -o /dev/stdout 2>&1 | head -c 10 >/dev/null"),
        format!("{bin} transcribe -m {m} --beam 1 --jobs 1 . 2>&1 | head -n 1 >/dev/null"),
        format!("{bin} caption -m {m} --beam 1 --input long.wav --max-utterance 0.2 2>&1 | head -n 1 >/dev/null"),
    ] {
        let out = Command::new("bash")
            .args(["-c", &format!("{pipeline}; echo rc=${{PIPESTATUS[0]}}")])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("rc=0") || text.contains("rc=141"),
            "{pipeline}: {text} {}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    }
}

/// Each cause is said once: no `(os error 2): No such file…` repeats, no doubled file names.
#[test]
fn errors_say_each_thing_once() {
    let Some(model) = tiny_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = sotto(
        &["transcribe", "-m", model.to_str().unwrap(), "missing.wav"],
        dir.path(),
    );
    let e = stderr(&out);
    assert_eq!(e.matches("os error 2").count(), 1, "{e}");
    assert_eq!(e.matches("No such file").count(), 1, "{e}");
    let out = sotto(
        &[
            "caption",
            "-m",
            model.to_str().unwrap(),
            "--input",
            "missing.wav",
        ],
        dir.path(),
    );
    let e = stderr(&out);
    assert_eq!(e.matches("missing.wav").count(), 1, "{e}");
    assert_eq!(e.matches("No such file").count(), 1, "{e}");

    // A TFLite file the verifier rejects: one line, the reason once.
    std::fs::write(
        dir.path().join("bad.tflite"),
        b"\x18\0\0\0TFL3junkjunkjunkjunkjunk",
    )
    .unwrap();
    write_tone_wav(&dir.path().join("a.wav"), 0.5, 1);
    let out = sotto(&["wake", "-m", "bad.tflite", "a.wav"], dir.path());
    let e = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    assert_eq!(e.matches("bad.tflite").count(), 1, "{e}");

    // A truncated model file: words, not the parser's enum names.
    let bytes = std::fs::read(&model).unwrap();
    std::fs::write(
        dir.path().join("cut.safetensors"),
        &bytes[..bytes.len() / 2],
    )
    .unwrap();
    let out = sotto(&["info", "cut.safetensors"], dir.path());
    let e = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(
        e.contains("cut.safetensors") && e.contains("truncated"),
        "{e}"
    );
    assert!(
        !e.contains("MetadataIncompleteBuffer") && !e.contains("InvalidHeader"),
        "{e}"
    );
}

/// Values that cannot mean anything are refused, naming the option.
#[test]
fn option_values_are_validated() {
    let Some(model) = tiny_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    write_tone_wav(&dir.path().join("a.wav"), 0.5, 1);
    let m = model.to_str().unwrap();
    for (cmd, name) in [
        (
            vec!["wake", "-m", "x.json", "--refractory", "-1", "a.wav"],
            "--refractory",
        ),
        (
            vec!["wake", "-m", "x.json", "--refractory", "NaN", "a.wav"],
            "--refractory",
        ),
        (
            vec!["wake", "-m", "x.json", "--cutoff", "1.5", "a.wav"],
            "--cutoff",
        ),
        (
            vec![
                "wake-eval",
                "-m",
                "x.json",
                "--positives",
                ".",
                "--negatives",
                ".",
                "--refractory",
                "nan",
            ],
            "--refractory",
        ),
        (
            vec![
                "features",
                "a.wav",
                "-o",
                "x.npy",
                "--use-energy",
                "--energy-floor",
                "NaN",
            ],
            "--energy-floor",
        ),
        (
            vec![
                "caption",
                "-m",
                m,
                "--input",
                "a.wav",
                "--max-utterance",
                "0",
            ],
            "--max-utterance",
        ),
    ] {
        let out = sotto(&cmd, dir.path());
        let e = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {e}");
        assert!(e.contains(name), "{cmd:?} should name {name}: {e}");
    }
    // A folder as the model, and an empty $SOTTO_MODEL.
    let out = sotto(&["transcribe", "-m", ".", "a.wav"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("folder"), "{}", stderr(&out));
    let out = Command::new(env!("CARGO_BIN_EXE_sotto"))
        .args(["transcribe", "a.wav"])
        .current_dir(dir.path())
        .env("SOTTO_MODEL", "")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("SOTTO_MODEL"), "{}", stderr(&out));
    let out = sotto(&["info", "."], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("folder"), "{}", stderr(&out));
}

/// `quantize IN DIR/` once wrote a 7 MB temporary file next to DIR and left it: now refused
/// before any work.
#[test]
fn quantize_into_a_folder_is_refused_up_front() {
    let Some(model) = tiny_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    for target in ["out/", "out", "nowhere/x.safetensors"] {
        let out = sotto(&["quantize", model.to_str().unwrap(), target], dir.path());
        assert_eq!(out.status.code(), Some(2), "{target}: {}", stderr(&out));
    }
    let left: Vec<_> = walk(dir.path());
    assert_eq!(left, vec![dir.path().join("out")], "nothing written");
    // And it still works into a file.
    let out = sotto(
        &["quantize", model.to_str().unwrap(), "out/q.safetensors"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let left: Vec<_> = walk(&dir.path().join("out"));
    assert_eq!(left, vec![dir.path().join("out/q.safetensors")]);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// Help texts say what the commands really do.
#[test]
fn help_texts() {
    let dir = tempfile::tempdir().unwrap();
    // Whitespace collapsed: clap wraps option texts at a width that depends on the longest
    // option name, so a phrase may be split over lines.
    let help = |args: &[&str]| {
        let out = String::from_utf8(sotto(args, dir.path()).stdout).unwrap();
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let boost = sotto_asr::recognizer::RecognizerConfig::new("m").hotword_boost;
    let t = help(&["transcribe", "--help"]);
    assert!(t.contains(&format!("default boost {boost}")), "{t}");
    assert!(t.contains("wall-RTF") && t.contains("compute time"), "{t}");
    // The beam's default is written by hand (it depends on --ctc): it must name the constants.
    let beams = format!(
        "[default: {}; {} with --ctc]",
        sotto_asr::recognizer::DEFAULT_BEAM,
        sotto_asr::recognizer::DEFAULT_CTC_BEAM
    );
    assert!(t.contains(&beams), "{beams} not in: {t}");
    let w = help(&["wake-eval", "--help"]);
    assert!(w.contains(".tflite"), "{w}");
    let top = String::from_utf8(sotto(&["--help"], dir.path()).stdout).unwrap();
    let line = top
        .lines()
        .find(|l| l.trim_start().starts_with("caption"))
        .unwrap();
    assert!(!line.contains("real-time pace"), "{line}");
    let c = help(&["caption", "--help"]);
    assert!(c.contains("Not used for files"), "{c}");
    let k = help(&["wake", "--help"]);
    assert!(k.contains("folders searched recursively"), "{k}");
}

/// Without the `mic` feature (the default build), asking for the microphone says how to get
/// it.
#[cfg(not(feature = "mic"))]
#[test]
fn build_without_mic_says_to_rebuild() {
    let Some(model) = tiny_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = sotto(&["caption", "-m", model.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--features mic"), "{}", stderr(&out));
}

/// With the `mic` feature on a machine without a sound card: one line from sotto, none from
/// ALSA.
#[cfg(feature = "mic")]
#[test]
fn no_device_is_one_clean_line() {
    let Some(model) = tiny_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sotto"))
        .args(["caption", "-m", model.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .current_dir(dir.path())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(20) {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            let e = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{e}");
            assert!(!e.contains("ALSA lib"), "{e}");
            assert_eq!(e.trim_end().lines().count(), 1, "{e}");
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    eprintln!("skipping: this machine has an input device");
    child.kill().ok();
}

/// An installed binary (copied away from the build tree, as `cargo install` does) still finds
/// the shipped model: the checkout's `models/zoo` is compiled in.
#[test]
fn installed_binary_finds_the_default_model() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let Some(_) = sotto_testutil::existing(root.join("models/zoo/sotto-en-int8.safetensors"))
    else {
        return;
    };
    let bin_dir = tempfile::tempdir().unwrap();
    let bin = bin_dir.path().join("sotto");
    std::fs::copy(env!("CARGO_BIN_EXE_sotto"), &bin).unwrap();
    // Another test thread that forks while `copy` still holds the new file open for writing
    // keeps that descriptor until its child execs, and exec of a file open for writing fails
    // with ETXTBSY ("Text file busy"); that window is short, so try again for a while.
    let mut tries = 0;
    let out = loop {
        match Command::new(&bin)
            .args(["transcribe", "--beam", "1"])
            .arg(root.join("examples/audio/fox.wav"))
            .current_dir(bin_dir.path())
            .env_remove("SOTTO_MODEL")
            .output()
        {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => break other.unwrap(),
        }
    };
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("fox.wav\t"));
}

/// Ogg Opus through the CLI (the fixture, and the shared corpus when present).
#[test]
fn transcribe_reads_opus() {
    let Some(model) = tiny_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        frontend_data("tone440_stereo.opus"),
        dir.path().join("a.opus"),
    )
    .unwrap();
    let mut files = vec!["a.opus".to_string()];
    if let Some(corpus) = sotto_testutil::shared_dir("corpus/audio/librispeech") {
        files.push(
            sotto_testutil::files_with_ext(&corpus, "opus")[0]
                .display()
                .to_string(),
        );
    }
    let mut args = vec![
        "transcribe",
        "-m",
        model.to_str().unwrap(),
        "--json",
        "--beam",
        "1",
    ];
    args.extend(files.iter().map(String::as_str));
    let out = sotto(&args, dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let docs: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), files.len());
    assert!(
        (docs[0]["duration"].as_f64().unwrap() - 0.2).abs() < 1e-6,
        "{}",
        docs[0]
    );
}

/// A WAV written through a pipe (data length 0xFFFFFFFF) is read to its end.
#[test]
fn transcribe_reads_a_piped_wav() {
    let Some(model) = tiny_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("piped.wav");
    write_wav(&p, 16000, 1, &vec![1000i16; 24000]);
    let mut b = std::fs::read(&p).unwrap();
    b[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    b[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&p, b).unwrap();
    let out = sotto(
        &[
            "transcribe",
            "-m",
            model.to_str().unwrap(),
            "--json",
            "piped.wav",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!((d["duration"].as_f64().unwrap() - 1.5).abs() < 1e-6, "{d}");
}

/// Peak resident memory of a process, in KiB (from `wait4`, which also reaps it).
#[allow(clippy::zombie_processes)]
fn peak_rss_kib(mut cmd: Command) -> (i64, std::process::ExitStatus) {
    use std::os::unix::process::ExitStatusExt;
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: rusage is plain data filled by wait4 for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    (usage.ru_maxrss, std::process::ExitStatus::from_raw(status))
}

/// Files are read and fed in chunks: the peak memory for a long file is that of a short one
/// (it grew by ≈96 KB per second of audio when files were decoded whole).
#[test]
fn memory_stays_flat_for_long_files() {
    let Some(model) = tiny_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (short, long) = (dir.path().join("short.wav"), dir.path().join("long.wav"));
    write_tone_wav(&short, 60.0, 1);
    write_tone_wav(&long, 600.0, 1);
    let m = model.to_str().unwrap();
    let run = |args: &[&str], f: &Path| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sotto"));
        c.args(args).arg(f);
        let (kib, status) = peak_rss_kib(c);
        assert!(status.success(), "{args:?} {}", f.display());
        kib
    };
    for args in [
        vec!["transcribe", "-m", m, "--beam", "1", "--jobs", "1"],
        vec!["caption", "-m", m, "--beam", "1", "--input"],
    ] {
        let (a, b) = (run(&args, &short), run(&args, &long));
        eprintln!("{}: peak RSS 1 min {a} KiB, 10 min {b} KiB", args[0]);
        // Whole-file decoding would add ≈ 540 s × 96 KB ≈ 50 MB.
        assert!(b - a < 6 * 1024, "{}: {a} KiB -> {b} KiB", args[0]);
    }
}

/// The shipped int8 model gives the same words, times and confidences with the scalar kernels
/// (`SOTTO_KERNELS=scalar`, the arithmetic of the WebAssembly build) as with this machine's
/// fastest, at the default search (LM and all): the int8 products are exact in every variant
/// and the float math outside them is the same code everywhere (libm, not the C library).
#[test]
fn scalar_kernels_give_the_same_transcript() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let Some(model) = sotto_testutil::existing(root.join("models/zoo/sotto-en-int8.safetensors"))
    else {
        return;
    };
    let run = |kernels: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sotto"));
        c.args(["transcribe", "--json", "-m"])
            .arg(&model)
            .arg(root.join("examples/audio/fox.wav"));
        if let Some(k) = kernels {
            c.env("SOTTO_KERNELS", k);
        } else {
            c.env_remove("SOTTO_KERNELS");
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let fast = run(None);
    assert!(fast.contains("\"words\":[{"), "{fast}");
    assert_eq!(run(Some("scalar")), fast);
}
