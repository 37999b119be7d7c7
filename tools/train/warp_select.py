"""Would a per-file frequency warp chosen at test time help (speaker normalization without labels, issue 11)?

For every dev utterance the log-mel features are warped along the mel axis by each factor in `--warps` (as
`train.py`'s VTLP: bin m takes the energy at centre frequency c_m / alpha), normalized with the per-file mean
(`--file-cmn`, as `sotto transcribe`), and run through the encoder. The factor is then chosen per utterance by a
label-free score of the CTC head (`--score`: mean over frames of the best token's log-probability, or negative
entropy), and greedy WER is reported for every fixed factor, for the chosen one, and for the oracle (best factor per
utterance, an upper bound no decoder gets):

    python warp_select.py --model ../../models/zoo/sotto-en-f32.safetensors
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import train  # noqa: E402
from model import Transducer, grow_encoder, load_network_weights  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="an exported f32 model file (.safetensors)")
    ap.add_argument("--config", default=str(HERE / "configs/reg4.json"))
    ap.add_argument("--warps", default="0.88,0.91,0.94,0.97,1.0,1.03,1.06,1.09,1.12")
    ap.add_argument("--file-cmn", type=float, default=0.5)
    ap.add_argument("--utts", type=int, default=0, help="an evenly spaced subset of dev (0: all)")
    ap.add_argument("--avg", default="0.94,1.0,1.06",
                    help="also: the encoder outputs of these factors averaged frame by frame, one greedy search")
    ap.add_argument("--out", help="write per-utterance scores and errors as JSON lines here")
    a = ap.parse_args()
    torch.set_num_threads(1)
    cfg = json.load(open(a.config))
    data = HERE / cfg["data"]
    sp = train.tokenizer(cfg, data)
    hp = dict(cfg["model"], dropout=0.0)
    m = Transducer(**hp)
    missing, unexpected = m.load_state_dict(grow_encoder(load_network_weights(a.model), m), strict=False)
    assert not unexpected and all(k.startswith("simple") for k in missing), (missing, unexpected)
    m.eval()
    dev = train.Split(data, "dev", sp)
    warps = [float(w) for w in a.warps.split(",")]
    centres = 700.0 * (np.exp(np.linspace(train._mel(20.0), train._mel(8000.0), 82)[1:-1] / 1127.0) - 1.0)
    maps = {w: np.interp(train._mel(centres / w), train._mel(centres), np.arange(80)) for w in warps}
    idx = range(len(dev.utts))
    if a.utts:
        idx = np.linspace(0, len(dev.utts) - 1, a.utts).round().astype(int).tolist()
    rows = []
    tot = {"words": 0, "fixed": {w: 0 for w in warps}, "conf": 0, "negent": 0, "oracle": 0, "avg": 0}
    avg = [float(w) for w in a.avg.split(",")] if a.avg else []
    out = open(a.out, "w") if a.out else None
    with torch.no_grad():
        for n, q in enumerate(idx):
            u = dev.utts[q]
            f = dev.feats[u["off"]: u["off"] + u["n"]].astype(np.float32)
            ref = u["text"].split()
            res, encs = {}, {}
            for w in warps:
                g = f if w == 1.0 else train.Augment.mel_warp(f, maps[w])
                x = torch.from_numpy(g.astype(np.float32))[None]
                xl = torch.tensor([len(g)])
                enc, el = m.encoder(train.normalize_file_cmn(m.encoder, x, xl, a.file_cmn), xl, normalized=True)
                encs[w] = enc
                lp = F.log_softmax(m.ctc(enc[0]), -1)
                conf = lp.max(-1).values.mean().item()
                negent = (lp.exp() * lp).sum(-1).mean().item()
                hyp = sp.decode([t for t in m.greedy(enc, el)[0] if t > 1]).split()
                res[w] = (conf, negent, train.edit_distance(ref, hyp))
            tot["words"] += len(ref)
            if avg:
                enc = torch.stack([encs[w] for w in avg]).mean(0)
                hyp = sp.decode([t for t in m.greedy(enc, el)[0] if t > 1]).split()
                tot["avg"] += train.edit_distance(ref, hyp)
            for w in warps:
                tot["fixed"][w] += res[w][2]
            tot["conf"] += res[max(warps, key=lambda w: res[w][0])][2]
            tot["negent"] += res[max(warps, key=lambda w: res[w][1])][2]
            tot["oracle"] += min(r[2] for r in res.values())
            if out:
                out.write(json.dumps({"utt": q, "source": u["source"], "words": len(ref),
                                      "res": {str(w): r for w, r in res.items()}}) + "\n")
            if (n + 1) % 50 == 0:
                print(f"{n + 1} utts: fixed 1.0 {100 * tot['fixed'][1.0] / tot['words']:.2f} %, "
                      f"by confidence {100 * tot['conf'] / tot['words']:.2f} %, "
                      f"by entropy {100 * tot['negent'] / tot['words']:.2f} %, "
                      f"averaged {100 * tot['avg'] / tot['words']:.2f} %, "
                      f"oracle {100 * tot['oracle'] / tot['words']:.2f} %", flush=True)
    w_ = tot["words"]
    for w in warps:
        print(f"fixed {w:.2f}: {100 * tot['fixed'][w] / w_:.2f} %")
    print(f"chosen by CTC confidence: {100 * tot['conf'] / w_:.2f} %")
    print(f"chosen by CTC entropy: {100 * tot['negent'] / w_:.2f} %")
    print(f"encoder outputs of {avg} averaged: {100 * tot['avg'] / w_:.2f} %")
    print(f"oracle: {100 * tot['oracle'] / w_:.2f} %")


if __name__ == "__main__":
    main()
