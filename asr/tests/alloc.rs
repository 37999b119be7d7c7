//! Steady-state beam search allocates nothing: after warm-up, feeding more audio through
//! `Stream::accept_waveform` + `Stream::decode` (fbank, encoder, joiner-projection, beam-4
//! modified beam search over the shipped int8 model, no LM) makes no heap allocation, however
//! many frames are fed. A separate test binary because it installs a counting global allocator.
//!
//! Speech makes the hypotheses emit tokens, whose history grows with the transcript; the
//! history of a finished segment is recycled, so the test decodes the same utterance as
//! consecutive segments (`finish_segment`, not counted). The segments differ (the encoder state
//! carries over), so a pool grows now and then when a segment's beam history exceeds every one
//! before it: amortized growth in an occasional segment, not per-frame allocation. Measured:
//! 106, 4, 2, 0, 0, 0, 8, 0, then 0, 1, 0, 0, 0, 0, 0, 0 (epoch-5 model) and 118, 0, 0, 0, 0, 0,
//! 4, 0, then 0, 10, 0, 0, 0, 0, 0, 0 (the model shipped since 2026-12-03 13:10); the model of
//! 2026-12-05 05:50 grows for longer: 165, 4, 2, 4, 3, 0, 1, 0, 0, 1, 3, 5, 0, 0, 0, 0, then 0,
//! 4, 0, 0, 0, 0, 0, 0 (its 16th segment was still in the warm-up of 16). So the test decodes 24
//! segments (about 42 encoder frames each, all emitting tokens) and requires, of the last 8, at
//! least 6 with no allocation at all and none with as many allocations as it has encoder frames:
//! an allocation per frame, per token or per word would show in every segment.

use sotto_asr::recognizer::{Recognizer, RecognizerConfig};
use sotto_frontend::audio::AudioReader;
use sotto_testutil::CountingAlloc;
use std::path::Path;

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc::all_threads();

#[test]
fn beam4_decoding_allocates_nothing_per_frame_after_warmup() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let model = root.join("models/zoo/sotto-en-int8.safetensors");
    let rec = Recognizer::new(RecognizerConfig {
        beam: 4,
        no_lm: true,
        use_companions: false,
        ..RecognizerConfig::new(model)
    })
    .unwrap();
    let audio = AudioReader::open(root.join("examples/audio/fox.wav"))
        .unwrap()
        .read_to_end()
        .unwrap();
    assert_eq!(audio.sample_rate, 16000);
    let mut stream = rec.stream();
    let mut counts = Vec::new();
    let mut texts = Vec::new();
    for _ in 0..24 {
        let mut n = 0;
        // 100 ms chunks: 10 fbank frames, an encoder frame every 80 ms.
        for chunk in audio.samples.chunks(1600) {
            let before = GLOBAL.allocations();
            stream.accept_waveform(16000, chunk).unwrap();
            stream.decode().unwrap();
            n += GLOBAL.allocations() - before;
        }
        counts.push(n);
        texts.push(stream.finish_segment().text);
    }
    eprintln!("allocations per utterance: {counts:?}; transcripts: {texts:?}");
    // Tokens were emitted, so the search did real work (not only blanks).
    assert!(texts.iter().all(|t| !t.is_empty()), "{texts:?}");
    let steady = &counts[16..];
    let quiet = steady.iter().filter(|&&n| n == 0).count();
    // fox.wav is 3.25 s: about 40 encoder frames of 80 ms per segment.
    let frames = audio.samples.len() / 1280;
    assert!(
        quiet >= 6 && steady.iter().all(|&n| n < frames),
        "{quiet} of the last 8 segments without allocation (want >= 6, and each < {frames}); per utterance {counts:?}"
    );
}
