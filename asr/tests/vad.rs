//! The streaming `Vad`: segments equal upstream's `get_speech_timestamps` (goldens from
//! `tools/vad/make_goldens.py`) for every clip, rate and parameter set, whatever the chunking;
//! bad input gets named errors.

#[path = "../../models/tests/common/vad_goldens.rs"]
mod vad_goldens;

use sotto_asr::vad::{speech_segments, Segment, Vad, VadConfig, VadEvent, VadModel};
use sotto_asr::AsrError;
use sotto_models::vad::VadModelError;

fn config(params: &serde_json::Value) -> VadConfig {
    let mut c = VadConfig::default();
    let f = |k: &str| params.get(k).and_then(|v| v.as_f64());
    if let Some(v) = f("threshold") {
        c.threshold = v;
    }
    c.neg_threshold = f("neg_threshold");
    if let Some(v) = f("min_speech_duration_ms") {
        c.min_speech_ms = v as u32;
    }
    if let Some(v) = f("min_silence_duration_ms") {
        c.min_silence_ms = v as u32;
    }
    if let Some(v) = f("speech_pad_ms") {
        c.speech_pad_ms = v as u32;
    }
    c
}

/// Runs a Vad over `audio` in the given chunk sizes (cycled); checks the event stream is well
/// formed (each Start is followed by the End of the same segment) and returns the segments.
fn run_chunked(vad: &mut Vad, audio: &[f32], chunks: &[usize]) -> Vec<Segment> {
    let mut events = Vec::new();
    let mut rest = audio;
    let mut i = 0;
    while !rest.is_empty() {
        let n = chunks[i % chunks.len()].min(rest.len());
        vad.accept(&rest[..n]).unwrap();
        events.extend(vad.events());
        rest = &rest[n..];
        i += 1;
    }
    vad.finish().unwrap();
    events.extend(vad.events());
    let mut segs = Vec::new();
    let mut open = None;
    for e in events {
        match e {
            VadEvent::Start(s) => {
                assert!(open.is_none(), "Start inside a segment");
                open = Some(s);
            }
            VadEvent::End(seg) => {
                assert_eq!(open.take(), Some(seg.start), "End without its Start");
                segs.push(seg);
            }
        }
    }
    assert!(open.is_none(), "segment left open after finish");
    segs
}

#[test]
fn segments_equal_get_speech_timestamps() {
    let Some(goldens) = vad_goldens::load() else {
        return;
    };
    let model = VadModel::builtin().unwrap();
    let mut checked = 0;
    for g in &goldens {
        for (params, want) in &g.segments {
            let cfg = config(params);
            let got: Vec<(u64, u64)> = speech_segments(model.clone(), &g.audio, g.rate, cfg)
                .unwrap()
                .iter()
                .map(|s| (s.start, s.end))
                .collect();
            assert_eq!(&got, want, "{} {} Hz {params}", g.name, g.rate);
            checked += want.len();
        }
    }
    eprintln!("{checked} segments equal upstream");
    assert!(checked > 100);
}

#[test]
fn any_chunking_gives_the_same_segments() {
    let Some(goldens) = vad_goldens::load() else {
        return;
    };
    let model = VadModel::builtin().unwrap();
    for g in goldens
        .iter()
        .filter(|g| g.name == "long" || g.name == "jfk")
    {
        for (params, want) in &g.segments {
            let want: Vec<Segment> = want
                .iter()
                .map(|&(start, end)| Segment { start, end })
                .collect();
            for chunks in [&[160usize][..], &[1, 999, 37], &[4096]] {
                let mut vad = Vad::new(model.clone(), g.rate, config(params)).unwrap();
                assert_eq!(
                    run_chunked(&mut vad, &g.audio, chunks),
                    want,
                    "{} {params} {chunks:?}",
                    g.name
                );
                // A reset stream gives the same again.
                vad.reset();
                assert_eq!(run_chunked(&mut vad, &g.audio, &[777]), want);
            }
        }
    }
}

#[test]
fn events_come_soon_after_the_speech() {
    // Starts are reported once min speech is certain, ends once min silence and padding passed:
    // never later than those delays plus one window after the segment's own boundaries.
    let Some(goldens) = vad_goldens::load() else {
        return;
    };
    let model = VadModel::builtin().unwrap();
    let g = goldens
        .iter()
        .find(|g| g.name == "long" && g.rate == 16000)
        .unwrap();
    let cfg = VadConfig::default();
    let mut vad = Vad::new(model, 16000, cfg).unwrap();
    let (pad, min_sil, min_speech, win) = (480u64, 1600u64, 4000u64, 512u64);
    for (i, chunk) in g.audio.chunks(512).enumerate() {
        vad.accept(chunk).unwrap();
        let now = (i as u64 + 1) * 512;
        for e in vad.events() {
            match e {
                VadEvent::Start(s) => {
                    assert!(now <= s + pad + min_speech + 2 * win, "start {s} at {now}")
                }
                VadEvent::End(seg) => assert!(
                    now <= seg.end + pad + min_sil + 2 * win,
                    "end {} at {now}",
                    seg.end
                ),
            }
        }
    }
}

