"""Training cost per step of encoder variants (issue 11, "efficiency"): the same real training batches through
forward + losses + backward + Adam step, timed per variant. Prints audio seconds trained per wall second (one
process, `--threads` threads) and the speed-up over the `bpe2` configuration.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench_step.py --config configs/bpe2.json --threads 1 [--batches 6]

Variants: the configuration as it is (f32), the same with bf16 autocast (oneDNN; this CPU has AMX-BF16) around the
encoder (the pruned-loss lattices need f32), frame stacking 4 / 12 instead of 8 (encoder frame rate 40 /
120 ms), and a causal conformer-style encoder (chunked self-attention + depthwise causal convolution, similar
parameter count). Only the cost is measured here; what a variant does to dev WER needs a training pilot. Run it on
an otherwise idle machine (pause training with `kill -STOP`, resume with `kill -CONT`): the numbers are wall time.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from model import StackedInput, Transducer
from train import HERE, SimpleJoiner, Split, losses, loss_weights, make_batches, tokenizer


class ConformerBlock(nn.Module):
    """Macaron FF/2 -> causal chunked self-attention -> causal depthwise conv -> FF/2 -> LayerNorm."""

    def __init__(self, d, heads, ff, kernel, chunk):
        super().__init__()
        self.chunk = chunk
        self.ff1 = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, ff), nn.SiLU(), nn.Linear(ff, d))
        self.ln_att = nn.LayerNorm(d)
        self.att = nn.MultiheadAttention(d, heads, batch_first=True)
        self.ln_conv = nn.LayerNorm(d)
        self.pw1 = nn.Linear(d, 2 * d)
        self.dw = nn.Conv1d(d, d, kernel, groups=d)
        self.kernel = kernel
        self.pw2 = nn.Linear(d, d)
        self.ff2 = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, ff), nn.SiLU(), nn.Linear(ff, d))
        self.ln_out = nn.LayerNorm(d)

    def forward(self, x):
        t = x.shape[1]
        x = x + 0.5 * self.ff1(x)
        # A frame sees its own chunk and everything before it (streaming with `chunk` frames of latency).
        c = torch.arange(t, device=x.device) // self.chunk
        mask = c[None, :] > c[:, None]
        h = self.ln_att(x)
        x = x + self.att(h, h, h, attn_mask=mask, need_weights=False)[0]
        h = F.glu(self.pw1(self.ln_conv(x)), dim=-1).transpose(1, 2)
        h = self.dw(F.pad(h, (self.kernel - 1, 0))).transpose(1, 2)
        x = x + self.pw2(F.silu(h))
        x = x + 0.5 * self.ff2(x)
        return self.ln_out(x)


class ConformerEncoder(StackedInput):
    """Drop-in for model.Encoder: CMVN -> stack S frames -> Linear -> N conformer blocks. The variant the table in
    README.md timed (unbounded left context, no position bias); `model.ConformerEncoder` is the trainable one."""

    def __init__(self, feat_dim, stack, d, layers, heads=4, ff=1024, kernel=15, chunk=4):
        super().__init__(feat_dim, stack)
        self.inp = nn.Linear(stack * feat_dim, d)
        self.blocks = nn.ModuleList(ConformerBlock(d, heads, ff, kernel, chunk) for _ in range(layers))

    def forward(self, x, lens, normalized=False):
        x = self.inp(self.stacked(x, normalized))
        for blk in self.blocks:
            x = blk(x)
        return x, lens // self.stack


class EncoderAutocast(nn.Module):
    """Runs the wrapped encoder under bf16 autocast and hands f32 back to the (f32) joiner and losses."""

    def __init__(self, enc):
        super().__init__()
        self.inner = enc

    def normalize(self, feats):
        return self.inner.normalize(feats)

    def forward(self, x, lens, normalized=False):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y, l = self.inner(x, lens, normalized)
        return y.float(), l


def build(cfg, variant):
    m = dict(cfg["model"])
    if variant.startswith("stack"):
        m["stack"] = int(variant[5:])
    model = Transducer(**m)
    enc_dim = m["proj"] or m["hidden"]
    if variant.startswith("conformer"):
        d = 256
        model.encoder = ConformerEncoder(m["feat_dim"], m["stack"], d, layers=6, ff=1024)
        model.joiner = type(model.joiner)(d, m["pred_dim"], m["joiner_dim"], m["vocab_size"])
        model.ctc = nn.Linear(d, m["vocab_size"])
        enc_dim = d
    if variant.endswith("bf16") or variant == "bf16_encoder":
        model.encoder = EncoderAutocast(model.encoder)
    head = SimpleJoiner(enc_dim, m["pred_dim"], m["vocab_size"])
    return model, head


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="configs/bpe2.json")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batches", type=int, default=6, help="timed steps per variant (after one warm-up step)")
    ap.add_argument("--variants", default="f32,bf16_encoder,stack4,stack12,conformer,conformer_bf16")
    a = ap.parse_args()
    cfg = json.load(open(a.config))
    tc = cfg["train"]
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    data = HERE / cfg["data"]
    sp = tokenizer(cfg, data)
    train = Split(data, "train", sp, tc.get("max_utt_seconds"))
    rng = np.random.default_rng(0)
    all_b = make_batches(train, tc["max_batch_frames"], rng)
    batches = [train.batch(all_b[i]) for i in range(a.batches + 1)]
    audio = sum(float(xl.sum()) for _, xl, _, _ in batches[1:]) / 100.0  # 10 ms frames
    print(f"{a.batches} timed batches, {audio:.1f} s of audio; threads {a.threads}; torch {torch.__version__}")
    base = None
    for v in a.variants.split(","):
        torch.manual_seed(0)
        model, head = build(cfg, v)
        params = list(model.parameters()) + list(head.parameters())
        n_enc = sum(p.numel() for p in model.encoder.parameters())
        opt = torch.optim.Adam(params, lr=1e-4)
        model.train()
        wr, ws, wc = loss_weights(10**6, tc)
        elapsed = 0.0
        for i, (x, xl, y, yl) in enumerate(batches):
            t0 = time.perf_counter()
            x = model.encoder.normalize(x)
            rnnt, simple, ctc = losses(model, x, xl, y, yl, tc["rnnt_impl"], head, tc.get("s_range", 5))
            loss = wr * rnnt.float() + ws * simple.float() + wc * ctc.float()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            if i > 0:
                elapsed += time.perf_counter() - t0
            if not torch.isfinite(loss):
                print(f"  {v}: non-finite loss at step {i}")
        rate = audio / elapsed
        base = base or rate
        print(f"{v:14s} encoder params {n_enc / 1e6:5.2f} M  {elapsed / a.batches:6.2f} s/step  "
              f"{rate:6.1f} audio-s/s  x{rate / base:.2f}  (last loss {float(loss):.1f})", flush=True)


if __name__ == "__main__":
    main()
