"""A fixed sample of `train.tsv` as WAVs (60 utterances per source, seed 0) for measuring how well a model fits its
own training data with `sotto transcribe`, next to dev (underfitting vs overfitting):

  python train_wavs.py --out /tmp/train_wav
  sotto transcribe /tmp/train_wav --ref /tmp/train_wav/refs.tsv --beam 1 --no-lm --blank-penalty 0 -j 2
"""

import argparse
import random
from pathlib import Path

import numpy as np

from export import write_wav16
from prepare import CORPUS, load_audio, read_tsv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/train_wav")
    ap.add_argument("--per-source", type=int, default=60)
    a = ap.parse_args()
    rows = read_tsv(CORPUS / "train.tsv")
    random.Random(0).shuffle(rows)
    out = Path(a.out)
    out.mkdir(exist_ok=True)
    refs = []
    by = {}
    for r in rows:
        if len(by.setdefault(r["source"], [])) < a.per_source:
            by[r["source"]].append(r)
    for src, rs in by.items():
        for r in rs:
            rel = Path(src) / (Path(r["path"]).stem + ".wav")
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            x = load_audio(CORPUS / r["path"])
            write_wav16(out / rel, np.clip(np.round(x * 32768), -32768, 32767).astype(np.int16))
            refs.append(f"{rel.as_posix()}\t{r['text']}")
    (out / "refs.tsv").write_text("\n".join(refs) + "\n")
    print({k: len(v) for k, v in by.items()})


if __name__ == "__main__":
    main()
