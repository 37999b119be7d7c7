//! Streaming resampler from any rate in 8–48 kHz to 16 kHz.
//!
//! Wraps rubato's synchronous FFT resampler (`FftFixedIn`), fed internally with
//! fixed input chunks of 40 ms (80 ms for 11.025 kHz: see `new`), so pushes of any size give
//! bit-identical output. The anti-aliasing filter keeps the band up to about 7.8 kHz. The
//! filter delay is removed (output sample `k` corresponds to time `k / 16000` s of the
//! input) and [`Resampler16k::finish`] flushes the tail so the total output length is
//! `round(input_len * 16000 / rate)`. 16 kHz input passes through unchanged.

use rubato::{FftFixedIn, Resampler as _};

use crate::FrontendError;

/// The output rate.
pub const TARGET_RATE: u32 = 16_000;
/// Lowest accepted input rate.
pub const MIN_RATE: u32 = 8_000;
/// Highest accepted input rate.
pub const MAX_RATE: u32 = 48_000;
/// Shortest internal block, in output samples (40 ms at 16 kHz).
const MIN_CHUNK_OUT: usize = 640;

/// Streaming resampler to 16 kHz (mono).
///
/// ```
/// use sotto_frontend::resample::Resampler16k;
/// let mut rs = Resampler16k::new(44_100)?;
/// let input = vec![0.0f32; 44_100]; // 1 s
/// let mut out = Vec::new();
/// rs.accept(&input[..1000], &mut out);
/// rs.accept(&input[1000..], &mut out);
/// rs.finish(&mut out);
/// assert_eq!(out.len(), 16_000);
/// # Ok::<(), sotto_frontend::FrontendError>(())
/// ```
pub struct Resampler16k {
    rate: u32,
    inner: Option<Inner>,
    samples_in: u64,
    samples_out: u64,
}

struct Inner {
    fft: FftFixedIn<f32>,
    chunk: usize,
    pending: Vec<f32>,
    buf: Vec<f32>,
    /// Output samples still to drop (the filter delay).
    skip: usize,
    delay: usize,
}

impl std::fmt::Debug for Resampler16k {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler16k")
            .field("rate", &self.rate)
            .field("samples_in", &self.samples_in)
            .field("samples_out", &self.samples_out)
            .finish_non_exhaustive()
    }
}

impl Resampler16k {
    /// A resampler from `input_rate` Hz (8000..=48000) to 16 kHz.
    pub fn new(input_rate: u32) -> Result<Self, FrontendError> {
        if !(MIN_RATE..=MAX_RATE).contains(&input_rate) {
            return Err(FrontendError::UnsupportedSampleRate {
                rate: input_rate,
                supported: format!("{MIN_RATE}..={MAX_RATE} Hz"),
            });
        }
        let inner = (input_rate != TARGET_RATE)
            .then(|| {
                // Chunks of at least MIN_CHUNK_OUT output samples that are whole FFT blocks
                // with an even input and output length: then the filter delay (half a block)
                // is a whole number of output samples and can be removed exactly (odd blocks,
                // e.g. 441 samples at 44.1 kHz, would leave a fractional-sample shift). rubato
                // sizes its anti-aliasing filter by the block: 10 ms blocks (160 output
                // samples) cut at 7.3 kHz and lost the top mel bins; 40 ms blocks keep the
                // band up to about 7.8 kHz.
                let (rate, target) = (input_rate as usize, TARGET_RATE as usize);
                let g = gcd(rate, target);
                let (unit_in, unit_out) = (rate / g, target / g);
                let mut units = MIN_CHUNK_OUT.div_ceil(unit_out);
                if (units * unit_in) % 2 == 1 || (units * unit_out) % 2 == 1 {
                    units *= 2;
                }
                let chunk = units * unit_in;
                let fft =
                    FftFixedIn::<f32>::new(input_rate as usize, TARGET_RATE as usize, chunk, 1, 1)
                        .map_err(|e| {
                            FrontendError::InvalidConfig(format!(
                                "resampler {input_rate} Hz -> 16 kHz: {e}"
                            ))
                        })?;
                let delay = fft.output_delay();
                Ok::<_, FrontendError>(Inner {
                    buf: vec![0.0; fft.output_frames_max()],
                    fft,
                    chunk,
                    pending: Vec::with_capacity(chunk),
                    skip: delay,
                    delay,
                })
            })
            .transpose()?;
        Ok(Self {
            rate: input_rate,
            inner,
            samples_in: 0,
            samples_out: 0,
        })
    }

    /// The input rate.
    pub fn input_rate(&self) -> u32 {
        self.rate
    }

    /// Accepts input samples (any length); appends the resampled output available so far
    /// to `out` and returns how many samples were added.
    pub fn accept(&mut self, input: &[f32], out: &mut Vec<f32>) -> usize {
        self.samples_in += input.len() as u64;
        let Some(inner) = &mut self.inner else {
            out.extend_from_slice(input);
            self.samples_out += input.len() as u64;
            return input.len();
        };
        let start = out.len();
        let mut rest = input;
        while !rest.is_empty() {
            let take = (inner.chunk - inner.pending.len()).min(rest.len());
            inner.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if inner.pending.len() == inner.chunk {
                inner.process(out);
            }
        }
        let n = out.len() - start;
        self.samples_out += n as u64;
        n
    }

    /// Flushes the tail (feeding silence through the filter), appends it to `out` so that
    /// the total output is `round(input_len * 16000 / rate)` samples, and resets the
    /// resampler for the next stream. Returns how many samples were added.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> usize {
        let total =
            (self.samples_in * TARGET_RATE as u64 + self.rate as u64 / 2) / self.rate as u64;
        let start = out.len();
        if let Some(inner) = &mut self.inner {
            while self.samples_out + ((out.len() - start) as u64) < total {
                inner.pending.resize(inner.chunk, 0.0);
                inner.process(out);
            }
        }
        let keep = (total.saturating_sub(self.samples_out)) as usize;
        out.truncate(start + keep.min(out.len() - start));
        let n = out.len() - start;
        self.reset();
        n
    }

    /// Forgets all input.
    pub fn reset(&mut self) {
        self.samples_in = 0;
        self.samples_out = 0;
        if let Some(inner) = &mut self.inner {
            inner.fft.reset();
            inner.pending.clear();
            inner.skip = inner.delay;
        }
    }

    /// One-shot convenience: resamples a whole signal (resets first and afterwards).
    pub fn process_all(&mut self, input: &[f32]) -> Vec<f32> {
        self.reset();
        let mut out =
            Vec::with_capacity(input.len() * TARGET_RATE as usize / self.rate as usize + 1);
        self.accept(input, &mut out);
        self.finish(&mut out);
        out
    }
}

impl Inner {
    fn process(&mut self, out: &mut Vec<f32>) {
        let (_, produced) = self
            .fft
            .process_into_buffer(&[&self.pending[..]], &mut [&mut self.buf[..]], None)
            .expect("buffer sizes come from the resampler");
        self.pending.clear();
        let drop = self.skip.min(produced);
        self.skip -= drop;
        out.extend_from_slice(&self.buf[drop..produced]);
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Resamples a whole signal from `rate` to 16 kHz (a copy when it already is 16 kHz).
pub fn resample_to_16k(samples: &[f32], rate: u32) -> Result<Vec<f32>, FrontendError> {
    Ok(Resampler16k::new(rate)?.process_all(samples))
}
