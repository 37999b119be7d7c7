//! Greedy and modified beam search on toy networks.

use proptest::prelude::*;
use sotto_decoder::toy::{RandomTransducer, TableTransducer};
use sotto_decoder::{
    ContextGraph, Decoder, DecoderError, DecoderOptions, Hypothesis, LanguageModel, SearchMethod,
    TransducerNet,
};

/// A toy bigram LM: prefers a token one above the previous one.
struct StepLm;

impl LanguageModel for StepLm {
    type State = usize;
    fn start(&self) -> usize {
        0
    }
    fn score(&self, &prev: &usize, token: usize) -> (f32, usize) {
        (if token == prev + 1 { -0.5 } else { -2.0 }, token)
    }
}
use std::sync::Arc;

fn greedy(max: usize) -> DecoderOptions {
    DecoderOptions {
        method: SearchMethod::Greedy {
            max_symbols_per_frame: max,
        },
        ..Default::default()
    }
}

fn beam(k: usize) -> DecoderOptions {
    DecoderOptions {
        method: SearchMethod::ModifiedBeam { beam: k },
        ..Default::default()
    }
}

fn decode<N: TransducerNet>(net: &N, frames: &[f32], opts: DecoderOptions) -> Hypothesis {
    let mut dec = Decoder::new(net, opts).unwrap();
    dec.accept_frames(net, frames).unwrap();
    dec.finish_hypothesis()
}

/// Log-softmax in f64, written out independently of the crate.
fn log_probs(row: &[f32]) -> Vec<f64> {
    let lse = row.iter().map(|&x| (x as f64).exp()).sum::<f64>().ln();
    row.iter().map(|&x| x as f64 - lse).collect()
}

#[test]
fn greedy_spells_the_table() {
    let spell = [Some(3), None, Some(5), Some(2), None, None, Some(7), None];
    let net = TableTransducer::spelling(8, &spell);
    for opts in [greedy(1), greedy(3), beam(1), beam(4)] {
        let hyp = decode(&net, net.frames(), opts.clone());
        assert_eq!(hyp.ids(), vec![3, 5, 2, 7], "{:?}", opts.method);
        let frames: Vec<usize> = hyp.tokens.iter().map(|t| t.frame).collect();
        assert_eq!(frames, vec![0, 2, 3, 6], "{:?}", opts.method);
    }
}

#[test]
fn greedy_max_symbols_limit() {
    // Frame 0 wants 1, then 2 (1 is penalized right after itself), then 1 again, ...
    let mut row0 = vec![-5.0; 4];
    row0[0] = 3.0;
    row0[1] = 5.0;
    row0[2] = 4.5;
    let quiet = vec![5.0, -5.0, -5.0, -5.0];
    let net = TableTransducer::new(4, &[row0.clone(), quiet.clone(), quiet]);
    for (max, want) in [
        (1, vec![1]),
        (2, vec![1, 2]),
        (3, vec![1, 2, 1]),
        (4, vec![1, 2, 1, 2]),
    ] {
        let hyp = decode(&net, net.frames(), greedy(max));
        assert_eq!(hyp.ids(), want, "max {max}");
        assert!(hyp.tokens.iter().all(|t| t.frame == 0));
    }
    // Path score with max 1: log p(1) at frame 0 (no blank term: the limit ended the frame),
    // then blank at frames 1 and 2, where token 1's logit carries the repeat penalty of 20.
    let hyp = decode(&net, net.frames(), greedy(1));
    let want = log_probs(&row0)[1] + 2.0 * log_probs(&[5.0, -25.0, -5.0, -5.0])[0];
    assert!(
        (hyp.score as f64 - want).abs() < 1e-4,
        "{} vs {want}",
        hyp.score
    );
    assert!((hyp.tokens[0].logprob as f64 - log_probs(&row0)[1]).abs() < 1e-5);
    // Max 2: "1" then "2" (with 1 penalized), again no blank term at frame 0.
    let hyp2 = decode(&net, net.frames(), greedy(2));
    let mut row0_after1 = row0.clone();
    row0_after1[1] -= 20.0;
    let want2 = log_probs(&row0)[1]
        + log_probs(&row0_after1)[2]
        + 2.0 * log_probs(&[5.0, -5.0, -25.0, -5.0])[0];
    assert!(
        (hyp2.score as f64 - want2).abs() < 1e-4,
        "{} vs {want2}",
        hyp2.score
    );
}

