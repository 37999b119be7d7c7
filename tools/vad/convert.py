#!/usr/bin/env python3
"""Convert Silero VAD (PyPI wheel `silero-vad`, MIT) to sotto's model format (architecture
`silero-vad`, see docs/model-format.md).

Reads the wheel itself (a zip): `silero_vad/data/silero_vad.onnx` holds both the 16 kHz and the
8 kHz networks (the two branches of the graph's top-level `If` on `sr`). It is the file upstream's
`load_silero_vad(onnx=True)` runs, so sotto's parity goldens come from the same weights. (The wheel's
`silero_vad_16k.safetensors`, for tinygrad, holds different weights from every .onnx in 6.2.3, so it is
not used.)

    python -m venv ~/.cache/sotto-vad/venv
    ~/.cache/sotto-vad/venv/bin/pip install numpy onnx
    pip download --no-deps 'silero-vad==6.2.3' -d /tmp/wheel
    ~/.cache/sotto-vad/venv/bin/python tools/vad/convert.py /tmp/wheel/silero_vad-6.2.3-py3-none-any.whl \
        models/zoo/vad/silero-vad.safetensors

Only the `onnx` package parses the (untrusted) ONNX protobuf; sotto never reads ONNX at run time.
"""

import argparse
import hashlib
import io
import json
import struct
import sys
import zipfile

import numpy as np
import onnx
from onnx import numpy_helper

# ONNX constant name suffix (after `__Inline_0__`) -> sotto tensor name (without the rate prefix).
NAMES = {
    "stft.forward_basis_buffer": "stft.weight",
    "encoder.0.reparam_conv.weight": "encoder.0.weight",
    "encoder.0.reparam_conv.bias": "encoder.0.bias",
    "encoder.1.reparam_conv.weight": "encoder.1.weight",
    "encoder.1.reparam_conv.bias": "encoder.1.bias",
    "encoder.2.reparam_conv.weight": "encoder.2.weight",
    "encoder.2.reparam_conv.bias": "encoder.2.bias",
    "encoder.3.reparam_conv.weight": "encoder.3.weight",
    "encoder.3.reparam_conv.bias": "encoder.3.bias",
    "decoder.rnn.weight_ih": "lstm.weight_ih_l0",
    "decoder.rnn.weight_hh": "lstm.weight_hh_l0",
    "decoder.rnn.bias_ih": "lstm.bias_ih_l0",
    "decoder.rnn.bias_hh": "lstm.bias_hh_l0",
    "decoder.decoder.2.weight": "head.weight",
    "decoder.decoder.2.bias": "head.bias",
}
# Top-level `If` on `sr == 16000`: then = 16 kHz, else = 8 kHz.
BRANCHES = {"If_0_then_branch": "16k", "If_0_else_branch": "8k"}


def onnx_weights(model):
    """{"16k": {name: array}, "8k": {...}} from the Constant nodes of both branches."""
    out = {"16k": {}, "8k": {}}

    def walk(graph):
        for node in graph.node:
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    walk(attr.g)
            if node.op_type != "Constant" or "__Inline_0__" not in node.output[0]:
                continue
            branch, _, key = node.output[0].partition("__Inline_0__")
            if branch in BRANCHES and key in NAMES:
                value = [a for a in node.attribute if a.name == "value"]
                if value:
                    out[BRANCHES[branch]][NAMES[key]] = numpy_helper.to_array(value[0].t)

    walk(model.graph)
    for rate, ws in out.items():
        missing = sorted(set(NAMES.values()) - set(ws))
        if missing:
            sys.exit(f"convert: {rate} branch lacks {missing}")
    return out


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": {"sotto": json.dumps(metadata, sort_keys=True)}}
    blobs, offset = [], 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name], dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + arr.nbytes]}
        blobs.append(arr.tobytes())
        offset += arr.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)  # keeps every f32 tensor 8-byte aligned in the file
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("wheel", help="silero_vad-*.whl from PyPI")
    ap.add_argument("out", help="output .safetensors")
    args = ap.parse_args()

    wheel_bytes = open(args.wheel, "rb").read()
    with zipfile.ZipFile(io.BytesIO(wheel_bytes)) as z:
        onnx_bytes = z.read("silero_vad/data/silero_vad.onnx")
        version = next(
            (line.split(":", 1)[1].strip() for line in z.read(
                next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
            ).decode().splitlines() if line.startswith("Version:")),
            "unknown",
        )

    weights = onnx_weights(onnx.load_from_string(onnx_bytes))

    tensors = {}
    for rate, ws in weights.items():
        for name, arr in ws.items():
            tensors[f"{rate}.{name}"] = arr.astype(np.float32)
    metadata = {
        "format_version": 1,
        "architecture": "silero-vad",
        "hyperparameters": {"sample_rates": [16000, 8000], "hidden": 128},
        "license": "MIT (Silero Team, https://github.com/snakers4/silero-vad)",
        "provenance": {
            "source": f"PyPI silero-vad {version}, silero_vad/data/silero_vad.onnx",
            "wheel_sha256": hashlib.sha256(wheel_bytes).hexdigest(),
            "onnx_sha256": hashlib.sha256(onnx_bytes).hexdigest(),
            "converter": "tools/vad/convert.py",
        },
    }
    write_safetensors(args.out, tensors, metadata)
    n = sum(a.size for a in tensors.values())
    print(f"{args.out}: {len(tensors)} tensors, {n} parameters, silero-vad {version}")


if __name__ == "__main__":
    main()
