//! Greedy search with a per-frame symbol limit.

use crate::beam::Scratch;
use crate::hyp::{Hyp, Scorer};
use crate::{DecoderError, LanguageModel, TransducerNet};

/// Decode one encoder frame greedily: emit the best symbol (acoustic + hotword + LM score)
/// until blank wins or `max_symbols` symbols were emitted. The path score gains the blank's
/// log-probability when blank ends the frame, nothing when the limit does — so with
/// `max_symbols == 1` the score equals modified beam search's with beam 1.
#[allow(clippy::too_many_arguments)]
pub(crate) fn step<N: TransducerNet, L: LanguageModel>(
    s: &Scorer<L>,
    hyps: &mut [Hyp<N::PredState, L::State>],
    net: &N,
    enc: &[f32],
    frame: usize,
    logits: &mut Vec<f32>,
    max_symbols: usize,
    sc: &mut Scratch<N::PredState, L::State>,
) -> Result<(), DecoderError> {
    logits.resize(s.vocab_size, 0.0);
    let (cands, pool) = (&mut sc.cands, &mut sc.pool);
    let mut emitted = 0;
    let h = &mut hyps[0];
    while emitted < max_symbols {
        net.join(enc, &h.pred.1, logits);
        s.normalize(logits, frame)?;
        cands.clear();
        s.candidates(0, h, logits, 1, f32::NEG_INFINITY, cands, pool);
        let c = cands.pop().expect("blank is always a candidate");
        if c.token == s.blank {
            h.score = c.score;
            break;
        }
        let next = s.extend(net, h, c, frame, true, None, None, pool);
        pool.recycle(std::mem::replace(h, next));
        emitted += 1;
    }
    if emitted == 0 {
        h.trailing_blanks += 1;
    }
    Ok(())
}
