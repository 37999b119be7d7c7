"""Train the streaming wake-word net on the feature sets of prepare.py (CPU, one thread is plenty).

Each batch holds windows of T frames: positives end 0-0.6 s after the phrase ends; every output
step is labelled 1 when its last frame is 10-400 ms after the phrase's end, 0 when it ends more
than 100 ms before it (phrase incomplete), ignored in between and later; negatives are random
windows of negative clips, all steps 0. Checkpoints (model, optimizer, RNG, step) every
--ckpt-minutes to DIR/ckpt.pt; rerunning the same command resumes from there.

Usage: python train.py --data ~/.cache/sotto-wake/alexa [--steps 12000] [--seed 1]
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import WakeNet  # noqa: E402

SCALE = 0.10196079


class FeatureSet:
    def __init__(self, d: Path, name: str):
        self.idx = np.load(d / f"{name}.idx.npy")
        self.data = np.fromfile(d / f"{name}.u8", dtype=np.uint8).reshape(-1, 40)
        self.name = name

    def __len__(self):
        return len(self.idx)

    def window(self, rng, T, i=None, positive=False):
        """(frames [T, 40] uint8, keyword end frame in window coordinates or None)."""
        i = rng.integers(len(self.idx)) if i is None else i
        off, n, end = self.idx[i]
        if positive:
            last = min(end + int(rng.integers(0, 60)), n - 1)
        else:
            last = int(rng.integers(min(T, n) - 1, n))
        first = last - T + 1
        x = self.data[off + max(first, 0): off + last + 1]
        if first < 0:
            x = np.concatenate([np.repeat(x[:1], -first, axis=0), x])
        return x, (end - first if positive else None)


def batch(rng, sets, mix, T, B, model, steps):
    xs = np.empty((B, T, 40), np.uint8)
    ys = np.zeros((B, steps), np.float32)
    ms = np.ones((B, steps), np.float32)
    names = rng.choice(len(mix), size=B, p=[m[1] for m in mix])
    last = model.last_frame(np.arange(steps))
    for b, k in enumerate(names):
        name, _, pos = mix[k]
        x, end = sets[name].window(rng, T, positive=pos)
        xs[b] = x
        if pos:
            ys[b] = (last >= end + 1) & (last <= end + 40)
            ms[b] = (last <= end - 10) | ((last >= end + 1) & (last <= end + 40))
    return torch.from_numpy(xs), torch.from_numpy(ys), torch.from_numpy(ms)


def to_real(x_u8):
    return x_u8.float() * SCALE


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--run", type=Path, help="checkpoint folder (default DATA/run)")
    ap.add_argument("--steps", type=int, default=12000)
    ap.add_argument("--batch", type=int, default=96)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out-steps", type=int, default=24, help="labelled output steps per window")
    ap.add_argument("--neg-weight", type=float, default=4.0)
    ap.add_argument("--c1", type=int, default=32)
    ap.add_argument("--channels", default="64,64,64,64")
    ap.add_argument("--kernels", default="5,9,13,21")
    ap.add_argument("--ckpt-minutes", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    run = a.run or a.data / "run"
    run.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    model = WakeNet(a.c1, [int(c) for c in a.channels.split(",")], [int(k) for k in a.kernels.split(",")])
    T = 3 * (model.receptive_steps() + a.out_steps - 1) + 5
    ALL = [("pos_tts", 0.2, True), ("pos_real", 0.15, True), ("neg_near", 0.12, False),
           ("neg_kw", 0.13, False), ("neg_speech", 0.3, False), ("neg_noise", 0.1, False)]
    sets = {}

    def load_sets():
        """Loads the sets prepare.py has finished (more may appear while training runs)."""
        for n, _, _ in ALL:
            if n not in sets and (a.data / f"{n}.idx.npy").exists():
                fs = FeatureSet(a.data, n)
                if len(fs) > 0:
                    sets[n] = fs
        m = [x for x in ALL if x[0] in sets]
        tot = sum(x[1] for x in m)
        return [(n, w / tot, p) for n, w, p in m]

    mix = load_sets()
    print("sets:", {n: (len(s), len(s.data)) for n, s in sets.items()}, "T =", T, flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=a.steps, pct_start=0.05)
    step = 0
    ck = run / "ckpt.pt"
    if ck.exists():
        s = torch.load(ck, weights_only=False)
        model.load_state_dict(s["model"])
        opt.load_state_dict(s["opt"])
        sched.load_state_dict(s["sched"])
        rng.bit_generator.state = s["rng"]
        torch.set_rng_state(s["torch_rng"])
        step = s["step"]
        print(f"resumed at step {step}", flush=True)
    elapsed = s["elapsed"] if ck.exists() else 0.0
    t0, tck = time.time(), time.time()
    log = open(run / "log.tsv", "a")

    def save():
        tmp = run / "ckpt.tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(), "step": step,
                    "cfg": model.cfg, "elapsed": elapsed + time.time() - t0, "args": vars(a) | {"data": str(a.data), "run": str(run)}}, tmp)
        os.replace(tmp, ck)

    model.train()
    avg = None
    while step < a.steps:
        x, y, m = batch(rng, sets, mix, T, a.batch, model, a.out_steps)
        logits = model(to_real(x))
        w = m * torch.where(y > 0, 1.0, a.neg_weight)
        loss = (F.binary_cross_entropy_with_logits(logits, y, reduction="none") * w).sum() / w.sum()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        sched.step()
        step += 1
        avg = loss.item() if avg is None else 0.98 * avg + 0.02 * loss.item()
        if step % 100 == 0:
            msg = f"{step}\t{avg:.4f}\t{elapsed + time.time() - t0:.0f}"
            print(msg, flush=True)
            log.write(msg + "\n")
            log.flush()
        if time.time() - tck > a.ckpt_minutes * 60 or step == a.steps:
            save()
            tck = time.time()
            if len(sets) < len(ALL):
                n0 = len(sets)
                mix = load_sets()
                if len(sets) > n0:
                    print("sets:", {n: (len(s), len(s.data)) for n, s in sets.items()}, flush=True)
    save()
    torch.save({"model": model.state_dict(), "cfg": model.cfg, "steps": step,
                "train_seconds": elapsed + time.time() - t0}, run / "final.pt")
    json.dump({"steps": step, "train_seconds": round(elapsed + time.time() - t0, 1)},
              open(run / "train.json", "w"))
    print("done", flush=True)


if __name__ == "__main__":
    main()
