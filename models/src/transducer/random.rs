//! Random-weight model files in the v1 format, for tests and benchmarks of code that needs a
//! model of a given size but not a trained one.

use super::{Hyperparameters, ARCHITECTURE};
use crate::format::{quantize_model, Metadata, ModelFile, ModelWriter};

/// Small deterministic generator (xorshift64*), so test models are reproducible everywhere.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self, k: f32) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let u = (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40) as f32 / (1u64 << 24) as f32;
        (2.0 * u - 1.0) * k
    }
}

/// Hyperparameters of a tiny model (fast in tests): F 80, S 4, L 2, H 32, P 16, E 16, C 2,
/// J 24, V 12.
pub fn tiny_hyperparameters() -> Hyperparameters {
    Hyperparameters {
        feat_dim: 80,
        stack: 4,
        num_layers: 2,
        hidden: 32,
        proj: 16,
        pred_dim: 16,
        context_size: 2,
        joiner_dim: 24,
        vocab_size: 12,
        blank_id: 0,
        ctc: false,
        residual: false,
        layer_norm: false,
        lookahead_chunk: 0,
    }
}

/// Hyperparameters of the ~10M-parameter model the benchmarks use: F 80, S 4, L 5, H 768,
/// P 256, E 256, C 2, J 320, V 500.
pub fn small10m_hyperparameters() -> Hyperparameters {
    Hyperparameters {
        num_layers: 5,
        hidden: 768,
        proj: 256,
        pred_dim: 256,
        joiner_dim: 320,
        vocab_size: 500,
        ..tiny_hyperparameters()
    }
}

/// Token pieces for a random model: blank, then word-initial and word-internal letters.
fn tokens(v: usize) -> Vec<String> {
    (0..v)
        .map(|i| match i {
            0 => "<blk>".to_string(),
            i if i % 3 == 1 => format!("▁{}", (b'a' + (i % 26) as u8) as char),
            i => ((b'a' + (i % 26) as u8) as char).to_string(),
        })
        .collect()
}

