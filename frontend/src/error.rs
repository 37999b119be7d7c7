//! Errors of the frontend crate.

/// Everything that can go wrong reading or processing audio.
#[derive(Debug, thiserror::Error)]
pub enum FrontendError {
    /// Placeholder until the audio readers land.
    #[error("{0}")]
    Other(String),
}
