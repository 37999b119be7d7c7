"""Export a checkpoint to the sotto safetensors format (docs/model-format.md), or write parity goldens.

  python export.py --ckpt runs/first/last.pt --out ../../models/zoo/sotto-en-tiny-f32.safetensors
  python export.py --golden [--stems tiny_look]   # models/tests/data/transducer/{tiny,tiny_ln,tiny_look}{.safetensors,_golden.npz}
"""

import argparse
import json
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
GOLDEN_DIR = ROOT / "models/tests/data/transducer"
sys.path.insert(0, str(HERE))
from model import Transducer, load_network_weights  # noqa: E402
from prepare import FEATURES, fbank  # noqa: E402

LICENSE_NOTE = (
    "Weights trained on the sotto English corpus pack (shared/corpus train.tsv). CC BY 4.0 attribution: "
    "LibriSpeech (V. Panayotov, G. Chen, D. Povey, S. Khudanpur, ICASSP 2015, OpenSLR SLR12/SLR31), "
    "speechocean762 (J. Zhang et al., Interspeech 2021, OpenSLR SLR101), Hi-Fi Multi-Speaker English TTS "
    "(E. Bakhturina et al., Interspeech 2021, OpenSLR SLR109). Also used: LJ Speech (public domain, K. Ito, "
    "L. Johnson), VCTK p239 (ODC-By 1.0, C. Veaux, J. Yamagishi, K. MacDonald, CSTR Edinburgh), "
    "PhilippMatthes/dc_tts recordings (Apache-2.0), CMU ARCTIC bdl/slt (Copyright Carnegie Mellon University, "
    "BSD-style licence; modified: transcoded and subset; J. Kominek, A. W. Black, 2004), "
    "rhasspy dataset-voice-kathleen (CC0 1.0).")


def git_commit():
    try:
        return subprocess.check_output(["git", "-C", str(ROOT), "rev-parse", "HEAD"], text=True).strip()
    except Exception:
        return "unknown"


def tokens_from_bpe(path, vocab):
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=str(path))
    assert sp.get_piece_size() == vocab, (sp.get_piece_size(), vocab)
    toks = [sp.id_to_piece(i) for i in range(vocab)]
    toks[0] = "<blk>"
    return toks


# Interpolation weight of the unigram in the token bigram (additive, in counts).
BIGRAM_UNIGRAM_WEIGHT = 10.0


def token_bigram(data, vocab, blank=0):
    """The `token_bigram` tensor (`docs/model-format.md`): natural-log bigram over the model's BPE pieces of the
    training transcripts (`train.index.tsv`, the utterances training reads), rows = previous token with the blank row
    as the start of an utterance (the prediction network's context is blank-padded); each row interpolates the
    bigram counts with the add-one unigram, p(t|s) = (c(s,t) + 10 p(t)) / (c(s) + 10). The blank column is 0 (never
    emitted). The search's LODR term subtracts it (README, "Words")."""
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=str(data / "bpe.model"))
    counts = np.zeros((vocab, vocab))
    for line in open(data / "train.index.tsv"):
        prev = blank
        for t in sp.encode(line.rstrip("\n").split("\t")[-1]):
            counts[prev, t] += 1
            prev = t
    uni = counts.sum(0) + 1.0
    uni[blank] = 0.0
    uni /= uni.sum()
    p = (counts + BIGRAM_UNIGRAM_WEIGHT * uni[None, :]) / (counts.sum(1, keepdims=True) + BIGRAM_UNIGRAM_WEIGHT)
    logp = np.log(np.where(p > 0, p, 1.0))
    logp[:, blank] = 0.0
    return torch.from_numpy(logp.astype(np.float32)), int(counts.sum())


