#!/usr/bin/env bash
# Python package: builds the wheel with maturin (in a venv under target/), installs it, prints
# its size and runs the pytest suite (which compares with the `sotto` CLI, i.e. the Rust API).
# Prints why it skips when Python, venv/pip or the PyPI packages cannot be had.
set -uo pipefail
cd "$(dirname "$0")/.."
skip() { echo "notice: Python bindings skipped: $*"; exit 0; }
fail() { echo "error: Python bindings FAILED: $*" >&2; exit 1; }
[ -n "${SOTTO_SKIP_PYTHON:-}" ] && skip "SOTTO_SKIP_PYTHON is set"
py=$(command -v python3) || skip "no python3"
venv=target/python-venv
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv" >/dev/null 2>&1 || {
    { apt-get -o DPkg::Lock::Timeout=300 update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq python3-venv; } >/dev/null 2>&1 &&
      "$py" -m venv "$venv" >/dev/null 2>&1
  } || skip "could not create a venv (python3 -m venv)"
fi
"$venv/bin/pip" install -q 'maturin>=1.5,<2' numpy pytest >/dev/null 2>&1 || skip "could not pip install maturin numpy pytest"

cargo build --release -p sotto-tools || fail "cargo build -p sotto-tools"
export OMP_WAIT_POLICY=PASSIVE CARGO_TARGET_DIR="$PWD/target/python"
rm -rf target/wheels
"$venv/bin/maturin" build --release -m asr/python/Cargo.toml -i "$venv/bin/python" -o target/wheels ||
  fail "maturin build"
wheel=$(ls target/wheels/sotto-*.whl)
echo "wheel: $(basename "$wheel") $(stat -c %s "$wheel") bytes"
"$venv/bin/pip" install -q --force-reinstall --no-deps "$wheel" || fail "pip install $wheel"
SOTTO_CLI="$PWD/target/release/sotto" "$venv/bin/python" -m pytest -q asr/python/tests || fail "pytest"
echo "Python bindings passed"
