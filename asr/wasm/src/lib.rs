//! sotto in the browser: the recognizer (`Recognizer`, `Stream`) and the wake-word detector
//! (`WakeWord`) for JavaScript through wasm-bindgen. Models come in as bytes (the page fetches
//! them); there is no file system. Results are JSON strings, as in the C API:
//! `{"text", "words": [{"word", "start", "end", "confidence"}]}` and
//! `[{"wake_word", "model", "time", "score"}]`.
//!
//! The word LM is not loaded here (`no_lm`): its file is large for a page; the text then equals
//! the Rust API's with `RecognizerConfig::no_lm` (tested by `asr/wasm/test`).

use serde::Serialize;
use sotto_asr::recognizer::{self as r, RecognizerConfig};
use sotto_asr::wakeword::{WakeWordModel, WakeWordSettings};
use sotto_models::transducer::Transducer;
use wasm_bindgen::prelude::*;

fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

#[derive(Serialize)]
struct TranscriptJson<'a> {
    text: &'a str,
    words: &'a [r::Word],
}

fn transcript_json(t: &r::Transcript) -> String {
    serde_json::to_string(&TranscriptJson {
        text: &t.text,
        words: &t.words,
    })
    .unwrap_or_default()
}

/// A loaded model, shared by its streams.
#[wasm_bindgen]
pub struct Recognizer {
    rec: r::Recognizer,
}

#[wasm_bindgen]
impl Recognizer {
    /// Loads a sotto `.safetensors` model from its bytes; `beam` left out (`undefined`) is the
    /// CLI's default ([`r::DEFAULT_BEAM`]).
    #[wasm_bindgen(constructor)]
    pub fn new(model: &[u8], beam: Option<usize>) -> Result<Recognizer, JsError> {
        let name = "model.safetensors";
        let t = Transducer::from_bytes(model, name).map_err(js_err)?;
        let mut c = RecognizerConfig::new(name);
        c.beam = beam.unwrap_or(c.beam);
        c.no_lm = true;
        c.use_companions = false;
        // Captions: the search stops at the exact frame where an endpoint fires, so the page's
        // lines do not depend on how the audio arrived (as `sotto caption`). A stream whose
        // segments are never finished holds its frames from the first endpoint until `finish`,
        // which decodes them all into one transcript (the self-test's, as `sotto transcribe`).
        c.stop_at_endpoints = true;
        let rec = r::Recognizer::from_transducer(t, c).map_err(js_err)?;
        Ok(Recognizer { rec })
    }

    /// A new audio stream.
    #[wasm_bindgen(js_name = createStream)]
    pub fn create_stream(&self) -> Stream {
        Stream {
            stream: self.rec.stream(),
        }
    }
}

/// One audio stream.
#[wasm_bindgen]
pub struct Stream {
    stream: r::Stream,
}

#[wasm_bindgen]
impl Stream {
    /// Feeds samples in [-1, 1) at `rate` Hz (8–48 kHz, resampled to 16 kHz) and decodes.
    pub fn accept(&mut self, samples: &[f32], rate: u32) -> Result<(), JsError> {
        self.stream
            .accept_waveform(rate, samples)
            .and_then(|()| self.stream.decode())
            .map_err(js_err)
    }

    /// Decodes what the stream holds (after `finishSegment`: the frames held back at the
    /// endpoint), up to the next endpoint.
    pub fn decode(&mut self) -> Result<(), JsError> {
        self.stream.decode().map_err(js_err)
    }

    /// Text of the current hypothesis of this segment.
    pub fn partial(&self) -> String {
        self.stream.partial()
    }

    /// Whether an endpoint rule fires.
    #[wasm_bindgen(js_name = isEndpoint)]
    pub fn is_endpoint(&self) -> bool {
        self.stream.is_endpoint()
    }

    /// The current segment's final result (JSON); decoding goes on in a new segment.
    #[wasm_bindgen(js_name = finishSegment)]
    pub fn finish_segment(&mut self) -> String {
        transcript_json(&self.stream.finish_segment())
    }

    /// End of audio: the final result of the current segment (JSON); the stream is reset.
    pub fn finish(&mut self) -> Result<String, JsError> {
        self.stream
            .finish()
            .map(|t| transcript_json(&t))
            .map_err(js_err)
    }

    /// Seconds of audio accepted since the last reset.
    pub fn duration(&self) -> f64 {
        self.stream.duration()
    }
}

/// A wake-word detector over one microWakeWord model.
#[wasm_bindgen]
pub struct WakeWord {
    wake: sotto_asr::WakeWord,
}

#[wasm_bindgen]
impl WakeWord {
    /// A detector for a `.tflite` model (bytes) with its manifest's text (the JSON `.json`
    /// file: `wake_word`, `micro.probability_cutoff`, `micro.sliding_window_size`,
    /// `micro.feature_step_size`) on audio at `rate` Hz.
    #[wasm_bindgen(constructor)]
    pub fn new(tflite: &[u8], manifest: &str, rate: u32) -> Result<WakeWord, JsError> {
        let settings =
            WakeWordSettings::from_manifest_text(manifest, "manifest.json").map_err(js_err)?;
        let name = format!("{}.tflite", settings.wake_word);
        let model = WakeWordModel::from_tflite_bytes(tflite, name, settings).map_err(js_err)?;
        let wake = sotto_asr::WakeWord::new(vec![model], rate).map_err(js_err)?;
        Ok(WakeWord { wake })
    }

    /// Feeds samples in [-1, 1]; returns the detections as a JSON array.
    pub fn accept(&mut self, samples: &[f32]) -> Result<String, JsError> {
        let d = self.wake.accept_f32(samples).map_err(js_err)?;
        serde_json::to_string(&d).map_err(js_err)
    }
}
