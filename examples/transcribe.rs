//! Transcribe an audio file with the default model, streaming it in 100 ms chunks and printing
//! the partial result as it grows, then the final transcript with word timings.
//!
//! ```sh
//! cargo run --release --example transcribe -- examples/audio/fox.wav
//! ```
//! The model is `$SOTTO_MODEL` or the shipped one in `models/zoo` (see
//! [`Recognizer::default_model`]).

use sotto::asr::recognizer::{Recognizer, RecognizerConfig};
use sotto::frontend::audio::read_audio;

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "examples/audio/fox.wav".into());
    // Any supported format and rate; the stream resamples to 16 kHz itself.
    let audio = read_audio(&path)?;

    let recognizer = Recognizer::new(RecognizerConfig::new(Recognizer::default_model()?))?;
    let mut stream = recognizer.stream();
    for chunk in audio.samples.chunks(audio.sample_rate as usize / 10) {
        stream.accept_waveform(audio.sample_rate, chunk)?;
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
