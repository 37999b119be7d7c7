#!/usr/bin/env python3
"""sotto vs ONNX Runtime on the shipped transducer: CPU time, peak memory and WER, one run.

1. Export `models/zoo/sotto-en-f32.safetensors` from the recipe's PyTorch model (`tools/train/model.py`)
   to three ONNX graphs laid out as sherpa-onnx's LSTM transducers are: `encoder` (raw fbank chunk
   `x [N, T, 80]`, T a multiple of the stack S, and explicit states `h, c [L, N, H]` -> `encoder_out
   [N, T/S, J]` already through the joiner's encoder projection, `next_h`, `next_c`), `decoder`
   (`y [N, C]` int64 -> `decoder_out [N, J]`, through the joiner's prediction projection) and `joiner`
   (`encoder_out`, `decoder_out` -> `logit [N, V]`). Each is checked against PyTorch, then quantized
   with onnxruntime's dynamic int8 (`quantize_dynamic`, its default operator set: MatMul/Gemm and the
   LSTM weights, per-tensor QInt8).
2. Decode the same dev files (every k-th line of `refs_all.tsv`, 100 files by default) twice, each in a
   child process whose CPU time (user + sys) and peak RSS GNU time (`/usr/bin/time`) reports:
   - onnxruntime 1 thread (intra- and inter-op), int8 graphs, as sherpa-onnx streams: each file is fed
     in one-second chunks to kaldi-native-fbank (the fbank sotto's frontend matches), whole stacking
     groups go through the encoder with the LSTM states carried over, and greedy search (at most one
     symbol per encoder frame) runs the joiner per frame and the decoder after each emitted symbol.
   - `sotto transcribe -j 1 --beam 1 --no-lm -m models/zoo/sotto-en-int8.safetensors` on the same
     files (it also feeds one-second chunks).
3. Score both with sotto's text normalization (`decoder/src/wer.rs`) and print CPU seconds per hour
   of audio, the ratio, peak RSS and WER.

The ONNX Runtime child's CPU time is given both for the whole process (Python start-up, imports and
session creation included) and for its decoding loop alone (`time.process_time`, fbank + network +
search); sotto's is always the whole process (model loading and WAV decoding included).

    cargo build --release -p sotto-tools
    python -m venv ~/.cache/sotto-ort/venv
    ~/.cache/sotto-ort/venv/bin/pip install -r tools/train/requirements.txt onnx==1.23.2 onnxruntime==1.32.0
    OMP_WAIT_POLICY=PASSIVE nice -n 0 ~/.cache/sotto-ort/venv/bin/python tools/bench/ort_vs_sotto.py \\
        --dev tools/train/runs/dev_wav [--files 100] [--sotto target/release/sotto]

Exported graphs are written to `target/ort-bench/` (reused when present; `--reexport` redoes them).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent.parent
F32_MODEL = ROOT / "models/zoo/sotto-en-f32.safetensors"
INT8_MODEL = ROOT / "models/zoo/sotto-en-int8.safetensors"
WORK = ROOT / "target/ort-bench"
CHUNK_SECONDS = 1.0  # as `sotto transcribe` feeds its streams


def model_meta(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    return json.loads(header["__metadata__"]["sotto"])


# ---------------------------------------------------------------------------------------------------
# Export (PyTorch -> ONNX -> dynamic int8)


def export(work):
    import torch
    from safetensors.torch import load_file
    from torch import nn

    sys.path.insert(0, str(ROOT / "tools/train"))
    from model import Transducer

    torch.set_num_threads(1)
    meta = model_meta(F32_MODEL)
    hp = meta["hyperparameters"]
    if hp["proj"] != 0:
        raise SystemExit("ONNX's LSTM operator has no projection: export needs proj = 0")
    m = Transducer(**hp).eval()
    m.load_state_dict(load_file(str(F32_MODEL)))
    enc, dec, joi = m.encoder, m.decoder, m.joiner
    S, F, L, H, C = hp["stack"], hp["feat_dim"], hp["num_layers"], hp["hidden"], hp["context_size"]

    class OnnxEncoder(nn.Module):
        """One streaming step: raw fbank [N, T, F] (T multiple of S) and every layer's state."""

        def __init__(self):
            super().__init__()
            self.enc, self.proj = enc, joi.enc_proj

        def forward(self, x, h, c):
            n = x.shape[0]
            x = self.enc.normalize(x).reshape(n, -1, S * F)
            hs, cs = [], []
            for i, lstm in enumerate(self.enc.lstm):
                y, (hi, ci) = lstm(x, (h[i : i + 1], c[i : i + 1]))
                if self.enc.residual and i > 0:
                    y = y + x
                x = self.enc.norm[i](y) if self.enc.norm is not None else y
                hs.append(hi)
                cs.append(ci)
            return self.proj(x), torch.cat(hs, 0), torch.cat(cs, 0)

    class OnnxDecoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.dec, self.proj = dec, joi.pred_proj

        def forward(self, y):
            return self.proj(self.dec(y)[:, -1])

    class OnnxJoiner(nn.Module):
        def __init__(self):
            super().__init__()
            self.out = joi.output

        def forward(self, encoder_out, decoder_out):
            return self.out(torch.tanh(encoder_out + decoder_out))

    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    x = torch.randn(1, 4 * S, F) * 3 - 10
    h0, c0 = torch.randn(L, 1, H) * 0.1, torch.randn(L, 1, H) * 0.1
    y0 = torch.tensor([[0, 5]], dtype=torch.long)
    e0, d0 = torch.randn(1, hp["joiner_dim"]), torch.randn(1, hp["joiner_dim"])
    graphs = {
        "encoder": (OnnxEncoder(), (x, h0, c0), ["x", "h", "c"], ["encoder_out", "next_h", "next_c"],
                    {"x": {0: "N", 1: "T"}, "h": {1: "N"}, "c": {1: "N"}, "encoder_out": {0: "N", 1: "T_out"},
                     "next_h": {1: "N"}, "next_c": {1: "N"}}),
        "decoder": (OnnxDecoder(), (y0,), ["y"], ["decoder_out"], {"y": {0: "N"}, "decoder_out": {0: "N"}}),
        "joiner": (OnnxJoiner(), (e0, d0), ["encoder_out", "decoder_out"], ["logit"],
                   {"encoder_out": {0: "N"}, "decoder_out": {0: "N"}, "logit": {0: "N"}}),
    }
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    for name, (mod, args, ins, outs, axes) in graphs.items():
        f32 = work / f"{name}.onnx"
        with torch.no_grad():
            torch.onnx.export(mod, args, str(f32), input_names=ins, output_names=outs, dynamic_axes=axes,
                              opset_version=17, dynamo=False)
            want = mod(*args)
        want = want if isinstance(want, tuple) else (want,)
        sess = ort.InferenceSession(str(f32), providers=["CPUExecutionProvider"])
        got = sess.run(None, {k: v.numpy() for k, v in zip(ins, args)})
        diff = max(float(np.abs(g - w.numpy()).max()) for g, w in zip(got, want))
        if diff > 1e-3:
            raise SystemExit(f"{name}.onnx differs from PyTorch by {diff}")
        quantize_dynamic(str(f32), str(work / f"{name}.int8.onnx"), weight_type=QuantType.QInt8)
        print(f"exported {name}: max |onnx - torch| {diff:.1e}; int8 "
              f"{(work / f'{name}.int8.onnx').stat().st_size / 1e6:.2f} MB", file=sys.stderr)
    json.dump({"hyperparameters": hp, "tokens": meta["tokens"]}, open(work / "model.json", "w"))


