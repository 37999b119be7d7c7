//! ARPA text: reading into forward tables and writing a model out.
//!
//! Reading tolerates blank lines, text before `\data\`, CRLF line ends and any run of spaces or
//! tabs between fields; it checks the `\data\` counts against the sections, rejects duplicate
//! n-grams, words that are not unigrams, orders above 5 and malformed numbers (a named
//! [`NgramError`] with the line number). `-99` (or `-inf`) for `<s>` is accepted as is.
//! N-grams whose context or suffix the file lacks are added (see the builder), as KenLM does.

use std::collections::HashMap;
use std::io::{BufRead, Write};

use super::build::{self, OrderTable, Tables, BITS};
use super::query::View;
use super::{NgramError, NgramLm, MAX_ORDER, NO_EXTENSION};

struct Lines<R> {
    r: R,
    buf: Vec<u8>,
    line: usize,
    name: String,
}

impl<R: BufRead> Lines<R> {
    /// Reads the next line (without its end) into the buffer; `false` at the end of input.
    fn advance(&mut self) -> Result<bool, NgramError> {
        self.buf.clear();
        let n = self
            .r
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| NgramError::Io {
                file: self.name.clone(),
                source: e,
            })?;
        if n == 0 {
            return Ok(false);
        }
        self.line += 1;
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        match std::str::from_utf8(&self.buf) {
            Ok(_) => Ok(true),
            Err(_) => Err(NgramError::NotUtf8 {
                file: self.name.clone(),
                line: self.line,
            }),
        }
    }

    /// The current line (valid UTF-8, checked by `advance`).
    fn text(&self) -> &str {
        std::str::from_utf8(&self.buf).unwrap_or("")
    }

    /// The next line, or `None` at the end of input.
    fn next(&mut self) -> Result<Option<&str>, NgramError> {
        Ok(if self.advance()? {
            Some(self.text())
        } else {
            None
        })
    }

    fn syntax(&self, message: impl Into<String>) -> NgramError {
        NgramError::ArpaSyntax {
            file: self.name.clone(),
            line: self.line,
            message: message.into(),
        }
    }

    fn truncated(&self, message: impl Into<String>) -> NgramError {
        NgramError::ArpaTruncated {
            file: self.name.clone(),
            line: self.line,
            message: message.into(),
        }
    }
}

/// A log10 probability or backoff: finite or `-inf`.
fn number(s: &str) -> Option<f32> {
    let v: f32 = s.parse().ok()?;
    (v.is_finite() || v == f32::NEG_INFINITY).then_some(v)
}

