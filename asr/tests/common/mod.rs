//! Helpers shared by the recognizer test binaries (`mod common;`): feeding audio through a
//! stream in one piece or in chunks.

use sotto_asr::recognizer::{Recognizer, Transcript};

/// The transcript of 16 kHz `audio` fed in one piece.
pub fn one_shot(rec: &Recognizer, audio: &[f32]) -> Transcript {
    one_shot_at(rec, 16000, audio)
}

/// The transcript of `audio` at `rate` fed in one piece.
pub fn one_shot_at(rec: &Recognizer, rate: u32, audio: &[f32]) -> Transcript {
    let mut s = rec.stream();
    s.accept_waveform(rate, audio).unwrap();
    s.finish().unwrap()
}

/// The transcript of `audio` fed in chunks of the `cuts` sizes (cycled), with a `decode` and a
/// `partial` after each chunk if `decode_each`.
pub fn chunked(
    rec: &Recognizer,
    rate: u32,
    audio: &[f32],
    cuts: &[usize],
    decode_each: bool,
) -> Transcript {
    let mut s = rec.stream();
    let mut rest = audio;
    for c in cuts.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (a, b) = rest.split_at((*c).min(rest.len()));
        s.accept_waveform(rate, a).unwrap();
        if decode_each {
            s.decode().unwrap();
            let _ = s.partial();
        }
        rest = b;
    }
    s.finish().unwrap()
}