# ---------------------------------------------------------------------------------------------------
# onnxruntime decoding (runs in a child process)


def rss_mb(key="VmRSS"):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def read_wav(path):
    with wave.open(str(path), "rb") as w:
        if w.getframerate() != 16000 or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise SystemExit(f"{path}: need 16 kHz mono 16-bit WAV")
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768.0


def ort_worker(work, files):
    import kaldi_native_fbank as knf
    import onnxruntime as ort

    base_rss = rss_mb()
    meta = json.load(open(work / "model.json"))
    hp, tokens = meta["hyperparameters"], meta["tokens"]
    S, F, L, H, C, blank = (hp[k] for k in ("stack", "feat_dim", "num_layers", "hidden", "context_size", "blank_id"))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = {n: ort.InferenceSession(str(work / f"{n}.int8.onnx"), sess_options=opts,
                                    providers=["CPUExecutionProvider"]) for n in ("encoder", "decoder", "joiner")}
    enc_run, dec_run, joi_run = (sess[n].run for n in ("encoder", "decoder", "joiner"))
    fo = knf.FbankOptions()
    fo.frame_opts.samp_freq = 16000
    fo.frame_opts.frame_length_ms = 25.0
    fo.frame_opts.frame_shift_ms = 10.0
    fo.frame_opts.dither = 0.0
    fo.frame_opts.preemph_coeff = 0.97
    fo.frame_opts.remove_dc_offset = True
    fo.frame_opts.window_type = "povey"
    fo.frame_opts.snip_edges = False
    fo.mel_opts.num_bins = F
    fo.mel_opts.low_freq = 20.0
    fo.mel_opts.high_freq = 0.0

    c0 = time.process_time()
    out, audio_s = [], 0.0
    for path in files:
        samples = read_wav(path)
        audio_s += len(samples) / 16000
        fb = knf.OnlineFbank(fo)
        h = np.zeros((L, 1, H), np.float32)
        c = np.zeros((L, 1, H), np.float32)
        ctx = [blank] * C
        dec_out = dec_run(None, {"y": np.array([ctx], np.int64)})[0]
        hyp, used = [], 0
        step = int(16000 * CHUNK_SECONDS)
        for start in range(0, len(samples) + 1, step):
            chunk = samples[start : start + step]
            if len(chunk):
                fb.accept_waveform(16000, chunk)
            if start + step >= len(samples):
                fb.input_finished()
            n = (fb.num_frames_ready - used) // S * S
            if n == 0:
                continue
            x = np.stack([fb.get_frame(i) for i in range(used, used + n)])[None].astype(np.float32)
            used += n
            enc_out, h, c = enc_run(None, {"x": x, "h": h, "c": c})
            for t in range(enc_out.shape[1]):
                logit = joi_run(None, {"encoder_out": enc_out[:, t], "decoder_out": dec_out})[0]
                k = int(logit[0].argmax())
                if k != blank:
                    hyp.append(k)
                    ctx = ctx[1:] + [k]
                    dec_out = dec_run(None, {"y": np.array([ctx], np.int64)})[0]
            if start + step >= len(samples):
                break
        out.append("".join(tokens[k] for k in hyp).replace("\u2581", " ").strip())
    decode_cpu = time.process_time() - c0
    json.dump({"hyps": out, "audio_s": audio_s, "decode_cpu_s": decode_cpu, "base_rss_mb": base_rss,
               "hwm_mb": rss_mb("VmHWM")}, sys.stdout)


