//! `sotto wake-train`: train a wake-word model for a typed phrase (drives the PyTorch recipe in
//! `tools/train/wake/`), and the hidden `sotto wake-tool` helpers that recipe calls:
//! `features` (the TFLite-Micro frontend exactly as `sotto wake` runs it, over a stream of
//! clips) and `export` (a model description into a `.tflite` flatbuffer written by
//! [`sotto_micro::tflite::writer`]).

use anyhow::Context;
use serde_json::Value;
use sotto_frontend::micro::{MicroFrontend, MicroFrontendConfig};
use sotto_micro::tflite::writer::{
    write, ModelDesc, OpCode, OperatorDesc, Options, Quant, SubGraphDesc, TensorDesc,
};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Arguments of `sotto wake-train`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The wake phrase, e.g. "hey sotto".
    #[arg(value_name = "PHRASE")]
    pub phrase: String,
    /// Output folder: NAME.tflite + NAME.json (microWakeWord v2 manifest), DET plot, report.
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Work folder for clips, features and checkpoints (rerun the same command to resume).
    #[arg(long, value_name = "DIR")]
    pub work: Option<PathBuf>,
    /// Python with torch, numpy, soundfile (default: $SOTTO_PYTHON, else python3).
    #[arg(long, value_name = "EXE")]
    pub python: Option<PathBuf>,
    /// The recipe folder (tools/train/wake of the source tree).
    #[arg(long, value_name = "DIR")]
    pub recipe: Option<PathBuf>,
    /// Label of real recordings of the phrase in ../shared/corpus/keywords.tsv (train split
    /// only); default: the phrase in upper case.
    #[arg(long, value_name = "LABEL")]
    pub real_label: Option<String>,
    /// Training steps.
    #[arg(long, value_name = "N", default_value_t = 4000)]
    pub steps: u32,
    /// Windows per training step (the shipped models used 64).
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub batch: u32,
    /// Seed of training alone (default: --seed). Several, comma-separated (e.g. 3,8): one
    /// model per seed, exported together as an ensemble in one .tflite (the mean of their
    /// logits; two small nets fit 64 KB).
    #[arg(long, value_name = "N[,N]", value_delimiter = ',')]
    pub train_seed: Vec<u64>,
    /// Channels of the first convolution.
    #[arg(long, value_name = "N", default_value_t = 24)]
    pub c1: u32,
    /// Channels of the four depthwise-separable blocks.
    #[arg(long, value_name = "LIST", default_value = "32,32,32,32")]
    pub channels: String,
    /// Hard-negative mining every N steps (0: off).
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub mine_every: u32,
    /// A TTS voice ("engine:voice", e.g. flite:awb) left out of training, e.g. to evaluate on
    /// it (repeat for several).
    #[arg(long, value_name = "VOICE")]
    pub exclude_voice: Vec<String>,
    /// Seed of data generation and training.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Folder of evaluation clips with the phrase (never trained on).
    #[arg(long, value_name = "DIR")]
    pub positives: Option<PathBuf>,
    /// Folder of evaluation audio without the phrase (default: an existing folder given here).
    #[arg(long, value_name = "DIR")]
    pub negatives: Option<PathBuf>,
    /// Write the cutoff with the lowest FRR at no more than this many false accepts per hour
    /// on the evaluation audio into the manifest.
    #[arg(long, value_name = "X", default_value_t = 0.5)]
    pub max_fa_per_hour: f64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let slug: String = args
        .phrase
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    anyhow::ensure!(!slug.is_empty(), "empty phrase");
    let recipe = args
        .recipe
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("train/wake"));
    anyhow::ensure!(
        recipe.join("train.py").exists(),
        "{}: no training recipe there (use --recipe)",
        recipe.display()
    );
    let python = args
        .python
        .clone()
        .or_else(|| std::env::var_os("SOTTO_PYTHON").map(PathBuf::from))
        .unwrap_or_else(|| "python3".into());
    let work = match &args.work {
        Some(w) => w.clone(),
        None => dirs_cache().join("sotto-wake").join(&slug),
    };
    std::fs::create_dir_all(&work)?;
    std::fs::create_dir_all(&args.output)?;
    let sotto = std::env::current_exe()?;
    let py = |script: &str| {
        let mut c = std::process::Command::new(&python);
        c.arg(recipe.join(script)).env("OMP_WAIT_POLICY", "PASSIVE");
        c
    };
    let t0 = std::time::Instant::now();
    // 1. Data (skipped when the feature sets exist).
    if !work.join("neg_noise.idx.npy").exists() {
        eprintln!("sotto: [1/4] clips and features -> {}", work.display());
        let label = args
            .real_label
            .clone()
            .unwrap_or_else(|| args.phrase.to_uppercase());
        let st = py("prepare.py")
            .args([
                "--phrase",
                &args.phrase,
                "--real-label",
                &label,
                "--seed",
                &args.seed.to_string(),
            ])
            .arg("--out")
            .arg(&work)
            .arg("--sotto")
            .arg(&sotto)
            .args(
                args.exclude_voice
                    .iter()
                    .flat_map(|v| ["--exclude-voice", v]),
            )
            .status()
            .context("running prepare.py")?;
        anyhow::ensure!(st.success(), "prepare.py failed ({st})");
    }
    // 2. Training with a progress bar fed by train.py's "step<TAB>loss<TAB>seconds" lines, once
    // per training seed.
    let seeds = if args.train_seed.is_empty() {
        vec![args.seed]
    } else {
        args.train_seed.clone()
    };
    let mut ckpts = Vec::new();
    for (i, seed) in seeds.iter().enumerate() {
        // One seed keeps the folder name of earlier versions (so they resume).
        let run_dir = if seeds.len() == 1 {
            work.join("run")
        } else {
            work.join(format!("run_s{seed}"))
        };
        if !run_dir.join("final.pt").exists() {
            train(&args, &py, &work, &run_dir, *seed, i, seeds.len())?;
        }
        // The candidate train.py chose on the validation sets (best.pt), else the last one.
        ckpts.push(
            [run_dir.join("best.pt"), run_dir.join("final.pt")]
                .into_iter()
                .find(|p| p.exists())
                .context("train.py left no checkpoint")?,
        );
    }
    // 3. Export: int8 .tflite written by sotto + manifest.
    eprintln!(
        "sotto: [3/4] int8 export of {}",
        ckpts
            .iter()
            .map(|c| c.display().to_string())
            .collect::<Vec<_>>()
            .join(" + ")
    );
    let st = py("export.py")
        .arg("--ckpt")
        .args(&ckpts)
        .arg("--data")
        .arg(&work)
        .arg("--out")
        .arg(&args.output)
        .args(["--name", &slug, "--wake-word", &title(&args.phrase)])
        .arg("--sotto")
        .arg(&sotto)
        .status()
        .context("running export.py")?;
    anyhow::ensure!(st.success(), "export.py failed ({st})");
    let manifest = args.output.join(format!("{slug}.json"));
    // 4. Evaluation, and the cutoff for --max-fa-per-hour into the manifest.
    match (&args.positives, &args.negatives) {
        (Some(p), Some(n)) => {
            eprintln!("sotto: [4/4] wake-eval");
            let det = args.output.join(format!("{slug}.det.svg"));
            let out = std::process::Command::new(&sotto)
                .arg("wake-eval")
                .arg("-m")
                .arg(&manifest)
                .arg("--positives")
                .arg(p)
                .arg("--negatives")
                .arg(n)
                .args([
                    "--max-fa-per-hour",
                    &args.max_fa_per_hour.to_string(),
                    "--json",
                    "--det",
                ])
                .arg(&det)
                .output()?;
            anyhow::ensure!(
                out.status.success(),
                "wake-eval failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let j: Value = serde_json::from_slice(&out.stdout)?;
            if let Some(c) = j["chosen"]["threshold"].as_f64() {
                let mut m: Value = serde_json::from_str(&std::fs::read_to_string(&manifest)?)?;
                m["micro"]["probability_cutoff"] = serde_json::json!((c * 1e6).round() / 1e6);
                std::fs::write(&manifest, serde_json::to_string_pretty(&m)? + "\n")?;
            }
            std::fs::write(args.output.join(format!("{slug}.eval.json")), &out.stdout)?;
            println!(
                "{}: FRR {:.2}% at {:.2} FA/h (cutoff {}), {} positives, {:.2} h negatives; DET {}",
                manifest.display(),
                100.0 * j["chosen"]["frr"].as_f64().unwrap_or(f64::NAN),
                j["chosen"]["fa_per_hour"].as_f64().unwrap_or(f64::NAN),
                j["chosen"]["threshold"],
                j["positives"],
                j["negative_seconds"].as_f64().unwrap_or(0.0) / 3600.0,
                det.display()
            );
        }
        _ => eprintln!(
            "sotto: [4/4] no --positives/--negatives given: evaluation skipped, cutoff stays 0.9"
        ),
    }
    eprintln!(
        "sotto: done in {:.1} min",
        t0.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}

/// Step 2 of `wake-train` for one seed: train.py into `run_dir`, with a progress bar.
fn train(
    args: &Args,
    py: &dyn Fn(&str) -> std::process::Command,
    work: &Path,
    run_dir: &Path,
    seed: u64,
    i: usize,
    n: usize,
) -> anyhow::Result<()> {
    eprintln!(
        "sotto: [2/4] training{} ({} steps, seed {seed}; resumes from {})",
        if n > 1 {
            format!(" {}/{n}", i + 1)
        } else {
            String::new()
        },
        args.steps,
        run_dir.display()
    );
    let mut child = py("train.py")
        .arg("--data")
        .arg(work)
        .arg("--run")
        .arg(run_dir)
        .args([
            "--steps",
            &args.steps.to_string(),
            "--batch",
            &args.batch.to_string(),
            "--seed",
            &seed.to_string(),
            "--mine-every",
            &args.mine_every.to_string(),
            "--c1",
            &args.c1.to_string(),
            "--channels",
            &args.channels,
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("running train.py")?;
    let bar = indicatif::ProgressBar::new(u64::from(args.steps));
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} steps, loss {msg} ({elapsed}, eta {eta})",
        )
        .expect("valid template"),
    );
    let stdout = child.stdout.take().expect("piped");
    for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
        let line = line?;
        let f: Vec<&str> = line.split('\t').collect();
        if let (Some(Ok(step)), Some(loss)) = (f.first().map(|s| s.parse::<u64>()), f.get(1)) {
            bar.set_position(step);
            bar.set_message(loss.to_string());
            if bar.is_hidden() && step % 500 == 0 {
                // No terminal (a log file): a line now and then instead of the bar.
                eprintln!("sotto: step {step}/{}, loss {loss}", args.steps);
            }
        } else if let Some(r) = line.strip_prefix("resumed at step ") {
            bar.set_position(r.parse().unwrap_or(0));
        } else if line.starts_with("val ") || line.starts_with("mined ") {
            // Validation of the snapshots and hard-negative mining, as they happen (a
            // hidden bar prints nothing, so those go to stderr directly).
            if bar.is_hidden() {
                eprintln!("{line}");
            } else {
                bar.println(line);
            }
        }
    }
    let st = child.wait()?;
    bar.finish_and_clear();
    anyhow::ensure!(st.success(), "train.py failed ({st})");
    Ok(())
}

