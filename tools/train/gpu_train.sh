#!/usr/bin/env bash
# Training on a lent device machine (issue 11), in two calls of the device tool, because the 17 h of 10 kbps Opus
# (pack_gpu.py) and the starting weights do not fit one call's 64 MiB:
#   call 1: carry tools/train/gpu_carry/a and .whl:  bash tools/train/gpu_train.sh stage
#   call 2: carry tools/train/gpu_carry/b and .whl:  bash tools/train/gpu_train.sh train <seconds this call may run>
# Stage copies the shard out of the work tree (/tmp/g survives while the machine stays warm, 30 s between calls);
# train prepares features from every shard that is there (one alone still trains), runs train.py on CUDA for what
# the time allows, and leaves under $OUT the mean of the second half of its epochs (float32, in parts under 16 MiB)
# and the last weights + simple head (float16, two parts), for merge_gpu.py here.
set -u
cd "$(dirname "$0")"
# Overrides for a dry run on a CPU: G (work folder), CARRY, PY, DEVICE.
G=${G:-/tmp/g}
CARRY=${CARRY:-gpu_carry}
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}
mkdir -p $G
T0=$(date +%s)
stage() {
    for d in "$CARRY"/*/; do cp -rn "$d" $G/; done
    if [ "$DEVICE" = cuda ] && [ ! -d /tmp/site ] && [ -d ../../.whl ]; then
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site ../../.whl/*.whl
    fi
    ls -la $G/*
}
stage
[ "${1:-}" = stage ] && exit 0
BUDGET=${2:?seconds}
[ -f $G/a/init.pt ] || { echo "no $G/a/init.pt: shard a (call 1) did not stay on this machine"; exit 1; }
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
[ "$DEVICE" = cuda ] && nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv
$PY gpu_prepare.py --carry $G --out $G/data --procs 16 2>&1 | tail -n 5
NOW=$(date +%s)
MIN=$($PY -c "print(max(0.5, ($BUDGET - ($NOW - $T0) - 100) / 60))")
echo "prepared in $((NOW - T0)) s; training for $MIN minutes"
$PY train.py --config configs/look1g.json --device $DEVICE --data $G/data --run-dir $G/run --init-ckpt $G/a/init.pt \
    --no-dev --prefetch 12 --max-minutes "$MIN" 2>&1 | tee $OUT/train.log | grep -v " step .*0 loss" | tail -n 40
grep " step " $OUT/train.log | awk 'NR % 10 == 0' | tail -n 20
$PY - "$G/run" "$OUT" <<'PY'
import sys, torch
from pathlib import Path
from export import load_averaged
from merge_gpu import halved, write_parts
run, out = Path(sys.argv[1]), Path(sys.argv[2])
eps = sorted(run.glob("epoch*.pt"), key=lambda p: int(p.stem[5:]))
print("epochs", [p.name for p in eps])
last = torch.load(run / "last.pt", map_location="cpu", weights_only=False)
keep = eps[len(eps) // 2:] if eps else []
counters = {k: last[k] for k in ("epoch", "step", "train_seconds")}
if keep:
    avg = load_averaged(keep)["model"]
    write_parts({"model": avg, "config": last["config"], "epochs": [p.stem for p in keep], **counters}, out, "avg", 3)
write_parts({"model": halved(last["model"]), "simple_head": halved(last["simple_head"]), "config": last["config"],
             **counters, "from": "gpu"}, out, "last", 2)
print("wrote", sorted(p.name for p in out.iterdir()), "mean of", [p.stem for p in keep])
PY
echo "total $(( $(date +%s) - T0 )) s"
