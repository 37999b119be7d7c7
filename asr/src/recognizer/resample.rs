//! Bridge to the frontend's streaming resampler (input rates other than 16 kHz).

use sotto_frontend::FrontendError;

/// Streaming resampler to the model rate.
pub(crate) struct Resampler;

impl Resampler {
    pub(crate) fn new(from: u32, _to: u32) -> Result<Self, FrontendError> {
        Err(FrontendError::UnsupportedSampleRate {
            rate: from,
            supported: "16000 (resampler pending)".into(),
        })
    }

    pub(crate) fn process(&mut self, _x: &[f32], _out: &mut Vec<f32>) -> Result<(), FrontendError> {
        Ok(())
    }

    pub(crate) fn finish(&mut self, _out: &mut Vec<f32>) -> Result<(), FrontendError> {
        Ok(())
    }
}
