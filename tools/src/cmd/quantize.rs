//! `sotto quantize IN OUT`: f32 → int8 (symmetric, per output row) for every 2-D weight matrix the
//! format marks quantizable ([`sotto_models::format::is_quantizable`]: Linear/LSTM matrices), by
//! the library's one pipeline ([`sotto_models::format::quantize_model`]);
//! biases, norms, CMVN, embeddings and convolution kernels stay f32. Prints each matrix's max and
//! mean absolute weight error; the metadata is copied with `"quantized": "int8"`.

use std::path::PathBuf;

use sotto_models::format::{quantize_model, ModelFile};
use sotto_models::toy;
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
    let (out, report) = quantize_model(&file)?;
    let width = report.iter().map(|m| m.name.len()).max().unwrap_or(0);
    let count = report.len();
    let mut lines: Vec<String> = report
        .iter()
        .map(|m| {
            format!(
                "{:width$}  [{:>5}, {:>5}]  max|Δw| {:.3e}  mean|Δw| {:.3e}  (max|w| {:.3e})",
                m.name, m.rows, m.cols, m.max_abs_error, m.mean_abs_error, m.max_abs_weight
            )
        })
        .collect();
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
