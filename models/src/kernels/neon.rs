//! aarch64 NEON kernels (TODO).
pub(super) use super::scalar::{gemm_f32_raw as gemm_f32, gemm_i8_raw as gemm_i8};
