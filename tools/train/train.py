"""Train the rnnt-lstm-stateless transducer on the cached features of prepare.py.

  OMP_WAIT_POLICY=PASSIVE nohup nice -n 5 python train.py --config configs/first.json > runs/first/train.log 2>&1 &
  python train.py --config configs/first.json --resume          # continue from runs/<name>/last.pt
  python train.py --config configs/first.json --eval-only       # dev WER of last.pt
  python train.py --config configs/first.json --plot-only       # redraw the plot from the CSV log
  python train.py --config configs/second.json --device cuda     # on a GPU (features stay cached in RAM)

RNN-T loss ("rnnt_impl": "pruned" = pruned RNN-T with a simple-joiner loss, rnnt.py; "torch" = full joiner,
rnnt.py; "torchaudio") + CTC auxiliary loss, augmentation on the cached log-mel features (speed perturbation as
time resampling + mel-axis warping, additive noise mixed in the mel power domain, SpecAugment), length-bucketed
batches, Adam with linear warm-up and (w/step)^p decay, gradient clipping. Checkpoints every `ckpt_minutes` and at
each epoch end; the time box (`max_minutes`, or --max-minutes) counts training wall time across resumes.
"""

import argparse
import copy
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
from model import Transducer, grow_encoder, load_network_weights  # noqa: E402
from rnnt import lattice_nll, prune_ranges, pruned_lattice, rnnt_loss, simple_lattice  # noqa: E402


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


class Split:
    """One cached split: features [sum T, F] float16 in RAM and per-utterance (offset, frames, text, source)."""

    def __init__(self, data, name, sp, max_seconds=None):
        self.feats = np.load(data / f"{name}.feats.npy")
        self.utts = []
        self.dropped = 0  # utterances whose text the tokenizer cannot encode (phones: a word not in the lexicon)
        with open(data / f"{name}.index.tsv", encoding="utf-8") as f:
            for line in f:
                off, n, dur, source, spk, text = line.rstrip("\n").split("\t")
                if max_seconds and float(dur) > max_seconds:
                    continue
                ids = sp.encode(text)
                if ids is None:
                    self.dropped += 1
                    continue
                self.utts.append(dict(off=int(off), n=int(n), dur=float(dur), source=source, text=text, ids=ids))

    def add_synth(self, out, sp, max_seconds=None, max_hours=None):
        """Append synthetic utterances written by `synth.py` into `out` (its chunked features and index), in index
        order, up to `max_hours`. Babble noise may then come from them too (a TTS voice as background talker)."""
        out = Path(out)
        rows = [l.rstrip("\n").split("\t") for l in open(out / "synth.index.tsv", encoding="utf-8") if l.strip()]
        chunks, base, total, added = {}, len(self.feats), 0.0, 0
        parts = [self.feats]
        for chunk, n, dur, source, _spk, text, _fx in rows:
            if max_hours is not None and total + float(dur) > max_hours * 3600:
                break
            if chunk not in chunks:
                f = np.load(out / "chunks" / f"{chunk}.npy")
                chunks[chunk] = [base, 0]
                parts.append(f)
                base += len(f)
            c = chunks[chunk]
            off = c[0] + c[1]
            c[1] += int(n)
            if max_seconds and float(dur) > max_seconds:
                continue
            ids = sp.encode(text)
            if ids is None:
                self.dropped += 1
                continue
            self.utts.append(dict(off=off, n=int(n), dur=float(dur), source=source, text=text, ids=ids))
            total += float(dur)
            added += 1
        self.feats = np.concatenate(parts)
        return added, total / 3600

    def batch(self, idx, aug=None):
        """Padded raw fbank [B, T, F], frames [B], token ids [B, U], token counts [B]; `aug` (an Augment) perturbs
        each utterance's features first (training only)."""
        us = [self.utts[i] for i in idx]
        fs = [self.feats[u["off"]: u["off"] + u["n"]].astype(np.float32) for u in us]
        if aug is not None:
            fs = [aug(f) for f in fs]
        t = max(len(f) for f in fs)
        x = np.zeros((len(us), t, self.feats.shape[1]), np.float32)
        for j, f in enumerate(fs):
            x[j, : len(f)] = f
        u_max = max(len(u["ids"]) for u in us)
        y = np.zeros((len(us), max(u_max, 1)), np.int64)
        for j, u in enumerate(us):
            y[j, : len(u["ids"])] = u["ids"]
        return (torch.from_numpy(x), torch.tensor([len(f) for f in fs]), torch.from_numpy(y),
                torch.tensor([len(u["ids"]) for u in us]))


