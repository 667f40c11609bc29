#!/usr/bin/env bash
# An upload killed with SIGKILL between Put Block and Put Block List (docs/reliability.md): the
# fault proxy holds the commit (never forwards it), the test kills `dataport cp` once the commit
# is held. The existing blob keeps its old bytes, a new blob does not appear, and the re-run
# succeeds byte-identically.
source "$(dirname "$0")/lib.sh"
src_dir="${DATAPORT_SOURCE_DIR:?run through ctest}"
PROXY_PID=""
trap '[[ -n "$PROXY_PID" ]] && kill "$PROXY_PID" 2>/dev/null; rm -rf "$WORK"' EXIT

# ---- the fault proxy in front of Azurite ---------------------------------------------------------
python3 "$src_dir/tests/fixtures/fault_proxy.py" --upstream "$AZ_URL" --port-file "$WORK/proxy.port" \
  >"$WORK/proxy.log" 2>&1 &
PROXY_PID=$!
for _ in $(seq 300); do [[ -s "$WORK/proxy.port" ]] && break; sleep 0.05; done
[[ -s "$WORK/proxy.port" ]] || { echo "FAIL: the fault proxy did not start: $(cat "$WORK/proxy.log")"; exit 1; }
PROXY="http://127.0.0.1:$(cat "$WORK/proxy.port")"
proxy_post() { python3 -c 'import sys, urllib.request as u; u.urlopen(u.Request(sys.argv[1], data=sys.argv[2].encode(), method="POST"), timeout=10).read()' "$PROXY/__proxy/$1" "$2"; }
# held_commits NAME: how many Put Block List requests for NAME the proxy has seen
held_commits() { python3 -c 'import json, sys, urllib.request as u
log = json.load(u.urlopen(sys.argv[1] + "/__proxy/requests", timeout=10))
print(sum(1 for r in log if r["method"] == "PUT" and "comp=blocklist" in r["path"] and sys.argv[2] in r["path"]))' "$PROXY" "$1"; }
via_proxy="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$KEY;BlobEndpoint=$PROXY/devstoreaccount1;"
sha() { sha256sum <"$1" | cut -d' ' -f1; }

c="ukill$RANDOM$RANDOM"
base="$AZ_URL/devstoreaccount1/$c"
head -c 700000 /dev/urandom >"$WORK/old.bin"
head -c 3500000 /dev/urandom >"$WORK/new.bin"
dp put --create-container "$WORK/old.bin" "$base/big.bin"; expect_rc 0 "seed the old blob"

# kill_during_commit NAME: starts an upload of new.bin to NAME through the proxy, waits until its
# Put Block List is held, then kills it with SIGKILL.
kill_during_commit() {
  proxy_post clear '{}'
  proxy_post rules '[{"match": {"method": "PUT", "path_regex": "comp=blocklist"},
                      "action": {"delay_ms": 300000, "status": 503, "body": "held"}}]'
  AZURE_STORAGE_CONNECTION_STRING="$via_proxy" "$DATAPORT_CLI" cp --if-exists overwrite \
    --chunk-size 1MB "$WORK/new.bin" "$PROXY/devstoreaccount1/$c/$1" >"$WORK/out" 2>"$WORK/err" &
  local pid=$! held=0
  for _ in $(seq 600); do
    held="$(held_commits "$1")"; [[ "$held" != 0 ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [[ "$held" != 0 ]] && ok "the commit of $1 is held by the proxy" || fail "no commit of $1 reached the proxy"
  kill -9 "$pid" 2>/dev/null || true
  set +e; wait "$pid"; rc=$?; set -e
  expect_rc 137 "dataport killed with SIGKILL during the commit of $1"
}

kill_during_commit big.bin
dp cat "$base/big.bin"; expect_rc 0 "the existing blob still reads"
[[ "$(sha "$WORK/out")" == "$(sha "$WORK/old.bin")" ]] && ok "the existing blob keeps its old bytes" || fail "the existing blob changed"

kill_during_commit fresh.bin
dp cat "$base/fresh.bin"; expect_rc 1 "a blob whose commit was killed does not exist"
expect_err "not found" "reading it says not found"

proxy_post clear '{}'
for name in big.bin fresh.bin; do
  AZURE_STORAGE_CONNECTION_STRING="$via_proxy" dp cp --if-exists overwrite --chunk-size 1MB \
    "$WORK/new.bin" "$PROXY/devstoreaccount1/$c/$name"; expect_rc 0 "the re-run of $name succeeds"
  dp cat "$base/$name"
  [[ "$(sha "$WORK/out")" == "$(sha "$WORK/new.bin")" ]] && ok "$name is byte-identical to the new file" || fail "$name differs after the re-run"
done
finish
