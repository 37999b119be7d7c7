//! The C API of sotto (`include/sotto.h`): the recognizer, its streams, wake-word detection and
//! voice activity detection behind opaque handles.
//!
//! Conventions, the same for every function (the header repeats them):
//! - A function that fails returns `NULL` (pointers) or `-1` (integers) and leaves a message in
//!   [`sotto_last_error`] (per thread). Null handles and invalid UTF-8 are such failures.
//! - Results are JSON strings owned by the caller, freed with [`sotto_string_free`].
//! - No Rust panic crosses the boundary: every entry point runs under `catch_unwind`, and a
//!   panic becomes an error ("internal error: …").
//! - A recognizer may be shared by threads; a stream, wake-word detector or VAD is used by one
//!   thread at a time.

use serde::Serialize;
use sotto_asr::recognizer::{default_beam, Recognizer, RecognizerConfig, Stream, Transcript};
use sotto_asr::vad::{Vad, VadConfig, VadEvent, VadModel};
use sotto_asr::wakeword::{Detection, WakeWord, WakeWordModel};
use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

#[cfg(test)]
mod tests;

/// A loaded model and search configuration (`SottoRecognizer *` in C).
pub struct SottoRecognizer {
    rec: Recognizer,
}

/// One audio stream of a recognizer (`SottoStream *` in C).
pub struct SottoStream {
    stream: Stream,
}

/// A wake-word detector over one or more models (`SottoWakeWord *` in C).
pub struct SottoWakeWord {
    wake: WakeWord,
}

/// A streaming voice activity detector (`SottoVad *` in C).
pub struct SottoVad {
    vad: Vad,
}

thread_local! {
    /// The message of the last failure on this thread (what `sotto_last_error` returns).
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

fn set_error(msg: String) {
    // An interior NUL cannot be represented; keep the text before it.
    let msg = match CString::new(msg) {
        Ok(c) => c,
        Err(e) => {
            let end = e.nul_position();
            CString::new(e.into_vec()[..end].to_vec()).unwrap_or_default()
        }
    };
    LAST_ERROR.with(|e| *e.borrow_mut() = Some(msg));
}

/// Runs `f`, turning an error or a panic into `fallback` plus a message for
/// [`sotto_last_error`]. Every entry point goes through here.
fn guard<T>(fallback: T, f: impl FnOnce() -> Result<T, String>) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(msg)) => {
            set_error(msg);
            fallback
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_error(format!("internal error: {what}"));
            fallback
        }
    }
}

/// `&T` from a handle, or an error naming the argument.
unsafe fn handle<'a, T>(p: *const T, what: &str) -> Result<&'a T, String> {
    // SAFETY: the caller passes a pointer returned by the matching `_new` function, not freed.
    unsafe { p.as_ref() }.ok_or_else(|| format!("{what} is NULL"))
}

/// `&mut T` from a handle, or an error naming the argument.
unsafe fn handle_mut<'a, T>(p: *mut T, what: &str) -> Result<&'a mut T, String> {
    // SAFETY: as in `handle`, and the caller does not use the handle from two threads at once.
    unsafe { p.as_mut() }.ok_or_else(|| format!("{what} is NULL"))
}

/// A UTF-8 string argument (`None` for NULL).
unsafe fn opt_str<'a>(p: *const c_char, what: &str) -> Result<Option<&'a str>, String> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller passes a NUL-terminated string.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map(Some)
        .map_err(|e| format!("{what} is not valid UTF-8: {e}"))
}

/// A sample buffer argument; NULL is allowed only with `n == 0`.
unsafe fn samples<'a>(p: *const f32, n: usize) -> Result<&'a [f32], String> {
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(format!("samples is NULL but n is {n}"));
    }
    // SAFETY: the caller passes `n` readable floats.
    Ok(unsafe { std::slice::from_raw_parts(p, n) })
}

/// A caller-owned C string from JSON (JSON escapes NUL, so this cannot fail in practice).
fn json_string(v: &impl Serialize) -> Result<*mut c_char, String> {
    let s = serde_json::to_string(v).map_err(|e| format!("cannot encode the result: {e}"))?;
    CString::new(s)
        .map(CString::into_raw)
        .map_err(|e| format!("cannot encode the result: {e}"))
}

/// The JSON form of a transcript: text and words with times (seconds) and confidences.
#[derive(Serialize)]
struct TranscriptJson<'a> {
    text: &'a str,
    words: &'a [sotto_asr::recognizer::Word],
}

