"""Data pipeline of the wake-word recipe: clips -> augmented audio -> sotto's frontend features.

Sets (each written as DIR/NAME.u8 + DIR/NAME.idx.npy, see `FeatureWriter`):
  pos_tts    the phrase, every permissively licensed TTS voice x rates x pitches, augmented
  pos_real   real recordings of the phrase from corpus/keywords.tsv, *train split only*, augmented
  neg_near   near-miss phrases (sub-phrases, sound-alikes) by TTS, augmented like positives
  neg_kw     the other keywords' clips of keywords.tsv, *train split only*, with background
  neg_speech corpus/train.tsv speech (never dev.tsv), some with noise and reverb
  neg_noise  coloured noise, silence, babble
  neg_speech2, neg_speech3, ...  further --speech-chunk-hours of train.tsv speech each (after
             neg_speech's, never the validation speech), augmented like neg_speech
Validation sets (model selection only, never trained on; clean files as `sotto wake` reads them):
  val_pos    real recordings of the phrase, keywords.tsv split *dev*
  val_kw     the other keywords' keywords.tsv *dev* clips
  val_speech the last --val-speech-hours of train.tsv in the seed's order (left out of every
             neg_speech* set)

Features are the raw u16 TFLite-Micro frontend values computed by `sotto wake-tool features`
(sotto's own frontend, the one `sotto wake` runs), quantized exactly as sotto quantizes model
inputs (round-half-even of raw*0.0390625/scale + zero_point, scale 0.10196079, zp -128) and
stored as uint8 (q + 128). A fresh frontend runs per clip; every clip starts with 0.6-1.6 s of
background so the frontend's noise estimate has settled before the keyword, as in a stream.

Usage: python prepare.py --phrase alexa [--real-label ALEXA] [--out ~/.cache/sotto-wake/alexa]
"""

import argparse
import csv
import json
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

import tts

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
SR = 16000
INPUT_SCALE = np.float32(0.10196079)  # = alexa v2's input scale (26/255 as float32)
INPUT_ZP = -128
FEATURE_SCALE = 0.0390625

NEAR_MISSES = {
    "alexa": ["Alex", "Alexis", "Alexander", "Alaska", "a lexicon", "Lexa", "Electra", "Alissa",
              "Alexandra", "a Lexus", "election", "a text for", "Alexei", "Lexington", "Alexia's",
              "Annex a", "Ibiza", "Alice", "Atlanta", "relax a", "Alex hey", "Mexica", "Larissa",
              "excellent", "expect a", "Alexa's sister", "the letter", "Alexandria", "perplexer"],
    "hey_sotto": ["hey Otto", "hey soda", "hey Scott", "hey sorry", "say sotto", "hey lotto",
                  "hey photo", "hey total", "sotto voce", "hey so to", "hey Sophie", "okay sotto",
                  "hey ditto", "hey motto", "hey Toto", "hay salt", "heavy soda", "hey potato",
                  "hey Sara", "they sought", "a sotto", "hey sir", "hey saw two", "hey Alexa"],
}


def quantize(raw: np.ndarray) -> np.ndarray:
    """sotto's input quantization (wake.rs `InputQuantizer`) as uint8 q+128."""
    f = (raw.astype(np.float32) * np.float32(FEATURE_SCALE)).astype(np.float64)
    q = np.rint(f / np.float64(INPUT_SCALE) + INPUT_ZP)
    return (np.clip(q, -128, 127) + 128).astype(np.uint8)


