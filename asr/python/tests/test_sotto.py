"""The Python bindings against the Rust API (through the `sotto` CLI, which uses it) and the
library's own guarantees: streaming equals one-shot, errors are Python exceptions, the GIL is
released while computing.

The CLI binary comes from $SOTTO_CLI, else target/release/sotto or target/debug/sotto of the
checkout; tests that need it or ../shared skip with the reason when absent.
"""

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import sotto

ROOT = Path(__file__).resolve().parents[3]
MODEL = ROOT / "models/zoo/sotto-en-int8.safetensors"
FOX = ROOT / "examples/audio/fox.wav"
WAKE_DIR = ROOT.parent / "shared/reference/microwakeword"
NABU = WAKE_DIR / "models/v2/okay_nabu.json"
NABU_CLIP = WAKE_DIR / "clips/pmww_okay_nabu_1.wav"


def cli():
    env = os.environ.get("SOTTO_CLI")
    for p in [env] if env else [ROOT / "target/release/sotto", ROOT / "target/debug/sotto"]:
        if p and Path(p).exists():
            return str(p)
    pytest.skip("no sotto CLI binary (set SOTTO_CLI or cargo build -p sotto-tools)")


def read_wav(path):
    """16-bit PCM mono WAV → (rate, int16 array)."""
    b = Path(path).read_bytes()
    rate = int.from_bytes(b[24:28], "little")
    i = 12
    while b[i:i + 4] != b"data":
        i += 8 + int.from_bytes(b[i + 4:i + 8], "little")
    n = int.from_bytes(b[i + 4:i + 8], "little")
    return rate, np.frombuffer(b[i + 8:i + 8 + n], dtype="<i2")


@pytest.fixture(scope="module")
def rec():
    return sotto.Recognizer(MODEL)


def test_transcribe_matches_cli(rec):
    out = subprocess.run([cli(), "transcribe", "--json", "-m", str(MODEL), str(FOX)],
                         check=True, capture_output=True, text=True).stdout
    expected = json.loads(out.splitlines()[0])
    got = rec.transcribe(FOX)
    assert got.text == expected["text"]
    assert got.text  # the model hears something in the example
    assert [w.word for w in got.words] == [w["word"] for w in expected["words"]]
    for w, e in zip(got.words, expected["words"]):
        assert abs(w.start - e["start"]) < 1e-3 and abs(w.end - e["end"]) < 1e-3


@pytest.mark.parametrize("opts,flags", [
    ({"blank_penalty": 0.0}, ["--blank-penalty", "0"]),
    ({"blank_penalty": 2.0, "word_bonus": 0.5, "lm_weight": 0.4},
     ["--blank-penalty", "2", "--word-bonus", "0.5", "--lm-weight", "0.4"]),
    ({"mbr_scale": 0.0, "blank_penalty": 0.5}, ["--mbr-scale", "0", "--blank-penalty", "0.5"]),
    ({"score_beam": 4.0}, ["--score-beam", "4"]),
])
def test_search_options_match_cli(opts, flags):
    out = subprocess.run([cli(), "transcribe", "--json", "-m", str(MODEL), *flags, str(FOX)],
                         check=True, capture_output=True, text=True).stdout
    got = sotto.Recognizer(MODEL, **opts).transcribe(FOX)
    assert got.text == json.loads(out.splitlines()[0])["text"]


@pytest.mark.parametrize("chunk", [1, 160, 1000, 16000, 10**7])
def test_streaming_equals_transcribe(rec, chunk):
    # transcribe() normalizes with the file's own mean by default; a stream uses the model's.
    assert rec.transcribe(FOX).text  # the default path runs
    rec = sotto.Recognizer(MODEL, file_cmn=0.0)
    rate, pcm = read_wav(FOX)
    whole = rec.transcribe(FOX)
    s = rec.stream()
    for i in range(0, len(pcm), chunk):
        s.accept(pcm[i:i + chunk], rate)  # int16 is scaled like the file reader does
        assert isinstance(s.partial(), str)
    t = s.finish()
    assert t.text == whole.text
    assert [(w.word, w.start, w.end) for w in t.words] == [(w.word, w.start, w.end) for w in whole.words]


