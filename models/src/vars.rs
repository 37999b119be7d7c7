//! Named tensors as layers pull them (the idea of candle's `VarBuilder`): a layer's loader asks
//! a [`Vars`] source for `prefix.name` with the dtype and shape it needs, so the layers depend
//! on this trait only, not on the model-file format (`format::ModelFile`, one source, implements
//! it from above); [`VarMap`] holds tensors in memory, so tests build networks (random or
//! hand-made) without writing a file.

use crate::quant::{QMatrix, QuantError};
use crate::tensor::Buffer;
pub use safetensors::Dtype;
use std::collections::BTreeMap;

/// `prefix.name`, or `name` for an empty prefix.
pub fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// A source of named tensors. Each getter checks dtype and shape and fails naming the tensor.
pub trait Vars {
    /// The source's error (it names the file, for a model file).
    type Error;

    /// The dtype of tensor `name`, `None` when there is no such tensor.
    fn dtype(&self, name: &str) -> Option<Dtype>;

    /// The f32 tensor `name` with exactly `shape`.
    fn tensor_f32(&self, name: &str, shape: &[usize]) -> Result<Buffer<f32>, Self::Error>;

    /// The int8 matrix `name` (`[rows, cols]`) with its per-row scales.
    fn qmatrix(&self, name: &str, rows: usize, cols: usize) -> Result<QMatrix, Self::Error>;

    /// Wraps the error of a layer that rejected its tensors, naming the layer.
    fn layer_err(
        &self,
        name: &str,
        source: Box<dyn std::error::Error + Send + Sync>,
    ) -> Self::Error;
}

/// Why a [`VarMap`] could not give a tensor.
#[derive(Debug, thiserror::Error)]
pub enum VarError {
    /// No tensor of that name (with that dtype).
    #[error("missing tensor `{name}`")]
    Missing { name: String },
    /// The tensor has another shape.
    #[error("tensor `{name}`: shape {found:?}, expected {expected:?}")]
    Shape {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    /// The tensors do not form a valid layer.
    #[error("layer `{name}`: {source}")]
    Layer {
        name: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// f32 values given for an int8 matrix could not be quantized.
    #[error("tensor `{name}`: {source}")]
    Quant { name: String, source: QuantError },
}

/// Tensors in memory, by name: f32 tensors and int8 matrices.
#[derive(Debug, Clone, Default)]
pub struct VarMap {
    f32s: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    int8: BTreeMap<String, QMatrix>,
}

impl VarMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the f32 tensor `name`. Panics if `data.len()` is not the product of
    /// `shape` (a bug in the test building the map).
    pub fn insert_f32(&mut self, name: &str, shape: &[usize], data: Vec<f32>) -> &mut Self {
        assert_eq!(
            shape.iter().product::<usize>(),
            data.len(),
            "VarMap: `{name}`: data length"
        );
        self.int8.remove(name);
        self.f32s.insert(name.into(), (shape.to_vec(), data));
        self
    }

    /// Adds (or replaces) `name` as an int8 matrix.
    pub fn insert_qmatrix(&mut self, name: &str, q: QMatrix) -> &mut Self {
        self.f32s.remove(name);
        self.int8.insert(name.into(), q);
        self
    }

    /// Adds the f32 tensor `name` with values uniform in `[-scale, scale)` from a small
    /// deterministic generator seeded by `seed` (random networks for tests).
    pub fn insert_random(
        &mut self,
        name: &str,
        shape: &[usize],
        scale: f32,
        seed: u64,
    ) -> &mut Self {
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let n = shape.iter().product();
        let data = (0..n)
            .map(|_| {
                // xorshift64*: enough for test weights, no dependency.
                s ^= s >> 12;
                s ^= s << 25;
                s ^= s >> 27;
                let u = (s.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40) as f32 / (1u64 << 24) as f32;
                (2.0 * u - 1.0) * scale
            })
            .collect();
        self.insert_f32(name, shape, data)
    }

    /// The same tensors with every 2-D f32 matrix whose name ends in `weight…` quantized to
    /// int8 (what `format::quantize_model` picks in a file, except that names are not otherwise
    /// filtered).
    pub fn quantized(&self) -> Result<Self, VarError> {
        let mut out = self.clone();
        for (name, (shape, data)) in &self.f32s {
            let last = name.rsplit('.').next().unwrap_or(name);
            if shape.len() == 2 && last.starts_with("weight") {
                let q = QMatrix::try_quantize(data, shape[0], shape[1]).map_err(|source| {
                    VarError::Quant {
                        name: name.clone(),
                        source,
                    }
                })?;
                out.insert_qmatrix(name, q);
            }
        }
        Ok(out)
    }
}

impl Vars for VarMap {
    type Error = VarError;

    fn dtype(&self, name: &str) -> Option<Dtype> {
        if self.f32s.contains_key(name) {
            Some(Dtype::F32)
        } else if self.int8.contains_key(name) {
            Some(Dtype::I8)
        } else {
            None
        }
    }

    fn tensor_f32(&self, name: &str, shape: &[usize]) -> Result<Buffer<f32>, VarError> {
        let (found, data) = self
            .f32s
            .get(name)
            .ok_or_else(|| VarError::Missing { name: name.into() })?;
        if found != shape {
            return Err(VarError::Shape {
                name: name.into(),
                expected: shape.to_vec(),
                found: found.clone(),
            });
        }
        Ok(Buffer::Owned(data.clone()))
    }

    fn qmatrix(&self, name: &str, rows: usize, cols: usize) -> Result<QMatrix, VarError> {
        let q = self
            .int8
            .get(name)
            .ok_or_else(|| VarError::Missing { name: name.into() })?;
        if (q.rows, q.cols) != (rows, cols) {
            return Err(VarError::Shape {
                name: name.into(),
                expected: vec![rows, cols],
                found: vec![q.rows, q.cols],
            });
        }
        Ok(q.clone())
    }

    fn layer_err(&self, name: &str, source: Box<dyn std::error::Error + Send + Sync>) -> VarError {
        VarError::Layer {
            name: name.into(),
            source,
        }
    }
}
