//! Matrix kernels, the joiner's `tanh` ([`add_tanh_rows`]) and the LSTM cell update
//! ([`lstm_cell`]). Every public function here dispatches at run time to the best variant the
//! CPU supports (detected once, cached); [`scalar`] is the portable reference that every
//! variant is tested against.
//!
//! Variants ([`Variant`], [`available_variants`], `*_with` entry points for tests/benchmarks):
//! scalar; x86_64 AVX2+FMA; x86_64 AVX-512 F+BW+VNNI; aarch64 NEON; aarch64 NEON + dotprod.
//! All SIMD variants compute 4 weight rows × up to 4 (AVX2: 2) input rows per micro-kernel so
//! that every load is shared, which serves both matrix-vector (`n = 1`) and small batches.
//!
//! [`gemm_f32`] / [`gemm_i8`] run on the calling thread (streaming: low latency, no pool
//! hand-off); [`gemm_f32_par`] / [`gemm_i8_par`] split large products over rayon's pool by
//! blocks of weight rows (offline/batch mode).
//!
//! Layout conventions (all row-major):
//! - weights `w`: `[rows, cols]` (one row per output),
//! - inputs `x`: `[n, cols]` (one row per frame; `n = 1` is a matrix-vector product),
//! - outputs `y`: `[n, rows]`.
//!
//! Accuracy: int8 products are exact (int32 accumulation, identical to [`scalar`] for every
//! variant; exact while `cols ≤ 131 072`). f32 variants sum in a different order than the
//! reference; each output differs from the exact dot product by at most `cols·ε·Σ|w·x|`
//! (ε = 2⁻²³), so any two variants agree within `2·cols·ε·Σ|w·x|`. Within one variant an
//! output element's value depends only on its row index and the data, never on `n`, on which
//! other inputs share its batch or on threading (the parallel split keeps row blocks aligned to
//! multiples of 4), so the rayon-parallel entry points are bit-identical to the sequential ones.
//!
//! # Panics
//! Every entry point panics if a slice length does not match the shape arguments (a programming
//! error; the SIMD code relies on it for memory safety).

use std::sync::OnceLock;

use rayon::prelude::*;

/// Runs the micro-kernel `$block::<M, N>` (M weight rows × N input rows, `MR`/`NR` of the calling
/// module at most) over the whole output; remainders use M = 1 and/or N = 1. `$extra(j)` is
/// passed through for input row `j` (per-row data such as correction sums).
#[allow(unused_macros)]
macro_rules! drive {
    ($block:ident, $w:expr, $rows:expr, $cols:expr, $x:expr, $n:expr, $y:expr, $ldy:expr, $extra:expr) => {{
        let (w, rows, cols, x, n, y, ldy) = ($w, $rows, $cols, $x, $n, $y, $ldy);
        let mut r = 0;
        while r < rows {
            let m = if r + MR <= rows { MR } else { 1 };
            let mut j = 0;
            while j < n {
                let nb = if j + NR <= n { NR } else { 1 };
                let (wb, xb, yb, e) = (
                    w.add(r * cols),
                    x.add(j * cols),
                    y.add(j * ldy + r),
                    $extra(j),
                );
                match (m == MR, nb == NR) {
                    (true, true) => $block::<MR, NR>(wb, cols, xb, e, yb, ldy),
                    (true, false) => $block::<MR, 1>(wb, cols, xb, e, yb, ldy),
                    (false, true) => $block::<1, NR>(wb, cols, xb, e, yb, ldy),
                    (false, false) => $block::<1, 1>(wb, cols, xb, e, yb, ldy),
                }
                j += nb;
            }
            r += m;
        }
    }};
}

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod lstm;
#[cfg(target_arch = "aarch64")]
mod neon;
pub mod scalar;
mod tanh;

pub use lstm::{lstm_cell, lstm_cell_scalar, lstm_cell_with};
pub use tanh::{add_tanh_rows, add_tanh_rows_scalar, add_tanh_rows_with, tanh};

/// A kernel implementation, selectable for tests and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// Portable reference ([`scalar`]).
    Scalar,
    /// x86_64 AVX2 + FMA: f32 FMA, int8 via sign-extension to i16 and `vpmaddwd`.
    Avx2,
    /// x86_64 AVX-512 (F, BW, VNNI): f32 FMA, int8 via `vpdpbusd` with an unsigned offset.
    Avx512Vnni,
    /// aarch64 NEON: f32 `fmla`, int8 via `smull` + `sadalp`.
    Neon,
    /// aarch64 NEON with the dot-product extension: int8 via `sdot`.
    NeonDot,
}

impl Variant {
    /// Every variant, slowest first.
    pub const ALL: [Variant; 5] = [
        Variant::Scalar,
        Variant::Avx2,
        Variant::Avx512Vnni,
        Variant::Neon,
        Variant::NeonDot,
    ];

