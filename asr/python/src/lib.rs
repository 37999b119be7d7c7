//! `sotto._sotto`: the native module behind the `sotto` Python package (the package's
//! `__init__.py` re-exports it; `__init__.pyi` holds the type hints).
//!
//! Every call that computes (model loading, feeding audio, decoding, reading files) releases
//! the GIL, so other Python threads run meanwhile. Samples arrive as the bytes of a float32
//! array (see `samples`).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use sotto_asr::recognizer::{self as r, RecognizerConfig};
use sotto_asr::vad::{VadConfig, VadEvent, VadModel};
use sotto_asr::wakeword::WakeWordModel;
use std::path::PathBuf;

/// An error of the recognizer, wake-word detector or VAD as a Python `ValueError` (bad input,
/// missing file, bad model) carrying the library's message.
fn err(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// Samples from the bytes of a native-endian float32 array (the package's Python layer passes
/// `numpy.ndarray.tobytes()`: the buffer protocol is not in the stable ABI before Python 3.11,
/// and the samples are copied before the GIL is released anyway).
fn samples(bytes: &[u8]) -> PyResult<Vec<f32>> {
    if !bytes.len().is_multiple_of(4) {
        return Err(PyValueError::new_err(format!(
            "{} bytes is not a whole number of float32 samples",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// One recognized word: `word`, `start` and `end` (seconds from the stream start) and
/// `confidence` in (0, 1].
#[pyclass(module = "sotto", frozen, get_all)]
#[derive(Clone)]
struct Word {
    word: String,
    start: f32,
    end: f32,
    confidence: f32,
}

#[pymethods]
impl Word {
    fn __repr__(&self) -> String {
        format!(
            "Word({:?}, start={:.2}, end={:.2}, confidence={:.3})",
            self.word, self.start, self.end, self.confidence
        )
    }
}

/// A recognition result: `text` and `words` (with times).
#[pyclass(module = "sotto", frozen, get_all)]
struct Transcript {
    text: String,
    words: Vec<Word>,
}

#[pymethods]
impl Transcript {
    fn __repr__(&self) -> String {
        format!("Transcript({:?}, {} words)", self.text, self.words.len())
    }

    fn __str__(&self) -> String {
        self.text.clone()
    }
}

impl From<r::Transcript> for Transcript {
    fn from(t: r::Transcript) -> Self {
        Transcript {
            text: t.text,
            words: t
                .words
                .into_iter()
                .map(|w| Word {
                    word: w.word,
                    start: w.start,
                    end: w.end,
                    confidence: w.confidence,
                })
                .collect(),
        }
    }
}

/// A loaded model and search configuration, shared by any number of streams.
#[pyclass(module = "sotto", frozen)]
struct Recognizer {
    rec: r::Recognizer,
}

#[pymethods]
impl Recognizer {
    #[new]
    #[pyo3(signature = (model=None, *, beam=None, no_lm=false, lm=None, lexicon=None, hotwords=None, hotword_boost=1.5, ctc=false, stop_at_endpoints=false, lm_weight=None, word_bonus=None, blank_penalty=None, lodr_weight=None, ctc_weight=None, ctc_expand=None, file_cmn=None, mbr_scale=None, score_beam=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        model: Option<PathBuf>,
        beam: Option<usize>,
        no_lm: bool,
        lm: Option<PathBuf>,
        lexicon: Option<PathBuf>,
        hotwords: Option<PathBuf>,
        hotword_boost: f32,
        ctc: bool,
        stop_at_endpoints: bool,
        lm_weight: Option<f32>,
        word_bonus: Option<f32>,
        blank_penalty: Option<f32>,
        lodr_weight: Option<f32>,
        ctc_weight: Option<f32>,
        ctc_expand: Option<usize>,
        file_cmn: Option<f32>,
        mbr_scale: Option<f32>,
        score_beam: Option<f32>,
    ) -> PyResult<Self> {
        let model = match model {
            Some(m) => m,
            None => r::Recognizer::default_model().map_err(err)?,
        };
        let mut c = RecognizerConfig::new(model);
        c.beam = beam.unwrap_or(r::default_beam(ctc));
        c.no_lm = no_lm;
        c.lm = lm;
        c.lexicon = lexicon;
        c.hotwords = hotwords;
        c.hotword_boost = hotword_boost;
        c.ctc = ctc;
        c.stop_at_endpoints = stop_at_endpoints;
        // None keeps the library's defaults (one source of truth for the tuned values).
        c.lm_weight = lm_weight.unwrap_or(c.lm_weight);
        c.word_bonus = word_bonus.unwrap_or(c.word_bonus);
        c.blank_penalty = blank_penalty.or(c.blank_penalty);
        c.lodr_weight = lodr_weight.unwrap_or(c.lodr_weight);
        c.ctc_weight = ctc_weight.or(c.ctc_weight);
        c.ctc_expand = ctc_expand.or(c.ctc_expand);
        c.file_cmn = file_cmn.unwrap_or(c.file_cmn);
        c.mbr_scale = mbr_scale.or(c.mbr_scale);
        c.score_beam = score_beam.or(c.score_beam);
        let rec = py.allow_threads(|| r::Recognizer::new(c)).map_err(err)?;
        Ok(Recognizer { rec })
    }

    /// A new, independent audio stream.
    fn stream(&self) -> Stream {
        Stream {
            stream: self.rec.stream(),
        }
    }

    /// Path of the loaded model.
    #[getter]
    fn model_path(&self) -> PathBuf {
        self.rec.model_path().to_path_buf()
    }

    /// Transcribes a file like `sotto transcribe` (one stream fed one-second chunks).
    fn transcribe(&self, py: Python<'_>, path: PathBuf) -> PyResult<Transcript> {
        let rec = &self.rec;
        py.allow_threads(|| rec.transcribe_file(&path))
            .map(|f| Transcript::from(f.transcript))
            .map_err(|e| PyValueError::new_err(format!("{}: {e}", path.display())))
    }

    fn __repr__(&self) -> String {
        format!("Recognizer({:?})", self.rec.model_path())
    }
}

/// One audio stream: `accept` audio, read `partial`, `finish`.
#[pyclass(module = "sotto")]
struct Stream {
    stream: r::Stream,
}

#[pymethods]
impl Stream {
    /// Feeds float32 samples in [-1, 1) at `rate` Hz (8–48 kHz; fixed until finish/reset) and
    /// decodes them.
    fn accept(&mut self, py: Python<'_>, samples: &[u8], rate: u32) -> PyResult<()> {
        let x = self::samples(samples)?;
        let s = &mut self.stream;
        py.allow_threads(|| s.accept_waveform(rate, &x).and_then(|()| s.decode()))
            .map_err(err)
    }

    /// Text of the current best hypothesis of this segment.
    fn partial(&self) -> String {
        self.stream.partial()
    }

    /// The current best hypothesis with words and times.
    fn partial_transcript(&self) -> Transcript {
        self.stream.partial_transcript().into()
    }

    /// Whether an endpoint rule fires (take the segment with `finish_segment`).
    fn is_endpoint(&self) -> bool {
        self.stream.is_endpoint()
    }

    /// Final result of the current segment; decoding goes on in a new one.
    fn finish_segment(&mut self) -> Transcript {
        self.stream.finish_segment().into()
    }

    /// End of audio: decodes the rest and returns the final transcript; the stream is reset.
    fn finish(&mut self, py: Python<'_>) -> PyResult<Transcript> {
        let s = &mut self.stream;
        py.allow_threads(|| s.finish()).map(Into::into).map_err(err)
    }

    /// Forgets all audio and results.
    fn reset(&mut self) {
        self.stream.reset();
    }

    /// Seconds of audio accepted since the last reset.
    #[getter]
    fn duration(&self) -> f64 {
        self.stream.duration()
    }
}

/// A wake-word detection: `wake_word`, `model` index, `time` (seconds, end of the detecting
/// window) and `score` (sliding-window mean probability).
#[pyclass(module = "sotto", frozen, get_all)]
struct Detection {
    wake_word: String,
    model: usize,
    time: f64,
    score: f32,
}

#[pymethods]
impl Detection {
    fn __repr__(&self) -> String {
        format!(
            "Detection({:?}, time={:.3}, score={:.3})",
            self.wake_word, self.time, self.score
        )
    }
}

fn detections(d: Vec<sotto_asr::Detection>) -> Vec<Detection> {
    d.into_iter()
        .map(|d| Detection {
            wake_word: d.wake_word,
            model: d.model,
            time: d.time,
            score: d.score,
        })
        .collect()
}

/// A wake-word detector over microWakeWord models (`.json` manifests).
#[pyclass(module = "sotto")]
struct WakeWord {
    wake: sotto_asr::WakeWord,
}

#[pymethods]
impl WakeWord {
    #[new]
    #[pyo3(signature = (manifests, rate=16000))]
    fn new(py: Python<'_>, manifests: Vec<PathBuf>, rate: u32) -> PyResult<Self> {
        if manifests.is_empty() {
            return Err(PyValueError::new_err("no wake-word manifests given"));
        }
        let wake = py
            .allow_threads(|| {
                let models = manifests
                    .iter()
                    .map(WakeWordModel::load)
                    .collect::<Result<Vec<_>, _>>()?;
                sotto_asr::WakeWord::new(models, rate)
            })
            .map_err(err)?;
        Ok(WakeWord { wake })
    }

    /// Feeds float32 samples in [-1, 1] at the detector's rate; returns the detections.
    fn accept(&mut self, py: Python<'_>, samples: &[u8]) -> PyResult<Vec<Detection>> {
        let x = self::samples(samples)?;
        let w = &mut self.wake;
        let d = py.allow_threads(|| w.accept_f32(&x)).map_err(err)?;
        Ok(detections(d))
    }

    /// End of the stream: the last detections; the detector is reset for a new stream.
    fn finish(&mut self) -> Vec<Detection> {
        let d = self.wake.finish(None);
        self.wake.reset();
        detections(d)
    }

    /// Names of the wake words, in model order.
    #[getter]
    fn names(&self) -> Vec<String> {
        self.wake.models().map(|m| m.name().to_string()).collect()
    }
}

/// Voice activity detection (Silero VAD) over a stream.
#[pyclass(module = "sotto")]
struct Vad {
    vad: sotto_asr::vad::Vad,
}

#[pymethods]
impl Vad {
    #[new]
    #[pyo3(signature = (rate=16000, *, model=None, threshold=0.5, min_speech_ms=250, min_silence_ms=100, speech_pad_ms=30))]
    fn new(
        rate: u32,
        model: Option<PathBuf>,
        threshold: f64,
        min_speech_ms: u32,
        min_silence_ms: u32,
        speech_pad_ms: u32,
    ) -> PyResult<Self> {
        let m = match model {
            Some(p) => VadModel::load(p),
            None => VadModel::builtin(),
        }
        .map_err(err)?;
        let cfg = VadConfig {
            threshold,
            neg_threshold: None,
            min_speech_ms,
            min_silence_ms,
            speech_pad_ms,
        };
        let vad = sotto_asr::vad::Vad::new(m, rate, cfg).map_err(err)?;
        Ok(Vad { vad })
    }

    /// Feeds float32 samples; returns the events: `("start", t)` and `("end", start, end)`
    /// tuples in seconds.
    fn accept(&mut self, py: Python<'_>, samples: &[u8]) -> PyResult<Vec<PyObject>> {
        let x = self::samples(samples)?;
        let v = &mut self.vad;
        py.allow_threads(|| v.accept(&x)).map_err(err)?;
        self.events(py)
    }

    /// End of the stream: closes an open segment, returns the last events; resets.
    fn finish(&mut self, py: Python<'_>) -> PyResult<Vec<PyObject>> {
        let r = self.vad.finish().map_err(err);
        let out = r.and_then(|()| self.events(py));
        self.vad.reset();
        out
    }
}

impl Vad {
    fn events(&mut self, py: Python<'_>) -> PyResult<Vec<PyObject>> {
        let rate = f64::from(self.vad.sample_rate());
        self.vad
            .events()
            .collect::<Vec<_>>()
            .into_iter()
            .map(|e| match e {
                VadEvent::Start(s) => ("start", s as f64 / rate)
                    .into_pyobject(py)
                    .map(|o| o.into_any().unbind()),
                VadEvent::End(seg) => ("end", seg.start as f64 / rate, seg.end as f64 / rate)
                    .into_pyobject(py)
                    .map(|o| o.into_any().unbind()),
            })
            .collect()
    }
}

/// sotto's native module.
#[pymodule]
fn _sotto(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Recognizer>()?;
    m.add_class::<Stream>()?;
    m.add_class::<Transcript>()?;
    m.add_class::<Word>()?;
    m.add_class::<WakeWord>()?;
    m.add_class::<Detection>()?;
    m.add_class::<Vad>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
