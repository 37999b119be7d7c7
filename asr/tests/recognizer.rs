//! Recognizer / Stream: parity of greedy tokens with PyTorch (features and audio in), streaming
//! = one-shot for any chunking, many streams on one model, endpoints, errors.

use ndarray::{Array1, Array2};
use ndarray_npy::NpzReader;
use proptest::prelude::*;
use sotto_asr::recognizer::{EndpointConfig, Recognizer, RecognizerConfig, Transcript};
use sotto_asr::AsrError;
use sotto_models::transducer::{
    random_model_bytes, tiny_hyperparameters, Hyperparameters, Transducer,
};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod common;
use common::{chunked, one_shot, one_shot_at};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/tests/data/transducer")
}

/// PyTorch golden models (`tools/train/export.py --golden`): `tiny` (LSTM with projection),
/// `tiny_ln` (no projection, residual adds and post-layer LayerNorm) and `tiny_look` (with the
/// chunked look-ahead layer; its clip ends in a partial chunk, which only the end-of-stream flush
/// releases).
const GOLDENS: [&str; 3] = ["tiny", "tiny_ln", "tiny_look"];

/// The PyTorch golden model `stem`, or `None` (skip) when the golden files are absent.
fn golden_recognizer(stem: &str, beam: usize) -> Option<(Recognizer, Array2<f32>, Vec<usize>)> {
    let dir = golden_dir();
    let model = dir.join(format!("{stem}.safetensors"));
    let npz = dir.join(format!("{stem}_golden.npz"));
    if !model.exists() || !npz.exists() {
        eprintln!("skipping: golden files absent in {}", dir.display());
        return None;
    }
    let mut z = NpzReader::new(std::fs::File::open(npz).unwrap()).unwrap();
    let feats: Array2<f32> = z.by_name("features").unwrap();
    let tokens: Array1<i64> = z.by_name("greedy_tokens").unwrap();
    let rec = Recognizer::new(RecognizerConfig {
        beam,
        blank_penalty: Some(0.0), // PyTorch's greedy decode has none
        ..RecognizerConfig::new(model)
    })
    .unwrap();
    Some((rec, feats, tokens.iter().map(|&t| t as usize).collect()))
}

fn ids(t: &Transcript) -> Vec<usize> {
    t.tokens.iter().map(|t| t.id).collect()
}

#[test]
fn greedy_tokens_match_pytorch_from_features() {
    for stem in GOLDENS {
        let Some((rec, feats, golden)) = golden_recognizer(stem, 1) else {
            continue;
        };
        let mut s = rec.stream();
        s.accept_features(feats.as_slice().unwrap()).unwrap();
        assert_eq!(ids(&s.finish().unwrap()), golden, "{stem}");
    }
}

/// Minimal reader for the 16-bit mono WAV of the golden clip (the frontend owns real decoding).
fn read_wav_s16(path: &Path) -> (u32, Vec<f32>) {
    let b = std::fs::read(path).unwrap();
    let rate = u32::from_le_bytes(b[24..28].try_into().unwrap());
    let mut i = 12;
    while &b[i..i + 4] != b"data" {
        i += 8 + u32::from_le_bytes(b[i + 4..i + 8].try_into().unwrap()) as usize;
    }
    let n = u32::from_le_bytes(b[i + 4..i + 8].try_into().unwrap()) as usize;
    let pcm = &b[i + 8..i + 8 + n];
    (
        rate,
        pcm.chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]) as f32 / 32768.0)
            .collect(),
    )
}

/// Audio → fbank → encoder → greedy search end to end gives PyTorch's tokens (the golden
/// features are kaldi-native-fbank of this clip; the argmax margins are ≥ 0.02).
#[test]
fn greedy_tokens_match_pytorch_from_audio_in_chunks() {
    for stem in GOLDENS {
        let Some((rec, _, golden)) = golden_recognizer(stem, 1) else {
            continue;
        };
        let (rate, audio) = read_wav_s16(&golden_dir().join("espeak_hello.wav"));
        assert_eq!(rate, 16000);
        let mut s = rec.stream();
        for chunk in audio.chunks(1234) {
            s.accept_waveform(rate, chunk).unwrap();
            s.decode().unwrap();
        }
        assert_eq!(ids(&s.finish().unwrap()), golden, "{stem}");
    }
}

