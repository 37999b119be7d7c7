"""The shipped word LM `models/zoo/sotto-en.lm.bin`: PocketSphinx's en-us 3-gram (BSD-2-Clause, CMU Sphinx),
upper-cased to the transcripts' convention and cut to its bigrams so that it fits the 40 MB budget.

  python make_lm.py                       # -> runs/lm/ps-en-us.arpa, ps-en-us.upper.arpa, ps-en-us.2g.arpa
  sotto lm convert runs/lm/ps-en-us.2g.arpa -o ../../models/zoo/sotto-en.lm.bin

Steps: `en-us.lm.bin` from the PyPI `pocketsphinx` package → ARPA with `shared/tools/pocketsphinx_lm_to_arpa.py`
(PocketSphinx's own writers abort on this file, see shared/training-notes.md) → words upper-cased (`<s>`, `</s>` kept)
→ the trigram section dropped (bigram probabilities of a backoff model are already normalized conditionals, and the
bigrams' backoff weights only serve trigrams, so they go too). Measured with `sotto lm perplexity` on the dev
transcripts (only measured there, never estimated on them): 3-gram 295, 2-gram 362 (1.9 % OOV); binary 45.9 MiB vs
17.6 MiB; dev WER of sotto-en int8 beam 4: 74.42 % vs 74.65 % (README).
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = (HERE / "../../../shared").resolve()
KEEP = ("<s>", "</s>", "<unk>")


def upper(src, dst):
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 2 and not line.startswith("\\"):
                parts[1] = " ".join(w if w in KEEP else w.upper() for w in parts[1].split(" "))
                line = "\t".join(parts) + "\n"
            out.write(line)


def bigram(src, dst):
    sec = None
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
        for line in f:
            if line.startswith("ngram 3="):
                continue
            if line.startswith("\\3-grams:"):
                sec = 3
                continue
            if line.startswith("\\end\\"):
                out.write("\n" + line)
                sec = None
                continue
            if line.startswith("\\2-grams:"):
                sec = 2
            elif sec == 3:
                continue
            elif sec == 2 and line.strip():
                line = "\t".join(line.rstrip("\n").split("\t")[:2]) + "\n"
            out.write(line)


def main():
    import pocketsphinx
    out = HERE / "runs/lm"
    out.mkdir(parents=True, exist_ok=True)
    src = Path(pocketsphinx.get_model_path()) / "en-us" / "en-us.lm.bin"
    arpa = out / "ps-en-us.arpa"
    if not arpa.exists():
        subprocess.check_call([sys.executable, str(SHARED / "tools/pocketsphinx_lm_to_arpa.py"), str(src), str(arpa)])
    upper(arpa, out / "ps-en-us.upper.arpa")
    bigram(out / "ps-en-us.upper.arpa", out / "ps-en-us.2g.arpa")
    print(f"wrote {out / 'ps-en-us.upper.arpa'} and {out / 'ps-en-us.2g.arpa'}", file=sys.stderr)


if __name__ == "__main__":
    main()
