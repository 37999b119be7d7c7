#!/bin/sh
# After a run: export f32, quantize with sotto (the shipped int8), PyTorch-vs-sotto parity, and dev WER measured
# with sotto itself.
#   sh finish.sh second sotto-en      (run name, model name); needs target/release/sotto and runs/dev_wav
#   CKPT=runs/bpe2/epoch5.pt sh finish.sh bpe2 sotto-en    (another checkpoint than the run's last.pt)
#   CKPT="runs/bpe2/epoch6.pt runs/bpe2/epoch7.pt" sh finish.sh bpe2 sotto-en   (several: their weights averaged)
#   NOTES="..." replaces the export's training note ("configs/<run>.json; CPU run, ...")
set -eu
cd "$(dirname "$0")"
RUN=runs/$1
NAME=$2
ZOO=../../models/zoo
SOTTO=../../target/release/sotto
export OMP_WAIT_POLICY=PASSIVE
.venv/bin/python -W ignore export.py --ckpt ${CKPT:-$RUN/last.pt} --out "$ZOO/$NAME-f32.safetensors" \
  --notes "${NOTES:-configs/$1.json; CPU run, see models/zoo/$NAME.md}"
$SOTTO quantize "$ZOO/$NAME-f32.safetensors" "$ZOO/$NAME-int8.safetensors" > "$RUN/quantize.txt"
# PyTorch greedy from the exported file: the parity goldens of tests/shipped_model.rs, and all of dev.
.venv/bin/python -W ignore parity.py --model "$ZOO/$NAME-f32.safetensors" --dev "$RUN/dev_hyps_pytorch.tsv"
# The network alone: no LM, no blank penalty (PyTorch's greedy decode has none).
for m in f32 int8; do
  f="$ZOO/$NAME-$m.safetensors"
  for beam in 1 4 8; do
    [ $m = f32 ] && [ $beam != 1 ] && continue
    $SOTTO transcribe runs/dev_wav --ref runs/dev_wav/refs_all.tsv -m "$f" --beam $beam --no-lm --blank-penalty 0 -j 2 > "$RUN/sotto_${m}_beam$beam.txt" 2> /dev/null || true
    echo "$m beam $beam, no LM: $(tail -1 "$RUN/sotto_${m}_beam$beam.txt")"
  done
done
# What a user gets: the int8 model with the word LM beside it at the default search (its settings are the defaults
# that `sotto transcribe --help` prints, not repeated here); the same without LODR, at beam 8, without the blank
# penalty and without CTC rescoring. (Beam search without the LM above rescores with the CTC head too.)
run_lm() {
  $SOTTO transcribe runs/dev_wav --ref runs/dev_wav/refs_all.tsv -m "$ZOO/$NAME-int8.safetensors" -j 2 "$@" 2> /dev/null || true
}
run_lm > "$RUN/sotto_int8_default.txt"
echo "int8 default search (word LM, LODR, CTC scoring): $(tail -1 "$RUN/sotto_int8_default.txt")"
run_lm --lodr-weight 0 > "$RUN/sotto_int8_default_lodr0.txt"
echo "int8 default search without LODR: $(tail -1 "$RUN/sotto_int8_default_lodr0.txt")"
run_lm --beam 8 > "$RUN/sotto_int8_default_beam8.txt"
echo "int8 default search at beam 8: $(tail -1 "$RUN/sotto_int8_default_beam8.txt")"
run_lm --blank-penalty 0 > "$RUN/sotto_int8_default_bp0.txt"
echo "int8 default search, blank penalty 0: $(tail -1 "$RUN/sotto_int8_default_bp0.txt")"
run_lm --ctc-weight 0 > "$RUN/sotto_int8_default_ctc0.txt"
echo "int8 default search without CTC rescoring: $(tail -1 "$RUN/sotto_int8_default_ctc0.txt")"
# Per-source WER from the same per-file output (scored as `sotto transcribe --ref` scores, `wer.py`), and how many
# dev transcripts sotto (f32 / int8 greedy) shares with PyTorch's greedy decode of the same model.
.venv/bin/python - "$RUN" <<'PY'
import sys, glob
from pathlib import Path
from train import edit_distance
from wer import line, read_hyps, read_refs, score
run = Path(sys.argv[1])
refs = read_refs("runs/dev_wav/refs_all.tsv")
ref = dict(refs)
torch_hyp = {refs[int(i)][0]: h for i, h in (l.rstrip("\n").split("\t", 1) for l in open(run / "dev_hyps_pytorch.tsv"))}
base = str(Path("runs/dev_wav").resolve())
for f in sorted(glob.glob(str(run / "sotto_*.txt"))):
    hyp = read_hyps(f, base)
    for k, v in score(refs, hyp).items():
        print(f"{Path(f).name}: {line(k, v)}")
    if "beam1" in f:
        same = sum(hyp.get(k, None) == torch_hyp[k] for k in ref)
        e = sum(edit_distance(torch_hyp[k].split(), hyp.get(k, "").split()) for k in ref)
        n = sum(len(torch_hyp[k].split()) for k in ref)
        print(f"{Path(f).name}: same transcript as PyTorch greedy on {same}/{len(ref)} dev utterances; "
              f"word difference {100 * e / max(n, 1):.2f}% ({e}/{n})")
print(f"PyTorch greedy (f32, cached fbank): {line('all', score(refs, torch_hyp)['all'])}")
PY
