//! Voice activity detection with Silero VAD: a streaming detector that turns audio into speech
//! segments, equal to upstream's `get_speech_timestamps` (with `max_speech_duration_s = inf`)
//! whatever the chunking.
//!
//! A [`VadModel`] is immutable and shared with `Arc` (`Send + Sync`); a [`Vad`] holds the state
//! of one stream: the network's state ([`SileroVadState`]) and the hysteresis (speech starts at a
//! window with probability ≥ `threshold`, ends after `min_silence_ms` of windows below
//! `neg_threshold`, segments shorter than `min_speech_ms` are dropped, each side is padded by
//! `speech_pad_ms` and neighbours closer than twice the padding split the gap).
//!
//! ```no_run
//! use sotto_asr::vad::{Vad, VadConfig, VadEvent, VadModel};
//! let model = VadModel::builtin()?;
//! let mut vad = Vad::new(model, 16000, VadConfig::default())?;
//! vad.accept(&vec![0.0f32; 16000])?;
//! vad.finish()?;
//! for ev in vad.events() {
//!     if let VadEvent::End(seg) = ev {
//!         println!("speech {:.2}–{:.2} s", seg.start_s(16000), seg.end_s(16000));
//!     }
//! }
//! # Ok::<(), sotto_asr::AsrError>(())
//! ```
//!
//! Events come as soon as they are certain: [`VadEvent::Start`] once the segment is sure to
//! reach `min_speech_ms` (so it is never retracted), [`VadEvent::End`] once its padded end is
//! known (at the latest `min_silence_ms` plus twice the padding after the speech stops). Sample
//! positions are in the stream's own rate.

use crate::AsrError;
use sotto_models::vad::{SileroVad, SileroVadState, VadModelError};
use std::path::Path;
use std::sync::Arc;

/// The Silero VAD model shipped with sotto (`models/zoo/vad/`, MIT, converted from the PyPI wheel
/// `silero-vad` 6.2.3 by `tools/vad/convert.py`).
static BUILTIN: &[u8] = include_bytes!("../../models/zoo/vad/silero-vad.safetensors");

/// A loaded VAD network: immutable, shareable between streams.
#[derive(Debug)]
pub struct VadModel {
    net: SileroVad,
}

impl VadModel {
    /// The model compiled into sotto (no file needed).
    pub fn builtin() -> Result<Arc<Self>, AsrError> {
        let net = SileroVad::from_bytes(BUILTIN, "<builtin silero-vad>")?;
        Ok(Arc::new(VadModel { net }))
    }

    /// A `silero-vad` model file (see `docs/model-format.md`).
    pub fn load(path: impl AsRef<Path>) -> Result<Arc<Self>, AsrError> {
        let path = path.as_ref();
        if !path.exists() {
            return Err(AsrError::ModelNotFound(path.to_owned()));
        }
        Ok(Arc::new(VadModel {
            net: SileroVad::load(path)?,
        }))
    }

    /// The network.
    pub fn network(&self) -> &SileroVad {
        &self.net
    }

    /// Whether a stream at `rate` Hz is supported (8 kHz, 16 kHz, or a multiple of 16 kHz, which
    /// is decimated like upstream does).
    pub fn supports(&self, rate: u32) -> bool {
        Self::net_rate(rate).is_some_and(|(r, _)| self.net.rate_config(r).is_ok())
    }

    /// The network rate and decimation step for an input rate.
    fn net_rate(rate: u32) -> Option<(u32, u32)> {
        match rate {
            8000 | 16000 => Some((rate, 1)),
            r if r > 16000 && r % 16000 == 0 => Some((16000, r / 16000)),
            _ => None,
        }
    }
}

/// Hysteresis parameters (upstream `get_speech_timestamps` names and defaults). Thresholds are
/// f64 and compared with each probability widened to f64, as upstream's Python does, so that a
/// probability next to a threshold falls on the same side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VadConfig {
    /// A window with probability ≥ this is speech (0.5).
    pub threshold: f64,
    /// Inside speech, a window below this counts as silence; `None`: `max(threshold − 0.15, 0.01)`.
    pub neg_threshold: Option<f64>,
    /// Segments not longer than this are dropped (250 ms).
    pub min_speech_ms: u32,
    /// Silence needed to end a segment (100 ms).
    pub min_silence_ms: u32,
    /// Padding added to each side of a segment (30 ms).
    pub speech_pad_ms: u32,
}

