#!/usr/bin/env bash
# Secret-leak sweep (issue 8; RELIABILITY.md "Security rules", docs/security.md).
# Runs a representative workload at the most verbose log level (DATAPORT_LOG_LEVEL=trace and -v)
# with every credential kind: account key (connection string, AZURE_STORAGE_KEY, workspace),
# SAS (URL, AZURE_STORAGE_SAS_TOKEN, connection string, workspace), bearer tokens on Azurite's
# https+oauth endpoint (static, token file, IDENTITY_ENDPOINT, MSI_ENDPOINT, IMDS via a private
# token server), including failures: wrong key, invalid key, wrong-key SAS, expired SAS, read-only
# SAS writing, 403 and 500-with-retries and redirects from the fault proxy (whose bodies echo the
# secret), nginx redirects, expired and foreign tokens, token-server failures, missing blobs.
# Commands: ls, stat, cat, cp (download and upload), resolve, mount (ro and rw, log files), and
# the C ABI's error texts through the Python ctypes binding. Everything dataport prints or
# writes (stdout, stderr, log files, mount logs, C ABI results and errors, the cache folder, the
# kernel's mount table) is captured under $CAP and scanned for every secret in every printable
# form (tests/cli/secret_sweep/scan.py); redaction markers are checked where secrets were removed.
# A self-check plants each secret in a file and requires the scan to find it.
source "$(dirname "$0")/lib.sh"
: "${DATAPORT_SOURCE_DIR:?run through ctest}"
helpers="$DATAPORT_SOURCE_DIR/tests/cli/secret_sweep"
fixtures="$DATAPORT_SOURCE_DIR/tests/fixtures"
creds() { python3 "$helpers/creds.py" "$@"; }
CAP="$WORK/capture"        # everything dataport printed or wrote: scanned
PRIV="$WORK/private"       # inputs holding secrets (workspace files, rules): never scanned
mkdir -p "$CAP/cache" "$PRIV"
SECRETS="$PRIV/secrets.tsv"
STARTED=()                 # pids of the helper servers this script started
MOUNTS=()
cleanup() {
  for m in "${MOUNTS[@]}"; do fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  for p in "${STARTED[@]}"; do kill "$p" 2>/dev/null || true; done
  if [[ -n "${DATAPORT_SWEEP_KEEP:-}" ]]; then rm -rf "$DATAPORT_SWEEP_KEEP"; cp -a "$WORK" "$DATAPORT_SWEEP_KEEP"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
export DATAPORT_LOG_LEVEL=trace DATAPORT_CACHE_DIR="$CAP/cache" DATAPORT_MOUNT_KEEP_STDERR=1
sha() { sha256sum <"$1" | cut -d' ' -f1; }
tree_sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
secret() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$SECRETS"; }  # NAME exact|fragments VALUE

# sw LABEL [VAR=VALUE...] -- ARGS...: `dataport -v ARGS` with that extra environment (an empty
# value unsets a credential variable); stdout/stderr kept as $CAP/NN-LABEL.out/.err and copied
# to $WORK/out and $WORK/err for lib.sh's expect_*; exit code in $rc.
n=0
sw() {
  local label="$1"; shift
  local envs=()
  while [[ "$1" != "--" ]]; do envs+=("$1"); shift; done
  shift
  n=$((n + 1))
  local f; f="$CAP/$(printf %03d $n)-$label"
  set +e; env "${envs[@]}" timeout 120 "$DATAPORT_CLI" -v "$@" >"$f.out" 2>"$f.err"; rc=$?; set -e
  cp "$f.out" "$WORK/out"; cp "$f.err" "$WORK/err"
}
expect_fail() { [[ "$rc" != 0 && "$rc" -lt 124 ]] && ok "$1 fails cleanly (exit $rc)" || fail "$1: expected a clean failure"; }
expect_err_marker() { expect_err "$1" "$2: redaction marker '$1' where the secret was"; }

# ---- servers: the fixture's Azurite and nginx; a private token server and fault proxy -----------
AZ_HTTPS="$(json '["azurite_https"]["blob_url"]')"
SECOND_KEY="$(json '["azurite"]["accounts"]["dataportsecond"]')"
IDH="idh-$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')"
MSIS="msi-$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')"
python3 "$fixtures/token_server.py" --port-file "$PRIV/token.port" --identity-header "$IDH" \
  --msi-secret "$MSIS" >"$PRIV/token_server.log" 2>&1 &
STARTED+=($!)
python3 "$fixtures/fault_proxy.py" --upstream "$AZ_URL" --port-file "$PRIV/proxy.port" >"$PRIV/proxy.log" 2>&1 &
STARTED+=($!)
for _ in $(seq 300); do [[ -s "$PRIV/token.port" && -s "$PRIV/proxy.port" ]] && break; sleep 0.1; done
[[ -s "$PRIV/token.port" && -s "$PRIV/proxy.port" ]] || { echo "FAIL: token server or fault proxy did not start"; cat "$PRIV"/*.log; exit 1; }
TS="http://127.0.0.1:$(cat "$PRIV/token.port")"
PROXY="http://127.0.0.1:$(cat "$PRIV/proxy.port")"
for _ in $(seq 300); do curl -sf "$TS/" >/dev/null && curl -sf "$PROXY/__proxy/requests" >/dev/null && break; sleep 0.1; done
rules() { printf '%s' "$1" >"$PRIV/rules.json"; curl -sf -X POST --data-binary @"$PRIV/rules.json" "$PROXY/__proxy/rules" >/dev/null; }
token_control() { curl -sf -X POST -H 'Content-Type: application/json' --data-binary "$1" "$TS/__control" >/dev/null; }

# ---- the secrets ----------------------------------------------------------------------------------
WRONG_KEY="$(creds random-key)"
BAD_KEY="not*base64*$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
SAS_RW="$(creds account-sas devstoreaccount1 "$KEY" racwdl -300 3600)"
SAS_RO="$(creds account-sas devstoreaccount1 "$KEY" rl -300 3600)"
SAS_EXPIRED="$(creds account-sas devstoreaccount1 "$KEY" rl -7200 -3600)"
SAS_WRONG="$(creds account-sas devstoreaccount1 "$WRONG_KEY" rl -300 3600)"
URL_PASSWORD="pw-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
TOKEN_STATIC="$(creds token "$TS")"
TOKEN_FILE_VALUE="$(creds token "$TS")"
TOKEN_EXPIRED="$(creds jwt https://storage.azure.com -3600)"
TOKEN_FOREIGN="$(creds jwt https://example.com 3600)"
CS_KEY="$AZURE_STORAGE_CONNECTION_STRING"
CS_WRONG="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$WRONG_KEY;BlobEndpoint=$AZ_URL/devstoreaccount1;"
CS_BAD="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$BAD_KEY;BlobEndpoint=$AZ_URL/devstoreaccount1;"
CS_SAS="BlobEndpoint=$AZ_URL/devstoreaccount1;AccountName=devstoreaccount1;SharedAccessSignature=$SAS_RW"
CS_PROXY="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$KEY;BlobEndpoint=$PROXY/devstoreaccount1;"
secret account-key fragments "$KEY"
secret second-account-key fragments "$SECOND_KEY"
secret wrong-key fragments "$WRONG_KEY"
secret invalid-key exact "$BAD_KEY"
secret url-password exact "$URL_PASSWORD"
for name in CS_KEY CS_WRONG CS_BAD CS_SAS CS_PROXY; do secret "connection-string-$name" exact "${!name}"; done
for name in SAS_RW SAS_RO SAS_EXPIRED SAS_WRONG; do
  secret "sas-$name" exact "${!name}"
  secret "sig-$name" fragments "$(creds sig "${!name}")"
  secret "sig-decoded-$name" fragments "$(creds sig "${!name}" decoded)"
done
secret token-static fragments "$TOKEN_STATIC"
secret token-file fragments "$TOKEN_FILE_VALUE"
secret token-expired fragments "$TOKEN_EXPIRED"
secret token-foreign fragments "$TOKEN_FOREIGN"
# Tokens the token server issues to dataport itself are not known here; all of them end in a
# signature that starts with base64url("fake-signature-") and begin with the same header.
secret token-server-signature exact "ZmFrZS1zaWduYXR1cmUt"
secret token-server-header exact "$(cut -d. -f1 <<<"$TOKEN_STATIC")"
secret identity-header exact "$IDH"
secret msi-secret exact "$MSIS"
echo "# $(wc -l <"$SECRETS") secrets"

# ---- test data ------------------------------------------------------------------------------------
c="sweep$RANDOM$RANDOM"
base="$AZ_URL/devstoreaccount1/$c"
pbase="$PROXY/devstoreaccount1/$c"
mkdir -p "$WORK/src/sub"
head -c 300000 /dev/urandom >"$WORK/src/f1.bin"
head -c 40000 /dev/urandom >"$WORK/src/sub/f2.bin"
printf 'small text\n' >"$WORK/src/sub/f3.txt"
head -c 100000 /dev/urandom >"$WORK/one.bin"

# Workspace files (private: they hold secrets).
ws() {  # ws NAME YAML-BODY: writes $PRIV/NAME.yaml
  printf '%s\n' "$2" >"$PRIV/$1.yaml"; chmod 600 "$PRIV/$1.yaml"
}
ws map "accounts:
  devstoreaccount1: {service_url: \"$AZ_URL/devstoreaccount1\"}
  dataportsecond: {service_url: \"$AZ_URL/dataportsecond\"}"
ws keyed "datastores:
  second:
    type: azure_blob
    account_name: dataportsecond
    container_name: $c
    protocol: http
    service_url: \"$AZ_URL/dataportsecond\"
    credentials: {account_key: \"$SECOND_KEY\"}"
ws sas "accounts:
  devstoreaccount1: {service_url: \"$AZ_URL/devstoreaccount1\", credentials: {sas_token: \"?$SAS_RW\"}}"
ws proxysas "accounts:
  devstoreaccount1: {service_url: \"$PROXY/devstoreaccount1\", credentials: {sas_token: \"$SAS_RW\"}}"
ws proxymap "accounts:
  devstoreaccount1: {service_url: \"$PROXY/devstoreaccount1\"}"
ws expired "accounts:
  devstoreaccount1: {service_url: \"$AZ_URL/devstoreaccount1\", credentials: {sas_token: \"$SAS_EXPIRED\"}}"
ws https "accounts:
  devstoreaccount1: {service_url: \"$AZ_HTTPS/devstoreaccount1\"}"
ws bearer "accounts:
  devstoreaccount1: {service_url: \"$AZ_HTTPS/devstoreaccount1\", credentials: {bearer_token: \"$TOKEN_STATIC\"}}"
printf '%s\n' "$TOKEN_FILE_VALUE" >"$PRIV/token.txt"
ws bearerfile "accounts:
  devstoreaccount1: {service_url: \"$AZ_HTTPS/devstoreaccount1\", credentials: {bearer_token_file: token.txt}}"
ws bearerexpired "accounts:
  devstoreaccount1: {service_url: \"$AZ_HTTPS/devstoreaccount1\", credentials: {bearer_token: \"$TOKEN_EXPIRED\"}}"
ws bearerforeign "accounts:
  devstoreaccount1: {service_url: \"$AZ_HTTPS/devstoreaccount1\", credentials: {bearer_token: \"$TOKEN_FOREIGN\"}}"
NOCS="AZURE_STORAGE_CONNECTION_STRING="
W() { echo "DATAPORT_WORKSPACE=$PRIV/$1.yaml"; }

# ---- account key through the connection string ---------------------------------------------------
sw cs-upload -- cp -R --create-container "$WORK/src" "$base/data"; expect_rc 0 "cs: upload a folder"
sw cs-ls -- ls -R -l "$base/data"; expect_rc 0 "cs: ls -R -l"
expect_out "f1.bin" "cs: the listing names the files"
sw cs-stat -- stat --json "$base/data/f1.bin"; expect_rc 0 "cs: stat"
sw cs-cat -- cat "$base/data/f1.bin"; expect_rc 0 "cs: cat"
[[ "$(sha "$WORK/out")" == "$(sha "$WORK/src/f1.bin")" ]] && ok "cs: cat bytes (sha256)" || fail "cs: cat bytes"
sw cs-download -- cp -R "$base/data" "$WORK/dl-cs"; expect_rc 0 "cs: download a folder"
[[ "$(tree_sums "$WORK/dl-cs")" == "$(tree_sums "$WORK/src")" ]] && ok "cs: download identical (sha256)" || fail "cs: download differs"
sw cs-resolve -- resolve "wasbs://$c@devstoreaccount1.blob.core.windows.net/data/f1.bin"; expect_rc 0 "cs: resolve"
expect_out '"credential": "shared_key"' "cs: resolve names the credential kind"
sw cs-missing -- cat "$base/data/missing.bin"; expect_fail "cs: cat of a missing blob"
expect_err_re "404|not found" "cs: the missing blob is reported as not found"
sw cs-missing-stat -- stat "$base/nosuchdir/missing.bin"; expect_fail "cs: stat of a missing blob"
sw wrong-key-stat "AZURE_STORAGE_CONNECTION_STRING=$CS_WRONG" -- stat "$base/data/f1.bin"; expect_fail "wrong key: stat"
expect_err "403" "wrong key: the error carries HTTP 403"
sw wrong-key-ls "AZURE_STORAGE_CONNECTION_STRING=$CS_WRONG" -- ls -R "$base/data"; expect_fail "wrong key: ls"
sw wrong-key-download "AZURE_STORAGE_CONNECTION_STRING=$CS_WRONG" -- cp -R "$base/data" "$WORK/dl-wrong"; expect_fail "wrong key: download"
sw wrong-key-upload "AZURE_STORAGE_CONNECTION_STRING=$CS_WRONG" -- cp "$WORK/one.bin" "$base/wrong/one.bin"; expect_fail "wrong key: upload"
sw invalid-key "AZURE_STORAGE_CONNECTION_STRING=$CS_BAD" -- stat "$base/data/f1.bin"; expect_fail "invalid (non-base64) key"
sw invalid-key-resolve "AZURE_STORAGE_CONNECTION_STRING=$CS_BAD" -- resolve "$base/data/f1.bin"

# ---- account key through AZURE_STORAGE_ACCOUNT/KEY and through a workspace datastore -------------
c2="$c"
sbase="$AZ_URL/dataportsecond/$c2"
sw envkey-upload "$NOCS" "$(W map)" AZURE_STORAGE_ACCOUNT=dataportsecond "AZURE_STORAGE_KEY=$SECOND_KEY" -- \
  cp -R --create-container "$WORK/src" "$sbase/data"; expect_rc 0 "env key: upload"
sw envkey-cat "$NOCS" "$(W map)" AZURE_STORAGE_ACCOUNT=dataportsecond "AZURE_STORAGE_KEY=$SECOND_KEY" -- \
  cat "$sbase/data/sub/f2.bin"; expect_rc 0 "env key: cat"
[[ "$(sha "$WORK/out")" == "$(sha "$WORK/src/sub/f2.bin")" ]] && ok "env key: cat bytes (sha256)" || fail "env key: cat bytes"
sw envkey-wrong "$NOCS" "$(W map)" AZURE_STORAGE_ACCOUNT=dataportsecond "AZURE_STORAGE_KEY=$WRONG_KEY" -- \
  ls "$sbase/data"; expect_fail "env key: wrong key"
sw ws-key-ls "$NOCS" "$(W keyed)" -- ls -R azureml://datastores/second/paths/data/; expect_rc 0 "workspace key: ls"
sw ws-key-download "$NOCS" "$(W keyed)" -- cp -R azureml://datastores/second/paths/data "$WORK/dl-ws"; expect_rc 0 "workspace key: download"
[[ "$(tree_sums "$WORK/dl-ws")" == "$(tree_sums "$WORK/src")" ]] && ok "workspace key: identical (sha256)" || fail "workspace key: differs"
sw ws-key-resolve "$NOCS" "$(W keyed)" -- resolve azureml://datastores/second/paths/data/f1.bin; expect_rc 0 "workspace key: resolve"

# ---- SAS ------------------------------------------------------------------------------------------
sw sas-url-ls "$NOCS" "$(W map)" -- ls -R "$base/data?$SAS_RW"; expect_rc 0 "SAS in the URL: ls"
sw sas-url-stat "$NOCS" "$(W map)" -- stat --json "$base/data/f1.bin?$SAS_RW"; expect_rc 0 "SAS in the URL: stat"
sw sas-url-cat "$NOCS" "$(W map)" -- cat "$base/data/f1.bin?$SAS_RO"; expect_rc 0 "SAS in the URL: cat"
[[ "$(sha "$WORK/out")" == "$(sha "$WORK/src/f1.bin")" ]] && ok "SAS: cat bytes (sha256)" || fail "SAS: cat bytes"
sw sas-url-download "$NOCS" "$(W map)" -- cp -R "$base/data?$SAS_RO" "$WORK/dl-sas"; expect_rc 0 "SAS in the URL: download"
[[ "$(tree_sums "$WORK/dl-sas")" == "$(tree_sums "$WORK/src")" ]] && ok "SAS: download identical (sha256)" || fail "SAS: download differs"
sw sas-url-upload "$NOCS" "$(W map)" -- cp "$WORK/one.bin" "$base/sas-up/one.bin?$SAS_RW"; expect_rc 0 "SAS in the URL: upload"
sw sas-url-resolve "$NOCS" "$(W map)" -- resolve "$base/data/f1.bin?$SAS_RW"; expect_rc 0 "SAS in the URL: resolve"
expect_out '"credential": "sas"' "SAS: resolve names the credential kind"
sw sas-env "$NOCS" "$(W map)" AZURE_STORAGE_ACCOUNT=devstoreaccount1 "AZURE_STORAGE_SAS_TOKEN=?$SAS_RW" -- \
  cat "$base/sas-up/one.bin"; expect_rc 0 "AZURE_STORAGE_SAS_TOKEN: cat"
[[ "$(sha "$WORK/out")" == "$(sha "$WORK/one.bin")" ]] && ok "SAS: uploaded bytes read back (sha256)" || fail "SAS: upload read back"
sw sas-cs-upload "AZURE_STORAGE_CONNECTION_STRING=$CS_SAS" -- cp -R "$WORK/src" "$base/sas-cs"; expect_rc 0 "connection string with SAS: upload"
sw sas-cs-ls "AZURE_STORAGE_CONNECTION_STRING=$CS_SAS" -- ls -R -l "$base/sas-cs"; expect_rc 0 "connection string with SAS: ls"
sw sas-ws-cat "$NOCS" "$(W sas)" -- cat "$base/data/sub/f3.txt"; expect_rc 0 "workspace SAS: cat"
sw sas-ro-upload "$NOCS" "$(W map)" -- cp "$WORK/one.bin" "$base/ro/one.bin?$SAS_RO"; expect_fail "read-only SAS: upload"
expect_err "403" "read-only SAS: the error carries HTTP 403"
sw sas-ro-upload-json "$NOCS" "$(W map)" -- --metrics cp --json "$WORK/one.bin" "$base/ro/one.bin?$SAS_RO"; expect_fail "read-only SAS: upload, --json summary"
expect_out '"failed"' "the JSON summary lists the failure"
sw sas-ls-json "$NOCS" "$(W map)" -- --metrics ls -R --json "$base/data?$SAS_RO"; expect_rc 0 "SAS in the URL: ls --json with --metrics"
sw sas-expired-cat "$NOCS" "$(W map)" -- cat "$base/data/f1.bin?$SAS_EXPIRED"; expect_fail "expired SAS: cat"
expect_err "expired" "expired SAS: the error says it expired"
sw sas-expired-ws "$NOCS" "$(W expired)" -- ls "$base/data"; expect_fail "expired SAS from the workspace: ls"
sw sas-wrong-cat "$NOCS" "$(W map)" -- cat "$base/data/f1.bin?$SAS_WRONG"; expect_fail "SAS signed with a wrong key: cat"
expect_err "403" "wrong SAS: the error carries HTTP 403"
sw sas-missing "$NOCS" "$(W map)" -- stat "$base/data/missing.bin?$SAS_RO"; expect_fail "SAS: missing blob"
# Bad URIs are quoted in their error: redacted.
sw bad-uri-fragment "$NOCS" -- stat "$NGINX_URL/files/$c/one.bin?$SAS_RO#frag"; expect_rc 2 "a URI with a fragment and a SAS"
expect_err_marker "sig=REDACTED" "the refused URI (fragment)"
sw bad-uri-container "$NOCS" -- ls "wasbs://c@devstoreaccount1.blob.core.windows.net/x?$SAS_RO"; expect_rc 2 "a bad container name with a SAS"
expect_err_marker "sig=REDACTED" "the refused URI (container)"
sw bad-uri-password "$NOCS" -- cat "http://dpuser:$URL_PASSWORD@127.0.0.1:1/x?$SAS_RO"; expect_rc 2 "user:password@ with a SAS"
expect_err_marker "REDACTED@127.0.0.1" "the refused URI (password)"

# ---- faults through the proxy: 500 with retries, 500 exhausted, 403 and redirects ----------------
rules '[{"match": {"method": "GET", "path_regex": "/data/f1\\.bin"}, "times": 2, "action": {"status": 500, "body": "boom"}}]'
sw proxy-500-retry-sas "$NOCS" "$(W proxysas)" -- cat "$pbase/data/f1.bin"; expect_rc 0 "SAS via proxy: cat after two 500s"
[[ "$(sha "$WORK/out")" == "$(sha "$WORK/src/f1.bin")" ]] && ok "retried cat bytes (sha256)" || fail "retried cat bytes"
expect_err "retrying GET $pbase/data/f1.bin (retry" "the retries are logged with the URL, without its query"
rules '[{"match": {"method": "GET", "path_regex": "comp=list"}, "times": 1, "action": {"status": 503, "headers": {"Retry-After": "0"}}}]'
sw proxy-503-ls-sas "$NOCS" "$(W proxysas)" -- ls -R "$pbase/data"; expect_rc 0 "SAS via proxy: ls after a 503"
expect_err "retrying GET $PROXY/devstoreaccount1/$c?" "the listing retry is logged"
rules '[{"match": {"method": "PUT"}, "times": 2, "action": {"status": 500}}]'
sw proxy-500-upload-sas "$NOCS" "$(W proxysas)" -- cp "$WORK/one.bin" "$pbase/retried/one.bin"; expect_rc 0 "SAS via proxy: upload after two 500s"
rules '[{"match": {"method": "GET", "path_regex": "/data/f1\\.bin"}, "times": 2, "action": {"status": 500}}]'
sw proxy-500-retry-key "AZURE_STORAGE_CONNECTION_STRING=$CS_PROXY" -- cat "$pbase/data/f1.bin"; expect_rc 0 "Shared Key via proxy: cat after two 500s"
rules '[{"match": {"path_regex": "/data/"}, "action": {"status": 500, "body": "always"}}]'
sw proxy-500-exhausted-sas "$NOCS" "$(W proxysas)" -- cat "$pbase/data/f1.bin"; expect_fail "SAS via proxy: 500 until the retries run out"
expect_err "HTTP 500" "exhausted retries: the error carries HTTP 500"
sw proxy-500-exhausted-download "$NOCS" "$(W proxysas)" -- cp -R "$pbase/data" "$WORK/dl-500"; expect_fail "SAS via proxy: download with 500s"
sw proxy-500-exhausted-key "AZURE_STORAGE_CONNECTION_STRING=$CS_PROXY" -- stat "$pbase/data/f1.bin"; expect_fail "Shared Key via proxy: 500 exhausted"
# A service whose error text echoes the credential (it must still not reach the output).
SIG_RW="$(creds sig "$SAS_RW")"; SIG_RW_DEC="$(creds sig "$SAS_RW" decoded)"
echo_body="<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request. sig=$SIG_RW, signature $SIG_RW_DEC, key $KEY, token $TOKEN_FOREIGN</Message></Error>"
python3 - "$PRIV/echo.json" "$echo_body" "$c" <<'PY'
import json, sys
json.dump([{"match": {"path_regex": sys.argv[3]}, "action": {"status": 403, "headers": {"x-ms-error-code": "AuthenticationFailed", "Content-Type": "application/xml"}, "body": sys.argv[2]}}], open(sys.argv[1], "w"))
PY
rules "$(cat "$PRIV/echo.json")"
sw proxy-403-echo-sas "$NOCS" "$(W proxysas)" -- ls -R "$pbase/data"; expect_fail "403 whose body echoes the SAS"
expect_err "403" "echoing 403: the error carries HTTP 403"
expect_err_marker "authenticate the request. sig=REDACTED, signature REDACTED, key REDACTED, token REDACTED" "a service message echoing the signature"
sw proxy-403-echo-key "AZURE_STORAGE_CONNECTION_STRING=$CS_PROXY" -- cp -R "$pbase/data" "$WORK/dl-echo"; expect_fail "403 whose body echoes the key"
AZ_PORT="${AZ_URL##*:}"
loc="http://127.0.0.2:$AZ_PORT/devstoreaccount1/$c/data/f1.bin?$SAS_RW"
python3 -c 'import json,sys; json.dump([{"match": {"path_regex": "/data/"}, "action": {"status": 307, "headers": {"Location": sys.argv[2]}}}], open(sys.argv[1], "w"))' "$PRIV/redirect.json" "$loc"
rules "$(cat "$PRIV/redirect.json")"
sw proxy-redirect-sas "$NOCS" "$(W proxysas)" -- cat "$pbase/data/f1.bin"; expect_fail "signed request redirected (307 with a SAS in Location)"
sw proxy-redirect-key "AZURE_STORAGE_CONNECTION_STRING=$CS_PROXY" -- stat "$pbase/data/f1.bin"; expect_fail "Shared Key request redirected"
rules '[]'
# nginx: a SAS-bearing https request is never redirected; the Location is shown redacted.
mkdir -p "$NGINX_ROOT/$c" && cp "$WORK/one.bin" "$NGINX_ROOT/$c/one.bin"
sw nginx-redirect-sas "$NOCS" -- cat "$NGINX_URL/redirect-same/$c/one.bin?$SAS_RO"; expect_rc 0 "SAS URL behind a same-origin nginx redirect"
[[ "$(sha "$WORK/out")" == "$(sha "$WORK/one.bin")" ]] && ok "same-origin redirect: bytes (sha256)" || fail "same-origin redirect bytes"
expect_err_marker "sig=REDACTED" "the followed redirect's log line"
sw nginx-redirect-other-sas "$NOCS" -- cat "$NGINX_URL/redirect-other/$c/one.bin?$SAS_RO"; expect_fail "SAS URL redirected to another host"
expect_err_marker "sig=REDACTED" "the refused redirect's Location"
sw nginx-sas-cat "$NOCS" -- cat "$NGINX_URL/files/$c/one.bin?$SAS_RO"; expect_rc 0 "https backend with a SAS query: cat"

# ---- bearer tokens on Azurite https (--oauth basic) ----------------------------------------------
export DATAPORT_CA_FILE="$CA_FILE"
hbase="$AZ_HTTPS/devstoreaccount1/${c}tok"
sw bearer-upload "$NOCS" "$(W bearer)" -- cp -R --create-container "$WORK/src" "$hbase/data"; expect_rc 0 "static bearer token: upload"
sw bearer-ls "$NOCS" "$(W bearer)" -- ls -R -l "$hbase/data"; expect_rc 0 "static bearer token: ls"
sw bearer-stat "$NOCS" "$(W bearer)" -- stat --json "$hbase/data/f1.bin"; expect_rc 0 "static bearer token: stat"
sw bearer-cat "$NOCS" "$(W bearer)" -- cat "$hbase/data/f1.bin"; expect_rc 0 "static bearer token: cat"
[[ "$(sha "$WORK/out")" == "$(sha "$WORK/src/f1.bin")" ]] && ok "bearer: cat bytes (sha256)" || fail "bearer: cat bytes"
sw bearer-resolve "$NOCS" "$(W bearer)" -- resolve "$hbase/data/f1.bin"; expect_rc 0 "static bearer token: resolve"
expect_out '"credential": "bearer' "bearer: resolve names the credential kind"
sw bearer-file-download "$NOCS" "$(W bearerfile)" -- cp -R "$hbase/data" "$WORK/dl-bearer"; expect_rc 0 "token file: download"
[[ "$(tree_sums "$WORK/dl-bearer")" == "$(tree_sums "$WORK/src")" ]] && ok "token file: identical (sha256)" || fail "token file: differs"
sw bearer-missing "$NOCS" "$(W bearer)" -- cat "$hbase/data/missing.bin"; expect_fail "bearer: missing blob"
sw bearer-expired "$NOCS" "$(W bearerexpired)" -- cat "$hbase/data/f1.bin"; expect_fail "expired bearer token"
expect_err "expired" "expired token: the error says it expired"
sw bearer-foreign "$NOCS" "$(W bearerforeign)" -- ls "$hbase/data"; expect_fail "token for another audience"
MI_IDENTITY=("$NOCS" "$(W https)" "IDENTITY_ENDPOINT=$TS/msi/token" "IDENTITY_HEADER=$IDH")
sw mi-identity-ls "${MI_IDENTITY[@]}" -- ls -R "$hbase/data"; expect_rc 0 "IDENTITY_ENDPOINT token: ls"
sw mi-identity-download "${MI_IDENTITY[@]}" -- cp -R "$hbase/data" "$WORK/dl-mi"; expect_rc 0 "IDENTITY_ENDPOINT token: download"
[[ "$(tree_sums "$WORK/dl-mi")" == "$(tree_sums "$WORK/src")" ]] && ok "IDENTITY_ENDPOINT: identical (sha256)" || fail "IDENTITY_ENDPOINT: differs"
sw mi-identity-upload "${MI_IDENTITY[@]}" -- cp "$WORK/one.bin" "$hbase/mi/one.bin"; expect_rc 0 "IDENTITY_ENDPOINT token: upload"
sw mi-identity-resolve "${MI_IDENTITY[@]}" -- resolve "$hbase/data/f1.bin"; expect_rc 0 "IDENTITY_ENDPOINT: resolve"
sw mi-identity-wrong-header "$NOCS" "$(W https)" "IDENTITY_ENDPOINT=$TS/msi/token" "IDENTITY_HEADER=$MSIS" -- stat "$hbase/data/f1.bin"
expect_fail "IDENTITY_ENDPOINT with a wrong header"
sw mi-msi-cat "$NOCS" "$(W https)" "MSI_ENDPOINT=$TS/msi2/token" "MSI_SECRET=$MSIS" -- cat "$hbase/data/sub/f2.bin"; expect_rc 0 "MSI_ENDPOINT token: cat"
MI_IMDS=("$NOCS" "$(W https)" DATAPORT_USE_MANAGED_IDENTITY=true "DATAPORT_IMDS_ENDPOINT=$TS")
sw mi-imds-stat "${MI_IMDS[@]}" -- stat --json "$hbase/data/f1.bin"; expect_rc 0 "IMDS token: stat"
token_control '{"fail": [500, 429, 500]}'
sw mi-imds-retry "${MI_IMDS[@]}" -- cat "$hbase/data/f1.bin"; expect_rc 0 "IMDS token after 500, 429, 500"
token_control "{\"fail\": [$(printf '500,%.0s' $(seq 30))500]}"
sw mi-imds-exhausted "${MI_IMDS[@]}" -- cat "$hbase/data/f1.bin"; expect_fail "IMDS failing every time"
token_control '{"reset": true}'
sw mi-imds-missing "${MI_IMDS[@]}" -- stat "$hbase/data/missing.bin"; expect_fail "IMDS token: missing blob"
unset DATAPORT_CA_FILE

# ---- FUSE mounts: rw with a SAS through the proxy (500s on reads), ro with a managed identity ----
[[ -e /dev/fuse ]] || { echo "FAIL: /dev/fuse missing"; exit 1; }
mounted() { grep -qF " $1 fuse" /proc/mounts; }
rw="$WORK/mnt-rw"; mkdir -p "$rw"; MOUNTS+=("$rw")
rules '[{"match": {"method": "GET", "path_regex": "/data/sub/f2\\.bin"}, "times": 2, "action": {"status": 500}}]'
sw mount-rw-sas "$NOCS" "$(W proxymap)" -- mount --rw --log-file "$CAP/mount-rw.log" "$pbase/data?$SAS_RW" "$rw"
expect_rc 0 "rw mount with a SAS through the proxy"
grep -F " $rw " /proc/self/mountinfo >"$CAP/mountinfo-rw.txt" || true
[[ -s "$CAP/mountinfo-rw.txt" ]] && ok "the mount table entry is captured" || fail "no mount table entry"
[[ "$(cd "$rw" && find . -type f | sort)" == "$(cd "$WORK/src" && find . -type f | sort)" ]] && ok "mount: listing" || fail "mount: listing"
[[ "$(tree_sums "$rw")" == "$(tree_sums "$WORK/src")" ]] && ok "mount: reads identical (sha256), through two 500s" || fail "mount: reads differ"
cp "$WORK/one.bin" "$rw/written.bin" && ok "mount: write a file" || fail "mount: write"
sw mount-rw-unmount -- unmount "$rw"; expect_rc 0 "unmount rw"
rules '[]'
sw mount-rw-check "$NOCS" "$(W map)" -- cat "$base/data/written.bin?$SAS_RO"
[[ "$(sha "$WORK/out")" == "$(sha "$WORK/one.bin")" ]] && ok "mount: the written file reached the blob (sha256)" || fail "mount: written file"
grep -q "retrying" "$CAP/mount-rw.log" && ok "mount log records the retries" || fail "mount log lacks the retries"
grep -qF "sig=REDACTED on $rw" "$CAP/mount-rw.log" && ok "mount log: redaction marker 'sig=REDACTED' in the mounted URI" || fail "mount log lacks sig=REDACTED"
ro="$WORK/mnt-ro"; mkdir -p "$ro"; MOUNTS+=("$ro")
n=$((n + 1))
DATAPORT_CA_FILE="$CA_FILE" env "${MI_IDENTITY[@]}" timeout 120 "$DATAPORT_CLI" -v mount --foreground \
  --log-file "$CAP/mount-ro.log" "$hbase/data" "$ro" >"$CAP/$n-mount-ro-fg.out" 2>"$CAP/$n-mount-ro-fg.err" &
fgpid=$!
for _ in $(seq 600); do grep -q "Mount started." "$CAP/$n-mount-ro-fg.out" 2>/dev/null && break; kill -0 "$fgpid" 2>/dev/null || break; sleep 0.1; done
[[ "$(tree_sums "$ro")" == "$(tree_sums "$WORK/src")" ]] && ok "ro mount with a managed identity: reads identical (sha256)" || fail "ro mount reads"
kill -TERM "$fgpid"; set +e; wait "$fgpid"; r=$?; set -e
[[ $r == 0 ]] && ok "foreground mount ends on SIGTERM" || { rc=$r; fail "foreground mount exit"; }
mp="$WORK/mnt-bad"; mkdir -p "$mp"; MOUNTS+=("$mp")
sw mount-expired "$NOCS" "$(W map)" -- mount "$base/data?$SAS_EXPIRED" "$mp"; expect_fail "mount with an expired SAS"
expect_err_marker "sig=REDACTED" "the failed mount names its URI"
mounted "$mp" && fail "a failed mount left a mount" || ok "nothing mounted after the failure"
sw mount-wrong-key "AZURE_STORAGE_CONNECTION_STRING=$CS_WRONG" -- mount --foreground "$base/data" "$mp"; expect_fail "mount with a wrong key"

# ---- the C ABI through Python ctypes -------------------------------------------------------------
lib="$(dirname "$DATAPORT_CLI")/capi/libdataport_c.so"
[[ -f "$lib" ]] || { echo "FAIL: $lib missing: build the dataport_c target"; exit 1; }
preload="$(asan_preload "$lib")"  # an ASan build of the library needs its runtime in python3
capi() {  # capi LABEL [VAR=VALUE...] -- STEP...
  local label="$1"; shift
  local envs=()
  while [[ "$1" != "--" ]]; do envs+=("$1"); shift; done
  shift
  n=$((n + 1))
  local f="$CAP/$(printf %03d $n)-capi-$label"
  set +e
  env "${envs[@]}" DATAPORT_LIBRARY="$lib" LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0 \
    timeout 120 python3 "$helpers/capi_probe.py" "$f.jsonl" "$@" >"$f.out" 2>"$f.err"
  rc=$?; set -e
  [[ $rc == 0 && -s "$f.jsonl" ]] && ok "C ABI $label: ran $# steps" || fail "C ABI $label (see $(cat "$f.err" | head -c 500))"
  cp "$f.jsonl" "$WORK/out"
}
capi_count() { python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["ok"] == (sys.argv[2] == "ok")))' "$WORK/out" "$1"; }
capi key -- resolve:"$base/data/f1.bin" stat:"$base/data/f1.bin" ls:"$base/data" read:"$base/data/f1.bin" \
  download:"$base/data:$WORK/dl-capi" upload:"$base/capi-up:$WORK/src" read:"$base/data/missing.bin"
[[ "$(capi_count ok)" == 6 && "$(capi_count failed)" == 1 ]] && ok "C ABI with a key: 6 ok, missing blob fails" || fail "C ABI key outcomes: $(cat "$WORK/out")"
capi wrong-key "AZURE_STORAGE_CONNECTION_STRING=$CS_WRONG" -- stat:"$base/data/f1.bin" ls:"$base/data" read:"$base/data/f1.bin" download:"$base/data:$WORK/dl-capi-wrong"
[[ "$(capi_count ok)" == 0 ]] && ok "C ABI wrong key: every call fails" || fail "C ABI wrong key: $(cat "$WORK/out")"
capi invalid-key "AZURE_STORAGE_CONNECTION_STRING=$CS_BAD" -- stat:"$base/data/f1.bin" resolve:"$base/data/f1.bin"
capi sas "$NOCS" "DATAPORT_WORKSPACE=$PRIV/map.yaml" -- resolve:"$base/data/f1.bin?$SAS_RO" stat:"$base/data/f1.bin?$SAS_RO" \
  ls:"$base/data?$SAS_RO" read:"$base/data/f1.bin?$SAS_RO" read:"$base/data/f1.bin?$SAS_EXPIRED" \
  read:"$base/data/f1.bin?$SAS_WRONG" upload:"$base/capi-ro?$SAS_RO:$WORK/src" read:"$base/data/missing.bin?$SAS_RO"
[[ "$(capi_count ok)" == 4 ]] && ok "C ABI SAS: 4 ok, expired/wrong/read-only/missing fail" || fail "C ABI SAS outcomes: $(cat "$WORK/out")"
capi bad-uris "$NOCS" -- resolve:"wasbs://c@devstoreaccount1.blob.core.windows.net/x?$SAS_RO" \
  stat:"http://dpuser:$URL_PASSWORD@127.0.0.1:1/x?$SAS_RO" read:"$NGINX_URL/files/$c/one.bin?$SAS_RO#frag"
[[ "$(capi_count ok)" == 0 && "$(grep -cF "sig=REDACTED" "$WORK/out")" == 3 ]] && ok "C ABI bad URIs: errors quote them redacted" || fail "C ABI bad URIs: $(cat "$WORK/out")"
grep -qF "sig=REDACTED" "$WORK/out" && ok "C ABI resolve: redaction marker 'sig=REDACTED'" || fail "C ABI output lacks sig=REDACTED"
rules '[{"match": {"path_regex": "/data/"}, "action": {"status": 500}}]'
capi proxy-500 "$NOCS" "DATAPORT_WORKSPACE=$PRIV/proxysas.yaml" -- stat:"$pbase/data/f1.bin" read:"$pbase/data/f1.bin" download:"$pbase/data:$WORK/dl-capi-500"
[[ "$(capi_count ok)" == 0 ]] && ok "C ABI 500 exhausted: calls fail" || fail "C ABI 500: $(cat "$WORK/out")"
grep -qF "HTTP 500" "$WORK/out" && ok "C ABI 500 error names HTTP 500" || fail "C ABI 500 error text"
rules "$(cat "$PRIV/echo.json")"
capi proxy-403-echo "$NOCS" "DATAPORT_WORKSPACE=$PRIV/proxysas.yaml" -- stat:"$pbase/data/f1.bin" read:"$pbase/data/f1.bin" ls:"$pbase/data"
grep -qF "sig=REDACTED, signature REDACTED, key REDACTED, token REDACTED" "$WORK/out" && ok "C ABI: the echoed secrets are REDACTED" || fail "C ABI echo marker: $(cat "$WORK/out")"
rules "$(cat "$PRIV/redirect.json")"
capi proxy-redirect "$NOCS" "DATAPORT_WORKSPACE=$PRIV/proxysas.yaml" -- stat:"$pbase/data/f1.bin" read:"$pbase/data/f1.bin"
rules '[]'
capi mi "${MI_IDENTITY[@]}" "DATAPORT_CA_FILE=$CA_FILE" -- resolve:"$hbase/data/f1.bin" ls:"$hbase/data" read:"$hbase/data/f1.bin" read:"$hbase/data/missing.bin"
[[ "$(capi_count ok)" == 3 ]] && ok "C ABI managed identity: 3 ok, missing fails" || fail "C ABI MI outcomes: $(cat "$WORK/out")"
capi bearer-expired "$NOCS" "DATAPORT_WORKSPACE=$PRIV/bearerexpired.yaml" "DATAPORT_CA_FILE=$CA_FILE" -- stat:"$hbase/data/f1.bin"
[[ "$(capi_count ok)" == 0 ]] && ok "C ABI expired token fails" || fail "C ABI expired token"

# ---- self-check: the scan finds each secret when it is planted on purpose ------------------------
plant="$PRIV/planted"; mkdir -p "$plant"
i=0
while IFS=$'\t' read -r name mode value; do
  i=$((i + 1)); printf 'log line: leaked %s here\n' "$value" >"$plant/$i.txt"
done <"$SECRETS"
# Other forms: a percent-encoded decoded sig, and a 31-character piece of a token in JSON.
python3 -c 'import urllib.parse,sys; print("url?sig=" + urllib.parse.quote(sys.argv[1], safe=""))' "$SIG_RW_DEC" >"$plant/encoded.txt"
printf '{"t": "%s"}\n' "${TOKEN_STATIC:40:31}" >"$plant/fragment.json"
set +e; python3 "$helpers/scan.py" "$SECRETS" "$plant" >"$PRIV/selfcheck.txt"; r=$?; set -e
missed=0
while IFS=$'\t' read -r name mode value; do
  grep -qF "secret '$name'" "$PRIV/selfcheck.txt" || { missed=$((missed + 1)); echo "  self-check missed $name"; }
done <"$SECRETS"
[[ $r == 1 && $missed == 0 ]] && ok "self-check: every one of $i planted secrets is found" || { rc=$r; fail "self-check (exit $r, $missed missed)"; }
grep -q "encoded.txt: secret 'sig-decoded-SAS_RW'\|encoded.txt: secret 'sig-SAS_RW'" "$PRIV/selfcheck.txt" && ok "self-check: a re-encoded sig is found" || fail "self-check: re-encoded sig missed"
grep -q "fragment.json: secret 'token-static'" "$PRIV/selfcheck.txt" && ok "self-check: a 31-character token fragment is found" || fail "self-check: fragment missed"
mkdir -p "$PRIV/empty"
set +e; python3 "$helpers/scan.py" "$SECRETS" "$PRIV/empty" >/dev/null; r=$?; set -e
[[ $r == 1 ]] && ok "self-check: an empty capture fails the scan" || fail "self-check: empty capture passed"

# ---- the sweep -------------------------------------------------------------------------------------
set +e; python3 "$helpers/scan.py" "$SECRETS" "$CAP" >"$PRIV/sweep.txt"; r=$?; set -e
cat "$PRIV/sweep.txt"
[[ $r == 0 ]] && ok "no secret in any captured output" || { rc=$r; fail "secrets leaked (see LEAK lines above)"; }
grep -rlF "REDACTED" "$CAP" >/dev/null && ok "redaction markers present in the capture ($(grep -rlF REDACTED "$CAP" | wc -l) files)" || fail "no REDACTED marker anywhere"
finish
