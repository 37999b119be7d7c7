"""Per-invocation probabilities of a wake-word model in pymicro-wakeword 2.5.0's TFLite runtime
(its bundled libtensorflowlite_c, its MicroWakeWordFeatures frontend and input quantization),
printed as `sotto wake --scores` prints them: `step<TAB>probability` (6 decimals), or with
several clips `clip<TAB>step<TAB>probability`.

Usage: python parity.py MODEL.json CLIP.wav [CLIP.wav ...] > scores.tsv
"""

import sys
import wave
from pathlib import Path

from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures


def scores(manifest, wav):
    mww = MicroWakeWord.from_config(manifest)
    feats = MicroWakeWordFeatures()
    with wave.open(str(wav), "rb") as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2, wav
        audio = w.readframes(w.getnframes())
    out = []
    for f in feats.process_streaming(audio):
        before = len(mww._probabilities), len(mww._features)
        mww.process_streaming_prob(f)
        if len(mww._features) == 0 and before[1] == mww.stride - 1:
            out.append(mww._probabilities[-1])  # this invocation's probability (byte / 256)
    return out


def main():
    manifest, clips = Path(sys.argv[1]), [Path(c) for c in sys.argv[2:]]
    for c in clips:
        for step, p in enumerate(scores(manifest, c)):
            prefix = f"{c.name}\t" if len(clips) > 1 else ""
            print(f"{prefix}{step}\t{p:.6f}")


if __name__ == "__main__":
    main()