impl Default for VadConfig {
    fn default() -> Self {
        VadConfig {
            threshold: 0.5,
            neg_threshold: None,
            min_speech_ms: 250,
            min_silence_ms: 100,
            speech_pad_ms: 30,
        }
    }
}

impl VadConfig {
    /// The effective exit threshold.
    pub fn neg_threshold(&self) -> f64 {
        self.neg_threshold
            .unwrap_or_else(|| (self.threshold - 0.15).max(0.01))
    }

    fn validate(&self) -> Result<(), AsrError> {
        let ok = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
        if !ok(self.threshold) || !ok(self.neg_threshold()) {
            return Err(AsrError::VadConfig(format!(
                "thresholds must be in [0, 1]: threshold {}, neg_threshold {}",
                self.threshold,
                self.neg_threshold()
            )));
        }
        Ok(())
    }
}

/// A speech segment, `[start, end)` in samples of the stream's rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// First sample (padding included).
    pub start: u64,
    /// One past the last sample (padding included).
    pub end: u64,
}

impl Segment {
    /// Start in seconds at `rate`.
    pub fn start_s(&self, rate: u32) -> f64 {
        self.start as f64 / rate as f64
    }

    /// End in seconds at `rate`.
    pub fn end_s(&self, rate: u32) -> f64 {
        self.end as f64 / rate as f64
    }
}

/// What a [`Vad`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VadEvent {
    /// A segment starts at this sample (padding included); its [`VadEvent::End`] follows later.
    Start(u64),
    /// A segment is complete.
    End(Segment),
}

/// The streaming hysteresis over window probabilities, in network samples. Reproduces upstream's
/// `get_speech_timestamps_from_probs` (without the max-speech split) incrementally: see the module
/// docs for when each event is certain.
#[derive(Debug, Clone)]
struct Segmenter {
    thr: f64,
    neg: f64,
    min_speech: u64,
    min_silence: u64,
    pad: u64,
    window: u64,
    /// Windows seen.
    index: u64,
    triggered: bool,
    /// Raw start of the current candidate.
    start: u64,
    /// Start of the current silence inside the candidate (0: none, as upstream).
    temp_end: u64,
    /// The candidate has been reported ([`VadEvent::Start`]).
    confirmed: bool,
    /// Padded start of the confirmed candidate.
    padded_start: u64,
    /// A finished segment whose padded end awaits the next segment: (padded start, raw end).
    open: Option<(u64, u64)>,
}

impl Segmenter {
    fn new(cfg: &VadConfig, rate: u32, window: usize) -> Self {
        let ms = |v: u32| rate as u64 * v as u64 / 1000;
        Segmenter {
            thr: cfg.threshold,
            neg: cfg.neg_threshold(),
            min_speech: ms(cfg.min_speech_ms),
            min_silence: ms(cfg.min_silence_ms),
            pad: ms(cfg.speech_pad_ms),
            window: window as u64,
            index: 0,
            triggered: false,
            start: 0,
            temp_end: 0,
            confirmed: false,
            padded_start: 0,
            open: None,
        }
    }

    /// One window's probability (upstream's loop body).
    fn on_prob(&mut self, p: f32, ev: &mut Vec<VadEvent>) {
        let p = f64::from(p);
        let cur = self.window * self.index;
        self.index += 1;
        if p >= self.thr && self.temp_end != 0 {
            self.temp_end = 0;
        }
        if p >= self.thr && !self.triggered {
            self.triggered = true;
            self.start = cur;
            self.confirmed = false;
            return;
        }
        if p < self.neg && self.triggered {
            if self.temp_end == 0 {
                self.temp_end = cur;
            }
            if cur - self.temp_end < self.min_silence {
                return;
            }
            let end = self.temp_end;
            if end - self.start > self.min_speech {
                self.confirm(ev);
                self.open = Some((self.padded_start, end));
            }
            self.triggered = false;
            self.confirmed = false;
            self.temp_end = 0;
        }
    }

    /// After a complete window during streaming: report what became certain. Any later segment
    /// starts at or after the next window, and the stream is at least that long.
    fn settle(&mut self, ev: &mut Vec<VadEvent>) {
        let next = self.window * self.index;
        if let Some((ps, end)) = self.open {
            let next_start = if self.triggered { self.start } else { next };
            if next_start - end >= 2 * self.pad {
                ev.push(VadEvent::End(Segment {
                    start: ps,
                    end: end + self.pad,
                }));
                self.open = None;
            }
        }
        if self.triggered && !self.confirmed {
            let end_at_least = if self.temp_end != 0 {
                self.temp_end
            } else {
                next
            };
            if end_at_least - self.start > self.min_speech {
                self.confirm(ev);
            }
        }
    }

