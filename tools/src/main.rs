//! `sotto`: the command-line tool. Each subcommand lives in `cmd/<name>.rs`.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod cmd;
mod common;
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
    /// Train a wake-word model for a phrase: TTS + real clips, int8 .tflite + manifest, report.
    WakeTrain(cmd::wake_train::Args),
    /// Helpers of the wake-word training recipe (features of clip streams, .tflite export).
    #[command(hide = true)]
    WakeTool(cmd::wake_train::ToolArgs),
    /// Transcribe audio files (optionally scoring word error rate against references).
    Transcribe(cmd::transcribe::Args),
    /// Live captions from the microphone, or from a file (as fast as it decodes; --realtime
    /// paces it).
    Caption(cmd::caption::Args),
    /// Voice activity detection (Silero VAD): speech segments or per-window probabilities.
    Vad(cmd::vad::Args),
    /// Word n-gram language models: build from text, perplexity, info.
    Lm(cmd::lm::Args),
}

fn main() -> ExitCode {
    common::restore_sigpipe();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Features(a) => cmd::features::run(a),
        Command::Info(a) => cmd::info::run(a),
        Command::Quantize(a) => cmd::quantize::run(a),
        Command::Wake(a) => cmd::wake::run(a),
        Command::WakeEval(a) => cmd::wake_eval::run(a),
        Command::WakeTrain(a) => cmd::wake_train::run(a),
        Command::WakeTool(a) => cmd::wake_train::run_tool(a),
        Command::Transcribe(a) => cmd::transcribe::run(a),
        Command::Caption(a) => cmd::caption::run(a),
        Command::Lm(a) => cmd::lm::run(a),
        Command::Vad(a) => cmd::vad::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // Causes said once, the exit-status marker left out (common::report).
        Err(e) => common::report(&e),
    }
}
