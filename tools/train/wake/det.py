"""Several models' DET curves (FRR vs false accepts per hour) in one plot, from the same clips,
computed from `sotto wake --scores --json` the way `sotto wake-eval` counts: a positive clip is
accepted when any sliding-window mean exceeds the threshold; on negative audio each detection
is a false accept, with a 2 s refractory period.

Usage: python det.py --positives DIR --negatives DIR --out det.svg MODEL.json [MODEL.json ...]
"""

import argparse
import json
import subprocess
from collections import defaultdict, deque
from pathlib import Path

import numpy as np


def window_sums(sotto, model, folder, window):
    out = subprocess.run([sotto, "wake", "--scores", "--json", "-m", str(model), str(folder)],
                         check=True, capture_output=True, text=True).stdout
    per = defaultdict(list)
    for line in out.splitlines():
        j = json.loads(line)
        per[j["file"]].append((j["time"], round(j["probability"] * 256)))
    res = {}
    for f, xs in per.items():
        w, sums = deque(maxlen=window), []
        for t, raw in xs:
            w.append(raw)
            if len(w) == window:
                sums.append((t, sum(w)))
        res[f] = sums
    return res


def curve(pos, neg, hours, window, refractory=2.0):
    pmax = np.array([max((s for _, s in v), default=-1) for v in pos.values()])
    pts = []
    for s in range(0, 255 * window + 1):
        frr = float(np.mean(pmax <= s))
        fa = 0
        for v in neg.values():
            quiet = -1e9
            for t, x in v:
                if x > s and t >= quiet:
                    fa += 1
                    quiet = t + refractory
        pts.append((s / (256 * window), frr, fa / hours))
    return pts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--positives", required=True)
    ap.add_argument("--negatives", required=True)
    ap.add_argument("--neg-hours", type=float, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--sotto", default=str(Path(__file__).resolve().parents[3] / "target/release/sotto"))
    ap.add_argument("models", nargs="+")
    a = ap.parse_args()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for m in a.models:
        w = json.loads(Path(m).read_text())["micro"]["sliding_window_size"]
        pts = curve(window_sums(a.sotto, m, a.positives, w), window_sums(a.sotto, m, a.negatives, w),
                    a.neg_hours, w)
        fa = [p[2] for p in pts]
        frr = [100 * p[1] for p in pts]
        best = {x: min((p[1] for p in pts if p[2] <= x), default=1.0) for x in (0.5, 1.0)}
        label = f"{m.split('/')[-3] if 'zoo' in m else Path(m).parent.name}/{Path(m).stem}: " \
                f"FRR {100 * best[0.5]:.1f}% @0.5 FA/h"
        ax.plot(fa, frr, drawstyle="steps-post", label=label)
        print(m, {k: round(100 * v, 2) for k, v in best.items()})
    ax.set_xlabel("false accepts per hour")
    ax.set_ylabel("false rejects (%)")
    ax.set_xlim(0, 5)
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(a.out)


if __name__ == "__main__":
    main()
