//! `Interpreter::invoke` allocates nothing (counting global allocator).

use sotto_models::tflite::{Interpreter, Model};
use sotto_testutil::CountingAlloc;
use std::path::Path;
use std::sync::Arc;

/// Only the test thread is counted (the harness allocates on its own threads).
#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc::test_thread_only();

#[test]
fn invoke_does_not_allocate() {
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/microwakeword/models");
    GLOBAL.count_this_thread();
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
        let before = GLOBAL.allocations();
        for k in 0..50 {
            s.input_i8_mut(0).unwrap().fill(k as i8);
            s.invoke();
        }
        assert_eq!(GLOBAL.allocations(), before, "{file}: invoke allocated");
    }
    // The counter works: loading and building the interpreters allocated.
    assert!(GLOBAL.allocations() > 0);
}
