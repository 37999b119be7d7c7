"""Train the streaming wake-word net on the feature sets of prepare.py (CPU, one thread is plenty).

Each batch holds windows of T frames: positives end 0-0.6 s after the phrase ends; every output
step is labelled 1 when its last frame is 10-400 ms after the phrase's end, 0 when it ends more
than 100 ms before it (phrase incomplete), ignored in between and later; negatives are random
windows of negative clips, all steps 0. Checkpoints (model, optimizer, RNG, step) every
--ckpt-minutes to DIR/ckpt.pt; rerunning the same command resumes from there.

neg_speech2, neg_speech3, ... (prepare.py) join neg_speech as one pool (clips drawn uniformly).
Every --snap-every steps the model is kept as DIR/snap_STEP.pt and, when prepare.py's validation
sets exist (val_pos, val_kw, val_speech: never trained on), scored the way `sotto wake-eval`
counts (streaming from zero state, uint8 probabilities, window sums, 2 s refractory) into
DIR/val.tsv; at the end (or with --select) the best snapshot is copied to DIR/best.pt. With
--mine-every, the current model scores all negative sets every so many steps and the
highest-scoring windows (hard negatives) join the batches with weight --hard-weight.

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

    def clip(self, i):
        off, n, _ = self.idx[i]
        return self.data[off: off + n]


class UnionSet:
    """Several feature sets as one (clips drawn uniformly over all of them)."""

    def __init__(self, parts):
        self.parts = parts
        self.name = parts[0].name
        self.sizes = np.cumsum([len(p) for p in parts])
        self.data = range(sum(len(p.data) for p in parts))  # len() only

    def __len__(self):
        return int(self.sizes[-1])

    def window(self, rng, T, i=None, positive=False):
        g = int(rng.integers(len(self))) if i is None else i
        k = int(np.searchsorted(self.sizes, g, side="right"))
        return self.parts[k].window(rng, T, g - (int(self.sizes[k - 1]) if k else 0), positive)


class HardSet:
    """Hard negatives: windows of negative clips ending at (or up to 0.4 s after) frames where
    an earlier model scored high. rows: (set number, clip, last frame within the clip)."""

    def __init__(self, sets, names, rows):
        self.sets, self.names, self.rows = sets, names, rows
        self.name = "neg_hard"
        self.data = range(0)

    def __len__(self):
        return len(self.rows)

    def window(self, rng, T, i=None, positive=False):
        k, c, last = self.rows[rng.integers(len(self.rows)) if i is None else i]
        fs = self.sets[self.names[k]]
        if isinstance(fs, UnionSet):
            j = int(np.searchsorted(fs.sizes, c, side="right"))
            fs, c = fs.parts[j], c - (int(fs.sizes[j - 1]) if j else 0)
        off, n, _ = fs.idx[c]
        last = min(int(last) + int(rng.integers(0, 40)), n - 1)
        first = last - T + 1
        x = fs.data[off + max(first, 0): off + last + 1]
        if first < 0:
            x = np.concatenate([np.repeat(x[:1], -first, axis=0), x])
        return x, None


REFRACTORY_STEPS = 67  # 2 s of 30 ms invocations (sotto's default refractory period)


@torch.no_grad()
def stream_sums(model, clip_u8, window=5):
    """Window sums (1/256 units) of uint8 probabilities per invocation, as `sotto wake` sees
    them for one file (float model, streaming from zero state)."""
    x = torch.from_numpy(np.ascontiguousarray(clip_u8)).float()[None] * SCALE
    p = torch.sigmoid(model.stream_logits(x))[0].numpy()
    raw = np.minimum(np.floor(p * 256 + 0.5), 255).astype(np.int64)
    if len(raw) < window:
        return np.zeros(0, np.int64)
    c = np.concatenate([[0], np.cumsum(raw)])
    return c[window:] - c[:-window]


def false_accepts(neg_sums, s):
    n = 0
    for v in neg_sums:
        quiet = -1
        for h in np.nonzero(v > s)[0]:
            if h >= quiet:
                n += 1
                quiet = h + REFRACTORY_STEPS
    return n


@torch.no_grad()
def validate(model, vsets):
    """Missed positives at the lowest threshold with at most k false accepts, k = 0, 1, 2, 4."""
    was = model.training
    model.eval()
    pos = [stream_sums(model, vsets["val_pos"].clip(i)) for i in range(len(vsets["val_pos"]))]
    neg = [stream_sums(model, fs.clip(i)) for n_, fs in vsets.items() if n_ != "val_pos"
           for i in range(len(fs))]
    model.train(was)
    pmax = np.array([v.max() if len(v) else -1 for v in pos])
    out = {}
    for k in (0, 1, 2, 4):
        lo, hi = 0, 255 * 5  # smallest s with false_accepts(s) <= k (non-increasing in s)
        while lo < hi:
            mid = (lo + hi) // 2
            if false_accepts(neg, mid) <= k:
                hi = mid
            else:
                lo = mid + 1
        out[f"missed{k}"] = int((pmax <= lo).sum())
        out[f"cut{k}"] = round(lo / (256 * 5), 6)
    top = np.sort([v.max() for v in neg if len(v)])[::-1]
    out["neg_top5"] = round(float(top[:5].mean()) / 1280, 4)
    out["pos_med"] = round(float(np.median(pmax)) / 1280, 4)
    return out


@torch.no_grad()
def mine(model, sets, names, top, threshold=0.3, chunk=60000):
    """(set number, clip, last frame) of the `top` highest-scoring local peaks (at least 30
    steps apart) of the model on the negative sets (whole-set passes in chunks)."""
    was = model.training
    model.eval()
    R = model.receptive_steps()
    found = []
    for k, name in enumerate(names):
        if name not in sets:
            continue
        fs = sets[name]
        parts = fs.parts if isinstance(fs, UnionSet) else [fs]
        base = 0
        for part in parts:
            starts = part.idx[:, 0]
            N = len(part.data)
            for c0 in range(0, N, chunk):
                c1 = min(N, c0 + chunk + 3 * R + 5)
                if c1 - c0 < 3 * R + 5:
                    continue
                x = torch.from_numpy(part.data[c0:c1]).float()[None] * SCALE
                p = torch.sigmoid(model(x))
                peak = (p == F.max_pool1d(p[None], 61, 1, 30)[0]) & (p > threshold)
                for j in torch.nonzero(peak[0]).flatten().tolist():
                    last = c0 + 3 * (j + R) + 4
                    c = int(np.searchsorted(starts, last, side="right")) - 1
                    found.append((float(p[0, j]), k, base + c, last - int(starts[c])))
            base += len(part)
    model.train(was)
    found.sort(reverse=True)
    return np.array([f[1:] for f in found[:top]], dtype=np.int64).reshape(-1, 3), len(found)


def specaug(rng, x, freq_width, time_width):
    """One frequency and one time mask (widths uniform in [0, width)) filled with the window's
    mean, in place: the net must not lean on a few channels or frames of one speaker's voice."""
    fill = np.uint8(x.mean() + 0.5)
    f = int(rng.integers(0, freq_width)) if freq_width else 0
    if f:
        f0 = int(rng.integers(0, 40 - f + 1))
        x[:, f0:f0 + f] = fill
    t = int(rng.integers(0, time_width)) if time_width else 0
    if t:
        t0 = int(rng.integers(0, len(x) - t + 1))
        x[t0:t0 + t] = fill


