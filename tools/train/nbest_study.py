"""What the final beam's N-best holds (README, "Words": minimum-Bayes-risk final choice). Input: the JSON lines of
`sotto transcribe runs/dev_wav --json --alternatives 300 -j 1 --mbr-scale 0 --score-beam inf > nbest.jsonl` (in
`tools/train`, dev order; the search of 2026-12-05 05:50, as the README's numbers were measured).

    python nbest_study.py nbest.jsonl mbr --scales 1,1.6,2,2.5,3 --cands 20 --evidence 300   # MBR over the N-best
    python nbest_study.py nbest.jsonl consensus --scales 1,1.5,2 --evidence 50               # ROVER-style consensus
    python nbest_study.py nbest.jsonl oracle                                                  # best text in the N-best
    python nbest_study.py nbest.jsonl ctc --model M-f32.safetensors --weights 0.1,0.2 --evidence 100  # + W x CTC(M)
    python nbest_study.py nbest.jsonl lm --arpa runs/lm/ps-en-us.upper.arpa --weights 0.1 --bonus 0.5  # + full 3-gram

Scores: WER on all of dev and its even / odd halves, counted as `wer.py` counts. `lm` needs PyPI `kenlm`; the edit
distance uses PyPI `rapidfuzz` when installed (much faster), else `train.edit_distance`.
"""
import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from wer import normalize  # noqa: E402

try:
    from rapidfuzz.distance import Levenshtein

    def dist(a, b):
        return Levenshtein.distance(a, b)
except ImportError:  # pragma: no cover
    from train import edit_distance as dist


def load(path, refs_path):
    refs = [normalize(l.rstrip("\n").split("\t", 1)[1]).split() for l in open(refs_path, encoding="utf-8")]
    nb = [json.loads(l) for l in open(path, encoding="utf-8")]
    assert len(nb) == len(refs), "the N-best must list dev's files in refs order"
    alts = [[(normalize(a["text"]).split(), a["score"], a["text"]) for a in (j.get("alternatives") or
             [{"text": j["text"], "score": 0.0}])] for j in nb]
    return refs, alts


def report(label, refs, hyps):
    e, n = [0, 0], [0, 0]
    for q, (r, h) in enumerate(zip(refs, hyps)):
        e[q % 2] += dist(r, h)
        n[q % 2] += len(r)
    print(f"{label}: all {100 * sum(e) / sum(n):.2f} even {100 * e[0] / n[0]:.2f} odd {100 * e[1] / n[1]:.2f}", flush=True)


def posteriors(scores, scale):
    m = max(scores)
    p = [math.exp(scale * (s - m)) for s in scores]
    z = sum(p)
    return [x / z for x in p]


def mbr(alts, scale, cands, evidence):
    alts = alts[:evidence]
    p = posteriors([a[1] for a in alts], scale)
    best, risk = 0, float("inf")
    for j in range(min(cands, len(alts))):
        r = sum(pi * dist(alts[j][0], a[0]) for pi, a in zip(p, alts))
        if r < risk - 1e-9:
            best, risk = j, r
    return alts[best][0]


def align(p, h):
    """Edit alignment of pivot p and hypothesis h: (pivot index, word or None, op)."""
    n, m = len(p), len(h)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        d[i][0] = i
    for j in range(m + 1):
        d[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (p[i - 1] != h[j - 1]))
    i, j, ops = n, m, []
    while i > 0 or j > 0:
        if i > 0 and j > 0 and d[i][j] == d[i - 1][j - 1] + (p[i - 1] != h[j - 1]):
            ops.append((i - 1, h[j - 1], "m"))
            i, j = i - 1, j - 1
        elif i > 0 and d[i][j] == d[i - 1][j] + 1:
            ops.append((i - 1, None, "d"))
            i -= 1
        else:
            ops.append((i, h[j - 1], "i"))
            j -= 1
    return ops[::-1]


def consensus(alts, scale, evidence):
    alts = alts[:evidence]
    p = posteriors([a[1] for a in alts], scale)
    piv = alts[0][0]
    sub = [defaultdict(float) for _ in piv]
    ins = [defaultdict(float) for _ in range(len(piv) + 1)]
    for (h, _, _), w in zip(alts, p):
        seen = set()
        for i, word, op in align(piv, h):
            if op == "i":
                if i not in seen:
                    ins[i][word] += w
                    seen.add(i)
            else:
                sub[i][word] += w
    out = []
    for i in range(len(piv) + 1):
        if sum(ins[i].values()) > 0.5:
            out.append(max(ins[i], key=ins[i].get))
        if i < len(piv):
            w = max(sub[i], key=sub[i].get)
            if w is not None:
                out.append(w)
    return out


