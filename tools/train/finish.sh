#!/bin/sh
# After a run: export f32, quantize with sotto (the shipped int8), and measure dev WER with sotto itself.
#   sh finish.sh first sotto-en      (run name, model name); needs target/release/sotto and runs/dev_wav
set -eu
cd "$(dirname "$0")"
RUN=runs/$1
NAME=$2
SOTTO=../../target/release/sotto
export OMP_WAIT_POLICY=PASSIVE
.venv/bin/python -W ignore export.py --ckpt "$RUN/last.pt" --out "$RUN/$NAME-f32.safetensors" \
  --notes "configs/$1.json; CPU run, see models/zoo/$NAME.md"
$SOTTO quantize "$RUN/$NAME-f32.safetensors" "../../models/zoo/$NAME-int8.safetensors" > "$RUN/quantize.txt"
for m in f32 int8; do
  f="$RUN/$NAME-f32.safetensors"; [ $m = int8 ] && f="../../models/zoo/$NAME-int8.safetensors"
  for beam in 1 4; do
    [ $m = f32 ] && [ $beam = 4 ] && continue
    $SOTTO transcribe --ref runs/dev_wav/refs_all.tsv -m "$f" --beam $beam -j 2 > "$RUN/sotto_${m}_beam$beam.txt" 2> /dev/null || true
    echo "$m beam $beam: $(tail -1 "$RUN/sotto_${m}_beam$beam.txt")"
  done
done
# LibriSpeech part of dev from the same per-file output (same word edit distance as train.py).
.venv/bin/python - "$RUN" <<'EOF'
import sys, glob
from pathlib import Path
from train import edit_distance
run = Path(sys.argv[1])
refs = dict(l.rstrip("\n").split("\t", 1) for l in open("runs/dev_wav/refs_all.tsv") if l.strip())
for f in sorted(glob.glob(str(run / "sotto_*_beam*.txt"))):
    hyp = {}
    for l in open(f):
        if "\t" in l:
            p, t = l.rstrip("\n").split("\t", 1)
            hyp[Path(p).relative_to(Path("runs/dev_wav").resolve()).as_posix() if Path(p).is_absolute() else p] = t
    for part in ("librispeech", "speechocean762", ""):
        keys = [k for k in refs if k.startswith(part)]
        e = sum(edit_distance(refs[k].split(), hyp.get(k, hyp.get("runs/dev_wav/" + k, "")).split()) for k in keys)
        n = sum(len(refs[k].split()) for k in keys)
        print(f"{Path(f).name}: {part or 'all'} WER {100 * e / n:.2f}% ({e}/{n}, {len(keys)} utts)")
EOF
