//! Weight storage: owned or memory-mapped (TODO).
