//! The binary form of an [`NgramLm`](super::NgramLm): a versioned, little-endian image that is
//! memory-mapped and queried in place (zero-copy).
//!
//! ```text
//! header (128 bytes)
//!   0  magic            b"SOTTOLM\0"
//!   8  version          u32 = 1
//!  12  order            u32 (1..=5)
//!  16  vocab            u32 (V)
//!  20  bos, eos, unk    u32 each (unk = 0xFFFF_FFFF when absent)
//!  32  counts           u64 × 5 (n-grams per order; counts[0] = V; zero above the order)
//!  72  word_bytes       u64 (bytes of the concatenated words)
//!  80  file_len         u64 (whole file, a multiple of 8)
//!  88  data_checksum    u64 (over bytes 128..file_len)
//!  96  reserved         24 zero bytes
//! 120  header_checksum  u64 (over bytes 0..120)
//! sections, each starting at a multiple of 8 (zero padding between):
//!   word_offsets   u32 × (V+1)   word i = word_bytes[off[i]..off[i+1]] (UTF-8)
//!   sorted_vocab   u32 × V       word ids sorted by their bytes (for word → id)
//!   uni_prob       f32 × V       log10 p(w)
//!   uni_backoff    f32 × V       log10 bo(w)
//!   uni_child      u32 × (V+1)   (order ≥ 2) children of w in level 2: [child[w], child[w+1])
//!   for k in 2..=order, level k (n-grams of order k in a reversed trie):
//!     words        u32 × n_k     the word k-1 positions before the predicted one
//!     prob         f32 × n_k     log10 p
//!     backoff      f32 × n_k     (k < order) log10 bo
//!     child        u32 × (n_k+1) (k < order) children in level k+1
//!   word_bytes     u8 × word_bytes
//! ```
//!
//! An n-gram `w1 … wk` (forward order) is found by starting at unigram `wk` and descending
//! through `wk-1`, …, `w1`; the entries under a node are sorted by word id. Probabilities and
//! backoffs are stored as f32 (not quantized): 16 bytes per n-gram below the top order, 8 at the
//! top. A backoff of `-0.0` (numerically zero) marks an n-gram that no longer n-gram extends, so
//! that states can be minimized without a second lookup.
//!
//! Loading checks the magic, version, header checksum, the exact file size, alignment, the data
//! checksum and every structural invariant the query relies on (offsets within bounds and
//! non-decreasing, word ids in range, sorted child lists, UTF-8 words, a sorted vocabulary index);
//! a bad file is a named [`NgramError`], never a panic or an out-of-bounds read.

use std::fs::File;
use std::path::Path;

use super::{NgramError, NgramLm, MAX_ORDER};

/// The first 8 bytes of a binary LM.
pub const MAGIC: [u8; 8] = *b"SOTTOLM\0";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;
/// Bytes of the header.
pub const HEADER_LEN: usize = 128;
/// Largest vocabulary (word ids are packed 25 bits each into 128-bit n-gram keys while building).
pub const MAX_VOCAB: usize = (1 << 25) - 1;
const NO_UNK: u32 = u32::MAX;

/// A section: byte offset in the image and length in elements.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Sec {
    pub off: usize,
    pub len: usize,
}

/// Sections of one trie level (orders 2..=order).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct LevelSec {
    pub words: Sec,
    pub prob: Sec,
    pub backoff: Sec,
    pub child: Sec,
}

/// Where everything is in the image (derived from the header alone).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Layout {
    pub order: usize,
    pub vocab: usize,
    pub bos: u32,
    pub eos: u32,
    pub unk: Option<u32>,
    pub counts: [usize; MAX_ORDER],
    pub word_offsets: Sec,
    pub sorted_vocab: Sec,
    pub uni_prob: Sec,
    pub uni_backoff: Sec,
    pub uni_child: Sec,
    /// `levels[k - 2]` for order k.
    pub levels: [LevelSec; MAX_ORDER - 1],
    pub word_bytes: Sec,
    pub file_len: usize,
}

fn align8(x: usize) -> Option<usize> {
    x.checked_add(7).map(|v| v & !7)
}

