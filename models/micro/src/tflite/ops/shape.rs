//! Data movement: block copies (RESHAPE, CONCATENATION, SPLIT_V) and gathers (STRIDED_SLICE).

use super::{Build, Inputs, Op, Src};
use crate::tflite::tensor::T;
use crate::tflite::{bad, schema, LoadError};
use alloc::vec;
use alloc::vec::Vec;
use core::ops::Range;

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
    pub(crate) runs: Vec<(u32, u32)>,
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
fn slice_axis(
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

/// Compiles RESHAPE: a plain copy (shapes only change the interpretation).
pub(crate) fn build_reshape<'t, 'a: 't>(
    c: &mut impl Build<'t, 'a>,
    i: usize,
    o: usize,
) -> Result<(), LoadError> {
    let ts = c.tensors();
    let (ti, to) = (&ts[i], &ts[o]);
    if ti.bytes()? != to.bytes()? || ti.dtype != to.dtype {
        return Err(to.err(msg!(
            "cannot reshape {:?} {:?} to {:?}",
            ti.dtype,
            ti.shape,
            to.shape
        )));
    }
    let src = c.src(i)?;
    let dst = c.output(o)?;
    let chunk = dst.len();
    c.push(Op::Copy(Copy2D {
        src,
        dst,
        outer: 1,
        chunk,
        src_stride: 0,
        src_off: 0,
        dst_stride: 0,
        dst_off: 0,
    }));
    Ok(())
}

/// Compiles CONCATENATION (no rescaling).
pub(crate) fn build_concatenation<'t, 'a: 't>(
    c: &mut impl Build<'t, 'a>,
    op: &schema::Operator,
    ins: &[Option<usize>],
    o: usize,
) -> Result<(), LoadError> {
    let ts = c.tensors();
    let opts = op
        .options::<schema::ConcatenationOptions>()
        .ok_or_else(|| bad("no options"))?;
    if opts.fused_activation_function().unwrap_or(0) != 0 {
        return Err(bad("fused activation on CONCATENATION is not supported"));
    }
    let to = &ts[o];
    let rank = to.shape.len() as i64;
    let axis = i64::from(opts.axis().unwrap_or(0));
    let axis = if axis < 0 { axis + rank } else { axis };
    if !(0..rank).contains(&axis) {
        return Err(to.err(msg!("concatenation axis {axis} out of range")));
    }
    let axis = axis as usize;
    let esize = to
        .dtype
        .size()
        .ok_or_else(|| to.err("has no element size"))?;
    let outer: usize = to.shape[..axis].iter().product();
    let dst_stride: usize = to.shape[axis..].iter().product::<usize>() * esize;
    let quant = |t: &T| (t.scales.first().copied(), t.zps.first().copied());
    let mut srcs = Vec::new();
    let mut axis_sum = 0;
    for &i in ins {
        let i = i.ok_or_else(|| bad("missing input"))?;
        let ti = &ts[i];
        let same_other_dims = ti.shape.len() == to.shape.len()
            && ti
                .shape
                .iter()
                .zip(&to.shape)
                .enumerate()
                .all(|(k, (a, b))| k == axis || a == b);
        if ti.dtype != to.dtype || !same_other_dims {
            return Err(ti.err(msg!(
                "cannot be concatenated into {:?} {:?}",
                to.dtype,
                to.shape
            )));
        }
        if quant(ti) != quant(to) {
            return Err(
                ti.err("quantization differs from the output (rescaling concat is not supported)")
            );
        }
        axis_sum += ti.shape[axis];
        srcs.push((
            c.src(i)?,
            ti.shape[axis..].iter().product::<usize>() * esize,
        ));
    }
    if axis_sum != to.shape[axis] {
        return Err(to.err("concatenated sizes do not add up"));
    }
    let dst = c.output(o)?;
    let mut dst_off = 0;
    for (src, chunk) in srcs {
        c.push(Op::Copy(Copy2D {
            src,
            dst: dst.clone(),
            outer,
            chunk,
            src_stride: chunk,
            src_off: 0,
            dst_stride,
            dst_off,
        }));
        dst_off += chunk;
    }
    Ok(())
}

