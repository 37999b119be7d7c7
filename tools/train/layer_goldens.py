#!/usr/bin/env python3
"""Golden outputs of PyTorch layers for sotto's Rust layer parity tests.

Writes small `.npz` files to `models/tests/data/layers/` (inputs, weights under their PyTorch
`state_dict()` names, outputs) and one tiny model file in the sotto format (`toy.safetensors`,
architecture `toy-lstm`, see `models/src/format/toy.rs`) with its golden output `toy_golden.npz`.

Deterministic: fixed seeds, CPU, float32. Rerun with
    tools/train/.venv/bin/python tools/train/layer_goldens.py
from the repository root; the outputs are committed.

Layouts follow the Rust side (time-major): sequences are [T, C]; 2-D feature maps [T, C, F].
Causal convolutions are expressed in PyTorch as explicit left zero padding + `padding=0` in time.
"""
import json
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "models" / "tests" / "data" / "layers"


def f32(t):
    return t.detach().cpu().numpy().astype(np.float32)


def save(name, **arrays):
    path = OUT / f"{name}.npz"
    np.savez(path, **{k: (v if isinstance(v, np.ndarray) else np.asarray(v)) for k, v in arrays.items()})
    return path


def state(module, prefix=""):
    return {prefix + k: f32(v) for k, v in module.state_dict().items()}


def linear():
    m = nn.Linear(24, 16)
    x = torch.randn(7, 24)
    save("linear", x=f32(x), y=f32(m(x)), **state(m))


def embedding():
    m = nn.Embedding(11, 6)
    ids = torch.tensor([0, 3, 10, 3, 7], dtype=torch.int64)
    save("embedding", ids=ids.numpy(), y=f32(m(ids)), **state(m))


def layer_norm():
    m = nn.LayerNorm(20, eps=1e-5)
    with torch.no_grad():
        m.weight.normal_()
        m.bias.normal_()
    x = torch.randn(9, 20) * 3 + 1
    save("layer_norm", x=f32(x), y=f32(m(x)), eps=np.float32(1e-5), **state(m))


def activations():
    x = torch.linspace(-8, 8, 321)
    rows = torch.randn(6, 10) * 4
    save(
        "activations",
        x=f32(x),
        relu=f32(F.relu(x)),
        tanh=f32(torch.tanh(x)),
        sigmoid=f32(torch.sigmoid(x)),
        silu=f32(F.silu(x)),
        gelu_tanh=f32(F.gelu(x, approximate="tanh")),
        gelu_erf=f32(F.gelu(x, approximate="none")),
        rows=f32(rows),
        log_softmax=f32(F.log_softmax(rows, dim=-1)),
    )


def conv1d(name, cin, cout, k, stride, dilation, groups, left_pad, bias, t=23):
    m = nn.Conv1d(cin, cout, k, stride=stride, dilation=dilation, groups=groups, bias=bias)
    x = torch.randn(t, cin)
    y = m(F.pad(x.T.unsqueeze(0), (left_pad, 0)))[0].T  # [T', cout]
    cfg = np.array([cin, cout, k, stride, dilation, groups, left_pad, int(bias)], dtype=np.int64)
    save(name, config=cfg, x=f32(x), y=f32(y), **state(m))


def lstm(name, inp, hidden, proj, layers, t=31):
    m = nn.LSTM(inp, hidden, num_layers=layers, proj_size=proj, batch_first=True)
    x = torch.randn(t, inp)
    y, _ = m(x.unsqueeze(0))
    cfg = np.array([inp, hidden, proj, layers], dtype=np.int64)
    save(name, config=cfg, x=f32(x), y=f32(y[0]), **state(m))


def frame_stack():
    x = torch.randn(23, 5)
    s = 4
    y = x[: (x.shape[0] // s) * s].reshape(-1, s * x.shape[1])
    save("frame_stack", stack=np.int64(s), x=f32(x), y=f32(y))


class Toy(nn.Module):
    """`toy-lstm`: LSTM(I, H, proj_size=P) -> Linear(P, V) -> log_softmax."""

    def __init__(self, i, h, p, v):
        super().__init__()
        self.lstm = nn.LSTM(i, h, proj_size=p, batch_first=True)
        self.out = nn.Linear(p if p > 0 else h, v)

    def forward(self, x):
        y, _ = self.lstm(x)
        return F.log_softmax(self.out(y), dim=-1)


def toy():
    i, h, p, v = 20, 48, 16, 12
    m = Toy(i, h, p, v)
    x = torch.randn(40, i)
    y = m(x.unsqueeze(0))[0]
    meta = {
        "format_version": 1,
        "architecture": "toy-lstm",
        "hyperparameters": {"input_dim": i, "hidden": h, "proj": p, "vocab_size": v},
        "features": None,
        "tokens": [f"t{k}" for k in range(v)],
        "license": "Apache-2.0",
        "provenance": {"recipe": "tools/train/layer_goldens.py", "notes": "random weights, torch.manual_seed(0)",
                       "torch": torch.__version__},
    }
    tensors = {k: v.detach().contiguous() for k, v in m.state_dict().items()}
    save_file(tensors, str(OUT / "toy.safetensors"), metadata={"sotto": json.dumps(meta)})
    save("toy_golden", x=f32(x), y=f32(y))


def main():
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    linear()
    embedding()
    layer_norm()
    activations()
    conv1d("conv1d_causal", 6, 8, 3, 1, 2, 1, 4, True)
    conv1d("conv1d_depthwise", 8, 8, 5, 1, 1, 8, 4, False)
    conv1d("conv1d_strided", 4, 6, 4, 2, 1, 2, 0, True)
    lstm("lstm_proj", 16, 32, 12, 2)
    lstm("lstm", 10, 20, 0, 1)
    frame_stack()
    toy()
    total = sum(f.stat().st_size for f in OUT.iterdir())
    print(f"wrote {len(list(OUT.iterdir()))} files, {total} bytes, to {OUT.relative_to(ROOT)} (torch {torch.__version__})")


if __name__ == "__main__":
    main()