def save_model(model, tokens, out, provenance, units="bpe", extra=None):
    meta = {"format_version": 1, "architecture": "rnnt-lstm-stateless", "hyperparameters": model.hp,
            "features": FEATURES, "units": units, "tokens": tokens, "license": "CC-BY-4.0", "license_attribution": LICENSE_NOTE,
            "provenance": provenance}
    sd = {k: v.detach().float().contiguous().clone() for k, v in model.state_dict().items()}
    params = sum(v.numel() for v in sd.values())
    sd.update(extra or {})
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(sd, str(out), metadata={"sotto": json.dumps(meta, ensure_ascii=False)})
    print(f"wrote {out} ({out.stat().st_size} bytes, {params} params, extra tensors: {sorted(extra or {})})")


def write_wav16(path, x_int16):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(x_int16.astype("<i2").tobytes())


def synth_clip(path, text="hello world, this is sotto speaking", voice="en-us", wpm=160):
    """espeak-ng (22.05 kHz) -> 16 kHz int16 mono WAV; deterministic for a given espeak-ng version."""
    import soundfile as sf
    import torchaudio.functional as AF
    tmp = path.with_suffix(".tmp.wav")
    subprocess.check_call(["espeak-ng", "-v", voice, "-s", str(wpm), "-w", str(tmp), text])
    x, sr = sf.read(str(tmp), dtype="float32")
    tmp.unlink()
    if x.ndim > 1:
        x = x.mean(1)
    y = AF.resample(torch.from_numpy(x), sr, 16000).numpy()
    y = np.clip(np.round(y * 32768), -32768, 32767).astype(np.int16)
    write_wav16(path, y)
    return y


def read_wav16(path):
    with wave.open(str(path), "rb") as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2
        return np.frombuffer(w.readframes(w.getnframes()), "<i2")


# Golden models: file stem -> Transducer options beyond the shared tiny sizes. `tiny_ln` covers the residual +
# LayerNorm encoder and the no-projection LSTM (proj 0, so P = H).
GOLDEN_MODELS = {
    "tiny": dict(proj=8),
    "tiny_ln": dict(proj=0, residual=True, layer_norm=True),
    # the chunked look-ahead layer; 7-frame chunks leave a partial last chunk (65 = 9 x 7 + 2 frames) on the clip
    "tiny_look": dict(proj=0, residual=True, layer_norm=True, lookahead_chunk=7),
}


def golden(args, stems=tuple(GOLDEN_MODELS)):
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    wav = GOLDEN_DIR / "espeak_hello.wav"
    x = read_wav16(wav) if wav.exists() and not args.resynth else synth_clip(wav)
    feats = fbank(x.astype(np.float32) / 32768.0)
    np.save(GOLDEN_DIR / "espeak_hello.fbank.npy", feats.astype(np.float32))
    tokens = tokens_from_bpe(HERE / "runs/data/bpe.model", 256) if (HERE / "runs/data/bpe.model").exists() \
        else ["<blk>"] + [f"▁T{i}" for i in range(1, 256)]
    for stem in stems:
        golden_model(stem, feats, tokens, **GOLDEN_MODELS[stem])