impl Layout {
    /// Lays out sections for the given sizes; `None` if they overflow.
    pub fn compute(
        order: usize,
        counts: [usize; MAX_ORDER],
        word_bytes: usize,
        specials: (u32, u32, Option<u32>),
    ) -> Option<Layout> {
        let mut at = HEADER_LEN;
        let mut sec = |elems: usize, size: usize| -> Option<Sec> {
            let s = Sec {
                off: at,
                len: elems,
            };
            at = align8(at.checked_add(elems.checked_mul(size)?)?)?;
            Some(s)
        };
        let v = counts[0];
        let word_offsets = sec(v.checked_add(1)?, 4)?;
        let sorted_vocab = sec(v, 4)?;
        let uni_prob = sec(v, 4)?;
        let uni_backoff = sec(v, 4)?;
        let uni_child = if order >= 2 {
            sec(v.checked_add(1)?, 4)?
        } else {
            Sec::default()
        };
        let mut levels = [LevelSec::default(); MAX_ORDER - 1];
        for k in 2..=order {
            let n = counts[k - 1];
            let l = &mut levels[k - 2];
            l.words = sec(n, 4)?;
            l.prob = sec(n, 4)?;
            if k < order {
                l.backoff = sec(n, 4)?;
                l.child = sec(n.checked_add(1)?, 4)?;
            }
        }
        let word_bytes = sec(word_bytes, 1)?;
        Some(Layout {
            order,
            vocab: v,
            bos: specials.0,
            eos: specials.1,
            unk: specials.2,
            counts,
            word_offsets,
            sorted_vocab,
            uni_prob,
            uni_backoff,
            uni_child,
            levels,
            word_bytes,
            file_len: at,
        })
    }
}

/// The bytes of a model: owned (8-byte aligned) or memory-mapped.
pub(crate) enum Image {
    Owned { words: Vec<u64>, len: usize },
    Mapped(memmap2::Mmap),
}

impl Image {
    pub fn bytes(&self) -> &[u8] {
        match self {
            Image::Owned { words, len } => {
                // SAFETY: a u64 buffer viewed as bytes; `len <= 8 * words.len()` by construction.
                let all = unsafe {
                    std::slice::from_raw_parts(words.as_ptr() as *const u8, words.len() * 8)
                };
                &all[..(*len).min(all.len())]
            }
            Image::Mapped(m) => m,
        }
    }

    /// Copies `bytes` into 8-byte aligned owned storage.
    pub fn owned_from(bytes: &[u8]) -> Image {
        let mut words = vec![0u64; bytes.len().div_ceil(8)];
        for (w, c) in words.iter_mut().zip(bytes.chunks(8)) {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            *w = u64::from_ne_bytes(b);
        }
        Image::Owned {
            words,
            len: bytes.len(),
        }
    }
}

/// 64-bit checksum of `bytes` (length a multiple of 8 in practice; a tail is zero-padded):
/// four interleaved multiply-xorshift lanes, fast enough to verify a file at load time.
pub fn checksum(bytes: &[u8]) -> u64 {
    const K: [u64; 4] = [
        0x9E37_79B9_7F4A_7C15,
        0xC2B2_AE3D_27D4_EB4F,
        0x1656_67B1_9E37_79F9,
        0x85EB_CA77_C2B2_AE63,
    ];
    let mut h = [1u64, 2, 3, 4];
    let mut chunks = bytes.chunks_exact(32);
    for c in &mut chunks {
        for (lane, hv) in h.iter_mut().enumerate() {
            let x = u64::from_le_bytes(c[lane * 8..lane * 8 + 8].try_into().unwrap_or([0; 8]));
            *hv = (hv.rotate_left(23) ^ x).wrapping_mul(K[lane]);
        }
    }
    let rest = chunks.remainder();
    for (i, c) in rest.chunks(8).enumerate() {
        let mut b = [0u8; 8];
        b[..c.len()].copy_from_slice(c);
        let lane = i % 4;
        h[lane] = (h[lane].rotate_left(23) ^ u64::from_le_bytes(b)).wrapping_mul(K[lane]);
    }
    let mut out = bytes.len() as u64;
    for (lane, hv) in h.iter().enumerate() {
        out = (out ^ hv.rotate_left(lane as u32 * 16)).wrapping_mul(K[(lane + 1) % 4]);
        out ^= out >> 29;
    }
    out
}

fn rd_u32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

fn rd_u64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// The header for a layout (checksums filled in by [`seal`]).
pub(crate) fn header(lay: &Layout) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..8].copy_from_slice(&MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&(lay.order as u32).to_le_bytes());
    h[16..20].copy_from_slice(&(lay.vocab as u32).to_le_bytes());
    h[20..24].copy_from_slice(&lay.bos.to_le_bytes());
    h[24..28].copy_from_slice(&lay.eos.to_le_bytes());
    h[28..32].copy_from_slice(&lay.unk.unwrap_or(NO_UNK).to_le_bytes());
    for (k, c) in lay.counts.iter().enumerate() {
        h[32 + 8 * k..40 + 8 * k].copy_from_slice(&(*c as u64).to_le_bytes());
    }
    h[72..80].copy_from_slice(&(lay.word_bytes.len as u64).to_le_bytes());
    h[80..88].copy_from_slice(&(lay.file_len as u64).to_le_bytes());
    h
}

