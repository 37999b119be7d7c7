//! Hotword biasing: the automaton's scores, the list parser, and its effect on search.

use sotto_decoder::toy::TableTransducer;
use sotto_decoder::{
    parse_hotwords, ContextGraph, Decoder, DecoderError, DecoderOptions, Hotword, Hypothesis,
    SearchMethod, Vocab,
};
use std::sync::Arc;

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() < 1e-5
}

/// Feed tokens through the graph, returning the score change of every step.
fn run(g: &ContextGraph, tokens: &[usize]) -> (Vec<f32>, f32) {
    let mut s = g.root();
    let deltas = tokens
        .iter()
        .map(|&t| {
            let (d, next) = g.forward(s, t);
            s = next;
            d
        })
        .collect();
    (deltas, g.finalize(s))
}

#[test]
fn partial_match_is_taken_back() {
    let g = ContextGraph::new(&[(vec![1, 2, 3], 1.0)]).unwrap();
    // 1, 2 match (+1 each); 5 breaks the match: the tentative +2 is removed.
    let (d, fin) = run(&g, &[1, 2, 5]);
    assert_eq!(d, vec![1.0, 1.0, -2.0]);
    assert_eq!(fin, 0.0);
    // Unfinished at the end: finalize removes it.
    let (d, fin) = run(&g, &[7, 1, 2]);
    assert_eq!(d, vec![0.0, 1.0, 1.0]);
    assert_eq!(fin, -2.0);
}

#[test]
fn full_match_bonus_is_kept() {
    let g = ContextGraph::new(&[(vec![1, 2, 3], 1.0)]).unwrap();
    // Completing adds the token score plus the phrase total (3); leaving takes back 3.
    let (d, fin) = run(&g, &[1, 2, 3, 9]);
    assert_eq!(d, vec![1.0, 1.0, 4.0, -3.0]);
    assert_eq!(fin, 0.0);
    assert_eq!(d.iter().sum::<f32>() + fin, 3.0);
    // Ending right on the match: finalize leaves the same net bonus.
    let (d, fin) = run(&g, &[1, 2, 3]);
    assert_eq!(d.iter().sum::<f32>() + fin, 3.0);
}

#[test]
fn backoff_follows_failure_links() {
    // "1 2 3" fails at 4 after "1 2"; "2 4" is a suffix match to fall back to.
    let g = ContextGraph::new(&[(vec![1, 2, 3], 1.0), (vec![2, 4], 2.0)]).unwrap();
    let (d, fin) = run(&g, &[1, 2, 4]);
    // 1: +1, 2: +1 (node "1 2" holds 2); 4: back off to "2" (score 2) and extend to "2 4"
    // (score 4) which completes: 4 - 2 + 4 (full match bonus).
    assert_eq!(d, vec![1.0, 1.0, 6.0]);
    assert_eq!(d.iter().sum::<f32>() + fin, 4.0);
    // Overlapping phrases "1 2" and "2 3" in "1 2 3": both bonuses kept.
    let g = ContextGraph::new(&[(vec![1, 2], 1.0), (vec![2, 3], 1.0)]).unwrap();
    let (d, fin) = run(&g, &[1, 2, 3]);
    assert_eq!(d.iter().sum::<f32>() + fin, 4.0);
    // A phrase that is a prefix of another: both count once each.
    let g = ContextGraph::new(&[(vec![1, 2], 1.0), (vec![1, 2, 3], 1.0)]).unwrap();
    let (d, fin) = run(&g, &[1, 2, 3, 8]);
    assert_eq!(d.iter().sum::<f32>() + fin, 2.0 + 3.0);
}

#[test]
fn graph_rejects_bad_phrases() {
    assert!(ContextGraph::new(&[(vec![], 1.0)]).is_err());
    assert!(ContextGraph::new(&[(vec![1], f32::NAN)]).is_err());
}

#[test]
fn parses_hotword_lists() {
    let list = parse_hotwords("# names\nNEW YORK :2.5\n\n  SOTTO  \nHELLO THERE :-1\n").unwrap();
    assert_eq!(
        list,
        vec![
            Hotword {
                phrase: "NEW YORK".into(),
                boost: Some(2.5)
            },
            Hotword {
                phrase: "SOTTO".into(),
                boost: None
            },
            Hotword {
                phrase: "HELLO THERE".into(),
                boost: Some(-1.0)
            },
        ]
    );
    assert!(matches!(
        parse_hotwords("A\nB :x\n"),
        Err(DecoderError::Hotwords { line: 2, .. })
    ));
    assert!(matches!(
        parse_hotwords(":2\n"),
        Err(DecoderError::Hotwords { line: 1, .. })
    ));
    assert!(matches!(
        parse_hotwords("A :inf\n"),
        Err(DecoderError::Hotwords { line: 1, .. })
    ));
}

