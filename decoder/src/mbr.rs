//! Minimum-Bayes-risk choice of the final result among the beam's distinct texts.
//!
//! The search's best path maximizes the probability of the whole sentence; the word error rate
//! counts words. Choosing, among the few most likely texts, the one with the least expected
//! word edit distance to all of them (weighted by their posteriors) trades a little sentence
//! probability for fewer expected word errors (Goel & Byrne 2000, "Minimum Bayes-risk automatic
//! speech recognition"; Kaldi's `lattice-mbr-decode` does the same over a lattice).

/// How many of the most likely texts may be chosen.
pub(crate) const CANDIDATES: usize = 10;
/// How many of the most likely texts the expected distance is taken over.
pub(crate) const EVIDENCE: usize = 50;

/// One distinct text of the beam: its log score (summed over the hypotheses that spell it)
/// and its units (word ids, or tokens in token search).
pub(crate) struct Entry {
    pub score: f32,
    pub units: Vec<u64>,
}

/// Index of the entry with the least expected edit distance to all entries, among the first
/// [`CANDIDATES`]. `entries` are best first; posteriors are `softmax(scale × score)`. Ties
/// keep the earlier (more likely) entry, so a scale that makes one text certain returns it.
pub(crate) fn choose(entries: &[Entry], scale: f32) -> usize {
    if entries.len() < 2 {
        return 0;
    }
    let top = entries
        .iter()
        .map(|e| e.score)
        .fold(f32::NEG_INFINITY, f32::max);
    let mut post: Vec<f64> = entries
        .iter()
        .map(|e| f64::from(scale * (e.score - top)).exp())
        .collect();
    let z: f64 = post.iter().sum();
    post.iter_mut().for_each(|p| *p /= z);
    // The beam's texts share most of a long segment: a prefix and a suffix common to all do
    // not change any distance, so only the parts between are compared (a 10-minute segment
    // would otherwise cost seconds).
    let first = &entries[0].units;
    let prefix = entries.iter().fold(first.len(), |n, e| {
        n.min(
            first
                .iter()
                .zip(&e.units)
                .take_while(|(a, b)| a == b)
                .count(),
        )
    });
    let suffix = entries.iter().fold(first.len() - prefix, |n, e| {
        let rest = &e.units[prefix.min(e.units.len())..];
        n.min(
            first[prefix..]
                .iter()
                .rev()
                .zip(rest.iter().rev())
                .take_while(|(a, b)| a == b)
                .count(),
        )
    });
    let core = |u: &[u64]| -> std::ops::Range<usize> { prefix..u.len() - suffix };
    let mut row = Vec::new();
    let mut best = (0, f64::INFINITY);
    for (j, cand) in entries.iter().take(CANDIDATES).enumerate() {
        let c = &cand.units[core(&cand.units)];
        let mut risk = 0.0;
        for (e, p) in entries.iter().zip(&post) {
            // Pairs that barely count are skipped: their distance cannot change the choice
            // by more than p × the longest length.
            if *p > 1e-9 {
                risk += p * edit_distance(c, &e.units[core(&e.units)], &mut row) as f64;
            }
        }
        if risk < best.1 - 1e-9 {
            best = (j, risk);
        }
    }
    best.0
}

