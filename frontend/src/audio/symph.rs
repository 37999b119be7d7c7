//! FLAC, MP3 and Ogg Vorbis through symphonia, one packet at a time.
//!
//! Before symphonia sees a file, the parts of it that symphonia 0.5 parses unsafely are
//! dropped or checked here (found by fuzzing: it allocates whatever length a corrupt
//! Vorbis-comment or picture block claims, up to 4 GiB): FLAC keeps only its STREAMINFO
//! block, MP3 skips its ID3v2 tags, and Ogg Vorbis comment headers are checked.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{Decoder, DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSource, MediaSourceStream};

use super::{mixdown, read_full, stream_len, AudioFormat, Decode, Source};
use crate::FrontendError;

/// Largest Ogg Vorbis identification + comment header accepted (they normally take a few
/// KB; cover art can make the comments large).
const MAX_OGG_HEADERS: u64 = 64 << 20;

/// A file as symphonia sees it: `prefix` (rewritten header bytes), then `inner` from
/// `start` on.
struct Spliced {
    prefix: Vec<u8>,
    inner: Box<dyn Source>,
    start: u64,
    len: u64,
    pos: u64,
}

impl Read for Spliced {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let p = self.prefix.len() as u64;
        if self.pos < p {
            let from = &self.prefix[self.pos as usize..];
            let n = from.len().min(buf.len());
            buf[..n].copy_from_slice(&from[..n]);
            self.pos += n as u64;
            if self.pos == p {
                self.inner.seek(SeekFrom::Start(self.start))?;
            }
            return Ok(n);
        }
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Spliced {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            SeekFrom::Start(t) => Some(t),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "bad seek"))?;
        let p = self.prefix.len() as u64;
        if target >= p {
            self.inner
                .seek(SeekFrom::Start(self.start + (target - p)))?;
        }
        self.pos = target;
        Ok(target)
    }
}

impl MediaSource for Spliced {
    fn is_seekable(&self) -> bool {
        true
    }
    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}

/// A symphonia format reader and decoder on one track.
pub(super) struct Symphonia {
    format: AudioFormat,
    reader: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track_id: u32,
    rate: u32,
    /// Exact length in frames when the container knows it (Ogg's last granule position;
    /// symphonia 0.5 does not trim the final Vorbis block's padding itself).
    exact_len: Option<u64>,
    frames: u64,
}

impl Symphonia {
    pub(super) fn open(
        path: &Path,
        mut src: Box<dyn Source>,
        format: AudioFormat,
    ) -> Result<Self, FrontendError> {
        let name = format.name();
        let io = |source| FrontendError::Io {
            path: path.into(),
            source,
        };
        let len = stream_len(&mut *src).map_err(io)?;
        let (prefix, start) = match format {
            AudioFormat::Flac => flac_header(path, &mut *src, len)?,
            AudioFormat::Mp3 => (Vec::new(), skip_id3v2(path, &mut *src, len)?),
            _ => {
                check_ogg_vorbis_headers(path, &mut *src)?;
                (Vec::new(), 0)
            }
        };
        src.seek(SeekFrom::Start(start)).map_err(io)?;
        let spliced = Spliced {
            len: prefix.len() as u64 + (len - start),
            pos: 0,
            prefix,
            inner: src,
            start,
        };
        let sym_err = |what: &str, e: SymError| sym_error(path, name, what, e);
        // The reader for the detected format only: symphonia's probe would scan the data for
        // any known signature and could parse, say, a FLAC header buried in an MP3.
        let mss = MediaSourceStream::new(Box::new(spliced), Default::default());
        let opts = FormatOptions {
            enable_gapless: true,
            ..Default::default()
        };
        fn boxed<R: FormatReader + 'static>(
            r: symphonia::core::errors::Result<R>,
        ) -> symphonia::core::errors::Result<Box<dyn FormatReader>> {
            r.map(|r| Box::new(r) as Box<dyn FormatReader>)
        }
        use symphonia::default::formats;
        let reader = match format {
            AudioFormat::Flac => boxed(formats::FlacReader::try_new(mss, &opts)),
            AudioFormat::Mp3 => boxed(formats::MpaReader::try_new(mss, &opts)),
            _ => boxed(formats::OggReader::try_new(mss, &opts)),
        };
        let reader = reader.map_err(|e| sym_err("cannot read container", e))?;
        let track = reader
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or_else(|| FrontendError::decode(path, format!("{name}: no audio track")))?;
        let track_id = track.id;
        let exact_len = if format == AudioFormat::OggVorbis {
            track.codec_params.n_frames
        } else {
            None
        };
        let rate = track.codec_params.sample_rate;
        let decoder = symphonia::default::get_codecs()
            .make(&track.codec_params, &DecoderOptions::default())
            .map_err(|e| sym_err("cannot create decoder", e))?;
        let rate = rate
            .ok_or_else(|| FrontendError::decode(path, format!("{name}: unknown sample rate")))?;
        Ok(Self {
            format,
            reader,
            decoder,
            track_id,
            rate,
            exact_len,
            frames: 0,
        })
    }

    pub(super) fn rate(&self) -> u32 {
        self.rate
    }
}

