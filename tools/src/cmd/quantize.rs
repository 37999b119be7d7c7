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

/// The output must be a file in an existing folder, and not the input: checked before any
/// work is done.
fn check_output(args: &Args) -> anyhow::Result<()> {
    let out = &args.output;
    let name = out.display().to_string();
    if out.is_dir() || name.ends_with(std::path::MAIN_SEPARATOR) || name.ends_with('/') {
        return Err(with_status(
            2,
            format!("{name}: is a folder; give the output file's name (e.g. {name}/model-int8.safetensors)", name = name.trim_end_matches('/')),
        ));
    }
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(p) = parent {
        if !p.is_dir() {
            return Err(with_status(
                2,
                format!("{name}: folder {} does not exist", p.display()),
            ));
        }
    }
    if std::fs::canonicalize(out).ok() == std::fs::canonicalize(&args.input).ok() && out.exists() {
        return Err(with_status(
            2,
            format!("{name}: the output would overwrite the input"),
        ));
    }
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<()> {
    crate::common::check_model_file(&args.input, "IN")?;
    check_output(&args)?;
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
    // Nothing half-written stays behind: the writer's temporary file on failure, the output
    // when it does not load back.
    let cleanup = |e: anyhow::Error| {
        let _ = std::fs::remove_file(args.output.with_extension("tmp-write"));
        e
    };
    out.write(&args.output).map_err(|e| cleanup(e.into()))?;
    // Re-open what was written; known architectures must load from it.
    let check = || -> anyhow::Result<ModelFile> {
        let written = ModelFile::open(&args.output)?;
        match written.metadata().architecture.as_str() {
            toy::ARCHITECTURE => drop(toy::ToyLstm::load(&written)?),
            transducer::ARCHITECTURE => drop(transducer::Transducer::load(&args.output)?),
            _ => {}
        }
        Ok(written)
    };
    let written = check().map_err(|e| {
        let _ = std::fs::remove_file(&args.output);
        e.context(format!(
            "{}: the written model does not load back (removed)",
            args.output.display()
        ))
    })?;
    lines.push(format!(
        "quantized {count} matrices: {} -> {} ({} -> {})",
        args.input.display(),
        args.output.display(),
        human_bytes(file.file_size()),
        human_bytes(written.file_size())
    ));
    print_out(&(lines.join("\n") + "\n"))
}
