"""Python overhead vs the CLI, measured on the same audio and model.

    python asr/python/bench_overhead.py target/release/sotto [SECONDS] [REPEATS]

Writes SECONDS of audio (examples/audio/fox.wav repeated) to a temporary WAV and reports the
median over REPEATS of: the whole `sotto transcribe FILE` process; the whole
`python -c "import sotto; sotto.Recognizer().transcribe(FILE)"` process; and, in this process,
`Recognizer.transcribe` and a `Stream` fed 100 ms numpy chunks (compute only, RTF).
"""

import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

import sotto

ROOT = Path(__file__).resolve().parents[2]


def median_time(f, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    cli = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    with wave.open(str(ROOT / "examples/audio/fox.wav")) as w:
        rate, pcm = w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), "<i2")
    audio = np.tile(pcm, int(np.ceil(seconds * rate / len(pcm))))[: int(seconds * rate)]
    with tempfile.TemporaryDirectory() as d:
        path = str(Path(d) / "long.wav")
        with wave.open(path, "wb") as w:
            w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate), w.writeframes(audio.tobytes())
        cli_s = median_time(lambda: subprocess.run([cli, "transcribe", path], check=True, capture_output=True), repeats)
        code = f"import sotto; sotto.Recognizer().transcribe({path!r})"
        py_s = median_time(lambda: subprocess.run([sys.executable, "-c", code], check=True), repeats)
        rec = sotto.Recognizer()
        tr_s = median_time(lambda: rec.transcribe(path), repeats)

        def chunks():
            s = rec.stream()
            for i in range(0, len(audio), rate // 10):
                s.accept(audio[i:i + rate // 10], rate)
            s.finish()

        st_s = median_time(chunks, repeats)
    dur = len(audio) / rate
    print(f"audio {dur:.1f} s, median of {repeats}")
    print(f"process `sotto transcribe`:          {cli_s:.3f} s")
    print(f"process `python -c ...transcribe()`: {py_s:.3f} s  (+{py_s - cli_s:.3f} s)")
    print(f"in-process Recognizer.transcribe:    {tr_s:.3f} s  RTF {tr_s / dur:.4f}")
    print(f"in-process Stream, 100 ms chunks:    {st_s:.3f} s  RTF {st_s / dur:.4f}")


if __name__ == "__main__":
    main()
