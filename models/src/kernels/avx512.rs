//! x86_64 AVX-512 kernels (F + BW + VNNI).
//!
//! int8: `vpdpbusd` multiplies *unsigned* by signed bytes, so weights are offset into u8 on the
//! fly (`w ^ 0x80 = w + 128`) and the surplus `128·Σx` (one value per input row, computed once)
//! is subtracted after the reduction. Each 4-byte group sums to at most 4·255·128 without
//! saturation, so the result is exactly the scalar one. Column tails use masked loads (masked
//! lanes read as 0, and `0 ^ 0x80` times a zero x byte adds nothing).
//!
//! Blocking: 4 weight rows × up to 4 input rows per micro-kernel, sharing every load; each output
//! element has its own accumulator, so its summation order never depends on the input-row blocking; full 4-row blocks reduce
//! their four accumulators together (for f32 a fixed, but different, order than the remainder rows).

use std::arch::x86_64::*;

const MR: usize = 4;
const NR: usize = 4;
/// Input rows whose correction sums are kept on the stack at a time.
const NCHUNK: usize = 64;

/// f32 kernel; raw contract in the parent module.
#[target_feature(enable = "avx512f")]
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
#[target_feature(enable = "avx512f")]
unsafe fn f32_block<const M: usize, const N: usize>(
    w: *const f32,
    cols: usize,
    x: *const f32,
    _: (),
    y: *mut f32,
    ldy: usize,
) {
    unsafe {
        let mut acc = [[_mm512_setzero_ps(); N]; M];
        let mut k = 0;
        while k + 16 <= cols {
            let mut xv = [_mm512_setzero_ps(); N];
            for (j, v) in xv.iter_mut().enumerate() {
                *v = _mm512_loadu_ps(x.add(j * cols + k));
            }
            for (i, a) in acc.iter_mut().enumerate() {
                let wv = _mm512_loadu_ps(w.add(i * cols + k));
                for (a, v) in a.iter_mut().zip(&xv) {
                    *a = _mm512_fmadd_ps(wv, *v, *a);
                }
            }
            k += 16;
        }
        if k < cols {
            let m: __mmask16 = (1u32 << (cols - k)) as u16 - 1;
            let mut xv = [_mm512_setzero_ps(); N];
            for (j, v) in xv.iter_mut().enumerate() {
                *v = _mm512_maskz_loadu_ps(m, x.add(j * cols + k));
            }
            for (i, a) in acc.iter_mut().enumerate() {
                let wv = _mm512_maskz_loadu_ps(m, w.add(i * cols + k));
                for (a, v) in a.iter_mut().zip(&xv) {
                    *a = _mm512_fmadd_ps(wv, *v, *a);
                }
            }
        }
        if M == 4 {
            // Four adjacent outputs reduced together (the row blocks start at multiples of 4 in
            // every call, including the parallel split, so a row always takes the same path).
            let [a, b, c, d] = [&acc[0], &acc[1], &acc[2], &acc[3]];
            for j in 0..N {
                _mm_storeu_ps(y.add(j * ldy), hsum4_ps(a[j], b[j], c[j], d[j]));
            }
        } else {
            for (i, a) in acc.iter().enumerate() {
                for (j, a) in a.iter().enumerate() {
                    *y.add(j * ldy + i) = _mm512_reduce_add_ps(*a);
                }
            }
        }
    }
}

/// Lane sums of four vectors, `[Σa, Σb, Σc, Σd]`.
#[inline]
#[target_feature(enable = "avx512f")]
fn hsum4_ps(a: __m512, b: __m512, c: __m512, d: __m512) -> __m128 {
    let ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
    let cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
    let (ab, cd) = (_mm512_castps_pd(ab), _mm512_castps_pd(cd));
    let s = _mm512_add_ps(
        _mm512_castpd_ps(_mm512_unpacklo_pd(ab, cd)),
        _mm512_castpd_ps(_mm512_unpackhi_pd(ab, cd)),
    );
    let s = _mm256_add_ps(
        _mm512_castps512_ps256(s),
        _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(s))),
    );
    _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps::<1>(s))
}

/// Mask of the first `len` (< 64) byte lanes.
#[inline(always)]
fn tail_mask(len: usize) -> __mmask64 {
    (1u64 << len) - 1
}

/// Σx of each input row, for the unsigned-offset correction.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn row_sum(x: *const i8, cols: usize) -> i32 {
    unsafe {
        let ones = _mm512_set1_epi8(1);
        let mut acc = _mm512_setzero_si512();
        let mut k = 0;
        while k + 64 <= cols {
            acc = _mm512_dpbusd_epi32(acc, ones, _mm512_loadu_si512(x.add(k).cast()));
            k += 64;
        }
        if k < cols {
            acc = _mm512_dpbusd_epi32(
                acc,
                ones,
                _mm512_maskz_loadu_epi8(tail_mask(cols - k), x.add(k)),
            );
        }
        _mm512_reduce_add_epi32(acc)
    }
}

