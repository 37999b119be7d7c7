//! The header against the Rust definitions, error paths through the ABI, and the C API giving
//! the same results as the Rust API.

use super::*;
use std::collections::BTreeMap;
use std::path::Path;

/// Rust FFI type → C type, as the header spells it.
fn c_type(rust: &str) -> String {
    let t = rust.trim();
    if let Some(rest) = t.strip_prefix("*const ") {
        let inner = c_type(rest);
        // `*const *const c_char` is `const char *const *`.
        return if inner.ends_with('*') {
            format!("{inner}const *")
        } else {
            format!("const {inner} *")
        };
    }
    if let Some(rest) = t.strip_prefix("*mut ") {
        return format!("{} *", c_type(rest));
    }
    match t {
        "c_char" => "char",
        "c_int" => "int",
        "f32" => "float",
        "f64" => "double",
        "u32" => "uint32_t",
        "i32" => "int32_t",
        "usize" => "size_t",
        "" => "void",
        other => other, // the opaque handle types keep their names
    }
    .to_string()
}

/// `name → "ret(args)"` with whitespace removed, from the Rust source.
fn rust_signatures(src: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for part in src.split("extern \"C\" fn ").skip(1) {
        let open = part.find('(').unwrap();
        let name = part[..open].trim().to_string();
        let close = part.find(')').unwrap();
        let args: Vec<String> = part[open + 1..close]
            .split(',')
            .filter(|a| !a.trim().is_empty())
            .map(|a| c_type(a.split_once(':').unwrap().1))
            .collect();
        let after = &part[close + 1..part.find('{').unwrap()];
        let ret = c_type(after.trim().trim_start_matches("->"));
        let args = if args.is_empty() {
            "void".to_string()
        } else {
            args.join(",")
        };
        out.insert(name, format!("{ret}({args})").replace(' ', ""));
    }
    out
}

/// `name → "ret(args)"` with whitespace and parameter names removed, from the header.
fn header_signatures(h: &str) -> BTreeMap<String, String> {
    // Drop comments, then split declarations at `;`.
    let mut text = String::new();
    let mut rest = h;
    while let Some(i) = rest.find("/*") {
        text.push_str(&rest[..i]);
        rest = &rest[i + rest[i..].find("*/").unwrap() + 2..];
    }
    text.push_str(rest);
    let mut out = BTreeMap::new();
    for decl in text.split(';') {
        let decl = decl.lines().filter(|l| !l.trim_start().starts_with('#'));
        let decl = decl.collect::<Vec<_>>().join(" ");
        let Some(open) = decl.find("sotto_") else {
            continue;
        };
        if decl.contains("typedef") || !decl.contains('(') {
            continue;
        }
        let paren = decl.find('(').unwrap();
        let name = decl[open..paren].trim().to_string();
        let ret = decl[..open].trim().trim_start_matches('}').trim();
        let args: Vec<String> = decl[paren + 1..decl.rfind(')').unwrap()]
            .split(',')
            .map(|a| {
                // Drop the parameter name: the last identifier, unless the type is `void`.
                let a = a.trim();
                if a == "void" {
                    return a.to_string();
                }
                let cut = a
                    .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap();
                a[..=cut].to_string()
            })
            .collect();
        out.insert(name, format!("{ret}({})", args.join(",")).replace(' ', ""));
    }
    out
}

#[test]
fn header_declares_exactly_the_exported_functions() {
    let rust = rust_signatures(include_str!("lib.rs"));
    let header = header_signatures(include_str!("../include/sotto.h"));
    assert!(
        rust.len() >= 20,
        "parsed {} functions: {rust:?}",
        rust.len()
    );
    assert_eq!(header, rust, "include/sotto.h differs from src/lib.rs");
}

#[test]
fn c_type_mapping() {
    assert_eq!(c_type("*const *const c_char"), "const char *const *");
    assert_eq!(c_type("*mut SottoStream"), "SottoStream *");
    assert_eq!(c_type("*const f32"), "const float *");
}

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn last_error() -> String {
    let p = sotto_last_error();
    assert!(!p.is_null(), "no error message");
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string()
}

/// Takes a returned JSON string (freeing it).
fn take_json(p: *mut c_char) -> serde_json::Value {
    assert!(!p.is_null(), "call failed: {}", last_error());
    let v = serde_json::from_str(unsafe { CStr::from_ptr(p) }.to_str().unwrap()).unwrap();
    unsafe { sotto_string_free(p) };
    v
}

