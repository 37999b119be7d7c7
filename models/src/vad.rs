//! The Silero VAD network (architecture `silero-vad`, v5/v6 of upstream's ONNX model; see
//! `docs/model-format.md`): one speech probability per window of 512 samples at 16 kHz (256 at
//! 8 kHz).
//!
//! Per window, exactly as upstream's `silero_vad.onnx`: the window is prefixed with the previous
//! 64 (32) input samples (zeros at the stream start), reflect-padded by `(n_fft - hop) / 2` on the
//! right, turned into 4 STFT magnitude frames by a strided convolution with the stored (windowed DFT)
//! basis, passed through four `Conv1d(k=3, padding=1) + ReLU` blocks (strides 1, 2, 2, 1) down to one
//! frame of 128 channels, one LSTM cell step (state carried across windows), ReLU, a 128 → 1
//! projection and a sigmoid.
//!
//! [`SileroVad`] is immutable and `Send + Sync` (share it with `Arc`); everything that changes
//! while audio flows lives in a per-stream [`SileroVadState`]. [`SileroVad::step`] accepts any
//! number of samples and emits one probability per completed window, so any chunking gives the
//! same probabilities; [`SileroVad::finish`] zero-pads a last partial window like upstream's
//! `get_speech_timestamps`.

use crate::format::{FormatError, ModelFile};
use crate::layers::{
    sigmoid, Conv1d, Conv1dConfig, Conv1dState, LayerError, Lstm, LstmState, Weight,
};
use crate::tensor::Buffer;
use std::path::Path;

/// The architecture name this module implements (metadata `architecture`).
pub const ARCHITECTURE: &str = "silero-vad";

/// LSTM width of every Silero VAD v5/v6 network.
const HIDDEN: usize = 128;
/// Encoder blocks: (in = STFT bins for block 0, out, stride).
const BLOCKS: [(usize, usize); 4] = [(128, 1), (64, 2), (64, 2), (128, 1)];

/// Errors loading or running the VAD network.
#[derive(Debug, thiserror::Error)]
pub enum VadModelError {
    /// The model file is unreadable, corrupt, of another architecture, or a tensor is wrong
    /// (the message names file and tensor).
    #[error(transparent)]
    Format(#[from] FormatError),
    /// A sample rate the model has no network for.
    #[error(
        "unsupported sample rate {rate} Hz for voice activity detection (supported: {supported:?})"
    )]
    UnsupportedRate {
        /// The requested rate.
        rate: u32,
        /// The rates the model supports.
        supported: Vec<u32>,
    },
    /// A NaN or infinite input sample.
    #[error("non-finite sample (NaN or infinity) at index {index}")]
    NonFinite {
        /// Sample index since the stream start.
        index: u64,
    },
    /// A state made for another model or rate.
    #[error("VAD state is for {state} Hz, the call needs {model} Hz")]
    StateMismatch {
        /// The state's rate.
        state: u32,
        /// The rate asked for.
        model: u32,
    },
    /// Layer misuse (a bug, reported rather than panicking).
    #[error(transparent)]
    Layer(#[from] LayerError),
}

/// Framing constants of one sample rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateConfig {
    /// Sample rate in Hz.
    pub rate: u32,
    /// New samples per window (512 at 16 kHz, 256 at 8 kHz).
    pub window: usize,
    /// Samples of the previous window prefixed to each window (64 / 32).
    pub context: usize,
    /// STFT frame length (256 / 128); hop is half of it.
    pub n_fft: usize,
}

impl RateConfig {
    /// The upstream framing for `rate`, if Silero VAD has a network for it.
    pub fn for_rate(rate: u32) -> Option<Self> {
        match rate {
            16000 => Some(RateConfig {
                rate,
                window: 512,
                context: 64,
                n_fft: 256,
            }),
            8000 => Some(RateConfig {
                rate,
                window: 256,
                context: 32,
                n_fft: 128,
            }),
            _ => None,
        }
    }

    /// STFT hop.
    pub fn hop(&self) -> usize {
        self.n_fft / 2
    }

    /// Frequency bins (`n_fft / 2 + 1`).
    pub fn bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Right reflect padding before the STFT.
    fn pad(&self) -> usize {
        (self.n_fft - self.hop()) / 2
    }

    /// STFT frames per window (4 for both rates).
    fn frames(&self) -> usize {
        (self.context + self.window + self.pad() - self.n_fft) / self.hop() + 1
    }
}

/// The network of one sample rate.
#[derive(Debug, Clone)]
struct Branch {
    cfg: RateConfig,
    /// `[2·bins, n_fft]`: real parts, then imaginary parts.
    stft: Weight,
    encoder: Vec<Conv1d>,
    lstm: Lstm,
    head_w: Buffer<f32>,
    head_b: f32,
}

