//! Transcribe a WAV file with the default model, streaming it in 100 ms chunks and printing
//! the partial result as it grows, then the final transcript with word timings.
//!
//! ```sh
//! cargo run --release --example transcribe -- examples/audio/fox.wav
//! ```
//! The model is `$SOTTO_MODEL` or the shipped one in `models/zoo` (see
//! [`Recognizer::default_model`]).

use anyhow::Context;
use sotto::asr::recognizer::{Recognizer, RecognizerConfig};

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "examples/audio/fox.wav".into());
    let mut wav = hound::WavReader::open(&path).with_context(|| format!("cannot open {path}"))?;
    let spec = wav.spec();
    // Mono f32 in [-1, 1): average the channels of integer or float samples.
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            wav.samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()?
        }
        hound::SampleFormat::Float => wav.samples::<f32>().collect::<Result<_, _>>()?,
    };
    let channels = spec.channels as usize;
    let mono: Vec<f32> = samples
        .chunks(channels)
        .map(|c| c.iter().sum::<f32>() / channels as f32)
        .collect();

    let recognizer = Recognizer::new(RecognizerConfig::new(Recognizer::default_model()?))?;
    let mut stream = recognizer.stream();
    for chunk in mono.chunks(spec.sample_rate as usize / 10) {
        stream.accept_waveform(spec.sample_rate, chunk)?;
        stream.decode()?;
        eprint!("\r\x1b[2K{}", stream.partial());
    }
    let transcript = stream.finish()?;
    eprintln!("\r\x1b[2K");
    println!("{}", transcript.text);
    for w in &transcript.words {
        println!(
            "{:>7.2} {:>7.2}  {:.2}  {}",
            w.start, w.end, w.confidence, w.word
        );
    }
    Ok(())
}
