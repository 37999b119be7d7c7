//! Audio input, resampling and streaming feature extraction for sotto.
//!
//! - [`audio`]: read WAV / FLAC / MP3 / Ogg Vorbis / Ogg Opus / raw s16le into mono f32, whole
//!   or block by block ([`audio::AudioReader`]).
//! - [`resample`]: streaming resampler from 8–48 kHz to 16 kHz.
//! - [`fbank`]: Kaldi-compatible log-mel filterbank (streaming).
//! - [`micro`]: the TFLite-Micro audio frontend used by microWakeWord (integer, bit-exact).
//!
//! Every component is streaming: push samples in chunks of any size and get exactly the
//! output a single call on the whole signal would give.
//!
//! ```
//! use sotto_frontend::{audio::Audio, fbank::{Fbank, FbankConfig}, resample::Resampler16k};
//!
//! // Half a second of a 440 Hz tone at 44.1 kHz (in practice: `audio::read_audio(path)?`).
//! let audio = Audio {
//!     samples: (0..22_050).map(|i| 0.3 * (i as f32 * 440.0 * std::f32::consts::TAU / 44_100.0).sin()).collect(),
//!     sample_rate: 44_100,
//! };
//! let mut resampler = Resampler16k::new(audio.sample_rate)?;
//! let mut fbank = Fbank::new(FbankConfig::default())?;
//! let (mut pcm16k, mut feats) = (Vec::new(), Vec::new());
//! for chunk in audio.samples.chunks(1024) {
//!     pcm16k.clear();
//!     resampler.accept(chunk, &mut pcm16k);
//!     fbank.accept(&pcm16k, &mut feats)?;
//! }
//! pcm16k.clear();
//! resampler.finish(&mut pcm16k);
//! fbank.accept(&pcm16k, &mut feats)?;
//! fbank.finish(&mut feats);
//! assert_eq!(feats.len() / fbank.dim(), (8000 + 80) / 160); // 8000 samples at 16 kHz
//! # Ok::<(), sotto_frontend::FrontendError>(())
//! ```

pub mod audio;
pub mod error;
pub mod fbank;
pub mod micro;
pub mod resample;

pub use error::FrontendError;
