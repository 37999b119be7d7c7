//! `sotto quantize IN OUT`: f32 → int8 (symmetric, per output row) for every 2-D weight matrix the
//! format marks quantizable ([`sotto_models::format::is_quantizable`]: Linear/LSTM matrices);
//! biases, norms, CMVN, embeddings and convolution kernels stay f32. Prints each matrix's max and
//! mean absolute weight error; the metadata is copied with `"quantized": "int8"`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use sotto_models::format::{is_quantizable, toy, ModelFile, ModelWriter};
use sotto_models::quant::QMatrix;
use sotto_models::transducer;

use super::info::{human_bytes, print_out};
use super::with_status;

/// Arguments of `sotto quantize`.
#[derive(clap::Args)]
pub struct Args {
    /// f32 model file to read.
    pub input: PathBuf,
    /// int8 model file to write.
    pub output: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let file = ModelFile::open(&args.input).map_err(|e| with_status(2, e))?;
    if let Some(q) = &file.metadata().quantized {
        return Err(with_status(
            2,
            format!("{}: already quantized ({q})", args.input.display()),
        ));
    }
    let mut meta = file.metadata().clone();
    meta.quantized = Some("int8".into());
    let mut out = ModelWriter::new(meta);
    let names: Vec<(String, Vec<usize>, bool)> = file
        .tensors()
        .map(|(n, t)| (n.to_string(), t.shape.clone(), is_quantizable(n, t)))
        .collect();
    let width = names.iter().map(|(n, ..)| n.len()).max().unwrap_or(0);
    let mut count = 0;
    let mut lines = Vec::new();
    for (name, shape, quantize) in &names {
        if !quantize {
            out.copy_from(&file, name)?;
            continue;
        }
        let (rows, cols) = (shape[0], shape[1]);
        let w = file.tensor_f32(name, shape)?;
        let q = QMatrix::try_quantize(&w, rows, cols)
            .with_context(|| format!("{}: tensor `{name}`", args.input.display()))?;
        let deq = q.dequantize();
        let (max_err, sum_err) = w.iter().zip(&deq).fold((0.0f32, 0.0f64), |(m, s), (a, b)| {
            let e = (a - b).abs();
            (m.max(e), s + e as f64)
        });
        let max_w = w.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        lines.push(format!(
            "{name:width$}  [{rows:>5}, {cols:>5}]  max|Δw| {max_err:.3e}  mean|Δw| {:.3e}  (max|w| {max_w:.3e})",
            sum_err / (w.len().max(1)) as f64
        ));
        out.add_qmatrix(name, &q);
        count += 1;
    }
    if count == 0 {
        bail!("{}: no quantizable weight matrices", args.input.display());
    }
    out.write(&args.output)?;
    // Re-open what was written; known architectures must load from it.
    let written = ModelFile::open(&args.output)?;
    match written.metadata().architecture.as_str() {
        toy::ARCHITECTURE => drop(toy::ToyLstm::load(&written)?),
        transducer::ARCHITECTURE => drop(transducer::Transducer::load(&args.output)?),
        _ => {}
    }
    lines.push(format!(
        "quantized {count} matrices: {} -> {} ({} -> {})",
        args.input.display(),
        args.output.display(),
        human_bytes(file.file_size()),
        human_bytes(written.file_size())
    ));
    print_out(&(lines.join("\n") + "\n"))
}