impl Branch {
    fn load(file: &ModelFile, cfg: RateConfig) -> Result<Self, FormatError> {
        let p = format!("{}k", cfg.rate / 1000);
        let bins = cfg.bins();
        let stft =
            crate::layers::weight(file, &format!("{p}.stft.weight"), 2 * bins, &[1, cfg.n_fft])?;
        let mut encoder = Vec::new();
        let mut inp = bins;
        for (i, &(out, stride)) in BLOCKS.iter().enumerate() {
            // Symmetric `padding=1` inside a window: one zero frame on the left here, one appended
            // on the right when running (the layer itself never pads on the right).
            let c = Conv1dConfig {
                in_channels: inp,
                out_channels: out,
                kernel: 3,
                stride,
                dilation: 1,
                groups: 1,
                left_pad: 1,
            };
            encoder.push(Conv1d::load(file, &format!("{p}.encoder.{i}"), c, true)?);
            inp = out;
        }
        let lstm = Lstm::load(file, &format!("{p}.lstm"), 0, HIDDEN, HIDDEN, 0, true)?;
        let head_w = file.tensor_f32(&format!("{p}.head.weight"), &[1, HIDDEN, 1])?;
        let head_b = file.tensor_f32(&format!("{p}.head.bias"), &[1])?[0];
        Ok(Branch {
            cfg,
            stft,
            encoder,
            lstm,
            head_w,
            head_b,
        })
    }

    fn quantized(&self) -> Result<Self, LayerError> {
        Ok(Branch {
            encoder: self
                .encoder
                .iter()
                .map(Conv1d::quantized)
                .collect::<Result<_, _>>()?,
            lstm: self.lstm.quantized()?,
            // The STFT basis stays f32: its rows span a wide dynamic range and it is the input of
            // everything else.
            ..self.clone()
        })
    }

    /// One window: `x` = context followed by the window's new samples.
    fn run(&self, st: &mut SileroVadState, x: &[f32]) -> Result<f32, LayerError> {
        let c = &self.cfg;
        let (n_fft, hop, bins, t) = (c.n_fft, c.hop(), c.bins(), c.frames());
        let len = x.len();
        // Reflect padding on the right (the last sample is the mirror axis and is not repeated).
        st.padded.clear();
        st.padded.extend_from_slice(x);
        st.padded.extend((0..c.pad()).map(|k| x[len - 2 - k]));
        st.frames.clear();
        for i in 0..t {
            st.frames
                .extend_from_slice(&st.padded[i * hop..i * hop + n_fft]);
        }
        st.spec.resize(t * 2 * bins, 0.0);
        self.stft.matmul(&st.frames, t, &mut st.spec);
        st.a.clear();
        for row in st.spec.chunks_exact(2 * bins) {
            let (re, im) = row.split_at(bins);
            st.a.extend(re.iter().zip(im).map(|(r, i)| (r * r + i * i).sqrt()));
        }
        for (conv, cs) in self.encoder.iter().zip(st.convs.iter_mut()) {
            cs.reset();
            let cin = conv.config().in_channels;
            st.a.resize(st.a.len() + cin, 0.0); // the right padding frame
            st.b.clear();
            conv.step(cs, &st.a, &mut st.b)?;
            st.b.iter_mut().for_each(|v| *v = v.max(0.0));
            std::mem::swap(&mut st.a, &mut st.b);
        }
        // One frame of HIDDEN channels is left.
        st.b.clear();
        self.lstm.step(&mut st.lstm, &st.a, &mut st.b)?;
        let logit =
            st.b.iter()
                .zip(self.head_w.iter())
                .map(|(h, w)| h.max(0.0) * w)
                .sum::<f32>()
                + self.head_b;
        Ok(sigmoid(logit))
    }
}

/// A loaded Silero VAD model: immutable, `Send + Sync`, shareable between streams.
#[derive(Debug, Clone)]
pub struct SileroVad {
    branches: Vec<Branch>,
    int8: bool,
}

/// Per-stream state of a [`SileroVad`]: the LSTM state, the context samples, buffered samples
/// of the current window and scratch.
#[derive(Debug, Clone)]
pub struct SileroVadState {
    cfg: RateConfig,
    /// Context followed by the samples of the current (incomplete) window.
    buf: Vec<f32>,
    lstm: LstmState,
    convs: Vec<Conv1dState>,
    samples: u64,
    padded: Vec<f32>,
    frames: Vec<f32>,
    spec: Vec<f32>,
    a: Vec<f32>,
    b: Vec<f32>,
}

