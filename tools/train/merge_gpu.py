"""Join the parts that gpu_train.sh left under $OUT into checkpoints that export.py and train.py read.

  python merge_gpu.py /work/.device/<call>/files --out runs/look1g
    -> runs/look1g/gpu_avg.pt   (mean of the device run's second-half epochs, float32: export.py --ckpt)
       runs/look1g/gpu_last.pt  (its last weights + simple head, float16: train.py --init-ckpt)
"""

import argparse
from pathlib import Path

import torch


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
