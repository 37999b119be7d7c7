//! Element-wise activations the networks use (the LSTM gates, the VAD's output) and log-softmax.
//!
//! `exp`, `ln` and `tanh` here and in the layers come from the `libm` crate, not the platform's C
//! library: glibc and the WebAssembly build's math differ in the last bit, and outputs one bit
//! apart flip near ties in the search, so every target computes the same network outputs (as the
//! frontend does).

/// Logistic sigmoid, `1 / (1 + e^-x)`.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + libm::expf(-x))
}

/// In-place log-softmax over each row of `dim` values (`x.len()` must be a multiple of `dim`).
/// Numerically stable (max subtracted); a row of all `-inf` becomes NaN, like PyTorch.
pub fn log_softmax(x: &mut [f32], dim: usize) {
    if dim == 0 {
        return;
    }
    for row in x.chunks_exact_mut(dim) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = row.iter().map(|v| libm::expf(v - max)).sum();
        let lse = max + libm::logf(sum);
        row.iter_mut().for_each(|v| *v -= lse);
    }
}
