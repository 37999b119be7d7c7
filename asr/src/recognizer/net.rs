//! The transducer network as the search sees it ([`sotto_decoder::TransducerNet`]).
//!
//! The search is fed joiner-*projected* encoder frames (`enc_proj(enc_t)`, computed for a
//! whole batch of frames at once) and gets projected prediction outputs
//! (`pred_proj(pred)`), so a join is only `output(tanh(a + b))`.
//!
//! With CTC decoding the search is fed the CTC head's logits instead, and the "joiner"
//! passes them through, ignoring the prediction network (which is never run).
//!
//! With CTC rescoring each search frame carries both: the projected encoder frame, then the
//! CTC head's logits of the same frame.

use sotto_models::transducer::Transducer;

/// Adapter implementing the decoder's trait for the shared network.
pub(crate) struct Net {
    pub(crate) model: Transducer,
    /// Decode the CTC head's output rather than the transducer's.
    pub(crate) ctc: bool,
    /// Transducer search with CTC rescoring: frames carry the CTC logits too.
    pub(crate) rescore: bool,
}

thread_local! {
    /// Per-thread work buffer of the prediction network (its unprojected output) and of the
    /// single-hypothesis joiner, so that the search's calls through `&self` do not allocate.
    static WORK: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    /// Per-thread projected frames and CTC logits of a batch, before they are interleaved.
    static SPLIT: std::cell::RefCell<(Vec<f32>, Vec<f32>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

impl Net {
    fn pred_out(&self, ctx: &[u32], out: &mut Vec<f32>) {
        out.clear();
        if !self.ctc {
            let hp = self.model.hyper();
            out.resize(hp.joiner_dim, 0.0);
            WORK.with_borrow_mut(|pred| {
                pred.resize(hp.pred_dim, 0.0);
                self.model.predict_into(ctx, pred);
                self.model.project_prediction_into(pred, out);
            });
        }
    }

    /// Append what the search is fed for the encoder frames `enc` (`[n, P]`) to `out`:
    /// joiner-projected frames, or CTC logits.
    pub(crate) fn search_frames_into(&self, enc: &[f32], out: &mut Vec<f32>) {
        let hp = self.model.hyper();
        let n = enc.len() / hp.enc_dim();
        let start = out.len();
        out.resize(
            start + n * sotto_decoder::TransducerNet::encoder_dim(self),
            0.0,
        );
        if self.ctc {
            let ok = self.model.ctc_logits_into(enc, &mut out[start..]);
            assert!(ok, "CTC head checked at load");
        } else if self.rescore {
            let (j, v) = (hp.joiner_dim, hp.vocab_size);
            SPLIT.with_borrow_mut(|(proj, ctc)| {
                proj.resize(n * j, 0.0);
                ctc.resize(n * v, 0.0);
                self.model.project_encoder_into(enc, proj);
                let ok = self.model.ctc_logits_into(enc, ctc);
                assert!(ok, "CTC head checked at load");
                let frames = out[start..].chunks_exact_mut(j + v);
                for ((o, p), c) in frames.zip(proj.chunks_exact(j)).zip(ctc.chunks_exact(v)) {
                    o[..j].copy_from_slice(p);
                    o[j..].copy_from_slice(c);
                }
            });
        } else {
            self.model.project_encoder_into(enc, &mut out[start..]);
        }
    }

    /// The projected encoder part of a search frame.
    fn projected<'a>(&self, frame: &'a [f32]) -> &'a [f32] {
        match self.rescore {
            true => &frame[..self.model.hyper().joiner_dim],
            false => frame,
        }
    }
}

impl sotto_decoder::TransducerNet for Net {
    /// The last C tokens, oldest first (the stateless prediction network's whole state).
    type PredState = Vec<u32>;

    fn vocab_size(&self) -> usize {
        self.model.hyper().vocab_size
    }

    fn encoder_dim(&self) -> usize {
        let hp = self.model.hyper();
        if self.ctc {
            hp.vocab_size
        } else if self.rescore {
            hp.joiner_dim + hp.vocab_size
        } else {
            hp.joiner_dim
        }
    }

    fn blank_id(&self) -> usize {
        self.model.hyper().blank_id as usize
    }

    fn pred_init(&self) -> (Self::PredState, Vec<f32>) {
        let hp = self.model.hyper();
        let ctx = vec![hp.blank_id; hp.context_size];
        let mut out = Vec::new();
        self.pred_out(&ctx, &mut out);
        (ctx, out)
    }

    fn pred_step(&self, state: &mut Self::PredState, token: usize, out: &mut Vec<f32>) {
        state.rotate_left(1);
        *state.last_mut().expect("context_size > 0") = token as u32;
        self.pred_out(state, out);
    }

    /// The context tokens as one number (mixed radix: exact, so equal keys are equal
    /// contexts); `None` if that would not fit 64 bits.
    fn pred_key(&self, state: &Self::PredState) -> Option<u64> {
        let v = self.model.hyper().vocab_size as u64;
        state
            .iter()
            .try_fold(0u64, |k, &t| k.checked_mul(v)?.checked_add(u64::from(t)))
    }

    fn join(&self, enc: &[f32], pred: &[f32], logits: &mut [f32]) {
        if self.ctc {
            logits.copy_from_slice(enc);
        } else {
            WORK.with_borrow_mut(|row| {
                row.clear();
                row.extend_from_slice(pred);
                self.model
                    .join_projected_rows(self.projected(enc), row, logits);
            });
        }
    }

    /// The beam's joins as one matrix product (as sherpa-onnx batches its joiner).
    fn join_batch(&self, enc: &[f32], preds: &mut [f32], logits: &mut [f32]) {
        if self.ctc {
            logits
                .chunks_exact_mut(enc.len())
                .for_each(|l| l.copy_from_slice(enc));
        } else {
            self.model
                .join_projected_rows(self.projected(enc), preds, logits);
        }
    }

    fn has_ctc_logits(&self) -> bool {
        self.rescore
    }

    fn ctc_logits<'a>(&self, frame: &'a [f32]) -> Option<&'a [f32]> {
        match self.rescore {
            true => frame.get(self.model.hyper().joiner_dim..),
            false => None,
        }
    }
}
