//! Streaming WAV reader: RIFF and RF64, PCM 8/16/24/32-bit, IEEE float 32/64-bit, A-law and
//! µ-law (plain or `WAVE_FORMAT_EXTENSIBLE`).
//!
//! Files written through a pipe cannot go back to fill in the data length, so writers put a
//! placeholder there (0, `0xFFFFFFFF`, or sox's `0x7FFFF000`): with those the data is read
//! to the end of the file. Any other length that runs past the end of the file is an error
//! (a truncated file), reported before any audio is decoded.

use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::{mixdown, read_full, stream_len, Decode, Source};
use crate::FrontendError;

/// Frames decoded per block.
const BLOCK_FRAMES: usize = 4096;
/// Data lengths that mean "until the end of the file".
const PLACEHOLDER_LENGTHS: [u32; 3] = [0, 0xFFFF_FFFF, 0x7FFF_F000];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    U8,
    I16,
    I24,
    I32,
    F32,
    F64,
    ALaw,
    MuLaw,
}

impl Kind {
    fn bytes(self) -> usize {
        match self {
            Kind::U8 | Kind::ALaw | Kind::MuLaw => 1,
            Kind::I16 => 2,
            Kind::I24 => 3,
            Kind::I32 | Kind::F32 => 4,
            Kind::F64 => 8,
        }
    }

    fn sample(self, b: &[u8]) -> f32 {
        match self {
            Kind::U8 => (f32::from(b[0]) - 128.0) / 128.0,
            Kind::I16 => f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0,
            Kind::I24 => (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0,
            Kind::I32 => {
                (f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])) / 2_147_483_648.0) as f32
            }
            Kind::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            Kind::F64 => {
                f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
            }
            Kind::ALaw => f32::from(alaw(b[0])) / 32768.0,
            Kind::MuLaw => f32::from(ulaw(b[0])) / 32768.0,
        }
    }
}

/// G.711 A-law to linear 16-bit.
fn alaw(a: u8) -> i16 {
    let a = a ^ 0x55;
    let (seg, mant) = ((a >> 4) & 7, i16::from(a & 0x0F));
    let mag = match seg {
        0 => (mant << 4) + 8,
        s => ((mant << 4) + 0x108) << (s - 1),
    };
    if a & 0x80 != 0 {
        mag
    } else {
        -mag
    }
}

/// G.711 µ-law to linear 16-bit.
fn ulaw(u: u8) -> i16 {
    let u = !u;
    let (seg, mant) = ((u >> 4) & 7, i16::from(u & 0x0F));
    let mag = (((mant << 3) + 0x84) << seg) - 0x84;
    if u & 0x80 != 0 {
        -mag
    } else {
        mag
    }
}

/// Name of a WAV format tag this reader does not decode.
fn tag_name(tag: u16) -> String {
    let name = match tag {
        0x0002 => "Microsoft ADPCM",
        0x0011 => "IMA ADPCM",
        0x0031 => "GSM 6.10",
        0x0040 => "G.721 ADPCM",
        0x0050 => "MPEG",
        0x0055 => "MPEG layer 3",
        0x0160..=0x0162 => "Windows Media Audio",
        0x00FF | 0x1610 => "AAC",
        0x2000 => "AC-3",
        _ => "",
    };
    if name.is_empty() {
        format!("format tag 0x{tag:04X}")
    } else {
        format!("{name} (format tag 0x{tag:04X})")
    }
}

/// A WAV file positioned at its sample data.
pub(super) struct Wav {
    r: BufReader<Box<dyn Source>>,
    kind: Kind,
    channels: usize,
    rate: u32,
    /// Data bytes left, or `None` to read to the end of the file.
    remaining: Option<u64>,
    buf: Vec<u8>,
}

fn bad(path: &Path, msg: impl std::fmt::Display) -> FrontendError {
    FrontendError::decode(path, format!("WAV: {msg}"))
}

