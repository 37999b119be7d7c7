//! Modified beam search (one symbol per frame, merging equal paths).

use crate::ctc_track::CtcFrames;
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
    pub pool: Pool<P>,
}

impl<P, S> Default for Scratch<P, S> {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            cands: Vec::new(),
            next: Vec::new(),
            pool: Pool::default(),
        }
    }
}

/// Decode one encoder frame: the joiner runs once over all hypotheses, every hypothesis is
/// extended by blank or one token, the best `beam` extensions overall survive, and
/// extensions that end up on the same path (same tokens; in word search also the same
/// words) are merged (scores log-sum-exp'ed, the better one's timestamps kept). With CTC
/// scoring in the search (`ctc` given, `ctc_expand` > 1), `ctc_expand × beam` extensions are
/// made and merged, and the `beam` best by score + `ctc_weight` × CTC log-likelihood survive.
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
    logits.resize(hyps.len() * v, 0.0);
    sc.rows.clear();
    for h in hyps.iter() {
        sc.rows.extend_from_slice(&h.pred.1);
    }
    net.join_batch(enc, &mut sc.rows, logits);
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
    for (i, row) in logits.chunks_exact_mut(v).enumerate() {
        s.normalize(row, frame)?;
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
    for c in sc.cands.drain(..) {
        let h = s.extend(net, &hyps[c.hyp], c, frame, false, ctc, &mut sc.pool);
        // Candidates come best first, so an existing equal hypothesis is the better one.
        match sc.next.iter_mut().find(|n| n.same_path(&h)) {
            Some(n) => {
                n.score = log_add(n.score, h.score);
                sc.pool.recycle(h);
            }
            None => sc.next.push(h),
        }
    }
    if sc.next.len() > beam {
        // CTC scoring in the search: the beam keeps the best by score + weight × CTC
        // log-likelihood (stable: ties keep the transducer's order).
        let w = s.opts.ctc_weight;
        let key = |h: &Hyp<N::PredState, L::State>| {
            h.score + h.ctc.as_deref().map_or(0.0, |t| w * t.log_likelihood())
        };
        sc.next.sort_by(|a, b| key(b).total_cmp(&key(a)));
        for h in sc.next.drain(beam..) {
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
