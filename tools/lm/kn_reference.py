#!/usr/bin/env python3
"""A small, deliberately plain interpolated modified Kneser-Ney estimator (Chen & Goodman 1998,
with the conventions of KenLM's lmplz), written only to check sotto's Rust estimator
(decoder/src/ngram/estimate.rs). Pure Python, no dependencies, quadratic where that is clearer.

Conventions (the same as the Rust doc comment states):
  * each sentence is  <s> w1 .. wm </s>  (one <s>, one </s>); literal <s>/</s> tokens dropped,
    empty sentences skipped; with a fixed vocabulary other words become <unk>; <unk> always in
    the vocabulary (ids: <unk>, <s>, </s>, then words in first-appearance / vocabulary order);
  * adjusted count a(g): raw count if g has the top order or starts with <s>, else the number
    of distinct words v with c(v g) > 0;
  * per order, from the count-of-counts t1..t4 of the adjusted counts (unigram <s> excluded):
      Y = t1/(t1 + 2 t2), D1 = 1 - 2Y t2/t1, D2 = 2 - 3Y t3/t2, D3+ = 3 - 4Y t4/t3,
    and if any is undefined or outside (0, k], the fallback (0.5, 1, 1.5) for the whole order;
  * p(w|h) = (a(hw) - D(a(hw))) / S(h) + gamma(h) p(w|h'),  S(h) = sum_v a(hv),
    gamma(h) = (D1 N1(h) + D2 N2(h) + D3 N3+(h)) / S(h);
    unigrams: p(w) = (a(w) - D(a(w))) / S + gamma / (|V| - 1) over the vocabulary without <s>;
  * count pruning: n-grams with a <= threshold of their order are dropped unless a kept longer
    n-gram has them as prefix or suffix; the backoff of a context that lost n-grams is
    (1 - sum_kept p(w|h)) / (1 - sum_kept p(w|h')), otherwise gamma(h).

Usage: python3 tools/lm/kn_reference.py   (writes goldens into decoder/tests/data/ngram/)
"""

import json
import math
import os
from collections import Counter, defaultdict

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
FALLBACK = (0.5, 1.0, 1.5)
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "decoder", "tests", "data", "ngram")


def discounts(t):
    t1, t2, t3, t4 = t
    if t1 > 0 and t2 > 0 and t3 > 0:
        y = t1 / (t1 + 2 * t2)
        d = [1 - 2 * y * t2 / t1, 2 - 3 * y * t3 / t2, 3 - 4 * y * t4 / t3]
        if all(math.isfinite(d[i]) and 0 < d[i] <= i + 1 for i in range(3)):
            return d, False
    return list(FALLBACK), True


