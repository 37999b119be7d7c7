#!/usr/bin/env python3
"""Real-time factor of pymicro-wakeword (TFLite runtime + its C frontend) on one WAV file.

The counterpart of sotto's `asr/benches/wake.rs`: same model, same audio, frontend + model,
one thread. Usage (in a venv with `pip install pymicro-wakeword==2.5.0`):

    python tools/bench/pmww_rtf.py MODEL.json AUDIO.wav [--repeat N]
"""
import argparse
import json
import tempfile
import time
import wave
from pathlib import Path

from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("config", help="microWakeWord manifest (.json)")
    ap.add_argument("wav", help="16 kHz mono 16-bit WAV")
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()

    with wave.open(args.wav, "rb") as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2
        audio = w.readframes(w.getnframes())
    seconds = len(audio) / 2 / 16000

    config = json.loads(Path(args.config).read_text())
    micro = config["micro"]
    if "sliding_window_size" not in micro:
        # v1 manifests name the window differently; pymicro-wakeword only reads the v2 key.
        micro["sliding_window_size"] = micro["sliding_window_average_size"]
        config["model"] = str((Path(args.config).parent / config["model"]).resolve())
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(config, f)
        args.config = f.name
    mww = MicroWakeWord.from_config(args.config)
    best = float("inf")
    for _ in range(args.repeat):
        features = MicroWakeWordFeatures()
        mww.reset()
        t0 = time.perf_counter()
        for f in features.process_streaming(audio):
            mww.process_streaming(f)
        best = min(best, time.perf_counter() - t0)
    print(f"audio {seconds:.2f} s, best of {args.repeat}: {best * 1e3:.2f} ms, RTF {best / seconds:.5f}")


if __name__ == "__main__":
    main()