#[test]
fn beam_search_runs_on_golden_model() {
    let Some((rec, feats, _)) = golden_recognizer("tiny", 4) else {
        return;
    };
    let mut s = rec.stream();
    s.accept_features(feats.as_slice().unwrap()).unwrap();
    let t = s.finish().unwrap();
    assert!(!t.tokens.is_empty());
    assert!(t
        .words
        .iter()
        .all(|w| w.start <= w.end && w.confidence > 0.0 && w.confidence <= 1.0));
}

/// A random-weight tiny model shared by the tests below.
fn random_recognizer(beam: usize) -> Recognizer {
    static MODEL: OnceLock<Transducer> = OnceLock::new();
    let t = MODEL.get_or_init(|| {
        Transducer::from_bytes(
            &random_model_bytes(&tiny_hyperparameters(), 5, true),
            "tiny-random",
        )
        .unwrap()
    });
    Recognizer::from_transducer(
        t.clone(),
        RecognizerConfig {
            beam,
            ..RecognizerConfig::new("tiny-random")
        },
    )
    .unwrap()
}

/// Speech-like synthetic audio: a few gliding tones with amplitude bursts.
fn synth(seconds: f32, seed: u32) -> Vec<f32> {
    synth_at(16000, seconds, seed)
}

fn synth_at(rate: u32, seconds: f32, seed: u32) -> Vec<f32> {
    let n = (seconds * rate as f32) as usize;
    (0..n)
        .map(|i| {
            let t = i as f32 / rate as f32;
            let env = (0.5 + 0.5 * (t * 3.0 + seed as f32).sin()).powi(2);
            let f = 200.0 + 150.0 * (t * 1.3 + seed as f32 * 0.7).sin();
            env * 0.3
                * ((2.0 * std::f32::consts::PI * f * t).sin()
                    + 0.3 * (2.0 * std::f32::consts::PI * 3.1 * f * t).sin())
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    /// Any chunking (with or without intermediate decode calls) gives the one-shot transcript.
    #[test]
    fn any_chunking_equals_one_shot(
        cuts in proptest::collection::vec(1usize..4000, 1..12),
        beam in 1usize..4,
        decode_each in any::<bool>(),
        rate in prop::sample::select(vec![16000u32, 8000, 22050, 44100, 48000]),
    ) {
        let rec = random_recognizer(beam);
        let audio = synth_at(rate, 1.5, 1);
        let want = one_shot_at(&rec, rate, &audio);
        prop_assert_eq!(chunked(&rec, rate, &audio, &cuts, decode_each), want);
    }
}

/// A model with the chunked look-ahead layer: encoder frames reach the search a chunk at a time
/// and the rest at the end, and any chunking still gives the one-shot transcript.
#[test]
fn lookahead_model_chunking_equals_one_shot() {
    let hp = Hyperparameters {
        proj: 0,
        residual: true,
        layer_norm: true,
        lookahead_chunk: 4,
        ..tiny_hyperparameters()
    };
    let t = Transducer::from_bytes(&random_model_bytes(&hp, 5, true), "look").unwrap();
    let rec = Recognizer::from_transducer(
        t,
        RecognizerConfig {
            beam: 2,
            ..RecognizerConfig::new("look")
        },
    )
    .unwrap();
    let audio = synth(1.53, 3);
    let want = one_shot(&rec, &audio);
    assert!(!want.tokens.is_empty());
    // The same audio through the same-sized model without look-ahead: every frame it decodes is
    // decoded here too, the last chunk's only once the input is finished.
    let plain = Transducer::from_bytes(
        &random_model_bytes(
            &Hyperparameters {
                lookahead_chunk: 0,
                ..hp.clone()
            },
            5,
            true,
        ),
        "plain",
    )
    .unwrap();
    let plain = Recognizer::from_transducer(plain, RecognizerConfig::new("plain")).unwrap();
    let frames = |rec: &Recognizer, finished: bool| {
        let mut s = rec.stream();
        s.accept_waveform(16000, &audio).unwrap();
        if finished {
            s.input_finished().unwrap();
        }
        s.decode().unwrap();
        s.frames_decoded()
    };
    let (all, early) = (frames(&plain, true), frames(&plain, false));
    assert!(
        all % 4 != 0,
        "{all} frames: the last chunk must be partial for this test"
    );
    assert_eq!(frames(&rec, false), early / 4 * 4);
    assert_eq!(frames(&rec, true), all);
    for cuts in [&[160usize, 777, 3001][..], &[4000, 1, 2222], &[24480]] {
        for decode_each in [false, true] {
            assert_eq!(chunked(&rec, 16000, &audio, cuts, decode_each), want);
        }
    }
}

#[test]
fn random_model_emits_words_with_times() {
    let t = one_shot(&random_recognizer(4), &synth(2.0, 2));
    assert!(
        !t.text.is_empty(),
        "the random model should emit something on 2 s of audio"
    );
    assert_eq!(
        t.text,
        t.words
            .iter()
            .map(|w| w.word.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    );
    for w in t.words.windows(2) {
        assert!(w[0].start <= w[1].start);
    }
}

#[test]
fn many_streams_share_one_model_across_threads() {
    let rec = random_recognizer(2);
    let audios: Vec<Vec<f32>> = (0..4).map(|i| synth(1.0 + 0.2 * i as f32, i)).collect();
    let want: Vec<Transcript> = audios.iter().map(|a| one_shot(&rec, a)).collect();
    let got: Vec<Transcript> = std::thread::scope(|sc| {
        let handles: Vec<_> = audios
            .iter()
            .map(|a| {
                let rec = rec.clone();
                sc.spawn(move || {
                    let mut s = rec.stream();
                    for c in a.chunks(800) {
                        s.accept_waveform(16000, c).unwrap();
                        s.decode().unwrap();
                    }
                    s.finish().unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(got, want);
}

#[test]
fn stream_is_reusable_after_finish_and_reset() {
    let rec = random_recognizer(1);
    let (a, b) = (synth(1.0, 3), synth(1.0, 4));
    let mut s = rec.stream();
    s.accept_waveform(16000, &a).unwrap();
    let ta = s.finish().unwrap();
    s.accept_waveform(16000, &b).unwrap();
    assert_eq!(s.finish().unwrap(), one_shot(&rec, &b));
    s.accept_waveform(16000, &b[..5000]).unwrap();
    s.reset();
    s.accept_waveform(16000, &a).unwrap();
    assert_eq!(s.finish().unwrap(), ta);
}

#[test]
fn endpoint_rule3_segments_long_audio() {
    let t = Transducer::from_bytes(&random_model_bytes(&tiny_hyperparameters(), 5, false), "m")
        .unwrap();
    let mut endpoint = EndpointConfig::default();
    endpoint.rule3.min_utterance_length = 1.0;
    let rec = Recognizer::from_transducer(
        t,
        RecognizerConfig {
            beam: 1,
            endpoint,
            ..RecognizerConfig::new("m")
        },
    )
    .unwrap();
    let mut s = rec.stream();
    let audio = synth(1.5, 5);
    s.accept_waveform(16000, &audio[..8000]).unwrap();
    s.decode().unwrap();
    assert!(
        !s.is_endpoint(),
        "0.5 s is shorter than the 1 s segment limit"
    );
    s.accept_waveform(16000, &audio[8000..]).unwrap();
    s.decode().unwrap();
    assert!(s.is_endpoint());
    let seg = s.finish_segment();
    assert!(
        !s.is_endpoint(),
        "a new segment starts after finish_segment"
    );
    assert!(seg.words.iter().all(|w| w.end <= 1.5));
}

#[test]
fn errors_name_the_problem() {
    let err = |c: RecognizerConfig| Recognizer::new(c).unwrap_err();
    let dir = std::env::temp_dir().join(format!("sotto-asr-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("nope.safetensors");
    assert!(matches!(
        err(RecognizerConfig::new(&missing)),
        AsrError::ModelNotFound(_)
    ));
    let corrupt = dir.join("corrupt.safetensors");
    std::fs::write(&corrupt, b"\x10\0\0\0\0\0\0\0{not json").unwrap();
    let e = err(RecognizerConfig::new(&corrupt));
    assert!(
        matches!(e, AsrError::Model(_)) && e.to_string().contains("corrupt.safetensors"),
        "{e}"
    );
    let hw = dir.join("hotwords.txt");
    std::fs::write(&hw, "HELLO :abc\n").unwrap();
    if golden_dir().join("tiny.safetensors").exists() {
        let c = RecognizerConfig {
            hotwords: Some(hw.clone()),
            ..RecognizerConfig::new(golden_dir().join("tiny.safetensors"))
        };
        let e = err(c);
        assert!(
            matches!(e, AsrError::Hotwords { .. }) && e.to_string().contains("hotwords.txt"),
            "{e}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();

    let rec = random_recognizer(1);
    let mut s = rec.stream();
    assert!(matches!(s.finish(), Err(AsrError::EmptyAudio)));
    s.accept_waveform(16000, &[0.0; 100]).unwrap();
    assert!(matches!(
        s.accept_waveform(8000, &[0.0; 100]),
        Err(AsrError::RateChanged {
            from: 16000,
            to: 8000
        })
    ));
    assert!(matches!(
        s.accept_waveform(16000, &[0.0, f32::NAN]),
        Err(AsrError::NonFinite { index: 101 })
    ));
    s.reset();
    assert!(s.accept_waveform(0, &[0.0; 10]).is_err());
    s.reset();
    assert!(matches!(
        s.accept_waveform(96000, &[0.0; 10]),
        Err(AsrError::Frontend(_))
    ));
}

#[test]
fn recognizer_and_stream_are_thread_safe_types() {
    fn check<T: Send + Sync>() {}
    fn send<T: Send>() {}
    check::<Recognizer>();
    send::<sotto_asr::recognizer::Stream>();
}

/// 44.1 kHz input is resampled to 16 kHz: durations and word times stay in input seconds.
#[test]
fn other_rates_are_resampled() {
    let rec = random_recognizer(1);
    let mut s = rec.stream();
    s.accept_waveform(44100, &synth_at(44100, 1.0, 2)).unwrap();
    assert!((s.duration() - 1.0).abs() < 1e-9);
    let t = s.finish().unwrap();
    assert!(t.words.iter().all(|w| w.end <= 1.0 + 1e-6), "{t:?}");
}

/// A strongly boosted hotword phrase (lower-case in the file; the model's pieces are upper-case)
/// shows up in the beam-search result; without it, it does not.
#[test]
fn hotwords_bias_the_search() {
    let Some((plain, feats, _)) = golden_recognizer("tiny", 4) else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("sotto-asr-hw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let hw = dir.join("hotwords.txt");
    std::fs::write(&hw, "# boosted\nthe world :30\n").unwrap();
    let config = RecognizerConfig {
        beam: 4,
        hotwords: Some(hw),
        ..RecognizerConfig::new(golden_dir().join("tiny.safetensors"))
    };
    let biased = Recognizer::new(config).unwrap();
    let run = |rec: &Recognizer| {
        let mut s = rec.stream();
        s.accept_features(feats.as_slice().unwrap()).unwrap();
        s.finish().unwrap().text
    };
    assert!(!run(&plain).contains("THE WORLD"));
    assert!(run(&biased).contains("THE WORLD"));
    std::fs::remove_dir_all(&dir).ok();
}

/// Segments of a stream that stops at endpoints: collected the way a live caller does
/// (decode; while at an endpoint, take the segment and decode again).
fn segments(rec: &Recognizer, audio: &[f32], cuts: &[usize]) -> Vec<Transcript> {
    let mut s = rec.stream();
    let mut out = Vec::new();
    let drain = |s: &mut sotto_asr::recognizer::Stream, out: &mut Vec<Transcript>| {
        s.decode().unwrap();
        while s.is_endpoint() {
            out.push(s.finish_segment());
            s.decode().unwrap();
        }
    };
    let mut rest = audio;
    for c in cuts.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (a, b) = rest.split_at((*c).min(rest.len()));
        s.accept_waveform(16000, a).unwrap();
        drain(&mut s, &mut out);
        rest = b;
    }
    s.input_finished().unwrap();
    drain(&mut s, &mut out);
    assert!(matches!(
        s.accept_waveform(16000, &[0.0]),
        Err(AsrError::InputFinished)
    ));
    out.push(s.finish().unwrap());
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]
    /// With `stop_at_endpoints`, endpoints fall on the same frame for any chunking, so the
    /// segments (texts and times) are those of one-shot input.
    #[test]
    fn endpoint_segments_do_not_depend_on_chunking(cuts in proptest::collection::vec(1usize..9000, 1..8)) {
        let t = Transducer::from_bytes(&random_model_bytes(&tiny_hyperparameters(), 5, true), "m").unwrap();
        let mut endpoint = EndpointConfig::default();
        endpoint.rule3.min_utterance_length = 0.5;
        let config = RecognizerConfig { beam: 2, endpoint, stop_at_endpoints: true, ..RecognizerConfig::new("m") };
        let rec = Recognizer::from_transducer(t, config).unwrap();
        let audio = synth(2.3, 6);
        let want = segments(&rec, &audio, &[audio.len()]);
        prop_assert!(want.len() >= 4, "0.5 s segments of 2.3 s: {}", want.len());
        prop_assert_eq!(segments(&rec, &audio, &cuts), want);
    }
}

/// A random tiny model with a CTC head, shared by the tests below.
fn ctc_model() -> &'static Transducer {
    static MODEL: OnceLock<Transducer> = OnceLock::new();
    MODEL.get_or_init(|| {
        let hp = sotto_models::transducer::Hyperparameters {
            ctc: true,
            ..tiny_hyperparameters()
        };
        Transducer::from_bytes(&random_model_bytes(&hp, 7, true), "tiny-ctc").unwrap()
    })
}

/// The CTC-head model decoded through its CTC head (CTC prefix beam search).
fn random_ctc_recognizer(beam: usize) -> Recognizer {
    Recognizer::from_transducer(
        ctc_model().clone(),
        RecognizerConfig {
            beam,
            ctc: true,
            ..RecognizerConfig::new("tiny-ctc")
        },
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]
    /// CTC decoding is streaming too: any chunking gives the one-shot transcript.
    #[test]
    fn ctc_any_chunking_equals_one_shot(
        cuts in proptest::collection::vec(1usize..4000, 1..12),
        beam in 1usize..5,
        decode_each in any::<bool>(),
    ) {
        let rec = random_ctc_recognizer(beam);
        let audio = synth(1.5, 3);
        let want = one_shot(&rec, &audio);
        prop_assert_eq!(chunked(&rec, 16000, &audio, &cuts, decode_each), want);
    }
}

#[test]
fn ctc_decoding_emits_words_and_needs_a_ctc_head() {
    let t = one_shot(&random_ctc_recognizer(4), &synth(2.0, 2));
    assert!(
        !t.text.is_empty(),
        "the random CTC head should emit something on 2 s"
    );
    // Without a CTC head the request is refused with a message naming the problem.
    let plain = Transducer::from_bytes(
        &random_model_bytes(&tiny_hyperparameters(), 5, true),
        "no-ctc",
    )
    .unwrap();
    let config = RecognizerConfig {
        ctc: true,
        ..RecognizerConfig::new("no-ctc")
    };
    let Err(err) = Recognizer::from_transducer(plain, config) else {
        panic!("must fail");
    };
    assert!(err.to_string().contains("no CTC head"), "{err}");
}

/// The CTC-head model decoded by the transducer's beam search with `config`.
fn ctc_head_recognizer(config: RecognizerConfig) -> Result<Recognizer, sotto_asr::AsrError> {
    Recognizer::from_transducer(ctc_model().clone(), config)
}

#[test]
fn ctc_rescoring_is_on_by_default_where_it_applies() {
    use sotto_asr::recognizer::DEFAULT_CTC_WEIGHT;
    let cfg = |beam: usize, ctc_weight: Option<f32>| RecognizerConfig {
        beam,
        ctc_weight,
        ..RecognizerConfig::new("tiny-ctc")
    };
    let weight = |r: Recognizer| r.decoder_options().ctc_weight;
    assert_eq!(
        weight(ctc_head_recognizer(cfg(4, None)).unwrap()),
        DEFAULT_CTC_WEIGHT
    );
    assert_eq!(weight(ctc_head_recognizer(cfg(4, Some(0.0))).unwrap()), 0.0);
    // Greedy search has one hypothesis, nothing to rescore: off unless asked, then an error.
    assert_eq!(weight(ctc_head_recognizer(cfg(1, None)).unwrap()), 0.0);
    let e = ctc_head_recognizer(cfg(1, Some(0.5))).err().unwrap();
    assert!(e.to_string().contains("needs modified beam search"), "{e}");
    // A model without a CTC head: off by default, an error when asked for.
    assert_eq!(weight(random_recognizer(4)), 0.0);
    let plain = Transducer::from_bytes(
        &random_model_bytes(&tiny_hyperparameters(), 5, true),
        "no-ctc",
    )
    .unwrap();
    let e = Recognizer::from_transducer(plain, cfg(4, Some(0.5)))
        .err()
        .unwrap();
    assert!(e.to_string().contains("no CTC head"), "{e}");
    let e = ctc_head_recognizer(cfg(4, Some(-1.0))).err().unwrap();
    assert!(e.to_string().contains("ctc_weight -1"), "{e}");
    // CTC scoring inside the search: DEFAULT_CTC_EXPAND unless set; 0 is an error.
    use sotto_asr::recognizer::DEFAULT_CTC_EXPAND;
    let expand = |e: Option<usize>| RecognizerConfig {
        ctc_expand: e,
        ..cfg(4, None)
    };
    let of = |r: Recognizer| r.decoder_options().ctc_expand;
    assert_eq!(
        of(ctc_head_recognizer(expand(None)).unwrap()),
        DEFAULT_CTC_EXPAND
    );
    const {
        assert!(
            DEFAULT_CTC_EXPAND > 1,
            "CTC scoring in the search is the default"
        )
    };
    assert_eq!(of(ctc_head_recognizer(expand(Some(1))).unwrap()), 1);
    let e = ctc_head_recognizer(expand(Some(0))).err().unwrap();
    assert!(e.to_string().contains("ctc_expand 0"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]
    /// With CTC rescoring (at a weight that lets the CTC head decide), any chunking still
    /// gives the one-shot transcript.
    #[test]
    fn ctc_rescoring_any_chunking_equals_one_shot(
        cuts in proptest::collection::vec(1usize..4000, 1..12),
        decode_each in any::<bool>(),
    ) {
        // The default ctc_expand: the CTC term shapes the beam too.
        let rec = ctc_head_recognizer(RecognizerConfig {
            beam: 4,
            ctc_weight: Some(2.0),
            ..RecognizerConfig::new("tiny-ctc")
        }).unwrap();
        prop_assert!(rec.decoder_options().ctc_expand > 1);
        let audio = synth(1.5, 3);
        let want = one_shot(&rec, &audio);
        prop_assert_eq!(chunked(&rec, 16000, &audio, &cuts, decode_each), want);
    }
}

/// `transcribe_file` with `file_cmn` a normalizes with (1 − a) × the model's mean + a × the mean
/// of the file's fbank frames — computed here by the frontend on the whole signal at once — so it
/// gives the transcript of a stream handed that mean; a = 0 is the model's own mean.
#[test]
fn file_cmn_normalizes_with_the_files_own_feature_mean() {
    let dir = std::env::temp_dir().join(format!("sotto-file-cmn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tones.wav");
    let pcm = sotto_testutil::gliding_tones(2.3, 4);
    sotto_testutil::write_wav(&path, 16000, 1, &pcm);
    let audio: Vec<f32> = pcm.iter().map(|&s| f32::from(s) / 32768.0).collect();
    let base = random_recognizer(3);
    let model = base.model().clone();
    let cfg: sotto_frontend::fbank::FbankConfig =
        serde_json::from_value(model.info().features.clone()).unwrap();
    let mut fbank = sotto_frontend::fbank::Fbank::new(cfg).unwrap();
    let mut feats = Vec::new();
    fbank.accept(&audio, &mut feats).unwrap();
    fbank.finish(&mut feats);
    let f = model.hyper().feat_dim;
    let frames = feats.len() / f;
    assert!(frames > 100);
    let mut sum = vec![0f64; f];
    for frame in feats.chunks_exact(f) {
        sum.iter_mut()
            .zip(frame)
            .for_each(|(s, &v)| *s += f64::from(v));
    }
    for a in [0.0f32, 0.5, 1.0] {
        let rec = Recognizer::from_transducer(
            model.clone(),
            RecognizerConfig {
                beam: 3,
                file_cmn: a,
                ..RecognizerConfig::new("tiny-random")
            },
        )
        .unwrap();
        let got = rec.transcribe_file(&path).unwrap().transcript;
        let in_memory = rec.adapted_feature_mean(16000, &audio).unwrap();
        let want = if a == 0.0 {
            assert_eq!(in_memory, None);
            one_shot(&rec, &audio)
        } else {
            let mean: Vec<f32> = model
                .cmvn_mean()
                .iter()
                .zip(&sum)
                .map(|(&g, &s)| {
                    ((1.0 - f64::from(a)) * f64::from(g) + f64::from(a) * s / frames as f64) as f32
                })
                .collect();
            assert_eq!(in_memory.as_deref(), Some(&mean[..]), "file_cmn {a}");
            let mut s = rec.stream();
            s.set_feature_mean(Some(&mean)).unwrap();
            s.accept_waveform(16000, &audio).unwrap();
            s.finish().unwrap()
        };
        assert_eq!(ids(&got), ids(&want), "file_cmn {a}");
        assert_eq!(got.text, want.text, "file_cmn {a}");
    }
    let bad = Recognizer::from_transducer(
        model,
        RecognizerConfig {
            file_cmn: 1.5,
            ..RecognizerConfig::new("tiny-random")
        },
    )
    .unwrap_err();
    assert!(bad.to_string().contains("file_cmn"), "{bad}");
    std::fs::remove_dir_all(&dir).ok();
}
