//! aarch64 NEON kernels.
//!
//! int8 without the dot-product extension: `smull`/`smull2` give exact i16 products (at most
//! 128·128 = 16384) and `sadalp` adds neighbouring pairs into i32 lanes — no saturation, so the
//! result equals the scalar one. With "dotprod", `sdot` sums four i8·i8 products into each i32
//! lane directly (emitted with `asm!` because its intrinsic is not stable yet). Column tails
//! (< 16 bytes / < 4 floats) are finished in scalar code.
//!
//! Blocking: 4 weight rows × up to 4 input rows per micro-kernel (32 vector registers); each
//! output element has its own accumulator, so its summation order never depends on the blocking.

use std::arch::aarch64::*;

use super::scalar::dot_i8;

const MR: usize = 4;
const NR: usize = 4;

/// f32 kernel; raw contract in the parent module.
#[target_feature(enable = "neon")]
pub(super) unsafe fn gemm_f32(
    w: *const f32,
    rows: usize,
    cols: usize,
    x: *const f32,
    n: usize,
    y: *mut f32,
    ldy: usize,
) {
    unsafe { drive!(f32_block, w, rows, cols, x, n, y, ldy, |_| ()) }
}

#[inline]
#[target_feature(enable = "neon")]
unsafe fn f32_block<const M: usize, const N: usize>(
    w: *const f32,
    cols: usize,
    x: *const f32,
    _: (),
    y: *mut f32,
    ldy: usize,
) {
    unsafe {
        let mut acc = [[vdupq_n_f32(0.0); N]; M];
        let mut k = 0;
        while k + 4 <= cols {
            let mut xv = [vdupq_n_f32(0.0); N];
            for (j, v) in xv.iter_mut().enumerate() {
                *v = vld1q_f32(x.add(j * cols + k));
            }
            for (i, a) in acc.iter_mut().enumerate() {
                let wv = vld1q_f32(w.add(i * cols + k));
                for (a, v) in a.iter_mut().zip(&xv) {
                    *a = vfmaq_f32(*a, wv, *v);
                }
            }
            k += 4;
        }
        for (i, a) in acc.iter().enumerate() {
            for (j, a) in a.iter().enumerate() {
                let mut s = vaddvq_f32(*a);
                for c in k..cols {
                    s += *w.add(i * cols + c) * *x.add(j * cols + c);
                }
                *y.add(j * ldy + i) = s;
            }
        }
    }
}

/// int8 kernel (`smull` + `sadalp`); raw contract in the parent module.
#[target_feature(enable = "neon")]
pub(super) unsafe fn gemm_i8(
    w: *const i8,
    rows: usize,
    cols: usize,
    x: *const i8,
    n: usize,
    y: *mut i32,
    ldy: usize,
) {
    unsafe { drive!(i8_block, w, rows, cols, x, n, y, ldy, |_| ()) }
}

/// int8 kernel (`sdot`); raw contract in the parent module, and the CPU has "dotprod".
#[target_feature(enable = "neon,dotprod")]
pub(super) unsafe fn gemm_i8_dot(
    w: *const i8,
    rows: usize,
    cols: usize,
    x: *const i8,
    n: usize,
    y: *mut i32,
    ldy: usize,
) {
    unsafe { drive!(i8_dot_block, w, rows, cols, x, n, y, ldy, |_| ()) }
}

/// Writes `acc` lane sums plus the scalar column tail `k..cols` to the output block.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn finish_i8<const M: usize, const N: usize>(
    acc: &[[int32x4_t; N]; M],
    w: *const i8,
    cols: usize,
    x: *const i8,
    k: usize,
    y: *mut i32,
    ldy: usize,
) {
    unsafe {
        for (i, a) in acc.iter().enumerate() {
            let wt = std::slice::from_raw_parts(w.add(i * cols + k), cols - k);
            for (j, a) in a.iter().enumerate() {
                let xt = std::slice::from_raw_parts(x.add(j * cols + k), cols - k);
                *y.add(j * ldy + i) = vaddvq_s32(*a).wrapping_add(dot_i8(wt, xt));
            }
        }
    }
}

#[inline]
#[target_feature(enable = "neon")]
unsafe fn i8_block<const M: usize, const N: usize>(
    w: *const i8,
    cols: usize,
    x: *const i8,
    _: (),
    y: *mut i32,
    ldy: usize,
) {
    unsafe {
        let mut acc = [[vdupq_n_s32(0); N]; M];
        let mut k = 0;
        while k + 16 <= cols {
            let mut xv = [vdupq_n_s8(0); N];
            for (j, v) in xv.iter_mut().enumerate() {
                *v = vld1q_s8(x.add(j * cols + k));
            }
            for (i, a) in acc.iter_mut().enumerate() {
                let wv = vld1q_s8(w.add(i * cols + k));
                for (a, v) in a.iter_mut().zip(&xv) {
                    let lo = vmull_s8(vget_low_s8(wv), vget_low_s8(*v));
                    let hi = vmull_high_s8(wv, *v);
                    *a = vpadalq_s16(vpadalq_s16(*a, lo), hi);
                }
            }
            k += 16;
        }
        finish_i8(&acc, w, cols, x, k, y, ldy);
    }
}

/// `acc + Σ₄ a·b` per i32 lane (`sdot`).
#[inline]
#[target_feature(enable = "neon,dotprod")]
unsafe fn sdot(mut acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
    // SAFETY: pure register arithmetic; the caller guarantees the CPU has "dotprod".
    unsafe {
        std::arch::asm!("sdot {0:v}.4s, {1:v}.16b, {2:v}.16b", inout(vreg) acc, in(vreg) a, in(vreg) b,
            options(pure, nomem, nostack, preserves_flags));
    }
    acc
}

#[inline]
#[target_feature(enable = "neon,dotprod")]
unsafe fn i8_dot_block<const M: usize, const N: usize>(
    w: *const i8,
    cols: usize,
    x: *const i8,
    _: (),
    y: *mut i32,
    ldy: usize,
) {
    unsafe {
        let mut acc = [[vdupq_n_s32(0); N]; M];
        let mut k = 0;
        while k + 16 <= cols {
            let mut xv = [vdupq_n_s8(0); N];
            for (j, v) in xv.iter_mut().enumerate() {
                *v = vld1q_s8(x.add(j * cols + k));
            }
            for (i, a) in acc.iter_mut().enumerate() {
                let wv = vld1q_s8(w.add(i * cols + k));
                for (a, v) in a.iter_mut().zip(&xv) {
                    *a = sdot(*a, wv, *v);
                }
            }
            k += 16;
        }
        finish_i8(&acc, w, cols, x, k, y, ldy);
    }
}
