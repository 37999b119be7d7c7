//! Small synthetic transducers for tests, examples and benchmarks (no model file needed).

use crate::TransducerNet;

/// A deterministic 64-bit generator (SplitMix64), so toy networks need no `rand`.
#[derive(Debug, Clone)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// Next raw value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// Table-driven network: each encoder frame *is* the logit vector (encoder width = vocab
/// size); the prediction output subtracts `repeat_penalty` from the last emitted token, so a
/// frame can emit several different tokens but never the same one twice in a row.
#[derive(Debug, Clone)]
pub struct TableTransducer {
    vocab_size: usize,
    frames: Vec<f32>,
    /// Subtracted from the logit of the previously emitted token.
    pub repeat_penalty: f32,
}

impl TableTransducer {
    /// From per-frame logit rows (each of length `vocab_size`).
    pub fn new(vocab_size: usize, rows: &[Vec<f32>]) -> Self {
        assert!(
            rows.iter().all(|r| r.len() == vocab_size),
            "every row needs vocab_size logits"
        );
        Self {
            vocab_size,
            frames: rows.concat(),
            repeat_penalty: 20.0,
        }
    }

    /// Frames that spell a token sequence: a frame with `Some(t)` gives token `t` logit 5 and
    /// blank 0, a frame with `None` gives blank 5; all other tokens get -5.
    pub fn spelling(vocab_size: usize, frames: &[Option<usize>]) -> Self {
        let rows: Vec<Vec<f32>> = frames
            .iter()
            .map(|f| {
                let mut row = vec![-5.0; vocab_size];
                row[0] = if f.is_some() { 0.0 } else { 5.0 };
                if let Some(t) = *f {
                    row[t] = 5.0;
                }
                row
            })
            .collect();
        Self::new(vocab_size, &rows)
    }

    /// All encoder frames, concatenated.
    pub fn frames(&self) -> &[f32] {
        &self.frames
    }

    /// Encoder width (= vocabulary size).
    pub fn dim(&self) -> usize {
        self.vocab_size
    }
}

impl TransducerNet for TableTransducer {
    /// The last emitted token (blank at the start).
    type PredState = usize;

    fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    fn encoder_dim(&self) -> usize {
        self.vocab_size
    }

    fn pred_init(&self) -> (usize, Vec<f32>) {
        (0, vec![0.0; self.vocab_size])
    }

    fn pred_step(&self, state: &mut usize, token: usize, out: &mut Vec<f32>) {
        *state = token;
        out.clear();
        out.resize(self.vocab_size, 0.0);
        out[token] = -self.repeat_penalty;
    }

    fn join(&self, enc: &[f32], pred: &[f32], logits: &mut [f32]) {
        for ((l, e), p) in logits.iter_mut().zip(enc).zip(pred) {
            *l = e + p;
        }
    }
}

/// A random network shaped like a real one: stateless prediction network (sum of embeddings
/// of the last two tokens), joiner `W_out · tanh(enc + pred) + b` with a blank bias.
#[derive(Debug, Clone)]
pub struct RandomTransducer {
    vocab_size: usize,
    dim: usize,
    embed: Vec<f32>,
    w_out: Vec<f32>,
    bias: Vec<f32>,
}

impl RandomTransducer {
    /// A network with `vocab_size` symbols and hidden/encoder width `dim`, weights drawn
    /// from `seed`. `blank_bias` is added to the blank logit (higher → sparser output).
    pub fn new(vocab_size: usize, dim: usize, blank_bias: f32, seed: u64) -> Self {
        let mut rng = SplitMix(seed);
        let mut draw =
            |n: usize, scale: f32| (0..n).map(|_| rng.uniform() * scale).collect::<Vec<_>>();
        let embed = draw(vocab_size * dim, 1.0);
        let w_out = draw(vocab_size * dim, 3.0 / (dim as f32).sqrt());
        let mut bias = draw(vocab_size, 0.5);
        bias[0] += blank_bias;
        Self {
            vocab_size,
            dim,
            embed,
            w_out,
            bias,
        }
    }

    /// `n` random encoder frames drawn from `seed`, concatenated.
    pub fn random_frames(&self, n: usize, seed: u64) -> Vec<f32> {
        let mut rng = SplitMix(seed);
        (0..n * self.dim).map(|_| rng.uniform() * 2.0).collect()
    }
}