#[test]
fn bad_arguments_are_errors_not_crashes() {
    unsafe {
        let missing = cstr("/nonexistent/model.safetensors");
        assert!(sotto_recognizer_new(missing.as_ptr(), std::ptr::null()).is_null());
        assert!(
            last_error().contains("/nonexistent/model.safetensors"),
            "{}",
            last_error()
        );

        let bad_opts = cstr("{\"beem\": 3}");
        let m = cstr(&default_model().display().to_string());
        assert!(sotto_recognizer_new(m.as_ptr(), bad_opts.as_ptr()).is_null());
        assert!(last_error().contains("beem"), "{}", last_error());
        let good_opts = cstr("{\"beam\": 2, \"blank_penalty\": 0.0, \"word_bonus\": 0.5}");
        let rec = sotto_recognizer_new(m.as_ptr(), good_opts.as_ptr());
        assert!(!rec.is_null(), "{}", last_error());
        sotto_recognizer_free(rec);

        assert!(sotto_stream_new(std::ptr::null()).is_null());
        assert_eq!(last_error(), "rec is NULL");
        assert_eq!(
            sotto_stream_accept(std::ptr::null_mut(), 16000, std::ptr::null(), 0),
            -1
        );
        assert_eq!(last_error(), "stream is NULL");
        assert!(sotto_stream_partial(std::ptr::null()).is_null());
        assert_eq!(sotto_stream_is_endpoint(std::ptr::null()), -1);
        assert!(sotto_wakeword_new(std::ptr::null(), 0, 16000).is_null());
        assert!(last_error().contains("n is 0"));
        let none = cstr("/nonexistent/wake.json");
        let list = [none.as_ptr()];
        assert!(sotto_wakeword_new(list.as_ptr(), 1, 16000).is_null());
        assert!(
            last_error().contains("/nonexistent/wake.json"),
            "{}",
            last_error()
        );
        assert!(sotto_vad_new(std::ptr::null(), 12345, std::ptr::null()).is_null());
        assert!(last_error().contains("12345"), "{}", last_error());
        // Freeing NULL is a no-op.
        sotto_recognizer_free(std::ptr::null_mut());
        sotto_stream_free(std::ptr::null_mut());
        sotto_wakeword_free(std::ptr::null_mut());
        sotto_vad_free(std::ptr::null_mut());
        sotto_string_free(std::ptr::null_mut());
    }
}

#[test]
fn a_panic_inside_becomes_an_error() {
    let r = guard(7, || panic!("boom"));
    assert_eq!(r, 7);
    assert_eq!(last_error(), "internal error: boom");
}

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn default_model() -> PathBuf {
    root().join("models/zoo/sotto-en-int8.safetensors")
}

fn read_wav(path: &Path) -> (u32, Vec<f32>) {
    let a = sotto_frontend::audio::read_audio(path).unwrap();
    (a.sample_rate, a.samples)
}

/// A Rust stream of `rec` (normalizing with `mean` when given) fed `audio` in one-second
/// chunks: its final transcript's text, and the transcript as JSON through text, as the C API
/// writes it (f32 fields print as their shortest f32 form).
fn rust_stream_json(
    rec: &Recognizer,
    rate: u32,
    audio: &[f32],
    mean: Option<&[f32]>,
) -> (String, serde_json::Value) {
    let mut s = rec.stream();
    s.set_feature_mean(mean).unwrap();
    for c in audio.chunks(rate as usize) {
        s.accept_waveform(rate, c).unwrap();
        s.decode().unwrap();
    }
    let t = s.finish().unwrap();
    let json = serde_json::from_str(
        &serde_json::to_string(&TranscriptJson {
            text: &t.text,
            words: &t.words,
        })
        .unwrap(),
    )
    .unwrap();
    (t.text, json)
}

