//! Ogg Opus (RFC 7845) through `opus-decoder`, a pure-Rust port of libopus' decoder.
//!
//! Decoded at 48 kHz (Opus' own rate, and what `opusdec` does before it resamples) and
//! resampled to 16 kHz with [`Resampler16k`]. The header's pre-skip is dropped, the
//! end-of-stream granule position trims the end, and the output gain is applied, as
//! `opusdec --rate 16000` does; its float output and this decoder's differ by about 43 dB
//! SNR (the two resamplers).

use std::io::BufReader;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use opus_decoder::OpusDecoder;

use super::ogg::Packets;
use super::{Decode, Source};
use crate::resample::Resampler16k;
use crate::FrontendError;

/// The decoding rate.
const OPUS_RATE: u32 = 48_000;
/// Longest Opus packet: 120 ms at 48 kHz.
const MAX_FRAMES: usize = 5760;

/// One decoder per elementary stream (RFC 7845 section 5.1.1): the first `coupled` are
/// stereo, the rest mono; `mapping[c]` says which decoded channel output channel `c` is
/// (255: silence). `opus-decoder`'s own multistream decoder misreads the self-delimited
/// framing of all but the last stream, so the packets are split here.
struct Dec {
    streams: Vec<OpusDecoder>,
    coupled: usize,
    mapping: Vec<u8>,
    /// Decoded interleaved samples per stream.
    out: Vec<Vec<f32>>,
}

impl Dec {
    fn new(
        streams: usize,
        coupled: usize,
        mapping: &[u8],
    ) -> Result<Self, opus_decoder::OpusError> {
        let decoders = (0..streams)
            .map(|i| OpusDecoder::new(OPUS_RATE, if i < coupled { 2 } else { 1 }))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            streams: decoders,
            coupled,
            mapping: mapping.to_vec(),
            out: vec![vec![0.0; MAX_FRAMES * 2]; streams],
        })
    }

    /// Decodes one (multistream) packet into interleaved `pcm` of `mapping.len()` channels;
    /// returns the frames per channel.
    fn decode(&mut self, packet: &[u8], pcm: &mut [f32]) -> Result<usize, String> {
        let n = self.streams.len();
        let mut rest = packet;
        let mut frames = None;
        for (i, dec) in self.streams.iter_mut().enumerate() {
            let own;
            let sub: &[u8] = if packet.is_empty() {
                &[] // a lost packet: concealment in every stream
            } else if i + 1 < n {
                let (p, used) = self_delimited(rest)
                    .ok_or_else(|| format!("stream {i} of {n}: bad self-delimited framing"))?;
                rest = &rest[used..];
                own = p;
                &own
            } else {
                rest
            };
            let k = dec
                .decode_float(sub, &mut self.out[i], false)
                .map_err(|e| format!("stream {i}: {e}"))?;
            if *frames.get_or_insert(k) != k {
                return Err("streams decode to different lengths".into());
            }
        }
        let frames = frames.unwrap_or(0).min(MAX_FRAMES);
        let ch = self.mapping.len();
        for (c, &m) in self.mapping.iter().enumerate() {
            let m = usize::from(m);
            let (stream, stride, off) = if m == 255 {
                (None, 1, 0)
            } else if m < 2 * self.coupled {
                (Some(m / 2), 2, m % 2)
            } else {
                (Some(m - self.coupled), 1, 0)
            };
            for f in 0..frames {
                pcm[f * ch + c] = stream.map_or(0.0, |s| self.out[s][f * stride + off]);
            }
        }
        Ok(frames)
    }
}

/// Length field of a self-delimited packet: value and bytes used.
fn frame_size(d: &[u8]) -> Option<(usize, usize)> {
    let b0 = usize::from(*d.first()?);
    if b0 < 252 {
        Some((b0, 1))
    } else {
        Some((b0 + 4 * usize::from(*d.get(1)?), 2))
    }
}