class Frontend:
    """A `sotto wake-tool features` subprocess: int16 clips in, raw u16 features out."""

    def __init__(self, sotto):
        self.p = subprocess.Popen([sotto, "wake-tool", "features"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        pcm = np.clip(np.round(x * 32768.0), -32768, 32767).astype("<i2")
        self.p.stdin.write(struct.pack("<I", len(pcm)) + pcm.tobytes())
        self.p.stdin.flush()
        n = struct.unpack("<I", self._read(4))[0]
        return np.frombuffer(self._read(n * 80), dtype="<u2").reshape(n, 40)

    def _read(self, n):
        b = bytearray()
        while len(b) < n:
            c = self.p.stdout.read(n - len(b))
            if not c:
                raise RuntimeError("sotto wake-tool features ended")
            b += c
        return bytes(b)


class FeatureWriter:
    """NAME.u8: all frames of a set (uint8, 40 per frame); NAME.idx.npy: int64 rows of
    (first frame, frames, keyword end frame or -1)."""

    def __init__(self, out: Path, name: str):
        self.f = open(out / f"{name}.u8.tmp", "wb")
        self.out, self.name, self.rows, self.pos = out, name, [], 0

    def add(self, feats_u8: np.ndarray, end: int = -1):
        self.f.write(feats_u8.tobytes())
        self.rows.append((self.pos, len(feats_u8), end))
        self.pos += len(feats_u8)

    def close(self):
        self.f.close()
        os.replace(self.out / f"{self.name}.u8.tmp", self.out / f"{self.name}.u8")
        np.save(self.out / f"{self.name}.idx.npy", np.array(self.rows, dtype=np.int64).reshape(-1, 3))
        return len(self.rows), self.pos


def load(path) -> np.ndarray:
    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if sr != SR:
        x = AF.resample(torch.from_numpy(x), sr, SR).numpy()
    return x


def speed(x, factor):
    """Resampling speed change (tempo and pitch together)."""
    if abs(factor - 1) < 1e-3:
        return x
    new = int(round(SR / factor / 100)) * 100
    return AF.resample(torch.from_numpy(x), SR, new).numpy()


def rms_db(x):
    return 10 * np.log10(np.mean(x.astype(np.float64) ** 2) + 1e-12)


def keyword_end(x) -> int:
    """Last sample of the last 10 ms frame within 25 dB of the loudest frame."""
    n = len(x) // 160
    e = 10 * np.log10((x[: n * 160].reshape(n, 160) ** 2).mean(1) + 1e-10)
    loud = np.nonzero(e > e.max() - 25)[0]
    return int((loud[-1] + 1) * 160) if len(loud) else len(x)


def colored_noise(rng, n, kind):
    w = rng.standard_normal(n)
    if kind == "white":
        return w
    f = np.fft.rfft(w)
    k = np.arange(len(f)) + 1.0
    f /= np.sqrt(k) if kind == "pink" else k
    y = np.fft.irfft(f, n)
    return y / (np.std(y) + 1e-9)


def reverb(rng, x):
    rt60 = rng.uniform(0.15, 0.9)
    n = int(SR * min(rt60, 0.6))
    t = np.arange(n) / SR
    h = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    h[0] = 1.0 / rng.uniform(0.3, 1.0)  # direct path
    m = len(x) + n - 1
    nfft = 1 << (m - 1).bit_length()
    y = np.fft.irfft(np.fft.rfft(x, nfft) * np.fft.rfft(h, nfft), nfft)[: len(x) + n // 4]
    return y * (np.sqrt(np.mean(x ** 2)) / (np.sqrt(np.mean(y ** 2)) + 1e-9))


class Backgrounds:
    """Random background audio: corpus train speech (babble-ish), coloured noise, silence."""

    def __init__(self, rng, speech_clips):
        self.rng, self.speech = rng, speech_clips

    def __call__(self, n):
        r = self.rng.random()
        if r < 0.45 and self.speech:
            s = self.speech[self.rng.integers(len(self.speech))]
            if len(s) < n:
                s = np.tile(s, n // len(s) + 1)
            o = self.rng.integers(len(s) - n + 1)
            return s[o:o + n].copy()
        if r < 0.9:
            return colored_noise(self.rng, n, self.rng.choice(["white", "pink", "brown"]))
        return np.zeros(n)


def augment(rng, bg: Backgrounds, x, clean=False):
    """x (a clip with the phrase or a near miss) -> (audio, end sample of the speech)."""
    if not clean:
        x = speed(x, rng.uniform(0.88, 1.12))
    end = keyword_end(x)
    start_pad = int(SR * rng.uniform(0.6, 1.6))
    end_pad = int(SR * rng.uniform(0.3, 0.9))
    x = x[:end + int(0.05 * SR)]
    if not clean and rng.random() < 0.4:
        x = reverb(rng, x)
    level = rng.uniform(-38, -16)  # speech level, dBFS
    x = x * 10 ** ((level - rms_db(x)) / 20)
    y = np.zeros(start_pad + len(x) + end_pad)
    y[start_pad:start_pad + len(x)] = x
    b = bg(len(y))
    if clean or rng.random() < 0.1:
        snr = 60.0
    else:
        snr = rng.uniform(0, 30)
    b = b * 10 ** ((level - snr - rms_db(b)) / 20) if np.any(b) else b
    y = y + b + rng.standard_normal(len(y)) * 10 ** ((level - 70) / 20)
    peak = np.abs(y).max()
    if peak > 0.99:
        y *= 0.99 / peak
    return y, start_pad + end


def to_frame(sample_end):
    """Index of the first frontend frame whose window ends at or after sample `sample_end`."""
    return max(0, (sample_end - 480 + 159) // 160)


def read_tsv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--phrase", required=True)
    ap.add_argument("--real-label", help="keywords.tsv label of real recordings (train split)")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--sotto", default=str(ROOT / "target/release/sotto"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tts-aug", type=int, default=6, help="augmented copies per TTS clip")
    ap.add_argument("--real-aug", type=int, default=6, help="augmented copies per real clip")
    ap.add_argument("--speech-hours", type=float, default=3.0)
    ap.add_argument("--speech-chunk-hours", type=float, default=5.0,
                    help="hours of train.tsv speech in each of neg_speech2, neg_speech3, ...")
    ap.add_argument("--val-speech-hours", type=float, default=1.0,
                    help="train.tsv speech held out of training for val_speech")
    ap.add_argument("--exclude-voice", action="append", default=[],
                    help="engine:voice left out of training (held out for evaluation)")
    ap.add_argument("--sets", default="pos_tts,pos_real,neg_near,neg_kw,neg_speech,neg_speech2,neg_speech3,"
                    "neg_speech4,val_pos,val_kw,val_speech,neg_noise")
    a = ap.parse_args()
    slug = a.phrase.lower().replace(" ", "_")
    out = a.out or Path.home() / ".cache/sotto-wake" / slug
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    fe = Frontend(a.sotto)
    stats = json.loads((out / "stats.json").read_text()) if (out / "stats.json").exists() else {}
    t0 = time.time()

    def log(m):
        print(f"[{time.time() - t0:7.1f}s] {m}", flush=True)

    train = [r for r in read_tsv(CORPUS / "train.tsv") if slug.replace("_", " ").upper() not in r["text"]]
    order = rng.permutation(len(train))
    bg_clips = [load(CORPUS / train[i]["path"]) for i in order[:150]]
    bg = Backgrounds(rng, bg_clips)
    log(f"{len(bg_clips)} background utterances loaded")
    kws = read_tsv(CORPUS / "keywords.tsv")
    phrase_texts = [a.phrase.title(), a.phrase.title() + ".", a.phrase.title() + "?", a.phrase.lower() + "!"]
    sets = a.sets.split(",")

    def emit(name, items, fn):
        # Each set has its own random stream: the same seed gives the same set however the
        # sets are split over processes (--sets).
        nonlocal rng
        rng = np.random.default_rng([a.seed, zlib.crc32(name.encode())])
        bg.rng = rng
        w = FeatureWriter(out, name)
        secs = 0.0
        for i, it in enumerate(items):
            for audio, end in fn(it):
                raw = fe(audio)
                w.add(quantize(raw), to_frame(end) if end is not None else -1)
                secs += len(audio) / SR
            if (i + 1) % 500 == 0:
                log(f"{name}: {i + 1}/{len(items)}")
        n, frames = w.close()
        if (out / "stats.json").exists():  # another prepare.py may have added sets meanwhile
            stats.update({k: v for k, v in json.loads((out / "stats.json").read_text()).items() if k not in stats})
        stats[name] = {"clips": n, "hours": round(secs / 3600, 3), "sources": len(items)}
        (out / "stats.json").write_text(json.dumps(stats, indent=1))
        log(f"{name}: {n} clips, {secs / 3600:.2f} h")

    if "pos_tts" in sets:
        clips = tts.synthesize_all(phrase_texts, out.parent / "tts" / slug, exclude=a.exclude_voice, log=log)
        stats["tts_voices"] = sorted({f"{e}:{v}" for _, e, v, _ in clips})
        emit("pos_tts", clips, lambda c: [augment(rng, bg, load(c[0]), clean=(k == 0)) for k in range(a.tts_aug)])
    if "pos_real" in sets and a.real_label:
        real = [r for r in kws if r["label"] == a.real_label and r["split"] == "train"]
        emit("pos_real", real, lambda r: [augment(rng, bg, load(CORPUS / r["path"]), clean=(k == 0)) for k in range(a.real_aug)])
    if "neg_near" in sets:
        words = a.phrase.split()
        near = NEAR_MISSES.get(slug, []) + (words if len(words) > 1 else []) + [a.phrase[: max(2, len(a.phrase) * 2 // 3)]]
        clips = tts.synthesize_all([n.title() for n in near], out.parent / "tts" / (slug + "_near"),
                                   exclude=a.exclude_voice, rates=[0.85, 1.15], pitches=[1.15], log=log)
        emit("neg_near", clips, lambda c: [(augment(rng, bg, load(c[0]))[0], None) for _ in range(2)])
    if "neg_kw" in sets:
        other = [r for r in kws if r["split"] == "train" and r["label"] != (a.real_label or "")
                 and a.phrase.upper() not in r["label"]]
        emit("neg_kw", other, lambda r: [(augment(rng, bg, load(CORPUS / r["path"]))[0], None)])
    # train.tsv in the seed's order: 150 background utterances, neg_speech (--speech-hours),
    # then chunks of --speech-chunk-hours (neg_speech2, 3, ...); the last --val-speech-hours of
    # the order are validation speech and never enter a training set.
    val_idx, secs = [], 0.0
    for i in order[::-1]:
        if secs >= a.val_speech_hours * 3600:
            break
        val_idx.append(int(i))
        secs += float(train[i]["duration_s"])
    held = set(val_idx)
    chunks, cur, secs, limit = [], [], 0.0, a.speech_hours
    for i in order[150:]:
        if i in held:
            continue
        if secs > limit * 3600:
            chunks.append(cur)
            cur, secs, limit = [], 0.0, a.speech_chunk_hours
        cur.append(train[i])
        secs += float(train[i]["duration_s"])
    chunks.append(cur)

    def speech(r):
            x = load(CORPUS / r["path"])
            if rng.random() < 0.3:
                x = reverb(rng, x)
            if rng.random() < 0.5:
                b = bg(len(x))
                if np.any(b):
                    x = x + b * 10 ** ((rms_db(x) - rng.uniform(5, 30) - rms_db(b)) / 20)
            x = x * 10 ** ((rng.uniform(-40, -16) - rms_db(x)) / 20)
            return [(np.clip(x, -1, 1), None)]

    for k, sel in enumerate(chunks):
        name = "neg_speech" + (str(k + 1) if k else "")
        if name in sets:
            emit(name, sel, speech)
    clean = lambda path: [(load(path), None)]  # noqa: E731
    if "val_pos" in sets and a.real_label:
        emit("val_pos", [r for r in kws if r["label"] == a.real_label and r["split"] == "dev"],
             lambda r: clean(CORPUS / r["path"]))
    if "val_kw" in sets:
        emit("val_kw", [r for r in kws if r["split"] == "dev" and r["label"] != (a.real_label or "")
                        and a.phrase.upper() not in r["label"]], lambda r: clean(CORPUS / r["path"]))
    if "val_speech" in sets:
        emit("val_speech", [train[i] for i in val_idx], lambda r: clean(CORPUS / r["path"]))
    if "neg_noise" in sets:
        def noise(_):
            n = int(SR * rng.uniform(3, 10))
            x = bg(n)
            x = x * 10 ** ((rng.uniform(-70, -20) - rms_db(x)) / 20) if np.any(x) else x
            return [(np.clip(x + rng.standard_normal(n) * 1e-4, -1, 1), None)]

        emit("neg_noise", list(range(600)), noise)
    log("done")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
