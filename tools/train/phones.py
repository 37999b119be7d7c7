"""Phone units: CMUdict (ARPAbet, stress removed) + a G2P for the rest → pronunciation lexicon and a phone tokenizer.

  python phones.py                 # writes runs/data/lexicon.txt (+ lexicon_g2p.txt) + phones.txt, reports coverage
  python phones.py --no-g2p        # CMUdict only (utterances with other words are then dropped by train.py)

The lexicon comes from `cmudict-en-us.dict` inside the PyPI `pocketsphinx` package (BSD-2-Clause, CMU), found
through `pocketsphinx.get_model_path()` or given with --dict. Words are upper-cased (the corpus transcripts are
upper case), stress digits dropped, duplicate variants removed; `WORD(2)` variants become extra lines of the same
word. Training transcripts use each word's first pronunciation.

G2P (--g2p, default on): every train.tsv word outside CMUdict gets one pronunciation. A possessive of a CMUdict word
(`KARA'S`) is the word + S/Z/IH Z; anything else goes through espeak-ng (`apt-get install espeak-ng`; one process,
one word per line, `-v en-us -x`) and ESPEAK_MAP turns its phoneme mnemonics into the 39 phones. These entries are
also written to `lexicon_g2p.txt` (`WORD<TAB>PHONES<TAB>method`). Only train.tsv words get G2P entries: dev.tsv
never feeds the lexicon, so dev words outside CMUdict stay outside it. --g2p-check N (default 200) prints the
G2P's phone error rate against CMUdict on N CMUdict words of train.tsv and on N other CMUdict words (names).

`lexicon.txt` (`WORD<TAB>PH PH ...`, one line per pronunciation, file order = preference) is what the sotto
decoder reads with `--lexicon`; `phones.txt` lists the units in id order (id 0 = `<blk>`).
"""

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = Path(os.environ.get("SOTTO_CORPUS", HERE / "../../../shared/corpus")).resolve()

# The 39 ARPAbet phones of CMUdict (no stress), in a fixed order so ids never depend on the data.
PHONES = ("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH"
          .split())
UNITS = ["<blk>"] + PHONES


def default_dict():
    import pocketsphinx
    return Path(pocketsphinx.get_model_path()) / "en-us" / "cmudict-en-us.dict"


def read_cmudict(path):
    """{WORD: [pron, ...]} with prons as tuples of stress-free phones, first variant first."""
    lex = {}
    for line in open(path, encoding="utf-8", errors="replace"):
        parts = line.split()
        if len(parts) < 2 or parts[0].startswith(";;;"):
            continue
        word = re.sub(r"\(\d+\)$", "", parts[0]).upper()
        pron = tuple(re.sub(r"\d", "", p) for p in parts[1:])
        if any(p not in PHONES for p in pron):
            continue
        prons = lex.setdefault(word, [])
        if pron not in prons:
            prons.append(pron)
    return lex


def write_lexicon(lex, path):
    with open(path, "w", encoding="utf-8") as f:
        for w in sorted(lex):
            for p in lex[w]:
                f.write(f"{w}\t{' '.join(p)}\n")


def read_lexicon(path):
    lex = {}
    for line in open(path, encoding="utf-8"):
        w, p = line.rstrip("\n").split("\t")
        lex.setdefault(w, []).append(tuple(p.split()))
    return lex


