//! Modified beam search (one symbol per frame, merging equal paths).

use crate::hyp::{Hyp, Scorer};
use crate::{DecoderError, LanguageModel, Transducer};

/// `log(exp(a) + exp(b))` without overflow.
fn log_add(a: f32, b: f32) -> f32 {
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    if lo == f32::NEG_INFINITY {
        return hi;
    }
    hi + (lo - hi).exp().ln_1p()
}

/// Decode one encoder frame: the joiner runs once over all hypotheses, every hypothesis is
/// extended by blank or one token, the best `beam` extensions overall survive, and
/// extensions that end up on the same path (same tokens; in word search also the same
/// words) are merged (scores log-sum-exp'ed, the better one's timestamps kept).
pub(crate) fn step<N: Transducer, L: LanguageModel>(
    s: &Scorer<L>,
    hyps: &mut Vec<Hyp<N::PredState, L::State>>,
    net: &N,
    enc: &[f32],
    frame: usize,
    logits: &mut Vec<f32>,
    beam: usize,
) -> Result<(), DecoderError> {
    let v = s.vocab_size;
    logits.resize(hyps.len() * v, 0.0);
    let preds: Vec<&[f32]> = hyps.iter().map(|h| h.pred.1.as_slice()).collect();
    net.join_batch(enc, &preds, logits);
    let mut cands = Vec::with_capacity(hyps.len() * beam);
    for (i, row) in logits.chunks_exact_mut(v).enumerate() {
        s.normalize(row, frame)?;
        s.candidates(i, &hyps[i], row, beam, &mut cands);
    }
    cands.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.hyp.cmp(&b.hyp))
            .then(a.token.cmp(&b.token))
    });
    cands.truncate(beam);
    let mut next: Vec<Hyp<N::PredState, L::State>> = Vec::with_capacity(beam);
    for c in cands {
        let h = s.extend(net, &hyps[c.hyp], c, frame, false);
        // Candidates come best first, so an existing equal hypothesis is the better one.
        match next.iter_mut().find(|n| n.same_path(&h)) {
            Some(n) => n.score = log_add(n.score, h.score),
            None => next.push(h),
        }
    }
    // Only survivors that emitted a token on this frame need a new prediction output.
    for h in &mut next {
        if h.trailing_blanks == 0 && h.tokens.last().is_some_and(|t| t.frame == frame) {
            s.step_pred(net, h);
        }
    }
    next.sort_by(|a, b| b.score.total_cmp(&a.score));
    *hyps = next;
    Ok(())
}
