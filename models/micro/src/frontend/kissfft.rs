//! kissfft's 16-bit fixed-point real FFT (`FIXED_POINT=16`), reproduced bit for bit.
//!
//! The TFLite-Micro frontend's output depends on every rounding step of kissfft's
//! integer arithmetic: each butterfly stage first divides its inputs by the radix
//! (`C_FIXDIV`: multiply by `32767 / radix` in Q15 with rounding), products round
//! half up in Q15 (`S_MUL`/`C_MUL`), and all sums wrap to `i16`. The real FFT of size
//! `2n` packs even/odd samples into an `n`-point complex FFT and splits the result with
//! the "super twiddles". Only power-of-two sizes occur (the frontend rounds the window
//! up to a power of two), so only the radix-4 and radix-2 butterflies are needed.

use crate::math;
use alloc::vec;
use alloc::vec::Vec;
/// A complex `i16` value, laid out like kissfft's `kiss_fft_cpx` / TFLM's `complex_int16_t`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Cpx {
    pub r: i16,
    pub i: i16,
}

const SAMP_MAX: i32 = 32767;

/// Q15 product, widened (`smul`).
#[inline(always)]
fn smul(a: i16, b: i16) -> i32 {
    a as i32 * b as i32
}

/// Round a Q30 product back to Q15, truncating to `i16` like the C cast (`sround`).
#[inline(always)]
fn sround(x: i32) -> i16 {
    (x.wrapping_add(1 << 14) >> 15) as i16
}

#[inline(always)]
fn cmul(a: Cpx, b: Cpx) -> Cpx {
    Cpx {
        r: sround(smul(a.r, b.r).wrapping_sub(smul(a.i, b.i))),
        i: sround(smul(a.r, b.i).wrapping_add(smul(a.i, b.r))),
    }
}

#[inline(always)]
fn add(a: Cpx, b: Cpx) -> Cpx {
    Cpx {
        r: a.r.wrapping_add(b.r),
        i: a.i.wrapping_add(b.i),
    }
}

#[inline(always)]
fn sub(a: Cpx, b: Cpx) -> Cpx {
    Cpx {
        r: a.r.wrapping_sub(b.r),
        i: a.i.wrapping_sub(b.i),
    }
}

/// `C_FIXDIV`: scale down by the radix so the stage cannot overflow.
#[inline(always)]
fn fixdiv(c: Cpx, div: i32) -> Cpx {
    let k = (SAMP_MAX / div) as i16;
    Cpx {
        r: sround(smul(c.r, k)),
        i: sround(smul(c.i, k)),
    }
}

/// `kf_cexp` in fixed point: `floor(0.5 + 32767 * cos/sin(phase))`, computed in `f64`.
fn cexp(phase: f64) -> Cpx {
    let q = |v: f64| math::floor(0.5 + SAMP_MAX as f64 * v) as i16;
    Cpx {
        r: q(math::cos(phase)),
        i: q(math::sin(phase)),
    }
}

/// kissfft's factorisation: powers of 4 first, then 2, then odd primes; `(radix, remaining length)`.
fn factor(mut n: usize) -> Vec<(usize, usize)> {
    let floor_sqrt = math::floor(math::sqrt(n as f64)) as usize;
    let mut p = 4;
    let mut out = Vec::new();
    loop {
        while !n.is_multiple_of(p) {
            p = match p {
                4 => 2,
                2 => 3,
                _ => p + 2,
            };
            if p > floor_sqrt {
                p = n;
            }
        }
        n /= p;
        out.push((p, n));
        if n <= 1 {
            return out;
        }
    }
}

/// Forward real FFT of a fixed power-of-two size with preallocated scratch space.
#[derive(Clone, Debug)]
pub(crate) struct KissFftr {
    /// Complex FFT length (`nfft / 2`).
    ncfft: usize,
    factors: Vec<(usize, usize)>,
    twiddles: Vec<Cpx>,
    super_twiddles: Vec<Cpx>,
    packed: Vec<Cpx>,
    tmp: Vec<Cpx>,
}

impl KissFftr {
    /// `nfft` must be a power of two, at least 4 (checked by the caller's config validation).
    pub(crate) fn new(nfft: usize) -> Self {
        debug_assert!(nfft >= 4 && nfft.is_power_of_two());
        let ncfft = nfft / 2;
        let pi = core::f64::consts::PI;
        let twiddles = (0..ncfft)
            .map(|i| cexp(-2.0 * pi * i as f64 / ncfft as f64))
            .collect();
        let super_twiddles = (0..ncfft / 2)
            .map(|i| cexp(-pi * ((i + 1) as f64 / ncfft as f64 + 0.5)))
            .collect();
        let factors = factor(ncfft);
        debug_assert!(factors.iter().all(|&(p, _)| p == 2 || p == 4));
        Self {
            ncfft,
            factors,
            twiddles,
            super_twiddles,
            packed: vec![Cpx::default(); ncfft],
            tmp: vec![Cpx::default(); ncfft],
        }
    }

