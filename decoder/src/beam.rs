//! Modified beam search (one symbol per frame, merging equal paths).

use std::collections::HashMap;

use crate::ctc_track::{CtcFrames, CtcTrack};
use crate::hyp::{Candidate, Hyp, Pool, Scorer};
use crate::logmath::log_add;
use crate::{DecoderError, LanguageModel, TransducerNet};

/// Work buffers of modified beam search kept from frame to frame (with the recycling
/// [`Pool`]), so a frame allocates nothing once they have grown to their working size.
pub(crate) struct Scratch<P, S> {
    /// Prediction outputs of all hypotheses, row after row: the joiner's batch.
    rows: Vec<f32>,
    pub cands: Vec<Candidate<S>>,
    next: Vec<Hyp<P, S>>,
    /// Per hypothesis: how many of the frame's extensions it makes, and (for two or more) its
    /// CTC track advanced by the frame, computed once for all of them.
    uses: Vec<u32>,
    advanced: Vec<Option<Box<CtcTrack>>>,
    /// Path key → index in `next` of the first hypothesis with it (merging).
    by_key: HashMap<u64, usize>,
    /// Per hypothesis, its row of the joiner's batch; prediction key → row.
    row_of: Vec<usize>,
    by_pred: HashMap<u64, usize>,
    /// The beam's sort keys and the hypotheses being reordered.
    keys: Vec<(std::cmp::Reverse<i32>, usize)>,
    slots: Vec<Option<Hyp<P, S>>>,
    pub pool: Pool<P>,
}

impl<P, S> Default for Scratch<P, S> {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            cands: Vec::new(),
            next: Vec::new(),
            uses: Vec::new(),
            advanced: Vec::new(),
            by_key: HashMap::new(),
            row_of: Vec::new(),
            by_pred: HashMap::new(),
            keys: Vec::new(),
            slots: Vec::new(),
            pool: Pool::default(),
        }
    }
}