/// Reads ARPA text into forward tables.
pub(crate) fn read<R: BufRead>(r: R, name: &str) -> Result<Tables, NgramError> {
    let mut l = Lines {
        r,
        buf: Vec::new(),
        line: 0,
        name: name.to_string(),
    };
    // Header.
    loop {
        match l.next()? {
            None => return Err(l.truncated("no \\data\\ header")),
            Some(s) if s.trim() == "\\data\\" => break,
            Some(_) => {}
        }
    }
    let mut declared: Vec<Option<usize>> = vec![None; MAX_ORDER];
    let mut max_order = 0;
    let first_section = loop {
        if !l.advance()? {
            return Err(l.truncated("no n-gram sections after \\data\\"));
        }
        let s = l.text().trim();
        if s.is_empty() {
            continue;
        }
        if s.starts_with('\\') {
            break s.to_string();
        }
        let Some(rest) = s.strip_prefix("ngram") else {
            return Err(l.syntax(format!("expected `ngram N=COUNT`, got {s:?}")));
        };
        let Some((k, c)) = rest.split_once('=') else {
            return Err(l.syntax(format!("expected `ngram N=COUNT`, got {s:?}")));
        };
        let (Ok(k), Ok(c)) = (k.trim().parse::<usize>(), c.trim().parse::<usize>()) else {
            return Err(l.syntax(format!("bad count line {s:?}")));
        };
        if !(1..=MAX_ORDER).contains(&k) {
            return Err(NgramError::BadOrder {
                file: name.into(),
                order: k,
                max: MAX_ORDER,
            });
        }
        if declared[k - 1].replace(c).is_some() {
            return Err(l.syntax(format!("order {k} counted twice")));
        }
        max_order = max_order.max(k);
    };
    if max_order == 0 {
        return Err(l.syntax("\\data\\ declares no n-gram counts"));
    }
    if let Some(k) = (1..=max_order).find(|&k| declared[k - 1].is_none()) {
        return Err(l.syntax(format!("\\data\\ has no count for order {k}")));
    }
    let order = max_order;
    let cap = |c: usize| c.min(1 << 16);

    let mut words: Vec<String> = Vec::with_capacity(cap(declared[0].unwrap_or(0)));
    let mut ids: HashMap<String, u32> = HashMap::with_capacity(cap(declared[0].unwrap_or(0)));
    let mut uni_prob = Vec::new();
    let mut uni_backoff = Vec::new();
    let mut ngrams: Vec<OrderTable> = Vec::new();
    let mut header = first_section;
    let mut wids = [0u32; MAX_ORDER];
    for k in 1..=order {
        if header != format!("\\{k}-grams:") {
            return Err(l.syntax(format!("expected \\{k}-grams:, got {header:?}")));
        }
        let mut tab = OrderTable::default();
        if k >= 2 {
            let c = cap(declared[k - 1].unwrap_or(0));
            tab.keys.reserve(c);
            tab.prob.reserve(c);
            tab.backoff.reserve(c);
            tab.lines.reserve(c);
        }
        let mut found = 0usize;
        let next_header = loop {
            if !l.advance()? {
                return Err(l.truncated(format!("in the {k}-gram section (no \\end\\)")));
            }
            let line_no = l.line;
            let t = l.text().trim();
            if t.is_empty() {
                continue;
            }
            if t.starts_with('\\') {
                break t.to_string();
            }
            let mut f = t.split_ascii_whitespace();
            let prob = f.next().and_then(number);
            let Some(prob) = prob else {
                return Err(l.syntax(format!("bad log10 probability in {t:?}")));
            };
            let mut n = 0;
            let mut backoff = 0.0f32;
            let mut unigram = "";
            for (i, tok) in f.enumerate() {
                if i < k {
                    if k == 1 {
                        unigram = tok;
                    } else {
                        let Some(&id) = ids.get(tok) else {
                            return Err(NgramError::ArpaUnknownWord {
                                file: name.into(),
                                line: line_no,
                                word: tok.into(),
                            });
                        };
                        wids[i] = id;
                    }
                    n += 1;
                } else if i == k && k < order {
                    backoff = number(tok)
                        .ok_or_else(|| l.syntax(format!("bad log10 backoff in {t:?}")))?;
                } else {
                    return Err(l.syntax(format!(
                        "{} fields in a {k}-gram line of an order-{order} model: {t:?}",
                        i + 2
                    )));
                }
            }
            if n < k {
                return Err(l.syntax(format!("a {k}-gram line with {n} words: {t:?}")));
            }
            found += 1;
            if k == 1 {
                if ids.contains_key(unigram) {
                    return Err(NgramError::ArpaDuplicate {
                        file: name.into(),
                        line: line_no,
                        order: 1,
                        ngram: unigram.into(),
                    });
                }
                if words.len() >= super::binary::MAX_VOCAB {
                    return Err(NgramError::VocabTooLarge {
                        file: name.into(),
                        size: words.len() + 1,
                        max: super::binary::MAX_VOCAB,
                    });
                }
                ids.insert(unigram.to_string(), words.len() as u32);
                words.push(unigram.to_string());
                uni_prob.push(prob);
                uni_backoff.push(backoff);
            } else {
                tab.keys.push(build::pack(&wids[..k]));
                tab.prob.push(prob);
                tab.backoff.push(backoff);
                tab.lines.push(line_no.min(u32::MAX as usize) as u32);
            }
        };
        let d = declared[k - 1].unwrap_or(0);
        if found != d {
            return Err(NgramError::ArpaCountMismatch {
                file: name.into(),
                line: l.line,
                order: k,
                declared: d,
                found,
            });
        }
        if k >= 2 {
            ngrams.push(tab);
        }
        header = next_header;
    }
    if header != "\\end\\" {
        return Err(l.syntax(format!("expected \\end\\, got {header:?}")));
    }
    Ok(Tables {
        order,
        words,
        uni_prob,
        uni_backoff,
        ngrams,
    })
}

/// Formats a log10 value exactly (shortest text that reads back to the same f32).
fn fmt(v: f32) -> String {
    if v == 0.0 {
        "0".into()
    } else {
        format!("{v}")
    }
}

