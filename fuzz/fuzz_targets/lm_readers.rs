//! Fuzzes the n-gram LM readers: any byte string must give a model or an `NgramError`, never a
//! panic or an out-of-bounds read. The first byte picks the reader: ARPA text, the binary form
//! with its checksums, or the binary form without them (so the structural checks and the
//! queries see corrupted data). A model that loads is queried and written back as ARPA.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sotto_decoder::{NgramLm, WordId};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    let lm = match sel % 3 {
        0 => NgramLm::from_arpa_reader(bytes, "fuzz"),
        1 => NgramLm::from_binary_bytes(bytes, "fuzz"),
        _ => NgramLm::from_binary_bytes_unchecked(bytes, "fuzz"),
    };
    let Ok(lm) = lm else {
        return;
    };
    if lm.vocab_size() > 1 << 12 {
        return;
    }
    let n = lm.vocab_size() as WordId;
    let mut s = lm.begin_state();
    for w in 0..n.min(64) + 1 {
        let (_, next) = lm.score(&s, w.wrapping_mul(7) % (n + 1));
        s = next;
        let _ = lm.end_score(&s);
        let _ = lm.word_id(lm.word(w));
    }
    let mut arpa = Vec::new();
    if lm.write_arpa(&mut arpa).is_ok() && sel % 3 == 0 {
        // What the ARPA reader accepted, it writes back readably.
        NgramLm::from_arpa_reader(&arpa[..], "again").expect("re-read own ARPA");
    }
});