/// Decode one encoder frame: the joiner runs once over the hypotheses (one row per distinct
/// prediction state), every hypothesis is extended by blank or one token, the best `beam`
/// extensions overall survive, and extensions that end up on the same path (same tokens; in
/// word search also the same words) are merged (scores log-sum-exp'ed, the better one's
/// timestamps kept). With CTC scoring in the search (`ctc` given, `ctc_expand` > 1),
/// `ctc_expand × beam` extensions are made and merged, and the `beam` best by score +
/// `ctc_weight` × CTC log-likelihood survive.
#[allow(clippy::too_many_arguments)]
pub(crate) fn step<N: TransducerNet, L: LanguageModel>(
    s: &Scorer<L>,
    hyps: &mut Vec<Hyp<N::PredState, L::State>>,
    net: &N,
    enc: &[f32],
    frame: usize,
    logits: &mut Vec<f32>,
    beam: usize,
    ctc: Option<&CtcFrames>,
    sc: &mut Scratch<N::PredState, L::State>,
) -> Result<(), DecoderError> {
    let v = s.vocab_size;
    // One joiner row per distinct prediction state (hypotheses that end in the same tokens
    // share theirs); a row's values do not depend on the rest of the batch.
    sc.rows.clear();
    sc.row_of.clear();
    sc.by_pred.clear();
    let mut n_rows = 0;
    for h in hyps.iter() {
        let new_row = |rows: &mut Vec<f32>, n: &mut usize| {
            rows.extend_from_slice(&h.pred.1);
            *n += 1;
            *n - 1
        };
        let r = match net.pred_key(&h.pred.0) {
            Some(k) => *sc
                .by_pred
                .entry(k)
                .or_insert_with(|| new_row(&mut sc.rows, &mut n_rows)),
            None => new_row(&mut sc.rows, &mut n_rows),
        };
        sc.row_of.push(r);
    }
    logits.resize(n_rows * v, 0.0);
    net.join_batch(enc, &mut sc.rows, logits);
    for row in logits.chunks_exact_mut(v) {
        s.normalize(row, frame)?;
    }
    // Best first: score, then hypothesis, then token.
    let order = |a: &Candidate<L::State>, b: &Candidate<L::State>| {
        b.score
            .total_cmp(&a.score)
            .then(a.hyp.cmp(&b.hyp))
            .then(a.token.cmp(&b.token))
    };
    // How many extensions are made: more than survive when the CTC term is to choose.
    let expand = if ctc.is_some() { s.opts.ctc_expand } else { 1 };
    let make = beam * expand;
    sc.cands.clear();
    // The make-th best candidate score so far: no candidate below it can be made. Hypotheses
    // come best first, so it rises fast and spares the rest most of their candidates.
    let mut floor = f32::NEG_INFINITY;
    for (i, &r) in sc.row_of.iter().enumerate() {
        let row = &logits[r * v..(r + 1) * v];
        s.candidates(i, &hyps[i], row, make, floor, &mut sc.cands, &mut sc.pool);
        if sc.cands.len() >= 2 * make {
            sc.cands.select_nth_unstable_by(make - 1, order);
            sc.cands.truncate(make);
            floor = sc.cands[make - 1].score;
        }
    }
    // Select the best `make` (linear), then sort only those, stably (word search can give one
    // hypothesis the same token twice).
    if sc.cands.len() > make {
        sc.cands.select_nth_unstable_by(make - 1, order);
        sc.cands.truncate(make);
    }
    sc.cands.sort_by(order);
    sc.next.clear();
    // A hypothesis's CTC states advance by the frame the same way for all its extensions.
    sc.advanced.resize_with(hyps.len(), || None);
    if let Some(fr) = ctc {
        sc.uses.clear();
        sc.uses.resize(hyps.len(), 0);
        for c in &sc.cands {
            sc.uses[c.hyp] += 1;
        }
        for (i, h) in hyps.iter().enumerate() {
            if let (true, Some(track)) = (sc.uses[i] >= 2, &h.ctc) {
                let mut t = sc.pool.ctc_track();
                track.advance_into(fr, &mut t);
                sc.advanced[i] = Some(t);
            }
        }
    }
    for c in sc.cands.drain(..) {
        let adv = sc.advanced[c.hyp].as_deref();
        let h = s.extend(net, &hyps[c.hyp], c, frame, false, ctc, adv, &mut sc.pool);
        // Candidates come best first, so an existing equal hypothesis is the better one. Equal
        // paths have equal keys: the first hypothesis with the key is looked up by hash, and
        // only when it is another path (a key collision) is the list searched.
        let found = match sc.by_key.get(&h.key) {
            Some(&i) if sc.next[i].same_path(&h) => Some(i),
            Some(_) => sc.next.iter().position(|n| n.same_path(&h)),
            None => None,
        };
        match found {
            Some(i) => {
                let n = &mut sc.next[i];
                n.score = log_add(n.score, h.score);
                sc.pool.recycle(h);
            }
            None => {
                sc.by_key.entry(h.key).or_insert(sc.next.len());
                sc.next.push(h);
            }
        }
    }
    sc.by_key.clear();
    for t in sc.advanced.iter_mut().filter_map(Option::take) {
        sc.pool.recycle_ctc(t);
    }
    // The beam keeps the best `beam` by its key, score + CTC weight × CTC log-likelihood, and
    // none more than the score beam below the best: those almost never come back, and the
    // next frame's work grows with the beam. Each key is computed once, in `f32::total_cmp`'s
    // order; the index breaks ties, so they keep the transducer's order (a stable sort). The
    // buffers are reused: no allocation per frame.
    let margin = s.opts.score_beam;
    if sc.next.len() > beam || (margin.is_finite() && sc.next.len() > 1) {
        let w = s.opts.ctc_weight;
        let mut best = f32::NEG_INFINITY;
        sc.keys.clear();
        sc.keys.extend(sc.next.iter().enumerate().map(|(i, h)| {
            let k = h.score + h.ctc.as_deref().map_or(0.0, |t| w * t.log_likelihood());
            best = best.max(k);
            (std::cmp::Reverse(total_order(k)), i)
        }));
        sc.keys.sort_unstable();
        let floor = total_order(best - margin);
        sc.slots.clear();
        sc.slots.extend(sc.next.drain(..).map(Some));
        for &(std::cmp::Reverse(k), i) in sc.keys.iter().take(beam) {
            if k < floor {
                break;
            }
            if let Some(h) = sc.slots[i].take() {
                sc.next.push(h);
            }
        }
        for h in sc.slots.drain(..).flatten() {
            sc.pool.recycle(h);
        }
    }
    // Only survivors that emitted a token on this frame need a new prediction output.
    for h in &mut sc.next {
        if h.trailing_blanks == 0 && h.tokens.last().is_some_and(|t| t.frame == frame) {
            s.step_pred(net, h, &mut sc.pool);
        }
    }
    // Stable, as before (equal scores keep their order); at most `beam` items.
    sc.next.sort_by(|a, b| b.score.total_cmp(&a.score));
    std::mem::swap(hyps, &mut sc.next);
    for h in sc.next.drain(..) {
        sc.pool.recycle(h);
    }
    Ok(())
}

/// An integer that orders as [`f32::total_cmp`] orders the floats.
fn total_order(x: f32) -> i32 {
    let b = x.to_bits() as i32;
    b ^ (((b >> 31) as u32) >> 1) as i32
}

#[cfg(test)]
mod tests {
    use super::total_order;

    #[test]
    fn total_order_orders_as_total_cmp() {
        let xs = [
            f32::NEG_INFINITY,
            -1e30,
            -2.5,
            -1e-40,
            -0.0,
            0.0,
            1e-40,
            0.75,
            3e38,
            f32::INFINITY,
            f32::NAN,
        ];
        for a in xs {
            for b in xs {
                assert_eq!(
                    total_order(a).cmp(&total_order(b)),
                    a.total_cmp(&b),
                    "{a} {b}"
                );
            }
        }
    }
}
