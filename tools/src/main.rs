//! `sotto`: the command-line tool. Each subcommand lives in `cmd/<name>.rs`.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod cmd;
mod source;

/// Offline, streaming speech recognition and wake words.
#[derive(Parser)]
#[command(name = "sotto", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compute features (Kaldi fbank or TFLite-Micro frontend) of an audio file into a .npy.
    Features(cmd::features::Args),
    /// Describe a model file: architecture, parameters, sizes, memory per stream.
    Info(cmd::info::Args),
    /// Quantize an f32 model file to int8 weights.
    Quantize(cmd::quantize::Args),
    /// Detect wake words in files or from the microphone.
    Wake(cmd::wake::Args),
    /// Evaluate wake-word models: false rejects, false accepts per hour, DET curve.
    WakeEval(cmd::wake_eval::Args),
    /// Transcribe audio files (optionally scoring word error rate against references).
    Transcribe(cmd::transcribe::Args),
    /// Live captions from the microphone (or a file played at real-time pace).
    Caption(cmd::caption::Args),
    /// Word n-gram language models: build from text, perplexity, info.
    Lm(cmd::lm::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Features(a) => cmd::features::run(a),
        Command::Info(a) => cmd::info::run(a),
        Command::Quantize(a) => cmd::quantize::run(a),
        Command::Wake(a) => cmd::wake::run(a),
        Command::WakeEval(a) => cmd::wake_eval::run(a),
        Command::Transcribe(a) => cmd::transcribe::run(a),
        Command::Caption(a) => cmd::caption::run(a),
        Command::Lm(a) => cmd::lm::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The exit-status marker is not part of the message.
            let msg: Vec<String> = e
                .chain()
                .filter(|c| !c.is::<cmd::ExitStatus>())
                .map(|c| c.to_string())
                .collect();
            eprintln!("sotto: error: {}", msg.join(": "));
            let code = e.downcast_ref::<cmd::ExitStatus>().map_or(1, |s| s.0);
            ExitCode::from(code)
        }
    }
}
