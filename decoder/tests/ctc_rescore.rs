//! CTC scoring of modified beam search: each hypothesis's CTC log-likelihood against the
//! CTC forward algorithm written out here, the final choice it changes, the beam it shapes
//! with `ctc_expand` (against the plain algorithm written out here), its bounds on long
//! segments, streaming, segments and option errors.

use sotto_decoder::toy::{RandomTransducer, SplitMix, TableTransducer, WithCtc};
use sotto_decoder::{
    Decoder, DecoderError, DecoderOptions, Hypothesis, SearchMethod, TransducerNet, CTC_MAX_LABELS,
    CTC_WINDOW,
};

fn beam(k: usize, ctc_weight: f32) -> DecoderOptions {
    DecoderOptions {
        method: SearchMethod::ModifiedBeam { beam: k },
        ctc_weight,
        ..Default::default()
    }
}

/// [`beam`] with CTC scoring in the search.
fn beam_in_search(k: usize, ctc_weight: f32, ctc_expand: usize) -> DecoderOptions {
    DecoderOptions {
        ctc_expand,
        ..beam(k, ctc_weight)
    }
}

/// Log-softmax in f64.
fn log_probs(row: &[f32]) -> Vec<f64> {
    let max = row.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x as f64));
    let lse = max
        + row
            .iter()
            .map(|&x| (x as f64 - max).exp())
            .sum::<f64>()
            .ln();
    row.iter().map(|&x| x as f64 - lse).collect()
}

fn lse(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    if b == f64::NEG_INFINITY {
        return a;
    }
    a.max(b) + (-(a - b).abs()).exp().ln_1p()
}

/// The CTC forward algorithm over the whole utterance: ln P(labels | frames), with the
/// usual blank-extended label sequence (Graves et al. 2006).
fn ctc_forward(rows: &[f32], vocab: usize, labels: &[usize], blank: usize) -> f64 {
    let lp: Vec<Vec<f64>> = rows.chunks_exact(vocab).map(log_probs).collect();
    let mut ext = vec![blank];
    for &l in labels {
        ext.extend([l, blank]);
    }
    let s = ext.len();
    let mut a = vec![f64::NEG_INFINITY; s];
    a[0] = lp[0][ext[0]];
    if s > 1 {
        a[1] = lp[0][ext[1]];
    }
    for row in &lp[1..] {
        let prev = a.clone();
        for j in 0..s {
            let mut v = prev[j];
            if j >= 1 {
                v = lse(v, prev[j - 1]);
            }
            if j >= 2 && ext[j] != blank && ext[j] != ext[j - 2] {
                v = lse(v, prev[j - 2]);
            }
            a[j] = v + row[ext[j]];
        }
    }
    if s > 1 {
        lse(a[s - 1], a[s - 2])
    } else {
        a[0]
    }
}

fn random_rows(n: usize, vocab: usize, scale: f32, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix(seed);
    (0..n * vocab).map(|_| rng.uniform() * scale).collect()
}

fn run<N: TransducerNet>(net: &N, frames: &[f32], opts: DecoderOptions) -> Decoder<N> {
    let mut dec = Decoder::new(net, opts).unwrap();
    dec.accept_frames(net, frames).unwrap();
    dec
}

/// [`run`] with the frames fed `chunk` frames at a time.
fn run_in_chunks<N: TransducerNet>(
    net: &N,
    frames: &[f32],
    opts: DecoderOptions,
    chunk: usize,
) -> Decoder<N> {
    let mut dec = Decoder::new(net, opts).unwrap();
    for c in frames.chunks(chunk * net.encoder_dim()) {
        dec.accept_frames(net, c).unwrap();
    }
    dec
}

