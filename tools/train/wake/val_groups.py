"""Validation misses (train.py's metric: misses at the lowest threshold with at most 0, 1, 2 false
accepts on the validation sets) of checkpoints alone and of the logit means of every pair of them
(an ensemble `export.py --ckpt A B` writes), float models; or, with --tflite, of exported int8
files run by TFLite's reference kernels (ai-edge-litert, = `sotto wake`) on the validation
features; --window sets the detector's sliding window (invocations averaged).

Usage: python val_groups.py --data ~/.cache/sotto-wake/alexa CKPT.pt [CKPT.pt ...]
       python val_groups.py --data ~/.cache/sotto-wake/alexa --tflite MODEL.tflite [...]
"""

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train as T  # noqa: E402

VAL = ("val_pos", "val_kw", "val_speech")


def window_sums(raw, w):
    """Sums of `w` consecutive uint8 probabilities (as `train.stream_sums`)."""
    if len(raw) < w:
        return np.zeros(0, np.int64)
    c = np.concatenate([[0], np.cumsum(raw)])
    return c[w:] - c[:-w]


def misses(pos_raw, neg_raw, w):
    """Missed positives at the lowest window-sum threshold with <= k false accepts, k = 0, 1, 2."""
    P = [window_sums(r, w) for r in pos_raw]
    N = [window_sums(r, w) for r in neg_raw]
    pmax = np.array([v.max() if len(v) else -1 for v in P])
    out = []
    for k in (0, 1, 2):
        lo, hi = 0, 255 * w
        while lo < hi:
            mid = (lo + hi) // 2
            if T.false_accepts(N, mid) <= k:
                hi = mid
            else:
                lo = mid + 1
        out.append(int((pmax <= lo).sum()))
    return out


def to_u8(logits):
    p = 1 / (1 + np.exp(-logits))
    return np.minimum(np.floor(p * 256 + 0.5), 255).astype(np.int64)


def tflite_raw(model, clip):
    """uint8 outputs of an exported model on one clip's features (fresh state)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_path=str(model), experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                     num_threads=1)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    stride = inp["shape"][1]
    raw = []
    for k in range(len(clip) // stride):
        # The u8 features are the int8 input + 128 (zero point -128).
        x = clip[k * stride:(k + 1) * stride].astype(np.int16) - 128
        it.set_tensor(inp["index"], x.astype(np.int8)[None])
        it.invoke()
        raw.append(int(it.get_tensor(out["index"]).item()))
    return np.array(raw, np.int64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--tflite", action="store_true", help="the arguments are exported .tflite files")
    ap.add_argument("--window", type=int, default=5)
    ap.add_argument("models", type=Path, nargs="+")
    a = ap.parse_args()
    torch.set_num_threads(1)
    vs = {n: T.FeatureSet(a.data, n) for n in VAL}
    pos = [vs["val_pos"].clip(i) for i in range(len(vs["val_pos"]))]
    neg = [fs.clip(i) for n, fs in vs.items() if n != "val_pos" for i in range(len(fs))]
    if a.tflite:
        for m in a.models:
            print(json.dumps({"tflite": str(m), "missed012": misses(
                [tflite_raw(m, c) for c in pos], [tflite_raw(m, c) for c in neg], a.window)}), flush=True)
        return
    logits = {}
    for c in a.models:
        ck = torch.load(c, weights_only=False)
        m = T.net(ck["cfg"], ck["model"])
        m.eval()
        with torch.no_grad():
            f = lambda clip: m.stream_logits(  # noqa: E731
                torch.from_numpy(np.ascontiguousarray(clip)).float()[None] * T.SCALE)[0].numpy()
            logits[c] = ([f(x) for x in pos], [f(x) for x in neg])
    for g in [(c,) for c in a.models] + list(itertools.combinations(a.models, 2)):
        mean = [[sum(logits[c][s][i] for c in g) / len(g) for i in range(len(logits[g[0]][s]))]
                for s in (0, 1)]
        print(json.dumps({"members": [str(c) for c in g], "missed012": misses(
            [to_u8(x) for x in mean[0]], [to_u8(x) for x in mean[1]], a.window)}), flush=True)


if __name__ == "__main__":
    main()
