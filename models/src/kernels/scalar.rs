//! Portable scalar reference kernels.

/// Reference f32 product; see [`super::gemm_f32`].
pub fn gemm_f32(w: &[f32], rows: usize, cols: usize, x: &[f32], n: usize, y: &mut [f32]) {
    assert_eq!(w.len(), rows * cols);
    assert_eq!(x.len(), n * cols);
    assert_eq!(y.len(), n * rows);
    for (xr, yr) in x.chunks_exact(cols.max(1)).zip(y.chunks_exact_mut(rows.max(1))) {
        for (wr, out) in w.chunks_exact(cols.max(1)).zip(yr.iter_mut()) {
            *out = wr.iter().zip(xr).map(|(a, b)| a * b).sum();
        }
    }
}

/// Reference int8 product with int32 accumulation; see [`super::gemm_i8`].
pub fn gemm_i8(w: &[i8], rows: usize, cols: usize, x: &[i8], n: usize, acc: &mut [i32]) {
    assert_eq!(w.len(), rows * cols);
    assert_eq!(x.len(), n * cols);
    assert_eq!(acc.len(), n * rows);
    for (xr, ar) in x.chunks_exact(cols.max(1)).zip(acc.chunks_exact_mut(rows.max(1))) {
        for (wr, out) in w.chunks_exact(cols.max(1)).zip(ar.iter_mut()) {
            *out = wr.iter().zip(xr).map(|(&a, &b)| a as i32 * b as i32).sum();
        }
    }
}
