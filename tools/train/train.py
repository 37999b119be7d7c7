"""Train the rnnt-lstm-stateless transducer on the cached features of prepare.py.

  OMP_WAIT_POLICY=PASSIVE nohup nice -n 5 python train.py --config configs/first.json > runs/first/train.log 2>&1 &
  python train.py --config configs/first.json --resume          # continue from runs/<name>/last.pt
  python train.py --config configs/first.json --eval-only       # dev WER of last.pt
  python train.py --config configs/first.json --plot-only       # redraw the plot from the CSV log

RNN-T loss (full joiner; rnnt.py, or torchaudio's with "rnnt_impl": "torchaudio") + CTC auxiliary loss,
SpecAugment, length-bucketed batches, Adam with linear warm-up and (w/step)^p decay, gradient clipping. Checkpoints every `ckpt_minutes` and at each epoch end; the
time box (`max_minutes`, or --max-minutes) counts training wall time across resumes. Not done in this recipe
yet: speed perturbation and additive noise (features are cached once; both would need on-the-fly fbank).
"""

import argparse
import csv
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # with a busy neighbour, ACTIVE spinning costs 10x

import numpy as np
import torch
import torch.nn.functional as F
import torchaudio.functional as AF

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from model import Transducer  # noqa: E402
from rnnt import rnnt_loss  # noqa: E402


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


class Split:
    """One cached split: features [sum T, F] float16 in RAM and per-utterance (offset, frames, text, source)."""

    def __init__(self, data, name, sp, max_seconds=None):
        self.feats = np.load(data / f"{name}.feats.npy")
        self.utts = []
        with open(data / f"{name}.index.tsv", encoding="utf-8") as f:
            for line in f:
                off, n, dur, source, spk, text = line.rstrip("\n").split("\t")
                if max_seconds and float(dur) > max_seconds:
                    continue
                self.utts.append(dict(off=int(off), n=int(n), dur=float(dur), source=source, text=text,
                                      ids=sp.encode(text)))

    def batch(self, idx):
        us = [self.utts[i] for i in idx]
        t = max(u["n"] for u in us)
        x = np.zeros((len(us), t, self.feats.shape[1]), np.float32)
        for j, u in enumerate(us):
            x[j, : u["n"]] = self.feats[u["off"]: u["off"] + u["n"]]
        u_max = max(len(u["ids"]) for u in us)
        y = np.zeros((len(us), max(u_max, 1)), np.int64)
        for j, u in enumerate(us):
            y[j, : len(u["ids"])] = u["ids"]
        return (torch.from_numpy(x), torch.tensor([u["n"] for u in us]), torch.from_numpy(y),
                torch.tensor([len(u["ids"]) for u in us]))


def make_batches(split, max_frames, rng, shuffle=True):
    """Sort by length, cut into batches whose padded size (B * T_max) stays under max_frames, shuffle
    (or, with shuffle=False, keep them shortest first: SortaGrad, which helps an untrained model leave the
    emit-nothing plateau, because short utterances are cheap steps with easy alignments)."""
    order = sorted(range(len(split.utts)), key=lambda i: split.utts[i]["n"])
    batches, cur = [], []
    for i in order:
        if cur and (len(cur) + 1) * split.utts[i]["n"] > max_frames:
            batches.append(cur)
            cur = []
        cur.append(i)
    if cur:
        batches.append(cur)
    if shuffle:
        rng.shuffle(batches)
    return batches


def spec_augment(x, lens, cfg, rng):
    """In place on normalized features [B, T, F]: freq masks and time masks set to 0 (= the global mean)."""
    b, t, f = x.shape
    for j in range(b):
        for _ in range(cfg["freq_masks"]):
            w = rng.integers(0, cfg["freq_width"] + 1)
            s = rng.integers(0, f - w + 1)
            x[j, :, s: s + w] = 0
        n = int(lens[j])
        for _ in range(cfg["time_masks"]):
            w = rng.integers(0, min(cfg["time_width"], int(cfg["time_max_frac"] * n)) + 1)
            s = rng.integers(0, max(n - w, 0) + 1)
            x[j, s: s + w] = 0
    return x


