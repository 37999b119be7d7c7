//! Audio input, resampling and streaming feature extraction for sotto.
//!
//! - [`audio`]: read WAV / FLAC / MP3 / Ogg Vorbis / raw s16le into mono f32.
//! - [`resample`]: streaming resampler from 8–48 kHz to 16 kHz.
//! - [`fbank`]: Kaldi-compatible log-mel filterbank (streaming).
//! - [`micro`]: the TFLite-Micro audio frontend used by microWakeWord (integer, bit-exact).

pub mod audio;
pub mod error;
pub mod fbank;
pub mod micro;
pub mod resample;

pub use error::FrontendError;
