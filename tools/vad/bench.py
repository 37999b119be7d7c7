#!/usr/bin/env python3
"""Speed of voice activity detection: sotto vs upstream's ONNX model under onnxruntime, same
machine, same audio, one run each. Prints CPU seconds per hour of audio and the ratio.

Audio: ../shared/reference/microfrontend/jfk.wav repeated to MINUTES minutes (16 kHz).
- onnxruntime: the wheel's silero_vad.onnx, called per 512-sample window with the 64-sample
  context and the LSTM state carried over, exactly as upstream's OnnxWrapper does inside
  get_speech_timestamps (one thread: upstream sets intra/inter-op threads to 1). CPU time of
  the window loop only (model loading and audio reading excluded).
- sotto: `sotto vad --stats FILE.wav` as a subprocess. CPU time of the whole process (start-up,
  WAV decoding, VAD, segment output) from getrusage, plus the CPU time of the VAD alone that sotto
  reports on stderr.

    cargo build --release -p sotto-tools
    ~/.cache/sotto-vad/venv/bin/python tools/vad/bench.py target/release/sotto [MINUTES]
"""

import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import wave

import importlib.metadata
import importlib.util

import numpy as np
import onnxruntime

# The package directory without importing it (its __init__ imports torch, not needed here).
SILERO_DIR = importlib.util.find_spec("silero_vad").submodule_search_locations[0]
SILERO_VERSION = importlib.metadata.version("silero-vad")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIP = os.path.join(ROOT, "..", "shared", "reference", "microfrontend", "jfk.wav")


def main():
    sotto = sys.argv[1]
    minutes = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    with wave.open(CLIP) as w:
        clip = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    n = int(minutes * 60 * 16000)
    audio16 = np.resize(clip, n)
    hours = n / 16000 / 3600

    # onnxruntime, upstream's way.
    path = os.path.join(SILERO_DIR, "data", "silero_vad.onnx")
    opts = onnxruntime.SessionOptions()
    opts.inter_op_num_threads = 1
    opts.intra_op_num_threads = 1
    sess = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"], sess_options=opts)
    audio = audio16.astype(np.float32) / 32768.0
    state = np.zeros((2, 1, 128), dtype=np.float32)
    ctx = np.zeros((1, 64), dtype=np.float32)
    sr = np.array(16000, dtype=np.int64)
    t0, c0 = time.perf_counter(), time.process_time()
    for start in range(0, n, 512):
        chunk = audio[start : start + 512]
        if len(chunk) < 512:
            chunk = np.pad(chunk, (0, 512 - len(chunk)))
        x = np.concatenate([ctx, chunk[None, :]], axis=1)
        _, state = sess.run(None, {"input": x, "state": state, "sr": sr})
        ctx = x[:, -64:]
    ort_cpu, ort_wall = time.process_time() - c0, time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, "bench.wav")
        with wave.open(f, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16000)
            w.writeframes(audio16.astype("<i2").tobytes())
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        p = subprocess.run([sotto, "vad", "--stats", f], capture_output=True, text=True, check=True)
        sotto_wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    sotto_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    m = re.search(r"VAD CPU time ([0-9.]+) s", p.stderr)
    vad_only = float(m.group(1)) if m else float("nan")

    print(f"audio: {minutes:g} min of jfk.wav (16 kHz), {n // 512 + (n % 512 > 0)} windows")
    print(f"onnxruntime {onnxruntime.__version__} (silero-vad {SILERO_VERSION} silero_vad.onnx, 1 thread): "
          f"{ort_cpu / hours:.1f} CPU s per hour of audio (wall {ort_wall / hours:.1f} s)")
    print(f"sotto vad (whole process): {sotto_cpu / hours:.1f} CPU s per hour of audio (wall {sotto_wall / hours:.1f} s); "
          f"VAD alone {vad_only / hours:.1f} s per hour")
    print(f"ratio (onnxruntime / sotto, CPU per hour): {ort_cpu / sotto_cpu:.2f}x whole process, "
          f"{ort_cpu / vad_only:.2f}x VAD alone")


if __name__ == "__main__":
    main()
