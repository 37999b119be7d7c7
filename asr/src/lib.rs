//! The public API of sotto: [`Recognizer`]/`Stream` for captions and transcription, `WakeWord`
//! for wake-word detection.