fn sym_error(path: &Path, name: &str, what: &str, e: SymError) -> FrontendError {
    match e {
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
    }
}

impl Decode for Symphonia {
    fn next(&mut self, path: &Path, out: &mut Vec<f32>) -> Result<bool, FrontendError> {
        let name = self.format.name();
        let packet = match self.reader.next_packet() {
            Ok(p) => p,
            // End of stream.
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Ok(false)
            }
            Err(SymError::ResetRequired) => return Ok(false),
            Err(e) => return Err(sym_error(path, name, "reading packet", e)),
        };
        if packet.track_id() != self.track_id {
            return Ok(true);
        }
        let (trim_start, trim_end) = (packet.trim_start as usize, packet.trim_end as usize);
        let decoded = self
            .decoder
            .decode(&packet)
            .map_err(|e| sym_error(path, name, "decoding", e))?;
        let spec = *decoded.spec();
        if spec.rate != self.rate {
            return Err(FrontendError::decode(
                path,
                format!(
                    "{name}: sample rate changes mid-stream ({} -> {} Hz)",
                    self.rate, spec.rate
                ),
            ));
        }
        let channels = spec.channels.count();
        let frames = decoded.frames();
        // Gapless trimming (encoder delay at the start, padding at the end).
        let mut keep =
            trim_start.min(frames)..frames.saturating_sub(trim_end).max(trim_start.min(frames));
        if let Some(n) = self.exact_len {
            let left = n.saturating_sub(self.frames) as usize;
            keep.end = keep.end.min(keep.start + left);
        }
        if channels == 0 || keep.is_empty() {
            return Ok(true);
        }
        self.frames += keep.len() as u64;
        let mut b = SampleBuffer::<f32>::new(decoded.capacity() as u64, spec);
        b.copy_interleaved_ref(decoded);
        let kept = &b.samples()[keep.start * channels..keep.end * channels];
        mixdown(kept.iter().copied(), channels, out);
        Ok(true)
    }
}

fn read_exact_at(
    path: &Path,
    src: &mut dyn Source,
    buf: &mut [u8],
    what: &str,
) -> Result<(), FrontendError> {
    let n = read_full(src, buf).map_err(|source| FrontendError::Io {
        path: path.into(),
        source,
    })?;
    if n < buf.len() {
        return Err(FrontendError::decode(path, what));
    }
    Ok(())
}

/// The header symphonia gets for a FLAC file (`fLaC` + STREAMINFO only) and where its audio
/// frames start. Tags and pictures are not needed, and are skipped unread.
fn flac_header(
    path: &Path,
    src: &mut dyn Source,
    len: u64,
) -> Result<(Vec<u8>, u64), FrontendError> {
    let mut pos = 4u64; // after "fLaC"
    src.seek(SeekFrom::Start(pos))
        .map_err(|source| FrontendError::Io {
            path: path.into(),
            source,
        })?;
    let mut streaminfo: Option<Vec<u8>> = None;
    loop {
        let mut hdr = [0u8; 4];
        read_exact_at(path, src, &mut hdr, "FLAC: truncated metadata")?;
        let (last, kind) = (hdr[0] & 0x80 != 0, hdr[0] & 0x7F);
        let block = u64::from(u32::from_be_bytes([0, hdr[1], hdr[2], hdr[3]]));
        pos += 4;
        if pos + block > len {
            return Err(FrontendError::decode(
                path,
                format!(
                    "FLAC: metadata block of {block} bytes runs past the end (truncated or corrupt)"
                ),
            ));
        }
        if kind == 0 && streaminfo.is_none() {
            let mut body = vec![0u8; block as usize];
            read_exact_at(path, src, &mut body, "FLAC: truncated metadata")?;
            streaminfo = Some(body);
        } else {
            src.seek(SeekFrom::Start(pos + block))
                .map_err(|source| FrontendError::Io {
                    path: path.into(),
                    source,
                })?;
        }
        pos += block;
        if last {
            break;
        }
    }
    let info =
        streaminfo.ok_or_else(|| FrontendError::decode(path, "FLAC: no STREAMINFO block"))?;
    let n = info.len() as u32;
    let mut out = Vec::with_capacity(8 + info.len());
    out.extend_from_slice(b"fLaC");
    out.extend_from_slice(&[0x80, (n >> 16) as u8, (n >> 8) as u8, n as u8]);
    out.extend_from_slice(&info);
    Ok((out, pos))
}

