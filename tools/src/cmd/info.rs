//! `sotto info MODEL [--json]`: describe a model file: architecture, hyperparameters, parameter
//! count, sizes (int8 vs f32), per-stream memory and the tensor list.
//!
//! Any file in the sotto format is listed generically from its header (no weight is read); known
//! architectures are also loaded (which validates every tensor) and report their per-stream memory.

use std::path::PathBuf;

use std::fmt::Write as _;

use anyhow::Context;
use serde::Serialize;
use sotto_models::format::{Dtype, ModelFile, SCALE_SUFFIX};
use sotto_models::kernels;
use sotto_models::toy;
use sotto_models::transducer;

use super::with_status;

/// Arguments of `sotto info`.
#[derive(clap::Args)]
pub struct Args {
    /// Model file (safetensors with sotto metadata).
    pub model: PathBuf,
    /// Print a JSON document instead of text.
    #[arg(long)]
    pub json: bool,
    /// Feature frames per streaming call, for the per-stream memory estimate.
    #[arg(long, default_value_t = 16)]
    pub chunk: usize,
}

/// One tensor of the file.
#[derive(Serialize)]
struct TensorRow {
    name: String,
    dtype: String,
    shape: Vec<usize>,
    bytes: usize,
}

/// Everything `info` reports (the `--json` document).
#[derive(Serialize)]
struct Report {
    file: String,
    file_bytes: usize,
    format_version: u32,
    architecture: String,
    /// `"int8"` or `null` (f32).
    quantized: Option<String>,
    license: String,
    num_tokens: usize,
    hyperparameters: serde_json::Map<String, serde_json::Value>,
    features: serde_json::Value,
    provenance: serde_json::Value,
    /// Weights and biases (elements), not counting int8 scale vectors or search tables.
    parameters: usize,
    /// Tensors the search reads, not the network (e.g. `token_bigram`, the LODR table).
    search_tensors: Vec<String>,
    /// Bytes of f32 tensors (including int8 scales).
    f32_bytes: usize,
    /// Bytes of int8 tensors.
    int8_bytes: usize,
    /// Bytes the same parameters take in f32.
    f32_equivalent_bytes: usize,
    /// Whether the architecture is known (and the file was fully validated by loading it).
    known_architecture: bool,
    /// Estimated peak bytes per stream (state + scratch) for `chunk` frames; `null` if unknown.
    stream_bytes: Option<usize>,
    stream_bytes_note: String,
    /// f32 tensors copied at load because they were misaligned in the file.
    copied_tensors: Vec<String>,
    /// The matrix kernels this machine runs ([`kernels::best_variant`]: the fastest it supports,
    /// or the one `SOTTO_KERNELS` names).
    kernels: String,
    /// Every kernel variant this machine supports, slowest (scalar) first.
    kernels_available: Vec<String>,
    tensors: Vec<TensorRow>,
}

/// Optional tensors of a transducer file that the search uses, not the network
/// (`docs/model-format.md`).
const SEARCH_TENSORS: [&str; 1] = [transducer::TOKEN_BIGRAM];

/// Loads known architectures, returning (per-stream bytes, note).
fn stream_memory(file: &ModelFile, chunk: usize) -> anyhow::Result<Option<(usize, String)>> {
    let arch = file.metadata().architecture.as_str();
    Ok(match arch {
        toy::ARCHITECTURE => {
            let m = toy::ToyLstm::load(file)?;
            Some((
                m.stream_bytes(chunk),
                format!("LSTM state + scratch measured after a {chunk}-frame chunk"),
            ))
        }
        transducer::ARCHITECTURE => {
            let m = transducer::Transducer::load(file.path())?;
            Some((
                m.state_bytes(),
                "persistent encoder state (stacking buffer, LSTM h and c, an unfinished look-ahead chunk); work buffers excluded"
                    .into(),
            ))
        }
        _ => None,
    })
}