fn title(p: &str) -> String {
    p.split_whitespace()
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn dirs_cache() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"))
}

/// Hidden helpers of the training recipe.
#[derive(clap::Args, Debug)]
pub struct ToolArgs {
    #[command(subcommand)]
    pub cmd: Tool,
}

/// `sotto wake-tool` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Tool {
    /// Frontend features of a stream of clips. stdin: per clip a little-endian `u32` sample
    /// count then that many `i16` samples (16 kHz mono). stdout: per clip a `u32` frame count
    /// then `frames × 40` little-endian `u16` raw features. Each clip starts a fresh frontend
    /// (as `sotto wake` does per file).
    Features,
    /// Write a `.tflite` from a graph description (JSON from `tools/train/wake/export.py`:
    /// operator codes, hex buffers, subgraphs of tensors and operators) and check that sotto
    /// loads it.
    Export {
        /// The graph description.
        #[arg(value_name = "GRAPH.json")]
        graph: PathBuf,
        /// Output .tflite.
        #[arg(short, long, value_name = "OUT.tflite")]
        output: PathBuf,
    },
}

pub fn run_tool(args: ToolArgs) -> anyhow::Result<()> {
    match args.cmd {
        Tool::Features => features_stream(),
        Tool::Export { graph, output } => export(&graph, &output),
    }
}