def _mel(f):
    return 1127.0 * np.log1p(np.asarray(f) / 700.0)


class Augment:
    """Perturbs one utterance's raw log-mel fbank [T, 80] (before CMVN), so the cached features serve every epoch.

    - Speed perturbation (factor f, as Kaldi's `sox speed`: tempo and pitch x f): approximated on the features as
      time resampling to T/f frames (linear interpolation) plus warping the mel axis so that bin m takes the energy
      the original had at centre frequency c_m / f. Band-energy changes from the warp are ignored (CMVN absorbs a
      constant offset).
    - VTLP (`"vtlp": [lo, hi]`, `"vtlp_prob"`): the same mel-axis warp by a random factor, without the time change.
    - Additive noise at a random SNR, mixed in the mel power domain (log(e^x + g e^n), exact up to the cross terms
      that average out): white / pink / brown noise (fbank of generated noise) or babble (another training
      utterance).
    """

    def __init__(self, cfg, split, seed):
        from prepare import fbank  # same extractor as the cached features
        self.cfg, self.split = cfg, split
        self.rng = np.random.default_rng(seed)
        centres = 700.0 * (np.exp(np.linspace(_mel(20.0), _mel(8000.0), 82)[1:-1] / 1127.0) - 1.0)
        self.centres = centres
        self.warp = {f: np.interp(_mel(centres / f), _mel(centres), np.arange(80)) for f in cfg.get("speeds", [])}
        g = np.random.default_rng(1234)
        white = g.standard_normal(16000 * 20)
        spec = np.fft.rfft(g.standard_normal(16000 * 20))
        k = np.arange(1, len(spec) + 1)
        pink, brown = np.fft.irfft(spec / np.sqrt(k)), np.fft.irfft(spec / k)
        self.noises = [fbank((n / np.abs(n).max() * 0.5).astype(np.float32)) for n in (white, pink, brown)]

    def speed(self, f, factor):
        n = len(f)
        pos = np.arange(max(1, int(round(n / factor)))) * factor
        i0 = np.minimum(pos.astype(np.int64), n - 1)
        i1 = np.minimum(i0 + 1, n - 1)
        w = (pos - i0)[:, None]
        f = f[i0] * (1 - w) + f[i1] * w
        return self.mel_warp(f, self.warp[factor])

    @staticmethod
    def mel_warp(f, p):
        """Bin m of the result takes the energy at fractional bin p[m] of f (linear interpolation)."""
        j0 = np.floor(p).astype(np.int64)
        j1 = np.minimum(j0 + 1, 79)
        v = p - j0
        return f[:, j0] * (1 - v) + f[:, j1] * v

    def vtlp(self, f, alpha):
        """Vocal tract length perturbation: the mel axis warped as by a speed change of `alpha`, with the duration
        kept, so the speaker seems to have a shorter (alpha > 1) or longer vocal tract; new speakers for a corpus of
        few (46 LibriSpeech speakers in train)."""
        return self.mel_warp(f, np.interp(_mel(self.centres / alpha), _mel(self.centres), np.arange(80)))

    def noise(self, f):
        r = self.rng
        k = r.integers(0, len(self.noises) + 1)
        if k < len(self.noises):
            src = self.noises[k]
        else:
            u = self.split.utts[r.integers(0, len(self.split.utts))]
            src = self.split.feats[u["off"]: u["off"] + u["n"]].astype(np.float32)
        reps = -(-len(f) // len(src))
        start = r.integers(0, len(src))
        n = np.concatenate([src] * (reps + 1))[start: start + len(f)]
        snr = r.uniform(*self.cfg["snr_db"])
        ps = np.exp(f).sum(1).mean()
        pn = np.exp(n).sum(1).mean()
        return np.logaddexp(f, n + np.log(ps / (pn * 10 ** (snr / 10))))

    def __call__(self, f):
        r = self.rng
        if self.warp and r.random() < self.cfg.get("speed_prob", 0.0):
            f = self.speed(f, self.cfg["speeds"][r.integers(0, len(self.cfg["speeds"]))])
        if r.random() < self.cfg.get("vtlp_prob", 0.0):
            f = self.vtlp(f, r.uniform(*self.cfg["vtlp"]))
        if r.random() < self.cfg.get("noise_prob", 0.0):
            f = self.noise(f)
        return f.astype(np.float32)


def _build_batch(split, aug, seed, epoch, i, idx):
    """One batch in a worker thread, with its own copy of the augmenter whose draws come from (seed, epoch, batch),
    so that workers share no generator."""
    if aug is not None:
        aug = copy.copy(aug)
        aug.rng = np.random.default_rng([seed, epoch, i])
    return split.batch(idx, aug)


class Prefetch:
    """Builds (and augments) batches in `workers` threads while the GPU steps: one thread augments about 1,000
    audio-seconds a second, less than a GPU trains on, and numpy's array work runs outside the GIL. Batches come
    back in order; at most `2 x workers` wait."""

    def __init__(self, split, aug, seed, workers):
        from concurrent.futures import ThreadPoolExecutor
        self.split, self.aug, self.seed, self.workers = split, aug, seed, workers
        self.ex = ThreadPoolExecutor(workers)

    def epoch(self, batches, start, epoch):
        from collections import deque
        pending = deque()
        for i in range(start, len(batches)):
            pending.append(self.ex.submit(_build_batch, self.split, self.aug, self.seed, epoch, i, batches[i]))
            if len(pending) > 2 * self.workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


class SimpleJoiner(torch.nn.Module):
    """Training-only linear "trivial joiner" heads for the pruned loss (never exported)."""

    def __init__(self, enc_dim, pred_dim, vocab_size):
        super().__init__()
        self.am = torch.nn.Linear(enc_dim, vocab_size)
        self.lm = torch.nn.Linear(pred_dim, vocab_size)


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


def losses(model, x, xl, y, yl, impl="torch", simple_head=None, s_range=5, bf16=False):
    """Per-utterance mean (RNN-T, simple-joiner RNN-T (0 unless pruned), CTC) losses of a normalized batch.
    `bf16`: the encoder runs under bf16 autocast (oneDNN; 1.25x faster steps on this AMX CPU, `bench_step.py`);
    the joiner, CTC head and loss lattices stay f32 (the pruned lattice needs f32)."""
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
        enc, el = model.encoder(x, xl, normalized=True)
    enc = enc.float()
    el = el.clamp(min=1)
    pred = model.decoder(model.decoder.pad(y))  # [B, U+1, E]
    j = model.joiner
    b = x.shape[0]
    blank = model.hp["blank_id"]
    simple = torch.zeros(())
    if impl == "pruned":
        bl, la = simple_lattice(simple_head.am(enc), simple_head.lm(pred), y, blank)
        s_nll = lattice_nll(bl, la, el, yl)
        occ = -torch.autograd.grad(s_nll.sum(), bl, retain_graph=True)[0]
        s_begin, r = prune_ranges(occ, el, yl, s_range)
        nll = lattice_nll(*pruned_lattice(j.enc_proj(enc), j.pred_proj(pred), j.output, y, s_begin, r, blank), el, yl)
        ok = (nll < 1e20) & (s_nll < 1e20)  # an utterance with more than R-1 symbols per frame has no pruned path
        rnnt, simple = (nll * ok).sum() / b, (s_nll * ok).sum() / b
    else:
        logits = j.output(torch.tanh(j.enc_proj(enc)[:, :, None] + j.pred_proj(pred)[:, None]))
        if impl == "torchaudio":
            rnnt = AF.rnnt_loss(logits, y.int(), el.int(), yl.int(), blank=blank, reduction="sum") / b
        else:  # same loss, ~2.5x faster on this CPU (rnnt.py)
            rnnt = rnnt_loss(logits, y, el, yl, blank=blank).sum() / b
    ctc = torch.zeros(())
    if model.ctc is not None:
        lp = F.log_softmax(model.ctc(enc), -1).transpose(0, 1)
        ctc = F.ctc_loss(lp, y, el, yl, blank=blank, reduction="sum", zero_infinity=True) / b
    return rnnt, simple, ctc


def loss_weights(step, tc):
    """(rnnt, simple, ctc) weights. Pruned: icefall's warm-up — the simple loss leads (1 -> 0.5) while the pruned
    loss, whose windows are poor at first, ramps up (0.1 -> 1) over `pruned_warmup_steps`."""
    ctc = tc["ctc_weight"]
    if tc.get("rnnt_impl") != "pruned":
        return 1 - ctc, 0.0, ctc
    w = min(1.0, step / tc.get("pruned_warmup_steps", 1000))
    return (0.1 + 0.9 * w) * (1 - ctc), (1.0 - 0.5 * w) * (1 - ctc), ctc


def edit_distance(a, b):
    d = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, d[0] = d[0], i
        for k in range(1, len(b) + 1):
            cur = min(d[k] + 1, d[k - 1] + 1, prev + (a[i - 1] != b[k - 1]))
            prev, d[k] = d[k], cur
    return d[len(b)]


def normalize_file_cmn(enc, x, lens, a):
    """CMVN of a padded batch [B, T, F] with each utterance's mean moved toward its own: (1 - a) x the training mean +
    a x the mean of the utterance's frames, as `sotto transcribe --file-cmn a` normalizes a file; a = 0: plain CMVN."""
    if not a:
        return enc.normalize(x)
    mask = (torch.arange(x.shape[1], device=x.device)[None, :] < lens[:, None].to(x.device)).unsqueeze(-1).to(x.dtype)
    m = (x * mask).sum(1) / lens[:, None].to(x.device).clamp(min=1).to(x.dtype)
    mean = (1 - a) * enc.cmvn_mean + a * m
    return (x - mean[:, None, :]) * enc.cmvn_istd


@torch.no_grad()
def evaluate(model, split, sp, max_frames=20000, show=3, hyps_out=None, file_cmn=0.0):
    """Greedy dev WER (%) on all of dev and on its LibriSpeech part; optionally writes `index<TAB>hyp` lines.
    `file_cmn`: each utterance normalized as by `normalize_file_cmn`."""
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
        dev = model.encoder.cmvn_mean.device
        x, xl = x.to(dev), xl.to(dev)
        enc, el = model.encoder(normalize_file_cmn(model.encoder, x, xl, file_cmn), xl, normalized=True)
        hyps = model.greedy(enc, el)
        for q, h in zip(idx, hyps):
            u = split.utts[q]
            if hasattr(sp, "decode_units"):  # phone model: phone error rate against the lexicon's phones
                hyp, ref = sp.decode_units(h), sp.decode_units(u["ids"])
            else:
                hyp, ref = sp.decode([t for t in h if t > 1]).split(), u["text"].split()
            all_hyps[q] = " ".join(hyp)
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
    """Warm-up then inverse-power decay. `lr_step_offset` continues the decay of an earlier run (a warm start
    with --init: a fresh optimizer warms up again, to the rate the earlier run had reached); an optional
    `anneal` phase then takes the rate down linearly."""
    w = cfg["warmup_steps"]
    off = cfg.get("lr_step_offset", 0)
    lr = cfg["lr"] * min((step + 1) / w, (w / (step + off + 1)) ** cfg.get("decay_power", 0.5))
    if "anneal" in cfg:
        # An annealing phase for the weight means: from `start_step` the rate falls linearly to
        # `final_frac` of the schedule's over `steps` steps, then stays there.
        a = cfg["anneal"]
        frac = min(max(step - a["start_step"], 0) / a["steps"], 1.0)
        lr *= 1.0 - frac * (1.0 - a["final_frac"])
    return lr


FIELDS = ["time", "train_minutes", "epoch", "step", "lr", "loss", "rnnt", "simple", "ctc", "audio_s_per_s", "grad_norm",
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
    if any(float(r.get("simple") or 0) for r in tr):
        ax[0].plot([float(r["train_minutes"]) for r in tr], [float(r["simple"] or 0) for r in tr],
                   label="simple-joiner loss / utt")
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


def tokenizer(cfg, data):
    """The unit tokenizer of the config: sentencepiece BPE (default) or CMUdict phones (`"units": "phones"`)."""
    if cfg.get("units", "bpe") == "phones":
        from phones import PhoneTokenizer
        sp = PhoneTokenizer(data / "lexicon.txt")
    else:
        import sentencepiece as spm
        sp = spm.SentencePieceProcessor(model_file=str(data / "bpe.model"))
    assert sp.get_piece_size() == cfg["model"]["vocab_size"], (sp.get_piece_size(), cfg["model"]["vocab_size"])
    return sp


def save_ckpt(path, model, opt, state, cfg, simple_head=None):
    tmp = path.with_suffix(".tmp")
    extra = {"simple_head": simple_head.state_dict()} if simple_head is not None else {}
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "config": cfg, **extra, **state}, tmp)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init", help="warm-start the weights from an exported f32 model file (e.g. the committed "
                    "models/zoo/<name>-f32.safetensors) when no checkpoint is at hand; optimizer and counters start fresh")
    ap.add_argument("--max-minutes", type=float, help="overrides the config's time box (cumulative)")
    ap.add_argument("--max-epochs", type=int, help="overrides the config's epoch limit (to continue a finished run)")
    ap.add_argument("--eval-only", action="store_true")
    ap.add_argument("--plot-only", action="store_true")
    ap.add_argument("--device", default="cpu", help="torch device, e.g. cuda (default cpu)")
    ap.add_argument("--data", help="feature folder instead of the config's `data` (gpu_train.sh)")
    ap.add_argument("--run-dir", help="run folder instead of runs/<name>")
    ap.add_argument("--init-ckpt", help="warm-start model and simple-head weights from a checkpoint (pack_gpu.py's "
                    "init.pt: no optimizer state); optimizer and counters start fresh")
    ap.add_argument("--no-dev", action="store_true", help="no dev split at hand (a device machine): no dev WER")
    ap.add_argument("--prefetch", type=int, default=0, help="build batches ahead in this many worker threads (GPU)")
    a = ap.parse_args()
    cfg = json.load(open(a.config))
    tc = cfg["train"]
    if a.data:
        cfg["data"] = str(Path(a.data).resolve())
    run = Path(a.run_dir) if a.run_dir else HERE / "runs" / cfg["name"]
    run.mkdir(parents=True, exist_ok=True)
    csv_path = run / "log.csv"
    if a.plot_only:
        plot(csv_path, run / "plot.png")
        return
    torch.set_num_threads(tc.get("threads", 2))
    torch.set_num_interop_threads(1)
    torch.manual_seed(tc["seed"])
    data = HERE / cfg["data"]
    sp = tokenizer(cfg, data)
    metric = "PER" if cfg.get("units") == "phones" else "WER"  # greedy error rate over the model's own units
    model = Transducer(**cfg["model"])
    cmvn = json.load(open(data / "cmvn.json"))
    with torch.no_grad():
        model.encoder.cmvn_mean.copy_(torch.tensor(cmvn["mean"]))
        model.encoder.cmvn_istd.copy_(torch.tensor(cmvn["istd"]))
    simple_head = None
    model.to(a.device)  # before the optimizer exists, so its state lives on the same device
    params = list(model.parameters())
    if tc.get("rnnt_impl") == "pruned":
        simple_head = SimpleJoiner(model.enc_dim, cfg["model"]["pred_dim"], cfg["model"]["vocab_size"])
        simple_head.to(a.device)
        params += list(simple_head.parameters())
    opt = torch.optim.Adam(params, lr=tc["lr"], betas=(0.9, 0.98), eps=1e-8, weight_decay=tc.get("weight_decay", 0.0))
    state = dict(epoch=0, batch_pos=0, step=0, train_seconds=0.0)
    last = run / "last.pt"
    if a.resume or a.eval_only:
        ck = torch.load(last, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        if simple_head is not None:
            simple_head.load_state_dict(ck["simple_head"])
        opt.load_state_dict(ck["opt"])
        state = {k: ck[k] for k in state}
        log(f"resumed {last}: epoch {state['epoch']} batch {state['batch_pos']} step {state['step']} "
            f"{state['train_seconds'] / 60:.1f} min")
    elif a.init_ckpt:
        ck = torch.load(a.init_ckpt, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])  # copy_ takes float16 up to float32
        if simple_head is not None and ck.get("simple_head"):
            simple_head.load_state_dict(ck["simple_head"])
        log(f"initialized weights from {a.init_ckpt} ({ck.get('from')}, epoch {ck.get('epoch')}, step {ck.get('step')})")
    elif a.init:
        missing, unexpected = model.load_state_dict(grow_encoder(load_network_weights(a.init), model), strict=False)
        if missing or unexpected:
            raise SystemExit(f"{a.init}: missing tensors {missing}, unexpected {unexpected}")
        log(f"initialized weights from {a.init}")
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model {cfg['model']} params {n_params}")
    dev = None if a.no_dev else Split(data, "dev", sp)
    if dev is not None and dev.dropped:
        log(f"dev: {dev.dropped} utterances with words outside the lexicon are left out of the PyTorch error rate")
    if a.eval_only:
        log(f"dev {metric}", evaluate(model, dev, sp, hyps_out=run / "dev_hyps_pytorch.tsv", file_cmn=tc.get("file_cmn", 0.0)))
        return
    train = Split(data, "train", sp, tc.get("max_utt_seconds"))
    for extra in tc.get("extra_train", []):
        n, h = train.add_synth(HERE / extra["dir"], sp, tc.get("max_utt_seconds"), extra.get("max_hours"))
        log(f"extra train data {extra['dir']}: {n} utterances, {h:.2f} h")
    log(f"train utts {len(train.utts)} ({sum(u['dur'] for u in train.utts) / 3600:.2f} h), "
        f"dev {len(dev.utts) if dev else 'none'}; "
        f"units {cfg.get('units', 'bpe')}, {train.dropped} train utterances dropped (words outside the lexicon)")
    max_minutes = a.max_minutes if a.max_minutes is not None else tc["max_minutes"]
    if a.max_epochs is not None:
        tc["max_epochs"] = a.max_epochs
    aug = Augment(tc["augment"], train, [tc["seed"], state["step"]]) if tc.get("augment") else None
    pool = Prefetch(train, aug, tc["seed"], a.prefetch) if a.prefetch else None
    model.train()
    t_ck = time.time()
    acc = dict(loss=0.0, rnnt=0.0, simple=0.0, ctc=0.0, audio=0.0, n=0, gn=0.0, t=time.time())
    done = False
    while state["epoch"] < tc["max_epochs"] and not done:
        batches = make_batches(train, tc["max_batch_frames"], np.random.default_rng(tc["seed"] + state["epoch"]),
                               shuffle=state["epoch"] not in tc.get("sorted_epochs", []))
        ahead = pool.epoch(batches, state["batch_pos"], state["epoch"]) if pool else None
        while state["batch_pos"] < len(batches):
            t0 = time.time()
            idx = batches[state["batch_pos"]]
            b = next(ahead) if ahead else train.batch(idx, aug)
            x, xl, y, yl = (t.to(a.device) for t in b)
            x = normalize_file_cmn(model.encoder, x, xl, tc.get("file_cmn", 0.0))
            if tc.get("specaug"):
                spec_augment(x, xl, tc["specaug"], np.random.default_rng([tc["seed"], state["step"]]))
            for g in opt.param_groups:
                g["lr"] = lr_at(state["step"], tc)
            rnnt, simple, ctc = losses(model, x, xl, y, yl, tc.get("rnnt_impl", "torch"), simple_head,
                                       tc.get("s_range", 5), tc.get("bf16", False))
            wr, ws, wc = loss_weights(state["step"], tc)
            loss = wr * rnnt + ws * simple + wc * ctc
            opt.zero_grad(set_to_none=True)
            loss.backward()
            gn = float(torch.nn.utils.clip_grad_norm_(params, tc["grad_clip"]))
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
            acc["simple"] += float(simple)
            acc["gn"] += gn if math.isfinite(gn) else 0.0
            acc["audio"] += sum(train.utts[i]["dur"] for i in idx)
            acc["n"] += 1
            if state["step"] % tc["log_every"] == 0:
                n = acc["n"]
                row = dict(time=time.strftime("%H:%M:%S"), train_minutes=f"{state['train_seconds'] / 60:.2f}",
                           epoch=state["epoch"], step=state["step"], lr=f"{lr_at(state['step'], tc):.2e}",
                           loss=f"{acc['loss'] / n:.3f}", rnnt=f"{acc['rnnt'] / n:.3f}", simple=f"{acc['simple'] / n:.3f}",
                           ctc=f"{acc['ctc'] / n:.3f}",
                           audio_s_per_s=f"{acc['audio'] / (time.time() - acc['t']):.1f}",
                           grad_norm=f"{acc['gn'] / n:.2f}")
                write_csv(csv_path, row)
                log(f"ep {state['epoch']} {state['batch_pos']}/{len(batches)} step {state['step']} "
                    f"loss {row['loss']} rnnt {row['rnnt']} simple {row['simple']} ctc {row['ctc']} {row['audio_s_per_s']} audio-s/s "
                    f"gn {row['grad_norm']} lr {row['lr']}")
                acc = dict(loss=0.0, rnnt=0.0, simple=0.0, ctc=0.0, audio=0.0, n=0, gn=0.0, t=time.time())
            if time.time() - t_ck > tc["ckpt_minutes"] * 60:
                save_ckpt(last, model, opt, state, cfg, simple_head)
                t_ck = time.time()
                log(f"checkpoint {last}")
            if state["train_seconds"] > max_minutes * 60:
                done = True
                break
        if done:
            break
        state["epoch"] += 1
        state["batch_pos"] = 0
        if dev is None:
            # A device run: weights only per epoch (for the means; the optimizer state would cost a second a save).
            torch.save({"model": model.state_dict(), "config": cfg, **state}, run / f"epoch{state['epoch']}.pt")
            log(f"epoch {state['epoch']} done ({state['train_seconds'] / 60:.2f} train minutes)")
        else:
            save_ckpt(last, model, opt, state, cfg, simple_head)
            save_ckpt(run / f"epoch{state['epoch']}.pt", model, opt, state, cfg, simple_head)
            t_ck = time.time()
            w = evaluate(model, dev, sp, file_cmn=tc.get("file_cmn", 0.0))
            log(f"epoch {state['epoch']} done, dev {metric} {w}")
            write_csv(csv_path, dict(time=time.strftime("%H:%M:%S"), train_minutes=f"{state['train_seconds'] / 60:.2f}",
                                     epoch=state["epoch"], step=state["step"], dev_wer_all=f"{w['all']:.2f}",
                                     dev_wer_librispeech=f"{w['librispeech']:.2f}", event="epoch_end"))
            plot(csv_path, run / "plot.png")
    save_ckpt(last, model, opt, state, cfg, simple_head)
    if dev is None:
        log(f"stopped at epoch {state['epoch']} batch {state['batch_pos']} step {state['step']}")
        return
    w = evaluate(model, dev, sp, file_cmn=tc.get("file_cmn", 0.0))
    log(f"final (time box {max_minutes} min): dev {metric} {w}")
    write_csv(csv_path, dict(time=time.strftime("%H:%M:%S"), train_minutes=f"{state['train_seconds'] / 60:.2f}",
                             epoch=state["epoch"], step=state["step"], dev_wer_all=f"{w['all']:.2f}",
                             dev_wer_librispeech=f"{w['librispeech']:.2f}", event="final"))
    json.dump({"dev_wer_greedy_pytorch": w, **state, "params": n_params}, open(run / "final.json", "w"), indent=1)
    plot(csv_path, run / "plot.png")


if __name__ == "__main__":
    main()
