//! Execution plans: a [`Model`]'s compiled graph (ops, arena plan, I/O) as a compact byte blob,
//! made by the host with [`Model::plan`] and loaded on a microcontroller with
//! [`Model::from_plan`] instead of verifying and compiling the flatbuffer there. The plan is
//! what [`Model::from_bytes`] builds, serialized field by field, so both paths run the same
//! interpreter on identical ops.
//!
//! Layout: `SPLN`, format version, the model file's length and FNV-1a hash (a plan only loads
//! beside the file it was made from), the encoded graph, and the FNV-1a hash of everything
//! before it. Integers are LEB128 (signed ones zigzag-coded), `f32` its 4 little-endian bytes.

use super::compiler::{Compiled, Graph};
use super::fixedpoint::Rounding;
use super::model::Model;
use super::ops::{
    Binary, BinaryKind, Conv, Copy2D, DepthwiseConv, FullyConnected, Gather, Geometry, Lut, Op,
    Requant, Requantize, ScratchNeed, Src,
};
use super::tensor::{DType, TensorInfo};
use super::{bad, LoadError};
use crate::kernels;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

const MAGIC: &[u8; 4] = b"SPLN";
const VERSION: u8 = 1;

/// 32-bit FNV-1a.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// A cursor over plan bytes; every read is bounds-checked (`None` past the end).
pub(crate) struct Reader<'a> {
    b: &'a [u8],
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&x, rest) = self.b.split_first()?;
        self.b = rest;
        Some(x)
    }

    fn uvar(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let x = self.byte()?;
            v |= u64::from(x & 0x7f) << shift;
            if x & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    /// A collection length: at most one element per remaining byte, so a corrupt length
    /// cannot ask for a huge allocation.
    fn len(&mut self) -> Option<usize> {
        usize::try_from(self.uvar()?)
            .ok()
            .filter(|&n| n <= self.b.len())
    }
}

fn put_uvar(w: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        w.push(v as u8 | 0x80);
        v >>= 7;
    }
    w.push(v as u8);
}

/// A value with a plan encoding.
pub(crate) trait Wire: Sized {
    fn put(&self, w: &mut Vec<u8>);
    fn get(r: &mut Reader) -> Option<Self>;
}

impl Wire for u64 {
    fn put(&self, w: &mut Vec<u8>) {
        put_uvar(w, *self);
    }
    fn get(r: &mut Reader) -> Option<Self> {
        r.uvar()
    }
}

impl Wire for i64 {
    fn put(&self, w: &mut Vec<u8>) {
        put_uvar(w, ((self << 1) ^ (self >> 63)) as u64);
    }
    fn get(r: &mut Reader) -> Option<Self> {
        let u = r.uvar()?;
        Some((u >> 1) as i64 ^ -((u & 1) as i64))
    }
}

/// Integers through their 64-bit form (out-of-range values are an error when read).
macro_rules! wire_int {
    ($via:ty: $($t:ty),*) => {$(
        impl Wire for $t {
            fn put(&self, w: &mut Vec<u8>) {
                (*self as $via).put(w);
            }
            fn get(r: &mut Reader) -> Option<Self> {
                <$t>::try_from(<$via>::get(r)?).ok()
            }
        }
    )*};
}
wire_int!(u64: usize, u32, u8);
wire_int!(i64: i32, i8);

