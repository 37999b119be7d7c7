//! Quantization schemes (TODO).
