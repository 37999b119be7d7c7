"""Per-invocation probabilities of a wake-word model in a TFLite runtime, printed as
`sotto wake --scores` prints them: `step<TAB>probability` (6 decimals), or with several clips
`clip<TAB>step<TAB>probability`.

--runtime pymicro (default): pymicro-wakeword 2.5.0 itself (its bundled libtensorflowlite_c with
  TFLite's optimised builtin kernels, its MicroWakeWordFeatures frontend, its input rounding).
--runtime litert-ref: the same features and input rounding, run by ai-edge-litert 2.3.0's
  Interpreter with the TFLite reference kernels (OpResolverType.BUILTIN_REF, one thread).

`sotto wake --scores --kernels tflite-optimized` reproduces --runtime pymicro byte for byte, and
the default `--kernels reference` reproduces --runtime litert-ref.

Usage: python parity.py [--runtime R] MODEL.json CLIP.wav [CLIP.wav ...] > scores.tsv
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


def scores_litert_ref(manifest, wav):
    import json

    import numpy as np
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    cfg = json.loads(Path(manifest).read_text())
    it = Interpreter(model_path=str(Path(manifest).parent / cfg["model"]),
                     experimental_op_resolver_type=OpResolverType.BUILTIN_REF, num_threads=1)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    scale, zp = inp["quantization"]
    oscale, ozp = out["quantization"]
    stride = inp["shape"][1]
    feats = MicroWakeWordFeatures()
    with wave.open(str(wav), "rb") as w:
        audio = w.readframes(w.getnframes())
    frames = [f for f in feats.process_streaming(audio)]
    res = []
    for k in range(len(frames) // stride):
        x = np.concatenate(frames[k * stride:(k + 1) * stride], axis=1)
        q = np.round(x / scale + zp).astype(inp["dtype"])  # pymicro-wakeword's rounding
        it.set_tensor(inp["index"], q)
        it.invoke()
        y = it.get_tensor(out["index"]).astype(np.float32)
        res.append(float(((y - ozp) * oscale).item()))
    return res


def main():
    args = sys.argv[1:]
    runtime = "pymicro"
    if args[0] == "--runtime":
        runtime, args = args[1], args[2:]
    fn = {"pymicro": scores, "litert-ref": scores_litert_ref}[runtime]
    manifest, clips = Path(args[0]), [Path(c) for c in args[1:]]
    for c in clips:
        for step, p in enumerate(fn(manifest, c)):
            prefix = f"{c.name}\t" if len(clips) > 1 else ""
            print(f"{prefix}{step}\t{p:.6f}")


if __name__ == "__main__":
    main()
