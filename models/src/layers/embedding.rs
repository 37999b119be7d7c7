//! Token embedding table (PyTorch `nn.Embedding`), kept in f32.

use super::{shape_err, LayerError};
use crate::tensor::Buffer;

/// A `[num, dim]` lookup table.
#[derive(Debug, Clone)]
pub struct Embedding {
    table: Buffer<f32>,
    num: usize,
    dim: usize,
}

impl Embedding {
    /// Errors when `table.len() != num * dim`.
    pub fn new(table: impl Into<Buffer<f32>>, num: usize, dim: usize) -> Result<Self, LayerError> {
        let table = table.into();
        if table.len() != num * dim {
            return Err(shape_err(
                "embedding",
                "table",
                format!("{num} x {dim}"),
                table.len(),
            ));
        }
        Ok(Embedding { table, num, dim })
    }

    /// Number of rows (vocabulary size).
    pub fn num(&self) -> usize {
        self.num
    }

    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The row of `id`.
    pub fn row(&self, id: u32) -> Result<&[f32], LayerError> {
        let i = id as usize;
        if i >= self.num {
            return Err(LayerError::TokenOutOfRange { id, num: self.num });
        }
        Ok(&self.table[i * self.dim..(i + 1) * self.dim])
    }

    /// Appends the rows of `ids` to `out` (`[ids.len(), dim]`).
    pub fn lookup(&self, ids: &[u32], out: &mut Vec<f32>) -> Result<(), LayerError> {
        for &id in ids {
            out.extend_from_slice(self.row(id)?);
        }
        Ok(())
    }
}
