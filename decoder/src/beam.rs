//! Modified beam search (one symbol per frame, merging equal token sequences).

use crate::search::{extend_key, Hyp};
use crate::{Decoder, DecoderError, LanguageModel, Token, Transducer};

/// `log(exp(a) + exp(b))` without overflow.
fn log_add(a: f32, b: f32) -> f32 {
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    if lo == f32::NEG_INFINITY {
        return hi;
    }
    hi + (lo - hi).exp().ln_1p()
}

/// Whether `tokens` equals `parent` followed by `extra` (if any).
fn same_ids(tokens: &[Token], parent: &[Token], extra: Option<usize>) -> bool {
    let n = parent.len() + extra.is_some() as usize;
    tokens.len() == n
        && tokens.iter().zip(parent).all(|(a, b)| a.id == b.id)
        && !matches!(extra, Some(t) if tokens[n - 1].id != t)
}

/// Decode one encoder frame: every hypothesis is extended by blank or one token, the best
/// `beam` extensions overall survive, and extensions that end up with the same token
/// sequence are merged (scores log-sum-exp'ed, the better one's timestamps kept).
pub(crate) fn step<N: Transducer, L: LanguageModel>(
    d: &mut Decoder<N, L>,
    net: &N,
    enc: &[f32],
    beam: usize,
) -> Result<(), DecoderError> {
    let v = d.vocab_size;
    let mut logits = std::mem::take(&mut d.logits);
    logits.resize(d.hyps.len() * v, 0.0);
    let preds: Vec<&[f32]> = d.hyps.iter().map(|h| h.pred.1.as_slice()).collect();
    net.join_batch(enc, &preds, &mut logits);
    let mut cands = Vec::with_capacity(d.hyps.len() * beam);
    let mut result = Ok(());
    for (i, row) in logits.chunks_exact_mut(v).enumerate() {
        result = d.normalize(row);
        if result.is_err() {
            break;
        }
        d.candidates(i, row, beam, &mut cands);
    }
    d.logits = logits;
    result?;
    cands.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.hyp.cmp(&b.hyp))
            .then(a.token.cmp(&b.token))
    });
    cands.truncate(beam);
    let mut next: Vec<Hyp<N::PredState, L::State>> = Vec::with_capacity(beam);
    for c in cands {
        let parent = &d.hyps[c.hyp];
        let extra = (c.token != d.blank).then_some(c.token);
        let key = extra.map_or(parent.key, |t| extend_key(parent.key, t));
        // Candidates come best first, so an existing equal hypothesis is the better one.
        if let Some(h) = next
            .iter_mut()
            .find(|h| h.key == key && same_ids(&h.tokens, &parent.tokens, extra))
        {
            h.score = log_add(h.score, c.score);
            continue;
        }
        next.push(d.extend(net, c));
    }
    next.sort_by(|a, b| b.score.total_cmp(&a.score));
    d.hyps = next;
    Ok(())
}
