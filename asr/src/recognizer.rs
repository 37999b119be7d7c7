//! Streaming speech recognizer (TODO).
