//! The TFLite-Micro audio frontend (`tensorflow/lite/experimental/microfrontend`) that
//! microWakeWord models are trained and run with, reproduced bit for bit in integer
//! arithmetic (as pymicro-features 2.0.2 compiles it, kissfft with `FIXED_POINT=16`).
//!
//! Pipeline per 10 ms step: Q12 Hann window over 30 ms → input auto-scaling → 512-point
//! fixed-point real FFT → energies → 40-channel mel filterbank with integer square root →
//! noise reduction → PCAN gain control → fixed-point log → `u16` per channel.
//!
//! Buffers and tables are allocated in [`MicroFrontend::new`]; [`MicroFrontend::process_with`]
//! allocates nothing.
//!
//! ```
//! use sotto_micro::frontend::{MicroFrontend, MicroFrontendConfig, MICRO_FEATURE_SCALE};
//! let mut fe = MicroFrontend::new(MicroFrontendConfig::default()).unwrap();
//! let mut raw = Vec::new();
//! let frames = fe.process(&vec![0i16; 16000], &mut raw); // 1 s of silence
//! assert_eq!(frames, 98);
//! assert_eq!(raw.len(), frames * fe.num_channels());
//! let features: Vec<f32> = raw.iter().map(|&v| v as f32 * MICRO_FEATURE_SCALE).collect();
//! # let _ = features;
//! ```

mod filterbank;
mod kissfft;
mod log_scale;
mod noise_reduction;
mod pcan;

use crate::math;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use filterbank::{Filterbank, FILTERBANK_BITS};
use kissfft::{Cpx, KissFftr};
use noise_reduction::NoiseReduction;
use pcan::{Pcan, PCAN_SNR_BITS};

/// Float feature = raw `u16` output × this (= 1/25.6), as pymicro-features and microWakeWord
/// compute it; the product is exact in `f32`.
pub const MICRO_FEATURE_SCALE: f32 = 0.0390625;

/// Fractional bits of the window coefficients.
const WINDOW_BITS: u32 = 12;
/// Largest supported window, in samples (keeps every table index within `i16`).
const MAX_WINDOW_SAMPLES: usize = 8192;

/// Frontend parameters. [`Default`] gives the microWakeWord / ESPHome settings (the values
/// pymicro-features' `init_cfg` sets).
#[derive(Clone, Debug, PartialEq)]
pub struct MicroFrontendConfig {
    /// Input sample rate in Hz (microWakeWord: 16000).
    pub sample_rate: u32,
    /// Analysis window length in ms (30).
    pub window_size_ms: u32,
    /// Hop between frames in ms (10).
    pub window_step_ms: u32,
    /// Number of mel channels (40).
    pub num_channels: usize,
    /// Lowest filterbank frequency in Hz (125).
    pub lower_band_limit: f32,
    /// Highest filterbank frequency in Hz (7500).
    pub upper_band_limit: f32,
    /// Extra precision bits of the noise estimate (10).
    pub noise_smoothing_bits: u32,
    /// Noise-estimate smoothing for even channels, in [0, 1] (0.025).
    pub noise_even_smoothing: f32,
    /// Noise-estimate smoothing for odd channels, in [0, 1] (0.06).
    pub noise_odd_smoothing: f32,
    /// Fraction of the signal always kept after noise subtraction, in [0, 1] (0.05).
    pub noise_min_signal_remaining: f32,
    /// Apply PCAN gain control (true).
    pub enable_pcan: bool,
    /// PCAN normalisation exponent (0.95).
    pub pcan_strength: f32,
    /// PCAN offset added to the noise estimate (80).
    pub pcan_offset: f32,
    /// Fractional bits of the PCAN gain (21).
    pub pcan_gain_bits: u32,
    /// Apply the fixed-point log (true).
    pub enable_log: bool,
    /// Output scale of the log: `ln(x) * 2^scale_shift` (6).
    pub log_scale_shift: u32,
}

impl Default for MicroFrontendConfig {
    fn default() -> Self {
        Self {
            sample_rate: 16000,
            window_size_ms: 30,
            window_step_ms: 10,
            num_channels: 40,
            lower_band_limit: 125.0,
            upper_band_limit: 7500.0,
            noise_smoothing_bits: 10,
            noise_even_smoothing: 0.025,
            noise_odd_smoothing: 0.06,
            noise_min_signal_remaining: 0.05,
            enable_pcan: true,
            pcan_strength: 0.95,
            pcan_offset: 80.0,
            pcan_gain_bits: 21,
            enable_log: true,
            log_scale_shift: 6,
        }
    }
}