/// The model back in forward tables (the inverse of the builder): for writing ARPA and for
/// pruning a loaded model. N-grams come out sorted by key; backoffs as stored, i.e. log10 values
/// and −0.0 (the builder's extension mark) where no longer n-gram extends the n-gram.
pub(crate) fn tables(lm: &NgramLm) -> Tables {
    let v = View::new(lm.image.bytes(), &lm.lay);
    let order = lm.order();
    let words = (0..lm.vocab_size())
        .map(|id| v.word(id as u32).to_string())
        .collect();
    let uni_prob = v.uni_prob.to_vec();
    let uni_backoff = v.uni_backoff.to_vec();
    let mut ngrams = Vec::with_capacity(order.saturating_sub(1));
    // Walk the reversed trie level by level, keeping each entry's reversed key.
    let mut prev: Vec<u128> = (0..lm.vocab_size() as u128).collect();
    let mut prev_child: &[u32] = v.uni_child;
    for k in 2..=order {
        let lev = &v.levels[k - 2];
        let mut rk = vec![0u128; lev.words.len()];
        for (p, &pk) in prev.iter().enumerate() {
            let (a, z) = (prev_child[p] as usize, prev_child[p + 1] as usize);
            for (r, &w) in rk[a..z].iter_mut().zip(&lev.words[a..z]) {
                *r = (pk << BITS) | w as u128;
            }
        }
        let mut fwd: Vec<(u128, u32)> = rk
            .iter()
            .enumerate()
            .map(|(j, &r)| (build::reverse(r, k), j as u32))
            .collect();
        fwd.sort_unstable();
        let mut t = OrderTable {
            keys: Vec::with_capacity(fwd.len()),
            prob: Vec::with_capacity(fwd.len()),
            backoff: Vec::with_capacity(fwd.len()),
            lines: Vec::new(),
        };
        for &(key, j) in &fwd {
            t.keys.push(key);
            t.prob.push(lev.prob[j as usize]);
            t.backoff.push(if k < order {
                lev.backoff[j as usize]
            } else {
                0.0
            });
        }
        ngrams.push(t);
        prev = rk;
        prev_child = lev.child;
    }
    Tables {
        order,
        words,
        uni_prob,
        uni_backoff,
        ngrams,
    }
}

/// Writes a model as ARPA text.
pub(crate) fn write<W: Write>(lm: &NgramLm, w: W) -> Result<(), NgramError> {
    let io = |e| NgramError::Io {
        file: lm.name.clone(),
        source: e,
    };
    let mut w = std::io::BufWriter::with_capacity(1 << 16, w);
    let t = tables(lm);
    let order = t.order;
    // A backoff is written unless it carries the mark "no longer n-gram" (an extended n-gram
    // with backoff 0 still gets its "0", as before).
    let has_bo = |bo: f32, k: usize| k < order && (bo != 0.0 || bo.to_bits() != NO_EXTENSION);
    writeln!(w, "\\data\\").map_err(io)?;
    writeln!(w, "ngram 1={}", t.words.len()).map_err(io)?;
    for (k, tab) in t.ngrams.iter().enumerate() {
        writeln!(w, "ngram {}={}", k + 2, tab.keys.len()).map_err(io)?;
    }
    writeln!(w, "\n\\1-grams:").map_err(io)?;
    for (id, word) in t.words.iter().enumerate() {
        let (p, bo) = (t.uni_prob[id], t.uni_backoff[id]);
        if has_bo(bo, 1) {
            writeln!(w, "{}\t{word}\t{}", fmt(p), fmt(bo)).map_err(io)?;
        } else {
            writeln!(w, "{}\t{word}", fmt(p)).map_err(io)?;
        }
    }
    let mut line = String::new();
    for (i, tab) in t.ngrams.iter().enumerate() {
        let k = i + 2;
        writeln!(w, "\n\\{k}-grams:").map_err(io)?;
        for ((&key, &p), &bo) in tab.keys.iter().zip(&tab.prob).zip(&tab.backoff) {
            line.clear();
            line.push_str(&fmt(p));
            for i in 0..k {
                line.push(if i == 0 { '\t' } else { ' ' });
                line.push_str(&t.words[build::word_at(key, k, i) as usize]);
            }
            if has_bo(bo, k) {
                line.push('\t');
                line.push_str(&fmt(bo));
            }
            line.push('\n');
            w.write_all(line.as_bytes()).map_err(io)?;
        }
    }
    writeln!(w, "\n\\end\\").map_err(io)?;
    w.flush().map_err(io)?;
    Ok(())
}
