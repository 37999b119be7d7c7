//! Audio input: WAV (own streaming reader), FLAC / MP3 / Ogg Vorbis (symphonia, pure Rust),
//! Ogg Opus (`opus-decoder`, pure Rust) and raw s16le PCM, decoded to mono `f32`.
//!
//! Files are decoded as a stream: [`AudioReader`] hands out one decoded block at a time, so
//! memory does not grow with the length of the file. [`read_audio`] is the one-shot
//! convenience that collects all of it.
//!
//! Integer PCM is scaled to `[-1, 1)` (`i16 / 32768`, `i24 / 2^23`, ...), which is the
//! scaling [`crate::fbank`] expects; float WAV samples are taken as they are. Several
//! channels are mixed down by averaging. Ogg Opus is decoded at 48 kHz, as `opusdec` does,
//! and resampled to 16 kHz. Every failure is a [`FrontendError`] that names the file
//! (`<memory>` for in-memory input) and the problem; decoders never panic on bad input and
//! never return garbage silently (NaN/inf are rejected).

use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::FrontendError;

mod ogg;
mod opus;
mod symph;
mod wav;

/// Decoded mono audio.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Mono samples, nominally in `[-1, 1)`.
    pub samples: Vec<f32>,
    /// Sample rate in Hz.
    pub sample_rate: u32,
}

impl Audio {
    /// Duration in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.samples.len() as f64 / self.sample_rate as f64
    }
}

/// Container/codec of an input, detected from its content (or, failing that, the
/// file extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AudioFormat {
    /// RIFF/WAVE or RF64 (PCM 8/16/24/32-bit int, 32/64-bit float, A-law, µ-law).
    Wav,
    /// FLAC.
    Flac,
    /// MPEG layer III.
    Mp3,
    /// Ogg Vorbis.
    OggVorbis,
    /// Ogg Opus (`.opus`; RFC 7845), decoded to 16 kHz.
    OggOpus,
}

impl AudioFormat {
    /// Human-readable name (`"Ogg Opus"`).
    pub fn name(self) -> &'static str {
        match self {
            AudioFormat::Wav => "WAV",
            AudioFormat::Flac => "FLAC",
            AudioFormat::Mp3 => "MP3",
            AudioFormat::OggVorbis => "Ogg Vorbis",
            AudioFormat::OggOpus => "Ogg Opus",
        }
    }
}

/// Something audio can be read from: a file or bytes in memory.
pub(crate) trait Source: Read + Seek + Send + Sync {}
impl<T: Read + Seek + Send + Sync> Source for T {}

/// One format's streaming decoder.
pub(crate) trait Decode: Send {
    /// Appends the next decoded mono samples to `out` (possibly none); `Ok(false)` once the
    /// input is exhausted (after appending what remained).
    fn next(&mut self, path: &Path, out: &mut Vec<f32>) -> Result<bool, FrontendError>;
}

/// A streaming audio file reader: decodes one block at a time.
///
/// ```no_run
/// use sotto_frontend::audio::AudioReader;
/// let mut reader = AudioReader::open("speech.opus")?;
/// let rate = reader.sample_rate();
/// let mut block = Vec::new();
/// while reader.read_chunk(&mut block)? > 0 {
///     // feed `block` (mono f32 at `rate`) somewhere, then:
///     block.clear();
/// }
/// # Ok::<(), sotto_frontend::FrontendError>(())
/// ```
pub struct AudioReader {
    path: PathBuf,
    format: AudioFormat,
    rate: u32,
    dec: Box<dyn Decode>,
    samples: u64,
    done: bool,
}

impl std::fmt::Debug for AudioReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioReader")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("rate", &self.rate)
            .field("samples", &self.samples)
            .finish_non_exhaustive()
    }
}

