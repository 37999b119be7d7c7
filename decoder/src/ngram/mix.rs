//! Static interpolation of backoff models into one backoff model, as SRILM's
//! `ngram -lm A -mix-lm B -lambda λ -write-lm OUT` (N-way).
//!
//! * The vocabulary is the union; a word a component lacks has probability 0 there (so the
//!   mixture of proper models is proper over the union).
//! * The mixture lists the union of the components' n-grams, each with the dynamic mixture
//!   `p(w|h) = Σ λ_i p_i(w|h)`, where `p_i` backs off inside component `i` as ARPA does.
//! * Backoffs are then computed order by order so that every context sums to one:
//!   `bo(h) = (1 − Σ_listed p(w|h)) / (1 − Σ_listed p(w|h'))` with the mixed lower order.
//!   N-grams the union does not list get `bo(h) · p(w|h')` of the mixture instead of the exact
//!   `Σ λ_i p_i(w|h)`: the usual approximation of a static mix.

use super::binary::MAX_VOCAB;
use super::build::{self, OrderTable, Tables};
use super::estimate::{log10_backoff, log10_prob, Model};
use super::{arpa, NgramError, NgramLm, WordId, BOS, MAX_ORDER};

/// One component in the union's word ids: linear probabilities and backoffs over sorted keys.
struct Component {
    n: usize,
    keys: Vec<Vec<u128>>,
    prob: Vec<Vec<f64>>,
    p1: Vec<f64>,
    kept: Vec<Vec<bool>>,
    bo: Vec<Vec<f64>>,
}

impl Component {
    fn new(t: Tables, map: &[WordId], vocab: usize) -> Self {
        let lin = |x: f32| 10f64.powf(x as f64);
        let mut p1 = vec![0.0; vocab];
        let mut bo1 = vec![f64::NAN; vocab];
        for (id, (&p, &b)) in t.uni_prob.iter().zip(&t.uni_backoff).enumerate() {
            p1[map[id] as usize] = lin(p);
            bo1[map[id] as usize] = lin(b);
        }
        let (mut keys, mut prob, mut kept) = (
            vec![Vec::new(), Vec::new()],
            vec![Vec::new(), Vec::new()],
            vec![Vec::new(), Vec::new()],
        );
        let mut bo = vec![Vec::new(), bo1];
        for (i, tab) in t.ngrams.into_iter().enumerate() {
            let k = i + 2;
            let mut rows: Vec<(u128, f64, f64)> =
                (tab.keys.iter().zip(&tab.prob).zip(&tab.backoff))
                    .map(|((&key, &p), &b)| {
                        let ws: Vec<WordId> = build::unpack(key, k)
                            .into_iter()
                            .map(|w| map[w as usize])
                            .collect();
                        (build::pack(&ws), lin(p), lin(b))
                    })
                    .collect();
            rows.sort_unstable_by_key(|r| r.0);
            kept.push(vec![true; rows.len()]);
            keys.push(rows.iter().map(|r| r.0).collect());
            prob.push(rows.iter().map(|r| r.1).collect());
            bo.push(rows.iter().map(|r| r.2).collect());
        }
        Component {
            n: t.order,
            keys,
            prob,
            p1,
            kept,
            bo,
        }
    }
}