def golden_model(stem, feats, tokens, **opts):
    """Random tiny model `{stem}.safetensors` + `{stem}_golden.npz` (PyTorch outputs on `feats`)."""
    # Retry seeds until every greedy argmax has a clear margin, so Rust f32 parity cannot flip on a near tie.
    for seed, shift in ((s, b) for s in range(50) for b in (0.0, 1.0, 2.0, 3.0, 4.0, 6.0)):
        torch.manual_seed(seed)
        m = Transducer(feat_dim=80, stack=4, num_layers=2, hidden=16, pred_dim=8, context_size=2,
                       joiner_dim=16, vocab_size=256, blank_id=0, ctc=True, **opts).eval()
        with torch.no_grad():
            for p in m.parameters():  # default init is too flat to give blanks and non-blanks both
                p.mul_(3.0)
            m.joiner.output.weight.mul_(4.0)
            m.joiner.output.bias[0] += shift  # so that the greedy path mixes blanks and symbols
            norms = list(m.encoder.norm or ()) + ([m.encoder.look_norm] if hasattr(m.encoder, "look_norm") else [])
            for n in norms:  # not the identity init: a gain or shift ignored must show
                n.weight.uniform_(0.5, 1.5)
                n.bias.uniform_(-0.5, 0.5)
            m.encoder.cmvn_mean.copy_(torch.from_numpy(feats.mean(0)))
            m.encoder.cmvn_istd.copy_(torch.from_numpy(1.0 / (feats.std(0) + 1e-3)))
            ft = torch.from_numpy(feats)[None]
            enc, lens = m.encoder(ft, torch.tensor([len(feats)]))
            pred0 = m.pred_init()[0]
            logits0 = m.joiner(enc[0, 0], pred0)
            hyp, margin = greedy_with_margin(m, enc[0])
        if margin > 0.02 and enc.shape[1] // 4 <= len(hyp) <= 3 * enc.shape[1] // 4 and len(set(hyp)) >= 5:
            break
    else:
        raise SystemExit(f"{stem}: no seed gave a greedy path with clear margins")
    print(f"{stem}: seed {seed} blank shift {shift}: margin {margin:.3f}, {len(hyp)} tokens over {enc.shape[1]} frames")
    ln = ", LayerNorm weight ~ U(0.5, 1.5) and bias ~ U(-0.5, 0.5)" if m.encoder.norm is not None else ""
    save_model(m, tokens, GOLDEN_DIR / f"{stem}.safetensors",
               {"recipe": "tools/train", "git_commit": git_commit(), "train_manifest_sha256": "none (random weights)",
                "epochs": 0, "notes": f"random weights for parity tests: torch.manual_seed({seed}), params x3, joiner.output.weight x4 more, "
                        f"joiner.output.bias[0] += {shift}{ln}"})
    np.savez(GOLDEN_DIR / f"{stem}_golden.npz", features=feats.astype(np.float32),
             encoder_out=enc[0].numpy().astype(np.float32), pred_init=pred0.numpy().astype(np.float32),
             logits_t0=logits0.numpy().astype(np.float32), greedy_tokens=np.array(hyp, dtype=np.int64))


@torch.no_grad()
def greedy_with_margin(m, enc, max_symbols=1):
    """Single-utterance greedy search over enc [T, P] (at most `max_symbols` symbols per frame, as sotto's greedy
    search) that also returns the smallest top-1/top-2 logit gap met on the way."""
    ctx = [m.hp["blank_id"]] * m.hp["context_size"]
    pred = m.pred_init()[0]
    hyp, margin = [], float("inf")
    for t in range(enc.shape[0]):
        for _ in range(max_symbols):
            lg = m.joiner(enc[t], pred)
            top = lg.topk(2).values
            margin = min(margin, float(top[0] - top[1]))
            k = int(lg.argmax())
            if k == m.hp["blank_id"]:
                break
            hyp.append(k)
            ctx = ctx[1:] + [k]
            pred = m.decoder(torch.tensor([ctx]))[0, -1]
    return hyp, margin


def load_averaged(paths):
    """The last checkpoint's metadata with the element-wise mean of all the checkpoints' weights.

    Averaging the weights of the last few epochs (as icefall's `--avg` does) smooths the epoch-to-epoch
    noise of a small-data run; all checkpoints must have one model config. An exported f32 model
    (`.safetensors`, e.g. the shipped mean a run was warm-started from) may be among them and counts as one
    checkpoint (name it twice to weigh it twice); tensors it lacks (the CTC head) are averaged over the others.
    """
    cks = []
    for p in paths:
        if str(p).endswith(".safetensors"):
            cks.append({"model": load_network_weights(p), "config": None, "epoch": None, "step": None, "path": str(p)})
        else:
            ck = torch.load(p, map_location="cpu", weights_only=False)
            ck["path"] = str(p)
            cks.append(ck)
    full = [c for c in cks if c["config"] is not None]
    if not full:
        raise SystemExit(f"{paths}: at least one training checkpoint (.pt) is needed for the metadata")
    ck = full[-1]
    for other in full:
        if other["config"]["model"] != ck["config"]["model"]:
            raise SystemExit(f"{other['path']}: model hyperparameters differ from {ck['path']}; cannot average")
    if len(cks) > 1:
        avg = {}
        for k, v in ck["model"].items():
            if v.is_floating_point():
                have = [c["model"][k] for c in cks if k in c["model"]]
                for c in cks:
                    if k in c["model"] and c["model"][k].shape != v.shape:
                        raise SystemExit(f"{c['path']}: {k} has shape {tuple(c['model'][k].shape)}, not {tuple(v.shape)}")
                avg[k] = sum(t.double() for t in have).div(len(have)).to(v.dtype)
            else:
                avg[k] = v
        for c in cks:
            extra = set(c["model"]) - set(ck["model"])
            if extra:
                raise SystemExit(f"{c['path']}: tensors the model does not have: {sorted(extra)[:3]}")
        ck = dict(ck, model=avg, averaged=[{"path": c["path"], "epoch": c["epoch"], "step": c["step"]} for c in cks])
    return ck


