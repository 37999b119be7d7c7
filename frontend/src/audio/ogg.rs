//! Ogg pages and packets (RFC 3533) of the first logical stream, read one page at a time.

use std::collections::VecDeque;
use std::io::Read;
use std::path::Path;

use super::read_full;
use crate::FrontendError;

/// Largest packet accepted. Opus audio packets are at most a few KB; comment packets with
/// cover art can be larger.
const MAX_PACKET: usize = 16 << 20;

/// CRC-32 of Ogg (polynomial 0x04C11DB7, not reflected, initial value 0).
const CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut r = (i as u32) << 24;
        let mut k = 0;
        while k < 8 {
            r = if r & 0x8000_0000 != 0 {
                (r << 1) ^ 0x04C1_1DB7
            } else {
                r << 1
            };
            k += 1;
        }
        t[i] = r;
        i += 1;
    }
    t
};

fn crc(mut c: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        c = (c << 8) ^ CRC_TABLE[((c >> 24) as u8 ^ b) as usize];
    }
    c
}

/// One packet and where it ends.
pub(super) struct Packet {
    pub data: Vec<u8>,
    /// Granule position of the page this packet completes on, when it is the last packet
    /// completed there (`-1` pages carry none).
    pub granule: Option<i64>,
    /// The last packet of the stream's final (end-of-stream) page.
    pub eos: bool,
}

/// Packets of the first logical stream of an Ogg file; pages of other streams
/// (multiplexed) are skipped, and the stream ends at its end-of-stream page.
pub(super) struct Packets<R> {
    r: R,
    serial: Option<u32>,
    partial: Vec<u8>,
    /// The packet being assembled started on a page we saw (not a continuation of an unseen
    /// page).
    partial_valid: bool,
    queue: VecDeque<Packet>,
    ended: bool,
    pages: u64,
}

fn bad(path: &Path, msg: impl std::fmt::Display) -> FrontendError {
    FrontendError::decode(path, format!("Ogg: {msg}"))
}

impl<R: Read> Packets<R> {
    pub(super) fn new(r: R) -> Self {
        Self {
            r,
            serial: None,
            partial: Vec::new(),
            partial_valid: true,
            queue: VecDeque::new(),
            ended: false,
            pages: 0,
        }
    }

    /// The next packet, or `None` after the last.
    pub(super) fn next(&mut self, path: &Path) -> Result<Option<Packet>, FrontendError> {
        while self.queue.is_empty() && !self.ended {
            self.read_page(path)?;
        }
        Ok(self.queue.pop_front())
    }

    fn read_page(&mut self, path: &Path) -> Result<(), FrontendError> {
        let io = |source| FrontendError::Io {
            path: path.into(),
            source,
        };
        let mut head = [0u8; 27];
        match read_full(&mut self.r, &mut head).map_err(io)? {
            0 => {
                // End of file without an end-of-stream page (e.g. a recording cut short):
                // what was complete is kept.
                if self.pages == 0 {
                    return Err(bad(path, "no pages"));
                }
                self.ended = true;
                return Ok(());
            }
            27 => {}
            _ => return Err(bad(path, "truncated page header")),
        }
        if &head[..4] != b"OggS" {
            return Err(bad(
                path,
                format!("corrupt stream (no page header at page {})", self.pages + 1),
            ));
        }
        if head[4] != 0 {
            return Err(bad(path, format!("unknown page version {}", head[4])));
        }
        let flags = head[5];
        let granule = i64::from_le_bytes(head[6..14].try_into().expect("8 bytes"));
        let serial = u32::from_le_bytes(head[14..18].try_into().expect("4 bytes"));
        let stored_crc = u32::from_le_bytes(head[22..26].try_into().expect("4 bytes"));
        let nseg = usize::from(head[26]);
        let mut lacing = [0u8; 255];
        if read_full(&mut self.r, &mut lacing[..nseg]).map_err(io)? < nseg {
            return Err(bad(path, "truncated page (segment table cut off)"));
        }
        let lacing = &lacing[..nseg];
        let body_len: usize = lacing.iter().map(|&l| usize::from(l)).sum();
        let mut body = vec![0u8; body_len];
        if read_full(&mut self.r, &mut body).map_err(io)? < body_len {
            return Err(bad(path, "truncated page (data cut off)"));
        }
        self.pages += 1;
        // Fuzzing builds skip the checksum so that the fuzzer reaches the decoder.
        if !cfg!(fuzzing) {
            head[22..26].fill(0);
            let c = crc(crc(crc(0, &head), lacing), &body);
            if c != stored_crc {
                return Err(bad(
                    path,
                    format!("corrupt page {} (checksum mismatch)", self.pages),
                ));
            }
        }
        let first = *self.serial.get_or_insert(serial);
        if serial != first {
            return Ok(()); // another logical stream
        }
        if flags & 0x01 == 0 {
            // Not a continuation: a packet left unfinished on the previous page is lost.
            self.partial.clear();
            self.partial_valid = true;
        } else if self.pages == 1 {
            self.partial_valid = false;
        }
        let mut at = 0;
        let mut last_complete = None;
        for &l in lacing {
            let seg = &body[at..at + usize::from(l)];
            at += usize::from(l);
            if self.partial.len() + seg.len() > MAX_PACKET {
                return Err(bad(path, "packet larger than 16 MiB"));
            }
            self.partial.extend_from_slice(seg);
            if l < 255 {
                let data = std::mem::take(&mut self.partial);
                if std::mem::replace(&mut self.partial_valid, true) {
                    self.queue.push_back(Packet {
                        data,
                        granule: None,
                        eos: false,
                    });
                    last_complete = Some(self.queue.len() - 1);
                }
            }
        }
        let eos = flags & 0x04 != 0;
        if let Some(i) = last_complete {
            let p = &mut self.queue[i];
            p.granule = (granule != -1).then_some(granule);
            p.eos = eos;
        }
        if eos {
            self.ended = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc_of_known_page() {
        // "OggS" page checksum check value of the CRC-32/MPEG-2-like Ogg variant:
        // CRC of "123456789" with this polynomial, init 0, no reflection, no final xor.
        assert_eq!(super::crc(0, b"123456789"), 0x89A1_897F);
    }
}