impl TransducerNet for RandomTransducer {
    /// The last two tokens (blank-padded at the start).
    type PredState = [usize; 2];

    fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    fn encoder_dim(&self) -> usize {
        self.dim
    }

    fn pred_init(&self) -> ([usize; 2], Vec<f32>) {
        let mut out = Vec::new();
        let mut state = [0, 0];
        // Stateless networks start from a blank-padded context.
        self.pred_step(&mut state, 0, &mut out);
        (state, out)
    }

    /// The two tokens (so beam search shares joiner rows between hypotheses, as with the
    /// real stateless network).
    fn pred_key(&self, state: &[usize; 2]) -> Option<u64> {
        Some((state[0] * self.vocab_size + state[1]) as u64)
    }

    fn pred_step(&self, state: &mut [usize; 2], token: usize, out: &mut Vec<f32>) {
        *state = [state[1], token];
        let d = self.dim;
        out.clear();
        out.extend(
            (0..d).map(|i| self.embed[state[0] * d + i] * 0.5 + self.embed[state[1] * d + i]),
        );
    }

    fn join(&self, enc: &[f32], pred: &[f32], logits: &mut [f32]) {
        let h: Vec<f32> = enc.iter().zip(pred).map(|(e, p)| (e + p).tanh()).collect();
        for (v, l) in logits.iter_mut().enumerate() {
            let w = &self.w_out[v * self.dim..(v + 1) * self.dim];
            *l = self.bias[v] + w.iter().zip(&h).map(|(a, b)| a * b).sum::<f32>();
        }
    }
}

/// A network whose search frames also carry CTC logits, as a real model serves CTC rescoring
/// ([`TransducerNet::has_ctc_logits`]): each search frame is the wrapped network's encoder
/// frame followed by `vocab_size` CTC logits, which the joiner ignores.
#[derive(Debug, Clone)]
pub struct WithCtc<N> {
    /// The transducer.
    pub inner: N,
}

impl<N: TransducerNet> WithCtc<N> {
    /// Search frames from the wrapped network's frames and one row of CTC logits per frame
    /// (`inner_frames`: n × `inner.encoder_dim()`, `ctc_rows`: n × `vocab_size`).
    pub fn frames(&self, inner_frames: &[f32], ctc_rows: &[f32]) -> Vec<f32> {
        let (d, v) = (self.inner.encoder_dim(), self.inner.vocab_size());
        assert_eq!(
            inner_frames.len() / d,
            ctc_rows.len() / v,
            "one CTC row per frame"
        );
        inner_frames
            .chunks_exact(d)
            .zip(ctc_rows.chunks_exact(v))
            .flat_map(|(f, c)| f.iter().chain(c).copied())
            .collect()
    }
}

impl<N: TransducerNet> TransducerNet for WithCtc<N> {
    type PredState = N::PredState;

    fn vocab_size(&self) -> usize {
        self.inner.vocab_size()
    }

    fn encoder_dim(&self) -> usize {
        self.inner.encoder_dim() + self.inner.vocab_size()
    }

    fn blank_id(&self) -> usize {
        self.inner.blank_id()
    }

    fn pred_init(&self) -> (Self::PredState, Vec<f32>) {
        self.inner.pred_init()
    }

    fn pred_step(&self, state: &mut Self::PredState, token: usize, out: &mut Vec<f32>) {
        self.inner.pred_step(state, token, out)
    }

    fn pred_key(&self, state: &Self::PredState) -> Option<u64> {
        self.inner.pred_key(state)
    }

    fn join(&self, enc: &[f32], pred: &[f32], logits: &mut [f32]) {
        self.inner
            .join(&enc[..self.inner.encoder_dim()], pred, logits)
    }

    fn join_batch(&self, enc: &[f32], preds: &mut [f32], logits: &mut [f32]) {
        self.inner
            .join_batch(&enc[..self.inner.encoder_dim()], preds, logits)
    }

    fn has_ctc_logits(&self) -> bool {
        true
    }

    fn ctc_logits<'a>(&self, frame: &'a [f32]) -> Option<&'a [f32]> {
        frame.get(self.inner.encoder_dim()..)
    }
}
