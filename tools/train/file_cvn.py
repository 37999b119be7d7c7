"""Would per-file variance normalization help beside the per-file mean (issue 11)? PyTorch greedy dev WER of an
exported f32 model with each utterance normalized by a mean moved toward its own by a and a scale moved
toward its own standard deviation (b): istd = (1 - b) x the training istd + b / the utterance's std.

    python file_cvn.py --model ../../models/zoo/sotto-en-f32.safetensors --grid 0.5:0,0.5:0.25,0.5:0.5,0.7:0.5
"""
import argparse
import json
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import train  # noqa: E402
from model import Transducer, grow_encoder, load_network_weights  # noqa: E402


def normalizer(a, b):
    """A stand-in for `train.normalize_file_cmn` with the mean blended by a and the scale by b."""
    def norm(enc, x, lens, _a):
        mask = (torch.arange(x.shape[1])[None, :] < lens[:, None]).unsqueeze(-1).to(x.dtype)
        n = lens[:, None].clamp(min=1).to(x.dtype)
        mu = (x * mask).sum(1) / n
        var = (((x - mu[:, None]) ** 2) * mask).sum(1) / n
        mean = (1 - a) * enc.cmvn_mean + a * mu
        istd = (1 - b) * enc.cmvn_istd + b * var.clamp(min=1e-4).rsqrt()
        return (x - mean[:, None, :]) * istd[:, None, :]
    return norm


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="an exported f32 model file (.safetensors)")
    ap.add_argument("--config", default=str(HERE / "configs/reg4.json"))
    ap.add_argument("--grid", default="0.5:0,0.5:0.25,0.5:0.5,0.7:0.5", help="a:b pairs, comma-separated")
    a = ap.parse_args()
    torch.set_num_threads(1)
    cfg = json.load(open(a.config))
    data = HERE / cfg["data"]
    sp = train.tokenizer(cfg, data)
    m = Transducer(**dict(cfg["model"], dropout=0.0))
    m.load_state_dict(grow_encoder(load_network_weights(a.model), m), strict=False)
    m.eval()
    dev = train.Split(data, "dev", sp)
    for pair in a.grid.split(","):
        ma, mb = (float(v) for v in pair.split(":"))
        train.normalize_file_cmn = normalizer(ma, mb)  # evaluate() looks it up at call time
        r = train.evaluate(m, dev, sp, show=0, file_cmn=1.0)
        print(f"mean {ma} scale {mb}: dev {r['all']:.2f} %, LibriSpeech {r['librispeech']:.2f} %", flush=True)


if __name__ == "__main__":
    main()
