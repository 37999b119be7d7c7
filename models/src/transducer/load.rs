//! Loading and validating a transducer model file.

use super::matrix::Matrix;
use super::{Hyperparameters, LstmLayer, ModelInfo, Transducer, TransducerError, ARCHITECTURE};
use safetensors::{tensor::TensorView, Dtype, SafeTensors};
use std::path::Path;

struct Reader<'a> {
    path: &'a Path,
    st: SafeTensors<'a>,
}

impl Reader<'_> {
    fn err(&self, name: &str, msg: impl Into<String>) -> TransducerError {
        TransducerError::Tensor {
            path: self.path.into(),
            name: name.into(),
            msg: msg.into(),
        }
    }

    fn view(&self, name: &str) -> Result<TensorView<'_>, TransducerError> {
        self.st.tensor(name).map_err(|_| self.err(name, "missing"))
    }

    fn check_shape(
        &self,
        name: &str,
        v: &TensorView,
        shape: &[usize],
    ) -> Result<(), TransducerError> {
        if v.shape() != shape {
            return Err(self.err(name, format!("shape {:?}, expected {shape:?}", v.shape())));
        }
        Ok(())
    }

    /// An f32 tensor of exactly `shape`, with finite values.
    fn f32(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, TransducerError> {
        let v = self.view(name)?;
        if v.dtype() != Dtype::F32 {
            return Err(self.err(name, format!("dtype {:?}, expected F32", v.dtype())));
        }
        self.check_shape(name, &v, shape)?;
        let data: Vec<f32> = v
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if let Some(i) = data.iter().position(|x| !x.is_finite()) {
            return Err(self.err(name, format!("non-finite value at index {i}")));
        }
        Ok(data)
    }

    /// A weight matrix `[rows, cols]`: F32, or I8 with `NAME.scale` F32 `[rows]`.
    fn matrix(&self, name: &str, rows: usize, cols: usize) -> Result<Matrix, TransducerError> {
        let v = self.view(name)?;
        match v.dtype() {
            Dtype::F32 => Ok(Matrix::F32 {
                w: self.f32(name, &[rows, cols])?,
                rows,
                cols,
            }),
            Dtype::I8 => {
                self.check_shape(name, &v, &[rows, cols])?;
                let w = v.data().iter().map(|&b| b as i8).collect();
                let scale = self.f32(&format!("{name}.scale"), &[rows])?;
                if let Some(r) = scale.iter().position(|s| *s < 0.0) {
                    return Err(self.err(
                        &format!("{name}.scale"),
                        format!("negative scale at row {r}"),
                    ));
                }
                Ok(Matrix::I8 {
                    w,
                    scale,
                    rows,
                    cols,
                })
            }
            d => Err(self.err(name, format!("dtype {d:?}, expected F32 or I8"))),
        }
    }
}

fn meta_err(path: &Path, msg: impl Into<String>) -> TransducerError {
    TransducerError::Metadata {
        path: path.into(),
        msg: msg.into(),
    }
}

