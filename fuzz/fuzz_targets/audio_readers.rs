//! Fuzzes the in-memory audio readers: any byte string must give `Ok` or a
//! `FrontendError`, never a panic, hang or huge allocation. The first byte picks the
//! extension hint / raw layout so every decoder path is reached (WAV, FLAC, MP3, Ogg Vorbis,
//! Ogg Opus; Ogg page checksums are not checked under `cfg(fuzzing)` so that mutated Opus
//! packets reach the decoder), and both the whole-file and the block-by-block reader run.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sotto_frontend::audio::{raw_s16le_bytes, read_audio_bytes, AudioReader};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    let hint = [
        None,
        Some("wav"),
        Some("flac"),
        Some("mp3"),
        Some("ogg"),
        Some("opus"),
        Some("raw"),
        Some("xyz"),
    ];
    let ext = hint[sel as usize % hint.len()];
    let whole = read_audio_bytes(bytes, ext);
    if let Ok(audio) = &whole {
        assert!(!audio.samples.is_empty() && audio.sample_rate > 0);
        assert!(audio.samples.iter().all(|s| s.is_finite()));
    }
    // Block by block: the same samples, or the same failure.
    if let Ok(mut r) = AudioReader::from_bytes(bytes.to_vec(), ext) {
        let mut all = Vec::new();
        let streamed = loop {
            match r.read_chunk(&mut all) {
                Ok(0) => break Ok(()),
                Ok(_) => {}
                Err(e) => break Err(e),
            }
        };
        match (&whole, streamed) {
            (Ok(a), Ok(())) => assert!(a.samples == all),
            (Err(_), Err(_)) => {}
            (w, s) => panic!("whole {:?} vs streamed {:?}", w.as_ref().err(), s.err()),
        }
    }
    let _ = raw_s16le_bytes(bytes, 8000 + 1000 * (sel as u32 % 41), 1 + (sel as u16 % 3));
});
