//! CTC rescoring of transducer hypotheses: the model's CTC head, over the same encoder, as a
//! second opinion on the final choice of modified beam search.
//!
//! Every hypothesis carries the CTC forward variables of its token sequence (log α over the
//! lattice states blank, label, blank, …, label, blank), advanced frame by frame, so at the
//! end of a segment `ln P_ctc(tokens | frames)` is at hand without keeping the segment's
//! frames; the final choice adds [`ctc_weight`](crate::DecoderOptions::ctc_weight) × it.
//!
//! The result equals the CTC forward algorithm over the whole segment while the segment is at
//! most [`WINDOW`] frames long and a hypothesis holds at most [`MAX_LABELS`] tokens. Past that,
//! two bounded approximations keep memory and time per frame flat (they only drop paths,
//! so the value can only be lower than the exact one):
//! - a new token's lattice states are started from the parent's states of the last
//!   [`WINDOW`] frames: paths on which the CTC head emitted the token more than that before
//!   the transducer did are dropped;
//! - only the states of the last [`MAX_LABELS`] tokens are kept: paths on which the CTC
//!   alignment lags the transducer's by more tokens than that are dropped.
//!
//! Two more cuts only save time: states and start frames whose log α is more than
//! [`MARGIN`] below the best of their kind are treated as probability 0 (e⁻²⁰ ≈ 2·10⁻⁹; a
//! hypothesis's value moves by far less than the search's other roundings).

use crate::logmath::{log_add, log_softmax};

/// Frames of CTC output kept for starting a new token's states (2.56 s at 80 ms frames);
/// exported as `CTC_WINDOW`.
pub const WINDOW: usize = 32;
/// Tokens whose lattice states a hypothesis keeps; exported as `CTC_MAX_LABELS`.
pub const MAX_LABELS: usize = 32;
const STATES: usize = 2 * MAX_LABELS + 1;
/// How far (in nats) below the best state, or the best start frame, a path may be and still
/// be followed. Most of a hypothesis's states and window frames lie far below that (the CTC
/// head is peaky): without this cut they were a quarter of the search's time at beam 1024.
const MARGIN: f32 = 20.0;
const NEG: f32 = f32::NEG_INFINITY;

/// The CTC head's log-probabilities of the segment's last [`WINDOW`] frames (per decoder).
#[derive(Debug, Clone)]
pub(crate) struct CtcFrames {
    rows: Vec<f32>,
    vocab: usize,
    pub blank: usize,
    /// Frames of the segment so far; frame `t` (from 1) lives in slot `t % WINDOW`, and
    /// frame 0 is the moment before the first frame.
    pub t: usize,
}

impl CtcFrames {
    pub fn new(vocab: usize, blank: usize) -> Self {
        Self {
            rows: vec![0.0; WINDOW * vocab],
            vocab,
            blank,
            t: 0,
        }
    }

    /// Start a new segment.
    pub fn reset(&mut self) {
        self.t = 0;
    }

    /// Take the next frame's logits (log-softmaxed here); false if they are not finite.
    pub fn push(&mut self, logits: &[f32]) -> bool {
        self.t += 1;
        let row = self.row_mut(self.t);
        row.copy_from_slice(logits);
        log_softmax(row)
    }

    fn row(&self, t: usize) -> &[f32] {
        let s = t % WINDOW;
        &self.rows[s * self.vocab..(s + 1) * self.vocab]
    }

    fn row_mut(&mut self, t: usize) -> &mut [f32] {
        let s = t % WINDOW;
        &mut self.rows[s * self.vocab..(s + 1) * self.vocab]
    }
}