#[test]
fn beam_one_equals_greedy_with_one_symbol() {
    for seed in 0..6 {
        let net = RandomTransducer::new(20, 8, 1.0, seed);
        let frames = net.random_frames(80, seed + 100);
        let g = decode(&net, &frames, greedy(1));
        let b = decode(&net, &frames, beam(1));
        assert!(
            !g.tokens.is_empty(),
            "seed {seed}: toy net should emit something"
        );
        assert_eq!(g, b, "seed {seed}");
    }
}

#[test]
fn beam_score_not_below_greedy() {
    let mut better = 0;
    for seed in 0..8 {
        let net = RandomTransducer::new(20, 8, 1.0, seed);
        let frames = net.random_frames(80, seed + 200);
        let g = decode(&net, &frames, greedy(1));
        let b = decode(&net, &frames, beam(4));
        assert!(
            b.score >= g.score - 1e-4,
            "seed {seed}: beam {} < greedy {}",
            b.score,
            g.score
        );
        better += (b.score > g.score + 1e-3) as usize;
    }
    assert!(
        better > 0,
        "beam search never beat greedy: the test nets are too easy"
    );
}

#[test]
fn beam_merges_equal_token_sequences() {
    // Two frames that each slightly prefer token 1 over blank: "1" is reachable as
    // (1, blank) and (blank, 1); "1 1" is suppressed by the toy's repeat penalty.
    let row = vec![0.0f32, 0.5];
    let net = TableTransducer::new(2, &[row.clone(), row.clone()]);
    let mut dec = Decoder::new(&net, beam(4)).unwrap();
    dec.accept_frames(&net, net.frames()).unwrap();
    let hyps = dec.hypotheses();
    let seqs: Vec<Vec<usize>> = hyps.iter().map(|h| h.ids()).collect();
    assert_eq!(
        seqs.iter().filter(|s| **s == vec![1]).count(),
        1,
        "{seqs:?}"
    );
    let lp = log_probs(&row);
    let lp_after = log_probs(&[0.0, 0.5 - 20.0]);
    let want = ((lp[1] + lp_after[0]).exp() + (lp[0] + lp[1]).exp()).ln();
    let one = hyps.iter().find(|h| h.ids() == vec![1]).unwrap();
    assert!(
        (one.score as f64 - want).abs() < 1e-5,
        "{} vs {want}",
        one.score
    );
    // The better path (emission at frame 0) supplies the timestamp.
    assert_eq!(one.tokens[0].frame, 0);
    assert_eq!(hyps[0].ids(), vec![1]);
}

#[test]
fn rejects_bad_frames_and_options() {
    let net = RandomTransducer::new(10, 4, 0.0, 1);
    let mut dec = Decoder::new(&net, beam(2)).unwrap();
    assert_eq!(
        dec.accept_frames(&net, &[0.0; 6]),
        Err(DecoderError::FrameSize {
            expected: 4,
            got: 6
        })
    );
    let mut frames = net.random_frames(3, 1);
    frames[5] = f32::NAN;
    assert_eq!(
        dec.accept_frames(&net, &frames),
        Err(DecoderError::NonFiniteLogits { frame: 1 })
    );
    for opts in [
        beam(0),
        greedy(0),
        DecoderOptions {
            frame_duration: 0.0,
            ..Default::default()
        },
        DecoderOptions {
            hotwords: Some(Arc::new(ContextGraph::new(&[(vec![3, 10], 1.0)]).unwrap())),
            ..Default::default()
        },
        DecoderOptions {
            hotwords: Some(Arc::new(ContextGraph::new(&[(vec![3, 0], 1.0)]).unwrap())),
            ..Default::default()
        },
    ] {
        assert!(matches!(
            Decoder::new(&net, opts),
            Err(DecoderError::InvalidOption(_))
        ));
    }
}

