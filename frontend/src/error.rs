//! Errors of the frontend crate.

use std::path::PathBuf;

/// Everything that can go wrong reading or processing audio.
///
/// Variants that concern a file carry its path (or `<memory>` for in-memory
/// input) so that the message alone tells the user what to fix.
#[derive(Debug, thiserror::Error)]
pub enum FrontendError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The container or codec data is corrupt or truncated.
    #[error("{path}: cannot decode audio: {msg}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// What the decoder reported.
        msg: String,
    },
    /// The file is not in a format this crate reads.
    #[error("{path}: unsupported audio format: {msg}")]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
        /// Which format / why.
        msg: String,
    },
    /// A sample rate outside what the component accepts.
    #[error("unsupported sample rate {rate} Hz (supported: {supported})")]
    UnsupportedSampleRate {
        /// The offending rate.
        rate: u32,
        /// Human-readable supported range.
        supported: String,
    },
    /// The file decodes to zero samples.
    #[error("{path}: audio is empty (0 samples)")]
    EmptyAudio {
        /// The file.
        path: PathBuf,
    },
    /// A NaN or infinite sample.
    #[error("{path}: non-finite sample (NaN or infinity) at index {index}")]
    NonFinite {
        /// The file (or `<memory>`).
        path: PathBuf,
        /// Sample index (after mixdown to mono).
        index: usize,
    },
    /// A configuration value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
}

impl FrontendError {
    /// Shorthand for [`FrontendError::Decode`].
    pub(crate) fn decode(path: impl Into<PathBuf>, msg: impl std::fmt::Display) -> Self {
        Self::Decode {
            path: path.into(),
            msg: msg.to_string(),
        }
    }

    /// Shorthand for [`FrontendError::UnsupportedFormat`].
    pub(crate) fn unsupported(path: impl Into<PathBuf>, msg: impl std::fmt::Display) -> Self {
        Self::UnsupportedFormat {
            path: path.into(),
            msg: msg.to_string(),
        }
    }
}