impl AudioReader {
    /// Opens a file and reads its header, detecting the format from its content (and its
    /// extension). No audio is decoded yet.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, FrontendError> {
        let path = path.as_ref();
        let io = |source| FrontendError::Io {
            path: path.into(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        if file.metadata().map_err(io)?.is_dir() {
            return Err(FrontendError::decode(
                path,
                "is a folder, not an audio file",
            ));
        }
        Self::new(path, Box::new(file), extension(path).as_deref())
    }

    /// A reader over an in-memory file; `ext` (e.g. `"mp3"`) is a hint used only when the
    /// content does not identify the format. Errors name the input `<memory>`.
    pub fn from_bytes(bytes: Vec<u8>, ext: Option<&str>) -> Result<Self, FrontendError> {
        Self::new(Path::new("<memory>"), Box::new(Cursor::new(bytes)), ext)
    }

    fn new(
        path: &Path,
        mut src: Box<dyn Source>,
        ext: Option<&str>,
    ) -> Result<Self, FrontendError> {
        let io = |source| FrontendError::Io {
            path: path.into(),
            source,
        };
        let mut head = Vec::with_capacity(512);
        (&mut src).take(512).read_to_end(&mut head).map_err(io)?;
        src.seek(SeekFrom::Start(0)).map_err(io)?;
        if head.is_empty() {
            return Err(FrontendError::decode(path, "file is empty (0 bytes)"));
        }
        let detected = detect_format(&head);
        // Content wins over the extension, except that ".opus" with Ogg content that does not
        // say what it holds is taken at its word (and then fails as Opus).
        let format = match (detected, ext) {
            (Some(AudioFormat::OggVorbis), Some("opus")) if !find(&head, b"\x01vorbis") => {
                Some(AudioFormat::OggOpus)
            }
            (Some(f), _) => Some(f),
            (None, Some("wav" | "wave")) => Some(AudioFormat::Wav),
            (None, Some("flac")) => Some(AudioFormat::Flac),
            (None, Some("mp3")) => Some(AudioFormat::Mp3),
            (None, Some("ogg" | "oga")) => Some(AudioFormat::OggVorbis),
            (None, Some("opus")) => Some(AudioFormat::OggOpus),
            (None, _) => None,
        };
        let Some(format) = format else {
            return Err(match ext {
                Some("raw" | "pcm" | "s16" | "s16le") => FrontendError::unsupported(
                    path,
                    "headerless raw PCM: give the sample rate and channel count (read_raw_s16le / --raw-rate)",
                ),
                _ => FrontendError::unsupported(
                    path,
                    "not WAV, FLAC, MP3, Ogg Vorbis or Ogg Opus (unrecognised header)",
                ),
            });
        };
        let (dec, rate): (Box<dyn Decode>, u32) = match format {
            AudioFormat::Wav => {
                let w = wav::Wav::open(path, src)?;
                let rate = w.rate();
                (Box::new(w), rate)
            }
            AudioFormat::OggOpus => {
                let o = opus::Opus::open(path, src)?;
                let rate = o.rate();
                (Box::new(o), rate)
            }
            AudioFormat::Flac | AudioFormat::Mp3 | AudioFormat::OggVorbis => {
                let s = symph::Symphonia::open(path, src, format)?;
                let rate = s.rate();
                (Box::new(s), rate)
            }
        };
        if rate == 0 {
            return Err(FrontendError::decode(
                path,
                format!("{}: sample rate is 0", format.name()),
            ));
        }
        Ok(Self {
            path: path.into(),
            format,
            rate,
            dec,
            samples: 0,
            done: false,
        })
    }

    /// Sample rate of the decoded samples in Hz (16000 for Opus).
    pub fn sample_rate(&self) -> u32 {
        self.rate
    }

    /// The detected format.
    pub fn format(&self) -> AudioFormat {
        self.format
    }

    /// The file (or `<memory>`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Mono samples handed out so far.
    pub fn samples_read(&self) -> u64 {
        self.samples
    }

    /// Decodes the next block (at most a few thousand samples), appends it to `out` and
    /// returns its length; 0 at the end of the audio. A file without any audio is an error
    /// ([`FrontendError::EmptyAudio`]) at its end, as are NaN/infinite samples.
    pub fn read_chunk(&mut self, out: &mut Vec<f32>) -> Result<usize, FrontendError> {
        while !self.done {
            let start = out.len();
            let more = self.dec.next(&self.path, out)?;
            if let Some(i) = out[start..].iter().position(|s| !s.is_finite()) {
                return Err(FrontendError::NonFinite {
                    path: self.path.clone(),
                    index: (self.samples as usize).saturating_add(i),
                });
            }
            let n = out.len() - start;
            self.samples += n as u64;
            if !more {
                self.done = true;
                if self.samples == 0 {
                    return Err(FrontendError::EmptyAudio {
                        path: self.path.clone(),
                    });
                }
            }
            if n > 0 {
                return Ok(n);
            }
        }
        Ok(0)
    }

    /// Decodes everything that is left.
    pub fn read_to_end(mut self) -> Result<Audio, FrontendError> {
        let mut samples = Vec::new();
        while self.read_chunk(&mut samples)? > 0 {}
        Ok(Audio {
            samples,
            sample_rate: self.rate,
        })
    }
}

/// Lower-case extension of a path.
fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

/// Reads a whole audio file, detecting the format from its content (and its extension).
/// For long files prefer [`AudioReader`], which decodes block by block.
///
/// Raw PCM has no header; read it with [`read_raw_s16le`].
pub fn read_audio(path: impl AsRef<Path>) -> Result<Audio, FrontendError> {
    AudioReader::open(path)?.read_to_end()
}

/// Decodes an in-memory file; `ext` (e.g. `"mp3"`) is a hint used only when the
/// content does not identify the format. Errors name the input `<memory>`.
pub fn read_audio_bytes(bytes: &[u8], ext: Option<&str>) -> Result<Audio, FrontendError> {
    AudioReader::from_bytes(bytes.to_vec(), ext)?.read_to_end()
}

/// Reads headerless little-endian signed 16-bit PCM with `channels` interleaved channels.
pub fn read_raw_s16le(
    path: impl AsRef<Path>,
    sample_rate: u32,
    channels: u16,
) -> Result<Audio, FrontendError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| FrontendError::Io {
        path: path.into(),
        source,
    })?;
    decode_raw_s16le(path, &bytes, sample_rate, channels)
}

