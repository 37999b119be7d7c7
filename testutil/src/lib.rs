//! Helpers shared by the workspace's tests and benchmarks (a dev-dependency only): locating
//! `/work/shared` and skipping when it is absent, reading TSV tables, writing 16-bit WAV files,
//! and a counting global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The workspace root (this crate sits directly below it).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `path` if it exists; otherwise prints why the caller skips and returns `None`.
pub fn existing(path: PathBuf) -> Option<PathBuf> {
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipping: {} not found", path.display());
        None
    }
}

/// `rel` below the shared read-only material (`../shared` from the workspace root, e.g.
/// `"reference/fbank"`), or `None` after printing a skip reason when it is absent.
pub fn shared_dir(rel: &str) -> Option<PathBuf> {
    existing(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared")
            .join(rel),
    )
}

/// Rows of a tab-separated file with a header line, as header → value maps (empty lines are
/// ignored). Panics naming the file when it cannot be read: a test fixture is missing.
pub fn read_tsv(path: &Path) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap_or_else(|| panic!("{}: no header line", path.display()))
        .split('\t')
        .map(String::from)
        .collect();
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split('\t').map(String::from))
                .collect()
        })
        .collect()
}

/// A canonical 44-byte-header PCM WAV file of interleaved 16-bit `samples` (written by hand so
/// that the reader under test is checked against an independent writer).
pub fn wav_bytes(rate: u32, channels: u16, samples: &[i16]) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut b = Vec::with_capacity(44 + data_len as usize);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes()); // PCM
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * channels as u32 * 2).to_le_bytes());
    b.extend_from_slice(&(channels * 2).to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    samples
        .iter()
        .for_each(|s| b.extend_from_slice(&s.to_le_bytes()));
    b
}

/// Writes [`wav_bytes`] to `path`.
pub fn write_wav(path: &Path, rate: u32, channels: u16, samples: &[i16]) {
    std::fs::write(path, wav_bytes(rate, channels, samples))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// `seconds` of 16 kHz speech-like gliding tones with a slow envelope; `seed` shifts the phases
/// so that different seeds give different clips.
pub fn gliding_tones(seconds: f32, seed: u32) -> Vec<i16> {
    let n = (seconds * 16000.0) as usize;
    (0..n)
        .map(|i| {
            let t = i as f32 / 16000.0;
            let f = 180.0 + 120.0 * (t * 2.0 + seed as f32).sin();
            let env = 0.5 + 0.5 * (t * 5.0 + seed as f32).sin();
            ((env * 0.4 * (2.0 * std::f32::consts::PI * f * t).sin()) * 32767.0) as i16
        })
        .collect()
}

thread_local! {
    /// Whether [`CountingAlloc::test_thread_only`] counts on this thread.
    static COUNT_HERE: Cell<bool> = const { Cell::new(false) };
}

/// A global allocator that counts allocations and forwards to [`System`]. A test binary
/// installs it with `#[global_allocator] static A: CountingAlloc = CountingAlloc::...;` (the
/// attribute must sit in the binary itself) and compares [`CountingAlloc::allocations`] around
/// the code that must not allocate.
pub struct CountingAlloc {
    allocs: AtomicUsize,
    test_thread_only: bool,
}

impl CountingAlloc {
    /// Counts allocations on every thread.
    pub const fn all_threads() -> Self {
        Self {
            allocs: AtomicUsize::new(0),
            test_thread_only: false,
        }
    }

    /// Counts only on threads that called [`CountingAlloc::count_this_thread`] (the test
    /// harness allocates on its own threads).
    pub const fn test_thread_only() -> Self {
        Self {
            allocs: AtomicUsize::new(0),
            test_thread_only: true,
        }
    }

    /// Starts counting the calling thread's allocations (for [`CountingAlloc::test_thread_only`]).
    pub fn count_this_thread(&self) {
        COUNT_HERE.with(|c| c.set(true));
    }

    /// Allocations counted so far.
    pub fn allocations(&self) -> usize {
        self.allocs.load(Ordering::SeqCst)
    }
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !self.test_thread_only || COUNT_HERE.with(|c| c.get()) {
            self.allocs.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// The files in `dir` (not recursive) whose extension is `ext`, sorted by path.
pub fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

/// Writes [`gliding_tones`] as a 16 kHz mono 16-bit WAV file.
pub fn write_tone_wav(path: &Path, seconds: f32, seed: u32) {
    write_wav(path, 16000, 1, &gliding_tones(seconds, seed));
}

/// The tiny random-weight transducer of the parity tests
/// (`models/tests/data/transducer/tiny.safetensors`), or `None` after printing a skip reason.
pub fn tiny_model() -> Option<PathBuf> {
    existing(workspace_root().join("models/tests/data/transducer/tiny.safetensors"))
}

/// Runs `cmd` with `input` written to its stdin and its stdout captured (stderr is inherited).
pub fn output_with_stdin(cmd: &mut std::process::Command, input: &[u8]) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// Runs `cmd` to completion and returns its stdout; panics with its stderr when it fails.
pub fn stdout_ok(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// How many lines of two equally long outputs (e.g. per-invocation scores of two runtimes)
/// differ; panics when their line counts differ.
pub fn differing_lines(a: &str, b: &str) -> usize {
    assert_eq!(
        a.lines().count(),
        b.lines().count(),
        "outputs of different length"
    );
    a.lines().zip(b.lines()).filter(|(x, y)| x != y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_header_is_canonical() {
        let b = wav_bytes(8000, 2, &[1, -2, 3, -4]);
        assert_eq!(b.len(), 44 + 8);
        assert_eq!(&b[..4], b"RIFF");
        assert_eq!(u32::from_le_bytes(b[4..8].try_into().unwrap()), 36 + 8);
        assert_eq!(&b[8..16], b"WAVEfmt ");
        assert_eq!(u16::from_le_bytes([b[22], b[23]]), 2); // channels
        assert_eq!(u32::from_le_bytes(b[24..28].try_into().unwrap()), 8000);
        assert_eq!(u32::from_le_bytes(b[28..32].try_into().unwrap()), 32000); // byte rate
        assert_eq!(u16::from_le_bytes([b[32], b[33]]), 4); // block align
        assert_eq!(&b[36..40], b"data");
        assert_eq!(&b[44..46], &1i16.to_le_bytes());
        assert_eq!(&b[50..52], &(-4i16).to_le_bytes());
    }

    #[test]
    fn tsv_rows_by_header() {
        let dir = std::env::temp_dir().join(format!("sotto-testutil-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.tsv");
        std::fs::write(&p, "a\tb\n1\tx\n\n2\ty\n").unwrap();
        let rows = read_tsv(&p);
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0]["a"].as_str(), rows[1]["b"].as_str()), ("1", "y"));
    }

    #[test]
    fn tones_depend_on_seed_and_length() {
        let (a, b) = (gliding_tones(0.5, 0), gliding_tones(0.5, 1));
        assert_eq!(a.len(), 8000);
        assert_ne!(a, b);
        assert!(a.iter().any(|&s| s.unsigned_abs() > 3000));
    }
}
