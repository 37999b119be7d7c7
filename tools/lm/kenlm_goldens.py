#!/usr/bin/env python3
"""KenLM parity goldens for sotto's n-gram LM (decoder/tests/ngram_kenlm.rs).

KenLM (PyPI `kenlm`, query side) scores the ARPA files the repository carries
(decoder/tests/data/ngram/small.arpa, estimated by kn_reference.py with pruning and <unk>;
handmade.arpa, hand-written with positive/absent backoffs and a trigram whose suffix bigram is
missing) and writes decoder/tests/data/ngram/kenlm_goldens.json:
  * for many contexts (every n-gram of the model below the top order as a context, from the null
    context or <s>; every word after <s>; random contexts with OOV words) the log10 probability
    of every vocabulary word, of </s> and of an OOV word;
  * full-sentence scores (<s> … </s>) of kitchen.txt and eval.txt;
  * perplexity of eval.txt with SRILM's convention (OOV words skipped, the context restarting
    after them; </s> scored).
With --sotto BIN it also builds a 3-gram from kitchen.txt with `sotto lm build`, checks that
KenLM reads the ARPA it writes and gives every n-gram the probability of the Python reference
(kn_kitchen3.json) within 1e-5, and records KenLM's sentence scores under that model.

Setup:  python3 -m venv tools/lm/.venv && tools/lm/.venv/bin/pip install kenlm
Run:    tools/lm/.venv/bin/python tools/lm/kenlm_goldens.py --sotto target/release/sotto
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

import kenlm

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "..", "decoder", "tests", "data", "ngram"))
OOV = "zebra"


def read_lines(name):
    with open(os.path.join(DATA, name)) as f:
        return f.read().splitlines()


def arpa_ngrams(path):
    """(order, unigram words in file order, all n-grams as tuples)."""
    words, grams, k, order = [], [], 0, 0
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("ngram "):
                order = max(order, int(line[6:].split("=")[0]))
            elif line.startswith("\\") and line.endswith("-grams:"):
                k = int(line[1:].split("-")[0])
            elif line.startswith("\\"):
                k = 0
            elif line and k:
                f_ = line.split()
                g = tuple(f_[1 : 1 + k])
                grams.append(g)
                if k == 1:
                    words.append(g[0])
    return order, words, grams


def state_after(m, start, context):
    s = kenlm.State()
    if start == "bos":
        m.BeginSentenceWrite(s)
    else:
        m.NullContextWrite(s)
    for w in context:
        out = kenlm.State()
        m.BaseScore(s, w, out)
        s = out
    return s


def scores_after(m, start, context, queries):
    s = state_after(m, start, context)
    out = kenlm.State()
    return [m.BaseScore(s, w, out) for w in queries]


def srilm_perplexity(m, lines):
    logp, words, oov, sents = 0.0, 0, 0, 0
    for line in lines:
        toks = [t for t in line.split() if t not in ("<s>", "</s>")]
        if not toks:
            continue
        sents += 1
        s = kenlm.State()
        m.BeginSentenceWrite(s)
        for w in toks:
            words += 1
            out = kenlm.State()
            if w in m:
                logp += m.BaseScore(s, w, out)
                s = out
            else:
                oov += 1
                s = kenlm.State()
                m.NullContextWrite(s)
        out = kenlm.State()
        logp += m.BaseScore(s, "</s>", out)
    ppl = 10 ** (-logp / (words - oov + sents))
    return {"log10_prob": logp, "words": words, "oov": oov, "sentences": sents, "ppl": ppl}


def arpa_goldens(name, rng):
    path = os.path.join(DATA, name)
    m = kenlm.Model(path)
    order, vocab, grams = arpa_ngrams(path)
    queries = vocab + [OOV]
    contexts = []
    seen = set()

    def add(start, ctx):
        key = (start, tuple(ctx))
        if key in seen:
            return
        seen.add(key)
        contexts.append({"start": start, "context": list(ctx),
                         "scores": scores_after(m, start, ctx, queries)})

    add("null", [])
    add("bos", [])
    for g in grams:
        if len(g) >= order:
            continue
        if g[0] == "<s>":
            add("bos", g[1:])
        else:
            add("null", g)
    for w in vocab:
        if w != "<s>":
            add("bos", [w])
    pool = [w for w in vocab if w != "<s>"] + [OOV]
    for _ in range(60):
        ctx = [rng.choice(pool) for _ in range(rng.randint(1, 4))]
        add(rng.choice(["null", "bos"]), ctx)
    sentences = read_lines("kitchen.txt") + read_lines("eval.txt")
    return {
        "arpa": name,
        "order": order,
        "queries": queries,
        "contexts": contexts,
        "sentences": [{"text": s, "score": m.score(s, bos=True, eos=True)}
                      for s in sentences if s.strip()],
        "perplexity": srilm_perplexity(m, read_lines("eval.txt")),
    }


def estimator_check(sotto):
    """sotto lm build → ARPA → KenLM; probabilities equal to the Python reference."""
    ref = json.load(open(os.path.join(DATA, "kn_kitchen3.json")))
    with tempfile.TemporaryDirectory() as tmp:
        arpa = os.path.join(tmp, "k3.arpa")
        subprocess.run([sotto, "lm", "build", os.path.join(DATA, "kitchen.txt"), "--order", "3",
                        "-o", os.path.join(tmp, "k3.bin"), "--arpa", arpa], check=True)
        m = kenlm.Model(arpa)
        worst = 0.0
        n = 0
        for rows in ref["ngrams"]:
            for g, p, _ in rows:
                g = g.split(" ")
                if g == ["<s>"]:
                    continue
                start, ctx = ("bos", g[1:-1]) if g[0] == "<s>" else ("null", g[:-1])
                got = scores_after(m, start, ctx, [g[-1]])[0]
                worst = max(worst, abs(got - p))
                n += 1
        print(f"estimator ARPA read by KenLM: {n} n-grams, max |KenLM - reference| = {worst:.2e}")
        if worst > 1e-5:
            sys.exit("KenLM disagrees with the reference estimator on sotto's ARPA")
        sentences = read_lines("eval.txt") + read_lines("kitchen.txt")[:20]
        return {
            "text": "kitchen.txt",
            "order": 3,
            "max_abs_diff_vs_reference": worst,
            "sentences": [{"text": s, "score": m.score(s, bos=True, eos=True)}
                          for s in sentences if s.strip()],
            "perplexity": srilm_perplexity(m, read_lines("eval.txt")),
        }


def rounded(x):
    """Floats to 7 decimals (KenLM computes in float32; the tests allow 1e-4)."""
    if isinstance(x, float):
        return round(x, 7)
    if isinstance(x, list):
        return [rounded(v) for v in x]
    if isinstance(x, dict):
        return {k: rounded(v) for k, v in x.items()}
    return x


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sotto", help="sotto binary, to check the estimator's ARPA with KenLM")
    args = ap.parse_args()
    rng = random.Random(11)
    out = {"kenlm_version": getattr(kenlm, "__version__", "0.3.0"),
           "models": [arpa_goldens(n, rng) for n in ["small.arpa", "handmade.arpa"]]}
    if args.sotto:
        out["estimated"] = estimator_check(args.sotto)
    path = os.path.join(DATA, "kenlm_goldens.json")
    with open(path, "w") as f:
        json.dump(rounded(out), f)
    for m in out["models"]:
        print(f"{m['arpa']}: {len(m['contexts'])} contexts x {len(m['queries'])} words, "
              f"perplexity {m['perplexity']['ppl']:.3f}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
