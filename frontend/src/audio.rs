//! Audio input: WAV (hound), FLAC / MP3 / Ogg Vorbis (symphonia, pure Rust) and raw
//! s16le PCM, decoded to mono `f32`.
//!
//! Integer PCM is scaled to `[-1, 1)` (`i16 / 32768`, `i24 / 2^23`, ...), which is the
//! scaling [`crate::fbank`] expects; float WAV samples are taken as they are. Several
//! channels are mixed down by averaging. Every failure is a [`FrontendError`] that
//! names the file (`<memory>` for in-memory input) and the problem; decoders never
//! panic on bad input and never return garbage silently (NaN/inf are rejected).

use std::io::{Cursor, Read, Seek};
use std::path::Path;

use crate::FrontendError;

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
pub enum AudioFormat {
    /// RIFF/WAVE (PCM 8/16/24/32-bit int or 32-bit float).
    Wav,
    /// FLAC.
    Flac,
    /// MPEG layer III.
    Mp3,
    /// Ogg Vorbis.
    OggVorbis,
}

/// Reads an audio file, detecting the format from its content (and its extension).
///
/// Raw PCM has no header; read it with [`read_raw_s16le`].
pub fn read_audio(path: impl AsRef<Path>) -> Result<Audio, FrontendError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| FrontendError::Io {
        path: path.into(),
        source,
    })?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    decode(path, bytes, ext.as_deref())
}

/// Decodes an in-memory file; `ext` (e.g. `"mp3"`) is a hint used only when the
/// content does not identify the format. Errors name the input `<memory>`.
pub fn read_audio_bytes(bytes: &[u8], ext: Option<&str>) -> Result<Audio, FrontendError> {
    decode(Path::new("<memory>"), bytes.to_vec(), ext)
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
    finish(
        path,
        mixdown(ints, channels as usize, bytes.len() / 2),
        sample_rate,
    )
}

/// Identifies the format from magic bytes.
pub fn detect_format(bytes: &[u8]) -> Option<AudioFormat> {
    let b = bytes;
    if b.len() >= 12 && matches!(&b[..4], b"RIFF" | b"RIFX" | b"RF64") && &b[8..12] == b"WAVE" {
        Some(AudioFormat::Wav)
    } else if b.starts_with(b"fLaC") {
        Some(AudioFormat::Flac)
    } else if b.starts_with(b"OggS") {
        Some(AudioFormat::OggVorbis)
    } else if b.starts_with(b"ID3") || (b.len() >= 2 && b[0] == 0xFF && b[1] & 0xE0 == 0xE0) {
        Some(AudioFormat::Mp3)
    } else {
        None
    }
}

fn decode(path: &Path, bytes: Vec<u8>, ext: Option<&str>) -> Result<Audio, FrontendError> {
    if bytes.is_empty() {
        return Err(FrontendError::decode(path, "file is empty (0 bytes)"));
    }
    let detected = detect_format(&bytes);
    // Content wins over the extension, except that ".opus" with Ogg (or unknown) content
    // is taken at its word.
    let ogg_or_unknown = matches!(detected, None | Some(AudioFormat::OggVorbis));
    let is_opus = (bytes.starts_with(b"OggS") && find(&bytes[..bytes.len().min(512)], b"OpusHead"))
        || (ext == Some("opus") && ogg_or_unknown);
    if is_opus {
        return Err(FrontendError::unsupported(
            path,
            "Ogg Opus is not supported (symphonia 0.5 has no Opus decoder); convert to WAV/FLAC first",
        ));
    }
    let format = detected.or(match ext {
        Some("wav" | "wave") => Some(AudioFormat::Wav),
        Some("flac") => Some(AudioFormat::Flac),
        Some("mp3") => Some(AudioFormat::Mp3),
        Some("ogg" | "oga") => Some(AudioFormat::OggVorbis),
        _ => None,
    });
    match format {
        Some(AudioFormat::Wav) => read_wav(path, Cursor::new(bytes)),
        Some(AudioFormat::Flac) => read_symphonia(path, strip_flac_metadata(path, &bytes)?, AudioFormat::Flac),
        Some(AudioFormat::OggVorbis) => {
            check_ogg_vorbis_headers(path, &bytes)?;
            read_symphonia(path, bytes, AudioFormat::OggVorbis)
        }
        Some(AudioFormat::Mp3) => read_symphonia(path, skip_id3v2(path, &bytes)?.to_vec(), AudioFormat::Mp3),
        None if matches!(ext, Some("raw" | "pcm" | "s16" | "s16le")) => Err(FrontendError::unsupported(
            path,
            "headerless raw PCM: give the sample rate and channel count (read_raw_s16le / --raw-rate)",
        )),
        None => Err(FrontendError::unsupported(
            path,
            "not WAV, FLAC, MP3 or Ogg Vorbis (unrecognised header)",
        )),
    }
}

