//! The TFLite-Micro audio frontend (`tensorflow/lite/experimental/microfrontend`) that
//! microWakeWord models are trained and run with, reproduced bit for bit in integer
//! arithmetic (as pymicro-features 2.0.2 compiles it, kissfft with `FIXED_POINT=16`).
//!
//! The implementation is the `no_std` one in `sotto-micro` (what a microcontroller runs);
//! this module gives it [`FrontendError`] for configuration errors.
//!
//! Pipeline per 10 ms step: Q12 Hann window over 30 ms → input auto-scaling → 512-point
//! fixed-point real FFT → energies → 40-channel mel filterbank with integer square root →
//! noise reduction → PCAN gain control → fixed-point log → `u16` per channel.
//!
//! ```
//! use sotto_frontend::micro::{MicroFrontend, MicroFrontendConfig, MICRO_FEATURE_SCALE};
//! let mut fe = MicroFrontend::new(MicroFrontendConfig::default()).unwrap();
//! let mut raw = Vec::new();
//! let frames = fe.process(&vec![0i16; 16000], &mut raw); // 1 s of silence
//! assert_eq!(frames, 98);
//! assert_eq!(raw.len(), frames * fe.num_channels());
//! let features: Vec<f32> = raw.iter().map(|&v| v as f32 * MICRO_FEATURE_SCALE).collect();
//! # let _ = features;
//! ```

use crate::FrontendError;
pub use sotto_micro::frontend::{MicroFrontendConfig, MicroTables, MICRO_FEATURE_SCALE};

/// Streaming TFLite-Micro frontend: push 16-bit samples, get one `u16` vector of
/// `num_channels` values per completed window step. Derefs to the `no_std`
/// [`sotto_micro::frontend::MicroFrontend`] for `process`, `reset`, `tables`...
///
/// Any chunking of the input gives the same output. The first frame appears once a full
/// window (480 samples at the default settings) has been pushed, then one per step
/// (160 samples). All buffers are allocated in [`MicroFrontend::new`].
#[derive(Clone, Debug)]
pub struct MicroFrontend(sotto_micro::frontend::MicroFrontend);

impl MicroFrontend {
    /// Builds every table the way the C init code does; fails on out-of-range settings.
    pub fn new(cfg: MicroFrontendConfig) -> Result<Self, FrontendError> {
        sotto_micro::frontend::MicroFrontend::new(cfg)
            .map(MicroFrontend)
            .map_err(|e| FrontendError::InvalidConfig(e.0))
    }
}

impl std::ops::Deref for MicroFrontend {
    type Target = sotto_micro::frontend::MicroFrontend;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for MicroFrontend {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}