/// The CTC forward variables of one hypothesis at the segment's current frame.
#[derive(Debug, Clone)]
pub(crate) struct CtcTrack {
    /// log α of the kept states: a blank, then (label, blank) per kept token.
    alpha: [f32; STATES],
    /// The kept tokens, oldest first.
    labels: [u32; MAX_LABELS],
    /// Number of kept tokens.
    n: usize,
    /// The first state not cut by [`MARGIN`]; `alpha` is -inf before it.
    lo: usize,
    /// log α of the last token's state and the trailing blank at each of the last
    /// [`WINDOW`] frames (slot `frame % WINDOW`): what a next token's states start from.
    hist: [(f32, f32); WINDOW],
    /// The frame of the newest `hist` entry, and the oldest frame it holds at all (a token's
    /// states exist only from the window it was started in).
    hist_t: usize,
    hist_from: usize,
}

impl CtcTrack {
    /// The empty hypothesis before the first frame: the initial blank state has probability 1.
    pub fn start() -> Self {
        let mut t = Self {
            alpha: [NEG; STATES],
            labels: [0; MAX_LABELS],
            n: 0,
            lo: 0,
            hist: [(NEG, NEG); WINDOW],
            hist_t: 0,
            hist_from: 0,
        };
        t.alpha[0] = 0.0;
        t.hist[0] = (NEG, 0.0);
        t
    }

    /// Reset `self` to [`start`](Self::start) (reusing a pooled track).
    pub fn restart(&mut self) {
        *self = Self::start();
    }

    /// (last token's state, trailing blank) at frame `f`; -inf where not held.
    fn end_at(&self, f: usize) -> (f32, f32) {
        if f < self.hist_from || f > self.hist_t || f + WINDOW <= self.hist_t {
            (NEG, NEG)
        } else {
            self.hist[f % WINDOW]
        }
    }

    fn end_states(&self) -> (f32, f32) {
        match self.n {
            0 => (NEG, self.alpha[0]),
            n => (self.alpha[2 * n - 1], self.alpha[2 * n]),
        }
    }

    /// `out` = this hypothesis advanced by the frame `fr.t` (it must stand at `fr.t - 1`):
    /// what a blank (no new token) does to it.
    pub fn advance_into(&self, fr: &CtcFrames, out: &mut CtcTrack) {
        debug_assert_eq!(self.hist_t + 1, fr.t, "CTC track out of step");
        let row = fr.row(fr.t);
        let a = &self.alpha;
        let (lo, end) = (self.lo, 2 * self.n);
        out.alpha[..lo].fill(NEG);
        let mut best = NEG;
        for s in lo..=end {
            // States before `lo` are -inf, so reading them adds nothing.
            let mut v = a[s];
            if s >= 1 {
                v = log_add(v, a[s - 1]);
            }
            let x = if s % 2 == 1 {
                let k = s / 2;
                // A label may follow the previous label directly unless they are equal.
                if k >= 1 && self.labels[k] != self.labels[k - 1] {
                    v = log_add(v, a[s - 2]);
                }
                v + row[self.labels[k] as usize]
            } else {
                v + row[fr.blank]
            };
            out.alpha[s] = x;
            best = best.max(x);
        }
        // Cut the leading states far behind the best: probability only flows forward, so
        // what they would still pass on is as small.
        let mut new_lo = lo;
        if best > NEG {
            while new_lo < end && out.alpha[new_lo] < best - MARGIN {
                out.alpha[new_lo] = NEG;
                new_lo += 1;
            }
        }
        out.lo = new_lo;
        out.labels = self.labels;
        out.n = self.n;
        out.hist = self.hist;
        out.hist_from = self.hist_from;
        out.hist_t = fr.t;
        out.hist[fr.t % WINDOW] = out.end_states();
    }

    /// `out` = this hypothesis (standing at `fr.t - 1`) extended by `token`, emitted by the
    /// transducer at frame `fr.t`: the old states advance by the frame, and the new token's
    /// states are run over the window from the parent's end states.
    pub fn extend_into(&self, token: u32, fr: &CtcFrames, out: &mut CtcTrack) {
        self.advance_into(fr, out);
        self.add_token(token, fr, out);
    }

    /// [`extend_into`](Self::extend_into) given `advanced`, this hypothesis's
    /// [`advance_into`](Self::advance_into) result for the frame: the search computes that once
    /// per hypothesis and frame, however many of its extensions it makes.
    pub fn extend_from(&self, advanced: &CtcTrack, token: u32, fr: &CtcFrames, out: &mut CtcTrack) {
        out.clone_from(advanced);
        self.add_token(token, fr, out);
    }

