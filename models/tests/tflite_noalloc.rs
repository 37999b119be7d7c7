//! `Interpreter::invoke` allocates nothing (counting global allocator).

use sotto_models::tflite::{Interpreter, Model};
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Only the test thread is counted (the harness allocates on its own threads).
    static COUNT_HERE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if COUNT_HERE.with(|c| c.get()) {
            ALLOCS.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn invoke_does_not_allocate() {
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/microwakeword/models");
    COUNT_HERE.with(|c| c.set(true));
    for file in [
        "v1/alexa.tflite",
        "v2/okay_nabu.tflite",
        "v2/vad.tflite",
        "pymicro-wakeword-tests/computer.tflite",
    ] {
        let Ok(model) = Model::load(root.join(file)) else {
            eprintln!("skipping: {file} not found");
            return;
        };
        let mut s = Interpreter::new(Arc::new(model));
        s.input_i8_mut(0).unwrap().fill(-100);
        s.invoke(); // first call runs the CALL_ONCE initialiser
        let before = ALLOCS.load(Ordering::SeqCst);
        for k in 0..50 {
            s.input_i8_mut(0).unwrap().fill(k as i8);
            s.invoke();
        }
        assert_eq!(
            ALLOCS.load(Ordering::SeqCst),
            before,
            "{file}: invoke allocated"
        );
    }
    // The counter works: loading and building the interpreters allocated.
    assert!(ALLOCS.load(Ordering::SeqCst) > 0);
}
