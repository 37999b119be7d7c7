//! Kaldi-compatible log-mel filterbank ("fbank"), streaming.
//!
//! Every `ln`, `cos`, `sin` and `pow` here (window, mel scale, log, dither, FFT twiddles) comes
//! from the `libm` crate, not the platform's C library: glibc and the WebAssembly build's math
//! differ in the last bit, and features one bit apart can flip a near tie in the search, so every
//! target computes the same features. (The `realfft` path for FFT sizes that are not a power of
//! two computes its own twiddles.)
//!
//! Follows kaldi-native-fbank's `OnlineFbank` step by step (frame extraction with
//! reflection at the edges, dither, DC removal, pre-emphasis, window, power spectrum,
//! triangular mel banks on the Kaldi mel scale, `log(max(e, eps))`), in `f32` like the
//! reference, so results agree to float rounding. Input samples are expected in
//! `[-1, 1)` (int16 / 32768), as sherpa-onnx feeds kaldi-native-fbank.
//!
//! FFT: for power-of-two sizes (the default 512) a real FFT that does KISS FFT's `f32`
//! operations in KISS FFT's order, as kaldi-native-fbank 1.23 does (rounding in that FFT
//! dominates mel bins with little energy); other sizes use `realfft` in `f64`.
//! Against the kaldi-native-fbank goldens the largest difference is 4.3e-4 in log
//! energy, in low-energy bins where the reference's own FFT rounding (kissfft is built
//! with `-ffast-math`) is of that size; see `tests/fbank_golden.rs`.
//!
//! Streaming: [`Fbank::accept`] takes any number of samples and emits every frame that
//! is complete; [`Fbank::finish`] emits the frames that need the end of the signal
//! (with `snip_edges = false` the last frames reflect the signal at its end). Any
//! chunking of the input gives bit-identical output.

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

use crate::FrontendError;

mod kiss;

/// Analysis window applied to each frame (Kaldi names; deserialized from those names, any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub enum WindowType {
    /// Kaldi's default: Hann raised to the power 0.85.
    Povey,
    /// Periodic Hann (`0.5 - 0.5 cos(2πi/N)`, like torch; kaldi-native-fbank's `hann`).
    Hann,
    /// Symmetric Hann (`0.5 - 0.5 cos(2πi/(N-1))`, Kaldi's `hanning`).
    Hanning,
    /// Hamming (`0.54 - 0.46 cos`).
    Hamming,
    /// No window.
    Rectangular,
    /// Blackman with `blackman_coeff` 0.42.
    Blackman,
}

impl TryFrom<String> for WindowType {
    type Error = FrontendError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl std::str::FromStr for WindowType {
    type Err = FrontendError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "povey" => Self::Povey,
            "hann" => Self::Hann,
            "hanning" => Self::Hanning,
            "hamming" => Self::Hamming,
            "rectangular" => Self::Rectangular,
            "blackman" => Self::Blackman,
            _ => {
                return Err(FrontendError::InvalidConfig(format!(
                "unknown window type {s:?} (povey, hann, hanning, hamming, rectangular, blackman)"
            )))
            }
        })
    }
}

/// Fbank options. The default equals the reference configuration in
/// `shared/reference/fbank/config.json` (kaldi-native-fbank as sherpa-onnx uses it, except
/// `high_freq` = Nyquist; sherpa-onnx's own default is `high_freq = -400`).
///
/// Deserializes from the `features` object of a model file (`docs/model-format.md`): keys are
/// the field names, missing keys keep their defaults, unknown keys are ignored.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default)]
pub struct FbankConfig {
    /// Input sample rate in Hz.
    pub sample_rate: f32,
    /// Frame length in milliseconds (25 ms = 400 samples at 16 kHz).
    pub frame_length_ms: f32,
    /// Frame shift in milliseconds.
    pub frame_shift_ms: f32,
    /// Number of triangular mel bins.
    pub num_mel_bins: usize,
    /// Lowest band edge in Hz.
    pub low_freq: f32,
    /// Highest band edge in Hz; `<= 0` means an offset from Nyquist.
    pub high_freq: f32,
    /// Pre-emphasis coefficient (0 = off).
    pub preemph_coeff: f32,
    /// Window function.
    pub window: WindowType,
    /// Subtract each frame's mean before windowing.
    pub remove_dc_offset: bool,
    /// Zero-pad frames to a power of two for the FFT.
    pub round_to_power_of_two: bool,
    /// `true`: only frames that fit entirely in the signal; `false`: frames centred on
    /// multiples of the shift, with the signal reflected at both ends.
    pub snip_edges: bool,
    /// Gaussian dither standard deviation (in input units; 0 = off).
    pub dither: f32,
    /// Seed of the dither noise generator (output is deterministic for a given seed).
    pub dither_seed: u64,
    /// Prepend log energy of the frame as an extra first dimension.
    pub use_energy: bool,
    /// With `use_energy`: energy before pre-emphasis and window (Kaldi's `raw_energy`).
    pub raw_energy: bool,
    /// With `use_energy`: floor on the energy (0 = none).
    pub energy_floor: f32,
    /// Power spectrum (`true`) or magnitude (`false`).
    pub use_power: bool,
    /// Floor applied before the log: `log(max(e, log_floor))`.
    pub log_floor: f32,
}