/// Streaming TFLite-Micro frontend: push 16-bit samples, get one `u16` vector of
/// `num_channels` values per completed window step.
///
/// Any chunking of the input gives the same output. The first frame appears once a full
/// window (480 samples at the default settings) has been pushed, then one per step
/// (160 samples). All buffers are allocated in [`MicroFrontend::new`].
#[derive(Clone, Debug)]
pub struct MicroFrontend {
    cfg: MicroFrontendConfig,
    window_size: usize,
    window_step: usize,
    window_coefficients: Vec<i16>,
    /// Pending input samples (the C `WindowState.input`).
    input: Vec<i16>,
    input_used: usize,
    /// Windowed, auto-scaled and zero-padded FFT input.
    fft_input: Vec<i16>,
    fft_output: Vec<Cpx>,
    fft: KissFftr,
    filterbank: Filterbank,
    noise_reduction: NoiseReduction,
    pcan: Option<Pcan>,
    /// `log2(fft_size) - 1 - FILTERBANK_BITS / 2`: undoes the FFT's 1/N scaling in the log.
    correction_bits: i32,
    /// Per-channel values between the stages.
    signal: Vec<u32>,
    /// The last frame's output.
    frame: Vec<u16>,
}

/// Read-only view of the fixed-point tables of an initialised [`MicroFrontend`] (the C
/// `FrontendState` after `FrontendPopulateState`), for inspection and verification.
#[derive(Clone, Copy, Debug)]
pub struct MicroTables<'a> {
    /// Window length in samples.
    pub window_size: usize,
    /// Window step in samples.
    pub window_step: usize,
    /// FFT length (window rounded up to a power of two).
    pub fft_size: usize,
    /// Q12 window coefficients.
    pub window_coefficients: &'a [i16],
    /// First FFT bin used by the filterbank.
    pub filterbank_start_index: usize,
    /// One past the last FFT bin used by the filterbank.
    pub filterbank_end_index: usize,
    /// Aligned first bin per channel (`num_channels + 1` entries).
    pub filterbank_channel_frequency_starts: &'a [i16],
    /// Offset into the weight arrays per channel.
    pub filterbank_channel_weight_starts: &'a [i16],
    /// Padded number of bins per channel.
    pub filterbank_channel_widths: &'a [i16],
    /// Q12 weights of each bin towards its channel.
    pub filterbank_weights: &'a [i16],
    /// Q12 weights of each bin towards the previous channel.
    pub filterbank_unweights: &'a [i16],
    /// Noise-estimate precision bits.
    pub noise_reduction_smoothing_bits: u32,
    /// Q14 even-channel smoothing.
    pub noise_reduction_even_smoothing_q14: u16,
    /// Q14 odd-channel smoothing.
    pub noise_reduction_odd_smoothing_q14: u16,
    /// Q14 minimum remaining signal fraction.
    pub noise_reduction_min_signal_remaining_q14: u16,
    /// PCAN SNR shift, `None` when PCAN is disabled.
    pub pcan_snr_shift: Option<u32>,
    /// PCAN gain lookup table (125 entries; unused slots 4n-3 are zero), empty when disabled.
    pub pcan_gain_lut: &'a [i16],
    /// Log output scale shift.
    pub log_scale_shift: u32,
}

/// An out-of-range or inconsistent [`MicroFrontendConfig`]; the message names the setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {}", self.0)
    }
}

impl core::error::Error for ConfigError {}

fn invalid(msg: impl Into<String>) -> ConfigError {
    #[cfg(feature = "messages")]
    return ConfigError(alloc::format!("micro frontend: {}", msg.into()));
    #[cfg(not(feature = "messages"))]
    ConfigError(msg.into())
}

fn msb32(x: u32) -> i32 {
    32 - x.leading_zeros() as i32
}