def ctc_terms(alts, model, config, file_cmn, evidence):
    """Per alternative, ln P_ctc(its BPE pieces | the utterance) under an exported model's CTC head."""
    import torch
    import train
    from model import Transducer, grow_encoder, load_network_weights
    torch.set_num_threads(1)
    cfg = json.load(open(config))
    data = HERE / cfg["data"]
    sp = train.tokenizer(cfg, data)
    m = Transducer(**dict(cfg["model"], dropout=0.0))
    m.load_state_dict(grow_encoder(load_network_weights(model), m), strict=False)
    m.eval()
    dev = train.Split(data, "dev", sp)
    out = []
    with torch.no_grad():
        for q, a in enumerate(alts):
            x, xl, _, _ = dev.batch([q])
            enc, el = m.encoder(train.normalize_file_cmn(m.encoder, x, xl, file_cmn), xl, normalized=True)
            lp = torch.log_softmax(m.ctc(enc), -1)[0, : el[0]]
            ids = [sp.encode(t) or [] for _, _, t in a[:evidence]]
            t = lp.shape[0]
            nll = torch.nn.functional.ctc_loss(
                lp[:, None, :].expand(t, len(ids), lp.shape[1]),
                torch.tensor([i for s in ids for i in s], dtype=torch.long),
                torch.full((len(ids),), t, dtype=torch.long), torch.tensor([len(s) for s in ids]),
                blank=0, reduction="none")
            out.append([-float(v) for v in nll])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("nbest")
    ap.add_argument("what", choices=["mbr", "consensus", "oracle", "ctc", "lm"])
    ap.add_argument("--refs", default=str(HERE / "runs/dev_wav/refs_all.tsv"))
    ap.add_argument("--scales", default="2")
    ap.add_argument("--cands", type=int, default=10)
    ap.add_argument("--evidence", type=int, default=50)
    ap.add_argument("--model", help="ctc: an exported f32 model")
    ap.add_argument("--config", default=str(HERE / "configs/look1h.json"))
    ap.add_argument("--file-cmn", type=float, default=0.5)
    ap.add_argument("--arpa", help="lm: an ARPA file (kenlm)")
    ap.add_argument("--weights", default="0,0.1,0.2")
    ap.add_argument("--bonus", default="0", help="lm: per-word bonuses to try with each weight")
    a = ap.parse_args()
    refs, alts = load(a.nbest, a.refs)
    report("the file's text", refs, [normalize(json.loads(l)["text"]).split() for l in open(a.nbest, encoding="utf-8")])
    scales = [float(x) for x in a.scales.split(",")]
    if a.what == "mbr":
        for s in scales:
            report(f"MBR scale {s} cands {a.cands} evidence {a.evidence}", refs,
                   [mbr(al, s, a.cands, a.evidence) for al in alts])
    elif a.what == "consensus":
        for s in scales:
            report(f"consensus scale {s} evidence {a.evidence}", refs, [consensus(al, s, a.evidence) for al in alts])
    elif a.what == "oracle":
        for n in [1, 5, 20, 50, 100, 300]:
            report(f"oracle of the {n}-best", refs,
                   [min((h for h, _, _ in al[:n]), key=lambda h, r=r: dist(r, h)) for r, al in zip(refs, alts)])
    else:
        if a.what == "ctc":
            extra = ctc_terms(alts, a.model, a.config, a.file_cmn, a.evidence)
            bonuses = [0.0]
        else:
            import kenlm
            lm = kenlm.Model(a.arpa)
            extra = [[lm.score(t, bos=True, eos=True) * math.log(10) for _, _, t in al[:a.evidence]] for al in alts]
            bonuses = [float(x) for x in a.bonus.split(",")]
        for w in [float(x) for x in a.weights.split(",")]:
            for b in bonuses:
                hyps = []
                for al, ex in zip(alts, extra):
                    k = max(range(len(ex)), key=lambda i: al[i][1] + w * ex[i] + b * len(al[i][0]))
                    hyps.append(al[k][0])
                report(f"{a.what} weight {w} bonus {b} evidence {a.evidence}", refs, hyps)


if __name__ == "__main__":
    main()
