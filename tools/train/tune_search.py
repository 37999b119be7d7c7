"""Choose the default search settings (beam, blank penalty, word bonus, LM, LODR and CTC weights, CTC expansion) on dev, and say how optimistic
that choice is.

Runs `sotto transcribe` over `runs/dev_wav` for every combination of the given values (each output kept in
`runs/tune/TAG/`, so a rerun only decodes what is new), scores each with `wer.py`, and prints one row per setting:
WER on all of dev, on its LibriSpeech and speechocean762 parts, and on the two halves of dev (utterances at even and
odd positions of the reference file). Then the honest check of a choice made on dev: the setting best on one half,
scored on the other. In `tools/train`, after `dev_wavs.py` and a release build:

    .venv/bin/python tune_search.py --model ../../models/zoo/sotto-en-int8.safetensors --tag shipped \\
        --beam 8,32 --blank-penalty 0.75,1.5,2 --word-bonus 0.25,0.5,1 --lm-weight 0.25

Each decode takes one core for about half a minute on the shipped model at beam 32, two at beam 128 (`-j 1`: training
keeps the rest).
"""

import argparse
import itertools
import json
import subprocess
import sys
from pathlib import Path

from wer import read_hyps, read_refs, score

SOTTO = Path("../../target/release/sotto")
DEV = Path("runs/dev_wav")
REFS = DEV / "refs_all.tsv"


def floats(s):
    return [float(x) for x in s.split(",")]


def ints(s):
    return [int(x) for x in s.split(",")]


def decode(model, lm, out, beam, bp, wb, lmw, lodr, ctc, expand, file_cmn, jobs):
    """Decode dev with one setting into `out` (kept if it is already there and complete). `lm`: a path, None for
    the one beside the model, or "" for none (`--no-lm`)."""
    if out.exists() and out.read_text().rstrip("\n").rsplit("\n", 1)[-1].startswith("WER"):
        return
    cmd = [str(SOTTO), "transcribe", str(DEV), "--ref", str(REFS), "-m", str(model), "-j", str(jobs),
           "--beam", str(beam), "--blank-penalty", str(bp), "--word-bonus", str(wb), "--lm-weight", str(lmw), "--lodr-weight", str(lodr), "--ctc-weight", str(ctc),
           "--ctc-expand", str(expand), "--file-cmn", str(file_cmn)]
    cmd += ["--no-lm"] if lm == "" else ["--lm", str(lm)] if lm else []
    tmp = out.with_suffix(".part")
    with open(tmp, "w") as f:
        subprocess.run(cmd, stdout=f, stderr=subprocess.DEVNULL, check=True)
    tmp.rename(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="model file (the int8 export a user gets)")
    ap.add_argument("--lm", help="word LM (default: the one beside the model, as sotto finds it; '' for none)")
    ap.add_argument("--tag", required=True, help="name of the output folder under runs/tune/")
    ap.add_argument("--beam", type=ints, default=[8])
    ap.add_argument("--blank-penalty", type=floats, default=[0.75])
    ap.add_argument("--word-bonus", type=floats, default=[1.0])
    ap.add_argument("--lm-weight", type=floats, default=[0.25])
    ap.add_argument("--lodr-weight", type=floats, default=[0.0])
    ap.add_argument("--ctc-weight", type=floats, default=[0.0])
    ap.add_argument("--ctc-expand", type=ints, default=[2], help="CTC scoring in the search: extensions made per kept hypothesis (1: final choice only)")
    ap.add_argument("--file-cmn", type=floats, default=[0.5], help="per-file mean normalization weight (sotto transcribe --file-cmn; 0: the model's mean)")
    ap.add_argument("-j", "--jobs", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    a = ap.parse_args()

    refs = read_refs(REFS)
    halves = [refs[0::2], refs[1::2]]
    base = str(DEV.resolve())
    outdir = Path("runs/tune") / a.tag
    outdir.mkdir(parents=True, exist_ok=True)
    rows = []
    grid = list(itertools.product(a.beam, a.blank_penalty, a.word_bonus, a.lm_weight, a.lodr_weight, a.ctc_weight, a.ctc_expand, a.file_cmn))
    for n, (beam, bp, wb, lmw, lodr, ctc, expand, cmn) in enumerate(grid, 1):
        # Outputs from before --file-cmn existed (no suffix) were decoded with the model's mean only.
        name = f"beam{beam}_bp{bp:g}_wb{wb:g}_lmw{lmw:g}_lodr{lodr:g}_ctc{ctc:g}_x{expand}_cmn{cmn:g}"
        print(f"[{n}/{len(grid)}] {name}", file=sys.stderr, flush=True)
        out = outdir / f"{name}.txt"
        decode(a.model, a.lm, out, beam, bp, wb, lmw, lodr, ctc, expand, cmn, a.jobs)
        hyps = read_hyps(out, base)
        s = score(refs, hyps)
        rtf = out.read_text().rstrip("\n").rsplit("\n", 1)[-1].split("RTF ")[-1].split()[0]
        rows.append({
            "beam": beam, "blank_penalty": bp, "word_bonus": wb, "lm_weight": lmw, "lodr_weight": lodr, "ctc_weight": ctc, "ctc_expand": expand, "file_cmn": cmn,
            "all": s["all"]["wer"], "librispeech": s["librispeech"]["wer"],
            "speechocean762": s["speechocean762"]["wer"],
            "even": score(halves[0], hyps)["all"]["wer"], "odd": score(halves[1], hyps)["all"]["wer"],
            "rtf": float(rtf),
        })
    if a.json:
        print(json.dumps(rows, indent=1))
        return
    print("| beam | blank penalty | word bonus | LM weight | LODR weight | CTC weight | CTC expand | file CMN | dev all | LibriSpeech | speechocean762 | even half | odd half | RTF |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in sorted(rows, key=lambda r: r["all"]):
        print(f"| {r['beam']} | {r['blank_penalty']:g} | {r['word_bonus']:g} | {r['lm_weight']:g} | {r['lodr_weight']:g} | {r['ctc_weight']:g} | {r['ctc_expand']} | {r['file_cmn']:g} | {r['all']:.2f} | "
              f"{r['librispeech']:.2f} | {r['speechocean762']:.2f} | {r['even']:.2f} | {r['odd']:.2f} | {r['rtf']:.4f} |")
    best = min(rows, key=lambda r: r["all"])
    print(f"\nbest on all of dev: {best['all']:.2f} % (beam {best['beam']}, blank penalty {best['blank_penalty']:g}, "
          f"word bonus {best['word_bonus']:g}, LM weight {best['lm_weight']:g}, LODR weight {best['lodr_weight']:g}, CTC weight {best['ctc_weight']:g}, CTC expand {best['ctc_expand']}, file CMN {best['file_cmn']:g})")
    for tune, check in (("even", "odd"), ("odd", "even")):
        b = min(rows, key=lambda r: r[tune])
        oracle = min(r[check] for r in rows)
        print(f"chosen on the {tune} half (beam {b['beam']}, blank penalty {b['blank_penalty']:g}, word bonus "
              f"{b['word_bonus']:g}, LM weight {b['lm_weight']:g}, LODR weight {b['lodr_weight']:g}, CTC weight {b['ctc_weight']:g}, CTC expand {b['ctc_expand']}, file CMN {b['file_cmn']:g}): {b[check]:.2f} % on the {check} half, whose own "
              f"best is {oracle:.2f} %")


if __name__ == "__main__":
    main()