    /// The candidate is certain to be kept: close the previous segment and report the start.
    fn confirm(&mut self, ev: &mut Vec<VadEvent>) {
        if self.confirmed {
            return;
        }
        let mut back = self.pad;
        if let Some((ps, end)) = self.open.take() {
            let gap = self.start - end;
            let end = if gap < 2 * self.pad {
                back = gap / 2;
                end + gap / 2
            } else {
                end + self.pad
            };
            ev.push(VadEvent::End(Segment { start: ps, end }));
        }
        self.padded_start = self.start.saturating_sub(back);
        self.confirmed = true;
        ev.push(VadEvent::Start(self.padded_start));
    }

    /// The earliest position a future event can name: samples before it are never part of a
    /// segment still to be reported.
    fn earliest(&self) -> u64 {
        if let Some((ps, _)) = self.open {
            ps
        } else if self.confirmed {
            self.padded_start
        } else if self.triggered {
            self.start.saturating_sub(self.pad)
        } else {
            (self.window * self.index).saturating_sub(self.pad)
        }
    }

    /// End of stream at `len` network samples (after the last, zero-padded window's `on_prob`).
    fn finish(&mut self, len: u64, ev: &mut Vec<VadEvent>) {
        if self.triggered && len - self.start > self.min_speech {
            self.confirm(ev);
            self.open = Some((self.padded_start, len));
        }
        if let Some((ps, end)) = self.open.take() {
            ev.push(VadEvent::End(Segment {
                start: ps,
                end: (end + self.pad).min(len),
            }));
        }
        self.triggered = false;
        self.confirmed = false;
    }
}

/// A streaming voice activity detector for one stream.
#[derive(Debug)]
pub struct Vad {
    model: Arc<VadModel>,
    state: SileroVadState,
    cfg: VadConfig,
    rate: u32,
    /// Decimation step to the network rate (1, or k for k·16 kHz input).
    step: u32,
    /// Input samples seen (before decimation).
    input: u64,
    seg: Segmenter,
    events: Vec<VadEvent>,
    probs: Option<Vec<f32>>,
    scratch: Vec<f32>,
    pending: Vec<f32>,
    /// Queued events already converted to input samples.
    seg_scaled: usize,
    finished: bool,
}

impl Vad {
    /// A detector for a stream at `rate` Hz (8000, 16000 or a multiple of 16000).
    pub fn new(model: Arc<VadModel>, rate: u32, cfg: VadConfig) -> Result<Self, AsrError> {
        cfg.validate()?;
        let supported = || VadModelError::UnsupportedRate {
            rate,
            supported: vec![8000, 16000, 32000, 48000],
        };
        let (net_rate, step) = VadModel::net_rate(rate).ok_or_else(supported)?;
        let state = model.net.new_state(net_rate)?;
        let seg = Segmenter::new(&cfg, net_rate, state.config().window);
        Ok(Vad {
            model,
            state,
            cfg,
            rate,
            step,
            input: 0,
            seg,
            events: Vec::new(),
            probs: None,
            scratch: Vec::new(),
            pending: Vec::new(),
            seg_scaled: 0,
            finished: false,
        })
    }

    /// Also keep every window's probability for [`Vad::take_probs`].
    pub fn keep_probs(&mut self, keep: bool) {
        self.probs = keep.then(Vec::new);
    }

    /// The stream's sample rate.
    pub fn sample_rate(&self) -> u32 {
        self.rate
    }

    /// The hysteresis parameters.
    pub fn config(&self) -> &VadConfig {
        &self.cfg
    }

    /// Input samples per probability window (512 at 16 kHz, 256 at 8 kHz, 1536 at 48 kHz).
    pub fn window(&self) -> usize {
        self.state.config().window * self.step as usize
    }

    /// Input samples accepted so far.
    pub fn samples(&self) -> u64 {
        self.input
    }

    /// True inside a reported segment (between [`VadEvent::Start`] and its end's certainty).
    pub fn in_speech(&self) -> bool {
        self.seg.confirmed
    }

    /// True while the network hears speech: inside a candidate segment that has not yet been
    /// confirmed or ended (it may still be dropped as too short).
    pub fn maybe_speech(&self) -> bool {
        self.seg.triggered
    }

    /// Samples before this input position are not part of any segment still to be reported
    /// (a caller keeping audio for the segments can drop them).
    pub fn retain_from(&self) -> u64 {
        self.seg.earliest() * self.step as u64
    }