# --- G2P for training words outside CMUdict -------------------------------------------------------------------
# espeak-ng's phoneme mnemonics (`espeak-ng -v en-us -x --sep=' '`, en-us table) → stress-free ARPAbet.
# r-coloured vowels carry their R (a following `r`/`r-` is then merged), syllabic `@L`/`n-`/`m-` become AH + C,
# flaps become T/D, the glottal stop (en-us: /t/ before a syllabic n, "button" b 'V ? n-) becomes T as in CMUdict.
ESPEAK_MAP = {
    "a": "AE", "aa": "AE", "a#": "AH", "A:": "AA", "A": "AA", "A@": "AA R", "aI": "AY", "aI@": "AY ER",
    "aI3": "AY ER", "aU": "AW", "aU@": "AW ER", "e": "EH", "E": "EH", "E2": "EH", "e@": "EH R", "eI": "EY",
    "3": "ER", "3:": "ER", "@": "AH", "@2": "AH", "@5": "AH", "@-": "AH", "@L": "AH L", "@r": "ER",
    "i": "IY", "i:": "IY", "i@": "IY AH", "i@3": "IH R", "I": "IH", "I2": "IH", "I#": "IH", "0": "AA",
    "O": "AO", "O:": "AO", "O2": "AO", "O@": "AO R", "o@": "AO R", "o": "OW", "OI": "OY", "oU": "OW",
    "U": "UH", "U@": "UH R", "u": "UW", "u:": "UW", "V": "AH", "W": "OW",
    "p": "P", "b": "B", "t": "T", "t#": "T", "t2": "T", "d": "D", "d#": "D", "k": "K", "g": "G", "x": "K",
    "?": "T", "f": "F", "v": "V", "T": "TH", "D": "DH", "s": "S", "z": "Z", "S": "SH", "Z": "ZH", "h": "HH",
    "tS": "CH", "dZ": "JH", "m": "M", "n": "N", "N": "NG", "m-": "AH M", "n-": "AH N", "l": "L", "l-": "AH L",
    "L": "L", "r": "R", "r-": "R", "w": "W", "j": "Y", "C": "HH",
}

YOD_DROP = {"CH", "JH", "SH", "ZH", "Y", "R", "T", "D", "N", "S", "Z", "TH", "DH"}


def espeak_to_arpabet(ph, unknown=None):
    """One espeak-ng `-x --sep=' '` line → a tuple of ARPAbet phones (stress and boundary marks dropped)."""
    out = []
    for tok in re.sub(r"\([a-z-]+\)", " ", ph).split():  # "(fr)" language-switch marks
        tok = tok.strip("',%=_|;")
        if not tok:
            continue
        m = ESPEAK_MAP.get(tok) or ESPEAK_MAP.get(tok.rstrip("#2345")) or ESPEAK_MAP.get(tok.rstrip("#2345:"))
        if m is None:
            if unknown is not None:
                unknown[tok] = unknown.get(tok, 0) + 1
            continue
        ps = m.split()
        if tok in ("r", "r-") and out and out[-1] in ("R", "ER"):  # "car" A@ + linking r: one R
            continue
        out.extend(ps)
    # espeak-ng's letter rules keep a yod that American English (and CMUdict) drops: "abjured" dZ j U@, "tiburon"
    for i in range(len(out) - 2, 0, -1):
        if out[i] == "Y" and out[i + 1] in ("UW", "UH") and out[i - 1] in YOD_DROP:
            del out[i]
    return tuple(out)


def espeak_batch(words):
    """espeak-ng phoneme strings of words (one process, one word per line)."""
    cmd = ["espeak-ng", "-v", "en-us", "-q", "-x", "--sep= "]
    lines = subprocess.run(cmd, input="".join(w.lower() + "\n" for w in words), capture_output=True, text=True,
                           check=True).stdout.splitlines()
    lines = [l for l in lines if l.strip()]
    if len(lines) != len(words):  # a word that espeak-ng split across lines: fall back to one call per word
        lines = [" ".join(subprocess.run(cmd + [w.lower()], capture_output=True, text=True, check=True)
                          .stdout.split()) for w in words]
    return lines


def plural_suffix(pron):
    """The -s/'s ending after a pronunciation (S, Z or IH Z)."""
    if pron[-1] in ("S", "Z", "SH", "ZH", "CH", "JH"):
        return ("IH", "Z")
    return ("S",) if pron[-1] in ("P", "T", "K", "F", "TH") else ("Z",)