#[test]
fn retained_audio_covers_every_later_segment() {
    let Some(goldens) = vad_goldens::load() else {
        return;
    };
    let model = VadModel::builtin().unwrap();
    let g = goldens
        .iter()
        .find(|g| g.name == "long" && g.rate == 8000)
        .unwrap();
    for (params, _) in &g.segments {
        let mut vad = Vad::new(model.clone(), 8000, config(params)).unwrap();
        let mut kept_from = 0u64;
        let check = |vad: &mut Vad, kept_from: &mut u64| {
            for e in vad.events() {
                let start = match e {
                    VadEvent::Start(s) => s,
                    VadEvent::End(seg) => seg.start,
                };
                assert!(
                    start >= *kept_from,
                    "{params}: segment at {start} after dropping to {kept_from}"
                );
            }
            *kept_from = vad.retain_from();
        };
        for chunk in g.audio.chunks(100) {
            vad.accept(chunk).unwrap();
            check(&mut vad, &mut kept_from);
        }
        vad.finish().unwrap();
        check(&mut vad, &mut kept_from);
    }
}

#[test]
fn multiples_of_16k_are_decimated_like_upstream() {
    // Each 16 kHz sample repeated 3 times: upstream's audio[::3] gives back the original.
    let Some(goldens) = vad_goldens::load() else {
        return;
    };
    let model = VadModel::builtin().unwrap();
    let g = goldens
        .iter()
        .find(|g| g.name == "jfk" && g.rate == 16000)
        .unwrap();
    let up: Vec<f32> = g.audio.iter().flat_map(|&s| [s, s, s]).collect();
    let (params, want) = &g.segments[0];
    let got = speech_segments(model.clone(), &up, 48000, config(params)).unwrap();
    let want: Vec<Segment> = want
        .iter()
        .map(|&(a, b)| Segment {
            start: 3 * a,
            end: 3 * b,
        })
        .collect();
    assert_eq!(got, want);
    let mut vad = Vad::new(model, 48000, config(params)).unwrap();
    assert_eq!(vad.window(), 1536);
    assert_eq!(run_chunked(&mut vad, &up, &[1000, 7]), want);
}

#[test]
fn probabilities_are_reported_per_window() {
    let model = VadModel::builtin().unwrap();
    let mut vad = Vad::new(model, 8000, VadConfig::default()).unwrap();
    vad.keep_probs(true);
    vad.accept(&vec![0.0; 1000]).unwrap();
    assert_eq!(vad.take_probs().len(), 3);
    vad.finish().unwrap();
    let last = vad.take_probs();
    assert_eq!(last.len(), 1);
    assert!(last[0] < 0.1, "silence is not speech: {last:?}");
}

#[test]
fn bad_input_gets_named_errors() {
    let model = VadModel::builtin().unwrap();
    let e = Vad::new(model.clone(), 44100, VadConfig::default()).unwrap_err();
    assert!(
        matches!(
            e,
            AsrError::Vad(VadModelError::UnsupportedRate { rate: 44100, .. })
        ),
        "{e}"
    );
    assert!(e.to_string().contains("44100"), "{e}");
    let mut vad = Vad::new(model.clone(), 16000, VadConfig::default()).unwrap();
    vad.accept(&[0.0; 300]).unwrap();
    let e = vad.finish().unwrap_err();
    assert!(
        matches!(
            e,
            AsrError::VadTooShort {
                samples: 300,
                needed: 512,
                rate: 16000
            }
        ),
        "{e}"
    );
    assert!(matches!(vad.accept(&[0.0]), Err(AsrError::InputFinished)));
    let mut vad = Vad::new(model.clone(), 16000, VadConfig::default()).unwrap();
    assert!(matches!(vad.finish(), Err(AsrError::EmptyAudio)));
    let mut vad = Vad::new(model.clone(), 16000, VadConfig::default()).unwrap();
    let e = vad.accept(&[0.0, 0.1, f32::INFINITY]).unwrap_err();
    assert!(matches!(e, AsrError::NonFinite { index: 2 }), "{e}");
    let bad = VadConfig {
        threshold: f64::NAN,
        ..VadConfig::default()
    };
    assert!(matches!(
        Vad::new(model.clone(), 16000, bad),
        Err(AsrError::VadConfig(_))
    ));
    let e = VadModel::load("/nonexistent/vad.safetensors").unwrap_err();
    assert!(matches!(e, AsrError::ModelNotFound(_)), "{e}");
}

#[test]
fn model_is_shared_and_vad_is_send() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<VadModel>();
    send::<Vad>();
}
