"""PocketSphinx baseline on the dev set (issue 11's bar: "a recognizer that beats PocketSphinx").

Decodes every file of a `sotto transcribe --ref` reference TSV with PocketSphinx 5 as a user gets it
(its en-us acoustic model, `en-us.lm.bin` 3-gram and CMUdict, default settings), writes the hypotheses
as `path<TAB>text` and prints WER overall and per source folder, normalised as `asr/src/wer.rs` does
(upper case; hyphens, dashes, slashes to spaces; other punctuation dropped except an apostrophe inside a
word). Run in `tools/train`:

    .venv/bin/python pocketsphinx_dev.py runs/dev_wav/refs_all.tsv --out runs/pocketsphinx_dev.tsv

`--hyps FILE` rescores an earlier output without decoding. Results: `models/zoo/sotto-en.md`.
"""

import argparse
import json
import os
import sys
import time
import wave
from collections import defaultdict


def normalize(text):
    """The same normalisation as `sotto_asr::wer::normalize`."""
    chars = ["'" if c == "\u2019" else c for c in text]
    out = []
    for i, c in enumerate(chars):
        if c.isalnum():
            out.append(c.upper())
        elif (
            c == "'"
            and i > 0
            and chars[i - 1].isalnum()
            and i + 1 < len(chars)
            and chars[i + 1].isalnum()
        ):
            out.append("'")
        elif c.isspace() or c in "-/\\_" or "\u2010" <= c <= "\u2015":
            out.append(" ")
    return " ".join("".join(out).split())


def align_counts(ref, hyp):
    """(substitutions, deletions, insertions) of a minimum edit-distance alignment."""
    n, m = len(ref), len(hyp)
    # cost, subs, dels, ins per cell; ties prefer fewer total edits only (counts follow the path).
    prev = [(j, 0, 0, j) for j in range(m + 1)]
    for i in range(1, n + 1):
        cur = [(i, 0, i, 0)]
        for j in range(1, m + 1):
            same = ref[i - 1] == hyp[j - 1]
            d = prev[j - 1]
            best = (d[0] + (0 if same else 1), d[1] + (0 if same else 1), d[2], d[3])
            u = prev[j]
            cand = (u[0] + 1, u[1], u[2] + 1, u[3])
            if cand[0] < best[0]:
                best = cand
            l = cur[j - 1]
            cand = (l[0] + 1, l[1], l[2], l[3] + 1)
            if cand[0] < best[0]:
                best = cand
            cur.append(best)
        prev = cur
    return prev[m][1:]


def decode(refs, base, out_path):
    from pocketsphinx import Decoder

    decoder = Decoder(loglevel="FATAL")
    hyps = {}
    audio_s = 0.0
    t0 = time.process_time()
    with open(out_path, "w") as out:
        for k, (path, _) in enumerate(refs):
            with wave.open(os.path.join(base, path), "rb") as w:
                if w.getframerate() != 16000 or w.getnchannels() != 1 or w.getsampwidth() != 2:
                    sys.exit(f"{path}: PocketSphinx needs 16 kHz mono 16-bit PCM")
                pcm = w.readframes(w.getnframes())
                audio_s += w.getnframes() / 16000
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            hyp = decoder.hyp()
            text = hyp.hypstr if hyp is not None else ""
            hyps[path] = text
            out.write(f"{path}\t{text}\n")
            out.flush()
            if (k + 1) % 50 == 0:
                print(f"{k + 1}/{len(refs)}", file=sys.stderr, flush=True)
    cpu = time.process_time() - t0
    return hyps, audio_s, cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("refs", help="reference TSV (path relative to its folder, TAB, text)")
    ap.add_argument("--out", default="runs/pocketsphinx_dev.tsv", help="hypotheses TSV to write")
    ap.add_argument("--hyps", help="score this hypotheses TSV instead of decoding")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = ap.parse_args()

    base = os.path.dirname(os.path.abspath(args.refs))
    refs = []
    with open(args.refs) as f:
        for line in f:
            path, _, text = line.rstrip("\n").partition("\t")
            refs.append((path, text))

    audio_s = cpu = None
    if args.hyps:
        hyps = {}
        with open(args.hyps) as f:
            for line in f:
                path, _, text = line.rstrip("\n").partition("\t")
                # `sotto transcribe` prints paths as given on its command line (relative to the
                # current folder); keys are paths relative to the reference file's folder.
                if not os.path.isabs(path) and not os.path.exists(os.path.join(base, path)):
                    path = os.path.relpath(os.path.abspath(path), base)
                hyps[path] = text
    else:
        hyps, audio_s, cpu = decode(refs, base, args.out)

    totals = defaultdict(lambda: [0, 0, 0, 0])  # subs, dels, ins, ref words
    for path, text in refs:
        if path not in hyps:
            sys.exit(f"{path}: no hypothesis")
        r, h = normalize(text).split(), normalize(hyps[path]).split()
        s, d, i = align_counts(r, h)
        for key in ("all", path.split("/")[0]):
            t = totals[key]
            t[0] += s
            t[1] += d
            t[2] += i
            t[3] += len(r)
    summary = {
        k: {"wer": 100.0 * (v[0] + v[1] + v[2]) / v[3], "sub": v[0], "del": v[1], "ins": v[2], "words": v[3]}
        for k, v in totals.items()
    }
    if audio_s:
        summary["all"]["rtf_cpu"] = cpu / audio_s
        summary["all"]["audio_s"] = audio_s
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        for k, v in summary.items():
            extra = f", RTF {v['rtf_cpu']:.3f} (CPU s per audio s)" if "rtf_cpu" in v else ""
            print(
                f"{k}: WER {v['wer']:.2f} % ({v['sub'] + v['del'] + v['ins']}/{v['words']}; "
                f"sub {v['sub']}, del {v['del']}, ins {v['ins']}){extra}"
            )


if __name__ == "__main__":
    main()