    /// Whether this CPU can run the variant.
    pub fn is_available(self) -> bool {
        match self {
            Variant::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Variant::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "x86_64")]
            Variant::Avx512Vnni => {
                is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512bw")
                    && is_x86_feature_detected!("avx512vnni")
            }
            #[cfg(target_arch = "aarch64")]
            Variant::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[cfg(target_arch = "aarch64")]
            Variant::NeonDot => {
                std::arch::is_aarch64_feature_detected!("neon")
                    && std::arch::is_aarch64_feature_detected!("dotprod")
            }
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// Short lowercase name (for benchmark labels).
    pub fn name(self) -> &'static str {
        match self {
            Variant::Scalar => "scalar",
            Variant::Avx2 => "avx2",
            Variant::Avx512Vnni => "avx512vnni",
            Variant::Neon => "neon",
            Variant::NeonDot => "neon-dotprod",
        }
    }
}

impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The variants this CPU supports, slowest (scalar) first.
pub fn available_variants() -> Vec<Variant> {
    Variant::ALL
        .into_iter()
        .filter(|v| v.is_available())
        .collect()
}

/// The environment variable that overrides [`best_variant`]: a [`Variant::name`] (`scalar`,
/// `avx2`, …). Read once, at the first product.
pub const KERNELS_ENV: &str = "SOTTO_KERNELS";

/// The variant the dispatching entry points use, chosen once: the one named by `SOTTO_KERNELS`
/// ([`KERNELS_ENV`]) when this CPU supports it, else the fastest available. The override exists
/// to reproduce another platform's arithmetic: the WebAssembly build runs the scalar kernels, and
/// `SOTTO_KERNELS=scalar` gives a native run the same f32 sums (an unknown or unsupported name
/// is ignored).
pub fn best_variant() -> Variant {
    static BEST: OnceLock<Variant> = OnceLock::new();
    *BEST.get_or_init(|| {
        let wanted = std::env::var(KERNELS_ENV).ok();
        let available = available_variants();
        available
            .iter()
            .copied()
            .find(|v| wanted.as_deref() == Some(v.name()))
            .or(available.last().copied())
            .expect("scalar is always available")
    })
}

/// Raw f32 kernel: `y[j*ldy + r] = Σ_c x[j*cols + c] · w[r*cols + c]` for `j < n`, `r < rows`.
///
/// Safety: `w` readable for `rows*cols`, `x` for `n*cols` values, `y` writable at the indices
/// above, and the CPU supports the variant.
type F32Kernel = unsafe fn(*const f32, usize, usize, *const f32, usize, *mut f32, usize);
/// Raw int8 kernel with int32 output, same contract as [`F32Kernel`].
type I8Kernel = unsafe fn(*const i8, usize, usize, *const i8, usize, *mut i32, usize);

fn kernels_for(v: Variant) -> (F32Kernel, I8Kernel) {
    assert!(
        v.is_available(),
        "kernel variant {v} is not supported by this CPU"
    );
    match v {
        #[cfg(target_arch = "x86_64")]
        Variant::Avx2 => (avx2::gemm_f32, avx2::gemm_i8),
        #[cfg(target_arch = "x86_64")]
        Variant::Avx512Vnni => (avx512::gemm_f32, avx512::gemm_i8),
        #[cfg(target_arch = "aarch64")]
        Variant::Neon => (neon::gemm_f32, neon::gemm_i8),
        #[cfg(target_arch = "aarch64")]
        Variant::NeonDot => (neon::gemm_f32, neon::gemm_i8_dot),
        _ => (scalar::gemm_f32_raw, scalar::gemm_i8_raw),
    }
}

fn check_shapes(wl: usize, rows: usize, cols: usize, xl: usize, n: usize, yl: usize) {
    assert_eq!(
        Some(wl),
        rows.checked_mul(cols),
        "gemm: w length != rows * cols"
    );
    assert_eq!(Some(xl), n.checked_mul(cols), "gemm: x length != n * cols");
    assert_eq!(Some(yl), n.checked_mul(rows), "gemm: y length != n * rows");
}

/// `y[n, rows] = x[n, cols] · w[rows, cols]ᵀ` in f32.
pub fn gemm_f32(w: &[f32], rows: usize, cols: usize, x: &[f32], n: usize, y: &mut [f32]) {
    gemm_f32_with(best_variant(), w, rows, cols, x, n, y)
}

/// `acc[n, rows] = x[n, cols] · w[rows, cols]ᵀ` in int8 with int32 accumulation.
pub fn gemm_i8(w: &[i8], rows: usize, cols: usize, x: &[i8], n: usize, acc: &mut [i32]) {
    gemm_i8_with(best_variant(), w, rows, cols, x, n, acc)
}

/// [`gemm_f32`] with an explicit variant.
///
/// # Panics
/// If the CPU does not support `variant`, or on a shape mismatch.
pub fn gemm_f32_with(
    variant: Variant,
    w: &[f32],
    rows: usize,
    cols: usize,
    x: &[f32],
    n: usize,
    y: &mut [f32],
) {
    check_shapes(w.len(), rows, cols, x.len(), n, y.len());
    let k = kernels_for(variant).0;
    // SAFETY: lengths checked above, variant availability checked in `kernels_for`.
    unsafe { k(w.as_ptr(), rows, cols, x.as_ptr(), n, y.as_mut_ptr(), rows) }
}