fn unsupported(path: &Path, msg: impl std::fmt::Display) -> FrontendError {
    FrontendError::unsupported(path, format!("WAV: {msg}"))
}

impl Wav {
    pub(super) fn open(path: &Path, mut src: Box<dyn Source>) -> Result<Self, FrontendError> {
        let io = |source| FrontendError::Io {
            path: path.into(),
            source,
        };
        let len = stream_len(&mut *src).map_err(io)?;
        let mut r = BufReader::new(src);
        let mut head = [0u8; 12];
        if read_full(&mut r, &mut head).map_err(io)? < 12 {
            return Err(bad(path, "truncated header"));
        }
        match &head[..4] {
            b"RIFF" | b"RF64" => {}
            b"RIFX" => return Err(unsupported(path, "big-endian WAV (RIFX) is not supported")),
            _ => return Err(bad(path, "not a RIFF/WAVE header")),
        }
        let rf64 = &head[..4] == b"RF64";
        let mut pos = 12u64;
        let mut fmt: Option<(Kind, usize, u32)> = None;
        let mut ds64_data: Option<u64> = None;
        loop {
            let mut ch = [0u8; 8];
            match read_full(&mut r, &mut ch).map_err(io)? {
                0 => return Err(bad(path, "no data chunk (truncated or not a WAV file)")),
                8 => {}
                _ => return Err(bad(path, "truncated header (chunk header cut off)")),
            }
            pos += 8;
            let id = [ch[0], ch[1], ch[2], ch[3]];
            let size = u32::from_le_bytes([ch[4], ch[5], ch[6], ch[7]]);
            let rest = len.saturating_sub(pos);
            match &id {
                b"fmt " => {
                    if !(14..=4096).contains(&size) || u64::from(size) > rest {
                        return Err(bad(path, format!("bad fmt chunk ({size} bytes)")));
                    }
                    let mut b = vec![0u8; size as usize];
                    r.read_exact(&mut b).map_err(io)?;
                    fmt = Some(parse_fmt(path, &b)?);
                    pos += u64::from(size);
                    if size % 2 == 1 && pos < len {
                        r.seek_relative(1).map_err(io)?;
                        pos += 1;
                    }
                }
                b"ds64" if rf64 => {
                    if !(16..=4096).contains(&size) || u64::from(size) > rest {
                        return Err(bad(path, format!("bad ds64 chunk ({size} bytes)")));
                    }
                    let mut b = vec![0u8; size as usize];
                    r.read_exact(&mut b).map_err(io)?;
                    let mut d = [0u8; 8];
                    d.copy_from_slice(&b[8..16]);
                    ds64_data = Some(u64::from_le_bytes(d));
                    pos += u64::from(size);
                }
                b"data" => {
                    let Some((kind, channels, rate)) = fmt else {
                        return Err(bad(path, "data chunk before the fmt chunk"));
                    };
                    let declared = match (rf64, ds64_data) {
                        (true, Some(d)) if size == 0xFFFF_FFFF => Some(d),
                        (true, None) => None,
                        _ if PLACEHOLDER_LENGTHS.contains(&size) => None,
                        _ => Some(u64::from(size)),
                    };
                    if let Some(d) = declared {
                        if d > rest {
                            return Err(bad(
                                path,
                                format!(
                                    "truncated WAV: data ends before the length given in its header ({rest} of {d} bytes)"
                                ),
                            ));
                        }
                    }
                    let block = BLOCK_FRAMES * channels * kind.bytes();
                    return Ok(Wav {
                        r,
                        kind,
                        channels,
                        rate,
                        remaining: declared,
                        buf: vec![0; block],
                    });
                }
                _ => {
                    let skip = u64::from(size) + u64::from(size % 2);
                    if skip > rest {
                        return Err(bad(
                            path,
                            format!(
                                "chunk `{}` runs past the end of the file before any data (truncated)",
                                String::from_utf8_lossy(&id).escape_debug()
                            ),
                        ));
                    }
                    r.seek(SeekFrom::Current(skip as i64)).map_err(io)?;
                    pos += skip;
                }
            }
        }
    }