/// Splits the self-delimited Opus packet (RFC 6716 appendix B) at the front of `data`:
/// the same packet in standard framing (without the extra length field), and the bytes it
/// took.
fn self_delimited(data: &[u8]) -> Option<(Vec<u8>, usize)> {
    let toc = *data.first()?;
    let mut p = 1;
    let mut sizes = 0usize;
    let (count, cbr, mut pad) = match toc & 3 {
        0 => (1, false, 0),
        1 => (2, true, 0),
        2 => {
            let (n, b) = frame_size(data.get(p..)?)?;
            p += b;
            sizes = n;
            (2, false, 0)
        }
        _ => {
            let c = *data.get(p)?;
            p += 1;
            let count = usize::from(c & 0x3F);
            if count == 0 {
                return None;
            }
            let mut pad = 0;
            if c & 0x40 != 0 {
                loop {
                    let b = *data.get(p)?;
                    p += 1;
                    pad += if b == 255 { 254 } else { usize::from(b) };
                    if b != 255 {
                        break;
                    }
                }
            }
            let cbr = c & 0x80 == 0;
            if !cbr {
                for _ in 0..count - 1 {
                    let (n, b) = frame_size(data.get(p..)?)?;
                    p += b;
                    sizes += n;
                }
            }
            (count, cbr, pad)
        }
    };
    let at = p;
    let (last, b) = frame_size(data.get(p..)?)?;
    p += b;
    let frames = if cbr { last * count } else { sizes + last };
    pad += frames;
    let end = p.checked_add(pad)?;
    if end > data.len() {
        return None;
    }
    let mut out = Vec::with_capacity(end - b);
    out.extend_from_slice(&data[..at]);
    out.extend_from_slice(&data[p..end]);
    Some((out, end))
}

/// An Ogg Opus stream after its headers.
pub(super) struct Opus {
    packets: Packets<BufReader<Box<dyn Source>>>,
    dec: Option<Dec>,
    channels: usize,
    /// 48 kHz samples still to drop at the start (pre-skip).
    skip: u64,
    /// Linear output gain from the header.
    gain: f32,
    /// 48 kHz samples decoded so far (pre-skip included, as granule positions count).
    decoded: u64,
    packet_no: u64,
    pcm: Vec<f32>,
    mono: Vec<f32>,
    resampler: Resampler16k,
    finished: bool,
}

fn bad(path: &Path, msg: impl std::fmt::Display) -> FrontendError {
    FrontendError::decode(path, format!("Ogg Opus: {msg}"))
}