def warp(rng, x, max_warp):
    """Vocal-tract-length perturbation on the features, in place: the 40 channels (roughly
    mel-spaced) are resampled at channel c * a, a uniform in [1 - max_warp, 1 + max_warp],
    linear interpolation, the top channel held; a cheap way to more speakers than the clips."""
    a = 1.0 + float(rng.uniform(-max_warp, max_warp))
    src = np.minimum(np.arange(40) * a, 39.0)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, 39)
    f = (src - lo).astype(np.float32)
    v = x.astype(np.float32)
    x[:] = np.clip(v[:, lo] * (1 - f) + v[:, hi] * f + 0.5, 0, 255).astype(np.uint8)


def batch(rng, sets, mix, T, B, model, steps, aug=(0.0, 0, 0), vtlp=(0.0, 0.0)):
    xs = np.empty((B, T, 40), np.uint8)
    ys = np.zeros((B, steps), np.float32)
    ms = np.ones((B, steps), np.float32)
    names = rng.choice(len(mix), size=B, p=[m[1] for m in mix])
    last = model.last_frame(np.arange(steps))
    for b, k in enumerate(names):
        name, _, pos = mix[k]
        x, end = sets[name].window(rng, T, positive=pos)
        xs[b] = x
        if aug[0] > 0 and rng.random() < aug[0]:
            specaug(rng, xs[b], aug[1], aug[2])
        if vtlp[0] > 0 and rng.random() < vtlp[0]:
            warp(rng, xs[b], vtlp[1])
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
    ap.add_argument("--mix", default="", help="set weights, e.g. pos_real=0.25,neg_speech=0.4")
    ap.add_argument("--snap-every", type=int, default=250, help="keep (and validate) every N steps")
    ap.add_argument("--mine-every", type=int, default=0, help="hard-negative mining every N steps (0: off)")
    ap.add_argument("--mine-top", type=int, default=3000)
    ap.add_argument("--hard-weight", type=float, default=0.15)
    ap.add_argument("--specaug", type=float, default=0.0, metavar="P",
                    help="share of windows given one frequency and one time mask (0: off)")
    ap.add_argument("--specaug-freq", type=int, default=6, metavar="N", help="frequency mask width < N channels")
    ap.add_argument("--specaug-time", type=int, default=10, metavar="N", help="time mask width < N frames")
    ap.add_argument("--vtlp", type=float, default=0.0, metavar="P",
                    help="share of windows whose channel axis is warped (vocal-tract-length perturbation)")
    ap.add_argument("--vtlp-warp", type=float, default=0.12, metavar="W", help="warp factor within 1 ± W")
    ap.add_argument("--select", action="store_true", help="only pick DIR/best.pt from DIR/val.tsv")
    ap.add_argument("--average", metavar="FIRST:LAST", help="only average the snapshots FIRST..LAST "
                    "(every --snap-every steps) into DIR/avg_FIRST_LAST.pt and score it on validation")
    ap.add_argument("--average-windows", default="4,6,8", metavar="K,K",
                    help="after training (and with --select), also score the weight means of every K "
                    "consecutive snapshots from a quarter of the steps on, as candidates for best.pt "
                    "(empty: single snapshots only)")
    ap.add_argument("--validate", nargs="+", type=Path, help="only score these checkpoints on the validation sets")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    run = a.run or a.data / "run"
    run.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    model = WakeNet(a.c1, [int(c) for c in a.channels.split(",")], [int(k) for k in a.kernels.split(",")])
    T = 3 * (model.receptive_steps() + a.out_steps - 1) + 5
    windows = [int(k) for k in a.average_windows.split(",") if k]
    if a.select:
        return select(run, a.data, windows)
    if a.average:
        lo, hi = (int(v) for v in a.average.split(":"))
        avg, cfg = average(run, list(range(lo, hi + 1, a.snap_every)))
        v = validate(net(cfg, avg), {n: FeatureSet(a.data, n) for n in ("val_pos", "val_kw", "val_speech")})
        print(f"average of snapshots {lo}..{hi}: {v}", flush=True)
        torch.save({"model": avg, "cfg": cfg, "steps": hi, "averaged": [lo, hi], "val": v},
                   run / f"avg_{lo}_{hi}.pt")
        return
    if a.validate:
        vs = {n: FeatureSet(a.data, n) for n in ("val_pos", "val_kw", "val_speech")}
        for c in a.validate:
            ck_ = torch.load(c, weights_only=False)
            print(c, validate(net(ck_["cfg"], ck_["model"]), vs), flush=True)
        return
    ALL = [("pos_tts", 0.2, True), ("pos_real", 0.15, True), ("neg_near", 0.12, False),
           ("neg_kw", 0.13, False), ("neg_speech", 0.3, False), ("neg_noise", 0.1, False),
           ("neg_hard", a.hard_weight, False)]
    over = dict((kv.split("=")[0], float(kv.split("=")[1])) for kv in a.mix.split(",") if kv)
    ALL = [(n, over.get(n, w), p) for n, w, p in ALL]
    sets = {}
    hard_rows = np.zeros((0, 3), np.int64)
    mine_names = [n for n, _, p in ALL if not p and n != "neg_hard"]

    def load_sets():
        """Loads the sets prepare.py has finished (more may appear while training runs)."""
        for n, _, _ in ALL:
            if n == "neg_speech":
                k, parts = 2, []
                if (a.data / "neg_speech.idx.npy").exists():
                    parts.append(FeatureSet(a.data, n))
                while (a.data / f"neg_speech{k}.idx.npy").exists():
                    parts.append(FeatureSet(a.data, f"neg_speech{k}"))
                    k += 1
                have = len(sets[n].parts) if isinstance(sets.get(n), UnionSet) else int(n in sets)
                if len(parts) > have:
                    sets[n] = UnionSet(parts) if len(parts) > 1 else parts[0]
            elif n == "neg_hard":
                if len(hard_rows):
                    sets[n] = HardSet(sets, mine_names, hard_rows)
            elif n not in sets and (a.data / f"{n}.idx.npy").exists():
                fs = FeatureSet(a.data, n)
                if len(fs) > 0:
                    sets[n] = fs
        m = [x for x in ALL if x[0] in sets and x[1] > 0]
        tot = sum(x[1] for x in m)
        return [(n, w / tot, p) for n, w, p in m]

    vsets = {n: FeatureSet(a.data, n) for n in ("val_pos", "val_kw", "val_speech")
             if (a.data / f"{n}.idx.npy").exists()}
    if "val_pos" not in vsets:
        vsets = {}
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
        if len(s.get("hard_rows", [])):
            hard_rows = s["hard_rows"]
            mix = load_sets()
        print(f"resumed at step {step}", flush=True)
    elapsed = s["elapsed"] if ck.exists() else 0.0
    t0, tck = time.time(), time.time()
    log = open(run / "log.tsv", "a")

    def save():
        tmp = run / "ckpt.tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(), "step": step,
                    "hard_rows": hard_rows, "cfg": model.cfg, "elapsed": elapsed + time.time() - t0, "args": vars(a) | {"data": str(a.data), "run": str(run)}}, tmp)
        os.replace(tmp, ck)

    model.train()
    avg = None
    while step < a.steps:
        x, y, m = batch(rng, sets, mix, T, a.batch, model, a.out_steps,
                        (a.specaug, a.specaug_freq, a.specaug_time), (a.vtlp, a.vtlp_warp))
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
        if a.snap_every and step % a.snap_every == 0:
            torch.save({"model": model.state_dict(), "cfg": model.cfg, "steps": step},
                       run / f"snap_{step:06d}.pt")
            if vsets:
                t1 = time.time()
                v = validate(model, vsets)
                with open(run / "val.tsv", "a") as f:
                    f.write(f"{step}\t{json.dumps(v)}\n")
                print(f"val {step}: {v} ({time.time() - t1:.0f} s)", flush=True)
        if a.mine_every and step % a.mine_every == 0 and step < a.steps:
            t1 = time.time()
            hard_rows, n_found = mine(model, sets, mine_names, a.mine_top)
            mix = load_sets()
            print(f"mined {step}: {len(hard_rows)} hard windows of {n_found} peaks > 0.3 "
                  f"({time.time() - t1:.0f} s)", flush=True)
            with open(run / "mine.tsv", "a") as f:
                f.write(f"{step}\t{len(hard_rows)}\t{n_found}\n")
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
    if vsets:
        select(run, a.data, windows)
    print("done", flush=True)


