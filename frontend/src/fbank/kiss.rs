//! A real FFT that performs the same `f32` operations, in the same order, as KISS FFT
//! (`kiss_fftr` over a mixed radix-4/radix-2 `kiss_fft`), which kaldi-native-fbank
//! 1.23 uses. Low-energy mel bins are dominated by FFT rounding error (the reference's
//! own error reaches 2e-4 in log energy there), so matching the reference to 1e-4
//! needs the same rounding, not just an accurate FFT. Used for power-of-two sizes;
//! other sizes go through `realfft`.

#[derive(Debug, Clone, Copy, Default)]
struct Cpx {
    r: f32,
    i: f32,
}

impl Cpx {
    fn from_phase(phase: f64) -> Self {
        Self {
            r: libm::cos(phase) as f32,
            i: libm::sin(phase) as f32,
        }
    }
    #[inline(always)]
    fn mul(self, b: Self) -> Self {
        Self {
            r: self.r * b.r - self.i * b.i,
            i: self.r * b.i + self.i * b.r,
        }
    }
    #[inline(always)]
    fn add(self, b: Self) -> Self {
        Self {
            r: self.r + b.r,
            i: self.i + b.i,
        }
    }
    #[inline(always)]
    fn sub(self, b: Self) -> Self {
        Self {
            r: self.r - b.r,
            i: self.i - b.i,
        }
    }
}

/// Forward real FFT of even length `n` whose half length factors into 4s and 2s.
#[derive(Debug, Clone)]
pub(crate) struct KissRealFft {
    /// (radix, remaining length) per stage, as `kf_factor` produces them.
    factors: Vec<(usize, usize)>,
    twiddles: Vec<Cpx>,
    super_twiddles: Vec<Cpx>,
    input: Vec<Cpx>,
    tmp: Vec<Cpx>,
}

impl KissRealFft {
    /// `None` unless `n` is even and `n / 2` is a power of two (≥ 2).
    pub(crate) fn new(n: usize) -> Option<Self> {
        let ncfft = n / 2;
        if n & 1 == 1 || ncfft < 2 || !ncfft.is_power_of_two() {
            return None;
        }
        // kf_factor: radix 4 while possible, then 2.
        let mut factors = Vec::new();
        let mut rest = ncfft;
        while rest > 1 {
            let p = if rest.trailing_zeros() >= 2 { 4 } else { 2 };
            rest /= p;
            factors.push((p, rest));
        }
        let pi = std::f64::consts::PI;
        let twiddles = (0..ncfft)
            .map(|i| Cpx::from_phase(-2.0 * pi * i as f64 / ncfft as f64))
            .collect();
        let super_twiddles = (0..ncfft / 2)
            .map(|i| Cpx::from_phase(-pi * ((i + 1) as f64 / ncfft as f64 + 0.5)))
            .collect();
        Some(Self {
            factors,
            twiddles,
            super_twiddles,
            input: vec![Cpx::default(); ncfft],
            tmp: vec![Cpx::default(); ncfft],
        })
    }

    /// Power spectrum `|X_k|^2` for `k = 0..=n/2` of the real signal `x` (length `n`).
    pub(crate) fn power_spectrum(&mut self, x: &[f32], power: &mut [f32]) {
        let ncfft = self.input.len();
        for (c, pair) in self.input.iter_mut().zip(x.chunks_exact(2)) {
            *c = Cpx {
                r: pair[0],
                i: pair[1],
            };
        }
        let mut tmp = std::mem::take(&mut self.tmp);
        self.work(&mut tmp, 0, 0, 1, 0);
        let dc = tmp[0];
        power[0] = (dc.r + dc.i) * (dc.r + dc.i);
        power[ncfft] = (dc.r - dc.i) * (dc.r - dc.i);
        let pw = |c: Cpx| c.r * c.r + c.i * c.i;
        for k in 1..=ncfft / 2 {
            let fpk = tmp[k];
            let fpnk = Cpx {
                r: tmp[ncfft - k].r,
                i: -tmp[ncfft - k].i,
            };
            let f1k = fpk.add(fpnk);
            let f2k = fpk.sub(fpnk);
            let tw = f2k.mul(self.super_twiddles[k - 1]);
            power[k] = pw(Cpx {
                r: (f1k.r + tw.r) * 0.5,
                i: (f1k.i + tw.i) * 0.5,
            });
            power[ncfft - k] = pw(Cpx {
                r: (f1k.r - tw.r) * 0.5,
                i: (tw.i - f1k.i) * 0.5,
            });
        }
        self.tmp = tmp;
    }

    /// Decimation in time, recursively (`kf_work`).
    fn work(&self, out: &mut [Cpx], out_off: usize, in_off: usize, fstride: usize, stage: usize) {
        let (p, m) = self.factors[stage];
        if m == 1 {
            for j in 0..p {
                out[out_off + j] = self.input[in_off + j * fstride];
            }
        } else {
            for j in 0..p {
                self.work(
                    out,
                    out_off + j * m,
                    in_off + j * fstride,
                    fstride * p,
                    stage + 1,
                );
            }
        }
        let f = &mut out[out_off..out_off + p * m];
        let tw = &self.twiddles;
        if p == 2 {
            for k in 0..m {
                let t = f[k + m].mul(tw[k * fstride]);
                f[k + m] = f[k].sub(t);
                f[k] = f[k].add(t);
            }
        } else {
            for k in 0..m {
                let s0 = f[k + m].mul(tw[k * fstride]);
                let s1 = f[k + 2 * m].mul(tw[2 * k * fstride]);
                let s2 = f[k + 3 * m].mul(tw[3 * k * fstride]);
                let s5 = f[k].sub(s1);
                f[k] = f[k].add(s1);
                let s3 = s0.add(s2);
                let s4 = s0.sub(s2);
                f[k + 2 * m] = f[k].sub(s3);
                f[k] = f[k].add(s3);
                f[k + m] = Cpx {
                    r: s5.r + s4.i,
                    i: s5.i - s4.r,
                };
                f[k + 3 * m] = Cpx {
                    r: s5.r - s4.i,
                    i: s5.i + s4.r,
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a direct f64 DFT (accuracy, not bit pattern).
    #[test]
    fn matches_direct_dft() {
        for n in [4usize, 8, 16, 64, 512] {
            let x: Vec<f32> = (0..n).map(|i| ((i * 7 % 13) as f32 - 6.0) / 7.0).collect();
            let mut p = vec![0.0; n / 2 + 1];
            KissRealFft::new(n).unwrap().power_spectrum(&x, &mut p);
            for (k, &pk) in p.iter().enumerate() {
                let (mut re, mut im) = (0.0f64, 0.0f64);
                for (j, &v) in x.iter().enumerate() {
                    let t = -std::f64::consts::TAU * (k * j) as f64 / n as f64;
                    re += v as f64 * t.cos();
                    im += v as f64 * t.sin();
                }
                let want = re * re + im * im;
                assert!(
                    (pk as f64 - want).abs() <= 1e-4 * want.max(1.0),
                    "n={n} k={k}: {pk} vs {want}"
                );
            }
        }
        assert!(KissRealFft::new(400).is_none());
    }
}
