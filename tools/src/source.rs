//! Audio sources for the streaming commands: a file decoded as it is read, raw s16le PCM on
//! stdin, or the default microphone (cpal, behind the opt-in `mic` feature). All yield mono
//! `f32` chunks in `[-1, 1)` with their sample rate.

use crate::cmd::with_status;
use anyhow::Context;
use std::io::Read;
use std::path::Path;

/// Chunk length handed out by file and stdin sources, in seconds.
pub const CHUNK_SECONDS: f64 = 0.1;

/// Where audio comes from: chunks of mono samples at a rate.
pub trait AudioSource {
    /// Next chunk and its sample rate, or `None` at the end of the input.
    fn next_chunk(&mut self) -> anyhow::Result<Option<(u32, Vec<f32>)>>;
}

/// An audio file (WAV, FLAC, MP3, Ogg Vorbis, Ogg Opus), decoded as it is read: chunks of
/// [`CHUNK_SECONDS`] (or longer, see [`FileSource::with_chunk_seconds`]); memory does not
/// grow with the length of the file.
pub struct FileSource {
    reader: sotto_frontend::audio::AudioReader,
    chunk: usize,
    buf: Vec<f32>,
}

impl FileSource {
    /// Opens `path` and reads its header (errors name the file).
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let reader = sotto_frontend::audio::AudioReader::open(path)?;
        let mut s = FileSource {
            reader,
            chunk: 0,
            buf: Vec::new(),
        };
        s.set_chunk_seconds(CHUNK_SECONDS);
        Ok(s)
    }

    /// Hands out chunks of `seconds` instead.
    pub fn with_chunk_seconds(mut self, seconds: f64) -> Self {
        self.set_chunk_seconds(seconds);
        self
    }

    fn set_chunk_seconds(&mut self, seconds: f64) {
        self.chunk = ((f64::from(self.reader.sample_rate()) * seconds) as usize).max(1);
    }
}

impl AudioSource for FileSource {
    fn next_chunk(&mut self) -> anyhow::Result<Option<(u32, Vec<f32>)>> {
        while self.buf.len() < self.chunk {
            if self.reader.read_chunk(&mut self.buf)? == 0 {
                break;
            }
        }
        if self.buf.is_empty() {
            return Ok(None);
        }
        let n = self.chunk.min(self.buf.len());
        let rest = self.buf.split_off(n);
        let chunk = std::mem::replace(&mut self.buf, rest);
        Ok(Some((self.reader.sample_rate(), chunk)))
    }
}

/// Raw signed 16-bit little-endian mono PCM from stdin at a given rate.
pub struct StdinSource {
    rate: u32,
    stdin: std::io::Stdin,
    buf: Vec<u8>,
    carry: Option<u8>,
}

impl StdinSource {
    /// Reads stdin as s16le mono at `rate` Hz.
    pub fn new(rate: u32) -> Self {
        let bytes = 2 * ((f64::from(rate) * CHUNK_SECONDS) as usize).max(1);
        StdinSource {
            rate,
            stdin: std::io::stdin(),
            buf: vec![0; bytes],
            carry: None,
        }
    }
}

impl AudioSource for StdinSource {
    fn next_chunk(&mut self) -> anyhow::Result<Option<(u32, Vec<f32>)>> {
        let start = usize::from(self.carry.is_some());
        if let Some(b) = self.carry.take() {
            self.buf[0] = b;
        }
        let n = self
            .stdin
            .lock()
            .read(&mut self.buf[start..])
            .context("reading stdin")?;
        if n == 0 {
            if start == 1 {
                anyhow::bail!("stdin: odd number of bytes in s16le PCM");
            }
            return Ok(None);
        }
        let total = start + n;
        if total % 2 == 1 {
            self.carry = Some(self.buf[total - 1]);
        }
        let samples = self.buf[..total - total % 2]
            .chunks_exact(2)
            .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
            .collect();
        Ok(Some((self.rate, samples)))
    }
}

#[cfg(feature = "mic")]
mod mic {
    //! Default input device through cpal.
    use super::{with_status, AudioSource};
    use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
    use std::sync::mpsc::{channel, Receiver};

    /// The default microphone; chunks arrive as the device delivers them.
    pub struct MicSource {
        _stream: cpal::Stream,
        rate: u32,
        rx: Receiver<Vec<f32>>,
    }

    /// Sends this process's stderr to /dev/null while alive: ALSA prints its own diagnostics
    /// ("ALSA lib pcm.c: … Unknown PCM default") while cpal probes the devices, before sotto
    /// can say what went wrong in one line.
    struct QuietStderr(Option<i32>);

