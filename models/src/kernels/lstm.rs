//! The LSTM cell's element-wise update (gates, cell and output) over a whole layer at once.
//!
//! Five transcendental functions per unit and frame made the encoder's LSTMs call libm's
//! scalar `expf` / `tanhf` some 10,000 times per frame; here they are the branch-free
//! [`tanh`](super::tanh) (`+ − ×` only) and `σ(x) = ½ + ½·tanh(x/2)`, written so that compilers
//! vectorize the loop. Absolute error ≤ 4e-7 for `tanh`, ≤ 2e-7 for `σ`.
//!
//! The SIMD variants are the same code compiled with AVX2 or AVX-512 enabled; every operation
//! is element-wise and correctly rounded (Rust never fuses a multiply and an add on its own), so
//! they are bit-identical to the scalar reference and to the WebAssembly build (`tests/kernels.rs`).

use super::tanh::tanh;
use super::Variant;

/// `σ(x) = ½ + ½·tanh(x/2)`.
#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    0.5 + 0.5 * tanh(0.5 * x)
}

#[inline(always)]
fn lstm_cell_body(gx: &[f32], gh: &[f32], c: &mut [f32], h: &mut [f32]) {
    let hd = c.len();
    let (xi, rest) = gx.split_at(hd);
    let (xf, rest) = rest.split_at(hd);
    let (xg, xo) = rest.split_at(hd);
    let (hi, rest) = gh.split_at(hd);
    let (hf, rest) = rest.split_at(hd);
    let (hg, ho) = rest.split_at(hd);
    let h = &mut h[..hd];
    let xo = &xo[..hd];
    let ho = &ho[..hd];
    for j in 0..hd {
        let i = sigmoid(xi[j] + hi[j]);
        let f = sigmoid(xf[j] + hf[j]);
        let g = tanh(xg[j] + hg[j]);
        let o = sigmoid(xo[j] + ho[j]);
        let cj = f * c[j] + i * g;
        c[j] = cj;
        h[j] = o * tanh(cj);
    }
}

/// Scalar reference of [`lstm_cell`].
pub fn lstm_cell_scalar(gx: &[f32], gh: &[f32], c: &mut [f32], h: &mut [f32]) {
    lstm_cell_body(gx, gh, c, h)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn lstm_cell_avx2(gx: &[f32], gh: &[f32], c: &mut [f32], h: &mut [f32]) {
    lstm_cell_body(gx, gh, c, h)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn lstm_cell_avx512(gx: &[f32], gh: &[f32], c: &mut [f32], h: &mut [f32]) {
    lstm_cell_body(gx, gh, c, h)
}

/// One LSTM step's element-wise part for `H = c.len()` units: with the gate pre-activations
/// `gx + gh` (`[4H]` each, gate order i, f, g, o as PyTorch stores them),
/// `c ← σ(f)·c + σ(i)·tanh(g)` and `h ← σ(o)·tanh(c)`.
///
/// # Panics
/// If `gx` or `gh` is not `4H` long or `h` is not `H` long.
pub fn lstm_cell(gx: &[f32], gh: &[f32], c: &mut [f32], h: &mut [f32]) {
    lstm_cell_with(super::best_variant(), gx, gh, c, h)
}

/// [`lstm_cell`] with an explicit variant.
///
/// # Panics
/// If the CPU does not support `variant`, or on a shape mismatch as in [`lstm_cell`].
pub fn lstm_cell_with(variant: Variant, gx: &[f32], gh: &[f32], c: &mut [f32], h: &mut [f32]) {
    let hd = c.len();
    assert!(
        gx.len() == 4 * hd && gh.len() == 4 * hd && h.len() == hd,
        "lstm_cell: gates {} / {}, cell {}, output {}",
        gx.len(),
        gh.len(),
        hd,
        h.len()
    );
    assert!(
        variant.is_available(),
        "kernel variant {variant} is not supported by this CPU"
    );
    match variant {
        // SAFETY: availability checked above (AVX2 implies the features this body uses).
        #[cfg(target_arch = "x86_64")]
        Variant::Avx2 => unsafe { lstm_cell_avx2(gx, gh, c, h) },
        // SAFETY: as above (the VNNI variant requires AVX-512 F).
        #[cfg(target_arch = "x86_64")]
        Variant::Avx512Vnni => unsafe { lstm_cell_avx512(gx, gh, c, h) },
        _ => lstm_cell_scalar(gx, gh, c, h),
    }
}