/// Levenshtein distance (substitutions, deletions, insertions cost 1), one row of work space.
pub(crate) fn edit_distance(a: &[u64], b: &[u64], row: &mut Vec<usize>) -> usize {
    row.clear();
    row.extend(0..=b.len());
    for (i, x) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = (diag + usize::from(x != y)).min(up + 1).min(row[j] + 1);
            diag = up;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(score: f32, units: &[u64]) -> Entry {
        Entry {
            score,
            units: units.to_vec(),
        }
    }

    /// A small deterministic generator (a 64-bit LCG's high bits).
    fn lcg(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 33
        }
    }

    /// The textbook definition, by full matrix.
    fn reference_distance(a: &[u64], b: &[u64]) -> usize {
        let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for (i, r) in d.iter_mut().enumerate() {
            r[0] = i;
        }
        d[0] = (0..=b.len()).collect();
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let sub = d[i - 1][j - 1] + usize::from(a[i - 1] != b[j - 1]);
                d[i][j] = sub.min(d[i - 1][j] + 1).min(d[i][j - 1] + 1);
            }
        }
        d[a.len()][b.len()]
    }

    #[test]
    fn edit_distance_equals_the_full_matrix() {
        let mut row = Vec::new();
        let mut next = lcg(7);
        for _ in 0..500 {
            let a: Vec<u64> = (0..next() % 9).map(|_| next() % 4).collect();
            let b: Vec<u64> = (0..next() % 9).map(|_| next() % 4).collect();
            assert_eq!(
                edit_distance(&a, &b, &mut row),
                reference_distance(&a, &b),
                "{a:?} {b:?}"
            );
        }
    }

    #[test]
    fn a_consensus_text_beats_a_slightly_more_likely_outlier() {
        // "a b c" is the single most likely text, but three texts close to "a x c" hold more
        // mass between them: "a x c" is 1 from "a b c" and from the others, "a b c" is 1 from
        // "a x c" and 2 from the two variants.
        let entries = [
            e(-1.0, &[1, 2, 3]),
            e(-1.1, &[1, 9, 3]),
            e(-1.2, &[1, 9, 3, 4]),
            e(-1.2, &[5, 9, 3]),
        ];
        assert_eq!(choose(&entries, 1.0), 1);
        // A sharp posterior makes the most likely text certain.
        assert_eq!(choose(&entries, 100.0), 0);
    }

    /// The choice over trimmed texts equals the choice by full edit distances.
    #[test]
    fn common_prefix_and_suffix_do_not_change_the_choice() {
        let mut next = lcg(11);
        for _ in 0..300 {
            let head: Vec<u64> = (0..next() % 5).map(|_| next() % 3).collect();
            let tail: Vec<u64> = (0..next() % 5).map(|_| next() % 3).collect();
            let entries: Vec<Entry> = (0..1 + next() % 12)
                .map(|_| {
                    let mid: Vec<u64> = (0..next() % 5).map(|_| next() % 3).collect();
                    let units: Vec<u64> = head.iter().chain(&mid).chain(&tail).copied().collect();
                    e(-((next() % 100) as f32) / 30.0, &units)
                })
                .collect();
            let mut entries = entries;
            entries.sort_by(|a, b| b.score.total_cmp(&a.score));
            let scale = 0.5 + (next() % 4) as f32;
            // Brute force: full distances, the same posteriors and tie rule.
            let top = entries[0].score;
            let post: Vec<f64> = entries
                .iter()
                .map(|x| f64::from(scale * (x.score - top)).exp())
                .collect();
            let z: f64 = post.iter().sum();
            let mut want = (0, f64::INFINITY);
            for (j, c) in entries.iter().take(CANDIDATES).enumerate() {
                let r: f64 = entries
                    .iter()
                    .zip(&post)
                    .map(|(x, p)| p / z * reference_distance(&c.units, &x.units) as f64)
                    .sum();
                if r < want.1 - 1e-9 {
                    want = (j, r);
                }
            }
            let units: Vec<&Vec<u64>> = entries.iter().map(|x| &x.units).collect();
            assert_eq!(choose(&entries, scale), want.0, "{units:?}");
        }
    }

    #[test]
    fn one_entry_or_equal_texts_choose_the_first() {
        assert_eq!(choose(&[e(-3.0, &[1])], 1.0), 0);
        assert_eq!(choose(&[e(-1.0, &[1, 2]), e(-1.0, &[1, 2])], 1.0), 0);
    }

    #[test]
    fn only_the_first_candidates_can_be_chosen() {
        // The best consensus is the last entry, outside the candidates: a candidate wins.
        let mut entries: Vec<Entry> = (0..CANDIDATES as u64)
            .map(|i| e(-1.0, &[100 + i, 7]))
            .collect();
        entries.push(e(-1.0, &[7]));
        let c = choose(&entries, 1.0);
        assert!(c < CANDIDATES, "{c}");
    }
}
