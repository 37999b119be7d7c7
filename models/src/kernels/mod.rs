//! Matrix kernels. Every public function here dispatches at run time to the best variant the
//! CPU supports; [`scalar`] is the portable reference that every variant is tested against.
//!
//! Layout conventions (all row-major):
//! - weights `w`: `[rows, cols]` (one row per output),
//! - inputs `x`: `[n, cols]` (one row per frame; `n = 1` is a matrix-vector product),
//! - outputs `y`: `[n, rows]`.

pub mod scalar;

/// `y[n, rows] = x[n, cols] · w[rows, cols]ᵀ` in f32.
pub fn gemm_f32(w: &[f32], rows: usize, cols: usize, x: &[f32], n: usize, y: &mut [f32]) {
    scalar::gemm_f32(w, rows, cols, x, n, y)
}

/// `acc[n, rows] = x[n, cols] · w[rows, cols]ᵀ` in int8 with int32 accumulation.
pub fn gemm_i8(w: &[i8], rows: usize, cols: usize, x: &[i8], n: usize, acc: &mut [i32]) {
    scalar::gemm_i8(w, rows, cols, x, n, acc)
}
