//! The int8 inference core of sotto: quantization, runtime-dispatched kernels, layers with
//! streaming state, model files (safetensors) and the TFLite reader/interpreter.

pub mod format;
pub mod kernels;
pub mod layers;
pub mod quant;
pub mod tensor;
pub mod tflite;
pub mod toy;
pub mod transducer;
pub mod vad;
pub mod vars;

/// The `no_std` wake-word core ([`tflite`] and the micro frontend wrap it), re-exported for
/// the glue the host detector shares with firmware (`micro::wake`).
pub use sotto_micro as micro;
