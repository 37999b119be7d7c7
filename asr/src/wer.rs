//! Text normalization and word error rate, as used by `sotto transcribe --ref` (evaluation, not
//! search: the decoder crate does not score).

use serde::Serialize;

/// Normalize text for scoring: upper-case; hyphens, dashes and slashes become spaces; other
/// punctuation is removed, except an apostrophe between two letters/digits (`DON'T`, with
/// `’` read as `'`); whitespace is collapsed to single spaces.
pub fn normalize(text: &str) -> String {
    let chars: Vec<char> = text
        .chars()
        .map(|c| if c == '\u{2019}' { '\'' } else { c })
        .collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        if c.is_alphanumeric() {
            out.extend(c.to_uppercase());
        } else if c == '\''
            && i > 0
            && chars[i - 1].is_alphanumeric()
            && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric())
        {
            out.push('\'');
        } else if c.is_whitespace() || matches!(c, '-' | '\u{2010}'..='\u{2015}' | '/' | '\\' | '_')
        {
            out.push(' ');
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Error counts of a hypothesis against a reference. Add them up over a corpus with `+=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct WerStats {
    /// Reference words replaced by another word.
    pub substitutions: usize,
    /// Reference words missing from the hypothesis.
    pub deletions: usize,
    /// Hypothesis words not in the reference.
    pub insertions: usize,
    /// Number of reference words.
    pub ref_words: usize,
}

impl WerStats {
    /// Substitutions + deletions + insertions.
    pub fn errors(&self) -> usize {
        self.substitutions + self.deletions + self.insertions
    }

    /// Errors / reference words; `None` for an empty reference (undefined).
    pub fn wer(&self) -> Option<f64> {
        (self.ref_words > 0).then(|| self.errors() as f64 / self.ref_words as f64)
    }
}

impl std::ops::AddAssign for WerStats {
    fn add_assign(&mut self, o: Self) {
        self.substitutions += o.substitutions;
        self.deletions += o.deletions;
        self.insertions += o.insertions;
        self.ref_words += o.ref_words;
    }
}

/// One step of a word alignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum EditOp {
    /// Reference and hypothesis word agree.
    Match(String),
    /// Reference word, hypothesis word.
    Substitution(String, String),
    /// Reference word missing from the hypothesis.
    Deletion(String),
    /// Extra hypothesis word.
    Insertion(String),
}

/// Minimum-edit-distance (Levenshtein) alignment of word sequences. Among alignments with
/// the fewest errors, the backtrace prefers match/substitution, then deletion, then insertion.
pub fn align<S: AsRef<str>>(reference: &[S], hypothesis: &[S]) -> (WerStats, Vec<EditOp>) {
    let (n, m) = (reference.len(), hypothesis.len());
    // cost[i][j]: edits to turn reference[..i] into hypothesis[..j].
    let mut cost = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in cost.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, c) in cost[0].iter_mut().enumerate() {
        *c = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let sub = (reference[i - 1].as_ref() != hypothesis[j - 1].as_ref()) as usize;
            cost[i][j] = (cost[i - 1][j - 1] + sub)
                .min(cost[i - 1][j] + 1)
                .min(cost[i][j - 1] + 1);
        }
    }
    let mut ops = Vec::with_capacity(n.max(m));
    let mut stats = WerStats {
        ref_words: n,
        ..Default::default()
    };
    let (mut i, mut j) = (n, m);
    while i > 0 || j > 0 {
        let (r, h) = (
            i.checked_sub(1).map(|k| reference[k].as_ref()),
            j.checked_sub(1).map(|k| hypothesis[k].as_ref()),
        );
        if let (Some(r), Some(h)) = (r, h) {
            let sub = (r != h) as usize;
            if cost[i][j] == cost[i - 1][j - 1] + sub {
                ops.push(if sub == 0 {
                    EditOp::Match(r.into())
                } else {
                    stats.substitutions += 1;
                    EditOp::Substitution(r.into(), h.into())
                });
                i -= 1;
                j -= 1;
                continue;
            }
        }
        if i > 0 && cost[i][j] == cost[i - 1][j] + 1 {
            stats.deletions += 1;
            ops.push(EditOp::Deletion(reference[i - 1].as_ref().into()));
            i -= 1;
        } else {
            stats.insertions += 1;
            ops.push(EditOp::Insertion(hypothesis[j - 1].as_ref().into()));
            j -= 1;
        }
    }
    ops.reverse();
    (stats, ops)
}

/// Normalize both texts, split into words and align them.
pub fn score(reference: &str, hypothesis: &str) -> WerStats {
    let (r, h) = (normalize(reference), normalize(hypothesis));
    let r: Vec<&str> = r.split_whitespace().collect();
    let h: Vec<&str> = h.split_whitespace().collect();
    align(&r, &h).0
}