impl Default for FbankConfig {
    fn default() -> Self {
        Self {
            sample_rate: 16000.0,
            frame_length_ms: 25.0,
            frame_shift_ms: 10.0,
            num_mel_bins: 80,
            low_freq: 20.0,
            high_freq: 0.0,
            preemph_coeff: 0.97,
            window: WindowType::Povey,
            remove_dc_offset: true,
            round_to_power_of_two: true,
            snip_edges: false,
            dither: 0.0,
            dither_seed: 0,
            use_energy: false,
            raw_energy: true,
            energy_floor: 0.0,
            use_power: true,
            log_floor: f32::EPSILON,
        }
    }
}

impl FbankConfig {
    /// sherpa-onnx's feature extractor default: like [`Default`] but `high_freq = -400`.
    pub fn sherpa_default() -> Self {
        Self {
            high_freq: -400.0,
            ..Self::default()
        }
    }

    /// Frame length in samples (truncated like Kaldi).
    pub fn window_size(&self) -> usize {
        (self.sample_rate * 0.001 * self.frame_length_ms) as usize
    }

    /// Frame shift in samples (truncated like Kaldi).
    pub fn window_shift(&self) -> usize {
        (self.sample_rate * 0.001 * self.frame_shift_ms) as usize
    }

    /// FFT length.
    pub fn padded_window_size(&self) -> usize {
        let n = self.window_size();
        if self.round_to_power_of_two {
            n.next_power_of_two()
        } else {
            n
        }
    }

    /// Output dimension per frame (`num_mel_bins`, plus one with `use_energy`).
    pub fn dim(&self) -> usize {
        self.num_mel_bins + usize::from(self.use_energy)
    }

    /// Number of frames for `num_samples` samples; `flush` = the input is complete.
    /// (0 for a configuration with a zero frame shift, which [`Fbank::new`] rejects.)
    pub fn num_frames(&self, num_samples: u64, flush: bool) -> u64 {
        let (len, shift) = (self.window_size() as u64, self.window_shift() as u64);
        if shift == 0 {
            return 0;
        }
        if self.snip_edges {
            return if num_samples < len {
                0
            } else {
                1 + (num_samples - len) / shift
            };
        }
        let mut n = (num_samples + shift / 2) / shift;
        if flush {
            return n;
        }
        // Without flushing, only frames whose last sample is already there.
        while n > 0 && self.first_sample_of_frame(n - 1) + len as i64 > num_samples as i64 {
            n -= 1;
        }
        n
    }

    /// Index of the first sample of frame `f` (negative before the start with
    /// `snip_edges = false`).
    pub fn first_sample_of_frame(&self, f: u64) -> i64 {
        let shift = self.window_shift() as i64;
        if self.snip_edges {
            f as i64 * shift
        } else {
            f as i64 * shift + shift / 2 - self.window_size() as i64 / 2
        }
    }