#[test]
fn every_hypothesis_carries_its_exact_ctc_log_likelihood() {
    // Few tokens, so hypotheses repeat labels (the case where CTC needs a blank between).
    let (v, t) = (4, 24);
    assert!(t < CTC_WINDOW);
    let net = WithCtc {
        inner: RandomTransducer::new(v, 8, 0.5, 11),
    };
    let ctc = random_rows(t, v, 3.0, 12);
    let frames = net.frames(&net.inner.random_frames(t, 13), &ctc);
    let dec = run(&net, &frames, beam(8, 0.5));
    let hyps = dec.hypotheses();
    assert_eq!(hyps.len(), 8);
    let mut repeats = 0;
    for h in &hyps {
        let ids = h.ids();
        assert!(ids.len() < CTC_MAX_LABELS);
        repeats += ids.windows(2).filter(|w| w[0] == w[1]).count();
        let want = ctc_forward(&ctc, v, &ids, 0);
        let got = h.ctc_logprob.expect("CTC rescoring on") as f64;
        assert!(
            (got - want).abs() < 1e-3 * want.abs().max(1.0),
            "{ids:?}: {got} vs {want}"
        );
    }
    assert!(
        repeats > 0,
        "no hypothesis repeats a token: the test misses that case"
    );
}

#[test]
fn rescoring_changes_only_the_final_choice() {
    // The transducer slightly prefers token 1 on frame 0; the CTC head is sure of token 2.
    let mut rows = vec![vec![5.0, -5.0, -5.0]; 6];
    rows[0] = vec![0.0, 5.0, 4.8];
    let inner = TableTransducer::new(3, &rows);
    let mut ctc = vec![vec![5.0, -5.0, -5.0]; 6];
    ctc[1] = vec![0.0, -5.0, 6.0];
    let net = WithCtc { inner };
    let frames = net.frames(net.inner.frames(), &ctc.concat());
    let plain = run(&net, &frames, beam(4, 0.0));
    let rescored = run(&net, &frames, beam(4, 1.0));
    assert_eq!(plain.finish_hypothesis().ids(), vec![1]);
    assert_eq!(plain.finish_hypothesis().ctc_logprob, None);
    assert_eq!(rescored.finish_hypothesis().ids(), vec![2]);
    // The beam and the partial result are the transducer's alone.
    assert_eq!(rescored.partial_hypothesis().ids(), vec![1]);
    let ids = |hs: Vec<Hypothesis>| hs.iter().map(|h| h.ids()).collect::<Vec<_>>();
    assert_eq!(ids(plain.hypotheses()), ids(rescored.hypotheses()));
    // The final score is the transducer's plus weight × the CTC term.
    let h = rescored.finish_hypothesis();
    let with_ctc = rescored
        .hypotheses()
        .into_iter()
        .find(|x| x.ids() == vec![2])
        .unwrap();
    let want = with_ctc.score + with_ctc.ctc_logprob.unwrap();
    assert!((h.score - want).abs() < 1e-4, "{} vs {want}", h.score);
}

#[test]
fn long_segments_stay_bounded_and_close() {
    // 200 frames, a token on every third frame (67 tokens: more than the kept labels), the
    // CTC head peaky and one frame late or (every other token) one frame early, before the
    // transducer emits: the bounded track may only lose probability, and only a little.
    let (v, t) = (6, 200);
    assert!(t > CTC_WINDOW && t / 3 > CTC_MAX_LABELS);
    let spell: Vec<Option<usize>> = (0..t)
        .map(|i| (i % 3 == 0).then_some(1 + (i / 3) % 5))
        .collect();
    let inner = TableTransducer::spelling(v, &spell);
    let mut ctc = random_rows(t, v, 1.0, 5);
    for (i, s) in spell.iter().enumerate() {
        if let Some(tok) = s {
            let at = if (i / 3) % 2 == 0 { i + 1 } else { i - 1 };
            ctc[at.min(t - 1) * v + tok] += 6.0;
        }
    }
    for i in 0..t {
        ctc[i * v] += 3.0;
    }
    let net = WithCtc { inner };
    let frames = net.frames(net.inner.frames(), &ctc);
    let h = run(&net, &frames, beam(4, 0.3)).finish_hypothesis();
    let ids = h.ids();
    assert_eq!(ids.len(), 67);
    let want = ctc_forward(&ctc, v, &ids, 0);
    let got = h.ctc_logprob.unwrap() as f64;
    assert!(
        got <= want + 1e-3 * want.abs(),
        "{got} above the exact {want}"
    );
    assert!(
        got >= want - 0.05 * want.abs(),
        "{got} far below the exact {want}"
    );
}

