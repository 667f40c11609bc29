#!/usr/bin/env bash
# Installs the build tree into a scratch prefix, then builds against it from outside:
#  1. examples/cpp with find_package(dataport) (C++ API, dataport::core), run against Azurite;
#  2. examples/c with `pkg-config dataport` (C ABI), run against Azurite.
# Both must read the same bytes as were uploaded. Runs under with_azurite.py.
set -euo pipefail
build="$1"; source_dir="$2"
work="$(mktemp -d /tmp/dataport-install-test.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log"
test -f "$work/prefix/include/dataport.h" && test -f "$work/prefix/lib/cmake/dataport/dataportConfig.cmake"
cmake -S "$source_dir/examples/cpp" -B "$work/cpp" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" \
      -DCMAKE_BUILD_TYPE=Release >"$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/cpp" -j1 >"$work/build.log" || { cat "$work/build.log"; exit 1; }
out="$("$work/cpp/read_blob" "$DP_CAPI_BLOB")"; echo "$out"
grep -qx "fnv1a: $DP_CAPI_BLOB_FNV1A" <<<"$out" || { echo "FAIL: C++ example read different bytes"; exit 1; }
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -Werror "$source_dir/examples/c/list_and_read.c" -o "$work/c_example" \
   $(pkg-config --cflags --libs dataport) -Wl,-rpath,"$work/prefix/lib"
out="$("$work/c_example" "$DP_CAPI_FOLDER" "$DP_CAPI_BLOB")"
grep -qx "fnv1a: $DP_CAPI_BLOB_FNV1A" <<<"$out" || { echo "FAIL: pkg-config C example read different bytes"; echo "$out"; exit 1; }
echo "ok: find_package(dataport) and pkg-config dataport both work from $work/prefix"
