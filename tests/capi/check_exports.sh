#!/usr/bin/env bash
# The shared library exports the C ABI only: every defined dynamic symbol starts with dataport_
# (plus the version node DATAPORT_0), every function in dataport.h is exported, and nothing has
# STB_GNU_UNIQUE binding (which would make dlclose a no-op).
set -euo pipefail
lib="$1"; header="$2"
defined="$(nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//')"
bad="$(grep -v -e '^dataport_' -e '^DATAPORT_0$' <<<"$defined" || true)"
[[ -z "$bad" ]] || { echo "FAIL: symbols outside the C ABI are exported:"; echo "$bad" | head -20; exit 1; }
declared="$(grep -oE '\bdataport_[a-z_]+\(' "$header" | tr -d '(' | sort -u)"
for f in $declared; do
  grep -qx "$f" <<<"$defined" || { echo "FAIL: $f is declared in dataport.h but not exported"; exit 1; }
done
if readelf --dyn-syms -W "$lib" | grep UNIQUE >/dev/null; then echo "FAIL: STB_GNU_UNIQUE symbols"; exit 1; fi
echo "ok: $(wc -l <<<"$defined") exported symbols, $(wc -w <<<"$declared") declared functions"
