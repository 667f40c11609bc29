#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds (normal and ASan+UBSan), starts the test
# servers (ctest fixture), runs every test, stops the servers. Nothing is skipped.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh"
"$here/scripts/check_format.sh"

echo "== build (RelWithDebInfo) =="
"$here/scripts/build.sh" "$here/build"
echo "== tests =="
(cd "$here/build" && ctest --output-on-failure --timeout 600)

if [[ "${DATAPORT_SKIP_SANITIZERS:-0}" != 1 ]]; then
  echo "== build (ASan+UBSan) =="
  # (Test discovery runs the test binaries during the build: same sanitizer options.)
  ASAN_OPTIONS=detect_leaks=0:quarantine_size_mb=16 \
    "$here/scripts/build.sh" "$here/build-asan" -DCMAKE_BUILD_TYPE=Debug -DDATAPORT_SANITIZE=ON \
    -DDATAPORT_BUILD_BENCHMARKS=OFF
  echo "== tests under ASan+UBSan =="
  # The C ABI tests load libdataport_c.so into programs that are not built with ASan (python3,
  # cargo's test binaries, a dlopen loop, an installed-tree build); ASan cannot be loaded that
  # way, so they run in the normal build above only.
  # Memory errors and undefined behaviour abort the test; leak checking is off here (global
  # state of OpenSSL and the libraries' singletons would be reported at every exit) and is the
  # job of the dedicated leak tests.
  (cd "$here/build-asan" && ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:quarantine_size_mb=16 \
     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     ctest --output-on-failure --timeout 900 -LE capi)
fi

# Fuzzing (docs/fuzzing.md): every libFuzzer target, built with clang + ASan+UBSan in build-fuzz,
# runs a fixed number of executions from a fixed seed (-seed=1 -runs=N, never a time limit), so
# this stage does on a clean machine exactly what it did locally. The committed seeds and
# regression inputs also run in both builds above as ctest `fuzz-regression: <target>`.
# DATAPORT_SKIP_FUZZ=1 skips this stage; DATAPORT_FUZZ_RUNS=N changes the executions per target.
if [[ "${DATAPORT_SKIP_FUZZ:-0}" != 1 ]]; then
  echo "== fuzz (libFuzzer, ${DATAPORT_FUZZ_RUNS:-20000} runs per target, seed 1) =="
  "$here/scripts/fuzz.sh" --runs "${DATAPORT_FUZZ_RUNS:-20000}"
fi