fn transcript_json(t: &Transcript) -> Result<*mut c_char, String> {
    json_string(&TranscriptJson {
        text: &t.text,
        words: &t.words,
    })
}

/// Options of `sotto_recognizer_new` (all optional; unknown keys are an error so that a typo
/// is not silently ignored).
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RecognizerOptions {
    beam: Option<usize>,
    no_lm: Option<bool>,
    lm: Option<PathBuf>,
    lexicon: Option<PathBuf>,
    hotwords: Option<PathBuf>,
    hotword_boost: Option<f32>,
    lm_weight: Option<f32>,
    word_bonus: Option<f32>,
    lodr_weight: Option<f32>,
    blank_penalty: Option<f32>,
    ctc_weight: Option<f32>,
    ctc_expand: Option<usize>,
    file_cmn: Option<f32>,
    mbr_scale: Option<f32>,
    score_beam: Option<f32>,
    ctc: Option<bool>,
    stop_at_endpoints: Option<bool>,
}

/// Options of `sotto_vad_new`.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct VadOptions {
    threshold: Option<f64>,
    neg_threshold: Option<f64>,
    min_speech_ms: Option<u32>,
    min_silence_ms: Option<u32>,
    speech_pad_ms: Option<u32>,
}

fn parse_options<T: serde::de::DeserializeOwned + Default>(
    json: Option<&str>,
    what: &str,
) -> Result<T, String> {
    match json {
        None => Ok(T::default()),
        Some(s) => serde_json::from_str(s).map_err(|e| format!("{what}: {e}")),
    }
}

/// The library version (static string, do not free).
#[no_mangle]
pub extern "C" fn sotto_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The message of the last failure on this thread, or NULL if none. Valid until the next
/// failing call on this thread; do not free.
#[no_mangle]
pub extern "C" fn sotto_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ref().map_or(std::ptr::null(), |c| c.as_ptr()))
}

/// Frees a string returned by this library. NULL is ignored.
///
/// # Safety
/// `s` is NULL or a string returned by a `sotto_*` function, freed once.
#[no_mangle]
pub unsafe extern "C" fn sotto_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: `s` came from `CString::into_raw` in `json_string`.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { CString::from_raw(s) })));
    }
}

/// Loads a recognizer. `model_path` NULL: the default model (`$SOTTO_MODEL`, else
/// `models/zoo` next to the executable or in the source tree). `options_json` NULL or a JSON
/// object with any of `beam`, `no_lm`, `lm`, `lexicon`, `hotwords`, `hotword_boost`,
/// `lm_weight`, `word_bonus`, `lodr_weight`, `blank_penalty`, `ctc_weight`, `ctc_expand`,
/// `file_cmn` (per-file mean normalization of `sotto_transcribe_file`), `mbr_scale`, `score_beam`, `ctc`,
/// `stop_at_endpoints`.
///
/// # Safety
/// Both arguments are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn sotto_recognizer_new(
    model_path: *const c_char,
    options_json: *const c_char,
) -> *mut SottoRecognizer {
    guard(std::ptr::null_mut(), || {
        let model = match unsafe { opt_str(model_path, "model_path") }? {
            Some(p) => PathBuf::from(p),
            None => Recognizer::default_model().map_err(|e| e.to_string())?,
        };
        let o: RecognizerOptions = parse_options(
            unsafe { opt_str(options_json, "options_json") }?,
            "options_json",
        )?;
        let mut c = RecognizerConfig::new(model);
        c.no_lm = o.no_lm.unwrap_or(c.no_lm);
        c.lm = o.lm.or(c.lm);
        c.lexicon = o.lexicon.or(c.lexicon);
        c.hotwords = o.hotwords.or(c.hotwords);
        c.hotword_boost = o.hotword_boost.unwrap_or(c.hotword_boost);
        c.lm_weight = o.lm_weight.unwrap_or(c.lm_weight);
        c.word_bonus = o.word_bonus.unwrap_or(c.word_bonus);
        c.lodr_weight = o.lodr_weight.unwrap_or(c.lodr_weight);
        c.blank_penalty = o.blank_penalty.or(c.blank_penalty);
        c.ctc_weight = o.ctc_weight.or(c.ctc_weight);
        c.ctc_expand = o.ctc_expand.or(c.ctc_expand);
        c.file_cmn = o.file_cmn.unwrap_or(c.file_cmn);
        c.mbr_scale = o.mbr_scale.or(c.mbr_scale);
        c.score_beam = o.score_beam.or(c.score_beam);
        c.ctc = o.ctc.unwrap_or(c.ctc);
        // Left out, the beam is the default for the search asked for (CTC prefix or transducer).
        c.beam = o.beam.unwrap_or(default_beam(c.ctc));
        c.stop_at_endpoints = o.stop_at_endpoints.unwrap_or(c.stop_at_endpoints);
        let rec = Recognizer::new(c).map_err(|e| e.to_string())?;
        Ok(Box::into_raw(Box::new(SottoRecognizer { rec })))
    })
}

