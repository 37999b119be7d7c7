//! Element-wise activations the networks use (the LSTM gates, the VAD's output) and log-softmax.

/// Logistic sigmoid, `1 / (1 + e^-x)`.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// In-place log-softmax over each row of `dim` values (`x.len()` must be a multiple of `dim`).
/// Numerically stable (max subtracted); a row of all `-inf` becomes NaN, like PyTorch.
pub fn log_softmax(x: &mut [f32], dim: usize) {
    if dim == 0 {
        return;
    }
    for row in x.chunks_exact_mut(dim) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = row.iter().map(|v| (v - max).exp()).sum();
        let lse = max + sum.ln();
        row.iter_mut().for_each(|v| *v -= lse);
    }
}
