"""Mean training losses of conf1 (conformer pilot) and second (LSTM, from scratch) over windows of W steps at
equal steps (same data order: same seed, data and batching). Run from tools/train: python results/conf1/compare.py 100"""
import csv, sys
def load(p):
    r = {}
    for row in csv.DictReader(open(p)):
        if row["step"] and row["rnnt"]:
            r[int(row["step"])] = (float(row["rnnt"]), float(row["ctc"]), float(row["loss"]))
    return r
a = load("results/second/log.csv"); b = load("results/conf1/log.csv")
W = int(sys.argv[1]) if len(sys.argv) > 1 else 50
top = max(b)
for s0 in range(0, top, W):
    ks = [k for k in range(s0 + 1, s0 + W + 1) if k in a and k in b]
    if not ks: continue
    f = lambda d, i: sum(d[k][i] for k in ks) / len(ks)
    print(f"steps {s0+1}-{s0+W}: rnnt lstm {f(a,0):7.2f} conformer {f(b,0):7.2f} | ctc {f(a,1):7.2f} {f(b,1):7.2f}")
