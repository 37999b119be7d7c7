//! Model files: safetensors + JSON metadata (TODO).
