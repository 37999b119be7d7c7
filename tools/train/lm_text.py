"""Text for the word LM, normalized like the corpus transcripts (upper case, letters and apostrophes, numbers
spelled out), one sentence per line on stdout.

  python lm_text.py > runs/lm/text.txt           # ../shared/text/*.xz + train.tsv transcripts
  python lm_text.py --no-train > other.txt        # only ../shared/text
  python lm_text.py --no-shared --heldout exclude > train9.txt   # train text of 9/10 of the speakers
  python lm_text.py --no-shared --heldout only > heldout.txt     # the other tenth's: held-out text to weigh a mix on
  python lm_text.py --no-shared --gcide --train-source librispeech > lit.txt   # literary quotations + LS transcripts

Sources: every file of `shared/text/` (permissive licences, see its README) and the transcripts of
`shared/corpus/train.tsv`; with `--gcide`, the quotations of the 1913 Webster in Debian's `dict-gcide`
(`/usr/share/dictd/gcide.dict.dz`): only blocks tagged `[1913 Webster]`, the public-domain part of GCIDE (its
later additions are GPL), about 54 k sentences of 17th–19th century literary English, as LibriSpeech's books are.
Never dev.tsv, never LibriSpeech test text: the LM is scored on dev.
"""

import argparse
import csv
import gzip
import zlib
import lzma
import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("SOTTO_SHARED", HERE / "../../../shared")).resolve()

ONES = "ZERO ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE TEN ELEVEN TWELVE THIRTEEN FOURTEEN FIFTEEN SIXTEEN " \
       "SEVENTEEN EIGHTEEN NINETEEN".split()
TENS = "_ _ TWENTY THIRTY FORTY FIFTY SIXTY SEVENTY EIGHTY NINETY".split()


def number(n: int) -> str:
    """Cardinal number in words (0 ≤ n < 10^9); years like 1984 read as NINETEEN EIGHTY FOUR."""
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    if 1100 <= n < 2000 or (2010 <= n < 2100):
        hi, lo = divmod(n, 100)
        return number(hi) + " " + ("HUNDRED" if lo == 0 else ("OH " + ONES[lo] if lo < 10 else number(lo)))
    if n < 1000:
        hi, lo = divmod(n, 100)
        return ONES[hi] + " HUNDRED" + ("" if lo == 0 else " " + number(lo))
    for size, name in ((10 ** 6, "MILLION"), (1000, "THOUSAND")):
        if n >= size:
            hi, lo = divmod(n, size)
            return number(hi) + " " + name + ("" if lo == 0 else " " + number(lo))
    return ""


def normalize(line: str) -> str:
    s = line.upper().replace("&", " AND ").replace("%", " PERCENT ")
    s = re.sub(r"(\d+)(ST|ND|RD|TH)\b", r"\1", s)  # ordinals read as cardinals: rare enough
    s = re.sub(r"\d+", lambda m: " " + number(int(m.group())) + " " if len(m.group()) <= 9 else " ", s)
    s = s.replace("’", "'")
    s = re.sub(r"[^A-Z' ]+", " ", s)
    s = re.sub(r"(?<![A-Z])'|'(?![A-Z])", " ", s)  # quotes, not apostrophes inside words
    return " ".join(s.split())


GCIDE = Path("/usr/share/dictd/gcide.dict.dz")


def gcide_quotes(path=GCIDE):
    """Quotations of the 1913 Webster (indented blocks followed by a `[1913 Webster]` tag), one sentence each."""
    cur = []
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            t = line.strip()
            if t == "[1913 Webster]":
                if cur:
                    q = " ".join(cur)
                    q = re.sub(r"--\s*[A-Z][\w.\s]*$", "", q)  # the author
                    q = re.sub(r"\{([^}]*)\}", r"\1", q)  # cross-reference braces
                    q = re.sub(r"\[[^\]]*\]", "", q).replace("--", " ")
                    for sent in re.split(r"(?<=[.!?;:])\s+", q):
                        yield sent
                cur = []
            elif t and line.startswith(" " * 9):
                cur.append(t)
            else:
                cur = []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-train", action="store_true", help="leave out the train.tsv transcripts")
    ap.add_argument("--no-shared", action="store_true", help="leave out ../shared/text")
    ap.add_argument("--gcide", action="store_true",
                    help="add the 1913 Webster's quotations (Debian dict-gcide; public-domain part only)")
    ap.add_argument("--train-source", default=None,
                    help="only the train.tsv transcripts of this source (e.g. librispeech)")
    ap.add_argument("--heldout", choices=("all", "exclude", "only"), default="all",
                    help="train transcripts: all, or without / only the held-out tenth of the speakers (chosen by a "
                         "CRC-32 of the speaker id, as dev holds out speakers; 'exclude' also drops every sentence a "
                         "held-out speaker reads, so no held-out text is in the rest)")
    a = ap.parse_args()
    out = sys.stdout
    n = 0
    for f in [] if a.no_shared else sorted((SHARED / "text").glob("*.xz")):
        with lzma.open(f, "rt", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                t = normalize(line)
                if t:
                    out.write(t + "\n")
                    n += 1
    if a.gcide:
        for sent in gcide_quotes():
            t = normalize(sent)
            if len(t.split()) >= 3:
                out.write(t + "\n")
                n += 1
    if not a.no_train:
        with open(SHARED / "corpus/train.tsv", newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
            held_text = {r["text"] for r in rows if zlib.crc32(r["speaker"].encode()) % 10 == 0}
            for r in rows:
                held = zlib.crc32(r["speaker"].encode()) % 10 == 0
                if (a.heldout == "exclude" and r["text"] in held_text) or (a.heldout == "only" and not held):
                    continue
                if a.train_source and r["source"] != a.train_source:
                    continue
                out.write(r["text"] + "\n")
                n += 1
    print(f"{n} lines", file=sys.stderr)


if __name__ == "__main__":
    main()
