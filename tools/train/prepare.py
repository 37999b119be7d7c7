"""Data preparation: Opus -> 16 kHz -> Kaldi fbank (docs/model-format.md config), cached per split.

Writes under --out (default tools/train/runs/data):
  <split>.feats.npy  float16 [sum T, 80]  all utterances concatenated
  <split>.index.tsv  offset, frames, duration_s, source, speaker, text (one row per utterance)
  cmvn.json          global mean / 1/std over train frames
  bpe.model/.vocab   sentencepiece BPE (V pieces, id 0 = <blk>) trained on train.tsv texts only
  manifest.json      sha256 of train.tsv, counts, hours
"""

import argparse
import csv
import hashlib
import json
import os
import sys
from multiprocessing import Pool
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CORPUS = Path(os.environ.get("SOTTO_CORPUS", HERE / "../../../shared/corpus")).resolve()

# The reference config (shared/reference/fbank/config.json, "fbank" variant) in sotto FbankConfig names.
FEATURES = {"sample_rate": 16000, "frame_length_ms": 25.0, "frame_shift_ms": 10.0, "num_mel_bins": 80,
            "low_freq": 20.0, "high_freq": 0.0, "preemph_coeff": 0.97, "window": "povey",
            "remove_dc_offset": True, "snip_edges": False, "dither": 0.0}


def fbank_opts():
    import kaldi_native_fbank as knf
    o = knf.FbankOptions()
    o.frame_opts.samp_freq = 16000
    o.frame_opts.frame_length_ms = 25.0
    o.frame_opts.frame_shift_ms = 10.0
    o.frame_opts.dither = 0.0
    o.frame_opts.preemph_coeff = 0.97
    o.frame_opts.remove_dc_offset = True
    o.frame_opts.window_type = "povey"
    o.frame_opts.snip_edges = False
    o.mel_opts.num_bins = 80
    o.mel_opts.low_freq = 20.0
    o.mel_opts.high_freq = 0.0
    return o


def fbank(samples: np.ndarray) -> np.ndarray:
    """Kaldi fbank of float samples in [-1, 1) (int16 / 32768, as sherpa-onnx feeds kaldi-native-fbank)."""
    import kaldi_native_fbank as knf
    fb = knf.OnlineFbank(fbank_opts())
    fb.accept_waveform(16000, samples.astype(np.float32).tolist())
    fb.input_finished()
    n = fb.num_frames_ready
    if n == 0:
        return np.zeros((0, 80), np.float32)
    return np.stack([np.asarray(fb.get_frame(i), np.float32) for i in range(n)])


def load_audio(path) -> np.ndarray:
    """Decode to mono float32 16 kHz; resample (torchaudio) only if the decoder returns another rate."""
    import soundfile as sf
    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if sr != 16000:
        import torch
        import torchaudio.functional as F
        x = F.resample(torch.from_numpy(x), sr, 16000).numpy()
    return x


def read_tsv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def _work(path):
    return fbank(load_audio(CORPUS / path)).astype(np.float16)


def prep_split(name, rows, out, procs):
    feats, index, off = [], [], 0
    with Pool(procs) as pool:
        for i, (r, f) in enumerate(zip(rows, pool.imap(_work, [r["path"] for r in rows], chunksize=16))):
            feats.append(f)
            index.append((off, len(f), r["duration_s"], r["source"], r["speaker"], r["text"]))
            off += len(f)
            if i % 1000 == 0:
                print(f"{name}: {i}/{len(rows)}", flush=True)
    allf = np.concatenate(feats)
    np.save(out / f"{name}.feats.npy", allf)
    with open(out / f"{name}.index.tsv", "w", encoding="utf-8") as f:
        for row in index:
            f.write("\t".join(map(str, row)) + "\n")
    return allf


def train_bpe(texts, out, vocab):
    import sentencepiece as spm
    txt = out / "bpe_text.txt"
    txt.write_text("\n".join(texts) + "\n", encoding="utf-8")
    # id 0 is reserved for the transducer blank: make it the (never produced) pad piece named <blk>.
    spm.SentencePieceTrainer.train(
        input=str(txt), model_prefix=str(out / "bpe"), vocab_size=vocab, model_type="bpe",
        character_coverage=1.0, pad_id=0, pad_piece="<blk>", unk_id=1, bos_id=-1, eos_id=-1,
        num_threads=2, input_sentence_size=10_000_000, minloglevel=2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(HERE / "runs/data"))
    ap.add_argument("--vocab", type=int, default=256)
    ap.add_argument("--procs", type=int, default=2)
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    train = read_tsv(CORPUS / "train.tsv")
    dev = read_tsv(CORPUS / "dev.tsv")
    train_bpe([r["text"] for r in train], out, a.vocab)
    tf = prep_split("train", train, out, a.procs)
    # CMVN in float64 over all train frames.
    x = tf.astype(np.float32)
    mean = x.mean(0, dtype=np.float64)
    std = np.sqrt(np.maximum((x.astype(np.float64) ** 2).mean(0) - mean ** 2, 1e-10))
    del x
    json.dump({"mean": mean.tolist(), "istd": (1.0 / std).tolist()}, open(out / "cmvn.json", "w"))
    prep_split("dev", dev, out, a.procs)
    sha = hashlib.sha256((CORPUS / "train.tsv").read_bytes()).hexdigest()
    hours = {}
    for r in train:
        hours[r["source"]] = hours.get(r["source"], 0.0) + float(r["duration_s"]) / 3600
    json.dump({"train_manifest_sha256": sha, "train_utts": len(train), "dev_utts": len(dev),
               "train_hours_by_source": hours, "features": FEATURES}, open(out / "manifest.json", "w"), indent=1)
    print("done", sha, file=sys.stderr)


if __name__ == "__main__":
    main()
