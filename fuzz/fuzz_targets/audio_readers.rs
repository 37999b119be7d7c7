//! Fuzzes the in-memory audio readers: any byte string must give `Ok` or a
//! `FrontendError`, never a panic, hang or huge allocation. The first byte picks the
//! extension hint / raw layout so every decoder path is reached.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sotto_frontend::audio::{raw_s16le_bytes, read_audio_bytes};

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
    if let Ok(audio) = read_audio_bytes(bytes, hint[sel as usize % hint.len()]) {
        assert!(!audio.samples.is_empty() && audio.sample_rate > 0);
        assert!(audio.samples.iter().all(|s| s.is_finite()));
    }
    let _ = raw_s16le_bytes(bytes, 8000 + 1000 * (sel as u32 % 41), 1 + (sel as u16 % 3));
});