    fn validate(&self) -> Result<(), FrontendError> {
        let bad = |m: String| Err(FrontendError::InvalidConfig(m));
        if !(self.sample_rate.is_finite() && self.sample_rate > 0.0) {
            return bad(format!("sample rate {} must be positive", self.sample_rate));
        }
        let (len, shift) = (self.window_size(), self.window_shift());
        if len < 2 || shift == 0 {
            return bad(format!(
                "frame length {} ms / shift {} ms give {len} / {shift} samples at {} Hz",
                self.frame_length_ms, self.frame_shift_ms, self.sample_rate
            ));
        }
        if len > 1 << 20 {
            return bad(format!("frame length of {len} samples is too long"));
        }
        if self.num_mel_bins < 3 {
            return bad(format!(
                "need at least 3 mel bins, got {}",
                self.num_mel_bins
            ));
        }
        let nyquist = 0.5 * self.sample_rate;
        let high = self.high_freq_hz();
        if !(self.low_freq >= 0.0
            && self.low_freq < nyquist
            && high > 0.0
            && high <= nyquist
            && high > self.low_freq)
        {
            return bad(format!(
                "bad mel range: low_freq {} Hz, high_freq {} Hz (→ {high} Hz) at Nyquist {nyquist} Hz",
                self.low_freq, self.high_freq
            ));
        }
        if !(0.0..=1.0).contains(&self.preemph_coeff) {
            return bad(format!(
                "preemphasis {} must be in [0, 1]",
                self.preemph_coeff
            ));
        }
        if !(self.dither.is_finite() && self.dither >= 0.0) {
            return bad(format!("dither {} must be >= 0", self.dither));
        }
        if !(self.log_floor.is_finite() && self.log_floor > 0.0) {
            return bad(format!("log floor {} must be > 0", self.log_floor));
        }
        Ok(())
    }

    fn high_freq_hz(&self) -> f32 {
        if self.high_freq > 0.0 {
            self.high_freq
        } else {
            0.5 * self.sample_rate + self.high_freq
        }
    }
}

/// Kaldi mel scale (natural-log form, `1127 ln(1 + f/700)`).
fn mel_scale(freq: f32) -> f32 {
    1127.0 * libm::logf(1.0 + freq / 700.0)
}

/// One triangular filter: weights for FFT bins `first..first + weights.len()`.
#[derive(Debug, Clone)]
struct MelBin {
    first: usize,
    weights: Vec<f32>,
}

fn mel_banks(cfg: &FbankConfig) -> Vec<MelBin> {
    let padded = cfg.padded_window_size();
    let num_fft_bins = padded / 2; // Kaldi never uses the Nyquist bin.
    let fft_bin_width = cfg.sample_rate / padded as f32;
    let mel_low = mel_scale(cfg.low_freq);
    let mel_high = mel_scale(cfg.high_freq_hz());
    let delta = (mel_high - mel_low) / (cfg.num_mel_bins as f32 + 1.0);
    (0..cfg.num_mel_bins)
        .map(|bin| {
            let left = mel_low + bin as f32 * delta;
            let center = mel_low + (bin as f32 + 1.0) * delta;
            let right = mel_low + (bin as f32 + 2.0) * delta;
            let mut first = None;
            let mut weights = Vec::new();
            for i in 0..num_fft_bins {
                let mel = mel_scale(fft_bin_width * i as f32);
                if mel > left && mel < right {
                    let w = if mel <= center {
                        (mel - left) / (center - left)
                    } else {
                        (right - mel) / (right - center)
                    };
                    let first = *first.get_or_insert(i);
                    weights.resize(i - first, 0.0);
                    weights.push(w);
                }
            }
            MelBin {
                first: first.unwrap_or(0),
                weights,
            }
        })
        .collect()
}

fn window_function(kind: WindowType, len: usize) -> Vec<f32> {
    let n = if kind == WindowType::Hann {
        len
    } else {
        len - 1
    };
    let a = std::f64::consts::TAU / n as f64;
    (0..len)
        .map(|i| {
            let c = libm::cos(a * i as f64);
            (match kind {
                WindowType::Povey => libm::pow(0.5 - 0.5 * c, 0.85),
                WindowType::Hann | WindowType::Hanning => 0.5 - 0.5 * c,
                WindowType::Hamming => 0.54 - 0.46 * c,
                WindowType::Rectangular => 1.0,
                WindowType::Blackman => 0.42 - 0.5 * c + 0.08 * libm::cos(2.0 * a * i as f64),
            }) as f32
        })
        .collect()
}

