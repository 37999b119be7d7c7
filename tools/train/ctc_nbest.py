"""Would the CTC head help as a second opinion? Beam search (the transducer alone, no LM, max one symbol per frame as
sotto's modified beam search) over all of dev, then its n-best rescored with the CTC head's sequence log-likelihood at
several weights; prints the WER per weight and the oracle of the n-best. How CTC rescoring in the decoder
(`decoder/src/ctc_track.rs`) was justified before it was built (README, "Words"):

    python ctc_nbest.py --ckpt runs/bpe4/epoch20.pt          # 68.05 % -> 66.56 % at weight 0.3 (8-best)
"""
import argparse
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import train  # noqa: E402
from model import Transducer  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True, help="a training checkpoint (.pt)")
    ap.add_argument("--config", default=str(HERE / "configs/bpe4.json"))
    ap.add_argument("--beam", type=int, default=8)
    ap.add_argument("--utts", type=int, default=0, help="an evenly spaced subset of dev (0: all)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    cfg = json.load(open(a.config))
    data = HERE / cfg["data"]
    sp = train.tokenizer(cfg, data)
    m = Transducer(**cfg["model"])
    m.load_state_dict(torch.load(a.ckpt, map_location="cpu", weights_only=False)["model"])
    m.eval()
    dev = train.Split(data, "dev", sp)
    c = m.hp["context_size"]

    def beam_search(enc):
        encp = m.joiner.enc_proj(enc)
        hyps, cache = {(): 0.0}, {}

        def predp(seq):
            ctx = tuple(([0] * c + list(seq))[-c:])
            if ctx not in cache:
                cache[ctx] = m.joiner.pred_proj(m.decoder(torch.tensor([ctx]))[:, -1])[0]
            return cache[ctx]

        for t in range(enc.shape[0]):
            keys = list(hyps)
            lp = F.log_softmax(m.joiner.output(torch.tanh(encp[t][None] + torch.stack([predp(k) for k in keys]))), -1)
            base = torch.tensor([hyps[k] for k in keys])[:, None] + lp
            top = torch.topk(base.flatten(), min(a.beam * 4, base.numel()))
            cand = {}
            for s, i in zip(top.values.tolist(), top.indices.tolist()):
                h, v = divmod(i, lp.shape[1])
                k = keys[h] if v == 0 else keys[h] + (v,)
                cand[k] = float(torch.logaddexp(torch.tensor(cand[k]), torch.tensor(s))) if k in cand else s
            hyps = dict(sorted(cand.items(), key=lambda kv: -kv[1])[: a.beam])
        return hyps

    def ctc_ll(lp, y):
        if not y:
            return float(lp[:, 0].sum())
        return -float(F.ctc_loss(lp[:, None], torch.tensor([y]), torch.tensor([lp.shape[0]]), torch.tensor([len(y)]),
                                 blank=0, reduction="sum", zero_infinity=True))

    weights = [0.0, 0.1, 0.2, 0.3, 0.5]
    errs, words, oracle = {w: 0 for w in weights}, 0, 0
    n = len(dev.utts)
    picks = range(n) if a.utts <= 0 else range(0, n, max(1, n // a.utts))
    with torch.no_grad():
        for q in picks:
            x, xl, _, _ = dev.batch([q])
            enc, el = m.encoder(x, xl)
            enc = enc[0, : el[0]]
            lp = F.log_softmax(m.ctc(enc), -1)
            ref = dev.utts[q]["text"].split()
            words += len(ref)
            scored = [(k, s, ctc_ll(lp, list(k))) for k, s in beam_search(enc).items()]
            e = {k: train.edit_distance(ref, sp.decode([t for t in k if t > 1]).split()) for k, _, _ in scored}
            oracle += min(e.values())
            for w in weights:
                errs[w] += e[max(scored, key=lambda z: z[1] + w * z[2])[0]]
    for w in weights:
        print(f"CTC weight {w}: WER {100 * errs[w] / words:.2f} %")
    print(f"oracle of the {a.beam}-best: {100 * oracle / words:.2f} % ({words} words)")


if __name__ == "__main__":
    main()
