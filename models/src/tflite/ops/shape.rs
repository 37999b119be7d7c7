//! Data movement: block copies (RESHAPE, CONCATENATION, SPLIT_V) and gathers (STRIDED_SLICE).

use super::{Inputs, Src};
use std::ops::Range;

/// `outer` times: copy `chunk` bytes from `src[o·src_stride + src_off ..]` to
/// `dst[o·dst_stride + dst_off ..]` (offsets relative to the tensors).
#[derive(Debug)]
pub(crate) struct Copy2D {
    pub(crate) src: Src,
    pub(crate) dst: Range<usize>,
    pub(crate) outer: usize,
    pub(crate) chunk: usize,
    pub(crate) src_stride: usize,
    pub(crate) src_off: usize,
    pub(crate) dst_stride: usize,
    pub(crate) dst_off: usize,
}

impl Copy2D {
    /// Whether every access stays inside the source and destination tensors.
    pub(crate) fn in_bounds(&self) -> bool {
        let last = |stride: usize, off: usize, len: usize| {
            self.outer == 0
                || (self.outer - 1)
                    .checked_mul(stride)
                    .and_then(|v| v.checked_add(off))
                    .and_then(|v| v.checked_add(self.chunk))
                    .is_some_and(|end| end <= len)
        };
        last(self.src_stride, self.src_off, self.src.len())
            && last(self.dst_stride, self.dst_off, self.dst.len())
    }

    pub(crate) fn run(&self, inp: &Inputs, out: &mut [u8]) {
        let src = inp.get(&self.src);
        for o in 0..self.outer {
            let s = o * self.src_stride + self.src_off;
            let d = o * self.dst_stride + self.dst_off;
            out[d..d + self.chunk].copy_from_slice(&src[s..s + self.chunk]);
        }
    }
}

/// `dst[i] = src[idx[i]]` (single bytes: every gathered tensor is 8-bit), stored as runs of
/// consecutive source bytes so that slices copy blocks.
#[derive(Debug)]
pub(crate) struct Gather {
    pub(crate) src: Src,
    pub(crate) dst: Range<usize>,
    /// `(source start, length)`, filling `dst` in order.
    runs: Vec<(u32, u32)>,
}

impl Gather {
    /// Compresses the element indices into runs.
    pub(crate) fn new(src: Src, dst: Range<usize>, idx: &[u32]) -> Self {
        let mut runs: Vec<(u32, u32)> = Vec::new();
        for &i in idx {
            match runs.last_mut() {
                Some((start, len)) if *start + *len == i => *len += 1,
                _ => runs.push((i, 1)),
            }
        }
        Gather { src, dst, runs }
    }

    pub(crate) fn run(&self, inp: &Inputs, out: &mut [u8]) {
        let src = inp.get(&self.src);
        let mut o = 0;
        for &(start, len) in &self.runs {
            let (s, n) = (start as usize, len as usize);
            out[o..o + n].copy_from_slice(&src[s..s + n]);
            o += n;
        }
    }
}

/// TFLite's `strided_slice_logic.h`: the start and stop index of one axis.
#[allow(clippy::too_many_arguments)] // mirrors TFLite's per-axis inputs one to one
pub(crate) fn slice_axis(
    size: i64,
    begin: i64,
    end: i64,
    stride: i64,
    begin_masked: bool,
    end_masked: bool,
    shrink: bool,
    offset: bool,
) -> (i64, i64) {
    if size == 0 {
        return (0, 0);
    }
    let clamp = |v: i64| {
        if stride > 0 {
            v.clamp(0, size)
        } else {
            v.clamp(-1, size - 1)
        }
    };
    let mut start = if begin_masked {
        if stride > 0 {
            i64::from(i32::MIN)
        } else {
            i64::from(i32::MAX)
        }
    } else {
        begin
    };
    if start < 0 {
        start += size;
    }
    let start = clamp(start);
    if shrink {
        return (start, start + 1);
    }
    let mut stop = end;
    if offset {
        stop += start;
    }
    if end_masked {
        stop = if stride > 0 {
            i64::from(i32::MAX)
        } else {
            i64::from(i32::MIN)
        };
    }
    if stop < 0 {
        stop += size;
    }
    (start, clamp(stop))
}
