#!/usr/bin/env bash
# Leak check of dlopen -> context -> real read from Azurite -> dlclose, under valgrind memcheck.
#
#   valgrind_leak_check.sh LOOP_BINARY LIBRARY ITERATIONS
#
# Runs tests/capi/dlopen_loop.c (which also checks that threads and file descriptors do not grow
# and that the library really unloads) under memcheck and requires "definitely lost: 0 bytes" (or
# "no leaks are possible") and "ERROR SUMMARY: 0 errors". Memory "still reachable" at exit is
# allowed: it belongs to libraries that stay loaded by design (OpenSSL pins libcrypto; glibc's
# dlopen bookkeeping). No suppressions file is used. Runs under with_azurite.py (DP_CAPI_*).
set -euo pipefail
loop="$1"; lib="$2"; iterations="$3"
log="$(mktemp /tmp/dataport-valgrind.XXXXXX.log)"
trap 'rm -f "$log"' EXIT
set +e
# --keep-debuginfo: stack traces into the unloaded library stay readable.
# DP_LOOP_NO_RSS: RSS is valgrind's own (shadow memory, translations), not the program's.
DP_LOOP_NO_RSS=1 valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite \
  --show-leak-kinds=definite --keep-debuginfo=yes --error-exitcode=97 --log-file="$log" \
  "$loop" "$lib" "$DP_CAPI_BLOB" "$DP_CAPI_BLOB_SIZE" "$iterations"
rc=$?
set -e
grep -E "HEAP SUMMARY|in use at exit|definitely lost|indirectly lost|possibly lost|still reachable|no leaks are possible|ERROR SUMMARY" "$log" | sed 's/^==[0-9]*== *//'
if [[ $rc != 0 ]]; then
  echo "FAIL: valgrind or the loop exited with $rc; the full log:"
  cat "$log"
  exit 1
fi
grep -qE "definitely lost: 0 bytes in 0 blocks|All heap blocks were freed -- no leaks are possible" "$log" \
  || { echo "FAIL: memory was definitely lost"; cat "$log"; exit 1; }
grep -qE "ERROR SUMMARY: 0 errors from 0 contexts" "$log" \
  || { echo "FAIL: memcheck reported errors"; cat "$log"; exit 1; }
echo "ok: $iterations iterations, no definite leaks, no memcheck errors"
