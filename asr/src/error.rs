//! Errors of the public API.

/// Everything that can go wrong in the recognizer and wake-word APIs.
#[derive(Debug, thiserror::Error)]
pub enum AsrError {
    /// Audio frontend failure (bad audio, unsupported rate, ...).
    #[error(transparent)]
    Frontend(#[from] sotto_frontend::FrontendError),
    /// The transducer model file is unreadable, corrupt, of another architecture, or a tensor
    /// is missing / misshapen (the message names file and tensor).
    #[error(transparent)]
    Model(#[from] sotto_models::transducer::TransducerError),
    /// The model file does not exist.
    #[error("{0}: model file not found")]
    ModelNotFound(std::path::PathBuf),
    /// No model was given and none was found in the default places.
    #[error(
        "no default model found (set SOTTO_MODEL or pass a model path); searched: {searched:?}"
    )]
    NoDefaultModel {
        /// The folders searched.
        searched: Vec<std::path::PathBuf>,
    },
    /// The model's metadata describes features this recognizer cannot compute.
    #[error("{path}: unsupported model configuration: {msg}")]
    ModelConfig {
        /// The model file.
        path: std::path::PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// The hotwords file is unreadable or a phrase cannot be tokenized.
    #[error("{path}: hotwords: {msg}")]
    Hotwords {
        /// The hotwords file.
        path: std::path::PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// The pronunciation lexicon is unreadable or unusable with this model.
    #[error("{path}: lexicon: {msg}")]
    Lexicon {
        /// The lexicon file.
        path: std::path::PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// The word language model is unreadable or corrupt.
    #[error("{path}: language model: {msg}")]
    Lm {
        /// The LM file.
        path: std::path::PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// Search failure (bad option, non-finite network output).
    #[error(transparent)]
    Decoder(#[from] sotto_decoder::DecoderError),
    /// A stream ended without any audio.
    #[error("audio is empty (0 samples)")]
    EmptyAudio,
    /// The sample rate changed within one stream.
    #[error(
        "sample rate changed from {from} Hz to {to} Hz within one stream (reset the stream first)"
    )]
    RateChanged {
        /// The stream's rate.
        from: u32,
        /// The new chunk's rate.
        to: u32,
    },
    /// Audio was given after `Stream::input_finished` (reset the stream first).
    #[error("audio after the end of input (call reset() to start a new stream)")]
    InputFinished,
    /// A NaN or infinite input sample.
    #[error("non-finite sample (NaN or infinity) at index {index}")]
    NonFinite {
        /// Sample index since the stream start.
        index: u64,
    },
    /// A wake-word manifest or model is unreadable, invalid or unusable (names the file).
    #[error("{path}: wake-word model: {msg}")]
    WakeWord {
        /// The manifest or model file.
        path: std::path::PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// A TFLite model failed to load (the message names the file).
    #[error(transparent)]
    Tflite(#[from] sotto_models::tflite::TfliteError),
    /// The voice activity model is unreadable, of another architecture, or cannot run this input
    /// (unsupported sample rate, non-finite samples); the message names file or rate.
    #[error(transparent)]
    Vad(#[from] sotto_models::vad::VadModelError),
    /// Voice activity parameters out of range.
    #[error("voice activity detection: {0}")]
    VadConfig(String),
    /// Too little audio for one voice-activity window.
    #[error("audio too short for voice activity detection: {samples} samples at {rate} Hz, need at least {needed} (one window)")]
    VadTooShort {
        /// Samples given.
        samples: u64,
        /// One window at the stream's rate.
        needed: u64,
        /// The stream's rate.
        rate: u32,
    },
}