def estimate(lines, order, prune=None, vocab=None):
    words = [UNK, BOS, EOS]
    fixed = vocab is not None
    if fixed:
        for w in vocab:
            if w not in (BOS, EOS) and w not in words:
                words.append(w)
    vocab_set = set(words)
    sents = []
    tokens = 0
    for line in lines:
        toks = [t for t in line.split() if t not in (BOS, EOS)]
        if not toks:
            continue
        tokens += len(toks)
        if fixed:
            toks = [t if t in vocab_set else UNK for t in toks]
        else:
            for t in toks:
                if t not in vocab_set:
                    vocab_set.add(t)
                    words.append(t)
        sents.append([BOS] + toks + [EOS])

    # Raw counts of every window of each length.
    raw = {k: Counter() for k in range(1, order + 1)}
    for s in sents:
        for k in range(1, order + 1):
            for i in range(len(s) - k + 1):
                raw[k][tuple(s[i : i + k])] += 1

    # Adjusted counts.
    adj = {order: dict(raw[order])}
    for k in range(order - 1, 0, -1):
        left = defaultdict(set)
        for g in raw[k + 1]:
            left[g[1:]].add(g[0])
        adj[k] = {g: (c if g[0] == BOS else len(left[g])) for g, c in raw[k].items()}
    for w in words:  # every vocabulary word is a unigram (count 0 if unseen)
        adj[1].setdefault((w,), 0)

    # Discounts.
    disc, fallback, coc = {}, {}, {}
    for k in range(1, order + 1):
        t = [0, 0, 0, 0]
        for g, a in adj[k].items():
            if g == (BOS,):
                continue
            if 1 <= a <= 4:
                t[a - 1] += 1
        coc[k] = t
        disc[k], fallback[k] = discounts(t)

    def D(k, a):
        return 0.0 if a == 0 else disc[k][min(a, 3) - 1]

    # Probabilities.
    prob = {}
    gamma = {}
    uni = {g: a for g, a in adj[1].items() if g != (BOS,)}
    total = sum(uni.values())
    g0 = sum(D(1, a) for a in uni.values()) / total
    for g, a in uni.items():
        prob[g] = (a - D(1, a)) / total + g0 / len(uni)
    prob[(BOS,)] = 0.0
    for k in range(2, order + 1):
        groups = defaultdict(list)
        for g in adj[k]:
            groups[g[:-1]].append(g)
        for h, gs in groups.items():
            s = sum(adj[k][g] for g in gs)
            gamma[h] = sum(D(k, adj[k][g]) for g in gs) / s
            for g in gs:
                a = adj[k][g]
                prob[g] = (a - D(k, a)) / s + gamma[h] * prob[g[1:]]

    # Count pruning with closure.
    def threshold(k):
        if k <= 1 or not prune:
            return 0
        return prune[min(k - 1, len(prune) - 1)]

    kept = {1: set(adj[1])}
    for k in range(order, 1, -1):
        kk = {g for g, a in adj[k].items() if a > threshold(k)}
        if k < order:
            for g in kept[k + 1]:
                kk.add(g[:-1])
                kk.add(g[1:])
        kept[k] = kk

    # Backoffs.
    backoff = {}
    for k in range(2, order + 1):
        groups = defaultdict(list)
        for g in adj[k]:
            groups[g[:-1]].append(g)
        for h, gs in groups.items():
            if all(g in kept[k] for g in gs):
                backoff[h] = gamma[h]
            else:
                num = max(1 - sum(prob[g] for g in gs if g in kept[k]), 0.0)
                den = 1 - sum(prob[g[1:]] for g in gs if g in kept[k])
                backoff[h] = max(num / den, 1e-99) if den > 1e-12 else 1.0

    def lg(x):
        return math.log10(x) if x > 0 else -99.0

    ngrams = []
    for k in range(1, order + 1):
        rows = []
        for g in sorted(kept[k]) if k > 1 else [(w,) for w in words]:
            p = -99.0 if g == (BOS,) else lg(prob[g])
            b = lg(backoff[g]) if (k < order and g in backoff) else None
            rows.append([" ".join(g), p, b])
        ngrams.append(rows)
    return {
        "order": order,
        "prune": prune or [],
        "tokens": tokens,
        "sentences": len(sents),
        "vocab": words,
        "adjusted_counts": [
            sorted([" ".join(g), a] for g, a in adj[k].items()) for k in range(1, order + 1)
        ],
        "count_of_counts": [coc[k] for k in range(1, order + 1)],
        "discounts": [disc[k] for k in range(1, order + 1)],
        "fallback": [fallback[k] for k in range(1, order + 1)],
        "ngrams": ngrams,
    }


def fmt(x):
    return "0" if x == 0 else repr(float(x))


def write_arpa(model, path):
    with open(path, "w") as f:
        f.write("\\data\\\n")
        for k, rows in enumerate(model["ngrams"]):
            f.write(f"ngram {k + 1}={len(rows)}\n")
        for k, rows in enumerate(model["ngrams"]):
            f.write(f"\n\\{k + 1}-grams:\n")
            for g, p, b in rows:
                p = f"{p:.6f}"
                f.write(f"{p}\t{g}\t{b:.6f}\n" if b is not None else f"{p}\t{g}\n")
        f.write("\n\\end\\\n")


def read(name):
    with open(os.path.join(DATA, name)) as f:
        return f.read().splitlines()


CASES = [
    # (golden name, text, order, prune, vocab file)
    ("kn_kitchen3", "kitchen.txt", 3, None, None),
    ("kn_kitchen3_pruned_vocab", "kitchen.txt", 3, [0, 0, 1], "kitchen.vocab"),
    ("kn_garden4_pruned", "garden.txt", 4, [0, 1, 1], None),
    ("kn_commands2_vocab", "commands.txt", 2, None, "commands.vocab"),
    ("kn_commands1", "commands.txt", 1, None, None),
]


def main():
    # kitchen.vocab: the words seen at least twice in kitchen.txt (the rest become <unk>).
    counts = Counter(w for line in read("kitchen.txt") for w in line.split())
    with open(os.path.join(DATA, "kitchen.vocab"), "w") as f:
        for w in sorted(w for w, c in counts.items() if c >= 2):
            f.write(w + "\n")
    for name, text, order, prune, vocab in CASES:
        m = estimate(read(text), order, prune, read(vocab) if vocab else None)
        m.update({"text": text, "vocab_file": vocab})
        with open(os.path.join(DATA, name + ".json"), "w") as f:
            json.dump(m, f, indent=0)
        print(f"{name}: {[len(r) for r in m['ngrams']]} n-grams, discounts {m['discounts']}, "
              f"fallback {m['fallback']}")
    # The ARPA the KenLM parity test uses (6 decimals, as ARPA files usually are).
    m = estimate(read("kitchen.txt"), 3, [0, 0, 1], read("kitchen.vocab"))
    write_arpa(m, os.path.join(DATA, "small.arpa"))
    print("wrote small.arpa")


if __name__ == "__main__":
    main()
