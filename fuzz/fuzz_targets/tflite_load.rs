//! Fuzzes the TFLite reader and model loader: any byte string must give a model or an error,
//! never a panic or an out-of-bounds access; a model that loads is also invoked once.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sotto_models::tflite::{Interpreter, Model};
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    if let Ok(model) = Model::from_bytes(data) {
        // Keep the fuzzer away from legal but huge graphs it could build.
        if model.arena_size() > 1 << 24 {
            return;
        }
        let mut stream = Interpreter::new(Arc::new(model));
        stream.invoke();
    }
});
