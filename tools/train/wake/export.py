"""Checkpoint -> int8 streaming TFLite graph description (JSON) -> `sotto wake-tool export`
writes the .tflite -> microWakeWord v2 manifest.

The graph mirrors microWakeWord's streaming models op for op (what TFLite, TFLite-Micro,
ESPHome and sotto all run): a CALL_ONCE init graph fills one resource variable per layer with
"zero" (the zero point); each invocation takes [1, 3, 40] int8 features, and per layer
READ_VARIABLE -> CONCATENATION(state, new) -> STRIDED_SLICE (the newest k-1 rows) ->
ASSIGN_VARIABLE, then the convolution over the concatenated window. BNs are folded; weights are
int8 symmetric per output channel, biases int32, activations int8 per tensor from calibration
ranges (post-training quantization on training windows).

Usage: python export.py --ckpt DIR/run/final.pt --data DIR --out OUT_DIR --name alexa \
          --wake-word Alexa [--cutoff 0.9] [--sotto target/release/sotto]
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import WakeNet  # noqa: E402
import train as T  # noqa: E402

IN_SCALE = np.float32(0.10196079)
OPS = {"ADD": (0, 2), "CALL_ONCE": (129, 1), "VAR_HANDLE": (142, 1), "RESHAPE": (22, 1), "READ_VARIABLE": (143, 1),
       "CONCATENATION": (2, 2), "STRIDED_SLICE": (45, 2), "ASSIGN_VARIABLE": (144, 1),
       "CONV_2D": (3, 3), "DEPTHWISE_CONV_2D": (4, 3), "FULLY_CONNECTED": (9, 4),
       "LOGISTIC": (14, 2), "QUANTIZE": (114, 1)}
INT32, UINT8, INT8, RESOURCE = 2, 3, 9, 13


def fold(conv_w, bn, bias=None):
    """conv weight [O, ...] and BN -> (w, b) in float64."""
    g = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach().double()
    w = conv_w.detach().double() * g.view(-1, *([1] * (conv_w.dim() - 1)))
    b0 = bias.detach().double() if bias is not None else torch.zeros_like(g)
    b = (b0 - bn.running_mean.double()) * g + bn.bias.detach().double()
    return w.numpy(), b.numpy()


def float_layers(m: WakeNet):
    """Folded float layers: list of (kind, w, b) in streaming order."""
    L = [("conv1", *fold(m.conv1.weight, m.bn1))]
    for dw, pw, bn in zip(m.dw, m.pw, m.bn):
        L.append(("dw", dw.weight.detach().double().numpy(), dw.bias.detach().double().numpy()))
        L.append(("pw", *fold(pw.weight, bn)))
    L.append(("head", m.head.weight.detach().double().numpy(), m.head.bias.detach().double().numpy()))
    return L


def forward_ranges(layers, x):
    """Float forward of folded layers on x [B, T, 40]; min/max of every layer output."""
    h = torch.from_numpy(x).double().transpose(1, 2)
    ranges = []
    for kind, w, b in layers:
        w_t, b_t = torch.from_numpy(w), torch.from_numpy(b)
        if kind == "conv1":
            h = torch.relu(torch.nn.functional.conv1d(h, w_t, b_t, stride=3))
        elif kind == "dw":
            h = torch.nn.functional.conv1d(h, w_t, b_t, groups=h.shape[1])
        elif kind == "pw":
            h = torch.relu(torch.nn.functional.conv1d(h, w_t, b_t))
        else:
            h = torch.nn.functional.conv1d(h, w_t, b_t)
        ranges.append((float(h.min()), float(h.max())))
    return ranges, h


def qparams(lo, hi, relu):
    """Per-tensor int8 (scale, zero point) covering [lo, hi] (and 0)."""
    if relu:
        return np.float32(max(hi, 1e-6) / 255.0), -128
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    s = np.float32(max(hi - lo, 1e-6) / 255.0)
    zp = int(np.clip(np.round(-128 - lo / float(s)), -128, 127))
    return s, zp


def qweights(w, axis_out=0):
    """Symmetric per-output-channel int8 weights; returns (q int8, scales float32[O])."""
    O = w.shape[axis_out]
    wm = np.moveaxis(w, axis_out, 0).reshape(O, -1)
    s = (np.maximum(np.abs(wm).max(1), 1e-12) / 127.0).astype(np.float32)
    q = np.clip(np.round(wm / s.astype(np.float64)[:, None]), -127, 127).astype(np.int8)
    return np.moveaxis(q.reshape(np.moveaxis(w, axis_out, 0).shape), 0, axis_out), s


class Graph:
    def __init__(self, short_names=False):
        # short_names: tensors named by their index (except input and output), which saves
        # ≈ 18 bytes a tensor; an ensemble needs it to stay under 64 KB.
        self.short_names = short_names
        self.buffers = [b""]
        self.codes = []
        self.sub = [{"name": "main", "tensors": [], "inputs": [], "outputs": [], "operators": []},
                    {"name": "NoOp", "tensors": [], "inputs": [], "outputs": [], "operators": []}]

    def buf(self, arr):
        self.buffers.append(np.ascontiguousarray(arr).tobytes())
        return len(self.buffers) - 1

    def tensor(self, g, name, shape, dtype, data=None, scale=None, zp=None, qdim=0):
        if self.short_names and name not in ("input_audio", "probability"):
            name = str(len(self.sub[g]["tensors"]))
        t = {"name": name, "shape": [int(s) for s in shape], "dtype": dtype,
             "buffer": self.buf(data) if data is not None else 0, "quant": None}
        if scale is not None:
            sc = np.atleast_1d(np.asarray(scale, np.float32))
            z = np.atleast_1d(np.asarray(zp if zp is not None else 0, np.int64))
            if len(z) == 1 and len(sc) > 1:
                z = np.zeros(len(sc), np.int64)
            t["quant"] = {"scale": [float(v) for v in sc], "zero_point": [int(v) for v in z],
                          "quantized_dimension": qdim}
        self.sub[g]["tensors"].append(t)
        return len(self.sub[g]["tensors"]) - 1

    def op(self, g, name, inputs, outputs, options=None):
        code = OPS[name]
        if list(code) not in self.codes:
            self.codes.append(list(code))
        self.sub[g]["operators"].append({"opcode_index": self.codes.index(list(code)), "inputs": inputs,
                                         "outputs": outputs, "options": options or {"type": "None"}})

    def json(self, description):
        def hexed(b):
            return b.hex()
        return {"description": description, "operator_codes": self.codes,
                "buffers": [hexed(b) for b in self.buffers], "subgraphs": self.sub}


POINTWISE = "fc"  # "fc": FULLY_CONNECTED (+RESHAPE) for conv1 and 1x1 convs; "conv": CONV_2D


def dense_or_conv(G, name, x, w4, b, s_x, s_o, zp_o, relu, stride_h=1):
    """A layer whose kernel covers its whole input window ([1, H, 1, C] -> [1, 1, 1, O]), with
    OHWI weights w4: CONV_2D (VALID), or FULLY_CONNECTED over the flattened window then RESHAPE
    back to 4-D (the form meant to requantize alike in TFLite's optimised and reference kernels,
    see README)."""
    O = w4.shape[0]
    wq, ws = qweights(w4, 0)
    bs = np.float64(s_x) * ws.astype(np.float64)
    bt = G.tensor(0, f"{name}/b", [O], INT32, np.round(b / bs).astype("<i4"),
                  scale=bs.astype(np.float32), zp=0, qdim=0)
    out4 = G.tensor(0, f"{name}/out", [1, 1, 1, O], INT8, scale=s_o, zp=zp_o)
    if POINTWISE == "conv":
        wt = G.tensor(0, f"{name}/w", wq.shape, INT8, wq, scale=ws, zp=0, qdim=0)
        G.op(0, "CONV_2D", [x, wt, bt], [out4],
             {"type": "Conv2D", "padding": 1, "stride_w": 1, "stride_h": stride_h,
              "activation": 1 if relu else 0, "dilation_w": 1, "dilation_h": 1})
        return out4
    w2 = wq.reshape(O, -1)
    wt = G.tensor(0, f"{name}/w", w2.shape, INT8, w2, scale=ws, zp=0, qdim=0)
    out2 = G.tensor(0, f"{name}/out2d", [1, O], INT8, scale=s_o, zp=zp_o)
    G.op(0, "FULLY_CONNECTED", [x, wt, bt], [out2],
         {"type": "FullyConnected", "activation": 1 if relu else 0, "keep_num_dims": False})
    shape = G.tensor(0, f"{name}/shape4", [4], INT32, np.array([1, 1, 1, O], "<i4"))
    G.op(0, "RESHAPE", [out2, shape], [out4])
    return out4


def build(layers, ranges, more=(), mean_range=None):
    """The streaming int8 graph of folded layers with calibration ranges. With `more` (further
    (layers, ranges) of other models on the same input), an ensemble: every model is a branch
    with its own states and names prefixed `bI_`, each dense head is scaled by 1/n, and ADD sums
    the heads, so the output is the logistic of the models' mean logit (`mean_range`: its
    calibration range)."""
    G = Graph(short_names=bool(more))
    branches = [(layers, ranges)] + list(more)
    n = len(branches)
    heads = []
    # Ops must be ordered: CALL_ONCE first (like the converter), then VAR_HANDLEs.
    G.op(0, "CALL_ONCE", [], [], {"type": "CallOnce", "init_subgraph_index": 1})
    inp = G.tensor(0, "input_audio", [1, 3, 40], INT8, scale=IN_SCALE, zp=-128)
    G.sub[0]["inputs"] = [inp]
    states = []  # (name, shape, scale, zp)

    def state_var(name, shape, scale, zp):
        h = G.tensor(0, f"{name}/states", [], RESOURCE)
        G.op(0, "VAR_HANDLE", [], [h], {"type": "VarHandle", "container": "", "shared_name": f"{name}/states"})
        states.append((name, shape, scale, zp))
        return h

    def stream(name, x, x_shape, k, scale, zp):
        """Ring buffer of the last k-1 rows of x: returns the [1, k, 1, C] window tensor."""
        C = x_shape[3]
        h = state_var(name, [1, k - 1, 1, C], scale, zp)
        r = G.tensor(0, f"{name}/read", [1, k - 1, 1, C], INT8, scale=scale, zp=zp)
        G.op(0, "READ_VARIABLE", [h], [r])
        cat = G.tensor(0, f"{name}/concat", [1, k - 1 + x_shape[1], 1, C], INT8, scale=scale, zp=zp)
        G.op(0, "CONCATENATION", [r, x], [cat], {"type": "Concatenation", "axis": 1, "activation": 0})
        begin = G.tensor(0, f"{name}/begin", [4], INT32, np.array([0, x_shape[1], 0, 0], "<i4"))
        end = G.tensor(0, f"{name}/end", [4], INT32, np.array([1, k - 1 + x_shape[1], 1, C], "<i4"))
        strides = G.tensor(0, f"{name}/strides", [4], INT32, np.array([1, 1, 1, 1], "<i4"))
        sl = G.tensor(0, f"{name}/slice", [1, k - 1, 1, C], INT8, scale=scale, zp=zp)
        G.op(0, "STRIDED_SLICE", [cat, begin, end, strides], [sl],
             {"type": "StridedSlice", "begin_mask": 13, "end_mask": 15, "ellipsis_mask": 0,
              "new_axis_mask": 0, "shrink_axis_mask": 0})
        G.op(0, "ASSIGN_VARIABLE", [h, sl], [])
        return cat

    shape_c = G.tensor(0, "expand_dims/shape", [4], INT32, np.array([1, 3, 1, 40], "<i4"))
    x = G.tensor(0, "expand_dims", [1, 3, 1, 40], INT8, scale=IN_SCALE, zp=-128)
    G.op(0, "RESHAPE", [inp, shape_c], [x])
    x_in = x
    for bi, (layers, ranges) in enumerate(branches):
        heads.append(branch(G, "" if n == 1 else f"b{bi}_", layers, ranges, x_in, n, state_var, stream))
    if n > 1:
        lo, hi = mean_range
        s_o, zp_o = qparams(lo, hi, False)
        acc = heads[0]
        for k, h in enumerate(heads[1:]):
            out = G.tensor(0, "dense/out" if k == n - 2 else f"dense/sum{k}", [1, 1], INT8, scale=s_o, zp=zp_o)
            G.op(0, "ADD", [acc, h], [out], {"type": "Add", "activation": 0})
            acc = out
        finish(G, acc)

    # Init graph: every state variable := its zero point.
    for name, shape, scale, zp in states:
        h = G.tensor(1, f"{name}/states_init", [], RESOURCE)
        G.op(1, "VAR_HANDLE", [], [h], {"type": "VarHandle", "container": "", "shared_name": f"{name}/states"})
        c = G.tensor(1, f"{name}/zeros", shape, INT8, np.full(shape, zp, np.int8), scale=scale, zp=zp)
        G.op(1, "ASSIGN_VARIABLE", [h, c], [])
    # READ_VARIABLEs after all VAR_HANDLEs is not required by TFLite; keep converter order anyway:
    ops = G.sub[0]["operators"]
    G.sub[0]["operators"] = [ops[0]] + [o for o in ops[1:] if G.codes[o["opcode_index"]][0] == 142] + \
        [o for o in ops[1:] if G.codes[o["opcode_index"]][0] != 142]
    return G


def finish(G, logit):
    """logit -> LOGISTIC -> uint8 probability, the graph's output."""
    p8 = G.tensor(0, "logistic", [1, 1], INT8, scale=np.float32(1 / 256), zp=-128)
    G.op(0, "LOGISTIC", [logit], [p8])
    pu8 = G.tensor(0, "probability", [1, 1], UINT8, scale=np.float32(1 / 256), zp=0)
    G.op(0, "QUANTIZE", [p8], [pu8])
    G.sub[0]["outputs"] = [pu8]


