"""Streaming wake-word net (microWakeWord's MixedNet layout, one kernel per block).

Non-streaming form on [B, T, 40] features (real values = 0.10196079 * (u8)):
  conv1  Conv1d(40 -> c1, k=5, stride 3) + BN + ReLU         (state: 2 input frames)
  blocks depthwise Conv1d(k_i, bias) -> pointwise (no bias) + BN + ReLU  (state: k_i - 1 steps)
  head   the last 5 steps flattened -> Linear -> sigmoid      (state: 4 steps)
Every layer is a valid (unpadded) causal convolution, so output j of the whole-sequence pass is
exactly what the streaming graph (ring buffers in resource variables, like the zoo models)
computes at its invocation j + const once its state is warm. `export.py` folds the BNs and
quantizes to int8.
"""

import torch
import torch.nn as nn


class WakeNet(nn.Module):
    def __init__(self, c1=32, channels=(64, 64, 64, 64), kernels=(5, 9, 13, 21), head=5):
        super().__init__()
        self.cfg = dict(c1=c1, channels=list(channels), kernels=list(kernels), head=head)
        self.conv1 = nn.Conv1d(40, c1, 5, stride=3, bias=False)
        self.bn1 = nn.BatchNorm1d(c1)
        self.dw = nn.ModuleList()
        self.pw = nn.ModuleList()
        self.bn = nn.ModuleList()
        cin = c1
        for c, k in zip(channels, kernels):
            self.dw.append(nn.Conv1d(cin, cin, k, groups=cin, bias=True))
            self.pw.append(nn.Conv1d(cin, c, 1, bias=False))
            self.bn.append(nn.BatchNorm1d(c))
            cin = c
        self.head = nn.Conv1d(cin, 1, head)  # = FULLY_CONNECTED over the flattened last 5 steps

    def receptive_steps(self):
        """Output steps lost at the start of a sequence (valid convolutions)."""
        return sum(k - 1 for k in self.cfg["kernels"]) + self.cfg["head"] - 1

    def forward(self, x):
        """x: [B, T, 40] real features -> logits [B, S] (S = (T-5)//3 + 1 - receptive_steps)."""
        h = torch.relu(self.bn1(self.conv1(x.transpose(1, 2))))
        for dw, pw, bn in zip(self.dw, self.pw, self.bn):
            h = torch.relu(bn(pw(dw(h))))
        return self.head(h).squeeze(1)

    def stream_logits(self, x):
        """What the streaming graph computes from fresh (zero) state, one logit per invocation:
        x [B, N, 40] -> [B, N // 3]. Every ring buffer starts at the zero point (real 0), which
        is zero left padding of every layer's input (2 frames for conv1, k - 1 steps per
        depthwise layer, head - 1 steps for the head)."""
        pad = torch.nn.functional.pad
        h = torch.relu(self.bn1(self.conv1(pad(x.transpose(1, 2), (2, 0)))))
        for dw, pw, bn, k in zip(self.dw, self.pw, self.bn, self.cfg["kernels"]):
            h = torch.relu(bn(pw(dw(pad(h, (k - 1, 0))))))
        return self.head(pad(h, (self.cfg["head"] - 1, 0))).squeeze(1)

    def last_frame(self, steps):
        """Index of the last input frame seen by output step `steps` (tensor or int)."""
        return 3 * (steps + self.receptive_steps()) + 4