/// Mixes `models` with `weights` (positive, summing to 1) into one model of the highest order
/// among them. `name` names the result in messages.
pub(crate) fn mix(models: &[&NgramLm], weights: &[f64], name: &str) -> Result<NgramLm, NgramError> {
    if models.is_empty() || models.len() != weights.len() {
        return Err(NgramError::Options(format!(
            "mixing needs one weight per model ({} models, {} weights)",
            models.len(),
            weights.len()
        )));
    }
    let sum: f64 = weights.iter().sum();
    if weights.iter().any(|&w| !(w > 0.0 && w.is_finite())) || (sum - 1.0).abs() > 1e-6 {
        return Err(NgramError::Options(format!(
            "mixture weights must be positive and sum to 1 (got {weights:?})"
        )));
    }
    // Union vocabulary: the first model's words in its order, then each new word.
    let tables: Vec<Tables> = models.iter().map(|m| arpa::tables(m)).collect();
    let mut words: Vec<String> = Vec::new();
    let mut index = std::collections::HashMap::new();
    let maps: Vec<Vec<WordId>> = tables
        .iter()
        .map(|t| {
            t.words
                .iter()
                .map(|w| {
                    *index.entry(w.clone()).or_insert_with(|| {
                        words.push(w.clone());
                        (words.len() - 1) as WordId
                    })
                })
                .collect()
        })
        .collect();
    let vocab = words.len();
    if vocab > MAX_VOCAB {
        return Err(NgramError::VocabTooLarge {
            file: name.into(),
            size: vocab,
            max: MAX_VOCAB,
        });
    }
    let bos = *index.get(BOS).ok_or(NgramError::MissingMarker {
        file: name.into(),
        word: BOS,
    })?;
    let n = tables
        .iter()
        .map(|t| t.order)
        .max()
        .unwrap_or(1)
        .min(MAX_ORDER);
    let mut comps: Vec<Component> = tables
        .into_iter()
        .zip(&maps)
        .map(|(t, map)| Component::new(t, map, vocab))
        .collect();
    let models: Vec<Model> = comps
        .iter_mut()
        .map(|c| Model {
            n: c.n,
            bos,
            keys: c.keys.iter().map(|k| &k[..]).collect(),
            prob: &c.prob,
            p1: &c.p1,
            kept: &mut c.kept,
            bo: &mut c.bo,
        })
        .collect();
    let dynamic = |ctx: &[WordId], w: WordId| -> f64 {
        models
            .iter()
            .zip(weights)
            .map(|(m, &l)| l * m.p(ctx, w))
            .sum()
    };

    // Mixed probabilities of the union's n-grams.
    let mut p1: Vec<f64> = (0..vocab as WordId).map(|w| dynamic(&[], w)).collect();
    p1[bos as usize] = 1e-99;
    let mut keys: Vec<Vec<u128>> = vec![Vec::new(), Vec::new()];
    let mut prob: Vec<Vec<f64>> = vec![Vec::new(), Vec::new()];
    for k in 2..=n {
        let mut union: Vec<u128> = models
            .iter()
            .filter(|m| k < m.keys.len())
            .flat_map(|m| m.keys[k].iter().copied())
            .collect();
        union.sort_unstable();
        union.dedup();
        let p = union
            .iter()
            .map(|&key| {
                let ws = build::unpack(key, k);
                dynamic(&ws[..k - 1], ws[k - 1])
            })
            .collect();
        keys.push(union);
        prob.push(p);
    }

    // Backoffs, lowest order first: the mixed lower orders they need are final by then.
    let mut kept: Vec<Vec<bool>> = keys.iter().map(|k| vec![true; k.len()]).collect();
    let mut bo: Vec<Vec<f64>> = keys.iter().map(|k| vec![f64::NAN; k.len()]).collect();
    bo[1] = vec![f64::NAN; vocab];
    {
        let mut m = Model {
            n,
            bos,
            keys: keys.iter().map(|k| &k[..]).collect(),
            prob: &prob,
            p1: &p1,
            kept: &mut kept,
            bo: &mut bo,
        };
        for k in 2..=n {
            let ks = m.keys[k];
            let mut i = 0;
            while i < ks.len() {
                let h = build::prefix(ks[i]);
                let j = i + ks[i..]
                    .iter()
                    .take_while(|&&x| build::prefix(x) == h)
                    .count();
                m.renormalize(k, i, j, h);
                i = j;
            }
        }
    }

    // Back to log10 tables.
    let (lg, lbo) = (log10_prob, log10_backoff);
    let mut uni_prob: Vec<f32> = p1.iter().map(|&x| lg(x)).collect();
    uni_prob[bos as usize] = -99.0;
    let uni_backoff = bo[1].iter().map(|&x| lbo(x)).collect();
    let ngrams = (2..=n)
        .map(|k| OrderTable {
            keys: std::mem::take(&mut keys[k]),
            prob: prob[k].iter().map(|&x| lg(x)).collect(),
            backoff: if k < n {
                bo[k].iter().map(|&x| lbo(x)).collect()
            } else {
                vec![0.0; prob[k].len()]
            },
            lines: Vec::new(),
        })
        .collect();
    build::build(
        Tables {
            order: n,
            words,
            uni_prob,
            uni_backoff,
            ngrams,
        },
        name,
    )
}