/// Frees a recognizer (its streams stay valid: they share the model). NULL is ignored.
///
/// # Safety
/// `rec` is NULL or a recognizer from `sotto_recognizer_new`, freed once.
#[no_mangle]
pub unsafe extern "C" fn sotto_recognizer_free(rec: *mut SottoRecognizer) {
    if !rec.is_null() {
        // SAFETY: `rec` came from `Box::into_raw`.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(rec) })));
    }
}

/// Transcribes an audio file (WAV, FLAC, MP3, Ogg Vorbis/Opus) as `sotto transcribe` does:
/// one fresh stream fed one-second chunks. Returns JSON
/// `{"text", "words": [{"word","start","end","confidence"}], "duration"}` (seconds).
///
/// # Safety
/// `rec` is a live recognizer; `path` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn sotto_transcribe_file(
    rec: *const SottoRecognizer,
    path: *const c_char,
) -> *mut c_char {
    guard(std::ptr::null_mut(), || {
        let rec = unsafe { handle(rec, "rec") }?;
        let path = unsafe { opt_str(path, "path") }?.ok_or("path is NULL")?;
        let f = rec
            .rec
            .transcribe_file(path)
            .map_err(|e| format!("{path}: {e}"))?;
        #[derive(Serialize)]
        struct Out<'a> {
            text: &'a str,
            words: &'a [sotto_asr::recognizer::Word],
            duration: f64,
        }
        json_string(&Out {
            text: &f.transcript.text,
            words: &f.transcript.words,
            duration: f.audio_secs,
        })
    })
}

/// A new stream of `rec`.
///
/// # Safety
/// `rec` is a live recognizer.
#[no_mangle]
pub unsafe extern "C" fn sotto_stream_new(rec: *const SottoRecognizer) -> *mut SottoStream {
    guard(std::ptr::null_mut(), || {
        let rec = unsafe { handle(rec, "rec") }?;
        Ok(Box::into_raw(Box::new(SottoStream {
            stream: rec.rec.stream(),
        })))
    })
}

/// Frees a stream. NULL is ignored.
///
/// # Safety
/// `stream` is NULL or a stream from `sotto_stream_new`, freed once.
#[no_mangle]
pub unsafe extern "C" fn sotto_stream_free(stream: *mut SottoStream) {
    if !stream.is_null() {
        // SAFETY: `stream` came from `Box::into_raw`.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(stream) })));
    }
}

/// Feeds `n` samples in [-1, 1) at `sample_rate` Hz (8–48 kHz, resampled to 16 kHz; the rate
/// stays fixed until the stream is finished or reset) and decodes them. Returns 0, or -1.
///
/// # Safety
/// `stream` is a live stream; `samples` points to `n` floats (NULL allowed when `n` is 0).
#[no_mangle]
pub unsafe extern "C" fn sotto_stream_accept(
    stream: *mut SottoStream,
    sample_rate: u32,
    samples: *const f32,
    n: usize,
) -> c_int {
    guard(-1, || {
        let s = unsafe { handle_mut(stream, "stream") }?;
        let x = unsafe { self::samples(samples, n) }?;
        s.stream
            .accept_waveform(sample_rate, x)
            .and_then(|()| s.stream.decode())
            .map_err(|e| e.to_string())?;
        Ok(0)
    })
}

/// The current best hypothesis of this segment as JSON `{"text", "words": [...]}`.
///
/// # Safety
/// `stream` is a live stream.
#[no_mangle]
pub unsafe extern "C" fn sotto_stream_partial(stream: *const SottoStream) -> *mut c_char {
    guard(std::ptr::null_mut(), || {
        let s = unsafe { handle(stream, "stream") }?;
        transcript_json(&s.stream.partial_transcript())
    })
}