def export_ckpt(args):
    ck = load_averaged(args.ckpt)
    cfg = ck["config"]
    if cfg["model"].get("encoder", "lstm") != "lstm":
        raise SystemExit(f"{args.ckpt}: encoder {cfg['model']['encoder']!r} has no sotto model format yet "
                         "(docs/model-format.md describes rnnt-lstm-stateless only)")
    m = Transducer(**cfg["model"])
    m.load_state_dict(ck["model"])
    data = Path(cfg.get("data", HERE / "runs/data"))
    if not data.is_absolute():
        data = HERE / data
    man = json.load(open(data / "manifest.json"))
    units = cfg.get("units", "bpe")
    if units == "phones":
        from phones import UNITS
        tokens = list(UNITS)
    else:
        tokens = tokens_from_bpe(data / "bpe.model", m.hp["vocab_size"])
    prov = {"recipe": "tools/train", "git_commit": git_commit(), "train_manifest_sha256": man["train_manifest_sha256"],
            "epochs": ck["epoch"], "steps": ck["step"], "train_minutes": round(ck["train_seconds"] / 60, 1),
            "config": cfg, "notes": args.notes}
    if "averaged" in ck:
        prov["averaged_checkpoints"] = ck["averaged"]
    extra = {}
    if units == "bpe":
        extra["token_bigram"], n = token_bigram(data, m.hp["vocab_size"], m.hp["blank_id"])
        prov["token_bigram"] = (f"train.index.tsv transcripts, {n} tokens; bigram interpolated with the add-one unigram "
                                f"(weight {BIGRAM_UNIGRAM_WEIGHT:g})")
    out = Path(args.out)
    if args.int8:
        # One quantization rule, sotto's: write f32, then `sotto quantize` it.
        f32 = out.with_name(out.stem + ".f32-tmp.safetensors")
        save_model(m, tokens, f32, prov, units=units, extra=extra)
        try:
            subprocess.check_call([args.sotto, "quantize", str(f32), str(out)])
        finally:
            f32.unlink(missing_ok=True)
    else:
        save_model(m, tokens, out, prov, units=units, extra=extra)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--golden", action="store_true")
    ap.add_argument("--stems", help="with --golden: only these golden models (comma-separated; default all)")
    ap.add_argument("--resynth", action="store_true", help="re-run espeak-ng for the golden clip")
    ap.add_argument("--ckpt", nargs="+", help="checkpoint(s); several are averaged weight by weight (same model config; "
                    "an exported f32 .safetensors counts as one)")
    ap.add_argument("--out")
    ap.add_argument("--notes", default="")
    ap.add_argument("--int8", action="store_true", help="write int8 weights: exports f32, then runs `sotto quantize`")
    ap.add_argument("--sotto", default=str(ROOT / "target/release/sotto"), help="sotto binary for --int8")
    a = ap.parse_args()
    torch.set_num_threads(1)
    golden(a, a.stems.split(",") if a.stems else tuple(GOLDEN_MODELS)) if a.golden else export_ckpt(a)


if __name__ == "__main__":
    main()
