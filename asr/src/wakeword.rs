//! Wake-word detection with microWakeWord streaming models, reproducing pymicro-wakeword's
//! pipeline exactly: TFLite-Micro frontend → int8 quantization (round half to even in float64)
//! → the model on non-overlapping groups of `stride` frames → the mean of the last
//! `sliding_window_size` probabilities compared (strictly) with the cutoff.
//!
//! A [`WakeWordModel`] (TFLite graph plus settings) is immutable and shared via `Arc`; a
//! [`WakeWord`] detector holds the per-stream state of one or several models that share one
//! frontend per feature step.
//!
//! ```no_run
//! use sotto_asr::wakeword::{WakeWord, WakeWordModel};
//! let model = WakeWordModel::load("okay_nabu.json")?;
//! let mut detector = WakeWord::new(vec![model], 16000)?;
//! for d in detector.accept(&vec![0i16; 16000]) {
//!     println!("{} at {:.2} s (score {:.3})", d.wake_word, d.time, d.score);
//! }
//! # Ok::<(), sotto_asr::AsrError>(())
//! ```

mod manifest;

pub use manifest::WakeWordSettings;

use crate::AsrError;
use sotto_frontend::micro::{MicroFrontend, MicroFrontendConfig};
use sotto_frontend::resample::Resampler16k;
use sotto_models::micro::wake::{output_raw, FrameStacker, InputQuantizer};
pub use sotto_models::tflite::Kernels;
use sotto_models::tflite::{DType, Interpreter, Model};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Sample rate of the frontend and models (the frontend's one 16 kHz constant).
pub const MODEL_SAMPLE_RATE: u32 = sotto_frontend::resample::TARGET_RATE;

/// Default time after a detection during which the same model reports nothing, in seconds.
pub const DEFAULT_REFRACTORY_S: f64 = 2.0;

/// A loaded wake-word model: immutable, shareable between streams.
#[derive(Debug)]
pub struct WakeWordModel {
    settings: WakeWordSettings,
    tflite: Arc<Model>,
    path: PathBuf,
    stride: usize,
    channels: usize,
    input_q: InputQuantizer,
    out_signed: bool,
    kernels: Kernels,
}

impl WakeWordModel {
    /// Loads a model from a microWakeWord `.json` manifest (which names its `.tflite`).
    pub fn load(manifest: impl AsRef<Path>) -> Result<Arc<Self>, AsrError> {
        let path = manifest.as_ref();
        let m = manifest::read_manifest(path)?;
        Self::from_tflite(&m.model, m.settings)
    }

    /// Loads a `.tflite` file with explicit settings.
    pub fn from_tflite(
        path: impl AsRef<Path>,
        settings: WakeWordSettings,
    ) -> Result<Arc<Self>, AsrError> {
        let path = path.as_ref();
        settings.validate(path)?;
        Self::from_model(Model::load(path)?, path, settings)
    }

    /// Like [`WakeWordModel::from_tflite`] for a `.tflite` file already in memory (where there
    /// are no files, e.g. WebAssembly); `name` stands for its path in errors.
    pub fn from_tflite_bytes(
        bytes: &[u8],
        name: impl AsRef<Path>,
        settings: WakeWordSettings,
    ) -> Result<Arc<Self>, AsrError> {
        let path = name.as_ref();
        settings.validate(path)?;
        Self::from_model(Model::from_bytes(bytes)?, path, settings)
    }

    fn from_model(
        tflite: Model,
        path: &Path,
        settings: WakeWordSettings,
    ) -> Result<Arc<Self>, AsrError> {
        let err = |msg: String| AsrError::WakeWord {
            path: path.to_owned(),
            msg,
        };
        let (Some(input), Some(output)) = (tflite.inputs().next(), tflite.outputs().next()) else {
            return Err(err("the model needs one input and one output".into()));
        };
        let shape = &input.shape;
        let (stride, channels) = match shape[..] {
            [1, s, c] | [s, c] => (s, c),
            _ => {
                return Err(err(format!(
                    "input shape {shape:?} is not [1, stride, channels]"
                )))
            }
        };
        if input.dtype != DType::I8
            || input.scale.is_nan()
            || input.scale <= 0.0
            || stride == 0
            || channels == 0
        {
            return Err(err(format!(
                "input must be quantized int8 [1, stride, channels], is {:?} {shape:?}",
                input.dtype
            )));
        }
        let out_signed = match (output.dtype, output.zero_point) {
            (DType::U8, 0) => false,
            (DType::I8, -128) => true,
            (t, z) => {
                return Err(err(format!(
                    "output must be uint8 (zero point 0) or int8 (-128), is {t:?} ({z})"
                )))
            }
        };
        if output.elements() != 1 || output.scale != 1.0 / 256.0 {
            return Err(err("output must be one probability with scale 1/256".into()));
        }
        Ok(Arc::new(WakeWordModel {
            input_q: InputQuantizer::new(input.scale, input.zero_point),
            settings,
            tflite: Arc::new(tflite),
            path: path.to_owned(),
            stride,
            channels,
            out_signed,
            kernels: Kernels::Reference,
        }))
    }

    /// The same TFLite graph with other settings (e.g. a different cutoff).
    pub fn with_settings(&self, settings: WakeWordSettings) -> Result<Arc<Self>, AsrError> {
        settings.validate(&self.path)?;
        Ok(Arc::new(WakeWordModel {
            settings,
            tflite: self.tflite.clone(),
            path: self.path.clone(),
            ..*self
        }))
    }

    /// The same model computed with `kernels`' arithmetic: [`Kernels::Reference`] (the
    /// default: TFLite's reference kernels, as TFLite-Micro on a microcontroller) or
    /// [`Kernels::TfliteOptimized`] (TFLite's optimised x86 kernels, as pymicro-wakeword 2.5.0
    /// runs them; probabilities then match it byte for byte).
    pub fn with_kernels(&self, kernels: Kernels) -> Arc<Self> {
        Arc::new(WakeWordModel {
            settings: self.settings.clone(),
            tflite: self.tflite.clone(),
            path: self.path.clone(),
            kernels,
            ..*self
        })
    }

    /// The arithmetic detectors run this model with.
    pub fn kernels(&self) -> Kernels {
        self.kernels
    }

    /// The detection settings.
    pub fn settings(&self) -> &WakeWordSettings {
        &self.settings
    }

    /// Name reported in detections.
    pub fn name(&self) -> &str {
        &self.settings.wake_word
    }

    /// Feature frames per invocation.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// The `.tflite` file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The TFLite graph.
    pub fn tflite(&self) -> &Arc<Model> {
        &self.tflite
    }

    /// pymicro-wakeword's input quantization of one raw frontend value:
    /// `round_half_even(raw · 0.0390625 / scale + zero_point)` in float64, clamped to int8.
    #[inline]
    pub fn quantize(&self, raw: u16) -> i8 {
        self.input_q.quantize(raw)
    }
}

/// One detection. Serializes as `{"wake_word", "model", "time", "score"}` (the bindings' JSON).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Detection {
    /// The model's wake word.
    pub wake_word: String,
    /// Index of the model in the detector.
    pub model: usize,
    /// Audio time at the end of the invocation that fired, in seconds since the stream start.
    pub time: f64,
    /// The sliding-window mean probability that exceeded the cutoff.
    pub score: f32,
    /// The model invocation (0-based) that fired.
    #[serde(skip)]
    pub step: u64,
}

