//! Pieces → words, timestamps, confidences and the token table.

use sotto_decoder::toy::TableTransducer;
use sotto_decoder::{Decoder, DecoderError, DecoderOptions, Token, Transcript, Vocab};

fn vocab() -> Vocab {
    Vocab::new(
        ["<blk>", "▁the", "▁ca", "t", "s", "▁", "'", "▁sat"]
            .map(String::from)
            .to_vec(),
    )
}

fn tok(id: usize, frame: usize, p: f32) -> Token {
    Token {
        id,
        frame,
        logprob: p.ln(),
    }
}

#[test]
fn words_times_and_confidence() {
    let tokens = [
        tok(1, 3, 0.9),
        tok(2, 10, 0.5),
        tok(3, 12, 0.8),
        tok(6, 13, 1.0),
        tok(4, 15, 0.4),
    ];
    let t = Transcript::from_tokens(&tokens, &vocab(), 0.04);
    assert_eq!(t.text, "the cat's");
    assert_eq!(t.words.len(), 2);
    let (w0, w1) = (&t.words[0], &t.words[1]);
    assert_eq!(w0.word, "the");
    assert!((w0.start - 0.12).abs() < 1e-6 && (w0.end - 0.16).abs() < 1e-6);
    assert!((w0.confidence - 0.9).abs() < 1e-6);
    assert_eq!(w1.word, "cat's");
    assert!((w1.start - 0.40).abs() < 1e-6 && (w1.end - 0.64).abs() < 1e-6);
    // Geometric mean of 0.5, 0.8, 1.0, 0.4.
    let gm = (0.5f32 * 0.8 * 1.0 * 0.4).powf(0.25);
    assert!(
        (w1.confidence - gm).abs() < 1e-6,
        "{} vs {gm}",
        w1.confidence
    );
    assert_eq!(t.tokens[1].piece, "▁ca");
    assert!((t.tokens[1].time - 0.4).abs() < 1e-6 && (t.tokens[1].prob - 0.5).abs() < 1e-6);
}

#[test]
fn bare_markers_and_leading_pieces() {
    // "s" without a marker first, then a bare "▁" that starts the next word.
    let tokens = [
        tok(4, 0, 1.0),
        tok(5, 2, 0.5),
        tok(3, 3, 0.5),
        tok(5, 4, 1.0),
        tok(7, 6, 1.0),
    ];
    let t = Transcript::from_tokens(&tokens, &vocab(), 0.04);
    assert_eq!(t.text, "s t sat");
    // The bare marker belongs to the word it opens (start at its frame).
    assert!((t.words[1].start - 0.08).abs() < 1e-6);
    assert!((t.words[1].confidence - 0.5).abs() < 1e-6);
    assert_eq!(
        Transcript::from_tokens(&[], &vocab(), 0.04),
        Transcript::default()
    );
    let unknown = Transcript::from_tokens(&[tok(99, 0, 1.0)], &vocab(), 0.04);
    assert_eq!(unknown.tokens[0].piece, "<unk:99>");
}

#[test]
fn serializes_to_json() {
    let t = Transcript::from_tokens(&[tok(7, 5, 1.0)], &vocab(), 0.04);
    let v = serde_json::to_value(&t).unwrap();
    assert_eq!(v["text"], "sat");
    assert_eq!(v["words"][0]["word"], "sat");
    assert!((v["words"][0]["start"].as_f64().unwrap() - 0.2).abs() < 1e-6);
    assert!(v["words"][0]["end"].is_number() && v["words"][0]["confidence"].is_number());
}

#[test]
fn decoder_transcripts() {
    let net = TableTransducer::spelling(8, &[Some(7), None, Some(2), Some(3), None]);
    let opts = DecoderOptions {
        frame_duration: 0.03,
        ..Default::default()
    };
    let mut dec = Decoder::new(&net, opts).unwrap();
    dec.accept_frames(&net, &net.frames()[..8]).unwrap();
    assert_eq!(dec.partial(&vocab()).text, "sat");
    dec.accept_frames(&net, &net.frames()[8..]).unwrap();
    let t = dec.finish(&vocab());
    assert_eq!(t.text, "sat cat");
    assert!((t.words[1].start - 0.06).abs() < 1e-6 && (t.words[1].end - 0.12).abs() < 1e-6);
    assert!(t
        .words
        .iter()
        .all(|w| w.confidence > 0.9 && w.confidence <= 1.0));
}

#[test]
fn token_table_and_longest_match() {
    let v = Vocab::from_tokens_txt("<blk> 0\n▁the 1\nt 3\n▁ca 2\n").unwrap();
    assert_eq!((v.len(), v.piece(2), v.id("t")), (4, Some("▁ca"), Some(3)));
    assert_eq!(vocab().encode("the cats").unwrap(), vec![1, 2, 3, 4]);
    assert!(matches!(
        vocab().encode("dog"),
        Err(DecoderError::Tokenize { .. })
    ));
    for (bad, line) in [
        ("a 0\nb 0\n", 2),
        ("a x\n", 1),
        ("lonely\n", 1),
        ("a 0\nc 2\n", 0),
    ] {
        match Vocab::from_tokens_txt(bad) {
            Err(DecoderError::TokenTable { line: l, .. }) => assert_eq!(l, line, "{bad:?}"),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}