    pub(super) fn rate(&self) -> u32 {
        self.rate
    }
}

/// Parses a fmt chunk into (sample kind, channels, rate).
fn parse_fmt(path: &Path, b: &[u8]) -> Result<(Kind, usize, u32), FrontendError> {
    let u16at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    let mut tag = u16at(0);
    let channels = usize::from(u16at(2));
    let rate = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
    let block_align = usize::from(u16at(12));
    let bits = if b.len() >= 16 { u16at(14) } else { 8 };
    if tag == 0xFFFE {
        // WAVE_FORMAT_EXTENSIBLE: the sub-format GUID starts with the real tag.
        if b.len() < 40 {
            return Err(bad(path, "extensible fmt chunk too short"));
        }
        tag = u16at(24);
    }
    if channels == 0 {
        return Err(bad(path, "header says 0 channels"));
    }
    if channels > 1024 {
        return Err(bad(path, format!("header says {channels} channels")));
    }
    if rate == 0 {
        return Err(bad(path, "sample rate is 0"));
    }
    let container = if channels > 0 && block_align % channels == 0 {
        block_align / channels
    } else {
        0
    };
    let kind = match (tag, bits) {
        (1, 1..=8) => Kind::U8,
        (1, 9..=16) => Kind::I16,
        (1, 17..=24) => Kind::I24,
        (1, 25..=32) => Kind::I32,
        (3, 32) => Kind::F32,
        (3, 64) => Kind::F64,
        (6, 8) => Kind::ALaw,
        (7, 8) => Kind::MuLaw,
        (1 | 3 | 6 | 7, _) => {
            return Err(unsupported(
                path,
                format!(
                    "{bits}-bit {} samples",
                    if tag == 3 { "float" } else { "integer" }
                ),
            ))
        }
        (t, _) => {
            return Err(unsupported(
                path,
                format!(
                "{} encoding is not supported (PCM, float, A-law and µ-law are); convert to PCM",
                tag_name(t)
            ),
            ))
        }
    };
    if container != kind.bytes() {
        return Err(bad(
            path,
            format!("bad fmt chunk: block align {block_align} for {channels} channel(s) of {bits}-bit samples"),
        ));
    }
    Ok((kind, channels, rate))
}

impl Decode for Wav {
    fn next(&mut self, path: &Path, out: &mut Vec<f32>) -> Result<bool, FrontendError> {
        let want = match self.remaining {
            Some(r) => (self.buf.len() as u64).min(r) as usize,
            None => self.buf.len(),
        };
        if want == 0 {
            return Ok(false);
        }
        let got =
            read_full(&mut self.r, &mut self.buf[..want]).map_err(|source| FrontendError::Io {
                path: path.into(),
                source,
            })?;
        if let Some(r) = &mut self.remaining {
            if got < want {
                return Err(bad(
                    path,
                    "truncated WAV: data ends before the length given in its header",
                ));
            }
            *r -= got as u64;
        }
        let frame = self.channels * self.kind.bytes();
        // A partial frame only at the end of a file read to its end: dropped.
        let whole = got - got % frame;
        let kind = self.kind;
        let samples = self.buf[..whole]
            .chunks_exact(kind.bytes())
            .map(|b| kind.sample(b));
        mixdown(samples, self.channels, out);
        Ok(got == want && self.remaining != Some(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g711_tables() {
        // Reference values from the ITU-T G.711 tables.
        assert_eq!(ulaw(0xFF), 0);
        assert_eq!(ulaw(0x7F), 0);
        assert_eq!(ulaw(0x80), 32124);
        assert_eq!(ulaw(0x00), -32124);
        assert_eq!(alaw(0xD5), 8);
        assert_eq!(alaw(0x55), -8);
        assert_eq!(alaw(0xAA), 32256);
        assert_eq!(alaw(0x2A), -32256);
    }
}