/// One model invocation, for score traces.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score {
    /// Index of the model in the detector.
    pub model: usize,
    /// Invocation index (0-based).
    pub step: u64,
    /// Raw quantized output (probability = `raw / 256`).
    pub raw: u8,
    /// Sliding-window mean (0 until the window is full), as pymicro-wakeword returns it.
    pub window_mean: f64,
    /// Audio time at the end of the invocation, in seconds.
    pub time: f64,
}

impl Score {
    /// `raw / 256`.
    pub fn probability(&self) -> f32 {
        f32::from(self.raw) / 256.0
    }
}

/// Per-model stream state.
#[derive(Clone, Debug)]
struct Detector {
    model: Arc<WakeWordModel>,
    interp: Interpreter,
    group: usize,
    stacker: FrameStacker,
    steps: u64,
    window: Vec<u8>,
    pos: usize,
    count: usize,
    sum: u32,
    quiet_until: f64,
}

/// Frontend shared by the models with one feature step.
#[derive(Clone, Debug)]
struct Group {
    step_ms: u32,
    frontend: MicroFrontend,
    raw: Vec<u16>,
    frames: u64,
    /// Samples from the start of a frame's window to its end minus one step (lead-in).
    lead: u64,
    step: u64,
}

/// A streaming wake-word detector for one or more models on one audio stream.
///
/// Audio at 8–48 kHz is accepted (other rates than 16 kHz are resampled; call
/// [`WakeWord::finish`] at the end of a stream to flush the resampler); any chunking of the
/// input gives the same detections.
#[derive(Debug)]
pub struct WakeWord {
    groups: Vec<Group>,
    detectors: Vec<Detector>,
    rate: u32,
    resampler: Option<Resampler16k>,
    refractory_s: f64,
    /// Reused buffers: 16-bit samples for the frontend, float samples around the resampler.
    pcm: Vec<i16>,
    floats: Vec<f32>,
    resampled: Vec<f32>,
    samples_in: u64,
}