/// Compiles SPLIT_V into one strided copy per output.
pub(crate) fn build_split_v<'t, 'a: 't>(
    c: &mut impl Build<'t, 'a>,
    op: &schema::Operator,
    i: usize,
    sizes: usize,
    axis: usize,
    outs: &[Option<usize>],
) -> Result<(), LoadError> {
    let ts = c.tensors();
    let ti = &ts[i];
    let sizes = ts[sizes].const_i32()?;
    let axis = *ts[axis]
        .const_i32()?
        .first()
        .ok_or_else(|| bad("empty axis"))?;
    let num = op
        .options::<schema::SplitVOptions>()
        .and_then(|o| o.num_splits())
        .unwrap_or(outs.len() as i32);
    if num as usize != outs.len() || sizes.len() != outs.len() {
        return Err(bad("SPLIT_V sizes and outputs disagree"));
    }
    let rank = ti.shape.len() as i64;
    let axis = if axis < 0 {
        i64::from(axis) + rank
    } else {
        i64::from(axis)
    };
    if !(0..rank).contains(&axis) {
        return Err(ti.err(msg!("split axis {axis} out of range")));
    }
    let axis = axis as usize;
    let dim = ti.shape[axis];
    let known: i64 = sizes
        .iter()
        .filter(|&&s| s >= 0)
        .map(|&s| i64::from(s))
        .sum();
    let unknown = sizes.iter().filter(|&&s| s < 0).count();
    if sizes.iter().any(|&s| s < -1)
        || unknown > 1
        || known > dim as i64
        || (unknown == 0 && known != dim as i64)
    {
        return Err(ti.err(msg!("invalid split sizes {sizes:?}")));
    }
    let esize = ti
        .dtype
        .size()
        .ok_or_else(|| ti.err("has no element size"))?;
    let outer: usize = ti.shape[..axis].iter().product();
    let inner: usize = ti.shape[axis + 1..].iter().product::<usize>() * esize;
    let src = c.src(i)?;
    let mut off = 0;
    for (&s, &o) in sizes.iter().zip(outs) {
        let s = if s < 0 {
            dim - known as usize
        } else {
            s as usize
        };
        let o = o.ok_or_else(|| bad("missing output"))?;
        let to = &ts[o];
        let mut expect = ti.shape.clone();
        expect[axis] = s;
        if to.shape != expect || to.dtype != ti.dtype {
            return Err(to.err(msg!("expected shape {expect:?}")));
        }
        let dst = c.output(o)?;
        let chunk = s * inner;
        c.push(Op::Copy(Copy2D {
            src: src.clone(),
            dst,
            outer,
            chunk,
            src_stride: dim * inner,
            src_off: off * inner,
            dst_stride: chunk,
            dst_off: 0,
        }));
        off += s;
    }
    Ok(())
}

/// Compiles STRIDED_SLICE into a gather of runs.
pub(crate) fn build_strided_slice<'t, 'a: 't>(
    c: &mut impl Build<'t, 'a>,
    op: &schema::Operator,
    ins: &[Option<usize>],
    o: usize,
) -> Result<(), LoadError> {
    let ts = c.tensors();
    let get = |k: usize| {
        ins.get(k)
            .copied()
            .flatten()
            .ok_or_else(|| bad(msg!("missing input {k}")))
    };
    let (i, to) = (get(0)?, &ts[o]);
    let ti = &ts[i];
    let (begin, end, strides) = (
        ts[get(1)?].const_i32()?,
        ts[get(2)?].const_i32()?,
        ts[get(3)?].const_i32()?,
    );
    let rank = ti.shape.len();
    if begin.len() != rank || end.len() != rank || strides.len() != rank || rank > 6 {
        return Err(ti.err("begin/end/strides must have one entry per dimension"));
    }
    let opts = op
        .options::<schema::StridedSliceOptions>()
        .ok_or_else(|| bad("no options"))?;
    if opts.ellipsis_mask().unwrap_or(0) != 0 || opts.new_axis_mask().unwrap_or(0) != 0 {
        return Err(bad("ellipsis and new-axis masks are not supported"));
    }
    if ti.dtype.size() != Some(1) || ti.dtype != to.dtype {
        return Err(ti.err("STRIDED_SLICE is supported on 8-bit tensors only"));
    }
    let (bm, em, sm) = (
        opts.begin_mask().unwrap_or(0),
        opts.end_mask().unwrap_or(0),
        opts.shrink_axis_mask().unwrap_or(0),
    );
    let offset = opts.offset().unwrap_or(false);
    let mut axes = Vec::with_capacity(rank);
    let mut count = 1usize;
    for k in 0..rank {
        let stride = i64::from(strides[k]);
        if stride == 0 {
            return Err(bad("zero stride"));
        }
        let bit = |m: i32| m & (1 << k) != 0;
        let size = ti.shape[k] as i64;
        let (start, stop) = slice_axis(
            size,
            i64::from(begin[k]),
            i64::from(end[k]),
            stride,
            bit(bm),
            bit(em),
            bit(sm),
            offset,
        );
        let n = if stride > 0 {
            (stop - start + stride - 1) / stride
        } else {
            (start - stop - stride - 1) / -stride
        };
        let n = n.max(0) as usize;
        count *= n;
        axes.push((start, stride, n));
    }
    if count != to.elems {
        return Err(to.err(msg!(
            "slice has {count} elements, output declares {:?}",
            to.shape
        )));
    }
    let mut in_strides = vec![1i64; rank];
    for k in (0..rank.saturating_sub(1)).rev() {
        in_strides[k] = in_strides[k + 1] * ti.shape[k + 1] as i64;
    }
    let mut idx = Vec::with_capacity(count);
    let mut pos = vec![0usize; rank];
    if count > 0 {
        'outer: loop {
            let off: i64 = (0..rank)
                .map(|k| (axes[k].0 + pos[k] as i64 * axes[k].1) * in_strides[k])
                .sum();
            idx.push(off as u32);
            for k in (0..rank).rev() {
                pos[k] += 1;
                if pos[k] < axes[k].2 {
                    continue 'outer;
                }
                pos[k] = 0;
            }
            break;
        }
    }
    if idx.iter().any(|&x| x as usize >= ti.elems) {
        return Err(bad("slice reads outside its input"));
    }
    let src = c.src(i)?;
    let dst = c.output(o)?;
    c.push(Op::Gather(Gather::new(src, dst, &idx)));
    Ok(())
}