/// 1 when an endpoint rule fires (take the segment with `sotto_stream_finish_segment`), 0 when
/// not, -1 on error.
///
/// # Safety
/// `stream` is a live stream.
#[no_mangle]
pub unsafe extern "C" fn sotto_stream_is_endpoint(stream: *const SottoStream) -> c_int {
    guard(-1, || {
        let s = unsafe { handle(stream, "stream") }?;
        Ok(c_int::from(s.stream.is_endpoint()))
    })
}

/// The final result of the current segment (JSON as `sotto_stream_partial`); decoding goes on
/// in a new segment, times still counted from the stream start.
///
/// # Safety
/// `stream` is a live stream.
#[no_mangle]
pub unsafe extern "C" fn sotto_stream_finish_segment(stream: *mut SottoStream) -> *mut c_char {
    guard(std::ptr::null_mut(), || {
        let s = unsafe { handle_mut(stream, "stream") }?;
        transcript_json(&s.stream.finish_segment())
    })
}

/// End of audio: decodes the rest and returns the final result of the current segment (JSON as
/// `sotto_stream_partial`). The stream is then reset and can take new audio. Fails on a
/// stream that got no audio.
///
/// # Safety
/// `stream` is a live stream.
#[no_mangle]
pub unsafe extern "C" fn sotto_stream_finish(stream: *mut SottoStream) -> *mut c_char {
    guard(std::ptr::null_mut(), || {
        let s = unsafe { handle_mut(stream, "stream") }?;
        let t = s.stream.finish().map_err(|e| e.to_string())?;
        transcript_json(&t)
    })
}

/// Forgets all audio and results. Returns 0, or -1.
///
/// # Safety
/// `stream` is a live stream.
#[no_mangle]
pub unsafe extern "C" fn sotto_stream_reset(stream: *mut SottoStream) -> c_int {
    guard(-1, || {
        unsafe { handle_mut(stream, "stream") }?.stream.reset();
        Ok(0)
    })
}

/// A wake-word detector for `n` microWakeWord manifests (`.json`, naming their `.tflite`) on
/// audio at `sample_rate` Hz (8–48 kHz).
///
/// # Safety
/// `manifests` points to `n` NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn sotto_wakeword_new(
    manifests: *const *const c_char,
    n: usize,
    sample_rate: u32,
) -> *mut SottoWakeWord {
    guard(std::ptr::null_mut(), || {
        if n == 0 {
            return Err("no wake-word manifests given (n is 0)".into());
        }
        if manifests.is_null() {
            return Err("manifests is NULL".into());
        }
        // SAFETY: the caller passes `n` string pointers.
        let list = unsafe { std::slice::from_raw_parts(manifests, n) };
        let mut models = Vec::with_capacity(n);
        for (i, &p) in list.iter().enumerate() {
            let path = unsafe { opt_str(p, "manifest") }?
                .ok_or_else(|| format!("manifests[{i}] is NULL"))?;
            models.push(WakeWordModel::load(path).map_err(|e| e.to_string())?);
        }
        let wake = WakeWord::new(models, sample_rate).map_err(|e| e.to_string())?;
        Ok(Box::into_raw(Box::new(SottoWakeWord { wake })))
    })
}

/// Frees a wake-word detector. NULL is ignored.
///
/// # Safety
/// `wake` is NULL or a detector from `sotto_wakeword_new`, freed once.
#[no_mangle]
pub unsafe extern "C" fn sotto_wakeword_free(wake: *mut SottoWakeWord) {
    if !wake.is_null() {
        // SAFETY: `wake` came from `Box::into_raw`.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(wake) })));
    }
}

fn detections_json(d: &[Detection]) -> Result<*mut c_char, String> {
    json_string(&d)
}

/// Feeds `n` samples in [-1, 1]; returns the detections as a JSON array
/// `[{"wake_word", "model", "time", "score"}]` (time in seconds from the stream start).
///
/// # Safety
/// `wake` is a live detector; `samples` points to `n` floats (NULL allowed when `n` is 0).
#[no_mangle]
pub unsafe extern "C" fn sotto_wakeword_accept(
    wake: *mut SottoWakeWord,
    samples: *const f32,
    n: usize,
) -> *mut c_char {
    guard(std::ptr::null_mut(), || {
        let w = unsafe { handle_mut(wake, "wake") }?;
        let x = unsafe { self::samples(samples, n) }?;
        let d = w.wake.accept_f32(x).map_err(|e| e.to_string())?;
        detections_json(&d)
    })
}