def losses(model, x, xl, y, yl, impl="torch"):
    enc, el = model.encoder(x, xl, normalized=True)
    el = el.clamp(min=1)
    pred = model.decoder(model.decoder.pad(y))  # [B, U+1, E]
    j = model.joiner
    logits = j.output(torch.tanh(j.enc_proj(enc)[:, :, None] + j.pred_proj(pred)[:, None]))
    b = x.shape[0]
    if impl == "torchaudio":
        rnnt = AF.rnnt_loss(logits, y.int(), el.int(), yl.int(), blank=model.hp["blank_id"], reduction="sum") / b
    else:  # same loss, ~2.5x faster on this CPU (rnnt.py)
        rnnt = rnnt_loss(logits, y, el, yl, blank=model.hp["blank_id"]).sum() / b
    ctc = torch.zeros(())
    if model.ctc is not None:
        lp = F.log_softmax(model.ctc(enc), -1).transpose(0, 1)
        ctc = F.ctc_loss(lp, y, el, yl, blank=model.hp["blank_id"], reduction="sum", zero_infinity=True) / b
    return rnnt, ctc


def edit_distance(a, b):
    d = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, d[0] = d[0], i
        for k in range(1, len(b) + 1):
            cur = min(d[k] + 1, d[k - 1] + 1, prev + (a[i - 1] != b[k - 1]))
            prev, d[k] = d[k], cur
    return d[len(b)]


