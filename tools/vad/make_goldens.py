#!/usr/bin/env python3
"""Golden outputs of upstream Silero VAD for sotto's parity tests (models/tests/data/vad/).

For every 16 kHz WAV clip in ../shared/reference/microfrontend/ (and the same clips decimated to
8 kHz by taking every second sample), runs the wheel's `silero_vad.onnx` with onnxruntime exactly as
upstream's `OnnxWrapper` does inside `get_speech_timestamps`: windows of 512 (256 at 8 kHz) samples,
the last one zero-padded, each prefixed with the previous 64 (32) input samples (zeros at the start),
the LSTM state carried over. Then upstream's own `get_speech_timestamps_from_probs` (which
`get_speech_timestamps` ends with) turns the probabilities into segments for several parameter sets.

Also writes one long clip made of pieces (clips and runs of zeros), described in its JSON so the
Rust test builds the same samples.

    ~/.cache/sotto-vad/venv/bin/pip install numpy onnxruntime packaging
    ~/.cache/sotto-vad/venv/bin/pip install --no-deps 'silero-vad==6.2.3'
    ~/.cache/sotto-vad/venv/bin/python tools/vad/make_goldens.py

Samples are int16 / 32768 (as sotto's reader gives them). torch is not needed: the segment logic
is pure Python and the package imports torch only at module level, so a stub stands in when torch
is absent.
"""

import json
import os
import sys
import types
import wave

import numpy as np
import onnxruntime

try:
    import torch  # noqa: F401
except ImportError:  # the segment code only needs the name at import time
    stub = types.ModuleType("torch")
    stub.Tensor = object
    stub.set_num_threads = lambda n: None
    stub.device = lambda name: name
    stub.no_grad = lambda: (lambda f: f)
    sys.modules["torch"] = stub

import silero_vad
from silero_vad.utils_vad import get_speech_timestamps_from_probs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(ROOT, "..", "shared", "reference", "microfrontend")
OUT = os.path.join(ROOT, "models", "tests", "data", "vad")

# Parameter sets for the segment goldens (upstream names). The last one has min silence below
# twice the padding, so neighbouring segments split the gap between them.
PARAMS = [
    {},
    {"threshold": 0.3, "min_speech_duration_ms": 100, "min_silence_duration_ms": 300, "speech_pad_ms": 100},
    {"threshold": 0.6, "min_speech_duration_ms": 500, "min_silence_duration_ms": 50, "speech_pad_ms": 0},
    {"threshold": 0.5, "neg_threshold": 0.45, "min_speech_duration_ms": 64, "min_silence_duration_ms": 32, "speech_pad_ms": 60},
]

# The long clip: (clip name | null for silence, number of zero samples at 16 kHz).
LONG = [
    ["jfk", 0], [None, 24000], ["speech", 0], [None, 11000], ["music", 0], [None, 8000],
    ["cmu_arctic_aew_a0001", 0], [None, 40000], ["librispeech_2830-3980-0043", 0], [None, 3000],
    ["wakeword_okay_nabu_1", 0], [None, 20000],
]


def read_wav(path):
    with wave.open(path) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2, path
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


class Upstream:
    """The wheel's ONNX model, called like `OnnxWrapper.__call__` (one stream, batch 1)."""

    def __init__(self):
        path = os.path.join(os.path.dirname(silero_vad.__file__), "data", "silero_vad.onnx")
        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"], sess_options=opts)

    def probs(self, audio, rate):
        window, context = (512, 64) if rate == 16000 else (256, 32)
        state = np.zeros((2, 1, 128), dtype=np.float32)
        ctx = np.zeros((1, context), dtype=np.float32)
        out = []
        for start in range(0, len(audio), window):
            chunk = audio[start : start + window]
            chunk = np.pad(chunk, (0, window - len(chunk)))[None, :].astype(np.float32)
            x = np.concatenate([ctx, chunk], axis=1)
            p, state = self.session.run(
                None, {"input": x, "state": state, "sr": np.array(rate, dtype=np.int64)}
            )
            ctx = x[:, -context:]
            out.append(float(p.reshape(-1)[0]))
        return out


def golden(model, name, samples16, rate, pieces=None):
    audio = (samples16 if rate == 16000 else samples16[::2]).astype(np.float32) / 32768.0
    probs = model.probs(audio, rate)
    segments = []
    for params in PARAMS:
        speeches = get_speech_timestamps_from_probs(
            probs, sampling_rate=rate, audio_length_samples=len(audio), **params
        )
        segments.append({"params": params, "segments": [[s["start"], s["end"]] for s in speeches]})
    doc = {
        "clip": name,
        "rate": rate,
        "samples": len(audio),
        "probs": probs,
        "segments": segments,
        "source": f"silero-vad {silero_vad.__version__} silero_vad.onnx, onnxruntime {onnxruntime.__version__}",
    }
    if pieces is not None:
        doc["pieces"] = pieces
    path = os.path.join(OUT, f"{name}.{rate // 1000}k.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=0)
        f.write("\n")
    n = sum(len(s["segments"]) for s in segments)
    print(f"{path}: {len(probs)} windows, {n} segments over {len(PARAMS)} parameter sets")


def main():
    os.makedirs(OUT, exist_ok=True)
    model = Upstream()
    clips = sorted(f[:-4] for f in os.listdir(SHARED) if f.endswith(".wav"))
    audio = {c: read_wav(os.path.join(SHARED, c + ".wav")) for c in clips}
    for c in clips:
        for rate in (16000, 8000):
            golden(model, c, audio[c], rate)
    long = np.concatenate([audio[c] if c else np.zeros(n, dtype=np.int16) for c, n in LONG])
    for rate in (16000, 8000):
        golden(model, "long", long, rate, pieces=LONG)


if __name__ == "__main__":
    main()
