"""Recordings of a phrase by TTS voices held out of training (`prepare.py --exclude-voice`), for
evaluating a TTS-only model on voices it never heard.

Every held-out voice speaks the phrase texts (as prepare.py's pos_tts: "Hey Sotto", "Hey
Sotto.", "Hey Sotto?", "hey sotto!") at 3 rates x 3 pitches; each rendering is written as
--copies 16 kHz WAV files: one clean (0.6-1.6 s of near-silence before, 0.3-0.9 s after), the
others augmented like training positives (speed, 40 % room reverb, level, coloured noise or
silence at 0-30 dB SNR) but with no corpus speech in the background. With --features DIR/NAME the
clips are also written as a feature set (sotto's frontend, as `sotto wake` reads the files), e.g.
a validation set `val_pos` from a voice held out for model selection.

Usage: python heldout.py --phrase "hey sotto" --voice flite:awb --voice pico:en-GB \
          --out ~/.cache/sotto-wake/eval/hey_sotto_test [--features DIR/val_pos]
"""

import argparse
import sys
import zlib
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import prepare as P  # noqa: E402
import tts  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--phrase", required=True)
    ap.add_argument("--voice", action="append", required=True, help="engine:voice (repeat)")
    ap.add_argument("--out", type=Path, required=True, help="folder for the WAV files")
    ap.add_argument("--copies", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--features", type=Path, help="also write DIR/NAME.u8 + .idx.npy")
    ap.add_argument("--sotto", default=str(P.ROOT / "target/release/sotto"))
    a = ap.parse_args()
    slug = a.phrase.lower().replace(" ", "_")
    texts = [a.phrase.title(), a.phrase.title() + ".", a.phrase.title() + "?", a.phrase.lower() + "!"]
    keep = set(a.voice)
    exclude = [f"{e}:{v}" for e, v in tts.voices() if f"{e}:{v}" not in keep]
    clips = tts.synthesize_all(texts, Path.home() / ".cache/sotto-wake/tts" / slug, exclude=exclude)
    rng = np.random.default_rng([a.seed, zlib.crc32(b"heldout")])
    bg = P.Backgrounds(rng, [])  # coloured noise or silence only
    a.out.mkdir(parents=True, exist_ok=True)
    fe = P.Frontend(a.sotto) if a.features else None
    w = P.FeatureWriter(a.features.parent, a.features.name) if a.features else None
    n = 0
    for path, e, v, t in clips:
        x = P.load(path)
        for k in range(a.copies):
            y, end = P.augment(rng, bg, x, clean=(k == 0))
            name = a.out / f"{e}_{v}_{Path(path).stem.split('_')[-1]}_{k}.wav"
            sf.write(str(name), np.clip(y, -1, 1).astype(np.float32), P.SR, subtype="PCM_16")
            if w:
                # The feature set holds what `sotto wake` sees: the 16-bit file.
                w.add(P.quantize(fe(sf.read(str(name), dtype="float32")[0])), P.to_frame(end))
            n += 1
    if w:
        w.close()
    print(f"{n} clips from {len(clips)} renderings by {sorted(keep)} -> {a.out}")


if __name__ == "__main__":
    main()
