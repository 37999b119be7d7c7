//! Wake-word detection (TODO).