def g2p(words, lex):
    """{WORD: (pron, method)} for words outside lex: a possessive of a lexicon word gets the word + S/Z/IH Z
    ("cmudict+s"), anything else espeak-ng ("espeak"). Words espeak-ng gives no phones for are left out."""
    res, rest = {}, []
    for w in words:
        base = w[:-2] if w.endswith("'S") else w[:-1] if w.endswith("S'") else None
        if base and base in lex:
            p = lex[base][0]
            res[w] = (p + plural_suffix(p) if w.endswith("'S") else p, "cmudict+s")
        else:
            rest.append(w)
    unknown = {}
    if rest:
        for w, line in zip(rest, espeak_batch(rest)):
            p = espeak_to_arpabet(line, unknown)
            if p:
                res[w] = (p, "espeak")
    if unknown:
        print(f"g2p: espeak-ng symbols without a mapping (dropped): {unknown}", file=sys.stderr)
    return res


def edit_distance(a, b):
    d = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, d[0] = d[0], i
        for j, y in enumerate(b, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (x != y))
    return d[len(b)]


def g2p_check(words, lex, n, what, seed=0, show=0):
    """Phone error rate of the espeak-ng G2P on n random lexicon words (against the closest CMUdict variant and
    against the first one), and the most frequent substitution/deletion/insertion pairs."""
    import random
    from collections import Counter
    sample = random.Random(seed).sample(sorted(words), min(n, len(words)))
    hyp = [espeak_to_arpabet(l) for l in espeak_batch(sample)]
    errs_best = errs_first = ref_n = 0
    conf = Counter()
    for w, h in zip(sample, hyp):
        refs = lex[w]
        r = min(refs, key=lambda r: edit_distance(h, r))
        errs_best += edit_distance(h, r)
        errs_first += edit_distance(h, refs[0])
        ref_n += len(r)
        conf.update(align_pairs(r, h))
        if show and edit_distance(h, r):
            print(f"  {w}: cmudict {' '.join(r)} | g2p {' '.join(h)}", file=sys.stderr)
    print(f"g2p check on {len(sample)} {what}: PER {100 * errs_best / ref_n:.1f} % against the "
          f"closest variant, {100 * errs_first / ref_n:.1f} % against the first", file=sys.stderr)
    print("  most frequent (cmudict, g2p) errors: "
          + ", ".join(f"{a}>{b} {c}" for (a, b), c in conf.most_common(12)), file=sys.stderr)
    return errs_best / ref_n


def align_pairs(r, h):
    """The (ref, hyp) error pairs of a minimum-edit alignment ('-' = nothing)."""
    n, m = len(r), len(h)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        for j in range(m + 1):
            d[i][j] = i + j if not i or not j else min(d[i - 1][j] + 1, d[i][j - 1] + 1,
                                                        d[i - 1][j - 1] + (r[i - 1] != h[j - 1]))
    out, i, j = [], n, m
    while i or j:
        if i and j and d[i][j] == d[i - 1][j - 1] + (r[i - 1] != h[j - 1]):
            if r[i - 1] != h[j - 1]:
                out.append((r[i - 1], h[j - 1]))
            i, j = i - 1, j - 1
        elif i and d[i][j] == d[i - 1][j] + 1:
            out.append((r[i - 1], "-"))
            i -= 1
        else:
            out.append(("-", h[j - 1]))
            j -= 1
    return out


