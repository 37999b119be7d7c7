//! x86_64 AVX2 + FMA kernels.
//!
//! int8: bytes are sign-extended to i16 (`vpmovsxbw`) and multiplied pairwise into i32
//! (`vpmaddwd`); each pair sums to at most 2·128·128, so nothing saturates and the result is
//! exactly the scalar one (`vpmaddubsw` would saturate, hence not used). Column tails (< 16) are
//! finished in scalar code. f32: FMA over 8 lanes, tails via masked loads.
//!
//! Blocking: 4 weight rows × up to 2 input rows per micro-kernel (16 ymm registers); each output
//! element has its own accumulator, so its summation order never depends on the input-row blocking; full 4-row blocks reduce
//! their four accumulators together (for f32 a fixed, but different, order than the remainder rows).

use std::arch::x86_64::*;

use super::scalar::dot_i8;

const MR: usize = 4;
const NR: usize = 2;

/// f32 kernel; raw contract in the parent module.
#[target_feature(enable = "avx2,fma")]
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
#[target_feature(enable = "avx2,fma")]
unsafe fn hsum_ps(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps::<1>(s, s)))
}

#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn f32_block<const M: usize, const N: usize>(
    w: *const f32,
    cols: usize,
    x: *const f32,
    _: (),
    y: *mut f32,
    ldy: usize,
) {
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); N]; M];
        let mut k = 0;
        while k + 8 <= cols {
            let mut xv = [_mm256_setzero_ps(); N];
            for (j, v) in xv.iter_mut().enumerate() {
                *v = _mm256_loadu_ps(x.add(j * cols + k));
            }
            for (i, a) in acc.iter_mut().enumerate() {
                let wv = _mm256_loadu_ps(w.add(i * cols + k));
                for (a, v) in a.iter_mut().zip(&xv) {
                    *a = _mm256_fmadd_ps(wv, *v, *a);
                }
            }
            k += 8;
        }
        if k < cols {
            // Lanes < cols - k enabled (sign bit set).
            let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            let m = _mm256_cmpgt_epi32(_mm256_set1_epi32((cols - k) as i32), lane);
            let mut xv = [_mm256_setzero_ps(); N];
            for (j, v) in xv.iter_mut().enumerate() {
                *v = _mm256_maskload_ps(x.add(j * cols + k), m);
            }
            for (i, a) in acc.iter_mut().enumerate() {
                let wv = _mm256_maskload_ps(w.add(i * cols + k), m);
                for (a, v) in a.iter_mut().zip(&xv) {
                    *a = _mm256_fmadd_ps(wv, *v, *a);
                }
            }
        }
        if M == 4 {
            // Four adjacent outputs reduced together (row blocks start at multiples of 4 in every
            // call, including the parallel split, so a row always takes the same path).
            let [a, b, c, d] = [&acc[0], &acc[1], &acc[2], &acc[3]];
            for j in 0..N {
                _mm_storeu_ps(y.add(j * ldy), hsum4_ps(a[j], b[j], c[j], d[j]));
            }
        } else {
            for (i, a) in acc.iter().enumerate() {
                for (j, a) in a.iter().enumerate() {
                    *y.add(j * ldy + i) = hsum_ps(*a);
                }
            }
        }
    }
}

/// Lane sums of four vectors, `[Σa, Σb, Σc, Σd]`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn hsum4_ps(a: __m256, b: __m256, c: __m256, d: __m256) -> __m128 {
    let ab = _mm256_castps_pd(_mm256_add_ps(
        _mm256_unpacklo_ps(a, b),
        _mm256_unpackhi_ps(a, b),
    ));
    let cd = _mm256_castps_pd(_mm256_add_ps(
        _mm256_unpacklo_ps(c, d),
        _mm256_unpackhi_ps(c, d),
    ));
    let s = _mm256_add_ps(
        _mm256_castpd_ps(_mm256_unpacklo_pd(ab, cd)),
        _mm256_castpd_ps(_mm256_unpackhi_pd(ab, cd)),
    );
    _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps::<1>(s))
}

/// int8 kernel; raw contract in the parent module.
#[target_feature(enable = "avx2,fma")]
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

#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn hsum_epi32(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
    _mm_cvtsi128_si32(_mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s)))
}

#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn i8_block<const M: usize, const N: usize>(
    w: *const i8,
    cols: usize,
    x: *const i8,
    _: (),
    y: *mut i32,
    ldy: usize,
) {
    unsafe {
        let mut acc = [[_mm256_setzero_si256(); N]; M];
        let mut k = 0;
        while k + 16 <= cols {
            let mut xv = [_mm256_setzero_si256(); N];
            for (j, v) in xv.iter_mut().enumerate() {
                *v = _mm256_cvtepi8_epi16(_mm_loadu_si128(x.add(j * cols + k).cast()));
            }
            for (i, a) in acc.iter_mut().enumerate() {
                let wv = _mm256_cvtepi8_epi16(_mm_loadu_si128(w.add(i * cols + k).cast()));
                for (a, v) in a.iter_mut().zip(&xv) {
                    *a = _mm256_add_epi32(*a, _mm256_madd_epi16(wv, *v));
                }
            }
            k += 16;
        }
        let rest = cols - k;
        for (i, a) in acc.iter().enumerate() {
            let wt = std::slice::from_raw_parts(w.add(i * cols + k), rest);
            for (j, a) in a.iter().enumerate() {
                let xt = std::slice::from_raw_parts(x.add(j * cols + k), rest);
                *y.add(j * ldy + i) = hsum_epi32(*a).wrapping_add(dot_i8(wt, xt));
            }
        }
    }
}
