"""Synthetic training speech (issue 11): prompts from `shared/text` spoken by permissively licensed TTS voices,
with varied rate, pitch, gain and simulated rooms, cached as fbank features beside the real data.

  python synth.py --hours 5                      # -> runs/synth/synth.feats.npy, synth.index.tsv, manifest.json

Voices (`../shared/training-notes.md`; all Debian packages, licences that allow training shipped weights):
  flite  kal, kal16, awb, rms, slt      (CMU Flite and its CMU ARCTIC voices: BSD-style)
  rhvoice alan, bdl, clb, slt           (RHVoice English voices: LGPL; the CC BY-NC-ND ones are left out)
  pico   en-US, en-GB                   (SVOX Pico: Apache-2.0)
Prompts: every line of `shared/text/*.xz` (permissive; see its README), normalized like the transcripts
(`lm_text.normalize`), 3-25 words, every word in CMUdict (so the voices say real words), deduplicated, never a
sentence of dev.tsv. The train.tsv transcripts are not used as prompts (the real recordings cover them).
Variation per utterance (seeded): tempo 0.85-1.2, pitch -300..+300 cents, gain -12..0 dB, and with probability
0.5 a room (sox `reverb`, reverberance 10-70 %, room scale 20-100 %); noise is added at training time (`train.py`
`augment`), as for real speech. The index has the same columns as `prepare.py`'s, source `tts-<engine>`,
speaker `<engine>-<voice>`; `train.py` mixes it in through the config's `extra_train`.
Resumable: utterances already in the index are kept (generation appends in chunks).
"""

import argparse
import csv
import json
import lzma
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lm_text import normalize
from prepare import CORPUS, fbank, load_audio

HERE = Path(__file__).resolve().parent
SHARED = CORPUS.parent

VOICES = ([("flite", v) for v in ("kal", "kal16", "awb", "rms", "slt")]
          + [("rhvoice", v) for v in ("alan", "bdl", "clb", "slt")]
          + [("pico", v) for v in ("en-US", "en-GB")])


def cmudict_words():
    """Words of the recipe's lexicon (CMUdict + G2P for train words), upper case."""
    words = set()
    with open(HERE / "runs/data/lexicon.txt", encoding="utf-8") as f:
        for line in f:
            if line.strip() and not line.startswith(";;;"):
                w = line.split()[0]
                words.add(w.split("(")[0])
    return words


def prompts(seed):
    """Normalized, filtered, deduplicated prompt sentences, shuffled with `seed`."""
    lex = cmudict_words()
    dev = set()
    with open(CORPUS / "dev.tsv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            dev.add(r["text"])
    seen = set()
    for p in sorted((SHARED / "text").glob("*.xz")):
        with lzma.open(p, "rt", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                t = normalize(line)
                ws = t.split()
                if 3 <= len(ws) <= 25 and t not in dev and t not in seen and all(w in lex for w in ws):
                    seen.add(t)
    out = sorted(seen)
    random.Random(seed).shuffle(out)
    return out


def speak(engine, voice, text, wav):
    """Write `text` spoken by one voice to `wav` (any rate; mono)."""
    if engine == "flite":
        cmd = ["flite", "-voice", voice, "-t", text, "-o", wav]
    elif engine == "rhvoice":
        cmd = ["RHVoice-test", "-p", voice, "-o", wav]
    else:
        cmd = ["pico2wave", "-l", voice, "-w", wav, text]
    subprocess.run(cmd, input=text.encode() if engine == "rhvoice" else None, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)


def vary(src, dst, rng):
    """16 kHz mono int16 with tempo, pitch, gain and maybe a room; returns the effect description."""
    tempo = rng.uniform(0.85, 1.2)
    pitch = rng.uniform(-300, 300)
    gain = rng.uniform(-12, 0)
    fx = ["tempo", f"{tempo:.3f}", "pitch", f"{pitch:.0f}"]
    desc = f"tempo {tempo:.2f} pitch {pitch:.0f} gain {gain:.1f}"
    if rng.random() < 0.5:
        rev, room = rng.uniform(10, 70), rng.uniform(20, 100)
        fx += ["reverb", f"{rev:.0f}", "50", f"{room:.0f}"]
        desc += f" reverb {rev:.0f} room {room:.0f}"
    # Pitch and reverb can clip: normalize to -1 dBFS first, then apply the gain.
    fx += ["gain", "-n", "-1", "gain", f"{gain:.1f}", "rate", "16000", "channels", "1"]
    subprocess.run(["sox", "-q", src, "-b", "16", dst] + fx, check=True, timeout=120)
    return desc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(HERE / "runs/synth"))
    ap.add_argument("--hours", type=float, default=5.0, help="stop when the index holds this much audio")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--chunk", type=int, default=200, help="utterances per appended chunk")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    index_path, feats_dir = out / "synth.index.tsv", out / "chunks"
    feats_dir.mkdir(exist_ok=True)
    done = []
    if index_path.exists():
        done = [l.rstrip("\n").split("\t") for l in open(index_path, encoding="utf-8") if l.strip()]
    have_s = sum(float(r[2]) for r in done)
    texts = prompts(a.seed)
    print(f"{len(texts)} prompts; {len(done)} utterances ({have_s / 3600:.2f} h) already made", file=sys.stderr)
    rng = random.Random(a.seed * 1000 + len(done))
    i = len(done)
    t0 = time.time()
    per_voice = {}
    with tempfile.TemporaryDirectory() as tmp:
        while have_s < a.hours * 3600 and i < len(texts):
            feats, rows = [], []
            for _ in range(a.chunk):
                if i >= len(texts):
                    break
                text = texts[i]
                engine, voice = VOICES[i % len(VOICES)]
                i += 1
                raw, wav = f"{tmp}/raw.wav", f"{tmp}/out.wav"
                try:
                    speak(engine, voice, text, raw)
                    desc = vary(raw, wav, rng)
                    x = load_audio(wav)
                except (subprocess.SubprocessError, RuntimeError, OSError) as e:
                    print(f"skipped {engine}-{voice} {text!r}: {e}", file=sys.stderr)
                    continue
                f = fbank(x).astype(np.float16)
                feats.append(f)
                dur = len(x) / 16000
                rows.append([len(f), f"{dur:.3f}", f"tts-{engine}", f"{engine}-{voice}", text, desc])
                per_voice[f"{engine}-{voice}"] = per_voice.get(f"{engine}-{voice}", 0.0) + dur
            if not rows:
                break
            k = len(list(feats_dir.glob("*.npy")))
            np.save(feats_dir / f"{k:05d}.npy", np.concatenate(feats))
            with open(index_path, "a", encoding="utf-8") as fh:
                for r in rows:
                    # chunk file, frames, duration, source, speaker, text, effects
                    fh.write("\t".join([f"{k:05d}"] + [str(c) for c in r]) + "\n")
            have_s += sum(float(r[1]) for r in rows)
            print(f"{i} prompts used, {have_s / 3600:.2f} h, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    hours = {}
    for r in (l.rstrip("\n").split("\t") for l in open(index_path, encoding="utf-8") if l.strip()):
        hours[r[4]] = hours.get(r[4], 0.0) + float(r[2]) / 3600
    json.dump({"hours_by_voice": hours, "total_hours": sum(hours.values()), "prompts_available": len(texts),
               "seed": a.seed}, open(out / "manifest.json", "w"), indent=1)
    print("done", json.dumps(hours), file=sys.stderr)


if __name__ == "__main__":
    main()
