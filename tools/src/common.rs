//! Helpers shared by the subcommands: error reporting and exit codes, input discovery,
//! option validation.
//!
//! Exit codes: 0 success; 2 bad input (an input file that cannot be read or decoded, a bad
//! model or references file, an invalid option value, no input device) — also clap's usage
//! errors; 1 anything else. A closed stdout (`sotto … | head`) ends the process quietly
//! (SIGPIPE, status 141 in the shell).

use crate::cmd::ExitStatus;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Audio file extensions picked up when a folder is given.
pub const AUDIO_EXTENSIONS: [&str; 7] = ["wav", "flac", "mp3", "ogg", "opus", "oga", "raw"];

/// Let a write to a closed pipe end the process silently, as for any Unix filter (Rust
/// ignores SIGPIPE, which makes `println!` panic and other writes fail with an error).
pub fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any thread exists; SIG_DFL is a valid
    // disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Marks an error as bad input (exit status 2), keeping its causes.
pub fn bad_input(e: impl Into<anyhow::Error>) -> anyhow::Error {
    e.into().context(ExitStatus(2))
}

/// The error's message: its causes joined by `: `, each left out when the text so far
/// already says it (library errors often repeat their source in their own message).
pub fn message(e: &anyhow::Error) -> String {
    // The marker is a context layer (`bad_input`) or the root error (`with_status`).
    let marker = e.downcast_ref::<ExitStatus>().map(ToString::to_string);
    let mut msg = String::new();
    for cause in e.chain().filter(|c| !c.is::<ExitStatus>()) {
        let c = cause.to_string();
        if c.is_empty() || msg.contains(&c) || Some(&c) == marker.as_ref() {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&c);
    }
    msg
}

/// One line for a file's error: the file (unless the message names it), then the causes.
pub fn describe(e: &anyhow::Error, file: &Path) -> String {
    let m = message(e);
    let name = file.display().to_string();
    if m.contains(&name) {
        m
    } else {
        format!("{name}: {m}")
    }
}

/// Prints `sotto: error: …` and returns the exit code the error asks for (1 by default).
pub fn report(e: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(e) {
        return ExitCode::SUCCESS;
    }
    eprintln!("sotto: error: {}", message(e));
    ExitCode::from(e.downcast_ref::<ExitStatus>().map_or(1, |s| s.0))
}

/// Whether writing stdout failed because the reader went away.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Files of the inputs: files as given, folders walked recursively (sorted) for files with
/// an audio extension.
pub fn collect_audio_files(inputs: &[PathBuf]) -> Vec<PathBuf> {
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

/// Checks the model the recognizer will load before it does: `--model` or `$SOTTO_MODEL`
/// must not be empty or a folder (exit status 2 with a message that says which).
pub fn check_model(model: Option<&Path>) -> anyhow::Result<()> {
    let (path, from) = match model {
        Some(m) => (m.to_path_buf(), "--model"),
        None => match std::env::var_os(sotto_asr::recognizer::MODEL_ENV) {
            Some(v) if v.is_empty() => {
                return Err(bad_input(anyhow::anyhow!(
                "${} is set but empty: unset it (to use the shipped model) or name a model file",
                sotto_asr::recognizer::MODEL_ENV
            )))
            }
            Some(v) => (PathBuf::from(v), "$SOTTO_MODEL"),
            None => return Ok(()),
        },
    };
    check_model_file(&path, from)
}

/// A model path must name a file: empty or a folder is an error (exit status 2).
pub fn check_model_file(path: &Path, from: &str) -> anyhow::Result<()> {
    if path.as_os_str().is_empty() {
        return Err(bad_input(anyhow::anyhow!(
            "{from} is empty: name a model file"
        )));
    }
    if path.is_dir() {
        return Err(bad_input(anyhow::anyhow!(
            "{}: is a folder, not a model file ({from})",
            path.display()
        )));
    }
    Ok(())
}

/// clap parser: a finite number of seconds >= 0.
pub fn seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("`{s}` is not a number of seconds >= 0")),
    }
}

/// clap parser: a finite number of seconds > 0.
pub fn positive_seconds(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("`{s}` is not a number of seconds > 0")),
    }
}

/// clap parser: a probability strictly between 0 and 1.
pub fn probability(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v < 1.0 => Ok(v),
        _ => Err(format!(
            "`{s}` is not a probability between 0 and 1 (exclusive)"
        )),
    }
}

/// clap parser: a finite number.
pub fn finite_f32(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("`{s}` is not a finite number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_drop_repeated_causes() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let e = anyhow::Error::new(io)
            .context("a.wav: cannot read: No such file")
            .context(ExitStatus(2));
        assert_eq!(message(&e), "a.wav: cannot read: No such file");
        assert_eq!(
            describe(&e, Path::new("a.wav")),
            "a.wav: cannot read: No such file"
        );
        assert_eq!(
            describe(&anyhow::anyhow!("bad rate"), Path::new("b.wav")),
            "b.wav: bad rate"
        );
    }

    #[test]
    fn validators() {
        assert!(seconds("-1").is_err() && seconds("NaN").is_err() && seconds("inf").is_err());
        assert_eq!(seconds("0"), Ok(0.0));
        assert!(probability("1.5").is_err() && probability("0").is_err());
        assert!(finite_f32("NaN").is_err());
        assert!(positive_seconds("0").is_err());
    }
}
