#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) in build-fuzz and runs each one.
# Usage: scripts/fuzz.sh [--seconds N | --runs N] [--keep-corpus] [--build-dir DIR] [targets...]
#   --runs N       executions per target (deterministic with the fixed -seed=1); default 20000,
#                  or $DATAPORT_FUZZ_RUNS. This is what CI runs (scripts/test.sh). The workspace
#                  target (YAML, four parses per input) runs N/5: it is ~20x slower than the rest.
#   --seconds N    time limit per target instead of a run count (local exploration; not
#                  reproducible, so CI never uses it).
#   --keep-corpus  keep the inputs the run discovers in build-fuzz/corpus/<target>/ (by default
#                  the run reads the committed seeds and writes new inputs to a scratch folder
#                  that is emptied first, so every run starts from the same corpus).
# A crash or a failed property stops that target, saves the input as
# build-fuzz/artifacts/<target>/crash-*, and makes the script exit non-zero after the table.
# Turn such an input into a regression test: fix the bug, then copy the file into
# fuzz/regressions/<target>/ (ctest `fuzz-regression: <target>` replays it in every build).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$here/build-fuzz"
runs="${DATAPORT_FUZZ_RUNS:-20000}"
seconds=""
keep=0
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --keep-corpus) keep=1; shift ;;
    --build-dir) build="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
all_targets=(uri connection_string sas list_blobs http_headers local_path cache_header workspace)
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$here" -B "$build" "${gen[@]}" "${launcher[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DDATAPORT_FUZZ=ON \
    -DDATAPORT_BUILD_TESTS=OFF -DDATAPORT_BUILD_FUSE=OFF -DDATAPORT_BUILD_BENCHMARKS=OFF \
    -DDATAPORT_BUILD_EXAMPLES=OFF >/dev/null
fi
cmake --build "$build" --parallel "$(nproc)" --target "${targets[@]/#/fuzz_}"

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# Reproducible runs: with a fixed seed and run count, libFuzzer still varies with the load
# addresses (its comparison tables are indexed by PC) and with the periodic corpus reload, so
# address randomisation is turned off for the target and -reload=0 is passed.
no_aslr=()
if [[ -z "$seconds" ]] && setarch "$(uname -m)" -R true 2>/dev/null; then
  no_aslr=(setarch "$(uname -m)" -R)
fi
failed=()
rows=()
for target in "${targets[@]}"; do
  corpus="$build/corpus/$target"
  [[ $keep == 1 ]] || rm -rf "$corpus"
  mkdir -p "$corpus" "$build/artifacts/$target"
  log="$build/logs/$target.log"
  mkdir -p "$(dirname "$log")"
  limit=(-runs="$runs")
  [[ $target == workspace ]] && limit=(-runs="$(((runs + 4) / 5))")
  [[ -n "$seconds" ]] && limit=(-max_total_time="$seconds")
  echo "== fuzz $target (${limit[*]}) =="
  status=0
  "${no_aslr[@]}" "$build/fuzz/fuzz_$target" -seed=1 -reload=0 "${limit[@]}" -timeout=25 \
    -rss_limit_mb=2560 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$target/" \
    "$corpus" "$here/fuzz/corpus/$target" "$here/fuzz/regressions/$target" >"$log" 2>&1 ||
    status=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  cov="$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)"
  if [[ $status != 0 ]]; then
    failed+=("$target")
    tail -40 "$log" >&2
    rows+=("$(printf '%-18s %12s %8s  %s' "$target" "${execs:-?}" "${cov:-?}" "FAILED (see $log)")")
  else
    rows+=("$(printf '%-18s %12s %8s  %s' "$target" "${execs:-?}" "${cov:-?}" ok)")
  fi
done
printf '\n%-18s %12s %8s  %s\n' target executions coverage result
printf '%s\n' "${rows[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz.sh: failures in: ${failed[*]} (inputs in $build/artifacts/)" >&2
  exit 1
fi
