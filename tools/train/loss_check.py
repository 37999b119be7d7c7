"""How hard the training task is, per checkpoint: the RNN-T loss of the same training batches on clean features, under
each augmentation of the config (speed + noise, SpecAugment, both), and with the encoder in f32 vs bf16 autocast.

    python loss_check.py --config configs/bpe4.json --ckpt runs/bpe4/epoch20.pt --batches 12

Issue 11's underfitting question: if augmentation multiplies the loss, a small model that cannot fit even its clean
training data (README, "Where the errors come from") spends its capacity on the distortions. Loss per utterance,
eval mode (no dropout in these models anyway), one thread.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import train  # noqa: E402
from model import Transducer  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--ckpt", required=True, help="a training checkpoint (.pt, with the simple joiner)")
    ap.add_argument("--batches", type=int, default=12)
    a = ap.parse_args()
    torch.set_num_threads(1)
    cfg = json.load(open(a.config))
    tc = cfg["train"]
    data = HERE / cfg["data"]
    sp = train.tokenizer(cfg, data)
    m = Transducer(**cfg["model"])
    ck = torch.load(a.ckpt, map_location="cpu", weights_only=False)
    m.load_state_dict(ck["model"])
    m.eval()
    sh = train.SimpleJoiner(m.enc_dim, cfg["model"]["pred_dim"], cfg["model"]["vocab_size"])
    sh.load_state_dict(ck["simple_head"])
    tr = train.Split(data, "train", sp, tc.get("max_utt_seconds"))
    aug = train.Augment(tc["augment"], tr, [tc["seed"], 1])
    batches = train.make_batches(tr, tc["max_batch_frames"], np.random.default_rng(1), shuffle=True)[: a.batches]

    def rnnt(x, xl, y, yl, bf16=True):
        return float(train.losses(m, x, xl, y, yl, tc.get("rnnt_impl", "pruned"), sh, tc.get("s_range", 5), bf16)[0].detach())

    cols = ["clean f32", "clean bf16", "speed+noise", "SpecAugment", "both"]
    print("| batch | utts | " + " | ".join(cols) + " |")
    print("|---:|---:|" + "---:|" * len(cols))
    tot = np.zeros(len(cols))
    for k, idx in enumerate(batches):
        x, xl, y, yl = tr.batch(idx)
        x = m.encoder.normalize(x)
        xa, xla, ya, yla = tr.batch(idx, aug)  # speed perturbation and noise, as training draws them
        xa = m.encoder.normalize(xa)
        xs, xb = x.clone(), xa.clone()
        train.spec_augment(xs, xl, tc["specaug"], np.random.default_rng([tc["seed"], k]))
        train.spec_augment(xb, xla, tc["specaug"], np.random.default_rng([tc["seed"], k]))
        r = np.array([rnnt(x, xl, y, yl, bf16=False), rnnt(x, xl, y, yl), rnnt(xa, xla, ya, yla), rnnt(xs, xl, y, yl),
                      rnnt(xb, xla, ya, yla)])
        tot += r
        print(f"| {k} | {len(idx)} | " + " | ".join(f"{v:.2f}" for v in r) + " |")
    print(f"| mean | | " + " | ".join(f"{v:.2f}" for v in tot / len(batches)) + " |")


if __name__ == "__main__":
    main()
