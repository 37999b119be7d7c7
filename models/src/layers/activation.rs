//! Element-wise activations and log-softmax.
//!
//! `gelu_erf` is the exact GELU (PyTorch `approximate="none"`, the default); `gelu_tanh` is the tanh
//! approximation (`approximate="tanh"`). Rust's std has no `erf`, so [`gelu_erf`] uses a rational
//! approximation evaluated in f64 (absolute error < 1.2e-7 on erf), well below f32 output precision.

use serde::{Deserialize, Serialize};

/// Logistic sigmoid, `1 / (1 + e^-x)`.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// SiLU / swish, `x · sigmoid(x)`.
#[inline]
pub fn silu(x: f32) -> f32 {
    x * sigmoid(x)
}

/// GELU, tanh approximation: `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))`.
#[inline]
pub fn gelu_tanh(x: f32) -> f32 {
    const K: f32 = 0.797_884_6; // sqrt(2/pi)
    0.5 * x * (1.0 + (K * (x + 0.044_715 * x * x * x)).tanh())
}

/// Exact GELU, `0.5 x (1 + erf(x / √2))`.
#[inline]
pub fn gelu_erf(x: f32) -> f32 {
    let x64 = x as f64;
    (0.5 * x64 * (1.0 + erf(x64 * std::f64::consts::FRAC_1_SQRT_2))) as f32
}

/// erf via the complementary error function's Chebyshev fit (Numerical Recipes `erfc`), relative
/// error < 1.2e-7 everywhere.
fn erf(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    if x >= 0.0 {
        1.0 - erfc
    } else {
        erfc - 1.0
    }
}

/// An element-wise activation, selectable from model metadata (`"relu"`, `"gelu_erf"`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// No-op.
    #[default]
    Identity,
    /// `max(x, 0)`.
    Relu,
    /// Hyperbolic tangent.
    Tanh,
    /// Logistic sigmoid.
    Sigmoid,
    /// `x · sigmoid(x)` (a.k.a. swish).
    Silu,
    /// GELU, tanh approximation.
    GeluTanh,
    /// GELU, exact (erf).
    GeluErf,
}

impl Activation {
    /// Applies the activation in place.
    pub fn apply(self, x: &mut [f32]) {
        let f: fn(f32) -> f32 = match self {
            Activation::Identity => return,
            Activation::Relu => |v| v.max(0.0),
            Activation::Tanh => f32::tanh,
            Activation::Sigmoid => sigmoid,
            Activation::Silu => silu,
            Activation::GeluTanh => gelu_tanh,
            Activation::GeluErf => gelu_erf,
        };
        x.iter_mut().for_each(|v| *v = f(*v));
    }
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