/// Seeded Gaussian noise for dither (xorshift64* + Box–Muller), so runs are reproducible.
#[derive(Debug, Clone)]
struct GaussRng {
    state: u64,
    spare: Option<f32>,
}

impl GaussRng {
    fn new(seed: u64) -> Self {
        // splitmix64 of the seed so that seed 0 is a valid, well-mixed state.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self {
            state: (z ^ (z >> 31)) | 1,
            spare: None,
        }
    }

    fn uniform(&mut self) -> f64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let x = self.state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        // (0, 1]: never 0, so ln() below is finite.
        ((x >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    fn gauss(&mut self) -> f32 {
        if let Some(s) = self.spare.take() {
            return s;
        }
        let r = (-2.0 * libm::log(self.uniform())).sqrt();
        let t = std::f64::consts::TAU * self.uniform();
        self.spare = Some((r * libm::sin(t)) as f32);
        (r * libm::cos(t)) as f32
    }
}

/// Streaming Kaldi fbank extractor.
///
/// ```
/// use sotto_frontend::fbank::{Fbank, FbankConfig};
/// let mut fbank = Fbank::new(FbankConfig::default())?;
/// let samples = vec![0.1f32; 16000]; // 1 s at 16 kHz
/// let mut feats = Vec::new();
/// fbank.accept(&samples[..7000], &mut feats)?;
/// fbank.accept(&samples[7000..], &mut feats)?;
/// fbank.finish(&mut feats);
/// assert_eq!(feats.len(), 100 * fbank.dim()); // (16000 + 80) / 160 frames
/// # Ok::<(), sotto_frontend::FrontendError>(())
/// ```
pub struct Fbank {
    cfg: FbankConfig,
    window: Vec<f32>,
    banks: Vec<MelBin>,
    fft: Fft,
    rng: GaussRng,
    /// Samples not yet consumed; `remainder[0]` is sample number `offset`.
    remainder: Vec<f32>,
    offset: u64,
    num_samples: u64,
    frames_done: u64,
    frame: Vec<f32>,
    power: Vec<f32>,
}

/// The FFT behind the power spectrum.
enum Fft {
    /// Power-of-two sizes: same rounding as the reference (see `kiss`).
    Kiss(kiss::KissRealFft),
    /// Other sizes: `realfft` in f64, planned once.
    Real {
        plan: Arc<dyn RealToComplex<f64>>,
        input: Vec<f64>,
        spectrum: Vec<realfft::num_complex::Complex<f64>>,
        scratch: Vec<realfft::num_complex::Complex<f64>>,
    },
}

impl Fft {
    fn new(n: usize) -> Self {
        if let Some(k) = kiss::KissRealFft::new(n) {
            return Self::Kiss(k);
        }
        let plan = RealFftPlanner::<f64>::new().plan_fft_forward(n);
        Self::Real {
            input: plan.make_input_vec(),
            spectrum: plan.make_output_vec(),
            scratch: plan.make_scratch_vec(),
            plan,
        }
    }

    /// `power[k] = |X_k|^2`, `k = 0..=n/2`, for the frame `x` zero-padded to `n`.
    fn power_spectrum(&mut self, x: &[f32], power: &mut [f32]) {
        match self {
            Self::Kiss(k) => k.power_spectrum(x, power),
            Self::Real {
                plan,
                input,
                spectrum,
                scratch,
            } => {
                let padded = x.iter().map(|&v| v as f64).chain(std::iter::repeat(0.0));
                input.iter_mut().zip(padded).for_each(|(d, s)| *d = s);
                plan.process_with_scratch(input, spectrum, scratch)
                    .expect("buffer sizes come from the plan");
                for (p, c) in power.iter_mut().zip(spectrum.iter()) {
                    let (re, im) = (c.re as f32, c.im as f32);
                    *p = re * re + im * im;
                }
            }
        }
    }
}

impl std::fmt::Debug for Fbank {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fbank")
            .field("cfg", &self.cfg)
            .field("num_samples", &self.num_samples)
            .field("frames_done", &self.frames_done)
            .finish_non_exhaustive()
    }
}