fn features_stream() -> anyhow::Result<()> {
    let mut fe = MicroFrontend::new(MicroFrontendConfig::default())?;
    let mut input = BufReader::with_capacity(1 << 20, std::io::stdin().lock());
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let mut len = [0u8; 4];
    let mut bytes = Vec::new();
    let mut samples: Vec<i16> = Vec::new();
    let mut raw: Vec<u16> = Vec::new();
    loop {
        match input.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e).context("reading clip header"),
        }
        let n = u32::from_le_bytes(len) as usize;
        bytes.resize(2 * n, 0);
        input
            .read_exact(&mut bytes)
            .context("reading clip samples")?;
        samples.clear();
        samples.extend(
            bytes
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]])),
        );
        fe.reset();
        raw.clear();
        let frames = fe.process(&samples, &mut raw);
        out.write_all(&(frames as u32).to_le_bytes())?;
        let mut buf = Vec::with_capacity(raw.len() * 2);
        for v in &raw {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        out.write_all(&buf)?;
        out.flush()?;
    }
    Ok(())
}

fn export(graph: &Path, output: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(graph)
        .with_context(|| format!("{}: cannot read", graph.display()))?;
    let v: Value = serde_json::from_str(&text).context("graph description is not JSON")?;
    let desc = model_desc(&v).context("bad graph description")?;
    let bytes = write(&desc)?;
    sotto_micro::tflite::Model::from_bytes(&bytes)
        .map_err(|e| anyhow::anyhow!("sotto cannot load the written model: {e}"))?;
    std::fs::write(output, &bytes)
        .with_context(|| format!("{}: cannot write", output.display()))?;
    let arena = sotto_micro::tflite::tflm_arena_estimate(&bytes)
        .map_err(|e| anyhow::anyhow!("arena estimate: {e}"))?;
    eprintln!(
        "{}: {} bytes, TFLite-Micro arena estimate {} bytes",
        output.display(),
        bytes.len(),
        arena.total()
    );
    // For export.py: the manifest's tensor_arena_size.
    println!(
        "{}",
        serde_json::json!({"bytes": bytes.len(), "tensor_arena_size": arena.total(),
            "activations": arena.activations, "variables": arena.variables,
            "bookkeeping": arena.bookkeeping})
    );
    Ok(())
}