    /// Consumes samples in [-1, 1]; events that became certain are queued for [`Vad::events`].
    pub fn accept(&mut self, samples: &[f32]) -> Result<(), AsrError> {
        if self.finished {
            return Err(AsrError::InputFinished);
        }
        if let Some(i) = samples.iter().position(|s| !s.is_finite()) {
            return Err(AsrError::NonFinite {
                index: self.input + i as u64,
            });
        }
        let step = self.step as u64;
        let x: &[f32] = if step == 1 {
            samples
        } else {
            // Upstream keeps every step-th sample of the whole stream (`audio[::step]`).
            self.scratch.clear();
            let first = ((step - self.input % step) % step) as usize;
            self.scratch
                .extend(samples.iter().skip(first).step_by(step as usize));
            &self.scratch
        };
        self.pending.clear();
        self.model.net.step(&mut self.state, x, &mut self.pending)?;
        self.input += samples.len() as u64;
        for &p in &self.pending {
            self.seg.on_prob(p, &mut self.events);
            self.seg.settle(&mut self.events);
        }
        if let Some(v) = &mut self.probs {
            v.extend_from_slice(&self.pending);
        }
        self.scale_events();
        Ok(())
    }

    /// Consumes 16-bit samples.
    pub fn accept_i16(&mut self, samples: &[i16]) -> Result<(), AsrError> {
        let f: Vec<f32> = samples.iter().map(|&s| s as f32 / 32768.0).collect();
        self.accept(&f)
    }

    /// Ends the stream: the last partial window is zero-padded and every segment is closed.
    /// Audio shorter than one window is an error ([`AsrError::VadTooShort`]).
    pub fn finish(&mut self) -> Result<(), AsrError> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        let len = self.state.samples();
        if self.input == 0 {
            return Err(AsrError::EmptyAudio);
        }
        if len < self.state.config().window as u64 {
            return Err(AsrError::VadTooShort {
                samples: self.input,
                needed: self.window() as u64,
                rate: self.rate,
            });
        }
        self.pending.clear();
        self.model.net.finish(&mut self.state, &mut self.pending)?;
        for &p in &self.pending {
            self.seg.on_prob(p, &mut self.events);
        }
        if let Some(v) = &mut self.probs {
            v.extend_from_slice(&self.pending);
        }
        self.seg.finish(len, &mut self.events);
        self.scale_events();
        Ok(())
    }

    /// Positions of new events from network to input samples.
    fn scale_events(&mut self) {
        // Events are scaled once: only those not yet handed out are in the queue, and each is
        // pushed in network units right before this call.
        let s = self.step as u64;
        if s == 1 {
            return;
        }
        for e in self.events.iter_mut().skip(self.seg_scaled) {
            match e {
                VadEvent::Start(x) => *x *= s,
                VadEvent::End(seg) => {
                    seg.start *= s;
                    seg.end *= s;
                }
            }
        }
        self.seg_scaled = self.events.len();
    }

    /// Takes the queued events (oldest first).
    pub fn events(&mut self) -> std::vec::Drain<'_, VadEvent> {
        self.seg_scaled = 0;
        self.events.drain(..)
    }

    /// Takes the probabilities of the windows completed since the last call (with
    /// [`Vad::keep_probs`]); window `i` covers input samples `[i·window, (i+1)·window)`.
    pub fn take_probs(&mut self) -> Vec<f32> {
        self.probs.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Back to the start of a new stream (same model, rate and parameters).
    pub fn reset(&mut self) {
        self.state.reset();
        let window = self.state.config().window;
        self.seg = Segmenter::new(&self.cfg, self.rate / self.step, window);
        self.events.clear();
        self.seg_scaled = 0;
        if let Some(p) = &mut self.probs {
            p.clear();
        }
        self.input = 0;
        self.finished = false;
    }
}

/// The speech segments of a whole recording (what upstream's `get_speech_timestamps` returns, in
/// samples of `rate`).
pub fn speech_segments(
    model: Arc<VadModel>,
    samples: &[f32],
    rate: u32,
    cfg: VadConfig,
) -> Result<Vec<Segment>, AsrError> {
    let mut vad = Vad::new(model, rate, cfg)?;
    vad.accept(samples)?;
    vad.finish()?;
    Ok(vad
        .events()
        .filter_map(|e| match e {
            VadEvent::End(s) => Some(s),
            VadEvent::Start(_) => None,
        })
        .collect())
}