impl Opus {
    pub(super) fn open(path: &Path, src: Box<dyn Source>) -> Result<Self, FrontendError> {
        let mut packets = Packets::new(BufReader::new(src));
        let head = packets
            .next(path)?
            .ok_or_else(|| bad(path, "no header packet"))?
            .data;
        if !head.starts_with(b"OpusHead") {
            return Err(FrontendError::unsupported(
                path,
                "Ogg stream is not Opus (no OpusHead header)",
            ));
        }
        if head.len() < 19 {
            return Err(bad(path, "header too short"));
        }
        if head[8] >> 4 != 0 {
            return Err(FrontendError::unsupported(
                path,
                format!("Ogg Opus: header version {} is not supported", head[8]),
            ));
        }
        let channels = usize::from(head[9]);
        let preskip = u16::from_le_bytes([head[10], head[11]]);
        let gain_db = f32::from(i16::from_le_bytes([head[16], head[17]])) / 256.0;
        let family = head[18];
        if channels == 0 {
            return Err(bad(path, "header says 0 channels"));
        }
        let opus_err = |e: opus_decoder::OpusError| bad(path, format!("bad channel setup: {e}"));
        let dec = match family {
            0 => {
                if channels > 2 {
                    return Err(bad(
                        path,
                        format!("{channels} channels with mapping family 0 (at most 2)"),
                    ));
                }
                let mapping: &[u8] = if channels == 2 { &[0, 1] } else { &[0] };
                Dec::new(1, channels - 1, mapping).map_err(opus_err)?
            }
            1 | 255 => {
                if head.len() < 21 + channels {
                    return Err(bad(path, "channel mapping table cut off"));
                }
                let (streams, coupled) = (usize::from(head[19]), usize::from(head[20]));
                if streams == 0 || coupled > streams || streams + coupled > 255 {
                    return Err(bad(
                        path,
                        format!("bad stream counts ({streams} streams, {coupled} coupled)"),
                    ));
                }
                let mapping = &head[21..21 + channels];
                if mapping
                    .iter()
                    .any(|&m| m != 255 && usize::from(m) >= streams + coupled)
                {
                    return Err(bad(
                        path,
                        "channel mapping names a stream that does not exist",
                    ));
                }
                Dec::new(streams, coupled, mapping).map_err(opus_err)?
            }
            f => {
                return Err(FrontendError::unsupported(
                    path,
                    format!("Ogg Opus: channel mapping family {f} is not supported"),
                ))
            }
        };
        let tags = packets
            .next(path)?
            .ok_or_else(|| bad(path, "no comment header (OpusTags)"))?;
        if !tags.data.starts_with(b"OpusTags") {
            return Err(bad(
                path,
                "second packet is not the comment header (OpusTags)",
            ));
        }
        Ok(Self {
            packets,
            dec: Some(dec),
            channels,
            skip: u64::from(preskip),
            gain: 10f32.powf(gain_db / 20.0),
            decoded: 0,
            packet_no: 2,
            pcm: vec![0.0; MAX_FRAMES * channels],
            mono: Vec::with_capacity(MAX_FRAMES),
            resampler: Resampler16k::new(OPUS_RATE).expect("48 kHz is supported"),
            finished: false,
        })
    }

    pub(super) fn rate(&self) -> u32 {
        crate::resample::TARGET_RATE
    }
}

impl Decode for Opus {
    fn next(&mut self, path: &Path, out: &mut Vec<f32>) -> Result<bool, FrontendError> {
        if self.finished {
            return Ok(false);
        }
        let Some(packet) = self.packets.next(path)? else {
            self.resampler.finish(out);
            self.finished = true;
            return Ok(false);
        };
        self.packet_no += 1;
        let Some(dec) = self.dec.as_mut() else {
            return Err(bad(path, "decoder failed earlier"));
        };
        let pcm = &mut self.pcm;
        // The decoder is a port of C code; should it ever panic on a hostile packet, that is
        // a decoding error of this file, not a crash.
        let r = catch_unwind(AssertUnwindSafe(|| dec.decode(&packet.data, pcm)));
        let frames = match r {
            Ok(Ok(n)) => n.min(MAX_FRAMES),
            Ok(Err(e)) => return Err(bad(path, format!("packet {}: {e}", self.packet_no))),
            Err(_) => {
                self.dec = None;
                return Err(bad(
                    path,
                    format!("packet {}: the decoder failed", self.packet_no),
                ));
            }
        };
        let start = self.decoded;
        self.decoded += frames as u64;
        // Keep 48 kHz samples [from, to) of this packet.
        let from = self.skip.min(frames as u64) as usize;
        self.skip -= from as u64;
        let mut to = frames;
        if packet.eos {
            if let Some(g) = packet.granule {
                let end = u64::try_from(g).unwrap_or(0);
                to = to.min(end.saturating_sub(start) as usize);
            }
        }
        if from < to {
            self.mono.clear();
            let ch = self.channels;
            let g = self.gain;
            super::mixdown(
                self.pcm[from * ch..to * ch].iter().map(|&s| s * g),
                ch,
                &mut self.mono,
            );
            self.resampler.accept(&self.mono, out);
        }
        Ok(true)
    }
}