    /// `kiss_fftr`: `input` has `2 * ncfft` samples, `out` receives `ncfft + 1` bins.
    pub(crate) fn process(&mut self, input: &[i16], out: &mut [Cpx]) {
        let n = self.ncfft;
        for (c, pair) in self.packed.iter_mut().zip(input.chunks_exact(2)) {
            *c = Cpx {
                r: pair[0],
                i: pair[1],
            };
        }
        work(
            &mut self.tmp,
            &self.packed,
            1,
            &self.factors,
            &self.twiddles,
        );

        let tdc = fixdiv(self.tmp[0], 2);
        out[0] = Cpx {
            r: tdc.r.wrapping_add(tdc.i),
            i: 0,
        };
        out[n] = Cpx {
            r: tdc.r.wrapping_sub(tdc.i),
            i: 0,
        };
        for k in 1..=n / 2 {
            let fpk = fixdiv(self.tmp[k], 2);
            let nk = self.tmp[n - k];
            let fpnk = fixdiv(
                Cpx {
                    r: nk.r,
                    i: nk.i.wrapping_neg(),
                },
                2,
            );
            let f1k = add(fpk, fpnk);
            let f2k = sub(fpk, fpnk);
            let tw = cmul(f2k, self.super_twiddles[k - 1]);
            // HALF_OF acts on the int-promoted sum, before truncation to i16.
            let half = |a: i16, b: i16, sign: i32| ((a as i32 + sign * b as i32) >> 1) as i16;
            // Written in this order on purpose: for k == n/2 both land on the same bin
            // and the second assignment wins, as in C.
            out[k] = Cpx {
                r: half(f1k.r, tw.r, 1),
                i: half(f1k.i, tw.i, 1),
            };
            out[n - k] = Cpx {
                r: half(f1k.r, tw.r, -1),
                i: half(tw.i, f1k.i, -1),
            };
        }
    }
}

/// `kf_work` with `in_stride == 1`: recursive decimation in time, then recombination.
fn work(out: &mut [Cpx], f: &[Cpx], fstride: usize, factors: &[(usize, usize)], tw: &[Cpx]) {
    let (p, m) = factors[0];
    if m == 1 {
        for (k, o) in out[..p].iter_mut().enumerate() {
            *o = f[k * fstride];
        }
    } else {
        for k in 0..p {
            work(
                &mut out[k * m..(k + 1) * m],
                &f[k * fstride..],
                fstride * p,
                &factors[1..],
                tw,
            );
        }
    }
    match p {
        4 => bfly4(out, fstride, tw, m),
        2 => bfly2(out, fstride, tw, m),
        _ => unreachable!("power-of-two FFT sizes only factor into 4 and 2"),
    }
}

fn bfly2(out: &mut [Cpx], fstride: usize, tw: &[Cpx], m: usize) {
    for k in 0..m {
        let f0 = fixdiv(out[k], 2);
        let f1 = fixdiv(out[k + m], 2);
        let t = cmul(f1, tw[k * fstride]);
        out[k + m] = sub(f0, t);
        out[k] = add(f0, t);
    }
}

fn bfly4(out: &mut [Cpx], fstride: usize, tw: &[Cpx], m: usize) {
    for k in 0..m {
        let mut f0 = fixdiv(out[k], 4);
        let f1 = fixdiv(out[k + m], 4);
        let f2 = fixdiv(out[k + 2 * m], 4);
        let f3 = fixdiv(out[k + 3 * m], 4);
        let s0 = cmul(f1, tw[k * fstride]);
        let s1 = cmul(f2, tw[2 * k * fstride]);
        let s2 = cmul(f3, tw[3 * k * fstride]);
        let s5 = sub(f0, s1);
        f0 = add(f0, s1);
        let s3 = add(s0, s2);
        let s4 = sub(s0, s2);
        out[k + 2 * m] = sub(f0, s3);
        out[k] = add(f0, s3);
        out[k + m] = Cpx {
            r: s5.r.wrapping_add(s4.i),
            i: s5.i.wrapping_sub(s4.r),
        };
        out[k + 3 * m] = Cpx {
            r: s5.r.wrapping_sub(s4.i),
            i: s5.i.wrapping_add(s4.r),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_match_kissfft() {
        assert_eq!(factor(256), vec![(4, 64), (4, 16), (4, 4), (4, 1)]);
        assert_eq!(factor(128), vec![(4, 32), (4, 8), (4, 2), (2, 1)]);
        assert_eq!(factor(2), vec![(2, 1)]);
    }

    /// The fixed-point FFT of a full-scale cosine approximates the float DFT (scaled by 1/nfft).
    #[test]
    fn cosine_lands_in_its_bin() {
        let nfft = 512;
        let bin = 37;
        let x: Vec<i16> = (0..nfft)
            .map(|t| {
                (16000.0 * (2.0 * std::f64::consts::PI * (bin * t) as f64 / nfft as f64).cos())
                    as i16
            })
            .collect();
        let mut fft = KissFftr::new(nfft);
        let mut out = vec![Cpx::default(); nfft / 2 + 1];
        fft.process(&x, &mut out);
        // Float DFT gives 16000 * nfft / 2 at the bin; kissfft scales by 1/nfft, and each
        // stage's C_FIXDIV multiplies by 8191/32768 instead of 1/4 (about -0.05% in total).
        assert!((out[bin].r as i32 - 7996).abs() <= 4, "{:?}", out[bin]);
        assert!(out[bin].i.abs() <= 4, "{:?}", out[bin]);
        for (k, c) in out.iter().enumerate() {
            if k != bin {
                assert!(c.r.abs() <= 8 && c.i.abs() <= 8, "bin {k}: {c:?}");
            }
        }
    }
}