impl WakeWord {
    /// A detector for `models` on audio at `sample_rate` Hz (8–48 kHz).
    pub fn new(models: Vec<Arc<WakeWordModel>>, sample_rate: u32) -> Result<Self, AsrError> {
        let resampler = match sample_rate {
            MODEL_SAMPLE_RATE => None,
            r => Some(Resampler16k::new(r)?),
        };
        let mut groups: Vec<Group> = Vec::new();
        let mut detectors = Vec::with_capacity(models.len());
        for model in models {
            let step_ms = model.settings.feature_step_ms;
            let group = match groups.iter().position(|g| g.step_ms == step_ms) {
                Some(g) => g,
                None => {
                    let cfg = MicroFrontendConfig {
                        window_step_ms: step_ms,
                        ..MicroFrontendConfig::default()
                    };
                    let frontend = MicroFrontend::new(cfg)?;
                    let (window, step) = (
                        frontend.window_samples() as u64,
                        frontend.step_samples() as u64,
                    );
                    groups.push(Group {
                        step_ms,
                        frontend,
                        raw: Vec::new(),
                        frames: 0,
                        lead: window - step,
                        step,
                    });
                    groups.len() - 1
                }
            };
            if groups[group].frontend.num_channels() != model.channels {
                return Err(AsrError::WakeWord {
                    path: model.path.clone(),
                    msg: format!(
                        "model expects {} features per frame, the frontend gives {}",
                        model.channels,
                        groups[group].frontend.num_channels()
                    ),
                });
            }
            let w = model.settings.sliding_window_size;
            let stacker = FrameStacker::new(model.stride, model.channels);
            detectors.push(Detector {
                interp: Interpreter::with_kernels(model.tflite.clone(), model.kernels),
                model,
                group,
                stacker,
                steps: 0,
                window: vec![0; w],
                pos: 0,
                count: 0,
                sum: 0,
                quiet_until: f64::NEG_INFINITY,
            });
        }
        Ok(WakeWord {
            groups,
            detectors,
            rate: sample_rate,
            resampler,
            refractory_s: DEFAULT_REFRACTORY_S,
            pcm: Vec::new(),
            floats: Vec::new(),
            resampled: Vec::new(),
            samples_in: 0,
        })
    }

    /// Loads each manifest and builds a detector for 16 kHz audio.
    pub fn load<P: AsRef<Path>>(manifests: impl IntoIterator<Item = P>) -> Result<Self, AsrError> {
        let models = manifests
            .into_iter()
            .map(WakeWordModel::load)
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(models, MODEL_SAMPLE_RATE)
    }