fn field<'a>(v: &'a Value, k: &str) -> anyhow::Result<&'a Value> {
    v.get(k)
        .ok_or_else(|| anyhow::anyhow!("missing field {k:?}"))
}

fn int(v: &Value, k: &str) -> anyhow::Result<i64> {
    field(v, k)?
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("{k:?} is not an integer"))
}

fn ints(v: &Value, k: &str) -> anyhow::Result<Vec<i32>> {
    field(v, k)?
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("{k:?} is not an array"))?
        .iter()
        .map(|x| {
            x.as_i64()
                .map(|x| x as i32)
                .ok_or_else(|| anyhow::anyhow!("{k:?}: not integers"))
        })
        .collect()
}

fn string(v: &Value, k: &str) -> anyhow::Result<String> {
    Ok(field(v, k)?
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("{k:?} is not a string"))?
        .to_string())
}

fn hex(s: &str) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(s.len().is_multiple_of(2), "odd-length hex buffer");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).context("bad hex buffer"))
        .collect()
}

fn options(o: &Value) -> anyhow::Result<Options> {
    let i = |k: &str| int(o, k).map(|x| x as i32);
    let i8_ = |k: &str| int(o, k).map(|x| x as i8);
    Ok(match string(o, "type")?.as_str() {
        "None" => Options::None,
        "Conv2D" => Options::Conv2D {
            padding: i8_("padding")?,
            stride_w: i("stride_w")?,
            stride_h: i("stride_h")?,
            activation: i8_("activation")?,
            dilation_w: i("dilation_w")?,
            dilation_h: i("dilation_h")?,
        },
        "DepthwiseConv2D" => Options::DepthwiseConv2D {
            padding: i8_("padding")?,
            stride_w: i("stride_w")?,
            stride_h: i("stride_h")?,
            depth_multiplier: i("depth_multiplier")?,
            activation: i8_("activation")?,
            dilation_w: i("dilation_w")?,
            dilation_h: i("dilation_h")?,
        },
        "FullyConnected" => Options::FullyConnected {
            activation: i8_("activation")?,
            keep_num_dims: field(o, "keep_num_dims")?.as_bool().unwrap_or(false),
        },
        "Concatenation" => Options::Concatenation {
            axis: i("axis")?,
            activation: i8_("activation")?,
        },
        "Add" => Options::Add {
            activation: i8_("activation")?,
        },
        "Mul" => Options::Mul {
            activation: i8_("activation")?,
        },
        "Reshape" => Options::Reshape {
            new_shape: o
                .get("new_shape")
                .map(|_| ints(o, "new_shape"))
                .transpose()?,
        },
        "StridedSlice" => Options::StridedSlice {
            begin_mask: i("begin_mask")?,
            end_mask: i("end_mask")?,
            ellipsis_mask: i("ellipsis_mask")?,
            new_axis_mask: i("new_axis_mask")?,
            shrink_axis_mask: i("shrink_axis_mask")?,
        },
        "SplitV" => Options::SplitV {
            num_splits: i("num_splits")?,
        },
        "CallOnce" => Options::CallOnce {
            init_subgraph_index: i("init_subgraph_index")?,
        },
        "VarHandle" => Options::VarHandle {
            container: string(o, "container")?,
            shared_name: string(o, "shared_name")?,
        },
        t => anyhow::bail!("unknown options type {t:?}"),
    })
}

