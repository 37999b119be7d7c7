//! The transducer network as the search sees it ([`sotto_decoder::Transducer`]).
//!
//! The search is fed joiner-*projected* encoder frames (`enc_proj(enc_t)`, computed for a
//! whole batch of frames at once) and gets projected prediction outputs
//! (`pred_proj(pred)`), so a join is only `output(tanh(a + b))`.

use sotto_models::transducer::Transducer;

/// Adapter implementing the decoder's trait for the shared network.
pub(crate) struct Net(pub(crate) Transducer);

impl Net {
    fn pred_out(&self, ctx: &[u32], out: &mut Vec<f32>) {
        let p = self.0.project_prediction(&self.0.predict(ctx));
        out.clear();
        out.extend_from_slice(&p);
    }
}

impl sotto_decoder::Transducer for Net {
    /// The last C tokens, oldest first (the stateless prediction network's whole state).
    type PredState = Vec<u32>;

    fn vocab_size(&self) -> usize {
        self.0.hyper().vocab_size
    }

    fn encoder_dim(&self) -> usize {
        self.0.hyper().joiner_dim
    }

    fn blank_id(&self) -> usize {
        self.0.hyper().blank_id as usize
    }

    fn pred_init(&self) -> (Self::PredState, Vec<f32>) {
        let hp = self.0.hyper();
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

    fn join(&self, enc: &[f32], pred: &[f32], logits: &mut [f32]) {
        self.0.join_projected(enc, pred, logits);
    }

    /// The beam's joins as one matrix product (as sherpa-onnx batches its joiner).
    fn join_batch(&self, enc: &[f32], preds: &[&[f32]], logits: &mut [f32]) {
        self.0.join_projected_batch(enc, preds, logits);
    }
}
