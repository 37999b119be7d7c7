//! # sotto
//!
//! Offline, streaming speech recognition and wake-word detection in pure Rust.
//!
//! This crate re-exports the workspace crates:
//! - [`frontend`]: audio I/O, resampling, feature extractors (Kaldi fbank, TFLite-Micro frontend)
//! - [`models`]: the int8 inference core, networks, model files and the TFLite reader
//! - [`decoder`]: greedy / beam search, biasing, endpointing, WER
//! - [`asr`]: the public API (`Recognizer`, `Stream`, `WakeWord`)
//!
//! Transcribe a file with the shipped default model, streaming it in 100 ms chunks:
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use sotto::asr::recognizer::{Recognizer, RecognizerConfig};
//!
//! // The model is immutable and shared; each audio stream has its own state.
//! let rec = Recognizer::new(RecognizerConfig::new(Recognizer::default_model()?))?;
//! let mut stream = rec.stream();
//! let audio = sotto::frontend::audio::read_audio("examples/audio/fox.wav")?;
//! for chunk in audio.samples.chunks(1600) { // any chunking, any rate in 8–48 kHz
//!     stream.accept_waveform(audio.sample_rate, chunk)?;
//!     stream.decode()?;
//!     println!("partial: {}", stream.partial());
//! }
//! let transcript = stream.finish()?; // text + words with start/end/confidence
//! println!("{}", transcript.text);
//! # Ok(())
//! # }
//! ```
//!
//! Detect wake words with a microWakeWord model: see [`asr::wakeword`].

pub use sotto_asr as asr;
/// The entry points, also reachable as `sotto::asr::…`: speech recognition ([`Recognizer`]
/// builds [`Stream`]s), wake words ([`WakeWord`] runs a [`WakeWordModel`]) and voice activity
/// detection ([`Vad`] runs a [`VadModel`]).
pub use sotto_asr::{
    AsrError, Recognizer, RecognizerConfig, Stream, Transcript, Vad, VadConfig, VadModel, WakeWord,
    WakeWordModel,
};
pub use sotto_decoder as decoder;
pub use sotto_frontend as frontend;
pub use sotto_models as models;
