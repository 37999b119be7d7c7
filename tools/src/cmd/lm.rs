//! `sotto lm`: word n-gram language models.
//!
//! * `sotto lm build TEXT... -o LM.bin [--order N] [--prune N N ...] [--arpa OUT.arpa]
//!   [--vocab FILE]`: interpolated modified Kneser-Ney from text (one sentence per line,
//!   whitespace-tokenized, tokens as they are; `-` reads stdin), written in the binary form
//!   (and optionally as ARPA).
//! * `sotto lm perplexity --lm LM TEXT...`: SRILM-convention perplexity (`</s>` scored, OOV
//!   words skipped); the last line is `perplexity <x> (<words> words, <oov> OOV, <sentences>
//!   sentences)`.
//! * `sotto lm info LM`: order, n-gram counts, vocabulary, size.
//! * `sotto lm convert IN -o OUT [--arpa] [--prune-entropy THETA]`: ARPA ↔ binary, optionally
//!   entropy-pruned on the way (as SRILM `ngram -lm IN -prune THETA -write-lm OUT`).
//! * `sotto lm mix A B… --weights WA,WB… -o OUT [--arpa] [--prune-entropy THETA]`: static
//!   interpolation into one backoff model (as SRILM `ngram -lm A -mix-lm B -lambda WA`).
//!
//! LM files may be binary or ARPA (recognized by content). Progress goes to stderr.

use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Read, Write as _};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use sotto_decoder::ngram::estimate::{EstimateOptions, Estimator, OrderStats};
use sotto_decoder::ngram::{perplexity, Perplexity};
use sotto_decoder::NgramLm;

use super::info::{human_bytes, print_out};
use super::with_status;

/// Arguments of `sotto lm`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: LmCommand,
}

/// `sotto lm` subcommands.
#[derive(clap::Subcommand)]
pub enum LmCommand {
    /// Estimate an interpolated modified Kneser-Ney n-gram model from text.
    Build(BuildArgs),
    /// Perplexity of text under a model (SRILM convention).
    Perplexity(PerplexityArgs),
    /// Describe a model: order, n-gram counts, vocabulary, size.
    Info(InfoArgs),
    /// Convert an ARPA model to the binary form (or back with `--arpa`), optionally pruned.
    Convert(ConvertArgs),
    /// Interpolate models into one backoff model (a generic LM adapted with in-domain text).
    Mix(MixArgs),
}

