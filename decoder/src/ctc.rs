//! CTC prefix beam search, sharing the transducer search's hypotheses and scorer (so the
//! lexicon, word LM, hotwords and timestamps work the same way).
//!
//! A CTC network is reached through the [`TransducerNet`] trait with a joiner that ignores the
//! prediction output: one join per frame serves every hypothesis. Each prefix is kept twice
//! at most, as it ends in blank and as it ends in its last label (`Hyp::ctc_open`), which is
//! the classic p_b / p_nb split: the same label on the next frame continues the open token,
//! while after a blank it starts a new one.

use crate::hyp::{Candidate, Hyp, Pool, Scorer};
use crate::logmath::log_add;
use crate::{DecoderError, LanguageModel, TransducerNet};

/// Decode one frame of CTC output for all prefixes; keeps the best `beam`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn step<N: TransducerNet, L: LanguageModel>(
    s: &Scorer<L>,
    hyps: &mut Vec<Hyp<N::PredState, L::State>>,
    net: &N,
    enc: &[f32],
    frame: usize,
    logits: &mut Vec<f32>,
    beam: usize,
    pool: &mut Pool<N::PredState>,
) -> Result<(), DecoderError> {
    let v = s.vocab_size;
    // Row 0: the frame's log-probabilities; row 1: scratch with the open label masked.
    logits.resize(2 * v, 0.0);
    let (logp, masked) = logits.split_at_mut(v);
    net.join(enc, &hyps[0].pred.1, logp);
    s.normalize(logp, frame)?;
    let mut cands: Vec<Candidate<L::State>> = Vec::with_capacity(hyps.len() * (beam + 1));
    for (i, h) in hyps.iter().enumerate() {
        let open = h.ctc_open.then(|| h.tokens.last().map(|t| t.id)).flatten();
        match open {
            None => s.candidates(i, h, logp, beam, f32::NEG_INFINITY, &mut cands, pool),
            Some(t) => {
                // The open label cannot start a new token without a blank in between; it
                // continues the open one instead.
                masked.copy_from_slice(logp);
                masked[t] = f32::NEG_INFINITY;
                let start = cands.len();
                s.candidates(i, h, masked, beam, f32::NEG_INFINITY, &mut cands, pool);
                let mut k = start;
                while k < cands.len() {
                    if cands[k].score == f32::NEG_INFINITY {
                        cands.remove(k);
                    } else {
                        k += 1;
                    }
                }
                cands.push(Candidate {
                    hyp: i,
                    token: t,
                    score: h.score + logp[t],
                    logprob: logp[t],
                    ctx: None,
                    lm: None,
                    word: None,
                    stay: true,
                });
            }
        }
    }
    cands.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.hyp.cmp(&b.hyp))
            .then(a.token.cmp(&b.token))
            .then(a.stay.cmp(&b.stay))
    });
    cands.truncate(beam);
    let mut next: Vec<Hyp<N::PredState, L::State>> = Vec::with_capacity(beam);
    for c in cands {
        // The prediction output is never used, so it is never stepped.
        let h = s.extend(net, &hyps[c.hyp], c, frame, false, None, None, pool);
        match next
            .iter_mut()
            .find(|n| n.ctc_open == h.ctc_open && n.same_path(&h))
        {
            Some(n) => {
                n.score = log_add(n.score, h.score);
                pool.recycle(h);
            }
            None => next.push(h),
        }
    }
    next.sort_by(|a, b| b.score.total_cmp(&a.score));
    for h in std::mem::replace(hyps, next) {
        pool.recycle(h);
    }
    Ok(())
}