    impl QuietStderr {
        fn new() -> Self {
            #[cfg(unix)]
            // SAFETY: plain descriptor calls; every descriptor opened here is closed or
            // handed back in `drop`.
            unsafe {
                let saved = libc::dup(2);
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
                if saved >= 0 && null >= 0 && libc::dup2(null, 2) >= 0 {
                    libc::close(null);
                    return Self(Some(saved));
                }
                for fd in [saved, null] {
                    if fd >= 0 {
                        libc::close(fd);
                    }
                }
            }
            Self(None)
        }
    }

    impl Drop for QuietStderr {
        fn drop(&mut self) {
            #[cfg(unix)]
            if let Some(fd) = self.0 {
                // SAFETY: `fd` is the descriptor saved in `new`, still open.
                unsafe {
                    libc::dup2(fd, 2);
                    libc::close(fd);
                }
            }
        }
    }

    /// Opens the default input device (exit status 2 when there is none).
    pub fn open() -> anyhow::Result<MicSource> {
        let quiet = QuietStderr::new();
        let r = open_quietly();
        drop(quiet);
        r
    }

    fn open_quietly() -> anyhow::Result<MicSource> {
        let device = cpal::default_host().default_input_device().ok_or_else(|| {
            with_status(
                2,
                "no input device (connect a microphone, or pass audio files)",
            )
        })?;
        let config = device.default_input_config().map_err(|e| {
            with_status(
                2,
                format!("no usable input device ({e}); connect a microphone, or pass audio files"),
            )
        })?;
        let (channels, rate) = (
            usize::from(config.channels()).max(1),
            config.sample_rate().0,
        );
        let (tx, rx) = channel();
        let err = |e| eprintln!("sotto: audio input error: {e}");
        // Mix interleaved channels down to mono.
        let mono = move |x: &mut dyn Iterator<Item = f32>| -> Vec<f32> {
            let v: Vec<f32> = x.collect();
            v.chunks(channels)
                .map(|c| c.iter().sum::<f32>() / c.len() as f32)
                .collect()
        };
        let cfg: cpal::StreamConfig = config.clone().into();
        let stream = match config.sample_format() {
            cpal::SampleFormat::F32 => device.build_input_stream(
                &cfg,
                move |d: &[f32], _: &_| drop(tx.send(mono(&mut d.iter().copied()))),
                err,
                None,
            ),
            cpal::SampleFormat::I16 => device.build_input_stream(
                &cfg,
                move |d: &[i16], _: &_| {
                    drop(tx.send(mono(&mut d.iter().map(|&s| f32::from(s) / 32768.0))))
                },
                err,
                None,
            ),
            cpal::SampleFormat::U16 => device.build_input_stream(
                &cfg,
                move |d: &[u16], _: &_| {
                    drop(tx.send(mono(
                        &mut d.iter().map(|&s| (f32::from(s) - 32768.0) / 32768.0),
                    )))
                },
                err,
                None,
            ),
            f => {
                return Err(with_status(
                    2,
                    format!("input device sample format {f:?} is not supported"),
                ))
            }
        }
        .map_err(|e| with_status(2, format!("cannot open input device: {e}")))?;
        stream
            .play()
            .map_err(|e| with_status(2, format!("cannot start input device: {e}")))?;
        Ok(MicSource {
            _stream: stream,
            rate,
            rx,
        })
    }

    impl AudioSource for MicSource {
        fn next_chunk(&mut self) -> anyhow::Result<Option<(u32, Vec<f32>)>> {
            Ok(self.rx.recv().ok().map(|c| (self.rate, c)))
        }
    }
}

/// The message of a build without the `mic` feature.
#[cfg(not(feature = "mic"))]
pub const NO_MIC_BUILD: &str = "no input device: this sotto was built without microphone support; \
rebuild it with `--features mic` (e.g. `cargo install --locked --path tools --features mic`, which \
needs the ALSA headers: `apt-get install libasound2-dev pkg-config`), or give audio files";

/// The default microphone, or an error with exit status 2 when there is none (or when sotto
/// was built without the `mic` feature).
pub fn open_mic() -> anyhow::Result<Box<dyn AudioSource>> {
    #[cfg(feature = "mic")]
    return Ok(Box::new(mic::open()?));
    #[cfg(not(feature = "mic"))]
    Err(with_status(2, NO_MIC_BUILD))
}