impl Wire for bool {
    fn put(&self, w: &mut Vec<u8>) {
        w.push(u8::from(*self));
    }
    fn get(r: &mut Reader) -> Option<Self> {
        match r.byte()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
}

impl Wire for f32 {
    fn put(&self, w: &mut Vec<u8>) {
        w.extend_from_slice(&self.to_le_bytes());
    }
    fn get(r: &mut Reader) -> Option<Self> {
        let (b, rest) = r.b.split_first_chunk::<4>()?;
        r.b = rest;
        Some(f32::from_le_bytes(*b))
    }
}

impl Wire for [u8; 256] {
    fn put(&self, w: &mut Vec<u8>) {
        w.extend_from_slice(self);
    }
    fn get(r: &mut Reader) -> Option<Self> {
        let (b, rest) = r.b.split_first_chunk::<256>()?;
        r.b = rest;
        Some(*b)
    }
}

impl Wire for String {
    fn put(&self, w: &mut Vec<u8>) {
        put_uvar(w, self.len() as u64);
        w.extend_from_slice(self.as_bytes());
    }
    fn get(r: &mut Reader) -> Option<Self> {
        let n = r.len()?;
        let (s, rest) = r.b.split_at(n);
        r.b = rest;
        Some(String::from(core::str::from_utf8(s).ok()?))
    }
}

impl<T: Wire> Wire for Vec<T> {
    fn put(&self, w: &mut Vec<u8>) {
        put_uvar(w, self.len() as u64);
        self.iter().for_each(|x| x.put(w));
    }
    fn get(r: &mut Reader) -> Option<Self> {
        let n = r.len()?;
        (0..n).map(|_| T::get(r)).collect()
    }
}

impl<T: Wire> Wire for Box<T> {
    fn put(&self, w: &mut Vec<u8>) {
        (**self).put(w);
    }
    fn get(r: &mut Reader) -> Option<Self> {
        T::get(r).map(Box::new)
    }
}

impl<A: Wire, B: Wire> Wire for (A, B) {
    fn put(&self, w: &mut Vec<u8>) {
        self.0.put(w);
        self.1.put(w);
    }
    fn get(r: &mut Reader) -> Option<Self> {
        Some((A::get(r)?, B::get(r)?))
    }
}

impl Wire for Range<usize> {
    fn put(&self, w: &mut Vec<u8>) {
        // Start and length: a range is never reversed.
        self.start.put(w);
        (self.end - self.start).put(w);
    }
    fn get(r: &mut Reader) -> Option<Self> {
        let start = usize::get(r)?;
        Some(start..start.checked_add(usize::get(r)?)?)
    }
}

/// Field-by-field encoding of a struct (fields in declaration order).
macro_rules! wire_struct {
    ($($t:ident { $($f:ident),* })*) => {$(
        impl Wire for $t {
            fn put(&self, w: &mut Vec<u8>) {
                $(self.$f.put(w);)*
            }
            fn get(r: &mut Reader) -> Option<Self> {
                Some($t { $($f: Wire::get(r)?),* })
            }
        }
    )*};
}

wire_struct! {
    Geometry { batches, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, stride_h, stride_w,
        dil_h, dil_w, pad_h, pad_w }
    Requant { bias, mult, shift, out_zp, act_min, act_max }
    Conv { src, dst, g, in_zp, direct, weights, rq }
    DepthwiseConv { src, dst, g, depth_multiplier, input_offset, weights, rq }
    FullyConnected { src, dst, batches, depth, units, weights, bias, mult, shift, rounding,
        out_zp, act_min, act_max }
    Lut { src, dst, table }
    Requantize { src, dst, in_signed, in_zp, out_zp, mult, shift, out_min, out_max }
    Binary { src1, src2, dst, idx, in1_offset, in2_offset, out_zp, act_min, act_max, kind }
    Copy2D { src, dst, outer, chunk, src_stride, src_off, dst_stride, dst_off }
    Gather { src, dst, runs }
    ScratchNeed { acc, patch }
    TensorInfo { name, shape, dtype, scale, zero_point }
    Graph { ops }
    Compiled { graphs, arena_size, vars_size, num_once, scratch, inputs, outputs, op_names,
        const_bytes }
}

/// Enums: a tag byte, then the variant's fields.
macro_rules! wire_enum {
    ($t:ident { $($tag:literal => $v:ident $({ $($f:ident),* })? $(( $($p:ident),* ))?,)* }) => {
        impl Wire for $t {
            fn put(&self, w: &mut Vec<u8>) {
                match self {
                    $($t::$v $({ $($f),* })? $(( $($p),* ))? => {
                        w.push($tag);
                        $($($f.put(w);)*)?
                        $($($p.put(w);)*)?
                    })*
                }
            }
            fn get(r: &mut Reader) -> Option<Self> {
                Some(match r.byte()? {
                    $($tag => $t::$v $({ $($f: Wire::get(r)?),* })? $(( $(wire_get!($p, r)),* ))?,)*
                    _ => return None,
                })
            }
        }
    };
}

/// A tuple field read (the macro needs the identifier to repeat over).
macro_rules! wire_get {
    ($p:ident, $r:ident) => {
        Wire::get($r)?
    };
}

wire_enum!(Src {
    0 => Const(r),
    1 => Arena(r),
});
wire_enum!(Rounding {
    0 => Double,
    1 => Single,
    2 => Neon,
});
wire_enum!(BinaryKind {
    0 => Add { left_shift, in1, in2, out },
    1 => Mul { out },
});
wire_enum!(DType {
    0 => F32,
    1 => I32,
    2 => U8,
    3 => I8,
    4 => I16,
    5 => I64,
    6 => Bool,
    7 => Resource,
    8 => Other(t),
});
wire_enum!(Op {
    0 => CallOnce { graph, flag },
    1 => ReadVar { var, dst },
    2 => AssignVar { src, var },
    3 => Copy(c),
    4 => Gather(g),
    5 => Conv(c),
    6 => Depthwise(c),
    7 => FullyConnected(c),
    8 => Lut(c),
    9 => Requantize(c),
    10 => Binary(c),
});

impl<B: AsRef<[u8]>> Model<B> {
    /// This model's execution plan, for [`Model::from_plan`]: the compiled graph, bound to
    /// these file bytes. Made on a host (e.g. by a firmware's build script), where the file
    /// was verified and compiled.
    pub fn plan(&self) -> Vec<u8> {
        let file = self.bytes();
        let mut w = Vec::new();
        w.extend_from_slice(MAGIC);
        w.push(VERSION);
        (file.len() as u64).put(&mut w);
        w.extend_from_slice(&fnv1a(file).to_le_bytes());
        self.c.put(&mut w);
        let h = fnv1a(&w);
        w.extend_from_slice(&h.to_le_bytes());
        w
    }

