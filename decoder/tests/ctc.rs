//! CTC prefix beam search: collapse rules, exactness against brute force over all
//! alignments, the word-level search over CTC output, and chunking independence.

use proptest::prelude::*;
use sotto_decoder::toy::{SplitMix, TableTransducer};
use sotto_decoder::{
    Decoder, DecoderOptions, Lexicon, NgramLm, SearchMethod, TransducerNet, Vocab, WordGraph,
    WordScoring,
};
use std::collections::HashMap;
use std::sync::Arc;

/// A CTC "network": each frame is the logit row; the joiner ignores the prediction output.
fn ctc_net(vocab_size: usize, rows: &[Vec<f32>]) -> TableTransducer {
    let mut net = TableTransducer::new(vocab_size, rows);
    net.repeat_penalty = 0.0;
    net
}

fn ctc(beam: usize) -> DecoderOptions {
    DecoderOptions {
        method: SearchMethod::CtcPrefixBeam { beam },
        ..Default::default()
    }
}

/// Rows that put almost all mass on one label per frame (0 = blank), blank second.
fn hard(vocab_size: usize, labels: &[usize]) -> Vec<Vec<f32>> {
    labels
        .iter()
        .map(|&l| {
            let mut r = vec![-10.0; vocab_size];
            r[0] = 0.0;
            r[l] = 10.0;
            r
        })
        .collect()
}

fn ids(net: &TableTransducer, opts: DecoderOptions) -> Vec<usize> {
    let mut d = Decoder::new(net, opts).unwrap();
    d.accept_frames(net, net.frames()).unwrap();
    d.finish_hypothesis().ids()
}

#[test]
fn repeats_collapse_unless_a_blank_separates_them() {
    let net = ctc_net(3, &hard(3, &[1, 1, 0, 1, 2, 2, 0, 0, 2]));
    for beam in [1, 4] {
        assert_eq!(ids(&net, ctc(beam)), vec![1, 1, 2, 2]);
    }
    // The same frames read as a transducer would emit every non-blank frame.
    let mut d = Decoder::new(&net, DecoderOptions::default()).unwrap();
    d.accept_frames(&net, net.frames()).unwrap();
    assert_eq!(d.finish_hypothesis().ids(), vec![1, 1, 1, 2, 2, 2]);
}

#[test]
fn timestamps_are_the_first_frame_of_each_label() {
    let net = ctc_net(3, &hard(3, &[0, 1, 1, 1, 0, 2]));
    let mut d = Decoder::new(&net, ctc(4)).unwrap();
    d.accept_frames(&net, net.frames()).unwrap();
    let frames: Vec<usize> = d
        .finish_hypothesis()
        .tokens
        .iter()
        .map(|t| t.frame)
        .collect();
    assert_eq!(frames, vec![1, 5]);
}

/// Collapse a frame-level CTC path to its label sequence.
fn collapse(path: &[usize]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut prev = 0;
    for &l in path {
        if l != 0 && l != prev {
            out.push(l);
        }
        prev = l;
    }
    out
}

fn log_softmax(row: &[f32]) -> Vec<f64> {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let z = row.iter().map(|&x| (x as f64 - m).exp()).sum::<f64>().ln() + m;
    row.iter().map(|&x| x as f64 - z).collect()
}

#[test]
fn wide_beam_finds_the_most_probable_labelling() {
    // Brute force: sum the probability of every alignment per label sequence.
    let (v, t) = (3usize, 6usize);
    let mut rng = SplitMix(7);
    for trial in 0..20 {
        let rows: Vec<Vec<f32>> = (0..t)
            .map(|_| (0..v).map(|_| rng.uniform() * 2.0).collect())
            .collect();
        let lp: Vec<Vec<f64>> = rows.iter().map(|r| log_softmax(r)).collect();
        let mut totals: HashMap<Vec<usize>, f64> = HashMap::new();
        for code in 0..v.pow(t as u32) {
            let path: Vec<usize> = (0..t).map(|i| code / v.pow(i as u32) % v).collect();
            let p: f64 = path.iter().enumerate().map(|(i, &l)| lp[i][l]).sum();
            *totals.entry(collapse(&path)).or_insert(0.0) += p.exp();
        }
        let (best, p) = totals
            .iter()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(k, p)| (k.clone(), *p))
            .unwrap();
        let net = ctc_net(v, &rows);
        let mut d = Decoder::new(&net, ctc(256)).unwrap();
        d.accept_frames(&net, net.frames()).unwrap();
        let h = d.finish_hypothesis();
        assert_eq!(h.ids(), best, "trial {trial}");
        assert!(
            (h.score as f64 - p.ln()).abs() < 1e-4,
            "trial {trial}: score {} vs brute force {}",
            h.score,
            p.ln()
        );
    }
}

