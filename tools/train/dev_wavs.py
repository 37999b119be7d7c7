"""dev.tsv Opus -> 16 kHz mono int16 WAVs for `sotto transcribe DIR --ref refs.tsv` (sotto reads no Opus).

Writes runs/dev_wav/<source>/<id>.wav, runs/dev_wav/refs_all.tsv (all of dev) and runs/dev_wav/<source>/refs.tsv
(one per source), rows `path<TAB>reference` with paths relative to the refs file:
  sotto transcribe runs/dev_wav --ref runs/dev_wav/refs_all.tsv
  sotto transcribe runs/dev_wav/librispeech --ref runs/dev_wav/librispeech/refs.tsv
"""

import argparse
from pathlib import Path

import numpy as np

from export import write_wav16
from prepare import CORPUS, HERE, load_audio, read_tsv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(HERE / "runs/dev_wav"))
    a = ap.parse_args()
    out = Path(a.out)
    rows = read_tsv(CORPUS / "dev.tsv")
    refs_all, refs_src = [], {}
    for r in rows:
        rel = Path(r["source"]) / (Path(r["path"]).stem + ".wav")
        dst = out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        x = load_audio(CORPUS / r["path"])
        write_wav16(dst, np.clip(np.round(x * 32768), -32768, 32767).astype(np.int16))
        refs_all.append(f"{rel.as_posix()}\t{r['text']}")
        refs_src.setdefault(r["source"], []).append(f"{rel.name}\t{r['text']}")
    (out / "refs_all.tsv").write_text("\n".join(refs_all) + "\n", encoding="utf-8")
    for src, lines in refs_src.items():
        (out / src / "refs.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(rows)} WAVs under {out}; refs: refs_all.tsv, " + ", ".join(f"{s}/refs.tsv" for s in refs_src))


if __name__ == "__main__":
    main()