def branch(G, pre, layers, ranges, x, n, state_var, stream):
    """One model's layers on the input tensor x. A single model (n = 1) ends in the output;
    in an ensemble, returns its dense head's output (the logit / n)."""
    x_shape, s_x, zp_x = [1, 3, 1, 40], IN_SCALE, -128
    li = 0
    for (kind, w, b), (lo, hi) in zip(layers, ranges):
        name = f"{pre}layer{li}_{kind}"
        li += 1
        if kind == "conv1":
            # The first layer sees 2 state frames + 3 new = its 5-frame kernel.
            h = state_var(f"{pre}stream_conv1", [1, 2, 1, 40], s_x, zp_x)
            r = G.tensor(0, f"{pre}stream_conv1/read", [1, 2, 1, 40], INT8, scale=s_x, zp=zp_x)
            G.op(0, "READ_VARIABLE", [h], [r])
            cat = G.tensor(0, f"{pre}stream_conv1/concat", [1, 5, 1, 40], INT8, scale=s_x, zp=zp_x)
            G.op(0, "CONCATENATION", [r, x], [cat], {"type": "Concatenation", "axis": 1, "activation": 0})
            begin = G.tensor(0, f"{pre}stream_conv1/begin", [4], INT32, np.array([0, 3, 0, 0], "<i4"))
            end = G.tensor(0, f"{pre}stream_conv1/end", [4], INT32, np.array([1, 5, 1, 40], "<i4"))
            strides = G.tensor(0, f"{pre}stream_conv1/strides", [4], INT32, np.array([1, 1, 1, 1], "<i4"))
            sl = G.tensor(0, f"{pre}stream_conv1/slice", [1, 2, 1, 40], INT8, scale=s_x, zp=zp_x)
            G.op(0, "STRIDED_SLICE", [cat, begin, end, strides], [sl],
                 {"type": "StridedSlice", "begin_mask": 13, "end_mask": 15, "ellipsis_mask": 0,
                  "new_axis_mask": 0, "shrink_axis_mask": 0})
            G.op(0, "ASSIGN_VARIABLE", [h, sl], [])
            # torch conv1d weight [O, 40, 5] -> OHWI [O, 5, 1, 40]
            w4 = w.transpose(0, 2, 1)[:, :, None, :]
            s_o, zp_o = qparams(lo, hi, True)
            out = dense_or_conv(G, name, cat, w4, b, s_x, s_o, zp_o, relu=True, stride_h=3)
        elif kind == "dw":
            k = w.shape[2]
            C = w.shape[0]
            cat = stream(f"stream_{name}", x, x_shape, k, s_x, zp_x)
            # torch [C, 1, k] -> [1, k, 1, C], per channel along axis 3
            wq, ws = qweights(w[:, 0, :].T[None, :, None, :], 3)
            s_o, zp_o = qparams(lo, hi, False)
            wt = G.tensor(0, f"{name}/w", wq.shape, INT8, wq, scale=ws, zp=0, qdim=3)
            bs = np.float64(s_x) * ws.astype(np.float64)
            bt = G.tensor(0, f"{name}/b", [C], INT32, np.round(b / bs).astype("<i4"),
                          scale=bs.astype(np.float32), zp=0, qdim=0)
            out = G.tensor(0, f"{name}/out", [1, 1, 1, C], INT8, scale=s_o, zp=zp_o)
            G.op(0, "DEPTHWISE_CONV_2D", [cat, wt, bt], [out],
                 {"type": "DepthwiseConv2D", "padding": 1, "stride_w": 1, "stride_h": 1,
                  "depth_multiplier": 1, "activation": 0, "dilation_w": 1, "dilation_h": 1})
        elif kind == "pw":
            s_o, zp_o = qparams(lo, hi, True)
            out = dense_or_conv(G, name, x, w[:, :, 0][:, None, None, :], b, s_x, s_o, zp_o, relu=True)
        else:  # head: window of 5 steps -> flatten -> FC -> logistic -> uint8
            k = w.shape[2]
            C = w.shape[1]
            cat = stream(f"{pre}stream_head", x, x_shape, k, s_x, zp_x)
            fs = G.tensor(0, f"{pre}flatten/shape", [2], INT32, np.array([1, k * C], "<i4"))
            flat = G.tensor(0, f"{pre}flatten", [1, k * C], INT8, scale=s_x, zp=zp_x)
            G.op(0, "RESHAPE", [cat, fs], [flat])
            # torch [1, C, k] -> [1, k*C] in (time, channel) order; / n in an ensemble
            wf = w[0].T.reshape(1, k * C) / n
            ws = np.float32(max(np.abs(wf).max(), 1e-12) / 127.0)
            wq = np.clip(np.round(wf / np.float64(ws)), -127, 127).astype(np.int8)
            wt = G.tensor(0, f"{pre}dense/w", [1, k * C], INT8, wq, scale=ws, zp=0)
            bs = np.float64(s_x) * np.float64(ws)
            bt = G.tensor(0, f"{pre}dense/b", [1], INT32, np.round(b / n / bs).astype("<i4"), scale=np.float32(bs), zp=0)
            s_o, zp_o = qparams(lo / n, hi / n, False)
            logit = G.tensor(0, f"{pre}dense/out", [1, 1], INT8, scale=s_o, zp=zp_o)
            G.op(0, "FULLY_CONNECTED", [flat, wt, bt], [logit],
                 {"type": "FullyConnected", "activation": 0, "keep_num_dims": False})
            if n == 1:
                finish(G, logit)
            return logit
        x, x_shape, s_x, zp_x = out, [1, 1, 1, len(b)], s_o, zp_o
    raise ValueError("model without a dense head")


