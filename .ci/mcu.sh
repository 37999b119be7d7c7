#!/usr/bin/env bash
# The wake-word path on an emulated microcontroller: builds examples/mcu (sotto-micro for a
# Cortex-M4, thumbv7em-none-eabihf) with okay_nabu v2 and a few reference clips embedded from
# ../shared, runs it under qemu-system-arm (mps2-an386, semihosting, -icount shift=0), and
# compares every output byte with the host's `sotto wake --scores`. The last line is
#   mcu flash <bytes> ram <bytes> code <bytes> match <k>/<n>
# flash = code + model + rodata (the embedded test clips are left out: they stand in for a
# microphone); ram = static data + heap high-water (load time) + tensor arena + stack
# high-water; code = flash without the model (the model's execution plan, made on the host by
# the firmware's build script, counts as code); k of n model output bytes equal the host's.
# Anything missing (shared/, rust target, qemu, binutils, crates) makes it print why it skips
# and exit 0; a mismatch or a firmware failure exits 1.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target=thumbv7em-none-eabihf
skip() { echo "notice: MCU check skipped: $*"; exit 0; }
fail() { echo "error: MCU check FAILED: $*" >&2; exit 1; }
[ -n "${SOTTO_SKIP_MCU:-}" ] && skip "SOTTO_SKIP_MCU is set"

shared=${SOTTO_SHARED:-$root/../shared}
mww=$shared/reference/microwakeword
model=$mww/models/v2/okay_nabu.tflite
manifest=$mww/models/v2/okay_nabu.json
[ -f "$model" ] && [ -f "$manifest" ] || skip "no okay_nabu v2 under $mww (shared/ absent)"
# Positives and negatives for okay_nabu, all 16 kHz mono 16-bit.
clips=()
for c in pmww_okay_nabu_1 pmww_okay_nabu_2 pmww_okay_nabu_3 pmww_alexa_1 pmww_hey_jarvis_1; do
  f=$mww/clips/$c.wav
  [ -f "$f" ] || skip "missing clip $f"
  clips+=("$f")
done

if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  rustup target add "$target" >/dev/null 2>&1 || skip "'rustup target add $target' failed"
fi
if ! command -v qemu-system-arm >/dev/null || ! command -v arm-none-eabi-size >/dev/null; then
  if command -v apt-get >/dev/null; then
    { apt-get -o DPkg::Lock::Timeout=300 update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
        qemu-system-arm binutils-arm-none-eabi; } >/dev/null 2>&1 ||
      skip "could not apt-get install qemu-system-arm binutils-arm-none-eabi"
  fi
  command -v qemu-system-arm >/dev/null || skip "no qemu-system-arm"
  command -v arm-none-eabi-size >/dev/null || skip "no arm-none-eabi-size (binutils-arm-none-eabi)"
fi

export SOTTO_MCU_MODEL=$model
SOTTO_MCU_CLIPS=$(IFS=:; echo "${clips[*]}")
export SOTTO_MCU_CLIPS
fw_dir=$root/examples/mcu
(cd "$fw_dir" && cargo fetch --target "$target" >/dev/null 2>&1) || skip "cannot fetch the firmware's crates"
echo "building examples/mcu for $target"
(cd "$fw_dir" && cargo build --release --quiet) || fail "firmware build"
elf=$fw_dir/target/$target/release/sotto-mcu-example

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "running it under qemu-system-arm -M mps2-an386"
timeout 600 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
  -semihosting-config enable=on,target=native -icount shift=0 -kernel "$elf" >"$work/fw.txt" 2>&1 ||
  { cat "$work/fw.txt" >&2; fail "qemu run (status $?)"; }
grep -q '^M done 1$' "$work/fw.txt" || { cat "$work/fw.txt" >&2; fail "firmware did not finish"; }

# The host: the same clips through `sotto wake --scores` (or $SOTTO_HOST_BIN).
host=${SOTTO_HOST_BIN:-}
if [ -z "$host" ]; then
  # The dev profile: after `cargo test` only sotto-asr and sotto-tools rebuild (≈ 1.5 min).
  cargo build --quiet -p sotto-tools --bin sotto || fail "host build"
  host=$root/target/debug/sotto
fi
k=0
n=0
for i in "${!clips[@]}"; do
  "$host" wake -m "$manifest" --scores "${clips[$i]}" |
    awk -F'\t' '{ printf "%d %d\n", $1, int($2 * 256 + 0.5) }' >"$work/host$i.txt" || fail "host run"
  awk -v c="$i" '$1 == "S" && $2 == c { print $3, $4 }' "$work/fw.txt" >"$work/mcu$i.txt"
  read -r kk nn < <(awk 'NR == FNR { h[$1] = $2; n++; next } ($1 in h) && h[$1] == $2 { k++ }
    END { print k + 0, n + 0 }' "$work/host$i.txt" "$work/mcu$i.txt")
  m=$(wc -l <"$work/mcu$i.txt")
  [ "$m" -eq "$nn" ] || echo "clip $(basename "${clips[$i]}"): $m firmware steps, $nn on the host"
  echo "clip $(basename "${clips[$i]}"): $kk/$nn output bytes equal"
  k=$((k + kk))
  n=$((n + nn))
done

val() { awk -v k="$1" '$1 == "M" && $2 == k { print $3 }' "$work/fw.txt"; }
sec() { arm-none-eabi-size -A "$elf" | awk -v s="$1" '$1 == s { print $2 }'; }
vt=$(sec .vector_table) text=$(sec .text) rodata=$(sec .rodata) data=$(sec .data) bss=$(sec .bss)
flash=$((vt + text + rodata + data - $(val clip_bytes)))
code=$((flash - $(val model_bytes)))
static=$((data + bss - $(val heap_region) - $(val arena_region) - $(val steps_region)))
ram=$((static + $(val heap_peak) + $(val arena) + $(val stack)))
echo "sizes: code $code (plan $(val plan_bytes)), model $(val model_bytes), static $static, heap peak $(val heap_peak) (live after load $(val heap_live)), arena $(val arena), stack $(val stack)"
# Instructions: under -icount shift=0 one instruction is 1 ns of virtual time; SysTick counts
# the 25 MHz core clock. The firmware times a loop of known length to convert.
awk -v ci="$(val calib_insns)" -v ct="$(val calib_ticks)" -v fe="$(val frontend_ticks)" \
  -v nn="$(val model_ticks)" -v fr="$(val frames)" -v inv="$(val invokes)" 'BEGIN {
  ipt = ci / ct; f = fe * ipt / fr; m = nn * ipt / fr
  printf "instructions per 10 ms frame: %.0f (frontend %.0f, model %.0f = %.0f per invocation of %d frames); %.2f MHz at one instruction per cycle\n",
    f + m, f, m, nn * ipt / inv, fr / inv, (f + m) * 100 / 1e6 }'
echo "mcu flash $flash ram $ram code $code match $k/$n"
[ "$k" -eq "$n" ] && [ "$n" -gt 0 ] || exit 1
