#!/usr/bin/env bash
# Every kind of bad input gets one clear message, the right exit code, and no secret.
source "$(dirname "$0")/lib.sh"
c="bad$RANDOM$RANDOM"
base="$AZ_URL/devstoreaccount1/$c"
printf 'x\n' >"$WORK/x.txt"
dp put --create-container "$WORK/x.txt" "$base/x.txt"; expect_rc 0 "seed"

dp ls "wasbs://nocontainer.blob.core.windows.net/x"; expect_rc 2 "malformed wasbs URI"
expect_err "container" "the message names what is missing"
dp ls "gopher://host/x"; expect_rc 2 "unknown scheme"
expect_err "gopher" "the message names the scheme"
dp ls "azureml://datastores/nosuchstore/paths/x"; expect_rc 2 "unknown datastore"
expect_err "nosuchstore" "the message names the datastore"
dp cat "$base/missing.bin"; expect_rc 1 "missing blob"
expect_err "not found" "404 says not found"
nocont="nocont$RANDOM$RANDOM"
dp cp "$WORK/x.txt" "$AZ_URL/devstoreaccount1/$nocont/x.txt"; expect_rc 1 "upload into a missing container"
expect_err "container '$nocont' does not exist" "the message names the missing container"
expect_err "--create-container" "the message says how to create it"
# A folder into a missing container stops at the first such failure with that one error, rather
# than failing every file in turn.
mkdir -p "$WORK/forty"; for i in $(seq 40); do printf '%s\n' "$i" >"$WORK/forty/f$i.txt"; done
dp cp -R "$WORK/forty/" "$AZ_URL/devstoreaccount1/$nocont/forty/"; expect_rc 1 "a folder into a missing container"
expect_err_re "error: .*container '$nocont' does not exist" "the transfer ends with the container error"
n=$(grep -c "failed: f" "$WORK/err" || true)
(( n < 40 )) && ok "the transfer stopped ($n of 40 files attempted)" || fail "all $n files were attempted"
dp --set DATASET_MOUNT_READ_BLOCK_SIZE=lots ls "$base/"; expect_rc 2 "bad --set value"
expect_err "DATASET_MOUNT_READ_BLOCK_SIZE" "the message names the setting"
DATASET_MOUNT_READ_BLOCK_SIZE=abc dp ls "$base/"; expect_rc 2 "bad environment value"
expect_err "DATASET_MOUNT_READ_BLOCK_SIZE" "the message names the variable"
printf 'datastores:\n  a: [unclosed\n' >"$WORK/ws.yaml"
dp --workspace "$WORK/ws.yaml" ls "$base/"; expect_rc 2 "workspace that does not parse"
expect_err "ws.yaml" "the message names the file"
expect_err "ws.yaml:3" "the message names the line (file:line:column)"

wrong="$(printf 'not-the-right-key-0123456789abcdef' | base64 -w0)"
AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$wrong;BlobEndpoint=$AZ_URL/devstoreaccount1;" \
  dp cat "$base/x.txt"; expect_rc 1 "wrong account key"
expect_err "403" "the message has the HTTP status"
# Azure answers AuthenticationFailed; Azurite answers AuthorizationFailure.
expect_err_re "AuthenticationFailed|AuthorizationFailure" "the message has the service's error code"
expect_err "request id" "the message has the request id"
no_secret "$wrong"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
start=$(date +%s)
dp --set AZUREML_DATASET_HTTP_RETRY_COUNT=2 cat "http://127.0.0.1:$port/file.bin"; expect_rc 1 "unreachable host"
(( $(date +%s) - start < 30 )) && ok "unreachable host fails quickly, no hang" || fail "unreachable host took too long"
expect_err "127.0.0.1:$port" "the message names the address"

dp --preset warp-speed ls "$base/"; expect_rc 2 "unknown preset"
expect_err "large-sequential" "the message lists the presets"
dp --preset large-sequential --metrics cat "$base/x.txt"; expect_rc 0 "a preset and --metrics"
python3 -c "import json,sys; d=json.loads(open('$WORK/err').read().strip().splitlines()[-1]); assert d['counters']['requests'] >= 2" \
  && ok "--metrics prints the counters as JSON" || fail "--metrics JSON"
dp frobnicate; expect_rc 2 "unknown command is a usage error"
dp ls; expect_rc 2 "missing argument is a usage error"
finish
