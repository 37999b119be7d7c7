//! Errors of the public API.

/// Everything that can go wrong in the recognizer and wake-word APIs.
#[derive(Debug, thiserror::Error)]
pub enum AsrError {
    /// Audio frontend failure (bad audio, unsupported rate, ...).
    #[error(transparent)]
    Frontend(#[from] sotto_frontend::FrontendError),
}