fn model_desc(v: &Value) -> anyhow::Result<ModelDesc> {
    let arr = |v: &'_ Value, k: &str| -> anyhow::Result<Vec<Value>> {
        Ok(field(v, k)?
            .as_array()
            .ok_or_else(|| anyhow::anyhow!("{k:?} is not an array"))?
            .clone())
    };
    let operator_codes = arr(v, "operator_codes")?
        .iter()
        .map(|c| {
            let c = c
                .as_array()
                .filter(|c| c.len() == 2)
                .context("operator code: [code, version]")?;
            Ok(OpCode {
                builtin_code: c[0].as_i64().context("operator code")? as i32,
                version: c[1].as_i64().context("operator version")? as i32,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let buffers = arr(v, "buffers")?
        .iter()
        .map(|b| hex(b.as_str().context("buffer: hex string")?))
        .collect::<anyhow::Result<_>>()?;
    let mut subgraphs = Vec::new();
    for g in arr(v, "subgraphs")? {
        let mut tensors = Vec::new();
        for t in arr(&g, "tensors")? {
            let quant = match t.get("quant") {
                None | Some(Value::Null) => None,
                Some(q) => Some(Quant {
                    scale: field(q, "scale")?
                        .as_array()
                        .context("scale")?
                        .iter()
                        .map(|x| x.as_f64().map(|x| x as f32).context("scale"))
                        .collect::<anyhow::Result<_>>()?,
                    zero_point: ints(q, "zero_point")?.into_iter().map(i64::from).collect(),
                    quantized_dimension: int(q, "quantized_dimension")? as i32,
                }),
            };
            tensors.push(TensorDesc {
                name: string(&t, "name")?,
                shape: ints(&t, "shape")?,
                dtype: int(&t, "dtype")? as i8,
                buffer: int(&t, "buffer")? as u32,
                quant,
            });
        }
        let operators = arr(&g, "operators")?
            .iter()
            .map(|o| {
                Ok(OperatorDesc {
                    opcode_index: int(o, "opcode_index")? as u32,
                    inputs: ints(o, "inputs")?,
                    outputs: ints(o, "outputs")?,
                    options: options(field(o, "options")?)?,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        subgraphs.push(SubGraphDesc {
            name: string(&g, "name")?,
            tensors,
            inputs: ints(&g, "inputs")?,
            outputs: ints(&g, "outputs")?,
            operators,
        });
    }
    Ok(ModelDesc {
        description: string(v, "description")?,
        operator_codes,
        subgraphs,
        buffers,
    })
}
