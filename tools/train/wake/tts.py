"""Synthesize a phrase with every permissively licensed TTS voice installed (Debian packages).

Engines and voices (licences in README.md):
  flite (kal, kal16, awb, rms, slt)          apt: flite
  RHVoice (alan, bdl, clb, slt; LGPL only)   apt: rhvoice rhvoice-english (non-free section)
  SVOX Pico (en-US, en-GB; Apache-2.0)       apt: libttspico-utils (non-free section)
  festival (kal_diphone, cmu_us_slt_arctic_hts) apt: festival festvox-kallpc16k festvox-us-slt-hts

Each voice speaks each text at several rates and pitches. Outputs WAV files (engine rate) into a
cache folder, named by a hash of (engine, voice, text, rate, pitch), so reruns skip finished work.
"""

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

FLITE_VOICES = ["kal", "kal16", "awb", "rms", "slt"]
RHVOICE_VOICES = ["alan", "bdl", "clb", "slt"]  # evgeniy-eng and lyubov are CC BY-NC-ND: never
PICO_VOICES = ["en-US", "en-GB"]
FESTIVAL_VOICES = ["kal_diphone", "cmu_us_slt_arctic_hts"]

RATES = [0.8, 1.0, 1.25]  # speaking-rate factor (1 = engine default)
PITCHES = [0.85, 1.0, 1.2]  # pitch factor


def voices(exclude=()):
    """(engine, voice) pairs whose engine is installed, minus `exclude` ("engine:voice")."""
    out = []
    if shutil.which("flite"):
        out += [("flite", v) for v in FLITE_VOICES]
    if shutil.which("RHVoice-test"):
        out += [("rhvoice", v) for v in RHVOICE_VOICES]
    if shutil.which("pico2wave"):
        out += [("pico", v) for v in PICO_VOICES]
    if shutil.which("text2wave"):
        out += [("festival", v) for v in FESTIVAL_VOICES]
    return [ev for ev in out if f"{ev[0]}:{ev[1]}" not in exclude]


def _run(cmd, **kw):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)


def synth(engine, voice, text, rate, pitch, out):
    """Writes one WAV; returns False when the engine produced nothing."""
    out = str(out)
    if engine == "flite":
        f0 = {"kal": 100, "kal16": 100, "awb": 110, "rms": 95, "slt": 170}[voice] * pitch
        _run(["flite", "-voice", voice, "-t", text, "-o", out,
              "--setf", f"duration_stretch={1 / rate:.3f}", "--setf", f"int_f0_target_mean={f0:.0f}"])
    elif engine == "rhvoice":
        _run(["RHVoice-test", "-p", voice, "-r", str(int(50 * rate)), "-t", str(int(50 * pitch)),
              "-o", out], input=text.encode())
    elif engine == "pico":
        ssml = f"<speed level='{int(100 * rate)}'><pitch level='{int(100 * pitch)}'>{text}</pitch></speed>"
        _run(["pico2wave", "-l", voice, "-w", out, ssml])
    elif engine == "festival":
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write(text)
        try:
            _run(["text2wave", "-eval", f"(voice_{voice})",
                  "-eval", f"(Parameter.set 'Duration_Stretch {1 / rate:.3f})",
                  "-eval", f"(set! int_lr_params '((target_f0_mean {int(105 * pitch)}) (target_f0_std 15) (model_f0_mean 170) (model_f0_std 34)))"
                  if voice == "kal_diphone" else "(set! xx 1)",
                  "-o", out, f.name])
        finally:
            os.unlink(f.name)
    else:
        raise ValueError(engine)
    return os.path.exists(out) and os.path.getsize(out) > 1000


def synthesize_all(texts, cache: Path, exclude=(), rates=RATES, pitches=PITCHES, log=print):
    """All (voice, rate, pitch) renderings of every text; returns [(path, engine, voice, text)]."""
    cache.mkdir(parents=True, exist_ok=True)
    out = []
    vs = voices(exclude)
    todo = [(e, v, t, r, p) for t in texts for (e, v) in vs for r in rates for p in pitches]
    done = 0
    for e, v, t, r, p in todo:
        key = hashlib.sha1(f"{e}|{v}|{t}|{r}|{p}".encode()).hexdigest()[:16]
        path = cache / f"{e}_{v}_{key}.wav"
        if not path.exists():
            try:
                tmp = path.with_suffix(".tmp.wav")
                if synth(e, v, t, r, p, tmp):
                    tmp.rename(path)
            except subprocess.CalledProcessError:
                pass
        if path.exists():
            out.append((path, e, v, t))
        done += 1
        if done % 200 == 0:
            log(f"tts {done}/{len(todo)}")
    return out
