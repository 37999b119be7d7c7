//! The int8 GEMM behind CONV_2D (1×1 and im2col) and FULLY_CONNECTED.
//!
//! `acc[n, rows] = x[n, cols] · w[rows, cols]ᵀ` with int32 accumulation. Products of int8 are
//! exact, so every variant gives the scalar reference's result bit for bit:
//! - [`gemm_i8_scalar`]: portable reference;
//! - `gemm_i8_dsp` (only `target_arch = "arm"` with the DSP extension, e.g. Cortex-M4/M7/M33):
//!   `SXTB16` unpacks four int8 into two pairs of int16, `SMLAD` does two 16-bit MACs per
//!   instruction; two weight rows share each unpacked input word.
//!
//! [`gemm_i8`] picks the best one at compile time. A host can plug its own (e.g. runtime
//! dispatched AVX2/NEON) into a model with [`crate::tflite::Model::with_gemm`].

/// An int8 GEMM: `(w, rows, cols, x, n, acc)`, see the module docs. Implementations must give
/// exactly [`gemm_i8_scalar`]'s result (wrapping int32 accumulation).
pub type GemmI8 = fn(&[i8], usize, usize, &[i8], usize, &mut [i32]);

/// The best GEMM compiled for this target.
pub fn gemm_i8(w: &[i8], rows: usize, cols: usize, x: &[i8], n: usize, acc: &mut [i32]) {
    #[cfg(all(target_arch = "arm", sotto_arm_dsp))]
    {
        gemm_i8_dsp(w, rows, cols, x, n, acc)
    }
    #[cfg(not(all(target_arch = "arm", sotto_arm_dsp)))]
    {
        gemm_i8_scalar(w, rows, cols, x, n, acc)
    }
}

/// Portable reference GEMM.
///
/// # Panics
/// If a slice length does not match the shape.
pub fn gemm_i8_scalar(w: &[i8], rows: usize, cols: usize, x: &[i8], n: usize, acc: &mut [i32]) {
    assert!(w.len() == rows * cols && x.len() == n * cols && acc.len() == n * rows);
    if cols == 0 {
        acc.fill(0);
        return;
    }
    for (xr, ar) in x.chunks_exact(cols).zip(acc.chunks_exact_mut(rows.max(1))) {
        for (wr, out) in w.chunks_exact(cols).zip(ar.iter_mut()) {
            *out = wr.iter().zip(xr).fold(0i32, |s, (&a, &b)| {
                s.wrapping_add(i32::from(a) * i32::from(b))
            });
        }
    }
}

/// Cortex-M DSP GEMM (`SXTB16` + `SMLAD`); bit-identical to [`gemm_i8_scalar`].
///
/// # Panics
/// If a slice length does not match the shape.
#[cfg(all(target_arch = "arm", sotto_arm_dsp))]
pub fn gemm_i8_dsp(w: &[i8], rows: usize, cols: usize, x: &[i8], n: usize, acc: &mut [i32]) {
    assert!(w.len() == rows * cols && x.len() == n * cols && acc.len() == n * rows);
    if cols == 0 {
        acc.fill(0);
        return;
    }
    let quads = cols / 4;
    for (xr, ar) in x.chunks_exact(cols).zip(acc.chunks_exact_mut(rows)) {
        let mut r = 0;
        while r < rows {
            let two = r + 1 < rows;
            let w0 = &w[r * cols..(r + 1) * cols];
            let w1 = if two {
                &w[(r + 1) * cols..(r + 2) * cols]
            } else {
                w0
            };
            let (mut a0, mut a1) = (0i32, 0i32);
            let (mut px, mut p0, mut p1) = (xr.as_ptr(), w0.as_ptr(), w1.as_ptr());
            for _ in 0..quads {
                // SAFETY: each pointer reads 4 bytes inside its `cols`-long row (`quads · 4 ≤
                // cols`); Armv7E-M LDR allows unaligned words; the rest is register-only.
                unsafe {
                    core::arch::asm!(
                        "ldr {t}, [{px}], #4",
                        "sxtb16 {xe}, {t}",
                        "sxtb16 {xo}, {t}, ror #8",
                        "ldr {t}, [{p0}], #4",
                        "sxtb16 {u}, {t}",
                        "smlad {a0}, {u}, {xe}, {a0}",
                        "sxtb16 {u}, {t}, ror #8",
                        "smlad {a0}, {u}, {xo}, {a0}",
                        "ldr {t}, [{p1}], #4",
                        "sxtb16 {u}, {t}",
                        "smlad {a1}, {u}, {xe}, {a1}",
                        "sxtb16 {u}, {t}, ror #8",
                        "smlad {a1}, {u}, {xo}, {a1}",
                        px = inout(reg) px,
                        p0 = inout(reg) p0,
                        p1 = inout(reg) p1,
                        t = out(reg) _,
                        u = out(reg) _,
                        xe = out(reg) _,
                        xo = out(reg) _,
                        a0 = inout(reg) a0,
                        a1 = inout(reg) a1,
                        options(readonly, nostack, preserves_flags),
                    );
                }
            }
            let quads = quads * 4;
            for k in quads..cols {
                a0 = a0.wrapping_add(i32::from(w0[k]) * i32::from(xr[k]));
                a1 = a1.wrapping_add(i32::from(w1[k]) * i32::from(xr[k]));
            }
            ar[r] = a0;
            if two {
                ar[r + 1] = a1;
            }
            r += 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    #[test]
    fn best_gemm_equals_scalar() {
        let mut seed = 1u32;
        let mut rnd = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 24) as i8
        };
        for (rows, cols, n) in [(1, 1, 1), (3, 5, 2), (8, 64, 1), (7, 33, 3), (4, 0, 2)] {
            let w: Vec<i8> = (0..rows * cols).map(|_| rnd()).collect();
            let x: Vec<i8> = (0..n * cols).map(|_| rnd()).collect();
            let (mut a, mut b) = (vec![0; n * rows], vec![0; n * rows]);
            gemm_i8_scalar(&w, rows, cols, &x, n, &mut a);
            gemm_i8(&w, rows, cols, &x, n, &mut b);
            assert_eq!(a, b);
        }
    }
}
