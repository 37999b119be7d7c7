"""Dev loss of exported f32 models: the full RNN-T loss (`rnnt.py`) and the CTC loss per utterance, each utterance
normalized with its mean moved halfway toward its own (as `sotto transcribe`'s default `--file-cmn 0.5`). A smoother
ranking of weight means than one dev WER, whose candidates differ by noise of a few tenths (issue 11,
`results/look1hi/progress.md`).

    python dev_loss.py ../../models/zoo/sotto-en-f32.safetensors CANDIDATE-f32.safetensors ...
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", help="exported f32 model files (.safetensors)")
    ap.add_argument("--config", default=str(HERE / "configs/look1h.json"), help="a config with the models' shape")
    ap.add_argument("--file-cmn", type=float, default=0.5)
    a = ap.parse_args()
    torch.set_num_threads(1)
    cfg = json.load(open(a.config))
    data = HERE / cfg["data"]
    sp = train.tokenizer(cfg, data)
    dev = train.Split(data, "dev", sp)
    order = sorted(range(len(dev.utts)), key=lambda i: dev.utts[i]["n"])
    for path in a.models:
        m = Transducer(**dict(cfg["model"], dropout=0.0))
        m.load_state_dict(grow_encoder(load_network_weights(path), m), strict=False)
        m.eval()
        rnnt = ctc = 0.0
        with torch.no_grad():
            for i in range(0, len(order), 16):
                idx = order[i: i + 16]
                x, xl, y, yl = dev.batch(idx)
                x = train.normalize_file_cmn(m.encoder, x, xl, a.file_cmn)
                r, _, c = train.losses(m, x, xl, y, yl, impl="torch")
                rnnt += float(r) * len(idx)
                ctc += float(c) * len(idx)
        n = len(order)
        print(f"{path}\trnnt {rnnt / n:.3f}\tctc {ctc / n:.3f}", flush=True)


if __name__ == "__main__":
    main()
