"""PyTorch side of the shipped-model parity test (`tests/shipped_model.rs`).

  python parity.py --model ../../models/zoo/sotto-en-f32.safetensors

Loads an exported f32 model file (docs/model-format.md) into `model.Transducer`, decodes a few clips greedily
(max one symbol per frame, as sotto's greedy search) from kaldi-native-fbank features, and writes
`tests/data/parity/<model stem>.tsv` (`clip<TAB>token ids<TAB>text<TAB>smallest top-1/top-2 logit gap<TAB>token
ids with up to two symbols per frame`).
The clips are synthesized here with espeak-ng (no third-party audio in the repository) when missing.
With --dev, also decodes every dev utterance of runs/data (the same cached features training evaluates on)
and writes runs/<name>/dev_hyps_f32_model.tsv for finish.sh to compare with `sotto transcribe`.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
from export import greedy_with_margin, read_wav16, synth_clip  # noqa: E402
from model import Transducer, load_network_weights  # noqa: E402
from prepare import fbank  # noqa: E402

CLIPS = [  # (file, espeak-ng voice, words per minute, text)
    ("girl.wav", "en-us", 150, "he said that the little girl was not afraid of the dark"),
    ("sun.wav", "en", 160, "the sun rose over the hills and the birds began to sing"),
    ("home.wav", "en-us+f3", 140, "i will tell you what i saw when i came home that night"),
]


def load_model(path):
    with safe_open(str(path), "pt") as f:
        meta = json.loads(f.metadata()["sotto"])
    assert "quantized" not in meta, "parity needs the f32 export"
    hp = dict(meta["hyperparameters"])
    m = Transducer(**hp).eval()
    m.load_state_dict(load_network_weights(path))
    return m, meta["tokens"]


def text_of(ids, tokens):
    return "".join(tokens[i] for i in ids).replace("\u2581", " ").strip()


@torch.no_grad()
def greedy_margin(m, feats, max_symbols=1):
    enc, _ = m.encoder(torch.from_numpy(feats)[None], torch.tensor([len(feats)]))
    return greedy_with_margin(m, enc[0], max_symbols)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--dev", help="also decode runs/data dev features; write this TSV")
    ap.add_argument("--max-symbols", type=int, default=1, help="greedy symbols per frame for --dev")
    a = ap.parse_args()
    torch.set_num_threads(2)
    m, tokens = load_model(a.model)
    out_dir = ROOT / "tests/data/parity"
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, voice, wpm, text in CLIPS:
        wav = out_dir / name
        if not wav.exists():
            synth_clip(wav, text, voice=voice, wpm=wpm)
        feats = fbank(read_wav16(wav).astype(np.float32) / 32768.0)
        ids, margin = greedy_margin(m, feats)
        ids2, _ = greedy_margin(m, feats, 2)
        rows.append(f"{name}\t{' '.join(map(str, ids))}\t{text_of(ids, tokens)}\t{margin:.4f}\t{' '.join(map(str, ids2))}\n")
        print(rows[-1], end="")
    stem = Path(a.model).name.removesuffix(".safetensors")
    (out_dir / f"{stem}.tsv").write_text("".join(rows), encoding="utf-8")
    if a.dev:
        from train import Split
        import sentencepiece as spm
        sp = spm.SentencePieceProcessor(model_file=str(HERE / "runs/data/bpe.model"))
        dev = Split(HERE / "runs/data", "dev", sp)
        with open(a.dev, "w", encoding="utf-8") as f:
            for i, u in enumerate(dev.utts):
                ids, _ = greedy_margin(m, dev.feats[u["off"]: u["off"] + u["n"]].astype(np.float32), a.max_symbols)
                f.write(f"{i}\t{text_of(ids, tokens)}\n")


if __name__ == "__main__":
    main()
