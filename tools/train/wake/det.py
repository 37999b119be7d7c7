"""Several models' DET curves (FRR vs false accepts per hour) in one plot, from the curves that
`sotto wake-eval --json` prints (no scoring again). `sotto wake-eval -m A -m B --det OUT.svg`
draws the same plot directly; this script combines runs made at different times, and prints
each model's FRR at the given false-accept rates.

Usage: python det.py --out det.svg EVAL.json [EVAL.json ...] [--label NAME ...] [--rates 0.5,1]
(each EVAL.json: one JSON object per line, as `sotto wake-eval --json` writes them)
"""

import argparse
import json


def frr_at(j, rate):
    """(missed, threshold, false accepts) at the lowest threshold with at most `rate` FA/h."""
    hours = j["negative_seconds"] / 3600
    ok = [c for c in j["curve"] if c[2] / hours <= rate]
    t, missed, fa = min(ok, key=lambda c: (c[1], c[2], -c[0])) if ok else (1.0, j["positives"], 0)
    return missed, t, fa


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--label", action="append", default=[], help="one per model, in order")
    ap.add_argument("--rates", default="0.5,1")
    ap.add_argument("--xmax", type=float, default=5.0)
    ap.add_argument("evals", nargs="+")
    a = ap.parse_args()
    runs = [json.loads(line) for f in a.evals for line in open(f) if line.strip()]
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    rates = [float(r) for r in a.rates.split(",")]
    for k, j in enumerate(runs):
        hours = j["negative_seconds"] / 3600
        n = j["positives"]
        label = a.label[k] if k < len(a.label) else j["manifest"]
        at = {r: frr_at(j, r) for r in rates}
        print(label, {r: f"{m}/{n} ({100 * m / n:.2f} %, cutoff {t:.6f}, {fa} FA)" for r, (m, t, fa) in at.items()})
        # Step curve: by rising threshold false accepts fall and misses rise.
        pts = sorted(((c[2] / hours, 100 * c[1] / n) for c in j["curve"]), key=lambda p: (p[0], -p[1]))
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        m05 = at[rates[0]][0]
        ax.plot(xs, ys, drawstyle="steps-post", lw=2,
                label=f"{label}: FRR {100 * m05 / n:.1f} % at ≤ {rates[0]:g} FA/h")
    ax.set_xlabel(f"false accepts per hour ({runs[0]['negative_seconds'] / 3600:.2f} h of negatives)")
    ax.set_ylabel(f"false rejects (%) of {runs[0]['positives']} clips")
    ax.set_xlim(0, a.xmax)
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(a.out)


if __name__ == "__main__":
    main()