def average(run: Path, steps):
    """Element-wise mean of the snapshots at these steps (BN statistics included) and their cfg."""
    sds = [torch.load(run / f"snap_{st:06d}.pt", weights_only=False) for st in steps]
    avg = {k: (sum(sd["model"][k].float() for sd in sds) / len(sds)).to(sds[0]["model"][k].dtype)
           for k in sds[0]["model"]}
    return avg, sds[0]["cfg"]


def net(cfg, state):
    m = WakeNet(cfg["c1"], cfg["channels"], cfg["kernels"], cfg["head"])
    m.load_state_dict(state)
    return m


def select(run: Path, data: Path = None, windows=()):
    """DIR/best.pt := the candidate with the fewest validation misses summed over k = 0, 1, 2
    false accepts (then the fewest at k = 0, then an average over a single snapshot, then the
    later step); prints the best five. Candidates: every snapshot, and (with `windows`) the
    weight means of every K consecutive snapshots that start at a quarter of the steps or later
    (single snapshots swing a lot between neighbours; their means are steadier). Scores of the
    means are cached in DIR/avg_val.tsv, so a rerun only scores new windows."""
    rows = []
    for line in open(run / "val.tsv"):
        st, j = line.split("\t", 1)
        v = json.loads(j)
        if (run / f"snap_{int(st):06d}.pt").exists():
            rows.append((v["missed0"] + v["missed1"] + v["missed2"], v["missed0"], 1, -int(st), v, None))
    snaps = sorted(-r[3] for r in rows)
    names = ("val_pos", "val_kw", "val_speech")
    if windows and data is not None and all((data / f"{n}.idx.npy").exists() for n in names):
        cache = {}
        if (run / "avg_val.tsv").exists():
            for line in open(run / "avg_val.tsv"):
                lo, hi, j = line.split("\t", 2)
                cache[(int(lo), int(hi))] = json.loads(j)
        vs = None
        for k in windows:
            for i in range(len(snaps) - k + 1):
                w = snaps[i:i + k]
                if k < 2 or w[0] * 4 < snaps[-1]:
                    continue
                if (w[0], w[-1]) not in cache:
                    vs = vs or {n: FeatureSet(data, n) for n in names}
                    avg, cfg = average(run, w)
                    v = validate(net(cfg, avg), vs)
                    cache[(w[0], w[-1])] = v
                    with open(run / "avg_val.tsv", "a") as f:
                        f.write(f"{w[0]}\t{w[-1]}\t{json.dumps(v)}\n")
                    print(f"val mean of {k} snapshots {w[0]}..{w[-1]}: {v}", flush=True)
                v = cache[(w[0], w[-1])]
                rows.append((v["missed0"] + v["missed1"] + v["missed2"], v["missed0"], 0, -w[-1], v, w))
    rows.sort(key=lambda r: r[:4])
    for r in rows[:5]:
        what = f"mean of {r[5][0]}..{r[5][-1]}" if r[5] else f"snapshot {-r[3]}"
        print(f"val best: {what} {r[4]}", flush=True)
    best = rows[0]
    if best[5] is None:
        s = torch.load(run / f"snap_{-best[3]:06d}.pt", weights_only=False)
        s["selected"] = {"step": -best[3], "val": best[4]}
        what = f"step {-best[3]}"
    else:
        avg, cfg = average(run, best[5])
        s = {"model": avg, "cfg": cfg, "steps": best[5][-1], "averaged": [best[5][0], best[5][-1]],
             "selected": {"averaged": best[5], "val": best[4]}}
        what = f"mean of snapshots {best[5][0]}..{best[5][-1]}"
    torch.save(s, run / "best.pt")
    print(f"{run / 'best.pt'}: {what}", flush=True)


if __name__ == "__main__":
    main()