impl SileroVad {
    /// Loads a `silero-vad` model file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, VadModelError> {
        Self::from_file(&ModelFile::open(path)?)
    }

    /// Loads from bytes of a model file; `name` names it in errors.
    pub fn from_bytes(bytes: &[u8], name: impl AsRef<Path>) -> Result<Self, VadModelError> {
        Self::from_file(&ModelFile::from_bytes(bytes, name)?)
    }

    /// Loads from an opened model file (checks architecture, shapes and that no tensor is unused).
    pub fn from_file(file: &ModelFile) -> Result<Self, VadModelError> {
        file.require_architecture(ARCHITECTURE)?;
        let rates: Vec<u32> = file.hyper("sample_rates")?;
        let mut branches = Vec::new();
        for &rate in &rates {
            let cfg = RateConfig::for_rate(rate).ok_or_else(|| FormatError::MissingKey {
                file: file.path().display().to_string(),
                key: "hyperparameters.sample_rates".into(),
                detail: format!(": {rate} Hz has no Silero VAD network (8000 or 16000)"),
            })?;
            if branches.iter().any(|b: &Branch| b.cfg.rate == rate) {
                continue;
            }
            branches.push(Branch::load(file, cfg)?);
        }
        if branches.is_empty() {
            return Err(FormatError::MissingKey {
                file: file.path().display().to_string(),
                key: "hyperparameters.sample_rates".into(),
                detail: ": empty".into(),
            }
            .into());
        }
        file.finish()?;
        let int8 = branches.iter().any(|b| b.is_int8());
        Ok(SileroVad { branches, int8 })
    }

    /// This model with int8 convolution and LSTM matrices (the STFT basis stays f32).
    pub fn quantized(&self) -> Result<Self, VadModelError> {
        Ok(SileroVad {
            branches: self
                .branches
                .iter()
                .map(Branch::quantized)
                .collect::<Result<_, _>>()?,
            int8: true,
        })
    }

    /// True when the matrices are int8.
    pub fn is_int8(&self) -> bool {
        self.int8
    }

    /// The sample rates this model has networks for.
    pub fn sample_rates(&self) -> Vec<u32> {
        self.branches.iter().map(|b| b.cfg.rate).collect()
    }

    /// The framing at `rate`, or an error naming the supported rates.
    pub fn rate_config(&self, rate: u32) -> Result<RateConfig, VadModelError> {
        self.branch(rate).map(|b| b.cfg)
    }

    fn branch(&self, rate: u32) -> Result<&Branch, VadModelError> {
        self.branches
            .iter()
            .find(|b| b.cfg.rate == rate)
            .ok_or_else(|| VadModelError::UnsupportedRate {
                rate,
                supported: self.sample_rates(),
            })
    }

    /// A fresh state for a stream at `rate`.
    pub fn new_state(&self, rate: u32) -> Result<SileroVadState, VadModelError> {
        let b = self.branch(rate)?;
        let cfg = b.cfg;
        Ok(SileroVadState {
            cfg,
            buf: vec![0.0; cfg.context],
            lstm: b.lstm.new_state(),
            convs: b.encoder.iter().map(Conv1d::new_state).collect(),
            samples: 0,
            padded: Vec::new(),
            frames: Vec::new(),
            spec: Vec::new(),
            a: Vec::new(),
            b: Vec::new(),
        })
    }

    /// Consumes samples (in [-1, 1]) and appends one probability per completed window to `out`;
    /// returns how many. Non-finite samples are an error (nothing of the chunk is consumed).
    pub fn step(
        &self,
        st: &mut SileroVadState,
        samples: &[f32],
        out: &mut Vec<f32>,
    ) -> Result<usize, VadModelError> {
        let b = self.branch(st.cfg.rate)?;
        if let Some(i) = samples.iter().position(|s| !s.is_finite()) {
            return Err(VadModelError::NonFinite {
                index: st.samples + i as u64,
            });
        }
        let (ctx, win) = (st.cfg.context, st.cfg.window);
        let mut n = 0;
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (ctx + win - st.buf.len()).min(rest.len());
            st.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            st.samples += take as u64;
            if st.buf.len() == ctx + win {
                let x = std::mem::take(&mut st.buf);
                let p = b.run(st, &x);
                st.buf = x;
                out.push(p?);
                n += 1;
                st.buf.drain(..win);
            }
        }
        Ok(n)
    }

    /// Ends the stream: a partial last window is zero-padded and its probability appended (as
    /// upstream's `get_speech_timestamps` does); returns 0 or 1. The state is then ready for a
    /// new stream only after [`SileroVadState::reset`].
    pub fn finish(
        &self,
        st: &mut SileroVadState,
        out: &mut Vec<f32>,
    ) -> Result<usize, VadModelError> {
        let ctx = st.cfg.context;
        if st.buf.len() == ctx {
            return Ok(0);
        }
        let missing = ctx + st.cfg.window - st.buf.len();
        let samples = st.samples;
        let n = self.step(st, &vec![0.0; missing], out)?;
        st.samples = samples;
        Ok(n)
    }
}

impl Branch {
    fn is_int8(&self) -> bool {
        self.encoder.iter().any(|c| c.weight().is_int8())
    }
}

impl SileroVadState {
    /// The framing of this stream.
    pub fn config(&self) -> RateConfig {
        self.cfg
    }

    /// Samples consumed since the stream start (padding from [`SileroVad::finish`] excluded).
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Samples buffered towards the next window.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.cfg.context
    }

    /// Back to the start-of-stream state (zero LSTM state and context).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.buf.resize(self.cfg.context, 0.0);
        self.lstm.reset();
        self.samples = 0;
    }

    /// Bytes held (state and scratch).
    pub fn bytes(&self) -> usize {
        let v = |v: &Vec<f32>| v.capacity() * 4;
        v(&self.buf)
            + self.lstm.bytes()
            + self.convs.iter().map(Conv1dState::bytes).sum::<usize>()
            + v(&self.padded)
            + v(&self.frames)
            + v(&self.spec)
            + v(&self.a)
            + v(&self.b)
    }
}