    /// The new token's part of [`extend_into`](Self::extend_into); `out` holds this
    /// hypothesis advanced by the frame.
    fn add_token(&self, token: u32, fr: &CtcFrames, out: &mut CtcTrack) {
        let t = fr.t;
        let first = (t + 1).saturating_sub(WINDOW).max(1);
        // Start the new token's states at the first frame whose parent end states are within
        // MARGIN of the best in the window (none if the parent has no end states there).
        let mut top = NEG;
        for tau in first..=t {
            let (pl, pb) = self.end_at(tau - 1);
            top = top.max(pl.max(pb));
        }
        let mut from = first;
        if top == NEG {
            from = t + 1;
        } else {
            while from <= t {
                let (pl, pb) = self.end_at(from - 1);
                if pl.max(pb) >= top - MARGIN {
                    break;
                }
                from += 1;
            }
        }
        let repeat = self.n > 0 && self.labels[self.n - 1] == token;
        let (mut l, mut b) = (NEG, NEG);
        for tau in from..=t {
            let (pl, pb) = self.end_at(tau - 1);
            let row = fr.row(tau);
            let mut into = log_add(l, pb);
            if !repeat {
                into = log_add(into, pl);
            }
            let nl = into + row[token as usize];
            b = log_add(b, l) + row[fr.blank];
            l = nl;
            out.hist[tau % WINDOW] = (l, b);
        }
        out.hist_from = from;
        out.hist_t = t;
        if out.n == MAX_LABELS {
            // Drop the oldest token: its label state and the blank before it.
            out.alpha.copy_within(2..STATES, 0);
            out.labels.copy_within(1..MAX_LABELS, 0);
            out.n -= 1;
            out.lo = out.lo.saturating_sub(2);
        }
        let n = out.n;
        out.alpha[2 * n + 1] = l;
        out.alpha[2 * n + 2] = b;
        out.labels[n] = token;
        out.n = n + 1;
    }

    /// `ln P_ctc(tokens | frames so far)`: the lattice ends in the last token or a blank.
    pub fn log_likelihood(&self) -> f32 {
        let (l, b) = self.end_states();
        log_add(l, b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `extend_from` with the parent's advanced track is `extend_into`, bit for bit.
    #[test]
    fn extend_from_equals_extend_into() {
        let (vocab, blank) = (5, 0);
        let mut fr = CtcFrames::new(vocab, blank);
        let mut track = CtcTrack::start();
        let mut rng = crate::toy::SplitMix(7);
        for t in 0..40u32 {
            let logits: Vec<f32> = (0..vocab).map(|_| rng.uniform() * 3.0).collect();
            assert!(fr.push(&logits));
            let mut adv = CtcTrack::start();
            track.advance_into(&fr, &mut adv);
            for token in 1..vocab as u32 {
                let (mut a, mut b) = (CtcTrack::start(), CtcTrack::start());
                track.extend_into(token, &fr, &mut a);
                track.extend_from(&adv, token, &fr, &mut b);
                let bits = |x: &CtcTrack| x.alpha.map(f32::to_bits);
                assert_eq!(bits(&a), bits(&b), "frame {t}, token {token}");
                assert_eq!(
                    (a.n, a.labels, a.hist_t, a.hist_from),
                    (b.n, b.labels, b.hist_t, b.hist_from)
                );
                assert_eq!(
                    a.hist.map(|(l, b)| (l.to_bits(), b.to_bits())),
                    b.hist.map(|(l, b)| (l.to_bits(), b.to_bits()))
                );
            }
            // Walk on: emit a token every third frame, else advance.
            let mut next = CtcTrack::start();
            if t % 3 == 0 {
                track.extend_into(1 + t % 4, &fr, &mut next);
            } else {
                next.clone_from(&adv);
            }
            track = next;
        }
    }
}
