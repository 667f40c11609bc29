#!/usr/bin/env bash
# Configures and builds dataport. Usage: scripts/build.sh [BUILD_DIR] [extra cmake args...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$here/build}"; shift || true
gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
[[ -f "$build/CMakeCache.txt" ]] || cmake -S "$here" -B "$build" "${gen[@]}" "$@"
cmake --build "$build" --parallel "$(nproc)"
