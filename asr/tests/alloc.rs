//! Steady-state beam search allocates nothing: after warm-up, feeding more audio through
//! `Stream::accept_waveform` + `Stream::decode` (fbank, encoder, joiner-projection, beam-4
//! modified beam search over the shipped int8 model, no LM) makes no heap allocation, however
//! many frames are fed. A separate test binary because it installs a counting global allocator.
//!
//! Speech makes the hypotheses emit tokens, whose history grows with the transcript; the
//! history of a finished segment is recycled, so the test decodes the same utterance as
//! consecutive segments (`finish_segment`, not counted). The segments differ (the encoder state
//! carries over), so a pool grows now and then when a segment's beam history exceeds every one
//! before it: amortized growth, not per-frame allocation. Measured with the shipped model of
//! 2026-12-03: 106, 4, 2, 0, 0, 0, 8, 0, then 0, 1, 0, 0, 0, 0, 0, 0. The test decodes 16 segments
//! and allows the last 8 (about 340 encoder frames, all emitting tokens) at most one allocation
//! per segment on average: a per-frame allocation anywhere in the path gives hundreds.

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
    for _ in 0..16 {
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
    let steady: usize = counts[8..].iter().sum();
    assert!(
        steady <= counts[8..].len(),
        "{steady} allocations in the last 8 segments; per utterance {counts:?}"
    );
}