/// int8 kernel; raw contract in the parent module.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) unsafe fn gemm_i8(
    w: *const i8,
    rows: usize,
    cols: usize,
    x: *const i8,
    n: usize,
    y: *mut i32,
    ldy: usize,
) {
    unsafe {
        let mut j0 = 0;
        while j0 < n {
            let nb = (n - j0).min(NCHUNK);
            let (xb, yb) = (x.add(j0 * cols), y.add(j0 * ldy));
            let mut corr = [0i32; NCHUNK];
            for (j, c) in corr[..nb].iter_mut().enumerate() {
                *c = row_sum(xb.add(j * cols), cols).wrapping_mul(128);
            }
            drive!(i8_block, w, rows, cols, xb, nb, yb, ldy, |j: usize| &corr
                [j..]);
            j0 += nb;
        }
    }
}

/// Accumulates the columns `k..` selected by `m` (masked lanes read as zero).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn i8_masked_chunk<const M: usize, const N: usize>(
    acc: &mut [[__m512i; N]; M],
    w: *const i8,
    cols: usize,
    x: *const i8,
    k: usize,
    m: __mmask64,
) {
    unsafe {
        let flip = _mm512_set1_epi8(i8::MIN);
        let mut xv = [_mm512_setzero_si512(); N];
        for (j, v) in xv.iter_mut().enumerate() {
            *v = _mm512_maskz_loadu_epi8(m, x.add(j * cols + k));
        }
        for (i, a) in acc.iter_mut().enumerate() {
            let wv = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, w.add(i * cols + k)), flip);
            for (a, v) in a.iter_mut().zip(&xv) {
                *a = _mm512_dpbusd_epi32(*a, wv, *v);
            }
        }
    }
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn i8_block<const M: usize, const N: usize>(
    w: *const i8,
    cols: usize,
    x: *const i8,
    corr: &[i32],
    y: *mut i32,
    ldy: usize,
) {
    unsafe {
        let flip = _mm512_set1_epi8(i8::MIN);
        let mut acc = [[_mm512_setzero_si512(); N]; M];
        // Matrix-vector blocks start with a masked head chunk that brings the first row's weight
        // loads to 64-byte alignment (split-line loads cost ~25% at n = 1; every row is aligned
        // when cols is a multiple of 64). Integer sums are exact in any grouping, so the result
        // is unchanged. (Measured slower for the 4-input blocks, so only N = 1.)
        let head = if N == 1 && cols >= 256 {
            (64 - w as usize % 64) % 64
        } else {
            0
        };
        if head > 0 {
            i8_masked_chunk(&mut acc, w, cols, x, 0, tail_mask(head));
        }
        let mut k = head;
        while k + 64 <= cols {
            let mut xv = [_mm512_setzero_si512(); N];
            for (j, v) in xv.iter_mut().enumerate() {
                *v = _mm512_loadu_si512(x.add(j * cols + k).cast());
            }
            for (i, a) in acc.iter_mut().enumerate() {
                let wv = _mm512_xor_si512(_mm512_loadu_si512(w.add(i * cols + k).cast()), flip);
                for (a, v) in a.iter_mut().zip(&xv) {
                    *a = _mm512_dpbusd_epi32(*a, wv, *v);
                }
            }
            k += 64;
        }
        if k < cols {
            i8_masked_chunk(&mut acc, w, cols, x, k, tail_mask(cols - k));
        }
        if M == 4 {
            // Four rows are adjacent in the output: reduce them together and store once.
            for j in 0..N {
                let s = hsum4(acc[0][j], acc[1][j], acc[2][j], acc[3][j]);
                _mm_storeu_si128(
                    y.add(j * ldy).cast(),
                    _mm_sub_epi32(s, _mm_set1_epi32(corr[j])),
                );
            }
        } else {
            for (i, a) in acc.iter().enumerate() {
                for (j, a) in a.iter().enumerate() {
                    *y.add(j * ldy + i) = _mm512_reduce_add_epi32(*a).wrapping_sub(corr[j]);
                }
            }
        }
    }
}

/// Lane sums of four vectors, `[Σa, Σb, Σc, Σd]` (transposing adds instead of four full reductions).
#[inline]
#[target_feature(enable = "avx512f")]
fn hsum4(a: __m512i, b: __m512i, c: __m512i, d: __m512i) -> __m128i {
    let ab = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
    let cd = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));
    // Each 128-bit lane now holds partial [Σa, Σb, Σc, Σd]; add the four lanes.
    let s = _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));
    let s = _mm256_add_epi32(_mm512_castsi512_si256(s), _mm512_extracti64x4_epi64::<1>(s));
    _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256::<1>(s))
}
