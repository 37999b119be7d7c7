//! Loading layers by their PyTorch `state_dict()` names from any [`Vars`] source (a model file,
//! or a [`VarMap`](crate::vars::VarMap) in memory).
//!
//! `prefix` is the module path (`"encoder.lstm.0"`, or `""` at the top level). Every loader checks
//! names, dtypes and shapes through the source, so a mismatch names the offending tensor.

use super::{Conv1d, Conv1dConfig, Embedding, LayerNorm, Linear, Lstm, Weight};
pub use crate::vars::join;
use crate::vars::{Dtype, Vars};

/// A weight matrix of `rows` outputs stored either as f32 with shape `[rows, inner...]`
/// (PyTorch's own shape, e.g. `[out, in, k]` for a convolution) or as int8 `[rows, Π inner]`
/// plus scales.
pub fn weight<V: Vars + ?Sized>(
    file: &V,
    name: &str,
    rows: usize,
    inner: &[usize],
) -> Result<Weight, V::Error> {
    // Saturating: absurd dimensions from a corrupt file must fail the shape check, not overflow.
    let cols = inner.iter().fold(1usize, |a, &b| a.saturating_mul(b));
    match file.dtype(name) {
        Some(Dtype::I8) => Ok(Weight::I8(file.qmatrix(name, rows, cols)?)),
        _ => {
            let shape: Vec<usize> = std::iter::once(rows).chain(inner.iter().copied()).collect();
            let data = file.tensor_f32(name, &shape)?;
            Weight::f32(data, rows, cols).map_err(|e| file.layer_err(name, e.into()))
        }
    }
}

impl Linear {
    /// `nn.Linear(in_dim, out_dim, bias)`: `{prefix}.weight` `[out, in]` (f32 or int8), `{prefix}.bias`.
    pub fn load<V: Vars + ?Sized>(
        file: &V,
        prefix: &str,
        in_dim: usize,
        out_dim: usize,
        bias: bool,
    ) -> Result<Self, V::Error> {
        let w = weight(file, &join(prefix, "weight"), out_dim, &[in_dim])?;
        let b = bias
            .then(|| file.tensor_f32(&join(prefix, "bias"), &[out_dim]))
            .transpose()?;
        Linear::new(w, b).map_err(|e| file.layer_err(prefix, e.into()))
    }
}

impl Embedding {
    /// `nn.Embedding(num, dim)`: `{prefix}.weight` `[num, dim]` f32.
    pub fn load<V: Vars + ?Sized>(
        file: &V,
        prefix: &str,
        num: usize,
        dim: usize,
    ) -> Result<Self, V::Error> {
        let t = file.tensor_f32(&join(prefix, "weight"), &[num, dim])?;
        Embedding::new(t, num, dim).map_err(|e| file.layer_err(prefix, e.into()))
    }
}

impl LayerNorm {
    /// `nn.LayerNorm(dim, eps, elementwise_affine=affine)`: `{prefix}.weight`, `{prefix}.bias`.
    pub fn load<V: Vars + ?Sized>(
        file: &V,
        prefix: &str,
        dim: usize,
        eps: f32,
        affine: bool,
    ) -> Result<Self, V::Error> {
        let (g, b) = if affine {
            (
                Some(file.tensor_f32(&join(prefix, "weight"), &[dim])?),
                Some(file.tensor_f32(&join(prefix, "bias"), &[dim])?),
            )
        } else {
            (None, None)
        };
        LayerNorm::new(dim, eps, g, b).map_err(|e| file.layer_err(prefix, e.into()))
    }
}

impl Conv1d {
    /// `nn.Conv1d`: `{prefix}.weight` `[out, in/groups, kernel]` (int8: `[out, in/groups·kernel]`),
    /// `{prefix}.bias` `[out]`.
    pub fn load<V: Vars + ?Sized>(
        file: &V,
        prefix: &str,
        cfg: Conv1dConfig,
        bias: bool,
    ) -> Result<Self, V::Error> {
        let ig = cfg.in_channels / cfg.groups.max(1);
        let w = weight(
            file,
            &join(prefix, "weight"),
            cfg.out_channels,
            &[ig, cfg.kernel],
        )?;
        let b = bias
            .then(|| file.tensor_f32(&join(prefix, "bias"), &[cfg.out_channels]))
            .transpose()?;
        Conv1d::new(cfg, w, b).map_err(|e| file.layer_err(prefix, e.into()))
    }
}

impl Lstm {
    /// Layer `layer` of `nn.LSTM(input, hidden, proj_size=proj, bias=bias)` (`proj = 0`: none):
    /// `{prefix}.weight_ih_l{layer}` `[4H, I]`, `weight_hh_l{layer}` `[4H, P]`, `bias_ih_l{layer}`,
    /// `bias_hh_l{layer}` `[4H]`, `weight_hr_l{layer}` `[P, H]`.
    pub fn load<V: Vars + ?Sized>(
        file: &V,
        prefix: &str,
        layer: usize,
        input: usize,
        hidden: usize,
        proj: usize,
        bias: bool,
    ) -> Result<Self, V::Error> {
        let name = |n: &str| join(prefix, &format!("{n}_l{layer}"));
        let out = if proj > 0 { proj } else { hidden };
        let w_ih = weight(file, &name("weight_ih"), 4 * hidden, &[input])?;
        let w_hh = weight(file, &name("weight_hh"), 4 * hidden, &[out])?;
        let (b_ih, b_hh) = if bias {
            (
                Some(file.tensor_f32(&name("bias_ih"), &[4 * hidden])?),
                Some(file.tensor_f32(&name("bias_hh"), &[4 * hidden])?),
            )
        } else {
            (None, None)
        };
        let w_hr: Option<Weight> = if proj > 0 {
            Some(weight(file, &name("weight_hr"), proj, &[hidden])?)
        } else {
            None
        };
        Lstm::new(w_ih, w_hh, b_ih, b_hh, w_hr).map_err(|e| file.layer_err(prefix, e.into()))
    }
}
