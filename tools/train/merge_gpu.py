"""Join the parts that gpu_train.sh left under $OUT into checkpoints that export.py and train.py read (and the
float16 / parts format of the trip itself, `halved` and `write_parts`, used there and by pack_gpu.py).

  python merge_gpu.py /work/.device/<call>/files --out runs/look1g
    -> runs/look1g/gpu_avg.pt   (mean of the device run's second-half epochs, float32: export.py --ckpt)
       runs/look1g/gpu_last.pt  (its last weights + simple head, float16: train.py --init-ckpt)
"""

import argparse
from pathlib import Path

import torch


def halved(sd):
    """A float16 copy of a state dict for the trip (the CMVN buffers and integer tensors as they are)."""
    return {k: (v if "cmvn" in k or not v.is_floating_point() else v.half()) for k, v in sd.items()}


def write_parts(ck, out, stem, n):
    """`ck` as n files `<stem>.part<i>.pt` (each under the device tool's 16 MiB): the model's tensors dealt out in
    turn, everything else in part 0; `join` puts them back together."""
    keys = list(ck["model"])
    rest = {k: v for k, v in ck.items() if k != "model"}
    for i in range(n):
        torch.save({"model": {k: ck["model"][k] for k in keys[i::n]}, **(rest if i == 0 else {})},
                   Path(out) / f"{stem}.part{i}.pt")


def join(paths):
    parts = [torch.load(p, map_location="cpu", weights_only=False) for p in sorted(paths)]
    ck = {k: v for k, v in parts[0].items() if k != "model"}
    ck["model"] = {k: v for p in parts for k, v in p["model"].items()}
    ck["config"]["data"] = "runs/data"  # the device's feature folder was /tmp/g/data; here the full-quality one
    return ck


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    src, out = Path(a.files), Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if list(src.glob("avg.part*.pt")):
        avg = join(src.glob("avg.part*.pt"))
        torch.save(avg, out / "gpu_avg.pt")
        print(f"{out / 'gpu_avg.pt'}: mean of {avg.get('epochs')}, {len(avg['model'])} tensors")
    last = join(src.glob("last.part*.pt"))
    torch.save(last, out / "gpu_last.pt")
    print(f"{out / 'gpu_last.pt'}: epoch {last['epoch']} step {last['step']}, {len(last['model'])} tensors")


if __name__ == "__main__":
    main()
