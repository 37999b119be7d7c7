//! int8 quantization.
//!
//! # Scheme
//! - **Weights** ([`QMatrix`]): symmetric, per output channel (one scale per row of the
//!   `[rows, cols]` matrix): `scale[r] = max_c |w[r, c]| / 127` and
//!   `q = round(w · (127 / max_c |w[r, c]|))` with round-half-away-from-zero, so `q ∈ [-127, 127]`
//!   and `|w − q·scale| ≤ scale / 2` (up to f32 rounding). A row whose max-abs is below [`TINY`]
//!   gets scale 0 and zero data. No zero point: symmetric ranges let the kernels multiply raw int8
//!   values, and -128 never occurs.
//! - **Activations** ([`quantize_row`]): quantized at run time with the same rule, one scale per
//!   input row (frame) from that row's own max-abs.
//! - **Product** ([`QMatrix::matmul`]): `acc = Σ_c q_x[c] · q_w[r, c]` exactly in int32
//!   ([`crate::kernels::gemm_i8`]), then `y[r] = acc · x_scale · w_scale[r]` in f32.
//!
//! Error of the product: write `x̂ = q_x·s_x`, `ŵ = q_w·s_w`, so `|x − x̂| ≤ s_x/2` and
//! `|w − ŵ| ≤ s_w/2`. Then `x·w − x̂·ŵ = x·(w − ŵ) + (x − x̂)·ŵ` and `|ŵ| ≤ |w| + s_w/2`, so per
//! output `|Σ x·w − y| ≤ Σ_c (|x_c|·s_w/2 + (s_x/2)·(|w_c| + s_w/2))` plus f32 rounding of the
//! rescale; `tests/quant.rs` checks exactly this bound.
//!
//! int32 accumulation is exact as long as `cols ≤ 131 072` (`127·128·cols < 2³¹`).

use std::cell::Cell;

use crate::kernels;
use crate::tensor::Buffer;

/// Why a quantized matrix could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QuantError {
    /// Data length does not match `rows * cols`.
    #[error("int8 data has {got} values, expected {rows} x {cols}")]
    DataLen {
        rows: usize,
        cols: usize,
        got: usize,
    },
    /// Scale count does not match `rows`.
    #[error("{got} scales for {rows} rows")]
    ScalesLen { rows: usize, got: usize },
    /// A scale is negative, NaN or infinite.
    #[error("scale of row {row} is {value}, expected finite and >= 0")]
    BadScale { row: usize, value: f32 },
    /// A weight to quantize is NaN or infinite.
    #[error("weight [{row}, {col}] is {value}, expected a finite number")]
    NonFinite { row: usize, col: usize, value: f32 },
    /// `rows * cols` overflows or the f32 input has the wrong length.
    #[error("f32 weights have {got} values, expected {rows} x {cols}")]
    Shape {
        rows: usize,
        cols: usize,
        got: usize,
    },
}

/// int8 weight matrix `[rows, cols]`, symmetric per-output-channel (row) scales:
/// `w ≈ data * scales[row]`. See the [module docs](self) for the scheme.
#[derive(Debug, Clone, PartialEq)]
pub struct QMatrix {
    /// Number of rows (outputs).
    pub rows: usize,
    /// Number of columns (inputs).
    pub cols: usize,
    /// Row-major `[rows, cols]` int8 values.
    pub data: Buffer<i8>,
    /// One scale per row.
    pub scales: Buffer<f32>,
}

/// `round(v)` (half away from zero), clamped to ±127. Written without libm's `roundf` (a
/// function call per element on baseline x86_64) so that it vectorizes: the fractional part
/// `v − trunc(v)` is computed exactly, then compared with ±0.5.
#[inline(always)]
fn round_clamp(v: f32) -> i8 {
    // `max`/`min` (unlike `clamp`) map NaN to a number, so the conversion below is always in
    // range; callers only pass finite values anyway.
    #[allow(clippy::manual_clamp)]
    let v = v.max(-128.5).min(128.5);
    // SAFETY: v is finite and within ±128.5, so truncation to i32 is defined.
    let t: i32 = unsafe { v.to_int_unchecked() };
    let f = v - t as f32;
    (t + (f >= 0.5) as i32 - (f <= -0.5) as i32).clamp(-127, 127) as i8
}

#[inline(always)]
fn quantize_core(x: &[f32], inv: f32, out: &mut [i8]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = round_clamp(v * inv);
    }
}