const UNITS: [&str; 6] = ["<blk>", "AY", "R", "EH", "D", "B"];

fn unit(name: &str) -> Option<usize> {
    UNITS.iter().position(|u| *u == name)
}

/// RED and READ are homophones; after I, READ is far likelier, alone RED is.
const HOMOPHONES_ARPA: &str = "\\data\\
ngram 1=6
ngram 2=2

\\1-grams:
-1.0 </s>
-99 <s> -0.3
-1.0 I -0.3
-0.5 RED -0.3
-1.5 READ -0.3
-2.0 <unk>

\\2-grams:
-0.5 <s> I
-0.1 I READ

\\end\\
";

fn word_opts(beam: usize) -> DecoderOptions {
    let lex = Lexicon::parse_dict("I AY\nRED R EH D\nREAD R EH D\n", unit, false)
        .unwrap()
        .0;
    let lm = NgramLm::from_arpa_reader(HOMOPHONES_ARPA.as_bytes(), "test.arpa").unwrap();
    let g = WordGraph::new(lex, Some(Arc::new(lm)), WordScoring::default(), None).unwrap();
    DecoderOptions {
        words: Some(Arc::new(g)),
        ..ctc(beam)
    }
}

fn spell(names: &[&str]) -> TableTransducer {
    let labels: Vec<usize> = names
        .iter()
        .map(|n| if *n == "_" { 0 } else { unit(n).unwrap() })
        .collect();
    ctc_net(UNITS.len(), &hard(UNITS.len(), &labels))
}

#[test]
fn word_search_over_ctc_output() {
    let vocab = Vocab::new(UNITS.map(String::from).to_vec());
    // Labels held over several frames, and B, which spells no word, is never emitted.
    let net = spell(&["AY", "AY", "_", "B", "R", "R", "EH", "D", "D", "_"]);
    for beam in [1, 4] {
        let mut d = Decoder::new(&net, word_opts(beam)).unwrap();
        d.accept_frames(&net, net.frames()).unwrap();
        let t = d.finish(&vocab);
        assert_eq!(t.text, "I READ", "beam {beam}");
        assert_eq!(t.words[1].start, 4.0 * 0.04);
    }
    let net = spell(&["R", "EH", "EH", "D", "_"]);
    let mut d = Decoder::new(&net, word_opts(4)).unwrap();
    d.accept_frames(&net, net.frames()).unwrap();
    assert_eq!(d.finish(&vocab).text, "RED");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Feeding the frames in any batches gives the same prefixes and scores.
    #[test]
    fn chunking_does_not_change_the_result(seed in 0u64..1000, chunk in 1usize..7, beam in 1usize..6) {
        let mut rng = SplitMix(seed);
        let rows: Vec<Vec<f32>> = (0..30)
            .map(|_| (0..UNITS.len()).map(|_| rng.uniform() * 4.0).collect())
            .collect();
        let net = ctc_net(UNITS.len(), &rows);
        for opts in [ctc(beam), word_opts(beam)] {
            let mut whole = Decoder::new(&net, opts.clone()).unwrap();
            whole.accept_frames(&net, net.frames()).unwrap();
            let mut parts = Decoder::new(&net, opts).unwrap();
            for c in net.frames().chunks(chunk * net.encoder_dim()) {
                parts.accept_frames(&net, c).unwrap();
            }
            prop_assert_eq!(whole.hypotheses(), parts.hypotheses());
            prop_assert_eq!(whole.finish_hypothesis(), parts.finish_hypothesis());
        }
    }
}