fn chunked<L: LanguageModel>(
    mut dec: Decoder<RandomTransducer, L>,
    net: &RandomTransducer,
    frames: &[f32],
    cuts: &[usize],
) -> Hypothesis {
    let d = net.encoder_dim();
    let mut start = 0;
    for &n in cuts {
        let end = (start + n * d).min(frames.len());
        dec.accept_frames(net, &frames[start..end]).unwrap();
        let _ = dec.partial_hypothesis(); // reading partials must not disturb anything
        start = end;
    }
    dec.accept_frames(net, &frames[start..]).unwrap();
    dec.finish_hypothesis()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn batching_does_not_change_the_result(
        seed in 0u64..1000,
        cuts in proptest::collection::vec(0usize..9, 0..12),
        method in 0usize..5,
    ) {
        let net = RandomTransducer::new(16, 6, 1.0, seed);
        let frames = net.random_frames(50, seed ^ 0xabc);
        let graph = Arc::new(ContextGraph::new(&[(vec![3, 4], 1.5), (vec![5], 0.5)]).unwrap());
        let opts = match method {
            0 | 3 => greedy(2),
            1 => beam(3),
            _ => DecoderOptions { hotwords: Some(graph), ..beam(4) },
        };
        if method >= 3 {
            let lm = Arc::new(StepLm);
            let whole = chunked(Decoder::with_lm(&net, opts.clone(), lm.clone(), 0.3).unwrap(), &net, &frames, &[]);
            let parts = chunked(Decoder::with_lm(&net, opts, lm, 0.3).unwrap(), &net, &frames, &cuts);
            prop_assert_eq!(parts, whole);
        } else {
            let whole = decode(&net, &frames, opts.clone());
            prop_assert_eq!(chunked(Decoder::new(&net, opts).unwrap(), &net, &frames, &cuts), whole);
        }
    }
}

#[test]
fn blank_penalty_turns_a_close_blank_into_a_token() {
    // Frame 1: blank 3.0 narrowly beats token 2 (2.5); frames 0 and 2 clearly spell 1 and blank.
    let rows = vec![
        vec![0.0, 5.0, -5.0, -5.0],
        vec![3.0, -5.0, 2.5, -5.0],
        vec![5.0, -5.0, -5.0, -5.0],
    ];
    let net = TableTransducer::new(4, &rows);
    for opts in [greedy(1), beam(4)] {
        let plain = decode(&net, net.frames(), opts.clone());
        assert_eq!(plain.ids(), vec![1], "{:?}", opts.method);
        let penalized = DecoderOptions {
            blank_penalty: 1.0,
            ..opts.clone()
        };
        let hyp = decode(&net, net.frames(), penalized);
        assert_eq!(hyp.ids(), vec![1, 2], "{:?}", opts.method);
        // The token's log-probability is taken after the penalty (blank's logit 3.0 - 1.0),
        // with token 1 carrying the table's repeat penalty after its emission at frame 0.
        let want = log_probs(&[2.0, -25.0, 2.5, -5.0])[2];
        assert!(
            (hyp.tokens[1].logprob as f64 - want).abs() < 1e-5,
            "{} vs {want}",
            hyp.tokens[1].logprob
        );
    }
    // A penalty too small to flip the frame changes nothing; a non-finite one is refused.
    let small = DecoderOptions {
        blank_penalty: 0.25,
        ..greedy(1)
    };
    assert_eq!(decode(&net, net.frames(), small).ids(), vec![1]);
    let nan = DecoderOptions {
        blank_penalty: f32::NAN,
        ..greedy(1)
    };
    assert!(matches!(
        Decoder::new(&net, nan),
        Err(DecoderError::InvalidOption(_))
    ));
}