/// End of the stream: flushes the resampler; returns the last detections (JSON array as
/// `sotto_wakeword_accept`). The detector can then take a new stream.
///
/// # Safety
/// `wake` is a live detector.
#[no_mangle]
pub unsafe extern "C" fn sotto_wakeword_finish(wake: *mut SottoWakeWord) -> *mut c_char {
    guard(std::ptr::null_mut(), || {
        let w = unsafe { handle_mut(wake, "wake") }?;
        let d = w.wake.finish(None);
        w.wake.reset();
        detections_json(&d)
    })
}

/// A voice activity detector (Silero VAD) for audio at `sample_rate` Hz (8 kHz, 16 kHz or a
/// multiple of 16 kHz). `model_path` NULL: the model built into the library. `options_json`
/// NULL or a JSON object with any of `threshold`, `neg_threshold`, `min_speech_ms`,
/// `min_silence_ms`, `speech_pad_ms`.
///
/// # Safety
/// Both strings are NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sotto_vad_new(
    model_path: *const c_char,
    sample_rate: u32,
    options_json: *const c_char,
) -> *mut SottoVad {
    guard(std::ptr::null_mut(), || {
        let model = match unsafe { opt_str(model_path, "model_path") }? {
            Some(p) => VadModel::load(p),
            None => VadModel::builtin(),
        }
        .map_err(|e| e.to_string())?;
        let o: VadOptions = parse_options(
            unsafe { opt_str(options_json, "options_json") }?,
            "options_json",
        )?;
        let d = VadConfig::default();
        let cfg = VadConfig {
            threshold: o.threshold.unwrap_or(d.threshold),
            neg_threshold: o.neg_threshold.or(d.neg_threshold),
            min_speech_ms: o.min_speech_ms.unwrap_or(d.min_speech_ms),
            min_silence_ms: o.min_silence_ms.unwrap_or(d.min_silence_ms),
            speech_pad_ms: o.speech_pad_ms.unwrap_or(d.speech_pad_ms),
        };
        let vad = Vad::new(model, sample_rate, cfg).map_err(|e| e.to_string())?;
        Ok(Box::into_raw(Box::new(SottoVad { vad })))
    })
}

/// Frees a VAD. NULL is ignored.
///
/// # Safety
/// `vad` is NULL or a VAD from `sotto_vad_new`, freed once.
#[no_mangle]
pub unsafe extern "C" fn sotto_vad_free(vad: *mut SottoVad) {
    if !vad.is_null() {
        // SAFETY: `vad` came from `Box::into_raw`.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(vad) })));
    }
}

fn vad_events_json(v: &mut Vad) -> Result<*mut c_char, String> {
    let rate = f64::from(v.sample_rate());
    let events: Vec<serde_json::Value> = v
        .events()
        .map(|e| match e {
            VadEvent::Start(s) => serde_json::json!({"event": "start", "start": s as f64 / rate}),
            VadEvent::End(seg) => serde_json::json!({
                "event": "end", "start": seg.start as f64 / rate, "end": seg.end as f64 / rate
            }),
        })
        .collect();
    json_string(&events)
}

/// Feeds `n` samples in [-1, 1]; returns the events as a JSON array of
/// `{"event": "start", "start"}` and `{"event": "end", "start", "end"}` (seconds).
///
/// # Safety
/// `vad` is a live VAD; `samples` points to `n` floats (NULL allowed when `n` is 0).
#[no_mangle]
pub unsafe extern "C" fn sotto_vad_accept(
    vad: *mut SottoVad,
    samples: *const f32,
    n: usize,
) -> *mut c_char {
    guard(std::ptr::null_mut(), || {
        let v = unsafe { handle_mut(vad, "vad") }?;
        let x = unsafe { self::samples(samples, n) }?;
        v.vad.accept(x).map_err(|e| e.to_string())?;
        vad_events_json(&mut v.vad)
    })
}

/// End of the stream: closes an open segment; returns the last events (JSON array as
/// `sotto_vad_accept`). The VAD is then reset for a new stream.
///
/// # Safety
/// `vad` is a live VAD.
#[no_mangle]
pub unsafe extern "C" fn sotto_vad_finish(vad: *mut SottoVad) -> *mut c_char {
    guard(std::ptr::null_mut(), || {
        let v = unsafe { handle_mut(vad, "vad") }?;
        let out = v
            .vad
            .finish()
            .map_err(|e| e.to_string())
            .and_then(|()| vad_events_json(&mut v.vad));
        // Reset either way, so that a failed finish (too short) still leaves a usable VAD.
        v.vad.reset();
        out
    })
}
