//! Kernel speed per variant: GEMV (n = 1) at 512×512 and 1024×1024, and a batch of 16 frames at
//! 512×512; f32, raw int8 (already quantized inputs), and int8 from f32 via `QMatrix::matmul`
//! (activation quantization + int8 GEMM + rescale).
//!
//! `cargo bench -p sotto-models --bench kernels`

use std::fmt;

use divan::{black_box, Bencher};
use sotto_models::kernels::{self, Variant};
use sotto_models::quant::QMatrix;

fn main() {
    divan::main();
}

/// One benchmark case: variant × square matrix size × batch size.
#[derive(Clone, Copy)]
struct Case {
    v: Variant,
    dim: usize,
    n: usize,
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{} n={} {}", self.dim, self.dim, self.n, self.v)
    }
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for (dim, n) in [(512, 1), (1024, 1), (512, 16)] {
        for v in kernels::available_variants() {
            out.push(Case { v, dim, n });
        }
    }
    out
}

/// Deterministic pseudo-random values in [-1, 1].
fn data(len: usize, seed: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i.wrapping_mul(2654435761).wrapping_add(seed) % 2001) as f32 - 1000.0) / 1000.0)
        .collect()
}

fn data_i8(len: usize, seed: usize) -> Vec<i8> {
    data(len, seed).iter().map(|v| (v * 127.0) as i8).collect()
}

/// f32 GEMM `y = x · wᵀ`.
#[divan::bench(args = cases())]
fn f32_gemm(b: Bencher, c: Case) {
    let (w, x) = (data(c.dim * c.dim, 1), data(c.n * c.dim, 2));
    let mut y = vec![0.0; c.n * c.dim];
    b.bench_local(|| {
        kernels::gemm_f32_with(c.v, black_box(&w), c.dim, c.dim, black_box(&x), c.n, &mut y)
    });
}

/// Raw int8 GEMM with int32 accumulation.
#[divan::bench(args = cases())]
fn i8_gemm(b: Bencher, c: Case) {
    let (w, x) = (data_i8(c.dim * c.dim, 1), data_i8(c.n * c.dim, 2));
    let mut acc = vec![0; c.n * c.dim];
    b.bench_local(|| {
        kernels::gemm_i8_with(
            c.v,
            black_box(&w),
            c.dim,
            c.dim,
            black_box(&x),
            c.n,
            &mut acc,
        )
    });
}

/// f32 in, f32 out through int8: `QMatrix::matmul`.
#[divan::bench(args = cases())]
fn i8_qmatrix_matmul(b: Bencher, c: Case) {
    let q = QMatrix::quantize(&data(c.dim * c.dim, 1), c.dim, c.dim);
    let x = data(c.n * c.dim, 2);
    let mut y = vec![0.0; c.n * c.dim];
    b.bench_local(|| q.matmul_with(c.v, black_box(&x), c.n, &mut y));
}

/// Activation quantization alone (part of `i8_qmatrix_matmul`).
#[divan::bench(args = [512, 1024])]
fn quantize_row(b: Bencher, len: usize) {
    let x = data(len, 3);
    let mut q = vec![0i8; len];
    b.bench_local(|| sotto_models::quant::quantize_row(black_box(&x), &mut q));
}

/// libm (`None`) or a variant of the fast `tanh`.
#[derive(Clone, Copy)]
struct TanhCase(Option<Variant>);

impl fmt::Display for TanhCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.map_or("libm", Variant::name))
    }
}

fn tanh_cases() -> Vec<TanhCase> {
    let mut out = vec![TanhCase(None)];
    out.extend(
        kernels::available_variants()
            .into_iter()
            .map(|v| TanhCase(Some(v))),
    );
    out
}

/// The joiner's activation at beam 128: `tanh(pred + enc)` over 128 rows of 256 units, per
/// variant of [`kernels::add_tanh_rows`], against libm's `tanhf` (`"libm"`).
#[divan::bench(args = tanh_cases())]
fn joiner_tanh(b: Bencher, TanhCase(v): TanhCase) {
    let bias = data(256, 3);
    let rows0: Vec<f32> = data(128 * 256, 4).iter().map(|x| 3.0 * x).collect();
    let mut rows = rows0.clone();
    b.bench_local(|| {
        rows.copy_from_slice(&rows0);
        match v {
            Some(v) => kernels::add_tanh_rows_with(v, black_box(&mut rows), &bias),
            None => {
                for row in rows.chunks_exact_mut(256) {
                    for (p, a) in row.iter_mut().zip(&bias) {
                        *p = (*p + a).tanh();
                    }
                }
            }
        }
    });
}