/// Arguments of `sotto lm mix`.
#[derive(clap::Args)]
pub struct MixArgs {
    /// Models to mix (ARPA or binary), two or more.
    #[arg(required = true, num_args = 2.., value_name = "LM")]
    pub models: Vec<PathBuf>,
    /// One weight per model, positive, summing to 1 (`--weights 0.8,0.2`).
    #[arg(long, required = true, value_delimiter = ',', num_args = 1.., value_name = "W")]
    pub weights: Vec<f64>,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Where `convert` and `mix` write their model, and its pruning on the way.
#[derive(clap::Args)]
pub struct OutputArgs {
    /// Output file.
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// Write ARPA text instead of the binary form.
    #[arg(long)]
    pub arpa: bool,
    /// Stolcke entropy pruning on the way (as SRILM `ngram -lm IN -prune THETA`): drop n-grams
    /// whose removal raises perplexity by less than THETA (relative, e.g. 1e-8) and renormalize
    /// the backoffs; for fitting a large model into a size budget. 0 = off.
    #[arg(long, value_name = "THETA", default_value_t = 0.0)]
    pub prune_entropy: f64,
}

/// Arguments of `sotto lm convert`.
#[derive(clap::Args)]
pub struct ConvertArgs {
    /// Input model (ARPA or binary).
    #[arg(value_name = "IN")]
    pub input: PathBuf,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Arguments of `sotto lm build`.
#[derive(clap::Args)]
pub struct BuildArgs {
    /// Training text: one sentence per line, whitespace-tokenized, tokens taken as they are
    /// (normalize case and punctuation beforehand). `-` reads stdin.
    #[arg(required = true, value_name = "TEXT")]
    pub text: Vec<PathBuf>,
    /// Output model (binary form, memory-mapped when loaded).
    #[arg(short, long, value_name = "LM.bin")]
    pub output: PathBuf,
    /// Order (1-5).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=5))]
    pub order: u32,
    /// Count pruning thresholds per order, unigrams first (must be 0): n-grams with adjusted
    /// count <= N are dropped; the last value repeats for higher orders (`--prune 0 0 1`).
    #[arg(long, num_args = 1.., value_delimiter = ',', value_name = "N")]
    pub prune: Vec<u64>,
    /// Stolcke entropy pruning after count pruning (as SRILM `ngram -prune THETA`): drop n-grams
    /// whose removal raises perplexity by less than THETA (relative, e.g. 1e-8); 0 = off.
    #[arg(long, value_name = "THETA", default_value_t = 0.0)]
    pub prune_entropy: f64,
    /// Also write the model as ARPA text.
    #[arg(long, value_name = "OUT.arpa")]
    pub arpa: Option<PathBuf>,
    /// Fixed vocabulary (one word per line, or whitespace-separated); other words become <unk>.
    #[arg(long, value_name = "FILE")]
    pub vocab: Option<PathBuf>,
    /// Print a JSON report instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `sotto lm perplexity`.
#[derive(clap::Args)]
pub struct PerplexityArgs {
    /// Model (binary or ARPA).
    #[arg(long, value_name = "LM")]
    pub lm: PathBuf,
    /// Text, one sentence per line (`-` reads stdin).
    #[arg(required = true, value_name = "TEXT")]
    pub text: Vec<PathBuf>,
    /// Print a JSON report instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `sotto lm info`.
#[derive(clap::Args)]
pub struct InfoArgs {
    /// Model (binary or ARPA).
    #[arg(value_name = "LM")]
    pub lm: PathBuf,
    /// Print a JSON report instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        LmCommand::Build(a) => build(a),
        LmCommand::Perplexity(a) => ppl(a),
        LmCommand::Info(a) => info(a),
        LmCommand::Convert(a) => convert(a),
        LmCommand::Mix(a) => mix(a),
    }
}

/// Opens a text file, or stdin for `-`.
fn open_text(p: &Path) -> anyhow::Result<Box<dyn BufRead>> {
    if p.as_os_str() == "-" {
        return Ok(Box::new(std::io::stdin().lock()));
    }
    let f = std::fs::File::open(p).map_err(|e| with_status(2, format!("{}: {e}", p.display())))?;
    Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, f)))
}

fn load_lm(p: &Path) -> anyhow::Result<NgramLm> {
    NgramLm::load(p).map_err(|e| with_status(2, e))
}

fn file_len(p: &Path) -> Option<u64> {
    std::fs::metadata(p).ok().map(|m| m.len())
}

/// Progress on stderr: redrawn in place on a terminal, a line per step otherwise.
struct Progress {
    tty: bool,
    start: Instant,
}

impl Progress {
    fn new() -> Self {
        Progress {
            tty: std::io::stderr().is_terminal(),
            start: Instant::now(),
        }
    }
    fn words(&self, n: u64) {
        if self.tty {
            eprint!("\rlm build: read {:.1}M words", n as f64 / 1e6);
            let _ = std::io::stderr().flush();
        } else {
            eprintln!("lm build: read {:.1}M words", n as f64 / 1e6);
        }
    }
    fn step(&self, msg: &str) {
        if self.tty {
            eprint!("\r\x1b[K");
        }
        eprintln!(
            "lm build: {msg} ({:.1} s)",
            self.start.elapsed().as_secs_f64()
        );
    }
}

/// The `--json` report of `lm build`.
#[derive(Serialize)]
struct BuildReport {
    output: String,
    order: usize,
    words: u64,
    sentences: u64,
    unk_tokens: u64,
    vocab: usize,
    ngrams: Vec<usize>,
    orders: Vec<OrderStats>,
    binary_bytes: u64,
    arpa: Option<String>,
    arpa_bytes: Option<u64>,
    seconds: f64,
}

