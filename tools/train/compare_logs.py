"""Mean training losses of two runs over windows of W steps, at equal steps: for pilots trained from scratch with
the same seed, data and batching as a reference run, so that both see the same batches in the same order. Also
prints each run's PyTorch greedy dev WER at its epoch ends. Run from tools/train:

    python compare_logs.py results/second/log.csv runs/stack12/log.csv --window 100
    python compare_logs.py results/second/log.csv results/conf1/log.csv --window 100
"""
import argparse
import csv
import os


def load(path):
    steps, dev = {}, {}
    for row in csv.DictReader(open(path)):
        if row["step"] and row["rnnt"]:
            steps[int(row["step"])] = (float(row["rnnt"]), float(row["ctc"]), float(row["train_minutes"]))
        if row.get("dev_wer_all"):
            dev[int(row["epoch"])] = (float(row["dev_wer_all"]), float(row["train_minutes"] or "nan"))
    return steps, dev


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reference", help="log.csv of the reference run")
    ap.add_argument("pilot", help="log.csv of the pilot")
    ap.add_argument("--window", type=int, default=100, help="steps per row")
    a = ap.parse_args()
    (ra, da), (rb, db) = load(a.reference), load(a.pilot)
    na, nb = (os.path.basename(os.path.dirname(os.path.abspath(p))) for p in (a.reference, a.pilot))
    for s0 in range(0, max(rb), a.window):
        ks = [k for k in range(s0 + 1, s0 + a.window + 1) if k in ra and k in rb]
        if not ks:
            continue
        f = lambda d, i: sum(d[k][i] for k in ks) / len(ks)
        print(f"steps {s0 + 1}-{s0 + a.window}: rnnt {na} {f(ra, 0):7.2f} {nb} {f(rb, 0):7.2f} | "
              f"ctc {f(ra, 1):7.2f} {f(rb, 1):7.2f}")
    for e in sorted(set(da) | set(db)):
        cell = lambda d: f"{d[e][0]:6.2f} % at {d[e][1]:6.1f} min" if e in d else "—"
        print(f"epoch {e} dev greedy: {na} {cell(da)} | {nb} {cell(db)}")


if __name__ == "__main__":
    main()