/// [`gemm_i8`] with an explicit variant.
///
/// # Panics
/// If the CPU does not support `variant`, or on a shape mismatch.
pub fn gemm_i8_with(
    variant: Variant,
    w: &[i8],
    rows: usize,
    cols: usize,
    x: &[i8],
    n: usize,
    acc: &mut [i32],
) {
    check_shapes(w.len(), rows, cols, x.len(), n, acc.len());
    let k = kernels_for(variant).1;
    // SAFETY: lengths checked above, variant availability checked in `kernels_for`.
    unsafe {
        k(
            w.as_ptr(),
            rows,
            cols,
            x.as_ptr(),
            n,
            acc.as_mut_ptr(),
            rows,
        )
    }
}

/// [`gemm_f32`] split over rayon's thread pool (by blocks of weight rows) for large batched
/// products; bit-identical to [`gemm_f32`]. Small products run sequentially.
pub fn gemm_f32_par(w: &[f32], rows: usize, cols: usize, x: &[f32], n: usize, y: &mut [f32]) {
    gemm_f32_par_with(best_variant(), w, rows, cols, x, n, y)
}

/// [`gemm_i8`] split over rayon's thread pool; bit-identical to [`gemm_i8`].
pub fn gemm_i8_par(w: &[i8], rows: usize, cols: usize, x: &[i8], n: usize, acc: &mut [i32]) {
    gemm_i8_par_with(best_variant(), w, rows, cols, x, n, acc)
}

/// [`gemm_f32_par`] with an explicit variant.
pub fn gemm_f32_par_with(
    variant: Variant,
    w: &[f32],
    rows: usize,
    cols: usize,
    x: &[f32],
    n: usize,
    y: &mut [f32],
) {
    check_shapes(w.len(), rows, cols, x.len(), n, y.len());
    let k = kernels_for(variant).0;
    // SAFETY: lengths checked above; `par_rows` hands each task disjoint output columns.
    unsafe { par_rows(k, w.as_ptr(), rows, cols, x.as_ptr(), n, y.as_mut_ptr()) }
}

/// [`gemm_i8_par`] with an explicit variant.
pub fn gemm_i8_par_with(
    variant: Variant,
    w: &[i8],
    rows: usize,
    cols: usize,
    x: &[i8],
    n: usize,
    acc: &mut [i32],
) {
    check_shapes(w.len(), rows, cols, x.len(), n, acc.len());
    let k = kernels_for(variant).1;
    // SAFETY: as in `gemm_f32_par_with`.
    unsafe { par_rows(k, w.as_ptr(), rows, cols, x.as_ptr(), n, acc.as_mut_ptr()) }
}

/// Below this many multiply-adds a product is not worth distributing.
const PAR_MIN_MACS: usize = 1 << 20;

/// Pointer that may cross threads; every task writes a disjoint set of elements.
struct SendPtr<T>(*mut T);
struct SendConst<T>(*const T);
macro_rules! send_ptr {
    ($($t:ident),*) => {$(
        impl<T> Clone for $t<T> {
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<T> Copy for $t<T> {}
        // SAFETY: only used to hand disjoint output blocks / shared read-only inputs to tasks.
        unsafe impl<T> Send for $t<T> {}
        unsafe impl<T> Sync for $t<T> {}
    )*};
}
send_ptr!(SendPtr, SendConst);

/// Splits the weight rows into blocks (multiples of 4, so the SIMD row blocking is unchanged)
/// and runs the kernel on each block in parallel; block `[r0, r1)` writes only columns
/// `r0..r1` of every output row.
///
/// Safety: as for the raw kernels, with `y` of length `n * rows`.
unsafe fn par_rows<W: Sync, X: Sync, Y: Send>(
    k: unsafe fn(*const W, usize, usize, *const X, usize, *mut Y, usize),
    w: *const W,
    rows: usize,
    cols: usize,
    x: *const X,
    n: usize,
    y: *mut Y,
) {
    let threads = rayon::current_num_threads();
    if threads <= 1 || rows < 8 || rows.saturating_mul(cols).saturating_mul(n) < PAR_MIN_MACS {
        return unsafe { k(w, rows, cols, x, n, y, rows) };
    }
    let block = rows.div_ceil(threads * 4).next_multiple_of(4);
    let (w, x, y) = (SendConst(w), SendConst(x), SendPtr(y));
    (0..rows.div_ceil(block))
        .into_par_iter()
        .for_each(move |b| {
            let (w, x, y) = (w, x, y);
            let r0 = b * block;
            let r1 = (r0 + block).min(rows);
            // SAFETY: rows r0..r1 of w are in bounds; outputs (j, r0..r1) are disjoint across blocks.
            unsafe { k(w.0.add(r0 * cols), r1 - r0, cols, x.0, n, y.0.add(r0), rows) }
        });
}