#[test]
fn a_peaky_head_stays_exact() {
    // A CTC head as sure as a trained one (the right token or blank 25 nats above the rest,
    // the transducer's token one frame late or early): most lattice states and window start
    // frames then lie far below the best, where the track stops following them to save time.
    // What it keeps must still be the forward algorithm's value.
    let (v, t) = (6, 30);
    assert!(t < CTC_WINDOW);
    let spell: Vec<Option<usize>> = (0..t)
        .map(|i| (i % 3 == 1).then_some(1 + (i / 3) % 5))
        .collect();
    let inner = TableTransducer::spelling(v, &spell);
    let mut ctc = random_rows(t, v, 1.0, 41);
    for i in 0..t {
        ctc[i * v] += 25.0;
    }
    for (i, s) in spell.iter().enumerate() {
        if let Some(tok) = s {
            let at = if (i / 3) % 2 == 0 { i + 1 } else { i - 1 };
            ctc[at * v] -= 25.0;
            ctc[at * v + tok] += 25.0;
        }
    }
    let net = WithCtc { inner };
    let frames = net.frames(net.inner.frames(), &ctc);
    let dec = run(&net, &frames, beam(4, 0.3));
    let mut checked = 0;
    for h in dec.hypotheses() {
        let ids = h.ids();
        let want = ctc_forward(&ctc, v, &ids, 0);
        let got = h.ctc_logprob.unwrap() as f64;
        assert!(
            (got - want).abs() < 1e-4 * want.abs().max(1.0),
            "{ids:?}: {got} vs {want}"
        );
        checked += usize::from(ids.len() == 10);
    }
    assert!(checked > 0, "the spelled hypothesis fell out of the beam");
}

#[test]
fn chunking_and_segments_do_not_change_it() {
    let (v, t) = (5, 90);
    let net = WithCtc {
        inner: RandomTransducer::new(v, 8, 1.0, 21),
    };
    let ctc = random_rows(t, v, 3.0, 22);
    let frames = net.frames(&net.inner.random_frames(t, 23), &ctc);
    let d = net.encoder_dim();
    let whole = run(&net, &frames, beam(6, 0.4)).finish_hypothesis();
    for chunk in [1, 7, 33] {
        let dec = run_in_chunks(&net, &frames, beam(6, 0.4), chunk);
        assert_eq!(dec.finish_hypothesis(), whole, "chunks of {chunk} frames");
    }
    // A new segment starts its CTC lattice afresh: after a reset, the result equals a fresh
    // decoder's on the same frames.
    let (first, second) = frames.split_at(40 * d);
    let mut dec = run(&net, first, beam(6, 0.4));
    dec.reset(&net);
    dec.accept_frames(&net, second).unwrap();
    let fresh = run(&net, second, beam(6, 0.4)).finish_hypothesis();
    let got = dec.finish_hypothesis();
    assert_eq!(got.ids(), fresh.ids());
    assert_eq!(got.ctc_logprob, fresh.ctc_logprob);
}