impl MicroFrontend {
    /// Builds every table the way the C init code does; fails on out-of-range settings.
    pub fn new(cfg: MicroFrontendConfig) -> Result<Self, ConfigError> {
        if cfg.sample_rate == 0 {
            return Err(invalid("sample rate must be positive"));
        }
        let window_size = (cfg.window_size_ms as u64 * cfg.sample_rate as u64 / 1000) as usize;
        let window_step = (cfg.window_step_ms as u64 * cfg.sample_rate as u64 / 1000) as usize;
        if !(4..=MAX_WINDOW_SAMPLES).contains(&window_size) {
            return Err(invalid(msg!(
                "window of {} ms at {} Hz is {window_size} samples (supported: 4..={MAX_WINDOW_SAMPLES})",
                cfg.window_size_ms, cfg.sample_rate
            )));
        }
        if window_step == 0 || window_step > window_size {
            return Err(invalid(msg!(
                "window step of {} ms ({window_step} samples) must be between 1 sample and the window ({window_size} samples)",
                cfg.window_step_ms
            )));
        }
        if cfg.num_channels == 0 || cfg.num_channels > 1024 {
            return Err(invalid(msg!(
                "num_channels {} out of range 1..=1024",
                cfg.num_channels
            )));
        }
        let (lo, hi) = (cfg.lower_band_limit, cfg.upper_band_limit);
        if !(lo.is_finite() && hi.is_finite() && lo >= 0.0 && hi > lo) {
            return Err(invalid(msg!(
                "band limits {lo}..{hi} Hz must be finite with 0 <= lower < upper"
            )));
        }
        for (name, v) in [
            ("noise_even_smoothing", cfg.noise_even_smoothing),
            ("noise_odd_smoothing", cfg.noise_odd_smoothing),
            ("noise_min_signal_remaining", cfg.noise_min_signal_remaining),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(invalid(msg!("{name} = {v} must be in [0, 1]")));
            }
        }
        if cfg.noise_smoothing_bits > 24 {
            return Err(invalid(msg!(
                "noise_smoothing_bits {} > 24",
                cfg.noise_smoothing_bits
            )));
        }
        if cfg.log_scale_shift > 16 {
            return Err(invalid(msg!(
                "log_scale_shift {} > 16",
                cfg.log_scale_shift
            )));
        }

        let fft_size = window_size.next_power_of_two();
        let correction_bits = msb32(fft_size as u32) - 1 - (FILTERBANK_BITS / 2) as i32;

        let pcan = if cfg.enable_pcan {
            let snr_shift = cfg.pcan_gain_bits as i32 - correction_bits - PCAN_SNR_BITS;
            let input_bits = cfg.noise_smoothing_bits as i32 - correction_bits;
            if cfg.pcan_gain_bits > 31 || !(0..64).contains(&snr_shift) {
                return Err(invalid(msg!(
                    "pcan_gain_bits {} gives SNR shift {snr_shift} for a {fft_size}-point FFT (must be 0..64, gain_bits <= 31)",
                    cfg.pcan_gain_bits
                )));
            }
            if !(0..32).contains(&input_bits) {
                return Err(invalid(msg!(
                    "noise_smoothing_bits {} is too small for a {fft_size}-point FFT",
                    cfg.noise_smoothing_bits
                )));
            }
            if !(cfg.pcan_strength.is_finite()
                && cfg.pcan_offset.is_finite()
                && cfg.pcan_offset >= 0.0)
            {
                return Err(invalid(msg!(
                    "pcan_strength {} must be finite and pcan_offset {} finite and >= 0",
                    cfg.pcan_strength,
                    cfg.pcan_offset
                )));
            }
            Some(Pcan::new(
                cfg.pcan_strength,
                cfg.pcan_offset,
                cfg.pcan_gain_bits,
                snr_shift as u32,
                input_bits as u32,
            ))
        } else {
            None
        };

        // Hann-like window in Q12, single-precision as in the C code.
        let arg = core::f32::consts::PI * 2.0 / window_size as f32;
        let window_coefficients = (0..window_size)
            .map(|i| {
                let v = 0.5 - 0.5 * math::cosf(arg * (i as f32 + 0.5));
                math::floorf(v * (1 << WINDOW_BITS) as f32 + 0.5) as i16
            })
            .collect();