fn build(a: BuildArgs) -> anyhow::Result<()> {
    let order = a.order as usize;
    let mut opts = EstimateOptions::new(order);
    opts.prune = a.prune.clone();
    opts.entropy_prune = a.prune_entropy;
    if let Some(v) = &a.vocab {
        let text = std::fs::read_to_string(v)
            .map_err(|e| with_status(2, format!("{}: {e}", v.display())))?;
        opts.vocab = Some(text.split_whitespace().map(String::from).collect());
    }
    let prog = Progress::new();
    let mut est = Estimator::new(opts).map_err(|e| with_status(2, e))?;
    let mut next_report = 1_000_000u64;
    for p in &a.text {
        let name = p.display().to_string();
        let mut r = open_text(p)?;
        let mut buf = Vec::new();
        let mut line = 0usize;
        loop {
            buf.clear();
            let n = r
                .read_until(b'\n', &mut buf)
                .map_err(|e| with_status(2, format!("{name}: {e}")))?;
            if n == 0 {
                break;
            }
            line += 1;
            let s = std::str::from_utf8(&buf)
                .map_err(|_| with_status(2, format!("{name}:{line}: not UTF-8")))?;
            est.add_sentence(s)?;
            if est.tokens() >= next_report {
                prog.words(est.tokens());
                next_report += 1_000_000;
            }
        }
    }
    prog.step(&format!("counted {} words", est.tokens()));
    let e = est
        .finish_with(&mut |m| prog.step(m))
        .map_err(|e| with_status(2, e))?;
    e.lm.write_binary(&a.output)
        .with_context(|| format!("writing {}", a.output.display()))?;
    let mut arpa_bytes = None;
    if let Some(p) = &a.arpa {
        prog.step("writing ARPA");
        let f = std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?;
        e.lm.write_arpa(f)?;
        arpa_bytes = file_len(p);
    }
    let seconds = prog.start.elapsed().as_secs_f64();
    prog.step("done");
    let r = BuildReport {
        output: a.output.display().to_string(),
        order,
        words: e.tokens,
        sentences: e.sentences,
        unk_tokens: e.unk_tokens,
        vocab: e.lm.vocab_size(),
        ngrams: e.lm.num_ngrams(),
        orders: e.stats.clone(),
        binary_bytes: e.lm.size_bytes() as u64,
        arpa: a.arpa.as_ref().map(|p| p.display().to_string()),
        arpa_bytes,
        seconds,
    };
    if a.json {
        return print_out(&format!("{}\n", serde_json::to_string_pretty(&r)?));
    }
    let mut s = String::new();
    writeln!(
        s,
        "text      {} words, {} sentences{}",
        r.words,
        r.sentences,
        if r.unk_tokens > 0 {
            format!(", {} mapped to <unk>", r.unk_tokens)
        } else {
            String::new()
        }
    )?;
    for (k, st) in r.orders.iter().enumerate() {
        writeln!(
            s,
            "{}-grams   {:>10} kept of {:>10}  D = {:.4} {:.4} {:.4}{}",
            k + 1,
            st.kept,
            st.ngrams,
            st.discounts[0],
            st.discounts[1],
            st.discounts[2],
            if st.fallback { " (fallback)" } else { "" }
        )?;
    }
    write!(
        s,
        "wrote     {} ({})",
        r.output,
        human_bytes(r.binary_bytes as usize)
    )?;
    if let (Some(p), Some(b)) = (&r.arpa, r.arpa_bytes) {
        write!(s, ", {p} ({})", human_bytes(b as usize))?;
    }
    writeln!(s, " in {:.1} s", r.seconds)?;
    print_out(&s)
}

fn ppl_line(p: &Perplexity) -> String {
    format!(
        "perplexity {:.4} ({} words, {} OOV, {} sentences)",
        p.ppl, p.words, p.oov, p.sentences
    )
}

/// The `--json` report of `lm perplexity`.
#[derive(Serialize)]
struct PplReport {
    lm: String,
    files: Vec<(String, Perplexity)>,
    total: Perplexity,
}

fn ppl(a: PerplexityArgs) -> anyhow::Result<()> {
    let lm = load_lm(&a.lm)?;
    let mut total = Perplexity::default();
    let mut files = Vec::new();
    for p in &a.text {
        let name = p.display().to_string();
        let mut r = open_text(p)?;
        let mut text = String::new();
        r.read_to_string(&mut text)
            .map_err(|e| with_status(2, format!("{name}: {e}")))?;
        let one = perplexity(&lm, text.lines());
        total.merge(&one);
        files.push((name, one));
    }
    if a.json {
        let r = PplReport {
            lm: a.lm.display().to_string(),
            files,
            total,
        };
        return print_out(&format!("{}\n", serde_json::to_string_pretty(&r)?));
    }
    let mut s = String::new();
    if files.len() > 1 {
        for (name, p) in &files {
            writeln!(s, "{name}: {}", ppl_line(p))?;
        }
    }
    writeln!(s, "{}", ppl_line(&total))?;
    print_out(&s)
}