fn report(args: &Args) -> anyhow::Result<Report> {
    crate::common::check_model_file(&args.model, "MODEL")?;
    let file = ModelFile::open(&args.model).map_err(|e| with_status(2, e))?;
    let known = stream_memory(&file, args.chunk.max(1)).with_context(|| {
        format!(
            "{}: loading as `{}`",
            args.model.display(),
            file.metadata().architecture
        )
    })?;
    let is_scale = |name: &str| {
        name.strip_suffix(SCALE_SUFFIX)
            .and_then(|base| file.info(base))
            .is_some_and(|t| t.dtype == Dtype::I8)
    };
    let (mut parameters, mut f32_bytes, mut int8_bytes) = (0, 0, 0);
    let (mut tensors, mut search_tensors) = (Vec::new(), Vec::new());
    for (name, t) in file.tensors() {
        match t.dtype {
            Dtype::F32 => f32_bytes += t.bytes,
            Dtype::I8 => int8_bytes += t.bytes,
            _ => {}
        }
        if SEARCH_TENSORS.contains(&name) {
            search_tensors.push(name.to_string());
        } else if !is_scale(name) {
            parameters += t.numel();
        }
        tensors.push(TensorRow {
            name: name.into(),
            dtype: format!("{:?}", t.dtype),
            shape: t.shape.clone(),
            bytes: t.bytes,
        });
    }
    let m = file.metadata();
    let (stream_bytes, note) = match known {
        Some((b, note)) => (Some(b), note),
        None => (
            None,
            format!(
                "unknown architecture `{}`: no per-stream estimate",
                m.architecture
            ),
        ),
    };
    Ok(Report {
        file: args.model.display().to_string(),
        file_bytes: file.file_size(),
        format_version: m.format_version,
        architecture: m.architecture.clone(),
        quantized: m.quantized.clone(),
        license: m.license.clone(),
        num_tokens: m.tokens.len(),
        hyperparameters: m.hyperparameters.clone(),
        features: m.features.clone(),
        provenance: m.provenance.clone(),
        parameters,
        search_tensors,
        f32_bytes,
        int8_bytes,
        f32_equivalent_bytes: parameters * 4,
        known_architecture: stream_bytes.is_some(),
        stream_bytes,
        stream_bytes_note: note,
        copied_tensors: file.copied_tensors(),
        kernels: kernels::best_variant().name().to_string(),
        kernels_available: kernels::available_variants()
            .iter()
            .map(|v| v.name().to_string())
            .collect(),
        tensors,
    })
}

/// `1234567` → `"1.2 MiB"`.
pub fn human_bytes(b: usize) -> String {
    let units = ["B", "KiB", "MiB", "GiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let r = report(&args)?;
    let mut s = String::new();
    if args.json {
        return print_out(&format!("{}\n", serde_json::to_string_pretty(&r)?));
    }
    let precision = r.quantized.as_deref().unwrap_or("f32");
    writeln!(
        s,
        "file             {} ({})",
        r.file,
        human_bytes(r.file_bytes)
    )?;
    writeln!(
        s,
        "architecture     {} (format v{}, {precision}{})",
        r.architecture,
        r.format_version,
        if r.known_architecture {
            ", validated"
        } else {
            ""
        }
    )?;
    writeln!(
        s,
        "license          {}",
        if r.license.is_empty() {
            "(not stated)"
        } else {
            &r.license
        }
    )?;
    writeln!(s, "tokens           {}", r.num_tokens)?;
    let hp: Vec<String> = r
        .hyperparameters
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    writeln!(s, "hyperparameters  {}", hp.join(" "))?;
    if !r.features.is_null() {
        writeln!(s, "features         {}", r.features)?;
    }
    writeln!(
        s,
        "parameters       {} (int8 {}, f32 {}; all-f32 would be {})",
        r.parameters,
        human_bytes(r.int8_bytes),
        human_bytes(r.f32_bytes),
        human_bytes(r.f32_equivalent_bytes)
    )?;
    if !r.search_tensors.is_empty() {
        let bytes: usize = r
            .tensors
            .iter()
            .filter(|t| r.search_tensors.contains(&t.name))
            .map(|t| t.bytes)
            .sum();
        writeln!(
            s,
            "search tables    {} ({}: read by the search, not network weights; in the f32 bytes above)",
            r.search_tensors.join(", "),
            human_bytes(bytes)
        )?;
    }
    match r.stream_bytes {
        Some(b) => writeln!(
            s,
            "memory/stream    {} ({})",
            human_bytes(b),
            r.stream_bytes_note
        ),
        None => writeln!(s, "memory/stream    ? ({})", r.stream_bytes_note),
    }?;
    if !r.copied_tensors.is_empty() {
        writeln!(
            s,
            "copied (misaligned) tensors: {}",
            r.copied_tensors.join(", ")
        )?;
    }
    writeln!(
        s,
        "kernels          {} (available: {}; {} overrides)",
        r.kernels,
        r.kernels_available.join(", "),
        kernels::KERNELS_ENV
    )?;
    writeln!(s, "tensors ({}):", r.tensors.len())?;
    let w = r.tensors.iter().map(|t| t.name.len()).max().unwrap_or(0);
    for t in &r.tensors {
        writeln!(s, "  {:w$}  {:4} {:?}", t.name, t.dtype, t.shape)?;
    }
    print_out(&s)
}

/// Writes `s` to stdout; a closed pipe (`sotto info m | head`) is not an error.
pub fn print_out(s: &str) -> anyhow::Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(s.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
