//! `QMatrix::matmul` must not allocate in steady state (its scratch is per-thread and reused).
//! A separate test binary because it installs a counting global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use sotto_models::quant::QMatrix;

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn matmul_is_allocation_free_after_warmup() {
    let (rows, cols) = (96, 80);
    let w: Vec<f32> = (0..rows * cols).map(|i| (i as f32 * 0.1).sin()).collect();
    let q = QMatrix::quantize(&w, rows, cols);
    let x: Vec<f32> = (0..64 * cols).map(|i| (i as f32 * 0.3).cos()).collect();
    let mut y = vec![0.0; 64 * rows];
    q.matmul(&x, 64, &mut y); // warm-up: sizes the scratch for n = 64
    let before = ALLOCS.load(Ordering::Relaxed);
    for n in [1, 7, 16, 64, 3] {
        q.matmul(&x[..n * cols], n, &mut y[..n * rows]);
    }
    assert_eq!(ALLOCS.load(Ordering::Relaxed) - before, 0);
}
