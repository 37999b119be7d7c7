//! A weight matrix in f32 or int8, used by every layer with a matrix product.

use std::cell::RefCell;

use super::{shape_err, LayerError};
use crate::kernels;
use crate::quant::{quantize_row, QMatrix};
use crate::tensor::Buffer;

/// A `[rows, cols]` row-major weight matrix (one row per output), f32 or int8.
///
/// The int8 variant quantizes activations dynamically per input row (symmetric, one scale per row)
/// and accumulates in i32; weights carry one symmetric scale per output row ([`QMatrix`]).
#[derive(Debug, Clone)]
pub enum Weight {
    /// Plain f32 weights.
    F32 {
        data: Buffer<f32>,
        rows: usize,
        cols: usize,
    },
    /// int8 weights with per-row scales.
    I8(QMatrix),
}

thread_local! {
    // Per-thread scratch for the int8 path (quantized activations, i32 accumulators, row scales),
    // so that steady-state streaming does not allocate.
    static SCRATCH: RefCell<(Vec<i8>, Vec<i32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new(), Vec::new())) };
}

impl Weight {
    /// An f32 matrix; errors when `data.len() != rows * cols`.
    pub fn f32(data: impl Into<Buffer<f32>>, rows: usize, cols: usize) -> Result<Self, LayerError> {
        let data = data.into();
        if rows.checked_mul(cols) != Some(data.len()) {
            return Err(shape_err(
                "weight",
                "data",
                format!("{rows} x {cols}"),
                data.len(),
            ));
        }
        Ok(Weight::F32 { data, rows, cols })
    }

    /// Number of output rows.
    pub fn rows(&self) -> usize {
        match self {
            Weight::F32 { rows, .. } => *rows,
            Weight::I8(q) => q.rows,
        }
    }

    /// Number of input columns.
    pub fn cols(&self) -> usize {
        match self {
            Weight::F32 { cols, .. } => *cols,
            Weight::I8(q) => q.cols,
        }
    }

    /// True for int8 weights.
    pub fn is_int8(&self) -> bool {
        matches!(self, Weight::I8(_))
    }

    /// Bytes of weight storage (int8 data plus scales, or f32 data).
    pub fn bytes(&self) -> usize {
        match self {
            Weight::F32 { data, .. } => data.len() * 4,
            Weight::I8(q) => q.data.len() + q.scales.len() * 4,
        }
    }

    /// The int8 version of this matrix (per-row symmetric); int8 stays as is. Fails on
    /// non-finite weights.
    pub fn quantized(&self) -> Result<Weight, LayerError> {
        match self {
            Weight::F32 { data, rows, cols } => QMatrix::try_quantize(data, *rows, *cols)
                .map(Weight::I8)
                .map_err(|e| LayerError::Config {
                    layer: "weight",
                    msg: format!("cannot quantize: {e}"),
                }),
            Weight::I8(q) => Ok(Weight::I8(q.clone())),
        }
    }

    /// The matrix as f32 values (dequantized for int8).
    pub fn to_f32(&self) -> Vec<f32> {
        match self {
            Weight::F32 { data, .. } => data.to_vec(),
            Weight::I8(q) => q.dequantize(),
        }
    }

    /// `y[n, rows] = x[n, cols] · Wᵀ`. Panics on inconsistent lengths (a bug in the calling layer,
    /// which validates user input first).
    pub fn matmul(&self, x: &[f32], n: usize, y: &mut [f32]) {
        self.matmul_rows(0, self.rows(), x, n, y)
    }

    /// Like [`Weight::matmul`] with only rows `r0..r1` of the matrix: `y[n, r1 - r0]` (grouped
    /// convolutions use one row block per group).
    pub fn matmul_rows(&self, r0: usize, r1: usize, x: &[f32], n: usize, y: &mut [f32]) {
        let cols = self.cols();
        let m = r1 - r0;
        assert!(r0 <= r1 && r1 <= self.rows() && x.len() == n * cols && y.len() == n * m);
        match self {
            Weight::F32 { data, .. } => {
                kernels::gemm_f32(&data[r0 * cols..r1 * cols], m, cols, x, n, y)
            }
            Weight::I8(q) if r0 == 0 && r1 == q.rows => q.matmul(x, n, y),
            Weight::I8(q) => SCRATCH.with(|s| {
                let (xq, acc, xs) = &mut *s.borrow_mut();
                xq.resize(n * cols, 0);
                acc.resize(n * m, 0);
                xs.clear();
                for (xr, qr) in x
                    .chunks_exact(cols.max(1))
                    .zip(xq.chunks_exact_mut(cols.max(1)))
                {
                    xs.push(quantize_row(xr, qr));
                }
                xs.resize(n, 0.0);
                kernels::gemm_i8(&q.data[r0 * cols..r1 * cols], m, cols, xq, n, acc);
                let ws = &q.scales[r0..r1];
                for ((yr, ar), &sx) in y
                    .chunks_exact_mut(m.max(1))
                    .zip(acc.chunks_exact(m.max(1)))
                    .zip(xs.iter())
                {
                    for ((yv, &a), &sw) in yr.iter_mut().zip(ar).zip(ws) {
                        *yv = a as f32 * sw * sx;
                    }
                }
            }),
        }
    }
}