/// Skips leading ID3v2 tags (we need no tags, and symphonia's tag parser is more attack
/// surface); the MP3 reader then syncs to the first frame.
fn skip_id3v2<'a>(path: &Path, mut bytes: &'a [u8]) -> Result<&'a [u8], FrontendError> {
    while bytes.starts_with(b"ID3") {
        let h = bytes
            .get(..10)
            .ok_or_else(|| FrontendError::decode(path, "MP3: truncated ID3v2 tag"))?;
        // Syncsafe size: 4 x 7 bits; plus a 10-byte footer when flagged.
        let size = h[6..10]
            .iter()
            .fold(0usize, |acc, &b| (acc << 7) | (b & 0x7F) as usize);
        let total = 10 + size + if h[5] & 0x10 != 0 { 10 } else { 0 };
        bytes = bytes
            .get(total..)
            .ok_or_else(|| FrontendError::decode(path, "MP3: ID3v2 tag runs past the end"))?;
    }
    if bytes.is_empty() {
        return Err(FrontendError::decode(
            path,
            "MP3: no audio after the ID3v2 tag",
        ));
    }
    Ok(bytes)
}

/// Keeps only STREAMINFO of a FLAC file's metadata blocks. Tags and pictures are not
/// needed, and symphonia 0.5 allocates whatever length a corrupt Vorbis-comment or
/// picture block claims (up to 4 GiB, found by fuzzing), so they are dropped unread.
fn strip_flac_metadata(path: &Path, bytes: &[u8]) -> Result<Vec<u8>, FrontendError> {
    let mut pos = 4; // after "fLaC"
    let mut streaminfo = None;
    loop {
        let Some(hdr) = bytes.get(pos..pos + 4) else {
            return Err(FrontendError::decode(path, "FLAC: truncated metadata"));
        };
        let (last, kind) = (hdr[0] & 0x80 != 0, hdr[0] & 0x7F);
        let len = u32::from_be_bytes([0, hdr[1], hdr[2], hdr[3]]) as usize;
        let body = bytes.get(pos + 4..pos + 4 + len).ok_or_else(|| {
            FrontendError::decode(
                path,
                format!(
                    "FLAC: metadata block of {len} bytes runs past the end (truncated or corrupt)"
                ),
            )
        })?;
        if kind == 0 && streaminfo.is_none() {
            streaminfo = Some(body);
        }
        pos += 4 + len;
        if last {
            break;
        }
    }
    let info =
        streaminfo.ok_or_else(|| FrontendError::decode(path, "FLAC: no STREAMINFO block"))?;
    let len = info.len() as u32;
    let mut out = Vec::with_capacity(8 + info.len() + bytes.len() - pos);
    out.extend_from_slice(b"fLaC");
    out.extend_from_slice(&[0x80, (len >> 16) as u8, (len >> 8) as u8, len as u8]);
    out.extend_from_slice(info);
    out.extend_from_slice(&bytes[pos..]);
    Ok(out)
}

