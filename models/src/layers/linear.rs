//! Fully connected layer (PyTorch `nn.Linear`).

use super::{frames, shape_err, LayerError, Weight};
use crate::tensor::Buffer;

/// `y = x · Wᵀ + b` with `W: [out, in]`.
#[derive(Debug, Clone)]
pub struct Linear {
    /// `[out, in]` weights.
    pub weight: Weight,
    /// Optional `[out]` bias.
    pub bias: Option<Buffer<f32>>,
}

impl Linear {
    /// Checks that the bias (if any) has one value per output row.
    pub fn new(weight: Weight, bias: Option<Buffer<f32>>) -> Result<Self, LayerError> {
        if let Some(b) = &bias {
            if b.len() != weight.rows() {
                return Err(shape_err("linear", "bias", weight.rows(), b.len()));
            }
        }
        Ok(Linear { weight, bias })
    }

    /// Input dimension.
    pub fn in_dim(&self) -> usize {
        self.weight.cols()
    }

    /// Output dimension.
    pub fn out_dim(&self) -> usize {
        self.weight.rows()
    }

    /// Applies the layer to `n = x.len() / in` frames, writing `y[n, out]`.
    pub fn forward(&self, x: &[f32], y: &mut [f32]) -> Result<(), LayerError> {
        let n = frames("linear", x.len(), self.in_dim())?;
        if y.len() != n * self.out_dim() {
            return Err(shape_err("linear", "output", n * self.out_dim(), y.len()));
        }
        self.weight.matmul(x, n, y);
        if let Some(b) = &self.bias {
            for row in y.chunks_exact_mut(b.len().max(1)) {
                row.iter_mut().zip(b.iter()).for_each(|(v, b)| *v += b);
            }
        }
        Ok(())
    }

    /// Convenience: [`Linear::forward`] into a new vector.
    pub fn forward_vec(&self, x: &[f32]) -> Result<Vec<f32>, LayerError> {
        let n = frames("linear", x.len(), self.in_dim())?;
        let mut y = vec![0.0; n * self.out_dim()];
        self.forward(x, &mut y)?;
        Ok(y)
    }

    /// This layer with int8 weights.
    pub fn quantized(&self) -> Result<Self, LayerError> {
        Ok(Linear {
            weight: self.weight.quantized()?,
            bias: self.bias.clone(),
        })
    }
}
