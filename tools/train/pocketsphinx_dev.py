"""PocketSphinx baseline on the dev set (issue 11's bar: "a recognizer that beats PocketSphinx").

Decodes every file of a `sotto transcribe --ref` reference TSV with PocketSphinx 5 as a user gets it
(its en-us acoustic model, `en-us.lm.bin` 3-gram and CMUdict, default settings), writes the hypotheses
as `path<TAB>text` and prints WER overall and per source folder, scored as `sotto transcribe --ref` scores
(`wer.py`). Run in `tools/train`:

    .venv/bin/python pocketsphinx_dev.py runs/dev_wav/refs_all.tsv --out runs/pocketsphinx_dev.tsv

`--hyps FILE` rescores an earlier output without decoding. Results: `models/zoo/sotto-en.md`.
"""

import argparse
import json
import os
import sys
import time
import wave

from wer import line, read_hyps, read_refs, score


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
    refs = read_refs(args.refs)

    audio_s = cpu = None
    if args.hyps:
        hyps = read_hyps(args.hyps, base)
    else:
        hyps, audio_s, cpu = decode(refs, base, args.out)
    try:
        summary = score(refs, hyps)
    except KeyError as e:
        sys.exit(e.args[0])
    if audio_s:
        summary["all"]["rtf_cpu"] = cpu / audio_s
        summary["all"]["audio_s"] = audio_s
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        for k, v in summary.items():
            extra = f", RTF {v['rtf_cpu']:.3f} (CPU s per audio s)" if "rtf_cpu" in v else ""
            print(line(k, v) + extra)


if __name__ == "__main__":
    main()
