"""On a device machine: the shards of pack_gpu.py that arrived -> a runs/data-style feature folder for train.py.

  python gpu_prepare.py --carry /tmp/g --out /tmp/g/data --procs 16

Unpacks every `*/train-<k>.tar` under --carry into <carry>/corpus, computes the same Kaldi fbank as prepare.py
(its `fbank`, on the decoded low-bitrate Opus), writes train.feats.npy / train.index.tsv, and copies bpe.model and
cmvn.json (the CMVN stays the one of the full-quality features, which the starting weights were trained with).
"""

import argparse
import csv
import os
import shutil
import sys
import tarfile
from pathlib import Path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--carry", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--procs", type=int, default=os.cpu_count())
    a = ap.parse_args()
    carry, out = Path(a.carry), Path(a.out)
    corpus = carry / "corpus"
    os.environ["SOTTO_CORPUS"] = str(corpus)  # read by prepare.py at import
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import prepare

    rows = []
    for tar in sorted(carry.glob("*/train-*.tar")):
        with tarfile.open(tar) as t:
            t.extractall(corpus, filter="data")
        tsv = tar.with_suffix(".tsv")
        rows += list(csv.DictReader(open(tsv, newline="", encoding="utf-8"), delimiter="\t", quoting=csv.QUOTE_NONE))
        print(f"{tar}: {len(rows)} rows so far", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    for f in ("bpe.model", "cmvn.json"):
        src = next(carry.glob(f"*/{f}"))
        shutil.copy(src, out / f)
    prepare.prep_split("train", rows, out, a.procs)
    hours = sum(float(r["duration_s"]) for r in rows) / 3600
    print(f"done: {len(rows)} utterances, {hours:.2f} h", flush=True)


if __name__ == "__main__":
    main()
