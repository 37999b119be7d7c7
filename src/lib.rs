//! # sotto
//!
//! Offline, streaming speech recognition and wake-word detection in pure Rust.
//!
//! This crate re-exports the workspace crates:
//! - [`frontend`]: audio I/O, resampling, feature extractors (Kaldi fbank, TFLite-Micro frontend)
//! - [`models`]: the int8 inference core, networks, model files and the TFLite reader
//! - [`decoder`]: greedy / beam search, biasing, endpointing
//! - [`asr`]: the public API (`Recognizer`, `Stream`, `WakeWord`)

pub use sotto_asr as asr;
pub use sotto_decoder as decoder;
pub use sotto_frontend as frontend;
pub use sotto_models as models;
