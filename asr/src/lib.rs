//! The public API of sotto: `Recognizer`/`Stream` for captions and transcription, `WakeWord`
//! for wake-word detection, `Vad` for voice activity detection.

pub mod error;
pub mod recognizer;
pub mod vad;
pub mod wakeword;
pub mod wer;

pub use error::AsrError;
pub use recognizer::{Recognizer, RecognizerConfig, Stream, Transcript};
pub use vad::{Vad, VadConfig, VadModel};
pub use wakeword::{Detection, WakeWord, WakeWordModel};
