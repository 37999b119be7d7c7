//! Word-level search: lexicon-constrained beam search with a word n-gram LM.

use proptest::prelude::*;
use sotto_decoder::toy::{RandomTransducer, TableTransducer};
use sotto_decoder::{
    parse_hotwords, Decoder, DecoderOptions, Lexicon, NgramLm, SearchMethod, TokenBigram,
    Transcript, TransducerNet, Vocab, WordGraph, WordScoring,
};
use std::sync::Arc;

/// Units of the toy phone models: id 0 is blank.
const UNITS: [&str; 8] = ["<blk>", "AY", "R", "EH", "D", "AH", "B", "K"];

fn vocab() -> Vocab {
    Vocab::new(UNITS.map(String::from).to_vec())
}

fn unit(name: &str) -> Option<usize> {
    UNITS.iter().position(|u| *u == name)
}

fn lexicon(text: &str) -> Lexicon {
    Lexicon::parse_dict(text, unit, false).unwrap().0
}

fn lm(arpa: &str) -> Arc<NgramLm> {
    Arc::new(NgramLm::from_arpa_reader(arpa.as_bytes(), "test.arpa").unwrap())
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

/// Frames spelling units by name (`None`: a blank frame).
fn spell(frames: &[Option<&str>]) -> TableTransducer {
    let ids: Vec<Option<usize>> = frames.iter().map(|f| f.map(|u| unit(u).unwrap())).collect();
    TableTransducer::spelling(UNITS.len(), &ids)
}

fn graph(lex: &str, arpa: Option<&str>, scoring: WordScoring) -> Arc<WordGraph> {
    Arc::new(WordGraph::new(lexicon(lex), arpa.map(lm), scoring, None).unwrap())
}

fn decode<N: TransducerNet>(net: &N, frames: &[f32], opts: DecoderOptions) -> Transcript {
    let mut d = Decoder::new(net, opts).unwrap();
    d.accept_frames(net, frames).unwrap();
    d.finish(&vocab())
}

fn opts(words: Arc<WordGraph>, beam: usize) -> DecoderOptions {
    DecoderOptions {
        method: if beam == 1 {
            SearchMethod::Greedy {
                max_symbols_per_frame: 1,
            }
        } else {
            SearchMethod::ModifiedBeam { beam }
        },
        words: Some(words),
        ..Default::default()
    }
}

const RED_LEX: &str = "I AY\nRED R EH D\nREAD R EH D\n";

/// The random-network tests' lexicon: homophones, a one-unit word and words sharing units.
const SIX_WORDS: &str = "I AY\nRED R EH D\nREAD R EH D\nBED B EH D\nCAB K AH B\nA AH\n";

#[test]
fn lm_picks_the_homophone() {
    let g = graph(RED_LEX, Some(HOMOPHONES_ARPA), WordScoring::default());
    let net = spell(&[Some("AY"), None, Some("R"), Some("EH"), Some("D"), None]);
    for beam in [1, 4] {
        assert_eq!(
            decode(&net, net.frames(), opts(g.clone(), beam)).text,
            "I READ"
        );
    }
    let net = spell(&[Some("R"), Some("EH"), Some("D"), None]);
    assert_eq!(decode(&net, net.frames(), opts(g, 4)).text, "RED");
}

#[test]
fn without_lm_words_follow_the_lexicon() {
    // Units that spell no word are never emitted: B is not in the lexicon, so it is dropped.
    let g = graph(RED_LEX, None, WordScoring::default());
    let net = spell(&[Some("AY"), Some("B"), Some("R"), Some("EH"), Some("D")]);
    let t = decode(&net, net.frames(), opts(g, 4));
    assert!(t.text == "I RED" || t.text == "I READ", "{}", t.text);
    assert!(t.tokens.iter().all(|tok| tok.piece != "B"));
}

/// CAB is likely, BED is not; acoustically the first unit leans to B by a little.
const LOOKAHEAD_ARPA: &str = "\\data\\
ngram 1=5

\\1-grams:
-1.0 </s>
-99 <s>
-0.05 CAB
-3.0 BED
-4.0 <unk>

\\end\\
";

#[test]
fn lookahead_keeps_a_likely_word_alive() {
    let lex = "CAB K AH B\nBED B EH D\n";
    // Frame 0: B 3.0 vs K 2.6; then both continuations are equally clear.
    let mut f0 = vec![-5.0; UNITS.len()];
    f0[0] = 0.0;
    f0[unit("B").unwrap()] = 3.0;
    f0[unit("K").unwrap()] = 2.6;
    let mut f1 = vec![-5.0; UNITS.len()];
    f1[unit("AH").unwrap()] = 5.0;
    f1[unit("EH").unwrap()] = 5.0;
    let mut f2 = vec![-5.0; UNITS.len()];
    f2[unit("B").unwrap()] = 5.0;
    f2[unit("D").unwrap()] = 5.0;
    let mut quiet = vec![-5.0; UNITS.len()];
    quiet[0] = 5.0;
    let mut net = TableTransducer::new(UNITS.len(), &[f0, f1, f2, quiet]);
    net.repeat_penalty = 0.0;
    let with = WordScoring::default();
    let without = WordScoring {
        lookahead: false,
        ..with
    };
    let greedy = |s| {
        decode(
            &net,
            net.frames(),
            opts(graph(lex, Some(LOOKAHEAD_ARPA), s), 1),
        )
        .text
    };
    // Plain pruning (greedy, no look-ahead) commits to B at frame 0 and ends in BED...
    assert_eq!(greedy(without), "BED");
    // ...the look-ahead sees that nothing likely starts with B and keeps CAB.
    assert_eq!(greedy(with), "CAB");
}

#[test]
fn partials_finals_and_timestamps_agree() {
    let g = graph(RED_LEX, Some(HOMOPHONES_ARPA), WordScoring::default());
    let net = spell(&[
        Some("AY"),
        None,
        Some("R"),
        Some("EH"),
        Some("D"),
        None,
        None,
    ]);
    let mut d = Decoder::new(&net, opts(g, 4)).unwrap();
    let frames: Vec<&[f32]> = net.frames().chunks(net.dim()).collect();
    let mut partials = Vec::new();
    for f in &frames {
        d.accept_frames(&net, f).unwrap();
        partials.push(d.partial(&vocab()).text);
    }
    // After AY the word in progress is shown; after R the next word is on its way.
    assert_eq!(partials[0], "I");
    assert!(partials[2].starts_with("I "), "{partials:?}");
    let fin = d.finish(&vocab());
    assert_eq!(fin.text, "I READ");
    assert_eq!(partials.last().unwrap(), &fin.text);
    let fd = d.options().frame_duration;
    assert_eq!(fin.words[0].start, 0.0);
    assert_eq!(fin.words[0].end, fd);
    assert_eq!(fin.words[1].start, 2.0 * fd);
    assert_eq!(fin.words[1].end, 5.0 * fd);
    assert!(fin
        .words
        .iter()
        .all(|w| w.confidence > 0.5 && w.confidence <= 1.0));
    assert_eq!(fin.tokens.len(), 4);
}

#[test]
fn word_hotwords_boost_a_word() {
    let list = parse_hotwords("READ :4.0\n").unwrap();
    let plain = graph(RED_LEX, Some(HOMOPHONES_ARPA), WordScoring::default());
    let boosted = Arc::new(
        WordGraph::new(
            lexicon(RED_LEX),
            Some(lm(HOMOPHONES_ARPA)),
            WordScoring::default(),
            Some((&list, 2.0)),
        )
        .unwrap(),
    );
    let net = spell(&[Some("R"), Some("EH"), Some("D"), None]);
    assert_eq!(decode(&net, net.frames(), opts(plain, 4)).text, "RED");
    assert_eq!(decode(&net, net.frames(), opts(boosted, 4)).text, "READ");
    // A hotword outside the lexicon is a named error.
    let list = parse_hotwords("BLUE\n").unwrap();
    let e = WordGraph::new(
        lexicon(RED_LEX),
        None,
        WordScoring::default(),
        Some((&list, 2.0)),
    )
    .unwrap_err();
    assert!(e.to_string().contains("BLUE"), "{e}");
}

#[test]
fn bpe_words_are_spelled_with_the_models_pieces() {
    // In merge order, as sentencepiece BPE numbers its pieces.
    let pieces = [
        "<blk>", "▁R", "▁RE", "▁I", "D", "AD", "▁", "R", "E", "A", "I",
    ];
    let vocab = Vocab::new(pieces.map(String::from).to_vec());
    assert_eq!(vocab.encode_bpe_word("RED").unwrap(), vec![2, 4]);
    assert_eq!(vocab.encode_bpe_word("READ").unwrap(), vec![2, 5]);
    assert_eq!(vocab.encode_bpe_word("I").unwrap(), vec![3]);
    let mut lex = Lexicon::new();
    for w in ["I", "RED", "READ"] {
        lex.add_spelled(w, |w| vocab.encode_bpe_word(w)).unwrap();
    }
    let g = Arc::new(
        WordGraph::new(lex, Some(lm(HOMOPHONES_ARPA)), WordScoring::default(), None).unwrap(),
    );
    let net = TableTransducer::spelling(pieces.len(), &[Some(3), Some(2), Some(5), None]);
    let mut d = Decoder::new(&net, opts(g, 4)).unwrap();
    d.accept_frames(&net, net.frames()).unwrap();
    assert_eq!(d.finish(&vocab).text, "I READ");
}

#[test]
fn lexicon_units_must_fit_the_model() {
    let g = graph(RED_LEX, None, WordScoring::default());
    let net = TableTransducer::spelling(3, &[None]); // too small for the lexicon's units
    let e = Decoder::new(&net, opts(g, 4)).err().unwrap();
    assert!(e.to_string().contains("lexicon unit"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Any chunking of the frames gives the same partials at chunk ends and the same final.
    #[test]
    fn chunked_equals_offline(seed in 0u64..1000, cuts in proptest::collection::vec(1usize..7, 1..10)) {
        let net = RandomTransducer::new(UNITS.len(), 16, 1.0, seed);
        let frames = net.random_frames(40, seed + 1);
        let g = graph(SIX_WORDS,
                      Some(HOMOPHONES_ARPA), WordScoring::default());
        // Half the cases with LODR, whose term depends on each hypothesis' previous token.
        let g = match seed % 2 {
            0 => lodr_graph(SIX_WORDS,
                            HOMOPHONES_ARPA, TokenBigram::new(UNITS.len(), bigram_table(seed)).unwrap(), 0.3),
            _ => g,
        };
        let dim = TransducerNet::encoder_dim(&net);
        let offline = decode(&net, &frames, opts(g.clone(), 4));
        let mut d = Decoder::new(&net, opts(g, 4)).unwrap();
        let (mut pos, mut i) = (0, 0);
        while pos < 40 {
            let n = cuts[i % cuts.len()].min(40 - pos);
            d.accept_frames(&net, &frames[pos * dim..(pos + n) * dim]).unwrap();
            pos += n;
            i += 1;
        }
        prop_assert_eq!(d.finish(&vocab()), offline);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// The minimum-Bayes-risk final result is one of the listed alternatives (the same
    /// distinct texts it chooses among), a sharp posterior picks the likeliest text, and
    /// chunking does not change it.
    #[test]
    fn mbr_chooses_among_the_alternatives(seed in 0u64..1000, scale in 0.2f32..4.0) {
        let net = RandomTransducer::new(UNITS.len(), 16, 0.5, seed);
        let frames = net.random_frames(30, seed + 1);
        let g = graph("I AY\nRED R EH D\nREAD R EH D\nBED B EH D\nCAB K AH B\nA AH\nDAB D AH B\n",
                      Some(HOMOPHONES_ARPA), WordScoring::default());
        let with = |mbr_scale: f32| DecoderOptions { alternatives: 50, mbr_scale, ..opts(g.clone(), 8) };
        let t = decode(&net, &frames, with(scale));
        prop_assert!(!t.alternatives.is_empty());
        prop_assert!(t.alternatives.iter().any(|a| a.text == t.text), "{} not in {:?}", t.text, t.alternatives);
        for w in t.alternatives.windows(2) {
            prop_assert!(w[0].score >= w[1].score && w[0].text != w[1].text);
        }
        let sharp = decode(&net, &frames, with(1e4));
        prop_assert_eq!(&sharp.text, &sharp.alternatives[0].text);
        let dim = TransducerNet::encoder_dim(&net);
        let mut d = Decoder::new(&net, with(scale)).unwrap();
        for chunk in frames.chunks(7 * dim) {
            d.accept_frames(&net, chunk).unwrap();
        }
        prop_assert_eq!(d.finish(&vocab()), t);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// A score beam leaves no hypothesis more than its margin below the best after a frame,
    /// does not depend on chunking, and a margin wider than any gap changes nothing.
    #[test]
    fn score_beam_bounds_the_beam(seed in 0u64..1000, margin in 0.5f32..8.0) {
        let net = RandomTransducer::new(UNITS.len(), 16, 0.5, seed);
        let frames = net.random_frames(30, seed + 1);
        let g = graph(SIX_WORDS,
                      Some(HOMOPHONES_ARPA), WordScoring::default());
        let with = |score_beam: f32| DecoderOptions { score_beam, ..opts(g.clone(), 16) };
        let dim = TransducerNet::encoder_dim(&net);
        let mut d = Decoder::new(&net, with(margin)).unwrap();
        for f in frames.chunks(dim) {
            d.accept_frames(&net, f).unwrap();
            let hyps = d.hypotheses();
            let best = hyps[0].score;
            prop_assert!(hyps.iter().all(|h| h.score >= best - margin), "{:?}", hyps.iter().map(|h| h.score).collect::<Vec<_>>());
        }
        prop_assert_eq!(d.finish(&vocab()), decode(&net, &frames, with(margin)));
        prop_assert_eq!(decode(&net, &frames, with(1e9)), decode(&net, &frames, with(f32::INFINITY)));
    }
}

/// Without MBR the final text is the best path's, whatever the alternatives say; with it the
/// choice can differ, and it never has more expected errors under its own posteriors (checked
/// in `mbr.rs`). Here: off means the plain best path.
#[test]
fn mbr_off_is_the_best_path() {
    let net = RandomTransducer::new(UNITS.len(), 16, 0.5, 3);
    let frames = net.random_frames(30, 4);
    let g = graph(SIX_WORDS, Some(HOMOPHONES_ARPA), WordScoring::default());
    let plain = decode(&net, &frames, opts(g.clone(), 8));
    let listed = decode(
        &net,
        &frames,
        DecoderOptions {
            alternatives: 5,
            ..opts(g, 8)
        },
    );
    assert_eq!(plain.text, listed.text);
    assert!(plain.alternatives.is_empty());
    assert!(!listed.alternatives.is_empty());
}

/// A BPE-like vocabulary for the spelling tests: ZORG is in no lexicon.
const PIECES: [&str; 7] = ["<blk>", "<unk>", "▁HI", "▁TH", "ERE", "▁ZO", "RG"];

fn spelling_graph(penalty: Option<f32>) -> Arc<WordGraph> {
    let piece = |p: &str| PIECES.iter().position(|u| *u == p);
    let lex = Lexicon::parse_dict("HI ▁HI\nTHERE ▁TH ERE\n", piece, false)
        .unwrap()
        .0;
    let g = WordGraph::new(lex, None, WordScoring::default(), None).unwrap();
    let g = match penalty {
        Some(p) => {
            let vocab = Vocab::new(PIECES.map(String::from).to_vec());
            let sp = sotto_decoder::Spelling::from_vocab(&vocab, 0, p);
            assert_eq!(
                (sp.start.clone(), sp.cont.clone()),
                (vec![2, 3, 5], vec![4, 6])
            );
            g.with_spelling(sp).unwrap()
        }
        None => g,
    };
    Arc::new(g)
}

fn spell_pieces(frames: &[Option<&str>]) -> TableTransducer {
    let ids: Vec<Option<usize>> = frames
        .iter()
        .map(|f| f.map(|p| PIECES.iter().position(|u| *u == p).unwrap()))
        .collect();
    TableTransducer::spelling(PIECES.len(), &ids)
}

fn decode_pieces(net: &TableTransducer, opts: DecoderOptions) -> Transcript {
    let mut d = Decoder::new(net, opts).unwrap();
    d.accept_frames(net, net.frames()).unwrap();
    d.finish(&Vocab::new(PIECES.map(String::from).to_vec()))
}

#[test]
fn words_outside_the_lexicon_are_spelled_with_a_penalty() {
    let frames = [
        Some("▁HI"),
        Some("▁ZO"),
        Some("RG"),
        None,
        Some("▁TH"),
        Some("ERE"),
        None,
    ];
    let net = spell_pieces(&frames);
    for beam in [1, 4] {
        // Without spelling, ZORG cannot be written: its pieces are dropped.
        let t = decode_pieces(&net, opts(spelling_graph(None), beam));
        assert_eq!(t.text, "HI THERE", "beam {beam}");
        // With a small penalty it is spelled piece by piece, with its own timestamps.
        let t = decode_pieces(&net, opts(spelling_graph(Some(1.0)), beam));
        assert_eq!(t.text, "HI ZORG THERE", "beam {beam}");
        assert_eq!(t.words[1].word, "ZORG");
        assert!(t.words[0].end <= t.words[1].start && t.words[1].end <= t.words[2].start);
        // A penalty above what the acoustics pay for it keeps the lexicon only.
        let t = decode_pieces(&net, opts(spelling_graph(Some(50.0)), beam));
        assert_eq!(t.text, "HI THERE", "beam {beam}");
    }
    // A word the lexicon has is never written as a spelled word (the penalty separates them).
    let net = spell_pieces(&[Some("▁TH"), Some("ERE"), None]);
    let t = decode_pieces(&net, opts(spelling_graph(Some(0.0)), 4));
    assert_eq!(t.text, "THERE");
}

#[test]
fn spelled_word_in_progress_shows_in_partials() {
    let net = spell_pieces(&[Some("▁HI"), Some("▁ZO"), Some("RG")]);
    let mut d = Decoder::new(&net, opts(spelling_graph(Some(1.0)), 4)).unwrap();
    d.accept_frames(&net, net.frames()).unwrap();
    let vocab = Vocab::new(PIECES.map(String::from).to_vec());
    assert_eq!(d.partial(&vocab).text, "HI ZORG");
    assert_eq!(d.finish(&vocab).text, "HI ZORG");
}

#[test]
fn spelling_rejects_bad_penalties() {
    let vocab = Vocab::new(PIECES.map(String::from).to_vec());
    for p in [-1.0, f32::NAN, f32::INFINITY] {
        let piece = |x: &str| PIECES.iter().position(|u| *u == x);
        let lex = Lexicon::parse_dict("HI ▁HI\n", piece, false).unwrap().0;
        let g = WordGraph::new(lex, None, WordScoring::default(), None).unwrap();
        let err = g.with_spelling(sotto_decoder::Spelling::from_vocab(&vocab, 0, p));
        assert!(err.unwrap_err().to_string().contains("spelling penalty"));
    }
}

/// Log-probabilities of a token bigram over [`UNITS`], all distinct: every row a distribution
/// over the non-blank units; the blank column is 0, as the recipe writes it.
fn bigram_table(seed: u64) -> Vec<f32> {
    let v = UNITS.len();
    let mut logp = vec![0.0f32; v * v];
    for prev in 0..v {
        let w: Vec<f32> = (1..v)
            .map(|t| 1.0 + ((prev * 7 + t * 3 + seed as usize) % 11) as f32)
            .collect();
        let sum: f32 = w.iter().sum();
        for t in 1..v {
            logp[prev * v + t] = (w[t - 1] / sum).ln();
        }
    }
    logp
}

fn lodr_graph(lex: &str, arpa: &str, b: TokenBigram, weight: f32) -> Arc<WordGraph> {
    let g = WordGraph::new(lexicon(lex), Some(lm(arpa)), WordScoring::default(), None).unwrap();
    Arc::new(g.with_lodr(b, weight).unwrap())
}

#[test]
fn lodr_takes_the_weighted_bigram_off_each_emitted_token() {
    // The spelled path dominates, so both searches emit the same tokens; the scores differ by
    // exactly weight × Σ ln p(token | previous token), the first token's context being blank.
    let table = bigram_table(5);
    let b = TokenBigram::new(UNITS.len(), table.clone()).unwrap();
    let net = spell(&[Some("AY"), None, Some("R"), Some("EH"), Some("D"), None]);
    for beam in [1, 4] {
        let run = |g: Arc<WordGraph>| {
            let mut d = Decoder::new(&net, opts(g, beam)).unwrap();
            d.accept_frames(&net, net.frames()).unwrap();
            d.finish_hypothesis()
        };
        let plain = run(graph(
            RED_LEX,
            Some(HOMOPHONES_ARPA),
            WordScoring::default(),
        ));
        let lodr = run(lodr_graph(RED_LEX, HOMOPHONES_ARPA, b.clone(), 0.5));
        assert_eq!(plain.ids(), lodr.ids());
        assert_eq!(plain.ids().len(), 4);
        let (mut prev, mut sum) = (0, 0.0);
        for t in plain.ids() {
            sum += table[prev * UNITS.len() + t];
            prev = t;
        }
        let want = plain.score - 0.5 * sum;
        assert!(
            (lodr.score - want).abs() < 1e-3,
            "beam {beam}: score {} with LODR, want {want} ({} - 0.5 × {sum})",
            lodr.score,
            plain.score
        );
    }
}

#[test]
fn lodr_discounts_a_token_the_training_text_made_likely() {
    // One frame where AY (the word I) is slightly likelier than AH (the word A), and an LM that
    // prefers neither: the transducer's choice stands. A bigram in which AY is the usual token
    // and AH a rare one takes AY's advantage back, and A wins.
    let arpa = "\\data\\\nngram 1=5\n\n\\1-grams:\n-1.0 </s>\n-99 <s>\n-1.0 I\n-1.0 A\n-2.0 <unk>\n\n\\end\\\n";
    let lex = "I AY\nA AH\n";
    let mut row = vec![-5.0f32; UNITS.len()];
    (row[0], row[unit("AY").unwrap()], row[unit("AH").unwrap()]) = (0.0, 5.0, 4.5);
    let mut last = vec![-5.0f32; UNITS.len()];
    last[0] = 5.0;
    let net = TableTransducer::new(UNITS.len(), &[row, last]);
    let g = graph(lex, Some(arpa), WordScoring::default());
    assert_eq!(decode(&net, net.frames(), opts(g, 4)).text, "I");
    let v = UNITS.len();
    let mut logp = vec![(0.02f32).ln(); v * v];
    for prev in 0..v {
        logp[prev * v] = 0.0;
        logp[prev * v + unit("AY").unwrap()] = (0.8f32).ln();
    }
    let b = TokenBigram::new(v, logp).unwrap();
    let g = lodr_graph(lex, arpa, b.clone(), 0.5);
    assert_eq!(decode(&net, net.frames(), opts(g, 4)).text, "A");
    // Weight 0 is the plain search.
    let g = lodr_graph(lex, arpa, b, 0.0);
    assert!(g.lodr().is_none());
    assert_eq!(decode(&net, net.frames(), opts(g, 4)).text, "I");
}

#[test]
fn lodr_rejects_bad_tables_and_weights() {
    let v = UNITS.len();
    let e = TokenBigram::new(v, vec![0.0; v * v - 1]).unwrap_err();
    assert!(
        e.to_string().contains("values for a vocabulary of 8"),
        "{e}"
    );
    let mut bad = vec![-1.0; v * v];
    bad[v + 2] = 0.5;
    let e = TokenBigram::new(v, bad).unwrap_err();
    assert!(e.to_string().contains("(1, 2)"), "{e}");
    let mut nan = vec![-1.0; v * v];
    nan[3] = f32::NAN;
    assert!(TokenBigram::new(v, nan).is_err());
    let table = bigram_table(1);
    for w in [-0.1, f32::INFINITY, f32::NAN] {
        let g = WordGraph::new(lexicon(RED_LEX), None, WordScoring::default(), None).unwrap();
        let e = g
            .with_lodr(TokenBigram::new(v, table.clone()).unwrap(), w)
            .unwrap_err();
        assert!(e.to_string().contains("LODR weight"), "{e}");
    }
    // A bigram over another vocabulary than the model's is refused when the decoder is built.
    let small = TokenBigram::new(3, vec![-1.0; 9]).unwrap();
    let g = WordGraph::new(lexicon(RED_LEX), None, WordScoring::default(), None).unwrap();
    let g = Arc::new(g.with_lodr(small, 0.2).unwrap());
    let net = spell(&[Some("AY")]);
    let e = Decoder::new(&net, opts(g, 4)).err().unwrap();
    assert!(
        e.to_string().contains("LODR token bigram over 3 tokens"),
        "{e}"
    );
}