/// Modified beam search written out plainly (f64 scores, every extension of every hypothesis
/// collected and sorted, equal token sequences merged by log-sum-exp): the beam after each
/// frame, best first, as (tokens, score), and the smallest gap seen at a cut between the last
/// candidate taken and the first one left (where it is tiny, f32 and f64 may cut differently).
fn reference_beam<N: TransducerNet>(
    net: &N,
    frames: &[f32],
    beam: usize,
) -> (Vec<(Vec<usize>, f64)>, f64) {
    struct H<P> {
        ids: Vec<usize>,
        score: f64,
        state: P,
        out: Vec<f32>,
    }
    let (v, blank) = (net.vocab_size(), net.blank_id());
    let (state, out) = net.pred_init();
    let mut hyps = vec![H {
        ids: vec![],
        score: 0.0,
        state,
        out,
    }];
    let mut logits = vec![0.0f32; v];
    let mut gap = f64::INFINITY;
    for enc in frames.chunks_exact(net.encoder_dim()) {
        let mut cands = Vec::new();
        for (hi, h) in hyps.iter().enumerate() {
            net.join(enc, &h.out, &mut logits);
            for (t, lp) in log_probs(&logits).into_iter().enumerate() {
                cands.push((h.score + lp, hi, t));
            }
        }
        cands.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        if cands.len() > beam {
            gap = gap.min(cands[beam - 1].0 - cands[beam].0);
        }
        let mut next: Vec<H<N::PredState>> = Vec::new();
        for &(score, hi, t) in cands.iter().take(beam) {
            let p = &hyps[hi];
            let mut ids = p.ids.clone();
            if t != blank {
                ids.push(t);
            }
            if let Some(n) = next.iter_mut().find(|n| n.ids == ids) {
                n.score = (n.score.exp() + score.exp()).ln();
                continue;
            }
            let (mut state, mut out) = (p.state.clone(), p.out.clone());
            if t != blank {
                net.pred_step(&mut state, t, &mut out);
            }
            next.push(H {
                ids,
                score,
                state,
                out,
            });
        }
        next.sort_by(|a, b| b.score.total_cmp(&a.score));
        hyps = next;
    }
    (hyps.into_iter().map(|h| (h.ids, h.score)).collect(), gap)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// The decoder's beam (which prunes each hypothesis's extensions against the beam-th best
    /// score seen so far in the frame) is the plain algorithm's beam, at narrow and wide beams.
    #[test]
    fn beam_equals_the_plain_algorithm(seed in 0u64..10_000, k in 1usize..40, blank_bias in 0.0f32..3.0) {
        let net = RandomTransducer::new(12, 5, blank_bias, seed);
        let frames = net.random_frames(30, seed ^ 0x5eed);
        let (want, gap) = reference_beam(&net, &frames, k);
        // A near tie at some frame's cut may go either way in f32 (seed 7849, k 9, blank_bias
        // 0.033 failed once that way); the beams then differ by design, not by a bug. About
        // 4 % of cases have a cut closer than 1e-4; 2,000 cases passed past it.
        prop_assume!(gap > 1e-4);
        let mut dec = Decoder::new(&net, beam(k)).unwrap();
        dec.accept_frames(&net, &frames).unwrap();
        let got = dec.hypotheses();
        prop_assert_eq!(got.len(), want.len());
        // The best exactly; every hypothesis with its score (f32 and f64 sums may order two
        // near-equal neighbours differently).
        prop_assert_eq!(got[0].ids(), want[0].0.clone());
        for g in &got {
            prop_assert!(
                want.iter().any(|w| w.0 == g.ids() && (g.score as f64 - w.1).abs() < 1e-3),
                "{:?} {} not in the reference beam", g.ids(), g.score
            );
        }
    }
}

/// [`RandomTransducer`] without [`TransducerNet::pred_key`]: every hypothesis gets its own
/// joiner row.
struct NoShare(RandomTransducer);

impl TransducerNet for NoShare {
    type PredState = [usize; 2];
    fn vocab_size(&self) -> usize {
        self.0.vocab_size()
    }
    fn encoder_dim(&self) -> usize {
        self.0.encoder_dim()
    }
    fn pred_init(&self) -> ([usize; 2], Vec<f32>) {
        self.0.pred_init()
    }
    fn pred_step(&self, state: &mut [usize; 2], token: usize, out: &mut Vec<f32>) {
        self.0.pred_step(state, token, out)
    }
    fn join(&self, enc: &[f32], pred: &[f32], logits: &mut [f32]) {
        self.0.join(enc, pred, logits)
    }
}

/// Sharing one joiner row between hypotheses with the same prediction state changes nothing:
/// the same hypotheses with the same score bits.
#[test]
fn shared_joiner_rows_give_the_same_beam() {
    for seed in 0..6u64 {
        let shared = RandomTransducer::new(10, 6, 0.5, seed);
        let plain = NoShare(shared.clone());
        let frames = shared.random_frames(40, seed + 99);
        let run = |hyps: Vec<Hypothesis>| {
            hyps.iter()
                .map(|h| (h.ids(), h.score.to_bits()))
                .collect::<Vec<_>>()
        };
        let mut a = Decoder::new(&shared, beam(24)).unwrap();
        a.accept_frames(&shared, &frames).unwrap();
        let mut b = Decoder::new(&plain, beam(24)).unwrap();
        b.accept_frames(&plain, &frames).unwrap();
        assert_eq!(run(a.hypotheses()), run(b.hypotheses()), "seed {seed}");
    }
}