# ---------------------------------------------------------------------------------------------------
# Scoring and the driver


def normalize(text):
    """`decoder/src/wer.rs::normalize`."""
    chars = [("'" if c == "\u2019" else c) for c in text]
    out = []
    for i, c in enumerate(chars):
        if c.isalnum():
            out.append(c.upper())
        elif c == "'" and 0 < i < len(chars) - 1 and chars[i - 1].isalnum() and chars[i + 1].isalnum():
            out.append("'")
        elif c.isspace() or c in "-/\\_" or "\u2010" <= c <= "\u2015":
            out.append(" ")
    return "".join(out).split()


def edits(ref, hyp):
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, w in enumerate(hyp, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != w))
    return d[-1]


def wer(refs, hyps):
    e = sum(edits(normalize(r), normalize(h)) for r, h in zip(refs, hyps))
    return 100.0 * e / sum(len(normalize(r)) for r in refs)


def run_child(cmd, **kw):
    """Run `cmd`; its stdout, CPU seconds (user + sys) and peak RSS in MB as GNU time reports them.

    Not `os.wait4` here: a child's `ru_maxrss` includes the RSS of this Python process it was forked
    from (counted until `exec`), which would add this driver's tens of MB to both sides."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        p = subprocess.run(["/usr/bin/time", "-f", "%U %S %M", "-o", t.name, *cmd], stdout=subprocess.PIPE, **kw)
        if p.returncode != 0:
            raise SystemExit(f"{cmd[0]} failed ({p.returncode})")
        user, sys_, kb = t.read().split()[-3:]
    return p.stdout.decode(), float(user) + float(sys_), int(kb) / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dev", type=Path, default=ROOT / "tools/train/runs/dev_wav", help="folder with refs_all.tsv")
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--sotto", type=Path, default=ROOT / "target/release/sotto")
    ap.add_argument("--reexport", action="store_true")
    ap.add_argument("--ort-worker", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.ort_worker:
        return ort_worker(WORK, a.ort_worker)

    if a.reexport or not all((WORK / f"{n}.int8.onnx").exists() for n in ("encoder", "decoder", "joiner")):
        export(WORK)
    lines = [l.rstrip("\n").split("\t", 1) for l in open(a.dev / "refs_all.tsv") if l.strip()]
    pick = lines[:: max(1, len(lines) // a.files)][: a.files]
    files = [str((a.dev / p).resolve()) for p, _ in pick]
    refs = [r for _, r in pick]
    refs_tsv = WORK / "refs.tsv"
    refs_tsv.write_text("".join(f"{f}\t{r}\n" for f, r in zip(files, refs)))

    import onnxruntime

    env = dict(os.environ, OMP_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE")
    out, ort_cpu, ort_rss = run_child([sys.executable, __file__, "--ort-worker", *files], env=env)
    ort = json.loads(out)
    hours = ort["audio_s"] / 3600
    sotto_cmd = [str(a.sotto), "transcribe", "-j", "1", "--beam", "1", "--no-lm", "-m", str(INT8_MODEL),
                 "--ref", str(refs_tsv)]
    out, sotto_cpu, sotto_rss = run_child(sotto_cmd, stderr=subprocess.DEVNULL)
    by_file = dict(l.split("\t", 1) for l in out.splitlines() if "\t" in l)
    sotto_hyps = [by_file.get(f, "") for f in files]
    own = next((l for l in out.splitlines() if l.startswith("WER")), "")
    ort_wer, sotto_wer = wer(refs, ort["hyps"]), wer(refs, sotto_hyps)
    same = sum(normalize(x) == normalize(y) for x, y in zip(ort["hyps"], sotto_hyps))

    print(f"{len(files)} files, {ort['audio_s'] / 60:.1f} min of audio; onnxruntime {onnxruntime.__version__} "
          f"(1 thread, dynamic int8), sotto int8 greedy; load average {os.getloadavg()[0]:.1f}")
    print(f"{'':34}{'onnxruntime':>14}{'sotto':>10}{'ratio':>8}")
    print(f"{'CPU s per hour of audio, process':34}{ort_cpu / hours:14.1f}{sotto_cpu / hours:10.1f}"
          f"{ort_cpu / sotto_cpu:7.2f}x")
    print(f"{'CPU s per hour, ORT decode loop':34}{ort['decode_cpu_s'] / hours:14.1f}{sotto_cpu / hours:10.1f}"
          f"{ort['decode_cpu_s'] / sotto_cpu:7.2f}x")
    print(f"{'peak RSS MB':34}{ort_rss:14.1f}{sotto_rss:10.1f}{ort_rss / sotto_rss:7.2f}x")
    print(f"{'  own VmHWM; before loading models':34}{ort['hwm_mb']:8.1f}; {ort['base_rss_mb']:.1f}")
    print(f"{'WER %':34}{ort_wer:14.2f}{sotto_wer:10.2f}   (|diff| {abs(ort_wer - sotto_wer):.2f})")
    print(f"identical transcripts: {same}/{len(files)}; sotto's own line: {own}")
    if abs(ort_wer - sotto_wer) > 1.0:
        raise SystemExit("WER differs by more than 1 point")


if __name__ == "__main__":
    main()
