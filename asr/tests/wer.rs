//! Normalization and word error rate on hand-checkable cases.

use sotto_asr::wer::{align, normalize, score, EditOp, WerStats};

#[test]
fn normalization() {
    assert_eq!(
        normalize("Hello, world!  It's   fine."),
        "HELLO WORLD IT'S FINE"
    );
    assert_eq!(
        normalize("'Quoted' rock'n'roll don’t"),
        "QUOTED ROCK'N'ROLL DON'T"
    );
    assert_eq!(
        normalize("well-known and/or — yes; Mr. Smith"),
        "WELL KNOWN AND OR YES MR SMITH"
    );
    assert_eq!(normalize("  ...  "), "");
    assert_eq!(normalize("café Ünïcode"), "CAFÉ ÜNÏCODE");
}

fn stats(s: usize, d: usize, i: usize, n: usize) -> WerStats {
    WerStats {
        substitutions: s,
        deletions: d,
        insertions: i,
        ref_words: n,
    }
}

#[test]
fn counts() {
    assert_eq!(score("a b c d", "a x c d e"), stats(1, 0, 1, 4));
    assert_eq!(score("the cat sat", "the sat"), stats(0, 1, 0, 3));
    assert_eq!(score("The cat, sat.", "the CAT sat"), stats(0, 0, 0, 3));
    // Empty hypothesis: everything deleted; empty reference: everything inserted.
    assert_eq!(score("one two three", ""), stats(0, 3, 0, 3));
    assert_eq!(score("", "one two"), stats(0, 0, 2, 0));
    assert_eq!(score("", ""), stats(0, 0, 0, 0));
    assert_eq!(score("a b c d", "x y").wer(), Some(1.0));
    assert_eq!(score("", "x").wer(), None);
    assert_eq!(score("", "").wer(), None);
}

#[test]
fn swapped_words_cost_two() {
    // Several 2-error alignments exist; the backtrace prefers substitutions.
    let s = score("a b", "b a");
    assert_eq!(s, stats(2, 0, 0, 2));
    assert_eq!((s.errors(), s.ref_words), (2, 2));
}

#[test]
fn alignment_ops_and_totals() {
    let (s, ops) = align(&["a", "b", "c"], &["a", "x", "c", "d"]);
    assert_eq!(
        ops,
        vec![
            EditOp::Match("a".into()),
            EditOp::Substitution("b".into(), "x".into()),
            EditOp::Match("c".into()),
            EditOp::Insertion("d".into()),
        ]
    );
    assert_eq!(s, stats(1, 0, 1, 3));
    let mut total = WerStats::default();
    total += s;
    total += score("p q", "p");
    assert_eq!(total, stats(1, 1, 1, 5));
    assert_eq!(total.wer(), Some(0.6));
}