    /// Loads a model from its file bytes and the [`Model::plan`] made from them, without
    /// verifying or compiling the flatbuffer: a firmware then needs neither the verifier nor
    /// the graph compiler (54 KB of code and strings in `examples/mcu` on a Cortex-M4).
    ///
    /// Checked here: the plan's format and checksum, and that it was made from these exact
    /// bytes (length and hash); any failure is a [`LoadError::Invalid`]. Not checked: what
    /// [`Model::from_bytes`] validates in the graph (shapes, quantization, tensor bounds),
    /// which held when the plan was made. A plan that passes the checksum but was forged
    /// can make [`super::Interpreter::invoke`] panic (all accesses are bounds-checked: never
    /// undefined behaviour), so plans should come only from [`Model::plan`].
    pub fn from_plan(bytes: B, plan: &[u8]) -> Result<Self, LoadError> {
        let file = bytes.as_ref();
        let body_len = plan
            .len()
            .checked_sub(4)
            .ok_or_else(|| bad("plan: truncated"))?;
        let (body, sum) = plan.split_at(body_len);
        if !body.starts_with(MAGIC) || body.get(4) != Some(&VERSION) {
            return Err(bad("plan: not a sotto plan of this version"));
        }
        if sum != fnv1a(body).to_le_bytes() {
            return Err(bad("plan: checksum mismatch"));
        }
        let mut r = Reader { b: &body[5..] };
        let len = u64::get(&mut r);
        let hash = r.b.split_first_chunk::<4>().map(|(h, rest)| {
            r.b = rest;
            *h
        });
        if len != Some(file.len() as u64) || hash != Some(fnv1a(file).to_le_bytes()) {
            return Err(bad("plan: made from other model bytes"));
        }
        match Compiled::get(&mut r) {
            Some(c) if r.b.is_empty() => Ok(Model {
                bytes,
                c,
                gemm: kernels::gemm_i8,
            }),
            _ => Err(bad("plan: corrupt")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The decoder alone (past the checksum) on cut and damaged encodings: `None` or a
    /// value, never a panic or a huge allocation.
    #[test]
    fn decoding_damaged_plans_never_panics() {
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/reference/microwakeword/models/v2/okay_nabu.tflite"
        );
        let Ok(bytes) = std::fs::read(p) else { return };
        let model = Model::from_bytes(&bytes[..]).unwrap();
        let mut enc = Vec::new();
        model.c.put(&mut enc);
        let decoded = Compiled::get(&mut Reader { b: &enc }).unwrap();
        assert_eq!(
            alloc::format!("{decoded:?}"),
            alloc::format!("{:?}", model.c)
        );
        for k in 0..enc.len() {
            assert!(Compiled::get(&mut Reader { b: &enc[..k] }).is_none());
        }
        for k in 0..enc.len() {
            for x in [0x01, 0x80, 0xff] {
                let mut e = enc.clone();
                e[k] ^= x;
                let _ = Compiled::get(&mut Reader { b: &e });
            }
        }
        let _ = Compiled::get(&mut Reader { b: &[0xff; 64] });
    }

    #[test]
    fn integers_round_trip() {
        let mut w = Vec::new();
        let xs = [0i64, 1, -1, 63, -64, 64, i64::MAX, i64::MIN];
        xs.iter().for_each(|x| x.put(&mut w));
        u64::MAX.put(&mut w);
        let mut r = Reader { b: &w };
        for &x in &xs {
            assert_eq!(i64::get(&mut r), Some(x));
        }
        assert_eq!(u64::get(&mut r), Some(u64::MAX));
        assert!(r.b.is_empty());
        // Out of range for the narrower type: an error, not a wrap.
        let mut w = Vec::new();
        300u64.put(&mut w);
        assert_eq!(u8::get(&mut Reader { b: &w }), None);
    }
}