#[test]
fn bad_options_are_errors() {
    let plain = RandomTransducer::new(4, 8, 1.0, 1);
    let err = Decoder::new(&plain, beam(4, 0.3)).err().unwrap();
    assert!(
        matches!(&err, DecoderError::InvalidOption(m) if m.contains("CTC head")),
        "{err}"
    );
    let net = WithCtc { inner: plain };
    for w in [-0.1, f32::NAN, f32::INFINITY] {
        let err = Decoder::new(&net, beam(4, w)).err().unwrap();
        assert!(
            matches!(&err, DecoderError::InvalidOption(m) if m.contains("ctc_weight")),
            "{err}"
        );
    }
    let greedy = DecoderOptions {
        method: SearchMethod::Greedy {
            max_symbols_per_frame: 1,
        },
        ctc_weight: 0.3,
        ..Default::default()
    };
    let err = Decoder::new(&net, greedy).err().unwrap();
    assert!(
        matches!(&err, DecoderError::InvalidOption(m) if m.contains("beam")),
        "{err}"
    );
    // Non-finite CTC logits are the network's fault, reported with the frame.
    let mut ctc = random_rows(3, 4, 1.0, 2);
    ctc[2 * 4 + 1] = f32::NAN;
    let frames = net.frames(&net.inner.random_frames(3, 3), &ctc);
    let mut dec = Decoder::new(&net, beam(4, 0.3)).unwrap();
    let err = dec.accept_frames(&net, &frames).err().unwrap();
    assert!(
        matches!(err, DecoderError::NonFiniteLogits { frame: 2 }),
        "{err}"
    );
}

#[test]
fn in_search_the_ctc_term_keeps_what_the_transducer_would_prune() {
    // Beam 1: the transducer slightly prefers token 1 on frame 0, the CTC head is sure of
    // token 2 on the same frame. Rescoring only the final beam cannot bring 2 back; making
    // two extensions and keeping the better by transducer + CTC score does.
    let mut rows = vec![vec![5.0, -5.0, -5.0]; 6];
    rows[0] = vec![0.0, 5.0, 4.8];
    let net = WithCtc {
        inner: TableTransducer::new(3, &rows),
    };
    let mut ctc = vec![vec![5.0, -5.0, -5.0]; 6];
    ctc[0] = vec![0.0, -5.0, 6.0];
    let frames = net.frames(net.inner.frames(), &ctc.concat());
    let final_only = run(&net, &frames, beam_in_search(1, 1.0, 1));
    assert_eq!(final_only.finish_hypothesis().ids(), vec![1]);
    let in_search = run(&net, &frames, beam_in_search(1, 1.0, 2));
    assert_eq!(in_search.finish_hypothesis().ids(), vec![2]);
    assert_eq!(in_search.partial_hypothesis().ids(), vec![2]);
    assert_eq!(in_search.hypotheses().len(), 1);
    // Without CTC scoring, ctc_expand changes nothing.
    let plain = |e| run(&net, &frames, beam_in_search(1, 0.0, e)).finish_hypothesis();
    assert_eq!(plain(1), plain(3));
}

/// Modified beam search with CTC scoring in the search, written out plainly: all extensions
/// sorted by the transducer's score, the best `beam × expand` made and merged (log-sum-exp,
/// the first one's place), the `beam` best by score + w × exact CTC log-likelihood of the
/// frames so far kept, then ordered by score. Returns the beam as (tokens, score).
fn reference_in_search(
    net: &WithCtc<RandomTransducer>,
    frames: &[f32],
    ctc: &[f32],
    k: usize,
    w: f64,
    expand: usize,
) -> Vec<(Vec<usize>, f64)> {
    let (v, d) = (net.vocab_size(), net.encoder_dim());
    let (st, out) = net.pred_init();
    let mut hyps = vec![(Vec::<usize>::new(), 0.0f64, st, out)];
    let mut logits = vec![0.0f32; v];
    for (t, enc) in frames.chunks_exact(d).enumerate() {
        let mut cands = Vec::new();
        for (hi, h) in hyps.iter().enumerate() {
            net.join(enc, &h.3, &mut logits);
            for (tok, lp) in log_probs(&logits).into_iter().enumerate() {
                cands.push((h.1 + lp, hi, tok));
            }
        }
        cands.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let mut next: Vec<(Vec<usize>, f64, _, Vec<f32>)> = Vec::new();
        for &(score, hi, tok) in cands.iter().take(k * expand) {
            let p = &hyps[hi];
            let mut ids = p.0.clone();
            if tok != 0 {
                ids.push(tok);
            }
            if let Some(n) = next.iter_mut().find(|n| n.0 == ids) {
                n.1 = lse(n.1, score);
                continue;
            }
            let (mut st, mut out) = (p.2, p.3.clone());
            if tok != 0 {
                net.pred_step(&mut st, tok, &mut out);
            }
            next.push((ids, score, st, out));
        }
        if next.len() > k {
            let key = |h: &(Vec<usize>, f64, _, Vec<f32>)| {
                h.1 + w * ctc_forward(&ctc[..(t + 1) * v], v, &h.0, 0)
            };
            next.sort_by(|a, b| key(b).total_cmp(&key(a)));
            next.truncate(k);
        }
        next.sort_by(|a, b| b.1.total_cmp(&a.1));
        hyps = next;
    }
    hyps.into_iter().map(|h| (h.0, h.1)).collect()
}