impl Fbank {
    /// Builds the window, mel banks and FFT plan once.
    pub fn new(cfg: FbankConfig) -> Result<Self, FrontendError> {
        cfg.validate()?;
        let padded = cfg.padded_window_size();
        let banks = mel_banks(&cfg);
        if let Some(b) = banks.iter().position(|b| b.weights.is_empty()) {
            return Err(FrontendError::InvalidConfig(format!(
                "mel bin {b} of {} is empty: too many mel bins for a {padded}-point FFT",
                cfg.num_mel_bins
            )));
        }
        Ok(Self {
            window: window_function(cfg.window, cfg.window_size()),
            rng: GaussRng::new(cfg.dither_seed),
            frame: vec![0.0; padded],
            power: vec![0.0; padded / 2 + 1],
            banks,
            fft: Fft::new(padded),
            cfg,
            remainder: Vec::new(),
            offset: 0,
            num_samples: 0,
            frames_done: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &FbankConfig {
        &self.cfg
    }

    /// Values per frame.
    pub fn dim(&self) -> usize {
        self.cfg.dim()
    }

    /// Frames emitted since the last [`reset`](Self::reset) / [`finish`](Self::finish).
    pub fn frames_emitted(&self) -> u64 {
        self.frames_done
    }

    /// Pushes samples (any length, in `[-1, 1)`); appends every newly complete frame
    /// (`dim()` values each) to `out` and returns how many frames were added.
    ///
    /// A NaN or infinite sample is rejected (nothing is consumed).
    pub fn accept(&mut self, samples: &[f32], out: &mut Vec<f32>) -> Result<usize, FrontendError> {
        if let Some(i) = samples.iter().position(|s| !s.is_finite()) {
            return Err(FrontendError::NonFinite {
                path: "<stream>".into(),
                index: self.num_samples as usize + i,
            });
        }
        self.remainder.extend_from_slice(samples);
        self.num_samples += samples.len() as u64;
        Ok(self.compute(false, out))
    }

    /// Marks the end of the input: appends the remaining frames (those that reach past
    /// the end of the signal) and resets the extractor for the next utterance.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> usize {
        let n = self.compute(true, out);
        self.reset();
        n
    }

    /// Forgets all input (the dither generator restarts from its seed).
    pub fn reset(&mut self) {
        self.remainder.clear();
        self.offset = 0;
        self.num_samples = 0;
        self.frames_done = 0;
        self.rng = GaussRng::new(self.cfg.dither_seed);
    }

    /// One-shot convenience: all frames of `samples` (fresh state; the extractor is
    /// reset afterwards), flattened `[frames * dim]`.
    pub fn compute_all(&mut self, samples: &[f32]) -> Result<Vec<f32>, FrontendError> {
        self.reset();
        let mut out = Vec::new();
        self.accept(samples, &mut out)?;
        self.finish(&mut out);
        Ok(out)
    }

    fn compute(&mut self, flush: bool, out: &mut Vec<f32>) -> usize {
        let target = self.cfg.num_frames(self.num_samples, flush);
        let start = self.frames_done;
        let dim = self.dim();
        for f in start..target {
            let base = out.len();
            out.resize(base + dim, 0.0);
            self.frame_features(f, &mut out[base..]);
        }
        self.frames_done = target.max(start);
        // Drop samples no future frame needs.
        let keep_from = self.cfg.first_sample_of_frame(self.frames_done);
        let discard =
            (keep_from - self.offset as i64).clamp(0, self.remainder.len() as i64) as usize;
        if discard > 0 {
            self.remainder.drain(..discard);
            self.offset += discard as u64;
        }
        (target.saturating_sub(start)) as usize
    }

    fn frame_features(&mut self, f: u64, feat: &mut [f32]) {
        let len = self.cfg.window_size();
        let wave = &self.remainder;
        let start = self.cfg.first_sample_of_frame(f) - self.offset as i64;
        let frame = &mut self.frame;
        if start >= 0 && start as usize + len <= wave.len() {
            frame[..len].copy_from_slice(&wave[start as usize..start as usize + len]);
        } else {
            // Reflect at the edges of the available signal, as Kaldi does.
            let dim = wave.len() as i64;
            for (s, x) in frame[..len].iter_mut().enumerate() {
                let mut i = start + s as i64;
                while i < 0 || i >= dim {
                    i = if i < 0 { -i - 1 } else { 2 * dim - 1 - i };
                }
                *x = wave[i as usize];
            }
        }
        frame[len..].fill(0.0);
        let w = &mut frame[..len];

        if self.cfg.dither != 0.0 {
            for x in w.iter_mut() {
                *x += self.cfg.dither * self.rng.gauss();
            }
        }
        if self.cfg.remove_dc_offset {
            let mean = w.iter().sum::<f32>() / len as f32;
            w.iter_mut().for_each(|x| *x -= mean);
        }
        let energy = |w: &[f32]| libm::logf(w.iter().map(|x| x * x).sum::<f32>().max(f32::EPSILON));
        let mut log_energy = if self.cfg.use_energy && self.cfg.raw_energy {
            energy(w)
        } else {
            0.0
        };
        let p = self.cfg.preemph_coeff;
        if p != 0.0 {
            for i in (1..len).rev() {
                w[i] -= p * w[i - 1];
            }
            w[0] -= p * w[0];
        }
        w.iter_mut().zip(&self.window).for_each(|(x, c)| *x *= c);
        if self.cfg.use_energy && !self.cfg.raw_energy {
            log_energy = energy(w);
        }

        self.fft.power_spectrum(&self.frame, &mut self.power);
        if !self.cfg.use_power {
            self.power.iter_mut().for_each(|p| *p = p.sqrt());
        }

        let (mel, head) = if self.cfg.use_energy {
            let (e, m) = feat.split_at_mut(1);
            (m, Some(e))
        } else {
            (feat, None)
        };
        for (m, bin) in mel.iter_mut().zip(&self.banks) {
            let e: f32 = bin
                .weights
                .iter()
                .zip(&self.power[bin.first..])
                .map(|(w, p)| w * p)
                .sum();
            *m = libm::logf(e.max(self.cfg.log_floor));
        }
        if let Some(e) = head {
            let floor = self.cfg.energy_floor;
            e[0] = if floor > 0.0 {
                log_energy.max(libm::logf(floor))
            } else {
                log_energy
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_counts_match_kaldi_formulas() {
        let c = FbankConfig::default();
        for n in [0u64, 79, 80, 399, 400, 480, 8000, 31600] {
            assert_eq!(c.num_frames(n, true), (n + 80) / 160, "n={n}");
        }
        let s = FbankConfig {
            snip_edges: true,
            ..c
        };
        for n in [0u64, 399, 400, 480, 8000] {
            assert_eq!(
                s.num_frames(n, true),
                if n < 400 { 0 } else { 1 + (n - 400) / 160 }
            );
        }
    }

    #[test]
    fn rejects_bad_config() {
        let bad = [
            FbankConfig {
                num_mel_bins: 1,
                ..Default::default()
            },
            FbankConfig {
                high_freq: 9000.0,
                ..Default::default()
            },
            FbankConfig {
                frame_shift_ms: 0.0,
                ..Default::default()
            },
            FbankConfig {
                num_mel_bins: 400,
                ..Default::default()
            },
            FbankConfig {
                sample_rate: f32::NAN,
                ..Default::default()
            },
        ];
        for c in bad {
            assert!(matches!(
                Fbank::new(c),
                Err(FrontendError::InvalidConfig(_))
            ));
        }
    }

    #[test]
    fn nan_is_rejected() {
        let mut f = Fbank::new(FbankConfig::default()).unwrap();
        let mut out = Vec::new();
        let err = f.accept(&[0.0, f32::NAN], &mut out).unwrap_err();
        assert!(
            matches!(err, FrontendError::NonFinite { index: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn dither_is_seeded() {
        let x: Vec<f32> = (0..4000).map(|i| (i as f32 * 0.01).sin() * 0.1).collect();
        let cfg = FbankConfig {
            dither: 1e-3,
            dither_seed: 7,
            ..Default::default()
        };
        let a = Fbank::new(cfg.clone()).unwrap().compute_all(&x).unwrap();
        let b = Fbank::new(cfg.clone()).unwrap().compute_all(&x).unwrap();
        let c = Fbank::new(FbankConfig {
            dither_seed: 8,
            ..cfg
        })
        .unwrap()
        .compute_all(&x)
        .unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