    /// Sets the time after a detection during which that model reports nothing (seconds).
    pub fn set_refractory(&mut self, seconds: f64) {
        self.refractory_s = seconds.max(0.0);
    }

    /// The models, in detection index order.
    pub fn models(&self) -> impl ExactSizeIterator<Item = &Arc<WakeWordModel>> {
        self.detectors.iter().map(|d| &d.model)
    }

    /// Input sample rate.
    pub fn sample_rate(&self) -> u32 {
        self.rate
    }

    /// Pushes 16-bit samples; returns the detections they complete.
    pub fn accept(&mut self, samples: &[i16]) -> Vec<Detection> {
        let mut dets = Vec::new();
        self.feed_i16(samples, None, &mut dets);
        dets
    }

    /// Like [`WakeWord::accept`], also appending every model invocation to `scores`.
    pub fn accept_scored(&mut self, samples: &[i16], scores: &mut Vec<Score>) -> Vec<Detection> {
        let mut dets = Vec::new();
        self.feed_i16(samples, Some(scores), &mut dets);
        dets
    }

    /// Pushes float samples in `[-1, 1)` (scaled by 32768 and rounded to 16 bits, so 16-bit
    /// sources round-trip exactly). NaN or infinity is an error.
    pub fn accept_f32(&mut self, samples: &[f32]) -> Result<Vec<Detection>, AsrError> {
        let mut dets = Vec::new();
        self.feed_f32(samples, None, &mut dets)?;
        Ok(dets)
    }

    /// [`WakeWord::accept_f32`] with a score trace.
    pub fn accept_f32_scored(
        &mut self,
        samples: &[f32],
        scores: &mut Vec<Score>,
    ) -> Result<Vec<Detection>, AsrError> {
        let mut dets = Vec::new();
        self.feed_f32(samples, Some(scores), &mut dets)?;
        Ok(dets)
    }

    /// Ends the stream: flushes the resampler's tail (nothing to do at 16 kHz) and returns the
    /// detections it completes, appending invocations to `scores` if given.
    pub fn finish(&mut self, scores: Option<&mut Vec<Score>>) -> Vec<Detection> {
        let mut dets = Vec::new();
        if let Some(rs) = &mut self.resampler {
            let mut out = std::mem::take(&mut self.resampled);
            out.clear();
            rs.finish(&mut out);
            self.feed_16k_f32(&out, scores, &mut dets);
            self.resampled = out;
        }
        dets
    }

    /// Back to the initial state (frontends, model variables, windows, time).
    pub fn reset(&mut self) {
        if let Some(rs) = &mut self.resampler {
            rs.reset();
        }
        for g in &mut self.groups {
            g.frontend.reset();
            g.frames = 0;
        }
        for d in &mut self.detectors {
            d.interp.reset();
            d.stacker.reset();
            d.steps = 0;
            d.window.fill(0);
            (d.pos, d.count, d.sum) = (0, 0, 0);
            d.quiet_until = f64::NEG_INFINITY;
        }
        self.samples_in = 0;
    }

    fn feed_f32(
        &mut self,
        samples: &[f32],
        scores: Option<&mut Vec<Score>>,
        dets: &mut Vec<Detection>,
    ) -> Result<(), AsrError> {
        if let Some(i) = samples.iter().position(|s| !s.is_finite()) {
            return Err(AsrError::NonFinite {
                index: self.samples_in + i as u64,
            });
        }
        self.samples_in += samples.len() as u64;
        self.resample_and_feed(samples, scores, dets);
        Ok(())
    }

    fn feed_i16(
        &mut self,
        samples: &[i16],
        scores: Option<&mut Vec<Score>>,
        dets: &mut Vec<Detection>,
    ) {
        self.samples_in += samples.len() as u64;
        if self.resampler.is_none() {
            return self.feed(samples, scores, dets);
        }
        let mut floats = std::mem::take(&mut self.floats);
        floats.clear();
        floats.extend(samples.iter().map(|&s| f32::from(s) / 32768.0));
        self.resample_and_feed(&floats, scores, dets);
        self.floats = floats;
    }

