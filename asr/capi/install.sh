#!/usr/bin/env sh
# Installs the C API: libsotto.{so,a}, sotto.h and sotto.pc under PREFIX (default /usr/local).
# Build first: cargo build --release -p sotto-capi
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
prefix=${1:-/usr/local}
target=${CARGO_TARGET_DIR:-$root/target}/release
install -d "$prefix/lib/pkgconfig" "$prefix/include"
install -m 644 "$target/libsotto.a" "$prefix/lib/"
install -m 755 "$target/libsotto.so" "$prefix/lib/"
install -m 644 "$here/include/sotto.h" "$prefix/include/"
sed -e "s|@PREFIX@|$prefix|" -e "s|@LIBDIR@|$prefix/lib|" -e "s|@INCLUDEDIR@|$prefix/include|" \
  -e "s|@VERSION@|$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)|" \
  "$here/sotto.pc.in" >"$prefix/lib/pkgconfig/sotto.pc"
echo "installed sotto into $prefix (pkg-config --cflags --libs sotto)"