@torch.no_grad()
def evaluate(model, split, sp, max_frames=20000, show=3, hyps_out=None):
    """Greedy dev WER (%) on all of dev and on its LibriSpeech part; optionally writes `index<TAB>hyp` lines."""
    model.eval()
    errs, words = {"all": 0, "librispeech": 0}, {"all": 0, "librispeech": 0}
    examples, all_hyps = [], {}
    order = sorted(range(len(split.utts)), key=lambda i: split.utts[i]["n"])
    i = 0
    while i < len(order):
        n = split.utts[order[i]]["n"]
        k = max(1, min(64, max_frames // max(split.utts[order[min(i + 63, len(order) - 1)]]["n"], n)))
        idx = order[i: i + k]
        i += k
        x, xl, _, _ = split.batch(idx)
        enc, el = model.encoder(x, xl)
        hyps = model.greedy(enc, el)
        for q, h in zip(idx, hyps):
            u = split.utts[q]
            hyp = sp.decode([t for t in h if t > 1]).split()
            all_hyps[q] = " ".join(hyp)
            ref = u["text"].split()
            e = edit_distance(ref, hyp)
            for key in ("all", u["source"]):
                if key in errs:
                    errs[key] += e
                    words[key] += len(ref)
            if len(examples) < show and len(ref) > 5:
                examples.append((u["text"], " ".join(hyp)))
    model.train()
    if hyps_out:
        with open(hyps_out, "w", encoding="utf-8") as f:
            f.writelines(f"{q}\t{all_hyps[q]}\n" for q in sorted(all_hyps))
    for r, h in examples:
        log(f"  REF {r}\n           HYP {h}")
    return {k: 100.0 * errs[k] / max(words[k], 1) for k in errs}


def lr_at(step, cfg):
    w = cfg["warmup_steps"]
    return cfg["lr"] * min((step + 1) / w, (w / (step + 1)) ** cfg.get("decay_power", 0.5))


FIELDS = ["time", "train_minutes", "epoch", "step", "lr", "loss", "rnnt", "ctc", "audio_s_per_s", "grad_norm",
          "dev_wer_all", "dev_wer_librispeech", "event"]


def write_csv(path, row):
    new = not path.exists()
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, FIELDS)
        if new:
            w.writeheader()
        w.writerow({k: row.get(k, "") for k in FIELDS})


def plot(csv_path, out):
    rows = list(csv.DictReader(open(csv_path)))
    tr = [r for r in rows if r["loss"]]
    ev = [r for r in rows if r["dev_wer_all"]]
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    ax[0].plot([float(r["train_minutes"]) for r in tr], [float(r["rnnt"]) for r in tr], label="RNN-T loss / utt")
    ax[0].plot([float(r["train_minutes"]) for r in tr], [float(r["ctc"]) for r in tr], label="CTC loss / utt")
    ax[0].set_xlabel("training minutes")
    ax[0].set_yscale("log")
    ax[0].legend()
    ax[0].grid(alpha=0.3)
    for key, lab in (("dev_wer_all", "dev (all)"), ("dev_wer_librispeech", "dev (LibriSpeech)")):
        ax[1].plot([float(r["train_minutes"]) for r in ev], [float(r[key]) for r in ev], "o-", label=lab)
    ax[1].set_xlabel("training minutes")
    ax[1].set_ylabel("greedy WER %")
    ax[1].legend()
    ax[1].grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def save_ckpt(path, model, opt, state, cfg):
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "config": cfg, **state}, tmp)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init", help="warm-start the weights from an exported f32 model file (e.g. the committed "
                    "models/zoo/<name>-f32.safetensors) when no checkpoint is at hand; optimizer and counters start fresh")
    ap.add_argument("--max-minutes", type=float, help="overrides the config's time box (cumulative)")
    ap.add_argument("--eval-only", action="store_true")
    ap.add_argument("--plot-only", action="store_true")
    a = ap.parse_args()
    cfg = json.load(open(a.config))
    tc = cfg["train"]
    run = HERE / "runs" / cfg["name"]
    run.mkdir(parents=True, exist_ok=True)
    csv_path = run / "log.csv"
    if a.plot_only:
        plot(csv_path, run / "plot.png")
        return
    torch.set_num_threads(tc.get("threads", 2))
    torch.set_num_interop_threads(1)
    torch.manual_seed(tc["seed"])
    import sentencepiece as spm
    data = HERE / cfg["data"]
    sp = spm.SentencePieceProcessor(model_file=str(data / "bpe.model"))
    model = Transducer(**cfg["model"])
    cmvn = json.load(open(data / "cmvn.json"))
    with torch.no_grad():
        model.encoder.cmvn_mean.copy_(torch.tensor(cmvn["mean"]))
        model.encoder.cmvn_istd.copy_(torch.tensor(cmvn["istd"]))
    opt = torch.optim.Adam(model.parameters(), lr=tc["lr"], betas=(0.9, 0.98), eps=1e-8,
                           weight_decay=tc.get("weight_decay", 0.0))
    state = dict(epoch=0, batch_pos=0, step=0, train_seconds=0.0)
    last = run / "last.pt"
    if a.resume or a.eval_only:
        ck = torch.load(last, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        state = {k: ck[k] for k in state}
        log(f"resumed {last}: epoch {state['epoch']} batch {state['batch_pos']} step {state['step']} "
            f"{state['train_seconds'] / 60:.1f} min")
    elif a.init:
        from safetensors.torch import load_file
        missing, unexpected = model.load_state_dict(load_file(a.init), strict=False)
        if missing or unexpected:
            raise SystemExit(f"{a.init}: missing tensors {missing}, unexpected {unexpected}")
        log(f"initialized weights from {a.init}")
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model {cfg['model']} params {n_params}")
    dev = Split(data, "dev", sp)
    if a.eval_only:
        log("dev WER", evaluate(model, dev, sp, hyps_out=run / "dev_hyps_pytorch.tsv"))
        return
    train = Split(data, "train", sp, tc.get("max_utt_seconds"))
    log(f"train utts {len(train.utts)} ({sum(u['dur'] for u in train.utts) / 3600:.2f} h), dev {len(dev.utts)}")
    max_minutes = a.max_minutes if a.max_minutes is not None else tc["max_minutes"]
    model.train()
    t_ck = time.time()
    acc = dict(loss=0.0, rnnt=0.0, ctc=0.0, audio=0.0, n=0, gn=0.0, t=time.time())
    done = False
    while state["epoch"] < tc["max_epochs"] and not done:
        batches = make_batches(train, tc["max_batch_frames"], np.random.default_rng(tc["seed"] + state["epoch"]),
                               shuffle=state["epoch"] not in tc.get("sorted_epochs", []))
        while state["batch_pos"] < len(batches):
            t0 = time.time()
            idx = batches[state["batch_pos"]]
            x, xl, y, yl = train.batch(idx)
            x = model.encoder.normalize(x)
            if tc.get("specaug"):
                spec_augment(x, xl, tc["specaug"], np.random.default_rng([tc["seed"], state["step"]]))
            for g in opt.param_groups:
                g["lr"] = lr_at(state["step"], tc)
            rnnt, ctc = losses(model, x, xl, y, yl, tc.get("rnnt_impl", "torch"))
            loss = (1 - tc["ctc_weight"]) * rnnt + tc["ctc_weight"] * ctc
            opt.zero_grad(set_to_none=True)
            loss.backward()
            gn = float(torch.nn.utils.clip_grad_norm_(model.parameters(), tc["grad_clip"]))
            if math.isfinite(gn):
                opt.step()
            else:
                log(f"step {state['step']}: non-finite grad, skipped")
            state["step"] += 1
            state["batch_pos"] += 1
            state["train_seconds"] += time.time() - t0
            acc["loss"] += float(loss)
            acc["rnnt"] += float(rnnt)
            acc["ctc"] += float(ctc)
            acc["gn"] += gn if math.isfinite(gn) else 0.0
            acc["audio"] += sum(train.utts[i]["dur"] for i in idx)
            acc["n"] += 1
            if state["step"] % tc["log_every"] == 0:
                n = acc["n"]
                row = dict(time=time.strftime("%H:%M:%S"), train_minutes=f"{state['train_seconds'] / 60:.2f}",
                           epoch=state["epoch"], step=state["step"], lr=f"{lr_at(state['step'], tc):.2e}",
                           loss=f"{acc['loss'] / n:.3f}", rnnt=f"{acc['rnnt'] / n:.3f}", ctc=f"{acc['ctc'] / n:.3f}",
                           audio_s_per_s=f"{acc['audio'] / (time.time() - acc['t']):.1f}",
                           grad_norm=f"{acc['gn'] / n:.2f}")
                write_csv(csv_path, row)
                log(f"ep {state['epoch']} {state['batch_pos']}/{len(batches)} step {state['step']} "
                    f"loss {row['loss']} rnnt {row['rnnt']} ctc {row['ctc']} {row['audio_s_per_s']} audio-s/s "
                    f"gn {row['grad_norm']} lr {row['lr']}")
                acc = dict(loss=0.0, rnnt=0.0, ctc=0.0, audio=0.0, n=0, gn=0.0, t=time.time())
            if time.time() - t_ck > tc["ckpt_minutes"] * 60:
                save_ckpt(last, model, opt, state, cfg)
                t_ck = time.time()
                log(f"checkpoint {last}")
            if state["train_seconds"] > max_minutes * 60:
                done = True
                break
        if not done:
            state["epoch"] += 1
            state["batch_pos"] = 0
            save_ckpt(last, model, opt, state, cfg)
            save_ckpt(run / f"epoch{state['epoch']}.pt", model, opt, state, cfg)
            t_ck = time.time()
            w = evaluate(model, dev, sp)
            log(f"epoch {state['epoch']} done, dev WER {w}")
            write_csv(csv_path, dict(time=time.strftime("%H:%M:%S"), train_minutes=f"{state['train_seconds'] / 60:.2f}",
                                     epoch=state["epoch"], step=state["step"], dev_wer_all=f"{w['all']:.2f}",
                                     dev_wer_librispeech=f"{w['librispeech']:.2f}", event="epoch_end"))
            plot(csv_path, run / "plot.png")
    save_ckpt(last, model, opt, state, cfg)
    w = evaluate(model, dev, sp)
    log(f"final (time box {max_minutes} min): dev WER {w}")
    write_csv(csv_path, dict(time=time.strftime("%H:%M:%S"), train_minutes=f"{state['train_seconds'] / 60:.2f}",
                             epoch=state["epoch"], step=state["step"], dev_wer_all=f"{w['all']:.2f}",
                             dev_wer_librispeech=f"{w['librispeech']:.2f}", event="final"))
    json.dump({"dev_wer_greedy_pytorch": w, **state, "params": n_params}, open(run / "final.json", "w"), indent=1)
    plot(csv_path, run / "plot.png")


if __name__ == "__main__":
    main()