/// Checks the first two packets of an Ogg stream: it must be Vorbis, and every length in
/// its comment header must fit in the packet. symphonia 0.5 allocates whatever a comment
/// length claims before reading it (up to 4 GiB, found by fuzzing).
fn check_ogg_vorbis_headers(path: &Path, bytes: &[u8]) -> Result<(), FrontendError> {
    let mut packets: Vec<Vec<u8>> = Vec::new();
    let (mut cur, mut pos, mut serial) = (Vec::new(), 0usize, None);
    'pages: while packets.len() < 2 {
        let Some(head) = bytes.get(pos..pos + 27) else {
            break;
        };
        if &head[..4] != b"OggS" {
            break;
        }
        let nseg = head[26] as usize;
        let Some(lacing) = bytes.get(pos + 27..pos + 27 + nseg) else {
            break;
        };
        let mut data = pos + 27 + nseg;
        pos = data + lacing.iter().map(|&l| l as usize).sum::<usize>();
        if pos > bytes.len() {
            break;
        }
        // Pages of other logical streams do not belong to the first packet sequence.
        if *serial.get_or_insert(&head[14..18]) != &head[14..18] {
            continue;
        }
        for &l in lacing {
            cur.extend_from_slice(&bytes[data..data + l as usize]);
            data += l as usize;
            if l < 255 {
                packets.push(std::mem::take(&mut cur));
                if packets.len() == 2 {
                    break 'pages;
                }
            }
        }
    }
    if let Some(first) = packets.first() {
        if !first.starts_with(b"\x01vorbis") {
            return Err(FrontendError::unsupported(
                path,
                "Ogg stream is not Vorbis (only Ogg Vorbis is supported)",
            ));
        }
    }
    if let Some(comment) = packets.get(1).and_then(|p| p.strip_prefix(b"\x03vorbis")) {
        let bad = || {
            FrontendError::decode(
                path,
                "Ogg Vorbis: corrupt comment header (a length runs past the packet)",
            )
        };
        let mut rest = comment;
        let take_u32 = |rest: &mut &[u8]| -> Result<usize, FrontendError> {
            let (n, tail) = rest.split_first_chunk::<4>().ok_or_else(bad)?;
            *rest = tail;
            Ok(u32::from_le_bytes(*n) as usize)
        };
        let vendor = take_u32(&mut rest)?;
        rest = rest.get(vendor..).ok_or_else(bad)?;
        let n = take_u32(&mut rest)?;
        for _ in 0..n {
            let len = take_u32(&mut rest)?;
            rest = rest.get(len..).ok_or_else(bad)?;
        }
    }
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Averages interleaved channels. Sums in f32 in channel order so any chunking of the
/// input gives the same values.
fn mixdown(
    interleaved: impl Iterator<Item = f32>,
    channels: usize,
    capacity_hint: usize,
) -> Vec<f32> {
    let mut out = Vec::with_capacity(capacity_hint / channels.max(1));
    if channels == 1 {
        out.extend(interleaved);
        return out;
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
    out
}

fn finish(path: &Path, samples: Vec<f32>, sample_rate: u32) -> Result<Audio, FrontendError> {
    if samples.is_empty() {
        return Err(FrontendError::EmptyAudio { path: path.into() });
    }
    if let Some(index) = samples.iter().position(|s| !s.is_finite()) {
        return Err(FrontendError::NonFinite {
            path: path.into(),
            index,
        });
    }
    if sample_rate == 0 {
        return Err(FrontendError::decode(path, "sample rate is 0"));
    }
    Ok(Audio {
        samples,
        sample_rate,
    })
}

fn read_wav<R: Read + Seek>(path: &Path, src: R) -> Result<Audio, FrontendError> {
    let hound_err = |e: hound::Error| match e {
        hound::Error::Unsupported => FrontendError::unsupported(
            path,
            "unsupported WAV encoding (hound reads PCM int 8/16/24/32 and float 32)",
        ),
        hound::Error::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            FrontendError::decode(
                path,
                "truncated WAV: data ends before the length given in its header",
            )
        }
        // hound reports a short read of the data chunk as a plain I/O error.
        hound::Error::IoError(io) if io.to_string().contains("enough bytes") => {
            FrontendError::decode(
                path,
                "truncated WAV: data ends before the length given in its header",
            )
        }
        other => FrontendError::decode(path, format!("bad WAV: {other}")),
    };
    let mut reader = hound::WavReader::new(src).map_err(hound_err)?;
    let spec = reader.spec();
    let channels = spec.channels as usize;
    if channels == 0 {
        return Err(FrontendError::decode(path, "WAV header says 0 channels"));
    }
    // Do not trust the header's length for allocation (a tiny file can claim GBs).
    let hint = (reader.len() as usize).min(1 << 24);
    let samples = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => {
            let it = reader.samples::<f32>();
            collect(it, channels, hint, |x| x).map_err(hound_err)?
        }
        (hound::SampleFormat::Int, bits @ (8 | 16 | 24 | 32)) => {
            let scale = 1.0 / (1u64 << (bits - 1)) as f64;
            let it = reader.samples::<i32>();
            collect(it, channels, hint, |x| (x as f64 * scale) as f32).map_err(hound_err)?
        }
        (fmt, bits) => {
            return Err(FrontendError::unsupported(
                path,
                format!("WAV with {bits}-bit {fmt:?} samples"),
            ));
        }
    };
    finish(path, samples, spec.sample_rate)
}