/// The `--json` report of `lm info`.
#[derive(Serialize)]
struct InfoReport {
    file: String,
    file_bytes: Option<u64>,
    format: &'static str,
    order: usize,
    ngrams: Vec<usize>,
    vocab: usize,
    has_unk: bool,
    binary_bytes: usize,
}

fn convert(a: ConvertArgs) -> anyhow::Result<()> {
    let lm = load_lm(&a.input)?;
    write_lm(lm, &a.out)
}

fn mix(a: MixArgs) -> anyhow::Result<()> {
    let lms = a
        .models
        .iter()
        .map(|p| load_lm(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let refs: Vec<&NgramLm> = lms.iter().collect();
    let t = Instant::now();
    let lm = NgramLm::mix(&refs, &a.weights, &a.out.output.display().to_string())
        .map_err(|e| with_status(2, e))?;
    for (p, m) in a.models.iter().zip(&lms) {
        eprintln!("{}: n-grams {}", p.display(), counts(&m.num_ngrams()));
    }
    eprintln!(
        "mixed with weights {:?} in {:.1} s: n-grams {}",
        a.weights,
        t.elapsed().as_secs_f64(),
        counts(&lm.num_ngrams())
    );
    write_lm(lm, &a.out)
}

/// Entropy-prunes at `theta` (0 = unchanged), reporting the counts.
fn prune(lm: NgramLm, theta: f64) -> anyhow::Result<NgramLm> {
    if theta == 0.0 {
        return Ok(lm);
    }
    let before = lm.num_ngrams();
    let pruned = lm.prune_entropy(theta).map_err(|e| with_status(2, e))?;
    eprintln!(
        "pruned at {theta}: n-grams {} -> {}",
        counts(&before),
        counts(&pruned.num_ngrams())
    );
    Ok(pruned)
}

/// N-gram counts per order, `a / b / c`.
fn counts(c: &[usize]) -> String {
    c.iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(" / ")
}

/// Prunes as asked, then writes the binary form or ARPA text.
fn write_lm(lm: NgramLm, o: &OutputArgs) -> anyhow::Result<()> {
    let lm = prune(lm, o.prune_entropy)?;
    let out = &o.output;
    if o.arpa {
        let f = std::fs::File::create(out)
            .with_context(|| format!("{}: cannot create", out.display()))?;
        lm.write_arpa(std::io::BufWriter::new(f))
            .with_context(|| format!("{}: cannot write", out.display()))?;
    } else {
        lm.write_binary(out)
            .with_context(|| format!("{}: cannot write", out.display()))?;
    }
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    eprintln!("wrote {} ({})", out.display(), human_bytes(size as usize));
    Ok(())
}

fn info(a: InfoArgs) -> anyhow::Result<()> {
    let t = Instant::now();
    let lm = load_lm(&a.lm)?;
    let load_s = t.elapsed().as_secs_f64();
    let r = InfoReport {
        file: a.lm.display().to_string(),
        file_bytes: file_len(&a.lm),
        format: if lm.is_mapped() { "binary" } else { "ARPA" },
        order: lm.order(),
        ngrams: lm.num_ngrams(),
        vocab: lm.vocab_size(),
        has_unk: lm.unk_id().is_some(),
        binary_bytes: lm.size_bytes(),
    };
    if a.json {
        return print_out(&format!("{}\n", serde_json::to_string_pretty(&r)?));
    }
    let mut s = String::new();
    writeln!(
        s,
        "file      {} ({}, {}; loaded in {:.3} s)",
        r.file,
        r.format,
        r.file_bytes.map_or("?".into(), |b| human_bytes(b as usize)),
        load_s
    )?;
    writeln!(s, "order     {}", r.order)?;
    writeln!(
        s,
        "vocab     {} words{}",
        r.vocab,
        if r.has_unk { " (with <unk>)" } else { "" }
    )?;
    for (k, n) in r.ngrams.iter().enumerate() {
        writeln!(s, "{}-grams   {n}", k + 1)?;
    }
    writeln!(s, "binary    {}", human_bytes(r.binary_bytes))?;
    print_out(&s)
}