#[test]
fn in_search_beam_equals_the_plain_algorithm() {
    // Short segments (inside the CTC window and label bound, where the tracks are exact).
    let (v, t) = (5, 20);
    assert!(t < CTC_WINDOW);
    let mut changed = 0;
    for seed in 0..24u64 {
        let (k, expand, w) = (
            1 + seed as usize % 6,
            2 + seed as usize % 3,
            0.3 + 0.1 * (seed % 4) as f32,
        );
        let net = WithCtc {
            inner: RandomTransducer::new(v, 6, 0.5, 100 + seed),
        };
        let ctc = random_rows(t, v, 4.0, 200 + seed);
        let frames = net.frames(&net.inner.random_frames(t, 300 + seed), &ctc);
        let want = reference_in_search(&net, &frames, &ctc, k, w as f64, expand);
        let dec = run(&net, &frames, beam_in_search(k, w, expand));
        let got = dec.hypotheses();
        assert_eq!(got.len(), want.len(), "seed {seed}");
        for g in &got {
            assert!(
                want.iter()
                    .any(|x| x.0 == g.ids() && (g.score as f64 - x.1).abs() < 1e-3),
                "seed {seed}: {:?} {} not in the reference beam {want:?}",
                g.ids(),
                g.score
            );
        }
        let plain = run(&net, &frames, beam_in_search(k, w, 1)).hypotheses();
        if plain
            .iter()
            .map(|h| h.ids())
            .ne(got.iter().map(|h| h.ids()))
        {
            changed += 1;
        }
    }
    assert!(
        changed >= 6,
        "the CTC term changed only {changed} of 24 beams: the test is too easy"
    );
}

#[test]
fn in_search_chunking_does_not_change_it() {
    let (v, t) = (5, 90);
    let net = WithCtc {
        inner: RandomTransducer::new(v, 8, 1.0, 31),
    };
    let ctc = random_rows(t, v, 3.0, 32);
    let frames = net.frames(&net.inner.random_frames(t, 33), &ctc);
    let whole = run(&net, &frames, beam_in_search(6, 0.4, 2));
    for chunk in [1, 7, 33] {
        let dec = run_in_chunks(&net, &frames, beam_in_search(6, 0.4, 2), chunk);
        assert_eq!(
            dec.finish_hypothesis(),
            whole.finish_hypothesis(),
            "chunks of {chunk}"
        );
        assert_eq!(
            dec.partial_hypothesis(),
            whole.partial_hypothesis(),
            "chunks of {chunk}"
        );
    }
}

#[test]
fn ctc_expand_out_of_range_is_an_error() {
    let net = WithCtc {
        inner: RandomTransducer::new(4, 8, 1.0, 1),
    };
    for e in [0, sotto_decoder::MAX_CTC_EXPAND + 1] {
        let err = Decoder::new(&net, beam_in_search(4, 0.3, e)).err().unwrap();
        assert!(
            matches!(&err, DecoderError::InvalidOption(m) if m.contains("ctc_expand")),
            "{err}"
        );
    }
}
