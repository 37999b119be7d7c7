//! Weight matrices of the transducer in f32 or int8 (symmetric, per output row), and the
//! products the network needs. Activations are quantized per row on the fly, so an int8
//! product over `n` frames gives exactly the rows that `n` separate products would.

use crate::kernels;

/// A `[rows, cols]` weight matrix, row-major.
#[derive(Debug, Clone)]
pub(crate) enum Matrix {
    F32 {
        w: Vec<f32>,
        rows: usize,
        cols: usize,
    },
    I8 {
        w: Vec<i8>,
        scale: Vec<f32>,
        rows: usize,
        cols: usize,
    },
}

/// Reusable buffers for int8 products (quantized input rows, their scales, accumulators).
#[derive(Debug, Default, Clone)]
pub(crate) struct Scratch {
    q: Vec<i8>,
    qscale: Vec<f32>,
    acc: Vec<i32>,
}

/// Symmetric per-row int8 quantization: `x ≈ q * s`, `s = max|x| / 127`.
pub(crate) fn quantize_rows(x: &[f32], cols: usize, q: &mut Vec<i8>, scales: &mut Vec<f32>) {
    q.clear();
    scales.clear();
    for row in x.chunks_exact(cols) {
        let amax = row.iter().fold(0f32, |m, v| m.max(v.abs()));
        let s = amax / 127.0;
        let inv = if s > 0.0 { 1.0 / s } else { 0.0 };
        q.extend(
            row.iter()
                .map(|v| (v * inv).round().clamp(-127.0, 127.0) as i8),
        );
        scales.push(s);
    }
}

impl Matrix {
    pub(crate) fn rows(&self) -> usize {
        match self {
            Matrix::F32 { rows, .. } | Matrix::I8 { rows, .. } => *rows,
        }
    }

    pub(crate) fn cols(&self) -> usize {
        match self {
            Matrix::F32 { cols, .. } | Matrix::I8 { cols, .. } => *cols,
        }
    }

    pub(crate) fn is_int8(&self) -> bool {
        matches!(self, Matrix::I8 { .. })
    }

    /// Number of weights.
    pub(crate) fn len(&self) -> usize {
        self.rows() * self.cols()
    }

    /// Bytes of weight storage.
    pub(crate) fn bytes(&self) -> usize {
        match self {
            Matrix::F32 { w, .. } => w.len() * 4,
            Matrix::I8 { w, scale, .. } => w.len() + scale.len() * 4,
        }
    }

    /// The int8 version of an f32 matrix (unchanged when already int8).
    pub(crate) fn quantized(&self) -> Matrix {
        match self {
            Matrix::F32 { w, rows, cols } => {
                let (mut q, mut scale) = (Vec::new(), Vec::new());
                quantize_rows(w, *cols, &mut q, &mut scale);
                Matrix::I8 {
                    w: q,
                    scale,
                    rows: *rows,
                    cols: *cols,
                }
            }
            m => m.clone(),
        }
    }

    /// `y[n, rows] = x[n, cols] · Wᵀ (+ bias)`.
    pub(crate) fn matmul(
        &self,
        x: &[f32],
        n: usize,
        bias: Option<&[f32]>,
        y: &mut [f32],
        s: &mut Scratch,
    ) {
        let (rows, cols) = (self.rows(), self.cols());
        debug_assert_eq!(x.len(), n * cols);
        debug_assert_eq!(y.len(), n * rows);
        if n == 0 {
            return;
        }
        match self {
            Matrix::F32 { w, .. } => kernels::gemm_f32(w, rows, cols, x, n, y),
            Matrix::I8 { w, scale, .. } => {
                quantize_rows(x, cols, &mut s.q, &mut s.qscale);
                s.acc.resize(n * rows, 0);
                kernels::gemm_i8(w, rows, cols, &s.q, n, &mut s.acc);
                for ((yr, ar), xs) in y
                    .chunks_exact_mut(rows)
                    .zip(s.acc.chunks_exact(rows))
                    .zip(&s.qscale)
                {
                    for ((o, &a), ws) in yr.iter_mut().zip(ar).zip(scale) {
                        *o = a as f32 * xs * ws;
                    }
                }
            }
        }
        if let Some(b) = bias {
            for yr in y.chunks_exact_mut(rows) {
                yr.iter_mut().zip(b).for_each(|(o, b)| *o += b);
            }
        }
    }
}
