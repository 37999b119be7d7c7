//! The interface between the search and a transducer (RNN-T) network.

/// A transducer network as seen by the search: prediction network plus joiner.
///
/// The encoder is *not* part of this trait: the caller runs it and feeds its output frames
/// (one vector of [`encoder_dim`](TransducerNet::encoder_dim) values per subsampled frame) to a
/// [`Decoder`](crate::Decoder).
///
/// Contract:
/// * token ids are `0..vocab_size()`, [`blank_id`](TransducerNet::blank_id) (0 by default) is the
///   blank symbol, which the search never passes to [`pred_step`](TransducerNet::pred_step);
/// * the prediction output is opaque to the search: an implementation may return it already
///   projected for the joiner (e.g. `W_pred · pred`), so that [`join`](TransducerNet::join) only
///   adds, applies the activation and the output layer;
/// * the prediction output must depend only on the token sequence fed since
///   [`pred_init`](TransducerNet::pred_init) — beam search merges hypotheses with equal token
///   sequences and keeps one prediction state for them. Both an LSTM prediction network and a
///   stateless one (embedding + causal conv over the last `context_size` tokens, whose state is
///   simply those tokens) satisfy this.
pub trait TransducerNet {
    /// Prediction-network state of one hypothesis (LSTM cells, or the last tokens).
    type PredState: Clone;

    /// Number of output symbols, blank included.
    fn vocab_size(&self) -> usize;

    /// Width of one encoder output frame.
    fn encoder_dim(&self) -> usize;

    /// Id of the blank symbol.
    fn blank_id(&self) -> usize {
        0
    }

    /// Initial prediction-network state and output, as if fed the blank/start token.
    fn pred_init(&self) -> (Self::PredState, Vec<f32>);

    /// Feed one emitted (non-blank) token: updates `state` and writes the new prediction
    /// output into `out` (resized as needed).
    fn pred_step(&self, state: &mut Self::PredState, token: usize, out: &mut Vec<f32>);

    /// A key for a prediction state such that equal keys mean equal prediction outputs, so
    /// equal joiner rows: beam search then joins each distinct state of a frame once (in a
    /// wide beam many hypotheses end in the same tokens; a stateless prediction network's
    /// state is just its last tokens). `None`, the default, joins every hypothesis.
    fn pred_key(&self, _state: &Self::PredState) -> Option<u64> {
        None
    }

    /// Joiner: writes unnormalized logits over the vocabulary (`logits.len() == vocab_size()`)
    /// for one encoder frame and one prediction output.
    fn join(&self, enc: &[f32], pred: &[f32], logits: &mut [f32]);

    /// Whether the search frames also carry the logits of a CTC head over the same encoder
    /// ([`ctc_logits`](Self::ctc_logits)), which CTC rescoring needs
    /// ([`DecoderOptions::ctc_weight`](crate::DecoderOptions::ctc_weight)).
    fn has_ctc_logits(&self) -> bool {
        false
    }

    /// The CTC head's logits (`vocab_size()` values, same tokens and blank as the joiner's)
    /// carried by one search frame, when [`has_ctc_logits`](Self::has_ctc_logits). The
    /// joiner must then ignore that part of the frame.
    fn ctc_logits<'a>(&self, _frame: &'a [f32]) -> Option<&'a [f32]> {
        None
    }

    /// Joiner for several prediction outputs against the same encoder frame (one per beam
    /// hypothesis), as sherpa-onnx batches its joiner: `preds` holds `n` prediction outputs
    /// row after row (`n = logits.len() / vocab_size()`), `logits` gets `n` rows of
    /// `vocab_size()` values. `preds` is a work buffer: an implementation may overwrite it (the
    /// search fills it anew each frame), so the batch needs no allocation. Override it to share
    /// the encoder-side work or to run the output layer as one matrix product.
    fn join_batch(&self, enc: &[f32], preds: &mut [f32], logits: &mut [f32]) {
        let v = self.vocab_size();
        let n = logits.len() / v;
        if n == 0 {
            return;
        }
        let dim = preds.len() / n;
        for (pred, out) in preds.chunks_exact(dim).zip(logits.chunks_exact_mut(v)) {
            self.join(enc, pred, out);
        }
    }
}
