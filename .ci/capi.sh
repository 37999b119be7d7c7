#!/usr/bin/env bash
# C API: builds libsotto (release), compiles the example C program through pkg-config with
# -Wall -Werror (and once more against the static library), runs it on the bundled example and
# on a wake-word clip, and checks that its transcript equals `sotto transcribe` (the Rust API)
# and that the wake word fires. Prints why it skips when a C compiler or pkg-config is missing.
set -uo pipefail
cd "$(dirname "$0")/.."
skip() { echo "notice: C API example skipped: $*"; exit 0; }
fail() { echo "error: C API example FAILED: $*" >&2; exit 1; }
[ -n "${SOTTO_SKIP_CAPI:-}" ] && skip "SOTTO_SKIP_CAPI is set"
if ! command -v cc >/dev/null || ! command -v pkg-config >/dev/null || ! command -v python3 >/dev/null; then
  { apt-get -o DPkg::Lock::Timeout=300 update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq gcc libc6-dev pkg-config python3; } >/dev/null 2>&1 ||
    skip "could not apt-get install gcc pkg-config python3"
fi

cargo build --release -p sotto-capi -p sotto-tools || fail "cargo build"
out=target/capi-example
mkdir -p "$out"
export PKG_CONFIG_PATH="$PWD/target/release"
src=asr/capi/examples/transcribe_wake.c
# shellcheck disable=SC2046 # pkg-config prints several flags
cc -O2 -std=c99 -D_POSIX_C_SOURCE=199309L -Wall -Wextra -Werror "$src" $(pkg-config --cflags --libs sotto) \
  -Wl,-rpath,"$PWD/target/release" -o "$out/transcribe_wake" || fail "compiling against libsotto.so"
# shellcheck disable=SC2046
cc -O2 -std=c99 -D_POSIX_C_SOURCE=199309L -Wall -Wextra -Werror "$src" $(pkg-config --cflags sotto) \
  target/release/libsotto.a $(pkg-config --libs-only-l --static sotto | sed 's/-lsotto//') \
  -o "$out/transcribe_wake_static" || fail "compiling against libsotto.a"

# final: JSON text vs the CLI's, both on the same file with the same (default) model. The example
# feeds a stream, which normalizes with the model's mean: the CLI's per-file mean is turned off.
same_text() { # FILE C_OUTPUT
  python3 - "$1" "$2" <<'PY'
import json, subprocess, sys
path, c_out = sys.argv[1], open(sys.argv[2]).read().splitlines()
final = json.loads(next(l for l in c_out if l.startswith("final: "))[len("final: "):])
cli = json.loads(subprocess.run(["target/release/sotto", "transcribe", "--json", "--file-cmn", "0", path],
                                check=True, capture_output=True, text=True).stdout.splitlines()[0])
print(f"C example: {final['text']!r}; CLI: {cli['text']!r}")
sys.exit(0 if final["text"] == cli["text"] else 1)
PY
}

fox=examples/audio/fox.wav
"$out/transcribe_wake" "$fox" >"$out/fox.txt" || fail "running the example on $fox"
grep -E '^(partial: .{0,80}|rtf: )' "$out/fox.txt" | tail -n 3
same_text "$fox" "$out/fox.txt" || fail "text differs from sotto transcribe on $fox"
"$out/transcribe_wake_static" "$fox" >"$out/fox_static.txt" || fail "running the static example"
same_text "$fox" "$out/fox_static.txt" || fail "static build: text differs"

wake=../shared/reference/microwakeword
if [ -f "$wake/models/v2/okay_nabu.json" ]; then
  clip=$wake/clips/pmww_okay_nabu_1.wav
  "$out/transcribe_wake" --wake "$wake/models/v2/okay_nabu.json" "$clip" >"$out/wake.txt" ||
    fail "running the example with a wake word"
  grep '^wake: ' "$out/wake.txt" | grep -qi 'nabu' || fail "no okay_nabu detection on $clip"
  grep '^wake: ' "$out/wake.txt"
  same_text "$clip" "$out/wake.txt" || fail "text differs from sotto transcribe on $clip"
else
  echo "notice: C API wake-word run skipped: $wake absent"
fi
echo "C API example passed"
