//! Errors of the decoder.

/// Everything that can go wrong while decoding or while reading decoder inputs
/// (hotword lists, token tables, options).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DecoderError {
    /// An encoder frame (or a batch of frames) does not have the network's encoder width.
    #[error("encoder frames: expected a multiple of {expected} values (encoder width), got {got}")]
    FrameSize {
        /// The network's encoder output width.
        expected: usize,
        /// Length of the slice that was passed.
        got: usize,
    },
    /// The joiner produced NaN or +inf logits: the network or its input is broken.
    #[error("joiner produced non-finite logits at encoder frame {frame}")]
    NonFiniteLogits {
        /// Absolute index of the encoder frame.
        frame: usize,
    },
    /// A decoding option is out of range.
    #[error("invalid decoder option: {0}")]
    InvalidOption(String),
    /// A hotword list line could not be parsed.
    #[error("hotwords line {line}: {message}")]
    Hotwords {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A hotword phrase cannot be used (empty, blank or out-of-vocabulary token, bad boost).
    #[error("hotword phrase {phrase:?}: {message}")]
    Phrase {
        /// The phrase as given (text, or token ids).
        phrase: String,
        /// What is wrong with it.
        message: String,
    },
    /// A token table (`tokens.txt`) is malformed.
    #[error("token table line {line}: {message}")]
    TokenTable {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A lexicon (pronunciation dictionary) line is malformed or uses unknown units.
    #[error("lexicon line {line}: {message}")]
    Lexicon {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// Text cannot be split into vocabulary pieces.
    #[error("cannot tokenize {word:?}: no vocabulary piece matches at {rest:?}")]
    Tokenize {
        /// The word being tokenized.
        word: String,
        /// The part of it no piece matches.
        rest: String,
    },
}