class PhoneTokenizer:
    """Transcript ↔ phone ids through the lexicon's first pronunciation (the sentencepiece-like interface that
    train.py uses: encode/decode/piece_size)."""

    def __init__(self, lexicon_path):
        self.lex = read_lexicon(lexicon_path)
        self.ids = {p: i for i, p in enumerate(UNITS)}

    def encode(self, text):
        """Phone ids of the text, or None if a word is not in the lexicon."""
        out = []
        for w in text.split():
            prons = self.lex.get(w)
            if not prons:
                return None
            out.extend(self.ids[p] for p in prons[0])
        return out

    def decode_units(self, ids):
        return [UNITS[i] for i in ids if i > 0]

    def get_piece_size(self):
        return len(UNITS)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dict", help="CMUdict file (default: the one inside the pocketsphinx package)")
    ap.add_argument("--out", default=str(HERE / "runs/data"))
    ap.add_argument("--g2p", action=argparse.BooleanOptionalAction, default=True,
                    help="add espeak-ng pronunciations of train.tsv words outside CMUdict (default: on)")
    ap.add_argument("--g2p-check", type=int, default=200, metavar="N",
                    help="measure the G2P's phone error rate on N CMUdict words of train.tsv (0: skip)")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    lex = read_cmudict(a.dict or default_dict())
    rows = {}
    for split in ("train", "dev"):
        with open(CORPUS / f"{split}.tsv", newline="", encoding="utf-8") as f:
            rows[split] = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    train_words = {w for r in rows["train"] for w in r["text"].split()}
    g2p_lex = {}
    if a.g2p:  # train.tsv words only: dev.tsv never feeds the lexicon
        if not shutil.which("espeak-ng"):
            sys.exit("phones.py: espeak-ng not found (apt-get install espeak-ng), or run with --no-g2p")
        if a.g2p_check:  # words of the transcripts (mostly in espeak-ng's own dictionary) and rarer words (names:
            # espeak-ng's letter rules, like most of the train words outside CMUdict)
            g2p_check([w for w in train_words if w in lex], lex, a.g2p_check, "CMUdict words of train.tsv")
            g2p_check([w for w in lex if w.isalpha() and w not in train_words], lex, a.g2p_check,
                      "other CMUdict words (mostly names)")
        g2p_lex = g2p(sorted(w for w in train_words if w not in lex), lex)
        with open(out / "lexicon_g2p.txt", "w", encoding="utf-8") as f:
            for w in sorted(g2p_lex):
                f.write(f"{w}\t{' '.join(g2p_lex[w][0])}\t{g2p_lex[w][1]}\n")
        meth = {}
        for _, m in g2p_lex.values():
            meth[m] = meth.get(m, 0) + 1
        print(f"g2p: {len(g2p_lex)} train words outside CMUdict get a G2P pronunciation ("
              + ", ".join(f"{n} {m}" for m, n in sorted(meth.items())) + f") -> {out / 'lexicon_g2p.txt'}",
              file=sys.stderr)
    cmu = lex
    lex = {**cmu, **{w: [p] for w, (p, _) in g2p_lex.items()}}
    write_lexicon(lex, out / "lexicon.txt")
    (out / "phones.txt").write_text("".join(f"{u} {i}\n" for i, u in enumerate(UNITS)), encoding="utf-8")
    for split in ("train", "dev"):
        rs = rows[split]
        words = [w for r in rs for w in r["text"].split()]
        miss = [w for w in words if w not in lex]
        bad = [r for r in rs if any(w not in lex for w in r["text"].split())]
        bad_cmu = [r for r in rs if any(w not in cmu for w in r["text"].split())]
        hours = sum(float(r["duration_s"]) for r in rs) / 3600
        bad_h = sum(float(r["duration_s"]) for r in bad) / 3600
        print(f"{split}: {len(words)} words, {len(miss)} ({100 * len(miss) / len(words):.2f} %) not in the lexicon "
              f"({len(set(miss))} types); {len(bad)}/{len(rs)} utterances ({100 * len(bad) / len(rs):.1f} %, "
              f"{bad_h:.2f} of {hours:.2f} h) still have one (CMUdict alone: {len(bad_cmu)}, "
              f"{sum(float(r['duration_s']) for r in bad_cmu) / 3600:.2f} h)", file=sys.stderr)
    print(f"lexicon: {len(lex)} words ({len(g2p_lex)} from the G2P), {sum(map(len, lex.values()))} pronunciations "
          f"-> {out / 'lexicon.txt'}", file=sys.stderr)

if __name__ == "__main__":
    main()