/// max |v| over the slice; NaN if any element is NaN. Works on the bit patterns: with the sign
/// bit cleared, IEEE floats order like unsigned integers (NaNs above ∞), and an integer max
/// vectorizes where a float max reduction does not.
#[inline(always)]
fn max_abs_core(x: &[f32]) -> f32 {
    f32::from_bits(
        x.iter()
            .map(|v| v.to_bits() & 0x7fff_ffff)
            .fold(0, u32::max),
    )
}

// The same code compiled for AVX2, picked at run time (std caches the feature test).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn quantize_avx2(x: &[f32], inv: f32, out: &mut [i8]) {
    quantize_core(x, inv, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn max_abs_avx2(x: &[f32]) -> f32 {
    max_abs_core(x)
}

fn quantize_with(x: &[f32], inv: f32, out: &mut [i8]) {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is available.
        return unsafe { quantize_avx2(x, inv, out) };
    }
    quantize_core(x, inv, out)
}

fn max_abs(x: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is available.
        return unsafe { max_abs_avx2(x) };
    }
    max_abs_core(x)
}

/// Rows whose max-abs is below this are treated as all zero: `127 / max` would overflow to
/// infinity for them, and such values are far below anything a model computes with.
pub const TINY: f32 = 1e-30;

/// Symmetric per-row quantization of activations into `out` (same length as `x`); returns the
/// scale, `x ≈ out * scale`. An all-zero row (max-abs below [`TINY`]) gives scale 0 and all-zero
/// output.
///
/// Non-finite input (NaN/∞) gives a NaN scale, so the product that uses it is NaN rather than
/// silently wrong.
///
/// # Panics
/// If `out.len() != x.len()`.
pub fn quantize_row(x: &[f32], out: &mut [i8]) -> f32 {
    assert_eq!(x.len(), out.len(), "quantize_row: output length");
    let m = max_abs(x);
    if !m.is_finite() {
        out.fill(0);
        return f32::NAN;
    }
    if m < TINY {
        out.fill(0);
        return 0.0;
    }
    quantize_with(x, 127.0 / m, out);
    m / 127.0
}

impl QMatrix {
    /// Quantizes a row-major f32 `[rows, cols]` matrix (max-abs per row / 127, round-half-away).
    ///
    /// # Panics
    /// If `w.len() != rows * cols` or a weight is not finite; use [`QMatrix::try_quantize`] for
    /// weights that come from a file.
    pub fn quantize(w: &[f32], rows: usize, cols: usize) -> Self {
        Self::try_quantize(w, rows, cols).unwrap_or_else(|e| panic!("QMatrix::quantize: {e}"))
    }

    /// Like [`QMatrix::quantize`], but reports a wrong length or a non-finite weight as an error.
    pub fn try_quantize(w: &[f32], rows: usize, cols: usize) -> Result<Self, QuantError> {
        if rows.checked_mul(cols) != Some(w.len()) {
            return Err(QuantError::Shape {
                rows,
                cols,
                got: w.len(),
            });
        }
        if let Some(i) = w.iter().position(|v| !v.is_finite()) {
            return Err(QuantError::NonFinite {
                row: i / cols,
                col: i % cols,
                value: w[i],
            });
        }
        let mut data = vec![0i8; w.len()];
        let mut scales = Vec::with_capacity(rows);
        if cols > 0 {
            for (row, out) in w.chunks_exact(cols).zip(data.chunks_exact_mut(cols)) {
                scales.push(quantize_row(row, out));
            }
        } else {
            scales.resize(rows, 0.0);
        }
        Ok(QMatrix {
            rows,
            cols,
            data: data.into(),
            scales: scales.into(),
        })
    }

    /// Assembles a matrix from stored parts (e.g. mapped from a model file), checking shapes and
    /// that every scale is finite and non-negative.
    pub fn from_parts(
        rows: usize,
        cols: usize,
        data: Buffer<i8>,
        scales: Buffer<f32>,
    ) -> Result<Self, QuantError> {
        if rows.checked_mul(cols) != Some(data.len()) {
            return Err(QuantError::DataLen {
                rows,
                cols,
                got: data.len(),
            });
        }
        if scales.len() != rows {
            return Err(QuantError::ScalesLen {
                rows,
                got: scales.len(),
            });
        }
        if let Some(row) = scales.iter().position(|s| !(s.is_finite() && *s >= 0.0)) {
            return Err(QuantError::BadScale {
                row,
                value: scales[row],
            });
        }
        Ok(QMatrix {
            rows,
            cols,
            data,
            scales,
        })
    }

