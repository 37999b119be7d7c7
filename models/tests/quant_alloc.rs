//! `QMatrix::matmul` must not allocate in steady state (its scratch is per-thread and reused).
//! A separate test binary because it installs a counting global allocator.

use sotto_models::quant::QMatrix;
use sotto_testutil::CountingAlloc;

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc::all_threads();

#[test]
fn matmul_is_allocation_free_after_warmup() {
    let (rows, cols) = (96, 80);
    let w: Vec<f32> = (0..rows * cols).map(|i| (i as f32 * 0.1).sin()).collect();
    let q = QMatrix::quantize(&w, rows, cols);
    let x: Vec<f32> = (0..64 * cols).map(|i| (i as f32 * 0.3).cos()).collect();
    let mut y = vec![0.0; 64 * rows];
    q.matmul(&x, 64, &mut y); // warm-up: sizes the scratch for n = 64
    let before = GLOBAL.allocations();
    for n in [1, 7, 16, 64, 3] {
        q.matmul(&x[..n * cols], n, &mut y[..n * rows]);
    }
    assert_eq!(GLOBAL.allocations() - before, 0);
}