/// Fills in the data and header checksums of a complete image.
pub(crate) fn seal(image: &mut [u8]) {
    let data = checksum(&image[HEADER_LEN..]);
    image[88..96].copy_from_slice(&data.to_le_bytes());
    let head = checksum(&image[..120]);
    image[120..128].copy_from_slice(&head.to_le_bytes());
}

/// Parses and checks the header: the layout it describes.
fn parse_header(b: &[u8], file: &str, verify_checksum: bool) -> Result<Layout, NgramError> {
    if b.len() < 8 || b[..8] != MAGIC {
        return Err(NgramError::BadMagic { file: file.into() });
    }
    if b.len() < HEADER_LEN {
        return Err(NgramError::SizeMismatch {
            file: file.into(),
            expected: HEADER_LEN as u64,
            actual: b.len() as u64,
        });
    }
    let version = rd_u32(b, 8);
    if version != VERSION {
        return Err(NgramError::UnsupportedVersion {
            file: file.into(),
            version,
            supported: VERSION,
        });
    }
    if verify_checksum && checksum(&b[..120]) != rd_u64(b, 120) {
        return Err(NgramError::Checksum {
            file: file.into(),
            part: "header",
        });
    }
    let order = rd_u32(b, 12) as usize;
    if !(1..=MAX_ORDER).contains(&order) {
        return Err(NgramError::BadOrder {
            file: file.into(),
            order,
            max: MAX_ORDER,
        });
    }
    let vocab = rd_u32(b, 16) as usize;
    let (bos, eos, unk) = (rd_u32(b, 20), rd_u32(b, 24), rd_u32(b, 28));
    let mut counts = [0usize; MAX_ORDER];
    for (k, c) in counts.iter_mut().enumerate() {
        let v = rd_u64(b, 32 + 8 * k);
        if v >= u32::MAX as u64 {
            return Err(NgramError::corrupt(
                file,
                format!("{}-gram count {v}", k + 1),
            ));
        }
        *c = v as usize;
    }
    if vocab == 0 || vocab > MAX_VOCAB || counts[0] != vocab {
        return Err(NgramError::corrupt(
            file,
            format!("vocabulary size {vocab} (unigrams {})", counts[0]),
        ));
    }
    if counts[order..].iter().any(|&c| c != 0) {
        return Err(NgramError::corrupt(file, "counts above the order"));
    }
    if bos as usize >= vocab || eos as usize >= vocab || (unk != NO_UNK && unk as usize >= vocab) {
        return Err(NgramError::corrupt(file, "special word id out of range"));
    }
    let word_bytes = rd_u64(b, 72);
    if word_bytes >= u32::MAX as u64 {
        return Err(NgramError::corrupt(file, "word bytes too large"));
    }
    let unk = (unk != NO_UNK).then_some(unk);
    let lay = Layout::compute(order, counts, word_bytes as usize, (bos, eos, unk))
        .ok_or_else(|| NgramError::corrupt(file, "section sizes overflow"))?;
    let file_len = rd_u64(b, 80);
    if file_len != lay.file_len as u64 {
        return Err(NgramError::corrupt(
            file,
            format!(
                "header file length {file_len} disagrees with its counts ({})",
                lay.file_len
            ),
        ));
    }
    if b.len() as u64 != file_len {
        return Err(NgramError::SizeMismatch {
            file: file.into(),
            expected: file_len,
            actual: b.len() as u64,
        });
    }
    Ok(lay)
}

