//! LM shallow fusion with a toy bigram model.

use sotto_decoder::toy::TableTransducer;
use sotto_decoder::{Decoder, DecoderOptions, LanguageModel, SearchMethod};
use std::sync::Arc;

/// Bigram LM over token ids: after token 1, token 2 has probability ~1 and everything
/// else log-probability -3; elsewhere uniform-ish (-1).
struct Bigram;

impl LanguageModel for Bigram {
    type State = usize;

    fn start(&self) -> usize {
        0
    }

    fn score(&self, &prev: &usize, token: usize) -> (f32, usize) {
        let lp = match (prev, token) {
            (1, 2) => 0.0,
            (1, _) => -3.0,
            _ => -1.0,
        };
        (lp, token)
    }

    fn final_score(&self, &last: &usize) -> f32 {
        if last == 2 {
            0.0
        } else {
            -0.5
        }
    }
}

/// Frame 0 spells token 1; frame 1 has token 3 slightly above token 2.
fn net() -> TableTransducer {
    let f0 = vec![0.0, 5.0, -5.0, -5.0, -5.0];
    let f1 = vec![0.0, -5.0, 2.8, 3.0, -5.0];
    let quiet = vec![5.0, -5.0, -5.0, -5.0, -5.0];
    TableTransducer::new(5, &[f0, f1, quiet])
}

fn decode(method: SearchMethod, lm_weight: Option<f32>) -> Vec<usize> {
    let net = net();
    let opts = DecoderOptions {
        method,
        ..Default::default()
    };
    let hyp = match lm_weight {
        Some(w) => {
            let mut d = Decoder::with_lm(&net, opts, Arc::new(Bigram), w).unwrap();
            d.accept_frames(&net, net.frames()).unwrap();
            d.finish_hypothesis()
        }
        None => {
            let mut d = Decoder::new(&net, opts).unwrap();
            d.accept_frames(&net, net.frames()).unwrap();
            d.finish_hypothesis()
        }
    };
    hyp.ids()
}

#[test]
fn lm_changes_close_calls() {
    for m in [
        SearchMethod::Greedy {
            max_symbols_per_frame: 1,
        },
        SearchMethod::ModifiedBeam { beam: 4 },
    ] {
        assert_eq!(decode(m, None), vec![1, 3], "{m:?}");
        assert_eq!(decode(m, Some(0.0)), vec![1, 3], "{m:?}");
        assert_eq!(decode(m, Some(0.5)), vec![1, 2], "{m:?}");
    }
}

#[test]
fn lm_score_and_final_score_enter_the_total() {
    let net = TableTransducer::spelling(5, &[Some(1), None]);
    let opts = DecoderOptions {
        method: SearchMethod::ModifiedBeam { beam: 2 },
        ..Default::default()
    };
    let mut plain = Decoder::new(&net, opts.clone()).unwrap();
    plain.accept_frames(&net, net.frames()).unwrap();
    let mut fused = Decoder::with_lm(&net, opts, Arc::new(Bigram), 0.5).unwrap();
    fused.accept_frames(&net, net.frames()).unwrap();
    let (p, f) = (plain.finish_hypothesis(), fused.finish_hypothesis());
    assert_eq!(p.ids(), f.ids());
    // 0.5 × (bigram -1 for token 1 from the start + final -0.5).
    assert!(
        (f.score - (p.score - 0.75)).abs() < 1e-5,
        "{} vs {}",
        f.score,
        p.score
    );
}