/// Parse and check the metadata document.
fn parse_info(path: &Path, raw: &str) -> Result<ModelInfo, TransducerError> {
    let raw: serde_json::Value =
        serde_json::from_str(raw).map_err(|e| meta_err(path, format!("not JSON: {e}")))?;
    let get = |k: &str| {
        raw.get(k)
            .ok_or_else(|| meta_err(path, format!("missing key `{k}`")))
    };
    let arch = get("architecture")?
        .as_str()
        .unwrap_or_default()
        .to_string();
    let version = get("format_version")?.as_u64().unwrap_or(0);
    if arch != ARCHITECTURE || version != 1 {
        return Err(TransducerError::Architecture {
            path: path.into(),
            found: arch,
            version,
        });
    }
    let hyper: Hyperparameters = serde_json::from_value(get("hyperparameters")?.clone())
        .map_err(|e| meta_err(path, format!("hyperparameters: {e}")))?;
    let features = get("features")?.clone();
    let tokens: Vec<String> = serde_json::from_value(get("tokens")?.clone())
        .map_err(|e| meta_err(path, format!("tokens: {e}")))?;
    let hp = &hyper;
    let bad = |m: &str| Err(meta_err(path, format!("hyperparameters: {m}")));
    if hp.feat_dim == 0 || hp.stack == 0 || hp.num_layers == 0 || hp.hidden == 0 || hp.pred_dim == 0
    {
        return bad("feat_dim, stack, num_layers, hidden and pred_dim must be > 0");
    }
    if hp.context_size == 0 || hp.joiner_dim == 0 || hp.vocab_size == 0 {
        return bad("context_size, joiner_dim and vocab_size must be > 0");
    }
    if hp.blank_id as usize >= hp.vocab_size {
        return bad("blank_id must be < vocab_size");
    }
    if tokens.len() != hp.vocab_size {
        return Err(meta_err(
            path,
            format!("{} tokens for vocab_size {}", tokens.len(), hp.vocab_size),
        ));
    }
    Ok(ModelInfo {
        hyper,
        features,
        tokens,
        raw,
    })
}

pub(super) fn load(path: &Path, bytes: &[u8]) -> Result<Transducer, TransducerError> {
    let corrupt = |e: safetensors::SafeTensorError| TransducerError::Corrupt {
        path: path.into(),
        msg: e.to_string(),
    };
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(corrupt)?;
    let raw = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get("sotto"))
        .ok_or_else(|| meta_err(path, "no `sotto` entry in the safetensors __metadata__"))?;
    let info = parse_info(path, raw)?;
    let st = SafeTensors::deserialize(bytes).map_err(corrupt)?;
    let r = Reader { path, st };
    let hp = info.hyper.clone();
    let (f, h, p) = (hp.feat_dim, hp.hidden, hp.enc_dim());
    let mut lstm = Vec::with_capacity(hp.num_layers);
    for l in 0..hp.num_layers {
        let pre = format!("encoder.lstm.{l}");
        let inp = if l == 0 { hp.stack * f } else { p };
        let b_ih = r.f32(&format!("{pre}.bias_ih_l0"), &[4 * h])?;
        let b_hh = r.f32(&format!("{pre}.bias_hh_l0"), &[4 * h])?;
        lstm.push(LstmLayer {
            w_ih: r.matrix(&format!("{pre}.weight_ih_l0"), 4 * h, inp)?,
            w_hh: r.matrix(&format!("{pre}.weight_hh_l0"), 4 * h, p)?,
            bias: b_ih.iter().zip(&b_hh).map(|(a, b)| a + b).collect(),
            w_hr: if hp.proj > 0 {
                Some(r.matrix(&format!("{pre}.weight_hr_l0"), p, h)?)
            } else {
                None
            },
        });
    }
    let (e, c, j, v) = (hp.pred_dim, hp.context_size, hp.joiner_dim, hp.vocab_size);
    let linear = |name: &str, rows, cols| -> Result<(Matrix, Vec<f32>), TransducerError> {
        Ok((
            r.matrix(&format!("{name}.weight"), rows, cols)?,
            r.f32(&format!("{name}.bias"), &[rows])?,
        ))
    };
    let t = Transducer {
        cmvn_mean: r.f32("encoder.cmvn_mean", &[f])?,
        cmvn_istd: r.f32("encoder.cmvn_istd", &[f])?,
        lstm,
        embedding: r.f32("decoder.embedding.weight", &[v, e])?,
        conv: if c > 1 {
            Some(r.f32("decoder.conv.weight", &[e, 1, c])?)
        } else {
            None
        },
        enc_proj: linear("joiner.enc_proj", j, p)?,
        pred_proj: linear("joiner.pred_proj", j, e)?,
        output: linear("joiner.output", v, j)?,
        info,
    };
    if hp.ctc {
        // Decoding ignores the CTC head, but a file that promises one must hold it intact.
        r.matrix("ctc.weight", v, p)?;
        r.f32("ctc.bias", &[v])?;
    }
    Ok(t)
}