    /// The f32 matrix `data * scales[row]`, row-major `[rows, cols]`.
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.rows * self.cols);
        if self.cols > 0 {
            for (row, &s) in self.data.chunks_exact(self.cols).zip(self.scales.iter()) {
                out.extend(row.iter().map(|&q| q as f32 * s));
            }
        }
        out
    }

    /// `y[n, rows] = x[n, cols] · Wᵀ`: each x row is quantized ([`quantize_row`]), multiplied in
    /// int8 with exact int32 accumulation ([`kernels::gemm_i8`]) and rescaled:
    /// `y = acc * x_scale * w_scale[row]`.
    ///
    /// Scratch space (quantized x, scales, int32 accumulators) lives in a per-thread buffer that
    /// grows to the largest product seen, so steady-state calls do not allocate.
    ///
    /// # Panics
    /// If `x.len() != n * cols` or `y.len() != n * rows`.
    pub fn matmul(&self, x: &[f32], n: usize, y: &mut [f32]) {
        self.matmul_impl(kernels::best_variant(), x, n, y, false)
    }

    /// [`QMatrix::matmul`] with an explicit kernel variant (for tests and benchmarks).
    ///
    /// # Panics
    /// As [`QMatrix::matmul`], or if the CPU does not support `variant`.
    pub fn matmul_with(&self, variant: kernels::Variant, x: &[f32], n: usize, y: &mut [f32]) {
        self.matmul_impl(variant, x, n, y, false)
    }

    /// Like [`QMatrix::matmul`] but splits large products over rayon's thread pool
    /// ([`kernels::gemm_i8_par`]); bit-identical results.
    pub fn matmul_par(&self, x: &[f32], n: usize, y: &mut [f32]) {
        self.matmul_impl(kernels::best_variant(), x, n, y, true)
    }

    fn matmul_impl(&self, v: kernels::Variant, x: &[f32], n: usize, y: &mut [f32], par: bool) {
        let (rows, cols) = (self.rows, self.cols);
        assert_eq!(x.len(), n * cols, "QMatrix::matmul: x length");
        assert_eq!(y.len(), n * rows, "QMatrix::matmul: y length");
        // The fields are public; catch a hand-built inconsistent matrix before zips truncate.
        assert_eq!(self.scales.len(), rows, "QMatrix::matmul: scales length");
        with_scratch(n * cols, n * rows, n, |xq, acc, xs| {
            if cols > 0 {
                for ((xr, qr), s) in x
                    .chunks_exact(cols)
                    .zip(xq.chunks_exact_mut(cols))
                    .zip(xs.iter_mut())
                {
                    *s = quantize_row(xr, qr);
                }
            } else {
                xs.fill(0.0);
            }
            if par {
                kernels::gemm_i8_par_with(v, &self.data, rows, cols, xq, n, acc);
            } else {
                kernels::gemm_i8_with(v, &self.data, rows, cols, xq, n, acc);
            }
            if rows > 0 {
                for ((yr, ar), &s) in y
                    .chunks_exact_mut(rows)
                    .zip(acc.chunks_exact(rows))
                    .zip(xs.iter())
                {
                    for ((o, &a), &ws) in yr.iter_mut().zip(ar).zip(self.scales.iter()) {
                        *o = a as f32 * s * ws;
                    }
                }
            }
        });
    }
}

#[derive(Default)]
struct Scratch {
    xq: Vec<i8>,
    acc: Vec<i32>,
    xs: Vec<f32>,
}

thread_local! {
    static SCRATCH: Cell<Scratch> = Cell::new(Scratch::default());
}

/// Runs `f` with per-thread scratch slices of the requested lengths. The buffers are taken out of
/// the thread-local while in use, so a re-entrant call (e.g. rayon running another job on this
/// thread while it waits) just gets fresh buffers instead of a borrow panic.
fn with_scratch<R>(
    nx: usize,
    nacc: usize,
    ns: usize,
    f: impl FnOnce(&mut [i8], &mut [i32], &mut [f32]) -> R,
) -> R {
    let mut s = SCRATCH.with(Cell::take);
    if s.xq.len() < nx {
        s.xq.resize(nx, 0);
    }
    if s.acc.len() < nacc {
        s.acc.resize(nacc, 0);
    }
    if s.xs.len() < ns {
        s.xs.resize(ns, 0.0);
    }
    let r = f(&mut s.xq[..nx], &mut s.acc[..nacc], &mut s.xs[..ns]);
    SCRATCH.with(|c| c.set(s));
    r
}
