"""Pack what a GPU training call needs into `gpu_carry/` (ignored), small enough for the device tool's 64 MiB.

The device machine cannot read ../shared, so the training audio travels re-encoded as Ogg Opus at a low bitrate
(10 kbps keeps the 8 kHz wideband of 16 kHz speech; 17 h is about 77 MB), cut into shards of at most
`--shard-mb` so that they can travel in separate calls; the tokenizer and CMVN of runs/data travel as they are, and
the starting weights (model + simple-joiner head of a checkpoint, no optimizer state) travel in float16 (18 MB for
9 M parameters; the CMVN buffers stay float32).

  python pack_gpu.py --ckpt runs/look1/last.pt            # -> gpu_carry/{a,b}/... (see gpu_train.sh)

Shard k holds `train-<k>.tar` (the Opus files under their corpus paths) and `train-<k>.tsv` (their rows of
train.tsv); `gpu_prepare.py` on the device turns whatever shards arrived into runs/data-style features.
"""

import argparse
import csv
import io
import os
import shutil
import subprocess
import tarfile
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

HERE = Path(__file__).resolve().parent
CORPUS = Path(os.environ.get("SOTTO_CORPUS", HERE / "../../../shared/corpus")).resolve()


def encode(args):
    path, kbps = args
    x, sr = sf.read(str(CORPUS / path), dtype="int16", always_2d=True)
    buf = io.BytesIO()
    sf.write(buf, x, sr, format="WAV", subtype="PCM_16")
    r = subprocess.run(["opusenc", "--quiet", "--bitrate", str(kbps), "--comp", "10", "-", "-"],
                       input=buf.getvalue(), capture_output=True, check=True)
    return path, r.stdout


def write_init(ckpt, path):
    """Model and simple-head weights of a training checkpoint in float16 (CMVN buffers float32), no optimizer."""
    ck = torch.load(ckpt, map_location="cpu", weights_only=False)
    half = {k: (v if "cmvn" in k or not v.is_floating_point() else v.half()) for k, v in ck["model"].items()}
    sh = {k: v.half() for k, v in ck.get("simple_head", {}).items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": half, "simple_head": sh, "from": str(ckpt), "step": ck.get("step"),
                "epoch": ck.get("epoch")}, path)
    print(f"{path}: {path.stat().st_size / 1e6:.1f} MB from {ckpt} (epoch {ck.get('epoch')}, step {ck.get('step')})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(HERE / "gpu_carry"))
    ap.add_argument("--ckpt", help="checkpoint whose model (+ simple_head) weights start the GPU run")
    ap.add_argument("--kbps", type=float, default=10.0)
    ap.add_argument("--shard-mb", type=float, default=40.0)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--data", default=str(HERE / "runs/data"))
    ap.add_argument("--limit", type=int, help="only the first N files of the shuffled order (a dry run)")
    ap.add_argument("--init-only", action="store_true", help="only (re)write a/init.pt from --ckpt")
    a = ap.parse_args()
    out = Path(a.out)
    if a.init_only:
        write_init(a.ckpt, out / "a" / "init.pt")
        return
    if out.exists():
        shutil.rmtree(out)
    (out / "a").mkdir(parents=True)
    rows = list(csv.DictReader(open(CORPUS / "train.tsv", newline="", encoding="utf-8"), delimiter="\t",
                               quoting=csv.QUOTE_NONE))
    fields = list(rows[0].keys())
    by_path = {r["path"]: r for r in rows}
    # Shards in a fixed shuffled order, so that any prefix of them is a fair sample of every source.
    order = [rows[i]["path"] for i in np.random.default_rng(0).permutation(len(rows))]
    order = order[: a.limit] if a.limit else order
    shard, size = 0, 0
    total = 0

    def open_shard(k):
        d = out / chr(ord("a") + k)
        d.mkdir(exist_ok=True)
        t = tarfile.open(d / f"train-{k}.tar", "w")
        f = open(d / f"train-{k}.tsv", "w", encoding="utf-8", newline="")
        f.write("\t".join(fields) + "\n")
        return t, f

    tar, tsv_f = open_shard(0)
    with Pool(a.procs) as pool:
        for i, (path, data) in enumerate(pool.imap(encode, [(p, a.kbps) for p in order], chunksize=8)):
            if size + len(data) > a.shard_mb * 1e6:
                tar.close()
                tsv_f.close()
                shard, size = shard + 1, 0
                tar, tsv_f = open_shard(shard)
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            tsv_f.write("\t".join(by_path[path][f] for f in fields) + "\n")  # as read: no quoting
            size += len(data) + 512
            total += len(data)
            if i % 1000 == 0:
                print(f"{i}/{len(order)} {total / 1e6:.1f} MB", flush=True)
    tar.close()
    tsv_f.close()
    data = Path(a.data)
    for f in ("bpe.model", "cmvn.json"):
        shutil.copy(data / f, out / "a" / f)
    if a.ckpt:
        write_init(a.ckpt, out / "a" / "init.pt")
    print(f"done: {len(order)} files, {total / 1e6:.1f} MB Opus in {shard + 1} shards under {out}")


if __name__ == "__main__":
    main()
