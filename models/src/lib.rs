//! The int8 inference core of sotto: quantization, runtime-dispatched kernels, layers with
//! streaming state, model files (safetensors) and the TFLite reader/interpreter.

pub mod kernels;
pub mod layers;
pub mod quant;
pub mod tflite;