/// Offset of the first byte after leading ID3v2 tags (we need no tags, and symphonia's tag
/// parser is more attack surface); the MP3 reader then syncs to the first frame.
fn skip_id3v2(path: &Path, src: &mut dyn Source, len: u64) -> Result<u64, FrontendError> {
    let mut pos = 0u64;
    loop {
        src.seek(SeekFrom::Start(pos))
            .map_err(|source| FrontendError::Io {
                path: path.into(),
                source,
            })?;
        let mut h = [0u8; 10];
        let n = read_full(src, &mut h).map_err(|source| FrontendError::Io {
            path: path.into(),
            source,
        })?;
        if n < 3 || &h[..3] != b"ID3" {
            break;
        }
        if n < 10 {
            return Err(FrontendError::decode(path, "MP3: truncated ID3v2 tag"));
        }
        // Syncsafe size: 4 x 7 bits; plus a 10-byte footer when flagged.
        let size = h[6..10]
            .iter()
            .fold(0u64, |acc, &b| (acc << 7) | u64::from(b & 0x7F));
        pos += 10 + size + if h[5] & 0x10 != 0 { 10 } else { 0 };
        if pos > len {
            return Err(FrontendError::decode(
                path,
                "MP3: ID3v2 tag runs past the end",
            ));
        }
    }
    if pos >= len {
        return Err(FrontendError::decode(
            path,
            "MP3: no audio after the ID3v2 tag",
        ));
    }
    Ok(pos)
}

/// Checks the first two packets of an Ogg stream: it must be Vorbis, and every length in
/// its comment header must fit in the packet. symphonia 0.5 allocates whatever a comment
/// length claims before reading it (up to 4 GiB, found by fuzzing).
fn check_ogg_vorbis_headers(path: &Path, src: &mut dyn Source) -> Result<(), FrontendError> {
    let mut packets: Vec<Vec<u8>> = Vec::new();
    let mut cur = Vec::new();
    let mut serial = None;
    let mut read = 0u64;
    let mut limited = (&mut *src).take(MAX_OGG_HEADERS);
    'pages: while packets.len() < 2 {
        let mut head = [0u8; 27];
        if read_full(&mut limited, &mut head).unwrap_or(0) < 27 || &head[..4] != b"OggS" {
            break;
        }
        let nseg = head[26] as usize;
        let mut lacing = vec![0u8; nseg];
        if read_full(&mut limited, &mut lacing).unwrap_or(0) < nseg {
            break;
        }
        let body_len: usize = lacing.iter().map(|&l| l as usize).sum();
        let mut body = vec![0u8; body_len];
        if read_full(&mut limited, &mut body).unwrap_or(0) < body_len {
            break;
        }
        read += (27 + nseg + body_len) as u64;
        // Pages of other logical streams do not belong to the first packet sequence.
        if *serial.get_or_insert([head[14], head[15], head[16], head[17]])
            != [head[14], head[15], head[16], head[17]]
        {
            continue;
        }
        let mut data = 0;
        for &l in &lacing {
            cur.extend_from_slice(&body[data..data + l as usize]);
            data += l as usize;
            if l < 255 {
                packets.push(std::mem::take(&mut cur));
                if packets.len() == 2 {
                    break 'pages;
                }
            }
        }
    }
    if packets.len() < 2 && read >= MAX_OGG_HEADERS {
        return Err(FrontendError::decode(
            path,
            "Ogg Vorbis: headers larger than 64 MiB",
        ));
    }
    if let Some(first) = packets.first() {
        if !first.starts_with(b"\x01vorbis") {
            return Err(FrontendError::unsupported(
                path,
                "Ogg stream is neither Vorbis nor Opus (e.g. FLAC or Speex in Ogg)",
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
