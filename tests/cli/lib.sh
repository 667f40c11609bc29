# Helpers for the CLI tests: read servers.json, run dataport, assert on exit codes and output.
set -euo pipefail
: "${DATAPORT_TEST_STATE:?run through ctest (the servers fixture sets DATAPORT_TEST_STATE)}"
: "${DATAPORT_CLI:?run through ctest (DATAPORT_CLI names the dataport binary)}"
servers="$DATAPORT_TEST_STATE/servers.json"
[[ -f "$servers" ]] || { echo "FAIL: $servers missing: the servers fixture did not run" >&2; exit 1; }
json() { python3 -c "import json,sys; d=json.load(open('$servers')); print(eval('d'+sys.argv[1]))" "$1"; }
AZ_URL="$(json '["azurite"]["blob_url"]')"
KEY="$(json '["azurite"]["accounts"]["devstoreaccount1"]')"
NGINX_URL="$(json '["nginx"]["http_url"]')"
NGINX_ROOT="$(json '["nginx"]["root"]')"
CA_FILE="$(json '["ca_file"]')"
WORK="$(mktemp -d /tmp/dataport-cli-test.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
passed=0; failed=0
export AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$KEY;BlobEndpoint=$AZ_URL/devstoreaccount1;"
export DATAPORT_RETRY_BASE_DELAY_MS=10 DATAPORT_RETRY_MAX_DELAY_MS=50

# asan_built FILE: whether FILE was built with AddressSanitizer. gcc links the shared libasan into
# it; clang links its runtime statically into executables (__asan_init exported) and leaves it
# out of shared libraries (__asan_init undefined): either way a dynamic symbol. (`grep >/dev/null`,
# not -q: under pipefail an early exit of grep could fail the producer with SIGPIPE.)
asan_built() {
  ldd "$1" 2>/dev/null | grep libasan >/dev/null || nm -D "$1" 2>/dev/null | grep -w __asan_init >/dev/null
}
# asan_preload LIBRARY: what LD_PRELOAD needs so that a program not built with ASan (python3) can
# load an ASan-built LIBRARY: the compiler's ASan runtime first, then libstdc++ (so that ASan's
# __cxa_throw interceptor finds the real one). Empty for a normal build.
asan_preload() {
  if ldd "$1" 2>/dev/null | grep libasan >/dev/null; then
    echo "$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so.6)"
  elif nm -D --undefined-only "$1" 2>/dev/null | grep -w __asan_init >/dev/null; then
    echo "$(clang -print-file-name=libclang_rt.asan-x86_64.so) $(gcc -print-file-name=libstdc++.so.6)"
  fi
}

# dp ARGS...: runs dataport, output in $WORK/out, errors in $WORK/err, exit code in $rc
dp() { set +e; timeout 120 "$DATAPORT_CLI" "$@" >"$WORK/out" 2>"$WORK/err"; rc=$?; set -e; }
ok() { passed=$((passed+1)); echo "ok - $1"; }
fail() { failed=$((failed+1)); echo "FAIL - $1"; echo "  exit: $rc"; echo "  stdout: $(head -c 2000 "$WORK/out")"; echo "  stderr: $(head -c 2000 "$WORK/err")"; }
expect_rc() { [[ "$rc" == "$1" ]] && ok "$2 (exit $1)" || fail "$2: expected exit $1"; }
expect_err() { grep -qiF -- "$1" "$WORK/err" && ok "$2" || fail "$2: stderr lacks '$1'"; }
expect_err_re() { grep -qiE -- "$1" "$WORK/err" && ok "$2" || fail "$2: stderr does not match /$1/"; }
expect_out() { grep -qF -- "$1" "$WORK/out" && ok "$2" || fail "$2: stdout lacks '$1'"; }
no_secret() {
  for s in "$KEY" "$@"; do
    if grep -qF -- "$s" "$WORK/out" "$WORK/err"; then fail "secret printed"; return; fi
  done
  ok "no secret in output"
}
finish() { echo "$passed passed, $failed failed"; [[ $failed == 0 ]]; }