def calibration(data: Path, model: WakeNet, n=512, seed=7):
    rng = np.random.default_rng(seed)
    names = [n_ for n_ in ["pos_tts", "pos_real", "neg_near", "neg_kw", "neg_speech", "neg_noise"]
             if (data / f"{n_}.idx.npy").exists()]
    sets = {k: T.FeatureSet(data, k) for k in names}
    Tn = 3 * (model.receptive_steps() + 24 - 1) + 5
    xs = []
    for i in range(n):
        k = names[i % len(names)]
        x, _ = sets[k].window(rng, Tn, positive=k.startswith("pos"))
        xs.append(x)
    return np.stack(xs).astype(np.float32) * np.float32(IN_SCALE)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", type=Path, nargs="+", required=True,
                    help="checkpoint; several: one ensemble .tflite (mean logit of the models)")
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--wake-word", required=True)
    ap.add_argument("--cutoff", type=float, default=0.9)
    ap.add_argument("--window", type=int, default=5)
    ap.add_argument("--pointwise", choices=["fc", "conv"], default="fc")
    ap.add_argument("--sotto", default=str(Path(__file__).resolve().parents[3] / "target/release/sotto"))
    a = ap.parse_args()
    global POINTWISE
    POINTWISE = a.pointwise
    built, logits, windows = [], [], {}
    for c in a.ckpt:
        s = torch.load(c, weights_only=False)
        m = T.net(s["cfg"], s["model"])
        m.eval()
        layers = float_layers(m)
        # The same calibration windows for every member (read once per window length: the
        # feature sets are hundreds of MB).
        R = m.receptive_steps()
        if R not in windows:
            windows[R] = calibration(a.data, m)
        ranges, out = forward_ranges(layers, windows[R])
        built.append((layers, ranges))
        logits.append(out)
    mean = sum(logits) / len(logits)
    G = build(*built[0], more=built[1:], mean_range=(float(mean.min()), float(mean.max())))
    a.out.mkdir(parents=True, exist_ok=True)
    desc = a.out / f"{a.name}.graph.json"
    desc.write_text(json.dumps(G.json(f"sotto wake-train: {a.wake_word}")))
    tfl = a.out / f"{a.name}.tflite"
    # sotto writes the file and estimates TFLite-Micro's arena for it (sotto_micro::tflite::arena).
    info = json.loads(subprocess.run([a.sotto, "wake-tool", "export", str(desc), "-o", str(tfl)],
                                     check=True, capture_output=True, text=True).stdout)
    desc.unlink()
    manifest = {"type": "micro", "wake_word": a.wake_word, "author": "sotto wake-train",
                "model": tfl.name, "trained_languages": ["en"],
                "version": 2,
                "micro": {"probability_cutoff": a.cutoff, "sliding_window_size": a.window,
                          "feature_step_size": 10, "tensor_arena_size": info["tensor_arena_size"],
                          "minimum_esphome_version": "2024.7.0"}}
    (a.out / f"{a.name}.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"{tfl}: {tfl.stat().st_size} bytes, TFLite-Micro arena estimate {info['tensor_arena_size']} bytes")


if __name__ == "__main__":
    main()