fn collect<T>(
    it: impl Iterator<Item = Result<T, hound::Error>>,
    channels: usize,
    hint: usize,
    conv: impl Fn(T) -> f32,
) -> Result<Vec<f32>, hound::Error> {
    let mut err = None;
    let samples = mixdown(
        it.map_while(|r| match r {
            Ok(v) => Some(conv(v)),
            Err(e) => {
                err = Some(e);
                None
            }
        }),
        channels,
        hint,
    );
    match err {
        Some(e) => Err(e),
        None => Ok(samples),
    }
}

fn read_symphonia(
    path: &Path,
    bytes: Vec<u8>,
    format: AudioFormat,
) -> Result<Audio, FrontendError> {
    use symphonia::core::audio::SampleBuffer;
    use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
    use symphonia::core::errors::Error as SymError;
    use symphonia::core::formats::{FormatOptions, FormatReader};
    use symphonia::core::io::MediaSourceStream;
    use symphonia::default::formats;

    let name = match format {
        AudioFormat::Wav => "WAV",
        AudioFormat::Flac => "FLAC",
        AudioFormat::Mp3 => "MP3",
        AudioFormat::OggVorbis => "Ogg Vorbis",
    };
    let sym_err = |what: &str, e: SymError| match e {
        SymError::Unsupported(m) => {
            FrontendError::unsupported(path, format!("{name}: {what}: unsupported: {m}"))
        }
        SymError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            FrontendError::decode(
                path,
                format!("{name}: {what}: truncated (unexpected end of data)"),
            )
        }
        e => FrontendError::decode(path, format!("{name}: {what}: {e}")),
    };

    // The reader for the detected format only: symphonia's probe would scan the data for
    // any known signature and could parse, say, a FLAC header buried in an MP3.
    let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let opts = FormatOptions {
        enable_gapless: true,
        ..Default::default()
    };
    fn boxed<R: FormatReader + 'static>(
        r: symphonia::core::errors::Result<R>,
    ) -> symphonia::core::errors::Result<Box<dyn FormatReader>> {
        r.map(|r| Box::new(r) as Box<dyn FormatReader>)
    }
    let reader = match format {
        AudioFormat::Wav => boxed(formats::WavReader::try_new(mss, &opts)),
        AudioFormat::Flac => boxed(formats::FlacReader::try_new(mss, &opts)),
        AudioFormat::Mp3 => boxed(formats::MpaReader::try_new(mss, &opts)),
        AudioFormat::OggVorbis => boxed(formats::OggReader::try_new(mss, &opts)),
    };
    let mut reader = reader.map_err(|e| sym_err("cannot read container", e))?;
    let track = reader
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| FrontendError::decode(path, format!("{name}: no audio track")))?;
    let track_id = track.id;
    let mut rate = track.codec_params.sample_rate;
    // Ogg's last granule position gives the exact length; symphonia 0.5 does not trim
    // the final Vorbis block's padding itself.
    let exact_len = if format == AudioFormat::OggVorbis {
        track.codec_params.n_frames
    } else {
        None
    };
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| sym_err("cannot create decoder", e))?;

    let mut samples = Vec::new();
    loop {
        let packet = match reader.next_packet() {
            Ok(p) => p,
            // End of stream.
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(SymError::ResetRequired) => break,
            Err(e) => return Err(sym_err("reading packet", e)),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let (trim_start, trim_end) = (packet.trim_start as usize, packet.trim_end as usize);
        let decoded = decoder
            .decode(&packet)
            .map_err(|e| sym_err("decoding", e))?;
        let spec = *decoded.spec();
        if spec.rate == 0 || rate.is_some_and(|r| r != spec.rate) {
            return Err(FrontendError::decode(
                path,
                format!(
                    "{name}: sample rate changes mid-stream ({rate:?} -> {} Hz)",
                    spec.rate
                ),
            ));
        }
        rate = Some(spec.rate);
        let channels = spec.channels.count();
        let frames = decoded.frames();
        // Gapless trimming (encoder delay at the start, padding at the end).
        let keep =
            trim_start.min(frames)..frames.saturating_sub(trim_end).max(trim_start.min(frames));
        if channels == 0 || keep.is_empty() {
            continue;
        }
        let mut b = SampleBuffer::<f32>::new(decoded.capacity() as u64, spec);
        b.copy_interleaved_ref(decoded);
        let kept = &b.samples()[keep.start * channels..keep.end * channels];
        samples.extend(mixdown(kept.iter().copied(), channels, kept.len()));
    }
    if let Some(n) = exact_len {
        samples.truncate(usize::try_from(n).unwrap_or(usize::MAX));
    }
    let rate =
        rate.ok_or_else(|| FrontendError::decode(path, format!("{name}: unknown sample rate")))?;
    finish(path, samples, rate)
}
