"""Pack what a GPU training call needs into `gpu_carry/` (ignored), small enough for the device tool's 64 MiB.

The device machine cannot read ../shared, so the training audio travels re-encoded as Ogg Opus at a low bitrate
(10 kbps keeps the 8 kHz wideband of 16 kHz speech; the 17.4 h of train.tsv are 89 MB), cut into shard a
(`--first-mb`, beside init.pt) and shards of at most `--shard-mb` so that they can travel in separate calls; the
tokenizer and CMVN of runs/data travel as they are, and
the starting weights (model + simple-joiner head of a checkpoint, no optimizer state) travel in float16 (18 MB for
9 M parameters; the CMVN buffers stay float32).

  python pack_gpu.py --ckpt runs/look1/last.pt            # -> gpu_carry/{a,b}/... (see gpu_train.sh)
  python pack_gpu.py --init-only --ckpt runs/look1c/last.pt   # only a new a/init.pt

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

from merge_gpu import halved

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


def write_shards(out, header, items, first_mb, shard_mb):
    """`items` (corpus path, Opus bytes, train.tsv row) in order as shard a (`first_mb` of audio, beside init.pt) and
    shards b, c, ... of at most `shard_mb`: <letter>/train-<k>.tar with <letter>/train-<k>.tsv."""
    groups, size = [[]], 0
    for it in items:
        if groups[-1] and size + len(it[1]) > (first_mb if len(groups) == 1 else shard_mb) * 1e6:
            groups.append([])
            size = 0
        groups[-1].append(it)
        size += len(it[1]) + 512  # the tar header
    for k, g in enumerate(groups):
        d = out / chr(ord("a") + k)
        d.mkdir(exist_ok=True)
        with tarfile.open(d / f"train-{k}.tar", "w") as t:
            for name, data, _ in g:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
        (d / f"train-{k}.tsv").write_text(header + "\n" + "".join(r + "\n" for _, _, r in g), encoding="utf-8")
        print(f"{d}: {len(g)} files, {sum(len(x) for _, x, _ in g) / 1e6:.1f} MB")


def reshard(out, first_mb, shard_mb):
    """Cut the shards under `out` anew, in the same file order (the call sizes changed, not the audio)."""
    items, header = [], None
    for tar in sorted(out.glob("*/train-*.tar"), key=lambda p: int(p.stem.split("-")[1])):
        with tarfile.open(tar) as t:
            members = [(m.name, t.extractfile(m).read()) for m in t.getmembers()]
        lines = tar.with_suffix(".tsv").read_text(encoding="utf-8").splitlines()
        header = lines[0]
        assert len(members) == len(lines) - 1, tar
        items += [(name, data, row) for (name, data), row in zip(members, lines[1:])]
        tar.unlink()
        tar.with_suffix(".tsv").unlink()
    write_shards(out, header, items, first_mb, shard_mb)
    for d in out.iterdir():
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()


def write_init(ckpt, path):
    """Model and simple-head weights of a training checkpoint in float16 (CMVN buffers float32), no optimizer."""
    ck = torch.load(ckpt, map_location="cpu", weights_only=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": halved(ck["model"]), "simple_head": halved(ck.get("simple_head", {})), "from": str(ckpt), "step": ck.get("step"),
                "epoch": ck.get("epoch")}, path)
    print(f"{path}: {path.stat().st_size / 1e6:.1f} MB from {ckpt} (epoch {ck.get('epoch')}, step {ck.get('step')})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(HERE / "gpu_carry"))
    ap.add_argument("--ckpt", help="checkpoint whose model (+ simple_head) weights start the GPU run")
    ap.add_argument("--kbps", type=float, default=10.0)
    ap.add_argument("--shard-mb", type=float, default=70.0)
    ap.add_argument("--first-mb", type=float, default=40.0, help="audio in shard a, which also holds init.pt (with tar headers and init.pt: 61 MB, under the 64 MiB of a call with the 4.5 MB work tree)")
    ap.add_argument("--reshard", action="store_true", help="only cut the existing shards anew (--first-mb, --shard-mb)")
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--data", default=str(HERE / "runs/data"))
    ap.add_argument("--limit", type=int, help="only the first N files of the shuffled order (a dry run)")
    ap.add_argument("--init-only", action="store_true", help="only (re)write a/init.pt from --ckpt")
    a = ap.parse_args()
    out = Path(a.out)
    if a.init_only:
        write_init(a.ckpt, out / "a" / "init.pt")
        return
    if a.reshard:
        reshard(out, a.first_mb, a.shard_mb)
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
    items, total = [], 0
    with Pool(a.procs) as pool:
        for i, (path, data) in enumerate(pool.imap(encode, [(p, a.kbps) for p in order], chunksize=8)):
            items.append((path, data, "\t".join(by_path[path][f] for f in fields)))  # the row as read: no quoting
            total += len(data)
            if i % 1000 == 0:
                print(f"{i}/{len(order)} {total / 1e6:.1f} MB", flush=True)
    write_shards(out, "\t".join(fields), items, a.first_mb, a.shard_mb)
    data = Path(a.data)
    for f in ("bpe.model", "cmvn.json"):
        shutil.copy(data / f, out / "a" / f)
    if a.ckpt:
        write_init(a.ckpt, out / "a" / "init.pt")
    print(f"done: {len(order)} files, {total / 1e6:.1f} MB Opus under {out}")


if __name__ == "__main__":
    main()
