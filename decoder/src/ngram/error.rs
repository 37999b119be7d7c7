//! Errors of the n-gram language model: reading, writing and estimating.

use std::path::Path;

/// Everything that can go wrong with an n-gram model. `file` is the path (or the name given
/// to a reader); ARPA errors carry the 1-based line number.
#[derive(Debug, thiserror::Error)]
pub enum NgramError {
    /// Reading or writing a file failed.
    #[error("{file}: {source}")]
    Io {
        /// File path.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An ARPA line is malformed (wrong field count, bad number, misplaced section, …).
    #[error("{file}:{line}: ARPA syntax: {message}")]
    ArpaSyntax {
        /// File path or reader name.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An ARPA file ended before `\end\` (or has no `\data\` header).
    #[error("{file}:{line}: ARPA file ends early: {message}")]
    ArpaTruncated {
        /// File path or reader name.
        file: String,
        /// Line number where it ended.
        line: usize,
        /// What was expected.
        message: String,
    },
    /// The `\data\` count of an order differs from the n-grams of its section.
    #[error("{file}:{line}: ARPA \\data\\ says {declared} {order}-grams, the section has {found}")]
    ArpaCountMismatch {
        /// File path or reader name.
        file: String,
        /// Line of the section end.
        line: usize,
        /// The order.
        order: usize,
        /// Count in `\data\`.
        declared: usize,
        /// N-grams in the section.
        found: usize,
    },
    /// An n-gram is listed twice.
    #[error("{file}:{line}: duplicate {order}-gram {ngram:?}")]
    ArpaDuplicate {
        /// File path or reader name.
        file: String,
        /// Line of the second listing.
        line: usize,
        /// The order.
        order: usize,
        /// The words.
        ngram: String,
    },
    /// An n-gram uses a word that is not among the unigrams.
    #[error("{file}:{line}: word {word:?} is not a unigram")]
    ArpaUnknownWord {
        /// File path or reader name.
        file: String,
        /// 1-based line number.
        line: usize,
        /// The word.
        word: String,
    },
    /// The model lacks `<s>` or `</s>`.
    #[error("{file}: the model has no {word} unigram")]
    MissingMarker {
        /// File path or reader name.
        file: String,
        /// `<s>` or `</s>`.
        word: &'static str,
    },
    /// Order 0 or above [`MAX_ORDER`](super::MAX_ORDER).
    #[error("{file}: order {order} is not supported (1 to {max})")]
    BadOrder {
        /// File path or reader name.
        file: String,
        /// The order asked for.
        order: usize,
        /// Highest order supported.
        max: usize,
    },
    /// The vocabulary has more words than n-gram keys can hold.
    #[error("{file}: vocabulary of {size} words exceeds the maximum {max}")]
    VocabTooLarge {
        /// File path or reader name.
        file: String,
        /// Words.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A binary file does not start with the magic bytes (not a sotto LM).
    #[error("{file}: not a sotto binary LM (bad magic)")]
    BadMagic {
        /// File path.
        file: String,
    },
    /// A binary file of a version this build cannot read.
    #[error("{file}: binary LM format version {version} is not supported (this build reads {supported})")]
    UnsupportedVersion {
        /// File path.
        file: String,
        /// Version in the file.
        version: u32,
        /// Version this build reads.
        supported: u32,
    },
    /// A binary file is shorter or longer than its header says.
    #[error("{file}: binary LM is {actual} bytes, its header describes {expected}{}", if actual < expected { " (truncated)" } else { "" })]
    SizeMismatch {
        /// File path.
        file: String,
        /// Size computed from the header.
        expected: u64,
        /// Size of the file.
        actual: u64,
    },
    /// The data checksum of a binary file does not match (the file is corrupted).
    #[error("{file}: binary LM checksum mismatch ({part}): the file is corrupted")]
    Checksum {
        /// File path.
        file: String,
        /// `header` or `data`.
        part: &'static str,
    },
    /// A binary file's structure is inconsistent (the file is corrupted or not written by sotto).
    #[error("{file}: corrupt binary LM: {message}")]
    Corrupt {
        /// File path.
        file: String,
        /// What is inconsistent.
        message: String,
    },
    /// The machine is big-endian (the binary form is little-endian and used in place).
    #[error("{file}: binary LMs are little-endian and this machine is not")]
    BigEndian {
        /// File path.
        file: String,
    },
    /// Estimation options are invalid.
    #[error("LM estimation: {0}")]
    Options(String),
    /// Estimation input has no words.
    #[error("LM estimation: the text has no words")]
    EmptyText,
    /// Text (ARPA or training text) is not UTF-8.
    #[error("{file}:{line}: not UTF-8")]
    NotUtf8 {
        /// File path or reader name.
        file: String,
        /// 1-based line number.
        line: usize,
    },
}

impl NgramError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        NgramError::Io {
            file: path.display().to_string(),
            source,
        }
    }

    pub(crate) fn corrupt(file: &str, message: impl Into<String>) -> Self {
        NgramError::Corrupt {
            file: file.to_string(),
            message: message.into(),
        }
    }
}
