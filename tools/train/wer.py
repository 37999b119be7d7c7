"""Word error rate as `sotto transcribe --ref` counts it, for the recipe's scripts: the normalisation of
`asr/src/wer.rs` (upper case; hyphens, dashes, slashes to spaces; other punctuation dropped except an apostrophe
inside a word) and substitution/deletion/insertion counts of a minimum edit-distance alignment, overall and per
source folder (the first path component: `librispeech/…`, `speechocean762/…`). On a sotto output it gives exactly
the counts of sotto's own last line. Used by `pocketsphinx_dev.py` and `finish.sh`; run in `tools/train`:

    .venv/bin/python wer.py runs/dev_wav/refs_all.tsv HYPS.tsv [--json]
"""

import argparse
import json
import os
import sys
from collections import defaultdict


def normalize(text):
    """The same normalisation as `sotto_asr::wer::normalize`."""
    chars = ["'" if c == "\u2019" else c for c in text]
    out = []
    for i, c in enumerate(chars):
        if c.isalnum():
            out.append(c.upper())
        elif (
            c == "'"
            and i > 0
            and chars[i - 1].isalnum()
            and i + 1 < len(chars)
            and chars[i + 1].isalnum()
        ):
            out.append("'")
        elif c.isspace() or c in "-/\\_" or "\u2010" <= c <= "\u2015":
            out.append(" ")
    return " ".join("".join(out).split())


def align_counts(ref, hyp):
    """(substitutions, deletions, insertions) of a minimum edit-distance alignment."""
    n, m = len(ref), len(hyp)
    # cost, subs, dels, ins per cell; ties prefer fewer total edits only (counts follow the path).
    prev = [(j, 0, 0, j) for j in range(m + 1)]
    for i in range(1, n + 1):
        cur = [(i, 0, i, 0)]
        for j in range(1, m + 1):
            same = ref[i - 1] == hyp[j - 1]
            d = prev[j - 1]
            best = (d[0] + (0 if same else 1), d[1] + (0 if same else 1), d[2], d[3])
            u = prev[j]
            cand = (u[0] + 1, u[1], u[2] + 1, u[3])
            if cand[0] < best[0]:
                best = cand
            l = cur[j - 1]
            cand = (l[0] + 1, l[1], l[2], l[3] + 1)
            if cand[0] < best[0]:
                best = cand
            cur.append(best)
        prev = cur
    return prev[m][1:]


def read_refs(path):
    """[(path relative to the reference file's folder, text)] of a `path<TAB>text` reference TSV."""
    refs = []
    with open(path) as f:
        for line in f:
            if line.strip():
                p, _, text = line.rstrip("\n").partition("\t")
                refs.append((p, text))
    return refs


def read_hyps(path, base):
    """{path relative to `base`: text} of a `path<TAB>text` file such as `sotto transcribe`'s output (its last
    summary line and any line without a tab are skipped)."""
    hyps = {}
    with open(path) as f:
        for line in f:
            if "\t" not in line:
                continue
            p, _, text = line.rstrip("\n").partition("\t")
            # `sotto transcribe` prints paths as given on its command line (relative to the current folder, or
            # absolute); keys are paths relative to the reference file's folder.
            if os.path.isabs(p) or not os.path.exists(os.path.join(base, p)):
                p = os.path.relpath(os.path.realpath(p), os.path.realpath(base))
            hyps[p] = text
    return hyps


def score(refs, hyps):
    """{"all" or source: {"wer", "sub", "del", "ins", "words"}}; a reference without a hypothesis is an error."""
    totals = defaultdict(lambda: [0, 0, 0, 0])  # subs, dels, ins, ref words
    for path, text in refs:
        if path not in hyps:
            raise KeyError(f"{path}: no hypothesis")
        r, h = normalize(text).split(), normalize(hyps[path]).split()
        s, d, i = align_counts(r, h)
        for key in ("all", path.split("/")[0]):
            t = totals[key]
            t[0] += s
            t[1] += d
            t[2] += i
            t[3] += len(r)
    return {
        k: {"wer": 100.0 * (v[0] + v[1] + v[2]) / max(v[3], 1), "sub": v[0], "del": v[1], "ins": v[2], "words": v[3]}
        for k, v in totals.items()
    }


def line(key, v):
    """One summary line: `key: WER x % (errors/words; sub s, del d, ins i)`."""
    return (
        f"{key}: WER {v['wer']:.2f} % ({v['sub'] + v['del'] + v['ins']}/{v['words']}; "
        f"sub {v['sub']}, del {v['del']}, ins {v['ins']})"
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("refs", help="reference TSV (path relative to its folder, TAB, text)")
    ap.add_argument("hyps", help="hypotheses (path TAB text), e.g. the output of sotto transcribe")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = ap.parse_args()
    refs = read_refs(args.refs)
    try:
        summary = score(refs, read_hyps(args.hyps, os.path.dirname(os.path.abspath(args.refs))))
    except KeyError as e:
        sys.exit(f"{args.hyps}: {e.args[0]}")
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        for k, v in summary.items():
            print(line(k, v))


if __name__ == "__main__":
    main()