/// Checks every invariant the query relies on.
fn validate(b: &[u8], lay: &Layout, file: &str) -> Result<(), NgramError> {
    if !(b.as_ptr() as usize).is_multiple_of(8) {
        return Err(NgramError::corrupt(file, "image is not 8-byte aligned"));
    }
    let v = super::query::View::new(b, lay);
    let bad = |m: String| Err(NgramError::corrupt(file, m));
    let vocab = lay.vocab;
    // Vocabulary strings.
    let offs = v.word_offsets;
    if offs.len() != vocab + 1 || offs[0] != 0 || offs[vocab] as usize != lay.word_bytes.len {
        return bad("word offsets do not span the word bytes".into());
    }
    for i in 0..vocab {
        let (a, z) = (offs[i] as usize, offs[i + 1] as usize);
        if a > z {
            return bad(format!("word offsets decrease at word {i}"));
        }
        if v.word_bytes
            .get(a..z)
            .is_none_or(|w| std::str::from_utf8(w).is_err())
        {
            return bad(format!("word {i} is not UTF-8"));
        }
    }
    // Sorted vocabulary index: a permutation, strictly increasing by bytes.
    let mut seen = vec![false; vocab];
    for (i, &id) in v.sorted_vocab.iter().enumerate() {
        let id = id as usize;
        if id >= vocab || seen[id] {
            return bad("vocabulary index is not a permutation".into());
        }
        seen[id] = true;
        if i > 0 && v.word_bytes_of(v.sorted_vocab[i - 1]) >= v.word_bytes_of(id as u32) {
            return bad(format!(
                "vocabulary index not sorted (or duplicate word) at {i}"
            ));
        }
    }
    if v.word(lay.bos) != super::BOS || v.word(lay.eos) != super::EOS {
        return bad("<s>/</s> ids do not name <s>/</s>".into());
    }
    if let Some(u) = lay.unk {
        if v.word(u) != super::UNK {
            return bad("<unk> id does not name <unk>".into());
        }
    }
    let nan = |xs: &[f32]| xs.iter().any(|x| x.is_nan());
    if nan(v.uni_prob) || nan(v.uni_backoff) {
        return bad("NaN unigram probability or backoff".into());
    }
    // Trie levels.
    let check_child = |child: &[u32], parents: usize, children: usize, what: &str| {
        if child.len() != parents + 1 || child[0] != 0 || child[parents] as usize != children {
            return Err(NgramError::corrupt(
                file,
                format!("{what}: child offsets do not span the next level"),
            ));
        }
        if child.windows(2).any(|w| w[0] > w[1]) {
            return Err(NgramError::corrupt(
                file,
                format!("{what}: child offsets decrease"),
            ));
        }
        Ok(())
    };
    if lay.order >= 2 {
        check_child(v.uni_child, vocab, lay.counts[1], "unigrams")?;
    }
    for k in 2..=lay.order {
        let l = &v.levels[k - 2];
        let n = lay.counts[k - 1];
        if l.words.iter().any(|&w| w as usize >= vocab) {
            return bad(format!("{k}-grams: word id out of range"));
        }
        if nan(l.prob) || nan(l.backoff) {
            return bad(format!("{k}-grams: NaN probability or backoff"));
        }
        // Entries under each parent strictly increasing (binary search needs it).
        let parent_child = if k == 2 {
            v.uni_child
        } else {
            v.levels[k - 3].child
        };
        for r in parent_child.windows(2) {
            let s = &l.words[r[0] as usize..r[1] as usize];
            if s.windows(2).any(|w| w[0] >= w[1]) {
                return bad(format!("{k}-grams: entries under a context are not sorted"));
            }
        }
        if k < lay.order {
            check_child(l.child, n, lay.counts[k], &format!("{k}-grams"))?;
        }
    }
    Ok(())
}

fn check_endian(file: &str) -> Result<(), NgramError> {
    if cfg!(target_endian = "big") {
        return Err(NgramError::BigEndian { file: file.into() });
    }
    Ok(())
}

/// Verifies an image and wraps it as a model.
pub(crate) fn from_image(
    image: Image,
    name: &str,
    verify_checksum: bool,
) -> Result<NgramLm, NgramError> {
    check_endian(name)?;
    let b = image.bytes();
    let lay = parse_header(b, name, verify_checksum)?;
    if verify_checksum && checksum(&b[HEADER_LEN..]) != rd_u64(b, 88) {
        return Err(NgramError::Checksum {
            file: name.into(),
            part: "data",
        });
    }
    validate(b, &lay, name)?;
    Ok(NgramLm {
        image,
        lay,
        name: name.into(),
    })
}

/// A model from a binary image in memory (copied to aligned storage).
pub(crate) fn from_bytes(
    bytes: &[u8],
    name: &str,
    verify_checksum: bool,
) -> Result<NgramLm, NgramError> {
    if bytes.len() < 8 || bytes[..8] != MAGIC {
        return Err(NgramError::BadMagic { file: name.into() });
    }
    from_image(Image::owned_from(bytes), name, verify_checksum)
}

/// Memory-maps a binary model file.
pub(crate) fn load_mapped(f: &File, path: &Path) -> Result<NgramLm, NgramError> {
    let name = path.display().to_string();
    check_endian(&name)?;
    // SAFETY: the map is read-only; the file must not be modified while the model lives (as
    // for any memory-mapped model file). Every read of it is bounds-checked.
    let map = unsafe { memmap2::Mmap::map(f) }.map_err(|e| NgramError::io(path, e))?;
    from_image(Image::Mapped(map), &name, true)
}

/// Writes the image to `path` through a temporary file renamed into place.
pub(crate) fn write(lm: &NgramLm, path: &Path) -> Result<(), NgramError> {
    use std::io::Write;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let res = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(lm.image.bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    res.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        NgramError::io(path, e)
    })
}
