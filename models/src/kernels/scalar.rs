//! Portable scalar reference kernels.

/// Reference f32 product; see [`super::gemm_f32`].
pub fn gemm_f32(w: &[f32], rows: usize, cols: usize, x: &[f32], n: usize, y: &mut [f32]) {
    assert_eq!(w.len(), rows * cols);
    assert_eq!(x.len(), n * cols);
    assert_eq!(y.len(), n * rows);
    for (xr, yr) in x
        .chunks_exact(cols.max(1))
        .zip(y.chunks_exact_mut(rows.max(1)))
    {
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
    for (xr, ar) in x
        .chunks_exact(cols.max(1))
        .zip(acc.chunks_exact_mut(rows.max(1)))
    {
        for (wr, out) in w.chunks_exact(cols.max(1)).zip(ar.iter_mut()) {
            *out = dot_i8(wr, xr);
        }
    }
}

/// Strided raw form of [`gemm_f32`] used by the dispatcher (same summation order).
///
/// # Safety
/// See the raw kernel contract in the parent module.
pub(crate) unsafe fn gemm_f32_raw(
    w: *const f32,
    rows: usize,
    cols: usize,
    x: *const f32,
    n: usize,
    y: *mut f32,
    ldy: usize,
) {
    for j in 0..n {
        let xr = unsafe { std::slice::from_raw_parts(x.add(j * cols), cols) };
        for r in 0..rows {
            let wr = unsafe { std::slice::from_raw_parts(w.add(r * cols), cols) };
            unsafe { *y.add(j * ldy + r) = wr.iter().zip(xr).map(|(a, b)| a * b).sum() };
        }
    }
}

/// Strided raw form of [`gemm_i8`] used by the dispatcher.
///
/// # Safety
/// See the raw kernel contract in the parent module.
pub(crate) unsafe fn gemm_i8_raw(
    w: *const i8,
    rows: usize,
    cols: usize,
    x: *const i8,
    n: usize,
    y: *mut i32,
    ldy: usize,
) {
    for j in 0..n {
        let xr = unsafe { std::slice::from_raw_parts(x.add(j * cols), cols) };
        for r in 0..rows {
            let wr = unsafe { std::slice::from_raw_parts(w.add(r * cols), cols) };
            unsafe { *y.add(j * ldy + r) = dot_i8(wr, xr) };
        }
    }
}

/// Exact int8 dot product (wrapping only beyond the documented `cols` limit).
#[inline]
pub(crate) fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    a.iter()
        .zip(b)
        .fold(0i32, |s, (&p, &q)| s.wrapping_add(p as i32 * q as i32))
}