/// A complete model file (safetensors bytes) with PyTorch-like uniform random weights; weight
/// matrices are quantized to int8 when `int8`. The CMVN statistics roughly match Kaldi fbank
/// of speech-level audio so that activations stay in a realistic range.
pub fn random_model_bytes(hp: &Hyperparameters, seed: u64, int8: bool) -> Vec<u8> {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut f32s: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
    let mut mat = |name: String, shape: Vec<usize>, k: f32, rng: &mut Rng| {
        let n = shape.iter().product();
        f32s.push((name, shape, (0..n).map(|_| rng.uniform(k)).collect()));
    };
    let (f, h, p, e, c, j, v) = (
        hp.feat_dim,
        hp.hidden,
        hp.enc_dim(),
        hp.pred_dim,
        hp.context_size,
        hp.joiner_dim,
        hp.vocab_size,
    );
    let kh = 1.0 / (h as f32).sqrt();
    for l in 0..hp.num_layers {
        let inp = if l == 0 { hp.stack * f } else { p };
        mat(
            format!("encoder.lstm.{l}.weight_ih_l0"),
            vec![4 * h, inp],
            kh,
            &mut rng,
        );
        mat(
            format!("encoder.lstm.{l}.weight_hh_l0"),
            vec![4 * h, p],
            kh,
            &mut rng,
        );
        mat(
            format!("encoder.lstm.{l}.bias_ih_l0"),
            vec![4 * h],
            kh,
            &mut rng,
        );
        mat(
            format!("encoder.lstm.{l}.bias_hh_l0"),
            vec![4 * h],
            kh,
            &mut rng,
        );
        if hp.proj > 0 {
            mat(
                format!("encoder.lstm.{l}.weight_hr_l0"),
                vec![p, h],
                kh,
                &mut rng,
            );
        }
    }
    mat("decoder.embedding.weight".into(), vec![v, e], 1.0, &mut rng);
    if c > 1 {
        mat(
            "decoder.conv.weight".into(),
            vec![e, 1, c],
            1.0 / (c as f32).sqrt(),
            &mut rng,
        );
    }
    for (name, rows, cols) in [("enc_proj", j, p), ("pred_proj", j, e), ("output", v, j)] {
        let k = 1.0 / (cols as f32).sqrt();
        mat(
            format!("joiner.{name}.weight"),
            vec![rows, cols],
            k,
            &mut rng,
        );
        mat(format!("joiner.{name}.bias"), vec![rows], k, &mut rng);
    }
    if hp.ctc {
        mat(
            "ctc.weight".into(),
            vec![v, p],
            1.0 / (p as f32).sqrt(),
            &mut rng,
        );
        mat("ctc.bias".into(), vec![v], 0.1, &mut rng);
    }
    // Drawn last so that the other weights equal those of the same seed without LayerNorm.
    let norms = if hp.layer_norm { hp.num_layers } else { 0 };
    for l in 0..norms {
        mat(format!("encoder.norm.{l}.weight"), vec![p], 0.2, &mut rng);
        mat(format!("encoder.norm.{l}.bias"), vec![p], 0.2, &mut rng);
    }
    // Drawn after those, so that the other weights equal those of the same seed without it.
    if hp.lookahead_chunk > 0 {
        let n = "encoder.look";
        mat(format!("{n}.weight_ih_l0"), vec![4 * h, p], kh, &mut rng);
        mat(format!("{n}.weight_hh_l0"), vec![4 * h, p], kh, &mut rng);
        mat(format!("{n}.bias_ih_l0"), vec![4 * h], kh, &mut rng);
        mat(format!("{n}.bias_hh_l0"), vec![4 * h], kh, &mut rng);
        if hp.proj > 0 {
            mat(format!("{n}.weight_hr_l0"), vec![p, h], kh, &mut rng);
        }
        mat("encoder.look_norm.weight".into(), vec![p], 0.2, &mut rng);
        mat("encoder.look_norm.bias".into(), vec![p], 0.2, &mut rng);
    }
    // LayerNorm gains near 1 (not exactly: the identity would hide a missing gamma).
    for (name, _, data) in &mut f32s {
        let is_norm = name.starts_with("encoder.norm.") || name.starts_with("encoder.look_norm.");
        if is_norm && name.ends_with(".weight") {
            data.iter_mut().for_each(|g| *g += 1.0);
        }
    }
    f32s.push(("encoder.cmvn_mean".into(), vec![f], vec![-8.0; f]));
    f32s.push(("encoder.cmvn_istd".into(), vec![f], vec![0.25; f]));

    let hyperparameters = match serde_json::to_value(hp) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => unreachable!("Hyperparameters serializes to a JSON object"),
    };
    let mut w = ModelWriter::new(Metadata {
        architecture: ARCHITECTURE.into(),
        hyperparameters,
        features: serde_json::json!({"sample_rate": 16000, "frame_length_ms": 25.0,
            "frame_shift_ms": 10.0, "num_mel_bins": f, "low_freq": 20.0, "high_freq": 0.0,
            "preemph_coeff": 0.97, "window": "povey", "remove_dc_offset": true,
            "snip_edges": false, "dither": 0.0}),
        tokens: tokens(v),
        license: "CC0-1.0".into(),
        provenance: serde_json::json!({"recipe": "sotto_models::transducer::random_model_bytes",
            "notes": "random weights"}),
        ..Metadata::default()
    });
    for (name, shape, data) in f32s {
        w.add_f32(&name, &shape, &data);
    }
    let bytes = w.to_bytes().expect("serializing in-memory tensors");
    if !int8 {
        return bytes;
    }
    // The library's one quantization, as `sotto quantize` applies it.
    let file = ModelFile::from_bytes(&bytes, "random model").expect("a model just written");
    let (q, _) = quantize_model(&file).expect("random weights are finite");
    q.to_bytes().expect("serializing in-memory tensors")
}