/// The C API's streams give exactly the Rust API's transcript (text and word times) for any
/// chunking, and `sotto_transcribe_file` the same as a Rust stream given the file's adapted
/// mean (`file_cmn`) and fed one-second chunks.
#[test]
fn c_stream_matches_rust_stream() {
    let model = default_model();
    let wav = root().join("examples/audio/fox.wav");
    if !model.exists() || !wav.exists() {
        eprintln!("skipping: {} or {} absent", model.display(), wav.display());
        return;
    }
    let (rate, audio) = read_wav(&wav);
    let rec = Recognizer::new(RecognizerConfig::new(&model)).unwrap();
    let (expected_text, expected_json) = rust_stream_json(&rec, rate, &audio, None);
    assert!(!expected_text.is_empty());
    unsafe {
        let m = cstr(&model.display().to_string());
        let crec = sotto_recognizer_new(m.as_ptr(), std::ptr::null());
        assert!(!crec.is_null(), "{}", last_error());
        let cs = sotto_stream_new(crec);
        for chunk in [1usize, 777, 4000] {
            for c in audio.chunks(chunk * 7) {
                assert_eq!(sotto_stream_accept(cs, rate, c.as_ptr(), c.len()), 0);
            }
            let partial = take_json(sotto_stream_partial(cs));
            assert!(partial["text"].is_string());
            assert_eq!(
                take_json(sotto_stream_finish(cs)),
                expected_json,
                "chunk {chunk}"
            );
        }
        // The file path normalizes with the file's own adapted mean (`file_cmn`).
        let mean = rec.adapted_feature_mean(rate, &audio).unwrap();
        assert!(mean.is_some());
        let (_, expected_file) = rust_stream_json(&rec, rate, &audio, mean.as_deref());
        let w = cstr(&wav.display().to_string());
        let file = take_json(sotto_transcribe_file(crec, w.as_ptr()));
        assert_eq!(file["text"], expected_file["text"]);
        assert_eq!(file["words"], expected_file["words"]);
        assert!(
            (file["duration"].as_f64().unwrap() - audio.len() as f64 / rate as f64).abs() < 1e-9
        );
        // A finished stream is reset: finishing again without audio is an error.
        assert!(sotto_stream_finish(cs).is_null());
        assert!(!last_error().is_empty());
        let bad = [0.0f32, f32::NAN];
        assert_eq!(sotto_stream_accept(cs, 16000, bad.as_ptr(), 2), -1);
        assert!(last_error().to_lowercase().contains("nan") || last_error().contains("finite"));
        sotto_stream_free(cs);
        sotto_recognizer_free(crec);
    }
}

/// Wake-word detections through the C API equal the Rust API's on a reference clip.
#[test]
fn c_wakeword_matches_rust() {
    let dir = root().join("../shared/reference/microwakeword");
    let manifest = dir.join("models/v2/okay_nabu.json");
    let clip = dir.join("clips/pmww_okay_nabu_1.wav");
    if !manifest.exists() || !clip.exists() {
        eprintln!("skipping: {} absent", manifest.display());
        return;
    }
    let (rate, audio) = read_wav(&clip);
    let mut w = WakeWord::new(vec![WakeWordModel::load(&manifest).unwrap()], rate).unwrap();
    let mut expected = w.accept_f32(&audio).unwrap();
    expected.extend(w.finish(None));
    assert!(!expected.is_empty(), "the reference clip should fire");
    unsafe {
        let m = cstr(&manifest.display().to_string());
        let list = [m.as_ptr()];
        let cw = sotto_wakeword_new(list.as_ptr(), 1, rate);
        assert!(!cw.is_null(), "{}", last_error());
        for _ in 0..2 {
            // Twice: finish resets the detector for a new stream.
            let mut got = Vec::new();
            for c in audio.chunks(999) {
                got.extend(
                    take_json(sotto_wakeword_accept(cw, c.as_ptr(), c.len()))
                        .as_array()
                        .unwrap()
                        .clone(),
                );
            }
            got.extend(
                take_json(sotto_wakeword_finish(cw))
                    .as_array()
                    .unwrap()
                    .clone(),
            );
            assert_eq!(got.len(), expected.len());
            for (g, e) in got.iter().zip(&expected) {
                assert_eq!(g["wake_word"], e.wake_word.as_str());
                assert_eq!(g["time"].as_f64().unwrap(), e.time);
            }
        }
        sotto_wakeword_free(cw);
    }
}

/// VAD segments through the C API equal the Rust API's.
#[test]
fn c_vad_matches_rust() {
    let wav = root().join("examples/audio/fox.wav");
    if !wav.exists() {
        eprintln!("skipping: {} absent", wav.display());
        return;
    }
    let (rate, audio) = read_wav(&wav);
    let mut v = Vad::new(VadModel::builtin().unwrap(), rate, VadConfig::default()).unwrap();
    v.accept(&audio).unwrap();
    v.finish().unwrap();
    let expected: Vec<(f64, f64)> = v
        .events()
        .filter_map(|e| match e {
            VadEvent::End(s) => Some((s.start_s(rate), s.end_s(rate))),
            VadEvent::Start(_) => None,
        })
        .collect();
    assert!(!expected.is_empty());
    unsafe {
        let cv = sotto_vad_new(std::ptr::null(), rate, std::ptr::null());
        assert!(!cv.is_null(), "{}", last_error());
        let mut got = Vec::new();
        for c in audio.chunks(1000) {
            got.extend(
                take_json(sotto_vad_accept(cv, c.as_ptr(), c.len()))
                    .as_array()
                    .unwrap()
                    .clone(),
            );
        }
        got.extend(take_json(sotto_vad_finish(cv)).as_array().unwrap().clone());
        let ends: Vec<(f64, f64)> = got
            .iter()
            .filter(|e| e["event"] == "end")
            .map(|e| (e["start"].as_f64().unwrap(), e["end"].as_f64().unwrap()))
            .collect();
        assert_eq!(ends, expected);
        sotto_vad_free(cv);
    }
}
