//! Greedy search with a per-frame symbol limit.

use crate::{Decoder, DecoderError, LanguageModel, Transducer};

/// Decode one encoder frame greedily: emit the best symbol (acoustic + hotword + LM score)
/// until blank wins or `max_symbols` symbols were emitted. The path score gains the blank's
/// log-probability when blank ends the frame, nothing when the limit does — so with
/// `max_symbols == 1` the score equals modified beam search's with beam 1.
pub(crate) fn step<N: Transducer, L: LanguageModel>(
    d: &mut Decoder<N, L>,
    net: &N,
    enc: &[f32],
    max_symbols: usize,
) -> Result<(), DecoderError> {
    let mut logits = std::mem::take(&mut d.logits);
    logits.resize(d.vocab_size, 0.0);
    let mut cands = Vec::with_capacity(1);
    let mut emitted = 0;
    let result = loop {
        if emitted == max_symbols {
            break Ok(());
        }
        net.join(enc, &d.hyps[0].pred.1, &mut logits);
        if let Err(e) = d.normalize(&mut logits) {
            break Err(e);
        }
        cands.clear();
        d.candidates(0, &logits, 1, &mut cands);
        let c = cands.pop().expect("vocabulary is not empty");
        if c.token == d.blank {
            d.hyps[0].score = c.score;
            break Ok(());
        }
        d.hyps[0] = d.extend(net, c);
        emitted += 1;
    };
    d.logits = logits;
    if emitted == 0 {
        d.hyps[0].trailing_blanks += 1;
    }
    result
}
