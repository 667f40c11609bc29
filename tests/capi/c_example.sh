#!/usr/bin/env bash
# Runs examples/c against Azurite (under with_azurite.py) and checks its listing and the bytes read.
set -euo pipefail
out="$("$1" "$DP_CAPI_FOLDER" "$DP_CAPI_BLOB")"
echo "$out"
grep -qx "entries: 3" <<<"$out" || { echo "FAIL: expected 3 entries"; exit 1; }
grep -q '"name":"small.txt"' <<<"$out" || { echo "FAIL: small.txt not listed"; exit 1; }
grep -q '"name":"sub","path":"[^"]*","size":0' <<<"$out" || grep -q '"is_directory":true,"name":"sub"' <<<"$out" || { echo "FAIL: sub/ not listed as a directory"; exit 1; }
grep -qx "size: $DP_CAPI_BLOB_SIZE" <<<"$out" || { echo "FAIL: wrong size"; exit 1; }
grep -qx "fnv1a: $DP_CAPI_BLOB_FNV1A" <<<"$out" || { echo "FAIL: bytes differ from the uploaded blob"; exit 1; }
# A missing file fails with the not_found status and a message, not a crash.
set +e; err="$("$1" "$DP_CAPI_FOLDER" "$DP_CAPI_FOLDER/missing.bin" 2>&1 >/dev/null)"; rc=$?; set -e
[[ $rc == 1 ]] && grep -q "not_found (2)" <<<"$err" || { echo "FAIL: missing file: rc=$rc: $err"; exit 1; }
echo "ok"