/// [`read_raw_s16le`] on bytes in memory.
pub fn raw_s16le_bytes(
    bytes: &[u8],
    sample_rate: u32,
    channels: u16,
) -> Result<Audio, FrontendError> {
    decode_raw_s16le(Path::new("<memory>"), bytes, sample_rate, channels)
}

fn decode_raw_s16le(
    path: &Path,
    bytes: &[u8],
    sample_rate: u32,
    channels: u16,
) -> Result<Audio, FrontendError> {
    if sample_rate == 0 || channels == 0 {
        return Err(FrontendError::InvalidConfig(format!(
            "{}: raw PCM needs a sample rate and channel count > 0 (got {sample_rate} Hz, {channels} channels)",
            path.display()
        )));
    }
    let frame = 2 * channels as usize;
    if !bytes.chunks_exact(frame).remainder().is_empty() {
        return Err(FrontendError::decode(
            path,
            format!(
                "truncated raw s16le: {} bytes is not a multiple of {frame} ({channels} channels)",
                bytes.len()
            ),
        ));
    }
    let ints = bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0);
    let mut samples = Vec::with_capacity(bytes.len() / frame);
    mixdown(ints, channels as usize, &mut samples);
    if samples.is_empty() {
        return Err(FrontendError::EmptyAudio { path: path.into() });
    }
    Ok(Audio {
        samples,
        sample_rate,
    })
}

/// Identifies the format from magic bytes (the first few hundred bytes of a file).
pub fn detect_format(bytes: &[u8]) -> Option<AudioFormat> {
    let b = bytes;
    if b.len() >= 12 && matches!(&b[..4], b"RIFF" | b"RIFX" | b"RF64") && &b[8..12] == b"WAVE" {
        Some(AudioFormat::Wav)
    } else if b.starts_with(b"fLaC") {
        Some(AudioFormat::Flac)
    } else if b.starts_with(b"OggS") {
        // The first packet of the first page names the codec.
        if find(&b[..b.len().min(512)], b"OpusHead") {
            Some(AudioFormat::OggOpus)
        } else {
            Some(AudioFormat::OggVorbis)
        }
    } else if b.starts_with(b"ID3") || (b.len() >= 2 && b[0] == 0xFF && b[1] & 0xE0 == 0xE0) {
        Some(AudioFormat::Mp3)
    } else {
        None
    }
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Averages interleaved channels onto `out`. Sums in f32 in channel order so any chunking
/// of the input gives the same values; a trailing partial frame is dropped.
fn mixdown(interleaved: impl Iterator<Item = f32>, channels: usize, out: &mut Vec<f32>) {
    if channels <= 1 {
        out.extend(interleaved);
        return;
    }
    let (mut acc, mut n) = (0.0f32, 0usize);
    for s in interleaved {
        acc += s;
        n += 1;
        if n == channels {
            out.push(acc / channels as f32);
            acc = 0.0;
            n = 0;
        }
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full<R: Read + ?Sized>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Length of a seekable input, leaving it at its start.
fn stream_len(src: &mut dyn Source) -> std::io::Result<u64> {
    let len = src.seek(SeekFrom::End(0))?;
    src.seek(SeekFrom::Start(0))?;
    Ok(len)
}
