//! Layer normalization over the last dimension (PyTorch `nn.LayerNorm`).

use super::{frames, shape_err, LayerError};
use crate::tensor::Buffer;

/// `y = (x - mean) / sqrt(var + eps) · gamma + beta` per frame, biased variance like PyTorch.
#[derive(Debug, Clone)]
pub struct LayerNorm {
    dim: usize,
    eps: f32,
    gamma: Option<Buffer<f32>>,
    beta: Option<Buffer<f32>>,
}

impl LayerNorm {
    /// `gamma`/`beta` are `[dim]` (absent for `elementwise_affine=False`).
    pub fn new(
        dim: usize,
        eps: f32,
        gamma: Option<Buffer<f32>>,
        beta: Option<Buffer<f32>>,
    ) -> Result<Self, LayerError> {
        for (what, p) in [("weight", &gamma), ("bias", &beta)] {
            if let Some(p) = p {
                if p.len() != dim {
                    return Err(shape_err("layer_norm", what, dim, p.len()));
                }
            }
        }
        Ok(LayerNorm {
            dim,
            eps,
            gamma,
            beta,
        })
    }

    /// Normalized dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Normalizes every frame of `x` in place.
    pub fn forward(&self, x: &mut [f32]) -> Result<(), LayerError> {
        frames("layer_norm", x.len(), self.dim)?;
        for row in x.chunks_exact_mut(self.dim) {
            // Accumulate in f64: long rows in f32 lose digits against PyTorch's two-pass kernel.
            let mean = row.iter().map(|&v| v as f64).sum::<f64>() / self.dim as f64;
            let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / self.dim as f64;
            let inv = 1.0 / (var + self.eps as f64).sqrt();
            for (i, v) in row.iter_mut().enumerate() {
                let mut y = ((*v as f64 - mean) * inv) as f32;
                if let Some(g) = &self.gamma {
                    y *= g[i];
                }
                if let Some(b) = &self.beta {
                    y += b[i];
                }
                *v = y;
            }
        }
        Ok(())
    }
}