def test_recognizer_default_stream_and_dtypes():
    rec = sotto.Recognizer(MODEL, file_cmn=0.0)  # transcribe() as a stream normalizes
    rate, pcm = read_wav(FOX)
    f32 = pcm.astype(np.float32) / 32768.0
    rec.accept(f32[:rate], rate)
    rec.accept(f32[rate:].astype(np.float64), rate)
    assert rec.finish().text == rec.transcribe(FOX).text


def test_resampled_input_decodes(rec):
    rate, pcm = read_wav(FOX)
    s = rec.stream()
    # 16 kHz → 8 kHz by dropping every other sample (the recognizer resamples back up).
    s.accept(pcm[::2], rate // 2)
    assert isinstance(s.finish().text, str)


def test_errors_are_exceptions(rec):
    with pytest.raises(ValueError, match="nonexistent"):
        sotto.Recognizer("/nonexistent/model.safetensors")
    s = rec.stream()
    with pytest.raises(ValueError, match="one-dimensional"):
        s.accept(np.zeros((2, 100), np.float32), 16000)
    s.accept(np.zeros(100, np.float32), 16000)
    with pytest.raises(ValueError):
        s.accept(np.zeros(100, np.float32), 8000)  # the rate may not change mid-stream
    with pytest.raises(ValueError):
        s.accept(np.array([0.0, np.nan], np.float32), 16000)
    with pytest.raises(TypeError):
        s.accept(np.array(["a"]), 16000)
    with pytest.raises(ValueError):
        rec.stream().finish()  # no audio
    with pytest.raises(ValueError, match="nothing.wav"):
        rec.transcribe("/nonexistent/nothing.wav")


def test_gil_is_released_while_decoding(rec):
    rate, pcm = read_wav(FOX)
    audio = np.tile(pcm, 8)  # ~27 s: long enough to see the other thread run meanwhile
    s = rec.stream()
    started, spans = threading.Event(), []

    def work():
        started.set()
        t = time.perf_counter()
        s.accept(audio, rate)
        spans.append((t, time.perf_counter()))

    th = threading.Thread(target=work)
    th.start()
    started.wait()
    ticks = []
    while th.is_alive():
        ticks.append(time.perf_counter())
    th.join()
    (t0, t1), = spans
    inside = [t for t in ticks if t0 <= t <= t1]
    # With the GIL held, this thread would be frozen for the whole call (no ticks inside it);
    # released, it keeps ticking: the largest gap is a small part of the call.
    assert t1 - t0 > 0.05, "the call is too short to tell"
    assert len(inside) > 100
    gaps = np.diff([t0] + inside + [t1])
    assert gaps.max() < 0.5 * (t1 - t0), (gaps.max(), t1 - t0)


def need_wake():
    if not NABU.exists() or not NABU_CLIP.exists():
        pytest.skip(f"{WAKE_DIR} absent")


def test_wakeword_matches_cli():
    need_wake()
    out = subprocess.run([cli(), "wake", "--json", "--model", str(NABU), str(NABU_CLIP)],
                         check=True, capture_output=True, text=True).stdout
    expected = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert expected, "the reference clip fires in the CLI"
    rate, pcm = read_wav(NABU_CLIP)
    w = sotto.WakeWord(NABU, rate)
    assert w.names == ["okay_nabu"] or len(w.names) == 1
    for _ in range(2):  # finish resets the detector for a new stream
        got = []
        for i in range(0, len(pcm), 1234):
            got += w.accept(pcm[i:i + 1234])
        got += w.finish()
        assert [d.wake_word for d in got] == [e["wake_word"] for e in expected]
        for d, e in zip(got, expected):
            assert abs(d.time - e["time"]) < 1e-3


def test_wakeword_errors():
    with pytest.raises(ValueError, match="nonexistent"):
        sotto.WakeWord("/nonexistent/wake.json")
    with pytest.raises(ValueError):
        sotto.WakeWord([])


def test_vad_finds_speech():
    rate, pcm = read_wav(FOX)
    v = sotto.Vad(rate)
    events = v.accept(pcm) + v.finish()
    ends = [e for e in events if e[0] == "end"]
    assert ends and all(0 <= e[1] < e[2] <= len(pcm) / rate + 1e-9 for e in ends)
    with pytest.raises(ValueError, match="12345"):
        sotto.Vad(12345)


def test_file_cmn_is_checked():
    with pytest.raises(Exception, match="file_cmn"):
        sotto.Recognizer(MODEL, file_cmn=1.5)