    /// Float samples at the input rate → 16 kHz → models.
    fn resample_and_feed(
        &mut self,
        samples: &[f32],
        scores: Option<&mut Vec<Score>>,
        dets: &mut Vec<Detection>,
    ) {
        let Some(rs) = &mut self.resampler else {
            return self.feed_16k_f32(samples, scores, dets);
        };
        let mut out = std::mem::take(&mut self.resampled);
        out.clear();
        rs.accept(samples, &mut out);
        self.feed_16k_f32(&out, scores, dets);
        self.resampled = out;
    }

    /// 16 kHz float samples, rounded to 16 bits (exact for 16-bit sources).
    fn feed_16k_f32(
        &mut self,
        samples: &[f32],
        scores: Option<&mut Vec<Score>>,
        dets: &mut Vec<Detection>,
    ) {
        let mut pcm = std::mem::take(&mut self.pcm);
        pcm.clear();
        pcm.extend(
            samples
                .iter()
                .map(|&s| (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16),
        );
        self.feed(&pcm, scores, dets);
        self.pcm = pcm;
    }

    fn feed(
        &mut self,
        samples: &[i16],
        mut scores: Option<&mut Vec<Score>>,
        dets: &mut Vec<Detection>,
    ) {
        for gi in 0..self.groups.len() {
            let g = &mut self.groups[gi];
            g.raw.clear();
            g.frontend.process(samples, &mut g.raw);
            let g = &self.groups[gi];
            let channels = g.frontend.num_channels();
            for (k, frame) in g.raw.chunks_exact(channels).enumerate() {
                let end_sample = (g.frames + k as u64 + 1) * g.step + g.lead;
                let time = end_sample as f64 / f64::from(MODEL_SAMPLE_RATE);
                for (di, d) in self
                    .detectors
                    .iter_mut()
                    .enumerate()
                    .filter(|(_, d)| d.group == gi)
                {
                    if let Some((score, det)) = d.push_frame(di, frame, time, self.refractory_s) {
                        if let Some(s) = scores.as_deref_mut() {
                            s.push(score);
                        }
                        dets.extend(det);
                    }
                }
            }
            let frames = (g.raw.len() / channels) as u64;
            self.groups[gi].frames += frames;
        }
    }
}

impl Detector {
    /// Adds one frontend frame; runs the model when `stride` frames are buffered.
    fn push_frame(
        &mut self,
        index: usize,
        frame: &[u16],
        time: f64,
        refractory_s: f64,
    ) -> Option<(Score, Option<Detection>)> {
        let m = &self.model;
        let input = self.interp.input_i8_mut(0).expect("validated at load");
        if !self.stacker.push(&m.input_q, input, frame) {
            return None;
        }
        self.interp.invoke();
        let b = self.interp.output(0).expect("validated at load")[0];
        let raw = output_raw(b, m.out_signed);
        let w = self.window.len();
        self.sum = self.sum - u32::from(self.window[self.pos]) + u32::from(raw);
        self.window[self.pos] = raw;
        self.pos = (self.pos + 1) % w;
        self.count = (self.count + 1).min(w);
        let window_mean = if self.count == w {
            f64::from(self.sum) / (256.0 * w as f64)
        } else {
            0.0
        };
        let step = self.steps;
        self.steps += 1;
        let score = Score {
            model: index,
            step,
            raw,
            window_mean,
            time,
        };
        let fire = self.count == w
            && window_mean > m.settings.probability_cutoff
            && time >= self.quiet_until;
        let det = fire.then(|| {
            self.quiet_until = time + refractory_s;
            Detection {
                wake_word: m.settings.wake_word.clone(),
                model: index,
                time,
                score: window_mean as f32,
                step,
            }
        });
        Some((score, det))
    }
}
