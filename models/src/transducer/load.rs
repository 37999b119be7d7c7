//! Building a [`Transducer`] from a [`ModelFile`]: metadata checks, then the shared layer loaders
//! by PyTorch `state_dict()` name (see `docs/model-format.md`).

use super::{
    Hyperparameters, ModelInfo, Transducer, TransducerError, Units, ARCHITECTURE, TOKEN_BIGRAM,
};
use crate::format::{Dtype, FormatError, ModelFile};
use crate::layers::{Embedding, FrameStack, LayerNorm, Linear, Lstm};
use std::path::PathBuf;

/// `torch.nn.LayerNorm`'s default eps, which the recipe uses.
const LAYER_NORM_EPS: f32 = 1e-5;

/// A hyperparameter added after the first shipped files: a missing key means the type's default
/// (false, 0), a present one must have the type.
fn option<T: serde::de::DeserializeOwned + Default>(
    file: &ModelFile,
    key: &str,
) -> Result<T, FormatError> {
    match file.metadata().hyperparameters.contains_key(key) {
        true => file.hyper(key),
        false => Ok(T::default()),
    }
}

/// Hyperparameters, feature config and tokens from the file's metadata, checked for consistency.
fn parse_info(file: &ModelFile) -> Result<ModelInfo, TransducerError> {
    let path = || PathBuf::from(file.path());
    let meta = file.metadata();
    // `ModelFile::open` already accepted the format version (1 is the only one).
    if meta.architecture != ARCHITECTURE {
        return Err(TransducerError::Architecture {
            path: path(),
            found: meta.architecture.clone(),
            version: meta.format_version.into(),
        });
    }
    let hyper = Hyperparameters {
        feat_dim: file.dim("feat_dim")?,
        stack: file.dim("stack")?,
        num_layers: file.dim("num_layers")?,
        hidden: file.dim("hidden")?,
        proj: file.dim("proj")?,
        pred_dim: file.dim("pred_dim")?,
        context_size: file.dim("context_size")?,
        joiner_dim: file.dim("joiner_dim")?,
        vocab_size: file.dim("vocab_size")?,
        blank_id: file.hyper("blank_id")?,
        ctc: file.hyper("ctc")?,
        residual: option(file, "residual")?,
        layer_norm: option(file, "layer_norm")?,
        lookahead_chunk: option(file, "lookahead_chunk")?,
    };
    let bad = |msg: String| Err(TransducerError::Metadata { path: path(), msg });
    let hp = &hyper;
    if [hp.feat_dim, hp.stack, hp.num_layers, hp.hidden, hp.pred_dim].contains(&0) {
        return bad(
            "hyperparameters: feat_dim, stack, num_layers, hidden and pred_dim must be > 0".into(),
        );
    }
    if [hp.context_size, hp.joiner_dim, hp.vocab_size].contains(&0) {
        return bad("hyperparameters: context_size, joiner_dim and vocab_size must be > 0".into());
    }
    if hp.lookahead_chunk > 0 && !(hp.residual && hp.layer_norm) {
        return bad("hyperparameters: lookahead_chunk needs residual and layer_norm".into());
    }
    if hp.blank_id as usize >= hp.vocab_size {
        return bad("hyperparameters: blank_id must be < vocab_size".into());
    }
    if meta.features.is_null() {
        return bad("missing key `features`".into());
    }
    if meta.tokens.len() != hp.vocab_size {
        return bad(format!(
            "{} tokens for vocab_size {}",
            meta.tokens.len(),
            hp.vocab_size
        ));
    }
    let units = match meta.extra.get("units") {
        None => Units::Bpe,
        Some(v) => match v.as_str() {
            Some("bpe") => Units::Bpe,
            Some("phones") => Units::Phones,
            _ => return bad(format!("units {v} (expected \"bpe\" or \"phones\")")),
        },
    };
    let raw = serde_json::to_value(meta).map_err(|e| TransducerError::Metadata {
        path: path(),
        msg: e.to_string(),
    })?;
    Ok(ModelInfo {
        units,
        hyper,
        features: meta.features.clone(),
        tokens: meta.tokens.clone(),
        raw,
    })
}

/// Fails on the first non-finite value of any f32 tensor (weights, biases, statistics, scales):
/// NaN weights would otherwise turn every output into NaN, and could not be quantized.
fn check_finite(file: &ModelFile) -> Result<(), TransducerError> {
    for (name, info) in file.tensors() {
        if info.dtype != Dtype::F32 {
            continue; // int8 values are finite by construction
        }
        let v = file.tensor_f32(name, &info.shape)?;
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(TransducerError::Tensor {
                path: file.path().into(),
                name: name.into(),
                msg: format!("non-finite value {} at index {i}", v[i]),
            });
        }
    }
    Ok(())
}

pub(super) fn load(file: &ModelFile) -> Result<Transducer, TransducerError> {
    let info = parse_info(file)?;
    let hp = info.hyper.clone();
    let (f, h, p) = (hp.feat_dim, hp.hidden, hp.enc_dim());
    let lstm = (0..hp.num_layers)
        .map(|l| {
            let inp = if l == 0 { hp.stack * f } else { p };
            Lstm::load(file, &format!("encoder.lstm.{l}"), 0, inp, h, hp.proj, true)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let norm = match hp.layer_norm {
        true => (0..hp.num_layers)
            .map(|l| LayerNorm::load(file, &format!("encoder.norm.{l}"), p, LAYER_NORM_EPS, true))
            .collect::<Result<Vec<_>, _>>()?,
        false => Vec::new(),
    };
    let look = match hp.lookahead_chunk {
        0 => None,
        _ => Some((
            Lstm::load(file, "encoder.look", 0, p, h, hp.proj, true)?,
            LayerNorm::load(file, "encoder.look_norm", p, LAYER_NORM_EPS, true)?,
        )),
    };
    let (e, c, j, v) = (hp.pred_dim, hp.context_size, hp.joiner_dim, hp.vocab_size);
    let t = Transducer {
        cmvn_mean: file.tensor_f32("encoder.cmvn_mean", &[f])?,
        cmvn_istd: file.tensor_f32("encoder.cmvn_istd", &[f])?,
        stack: FrameStack::new(f, hp.stack, hp.stack).map_err(|e| file.layer_err("encoder", e))?,
        lstm,
        norm,
        look,
        embedding: Embedding::load(file, "decoder.embedding", v, e)?,
        conv: if c > 1 {
            Some(file.tensor_f32("decoder.conv.weight", &[e, 1, c])?)
        } else {
            None
        },
        enc_proj: Linear::load(file, "joiner.enc_proj", p, j, true)?,
        pred_proj: Linear::load(file, "joiner.pred_proj", e, j, true)?,
        output: Linear::load(file, "joiner.output", j, v, true)?,
        ctc: if hp.ctc {
            Some(Linear::load(file, "ctc", p, v, true)?)
        } else {
            None
        },
        token_bigram: match file.has(TOKEN_BIGRAM) {
            true => Some(file.tensor_f32(TOKEN_BIGRAM, &[v, v])?),
            false => None,
        },
        info,
    };
    file.finish()?;
    check_finite(file)?;
    Ok(t)
}