#[test]
fn text_hotwords_through_a_tokenizer() {
    let vocab = Vocab::new(
        ["<blk>", "▁NEW", "▁Y", "OR", "K", "▁YORK"]
            .map(String::from)
            .to_vec(),
    );
    let list = parse_hotwords("NEW YORK :3\nYORK\n").unwrap();
    let g = ContextGraph::from_hotwords(&list, 1.5, |p| vocab.encode(p)).unwrap();
    // "NEW YORK" → ▁NEW ▁YORK (longest match), boost 3 per token.
    // Completing it pays its total (6) plus the suffix phrase "YORK" (1.5).
    let (d, _) = run(&g, &[1, 5]);
    assert_eq!(d, vec![3.0, 3.0 + 6.0 + 1.5]);
    // "YORK" alone gets the default boost; it is also a suffix of "NEW YORK".
    let (d, _) = run(&g, &[5]);
    assert_eq!(d, vec![1.5 + 1.5]);
    // "YQK" → ▁Y, then no piece matches "QK": the error names the phrase.
    let list = parse_hotwords("NEW YQK\n").unwrap();
    let err = ContextGraph::from_hotwords(&list, 1.5, |p| vocab.encode(p)).unwrap_err();
    assert!(
        matches!(&err, DecoderError::Phrase { phrase, .. } if phrase == "NEW YQK"),
        "{err}"
    );
}

fn decode(net: &TableTransducer, method: SearchMethod, graph: Option<ContextGraph>) -> Hypothesis {
    let opts = DecoderOptions {
        method,
        hotwords: graph.map(Arc::new),
        ..Default::default()
    };
    let mut dec = Decoder::new(net, opts).unwrap();
    dec.accept_frames(net, net.frames()).unwrap();
    dec.finish_hypothesis()
}

const METHODS: [SearchMethod; 3] = [
    SearchMethod::Greedy {
        max_symbols_per_frame: 1,
    },
    SearchMethod::Greedy {
        max_symbols_per_frame: 3,
    },
    SearchMethod::ModifiedBeam { beam: 4 },
];

/// Frame 0: token 1 slightly above blank and token 2; frame 1: token 3; then silence.
fn close_call() -> TableTransducer {
    let mut f0 = vec![-5.0; 6];
    f0[0] = 2.9;
    f0[1] = 3.0;
    f0[2] = 2.8;
    let mut f1 = vec![-5.0; 6];
    f1[0] = 0.0;
    f1[3] = 5.0;
    let quiet = vec![5.0, -5.0, -5.0, -5.0, -5.0, -5.0];
    TableTransducer::new(6, &[f0, f1, quiet.clone(), quiet])
}

#[test]
fn biasing_pulls_toward_the_hotword() {
    let net = close_call();
    for m in METHODS {
        assert_eq!(decode(&net, m, None).ids(), vec![1, 3], "{m:?}");
        let g = ContextGraph::new(&[(vec![2, 3], 1.0)]).unwrap();
        let hyp = decode(&net, m, Some(g));
        assert_eq!(hyp.ids(), vec![2, 3], "{m:?}");
    }
}

#[test]
fn no_match_changes_nothing() {
    let net = close_call();
    for m in METHODS {
        let plain = decode(&net, m, None);
        // Phrases over tokens the audio never supports, and one that starts but fails.
        let g = ContextGraph::new(&[(vec![4, 5], 2.0), (vec![5], 1.0), (vec![1, 4], 0.1)]).unwrap();
        let biased = decode(&net, m, Some(g));
        assert_eq!(biased.ids(), plain.ids(), "{m:?}");
        assert!(
            close(biased.score, plain.score),
            "{m:?}: {} vs {}",
            biased.score,
            plain.score
        );
    }
}

#[test]
fn failed_match_keeps_no_bonus_in_decoding() {
    // Audio clearly says 1 then 3; hotword "1 2" starts matching and then fails.
    let net = TableTransducer::spelling(6, &[Some(1), Some(3), None]);
    for m in METHODS {
        let plain = decode(&net, m, None);
        // Boost 1: completing "1 2" would pay 1 + 2, not enough against token 2's -5 logit.
        let g = ContextGraph::new(&[(vec![1, 2], 1.0)]).unwrap();
        let opts = DecoderOptions {
            method: m,
            hotwords: Some(Arc::new(g)),
            ..Default::default()
        };
        let mut dec = Decoder::new(&net, opts).unwrap();
        dec.accept_frames(&net, &net.frames()[..6]).unwrap();
        let after_one = dec.partial_hypothesis();
        assert_eq!(after_one.ids(), vec![1], "{m:?}");
        // The partial match holds a tentative +1 ...
        let opts = DecoderOptions {
            method: m,
            ..Default::default()
        };
        let mut plain_dec = Decoder::new(&net, opts).unwrap();
        plain_dec.accept_frames(&net, &net.frames()[..6]).unwrap();
        let plain_one = plain_dec.partial_hypothesis().score;
        assert!(
            close(after_one.score, plain_one + 1.0),
            "{m:?}: {}",
            after_one.score
        );
        dec.accept_frames(&net, &net.frames()[6..]).unwrap();
        let done = dec.finish_hypothesis();
        // ... which is gone once 3 breaks it.
        assert_eq!(done.ids(), vec![1, 3], "{m:?}");
        assert!(
            close(done.score, plain.score),
            "{m:?}: {} vs {}",
            done.score,
            plain.score
        );
    }
}