        let spectrum_size = fft_size / 2 + 1;
        let filterbank = Filterbank::new(cfg.num_channels, lo, hi, cfg.sample_rate, spectrum_size)?;
        let noise_reduction = NoiseReduction::new(
            cfg.noise_smoothing_bits,
            cfg.noise_even_smoothing,
            cfg.noise_odd_smoothing,
            cfg.noise_min_signal_remaining,
            cfg.num_channels,
        );
        Ok(Self {
            window_size,
            window_step,
            window_coefficients,
            input: vec![0; window_size],
            input_used: 0,
            fft_input: vec![0; fft_size],
            fft_output: vec![Cpx::default(); spectrum_size],
            fft: KissFftr::new(fft_size),
            filterbank,
            noise_reduction,
            pcan,
            correction_bits,
            signal: vec![0; cfg.num_channels],
            frame: vec![0; cfg.num_channels],
            cfg,
        })
    }

    /// Pushes samples of any length; appends `num_channels` values per completed frame to
    /// `out` and returns the number of frames added.
    pub fn process(&mut self, samples: &[i16], out: &mut Vec<u16>) -> usize {
        self.process_with(samples, |frame| out.extend_from_slice(frame))
    }

    /// Pushes samples of any length and calls `on_frame` with the `num_channels` values of
    /// each completed frame; returns the number of frames. Allocates nothing.
    pub fn process_with(&mut self, mut samples: &[i16], mut on_frame: impl FnMut(&[u16])) -> usize {
        let mut frames = 0;
        while !samples.is_empty() {
            let n = (self.window_size - self.input_used).min(samples.len());
            self.input[self.input_used..self.input_used + n].copy_from_slice(&samples[..n]);
            self.input_used += n;
            samples = &samples[n..];
            if self.input_used == self.window_size {
                self.compute_frame();
                on_frame(&self.frame);
                self.input.copy_within(self.window_step.., 0);
                self.input_used -= self.window_step;
                frames += 1;
            }
        }
        frames
    }

    /// One frame from the full input window (`FrontendProcessSamples` after the window fills).
    fn compute_frame(&mut self) {
        // Window (Q12), tracking the peak so the FFT input can use the full i16 range.
        let mut max_abs: i16 = 0;
        for ((dst, &x), &c) in self
            .fft_input
            .iter_mut()
            .zip(&self.input)
            .zip(&self.window_coefficients)
        {
            let v = ((x as i32 * c as i32) >> WINDOW_BITS) as i16;
            *dst = v;
            // wrapping_neg: -(-32768) stays negative in C's int16_t and never counts.
            let a = if v < 0 { v.wrapping_neg() } else { v };
            max_abs = max_abs.max(a);
        }
        let input_shift = (15 - msb32(max_abs as u32)) as u32;
        for v in &mut self.fft_input[..self.window_size] {
            *v = ((*v as u16 as u32) << input_shift) as i16;
        }
        // fft_input[window_size..] stays zero from construction.
        self.fft.process(&self.fft_input, &mut self.fft_output);

        self.filterbank.accumulate(&self.fft_output);
        self.filterbank.sqrt(input_shift, &mut self.signal);
        self.noise_reduction.apply(&mut self.signal);
        if let Some(pcan) = &self.pcan {
            pcan.apply(&mut self.signal, &self.noise_reduction.estimate);
        }
        log_scale::apply(
            &self.signal,
            self.cfg.enable_log,
            self.cfg.log_scale_shift,
            self.correction_bits,
            &mut self.frame,
        );
    }

    /// Forgets all buffered audio and adaptive state, as if freshly constructed.
    pub fn reset(&mut self) {
        self.input.fill(0);
        self.input_used = 0;
        self.filterbank.reset();
        self.noise_reduction.reset();
    }

    /// Values per frame.
    pub fn num_channels(&self) -> usize {
        self.cfg.num_channels
    }

    /// Samples per window step (one frame is produced per step once the window is full).
    pub fn step_samples(&self) -> usize {
        self.window_step
    }

    /// Samples in one analysis window.
    pub fn window_samples(&self) -> usize {
        self.window_size
    }

    /// The configuration this frontend was built with.
    pub fn config(&self) -> &MicroFrontendConfig {
        &self.cfg
    }

    /// The fixed-point tables built at construction.
    pub fn tables(&self) -> MicroTables<'_> {
        let fb = &self.filterbank;
        let nr = &self.noise_reduction;
        MicroTables {
            window_size: self.window_size,
            window_step: self.window_step,
            fft_size: self.fft_input.len(),
            window_coefficients: &self.window_coefficients,
            filterbank_start_index: fb.start_index,
            filterbank_end_index: fb.end_index,
            filterbank_channel_frequency_starts: &fb.channel_frequency_starts,
            filterbank_channel_weight_starts: &fb.channel_weight_starts,
            filterbank_channel_widths: &fb.channel_widths,
            filterbank_weights: &fb.weights,
            filterbank_unweights: &fb.unweights,
            noise_reduction_smoothing_bits: nr.smoothing_bits,
            noise_reduction_even_smoothing_q14: nr.even_smoothing,
            noise_reduction_odd_smoothing_q14: nr.odd_smoothing,
            noise_reduction_min_signal_remaining_q14: nr.min_signal_remaining,
            pcan_snr_shift: self.pcan.as_ref().map(|p| p.snr_shift),
            pcan_gain_lut: self.pcan.as_ref().map_or(&[][..], |p| &p.gain_lut),
            log_scale_shift: self.cfg.log_scale_shift,
        }
    }
}
