#!/usr/bin/env bash
# dataport cp against Azurite: destination semantics, --if-exists, hostile names (exit 1),
# kill -9 mid-download and mid-upload (through a slow fault proxy), and bounded memory.
# Every data check compares SHA-256 digests.
source "$(dirname "$0")/lib.sh"
: "${DATAPORT_SOURCE_DIR:?run through ctest}"
c="xfer$RANDOM$RANDOM"
base="$AZ_URL/devstoreaccount1/$c"
sha() { sha256sum <"$1" | cut -d' ' -f1; }
head -c 1000000 /dev/urandom >"$WORK/one.bin"
mkdir -p "$WORK/tree/sub/deeper" "$WORK/tree/ü dir"
head -c 300000 /dev/urandom >"$WORK/tree/a.bin"
head -c 0 /dev/urandom >"$WORK/tree/empty.bin"
head -c 12345 /dev/urandom >"$WORK/tree/sub/deeper/b.bin"
head -c 777 /dev/urandom >"$WORK/tree/ü dir/c d.txt"
tree_sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }

# ---- upload and download round trip ------------------------------------------------------------
dp cp -R --create-container --chunk-size 256KB "$WORK/tree" "$base/tree"; expect_rc 0 "upload a folder"
dp cp -R --chunk-size 256KB "$base/tree" "$WORK/down"; expect_rc 0 "download the folder"
[[ "$(tree_sums "$WORK/tree")" == "$(tree_sums "$WORK/down")" ]] && ok "folder round trip is byte-identical" || fail "folder round trip differs"
dp cp -R --json "$base/tree" "$base/copy"; expect_rc 0 "blob → blob copy in one container"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s["files_copied_by_service"] == 3 and s["files_done"] == 4 else 1)' "$WORK/out" \
  && ok "the service copied the 3 non-empty files itself (server-side copy)" || fail "server-side copy summary: $(cat "$WORK/out")"
dp cp -R "$base/copy" "$WORK/down2"; expect_rc 0 "download the copy"
[[ "$(tree_sums "$WORK/tree")" == "$(tree_sums "$WORK/down2")" ]] && ok "remote copy is byte-identical" || fail "remote copy differs"
dp cp -R --json --no-server-side-copy "$base/tree" "$base/copy2"; expect_rc 0 "blob → blob with --no-server-side-copy"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s["files_copied_by_service"] == 0 and s["files_done"] == 4 else 1)' "$WORK/out" \
  && ok "--no-server-side-copy streamed every file" || fail "streamed copy summary: $(cat "$WORK/out")"
dp cp -R "$base/copy2" "$WORK/down3"; expect_rc 0 "download the streamed copy"
[[ "$(tree_sums "$WORK/tree")" == "$(tree_sums "$WORK/down3")" ]] && ok "streamed remote copy is byte-identical" || fail "streamed remote copy differs"

# ---- destination semantics -----------------------------------------------------------------------
dp cp "$WORK/one.bin" "$base/one.bin"; expect_rc 0 "upload one file"
mkdir -p "$WORK/existing"
dp cp "$base/one.bin" "$WORK/existing"; expect_rc 0 "file to an existing folder"
[[ "$(sha "$WORK/existing/one.bin")" == "$(sha "$WORK/one.bin")" ]] && ok "it keeps its name inside the folder" || fail "existing folder case"
dp cp "$base/one.bin" "$WORK/quiet.bin" --quiet --metrics; expect_rc 0 "global options after the subcommand (--quiet --metrics)"
[[ "$(sha "$WORK/quiet.bin")" == "$(sha "$WORK/one.bin")" ]] && ok "quiet copy byte-identical" || fail "quiet copy bytes"
grep -q '"files_done":1' "$WORK/err" && ok "--metrics after the subcommand prints the counters" || fail "--metrics after cp"
grep -qv '^{' "$WORK/err" && fail "--quiet after cp still printed non-JSON lines" || ok "--quiet after the subcommand prints nothing else"
dp cp "$base/one.bin" "$WORK/renamed.bin"; expect_rc 0 "file to a new name"
[[ "$(sha "$WORK/renamed.bin")" == "$(sha "$WORK/one.bin")" ]] && ok "file written under the new name" || fail "new name case"
dp cp "$base/one.bin" "$WORK/newdir/"; expect_rc 0 "file to a path ending in '/'"
[[ -d "$WORK/newdir" && "$(sha "$WORK/newdir/one.bin")" == "$(sha "$WORK/one.bin")" ]] && ok "trailing '/' makes a folder" || fail "trailing slash case"
dp cp "$base/tree" "$WORK/norec"; expect_rc 2 "a folder without -R is a usage error"
expect_err "-R" "the message says to add -R"
[[ ! -e "$WORK/norec" ]] && ok "nothing written without -R" || fail "something written without -R"

# ---- --direct-io ----------------------------------------------------------------------------------
head -c 3000007 /dev/urandom >"$WORK/direct.bin"
dp cp "$WORK/direct.bin" "$base/direct.bin"; expect_rc 0 "upload a 3 MB file"
DATAPORT_DIRECT_IO=false dp cp --direct-io "$base/direct.bin" "$WORK/direct-down.bin"; expect_rc 0 "--direct-io over DATAPORT_DIRECT_IO=false"
[[ "$(sha "$WORK/direct-down.bin")" == "$(sha "$WORK/direct.bin")" && "$(stat -c %s "$WORK/direct-down.bin")" == 3000007 ]] \
  && ok "--direct-io download is byte-identical, padding cut off" || fail "--direct-io download bytes"
dp cp --no-direct-io "$base/direct.bin" "$WORK/direct-buffered.bin"; expect_rc 0 "--no-direct-io download"
[[ "$(sha "$WORK/direct-buffered.bin")" == "$(sha "$WORK/direct.bin")" ]] && ok "--no-direct-io download is byte-identical" || fail "--no-direct-io bytes"
dp cp --direct-io --no-direct-io "$base/direct.bin" "$WORK/both.bin"; expect_rc 2 "--direct-io with --no-direct-io is a usage error"
expect_err "excludes" "the message says the two exclude each other"
DATAPORT_DIRECT_IO=sometimes dp cp "$base/direct.bin" "$WORK/bad.bin"; expect_rc 2 "a bad DATAPORT_DIRECT_IO value is a usage error"
expect_err "DATAPORT_DIRECT_IO" "the message names the variable"
[[ ! -e "$WORK/both.bin" && ! -e "$WORK/bad.bin" ]] && ok "nothing written on usage errors" || fail "a file was written on a usage error"

# ---- a destination disk that fills up -----------------------------------------------------------
# A 6 MB blob into a 4 MB tmpfs, with direct writes (the default; tmpfs takes O_DIRECT since
# Linux 6.6, so the failure comes from a write on the disk pool) and through the page cache.
FULL="$WORK/full"; mkdir -p "$FULL"
mount -t tmpfs -o size=4m tmpfs "$FULL" || { echo "FAIL: cannot mount a tmpfs (needs root)"; exit 1; }
trap 'umount "$FULL" 2>/dev/null; rm -rf "$WORK"' EXIT
head -c 6000000 /dev/urandom >"$WORK/six.bin"
dp cp "$WORK/six.bin" "$base/six.bin"; expect_rc 0 "upload a 6 MB file"
for mode in --direct-io --no-direct-io; do
  dp cp $mode "$base/six.bin" "$FULL/six.bin"; expect_rc 1 "$mode: a download that fills the disk fails"
  expect_err_re "no space|space left" "$mode: the message says the disk is full"
  [[ -z "$(ls -A "$FULL")" ]] && ok "$mode: nothing is left on the full disk" || fail "$mode: left $(ls -A "$FULL")"
done
umount "$FULL"

# ---- --if-exists ---------------------------------------------------------------------------------
printf 'mine' >"$WORK/existing/one.bin"
dp cp "$base/one.bin" "$WORK/existing/one.bin"; expect_rc 1 "existing file: fail by default"
expect_err "--if-exists" "the message names --if-exists"
[[ "$(cat "$WORK/existing/one.bin")" == "mine" ]] && ok "the existing file is untouched" || fail "existing file changed"
dp cp --if-exists overwrite "$base/one.bin" "$WORK/existing/one.bin"; expect_rc 0 "--if-exists overwrite"
[[ "$(sha "$WORK/existing/one.bin")" == "$(sha "$WORK/one.bin")" ]] && ok "overwritten with the blob" || fail "overwrite content"
dp cp -R --json --if-exists skip-identical "$base/tree" "$WORK/down"; expect_rc 0 "skip-identical second run"
python3 - "$WORK/out" <<'PY' && ok "skip-identical read nothing (only the listing)" || fail "skip-identical summary"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["files_skipped"] == 4 and s["files_done"] == 0 and s["bytes"] == 0, s
assert s["requests"] <= 3, s  # stat of the root (HEAD + a listing probe) and one listing page; no GET of any file
PY
dp cp --if-exists sometimes "$base/one.bin" "$WORK/x.bin"; expect_rc 2 "a bad --if-exists value is a usage error"

# ---- hostile names (Azurite accepts these) ---------------------------------------------------------
printf 'evil' >"$WORK/evil.txt"
# Azurite turns '\' into '/', so this is the blob "back/../up.txt": a real '..' name.
dp put "$WORK/evil.txt" "$base/hostile/back%5C..%5Cup.txt"; expect_rc 0 "put a name with a '..' segment"
long="$(printf 'L%.0s' $(seq 300))"
dp put "$WORK/evil.txt" "$base/hostile/$long.txt"; expect_rc 0 "put a name with a 300-byte segment"
dp put "$WORK/evil.txt" "$base/hostile/fine.txt"; expect_rc 0 "put an ordinary name"
dp cp -R --json "$base/hostile" "$WORK/hdest"; expect_rc 1 "hostile names: exit 1"
python3 - "$WORK/out" <<'PY' && ok "both hostile names are listed as skipped with a reason" || fail "hostile summary"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["files_done"] == 1, s
reasons = {x["path"]: x["reason"] for x in s["skipped"]}
assert set(reasons) == {"back/../up.txt", "L" * 300 + ".txt"}, reasons
assert "'..'" in reasons["back/../up.txt"] and "255" in reasons["L" * 300 + ".txt"], reasons
PY
[[ "$(ls -A "$WORK/hdest")" == "fine.txt" ]] && ok "only the ordinary file was written" || fail "hostile dest content: $(ls -A "$WORK/hdest")"
dp cp -R "$base/hostile" "$WORK/hdest2"; expect_rc 1 "hostile names without --json: exit 1"
expect_err "'..' segment" "the text summary names the reason"
no_secret

# ---- a slow proxy for the kill -9 cases ------------------------------------------------------------------
python3 "$DATAPORT_SOURCE_DIR/tests/fixtures/fault_proxy.py" --upstream "$AZ_URL" --port-file "$WORK/proxy.port" \
  >"$WORK/proxy.log" 2>&1 &
proxy_pid=$!
trap 'kill $proxy_pid 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do [[ -s "$WORK/proxy.port" ]] && break; sleep 0.1; done
PROXY="http://127.0.0.1:$(cat "$WORK/proxy.port")"
rules() { curl -sf -X POST --data-binary "$1" "$PROXY/__proxy/rules" >/dev/null; }
proxy_count() {  # proxy_count PYTHON-CONDITION-ON-r: number of logged requests matching
  curl -sf "$PROXY/__proxy/requests" | python3 -c "import json,sys; print(sum(1 for r in json.load(sys.stdin) if $1))"
}
PROXY_CS="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$KEY;BlobEndpoint=$PROXY/devstoreaccount1;"
pbase="$PROXY/devstoreaccount1/$c"
wait_for() {  # wait_for CONDITION: until proxy_count CONDITION >= 1 (max 60 s)
  local deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do [[ "$(proxy_count "$1")" -ge 1 ]] && return 0; sleep 0.1; done; return 1
}

# kill -9 mid-download
head -c 8000000 /dev/urandom >"$WORK/big.bin"
dp cp "$WORK/big.bin" "$base/big.bin"; expect_rc 0 "upload the 8 MB file"
# Each range takes 3 s: the kill lands long before the 31 ranges could finish, even on a busy machine.
rules '[{"match": {"method": "GET", "has_header": "Range"}, "action": {"delay_ms": 3000}}]'
mkdir -p "$WORK/kdest"
AZURE_STORAGE_CONNECTION_STRING="$PROXY_CS" "$DATAPORT_CLI" cp --threads 2 --chunk-size 256KB "$pbase/big.bin" "$WORK/kdest/big.bin" >/dev/null 2>&1 &
cp_pid=$!
wait_for 'r["range"] is not None and "big.bin" in r["path"] and r["status"] == 206' && sleep 0.5
kill -9 $cp_pid 2>/dev/null || true; wait $cp_pid 2>/dev/null || true
left="$(ls -A "$WORK/kdest")"
[[ ! -e "$WORK/kdest/big.bin" ]] && ok "kill -9 mid-download: nothing under the final name" || fail "a final file after kill -9"
[[ -z "$left" || "$left" == ".big.bin.dataport-partial" ]] && ok "at most the hidden partial file is left ($left)" || fail "unexpected leftovers: $left"
rules '[]'
dp cp --chunk-size 256KB "$base/big.bin" "$WORK/kdest/big.bin"; expect_rc 0 "the re-run succeeds"
[[ "$(sha "$WORK/kdest/big.bin")" == "$(sha "$WORK/big.bin")" ]] && ok "re-run output is byte-identical" || fail "re-run bytes differ"
[[ "$(ls -A "$WORK/kdest")" == "big.bin" ]] && ok "the partial file was replaced" || fail "leftovers after re-run: $(ls -A "$WORK/kdest")"

# kill -9 between Put Block and Put Block List
head -c 3000000 /dev/urandom >"$WORK/v1.bin"
head -c 2500000 /dev/urandom >"$WORK/v2.bin"
dp cp --chunk-size 256KB "$WORK/v1.bin" "$base/up.bin"; expect_rc 0 "upload v1 in blocks"
curl -sf -X POST "$PROXY/__proxy/clear" >/dev/null
rules '[{"match": {"method": "PUT", "path_regex": "comp=blocklist"}, "action": {"delay_ms": 20000}}]'
AZURE_STORAGE_CONNECTION_STRING="$PROXY_CS" "$DATAPORT_CLI" cp --chunk-size 256KB --if-exists overwrite "$WORK/v2.bin" "$pbase/up.bin" >/dev/null 2>&1 &
cp_pid=$!
if wait_for '"comp=blocklist" in r["path"]'; then ok "the upload reached Put Block List"; else fail "no Put Block List seen"; fi
[[ "$(proxy_count '"comp=block&" in r["path"] or r["path"].endswith("comp=block")')" -ge 2 ]] && ok "blocks were staged first" || fail "no Put Block before the list"
kill -9 $cp_pid 2>/dev/null || true; wait $cp_pid 2>/dev/null || true
rules '[]'
dp cat "$base/up.bin"; expect_rc 0 "read the blob after the killed upload"
[[ "$(sha256sum <"$WORK/out" | cut -d' ' -f1)" == "$(sha "$WORK/v1.bin")" ]] && ok "the old blob is intact" || fail "the blob changed after a killed upload"
dp cp --chunk-size 256KB --if-exists overwrite "$WORK/v2.bin" "$base/up.bin"; expect_rc 0 "the upload re-run succeeds"
dp cat "$base/up.bin"
[[ "$(sha256sum <"$WORK/out" | cut -d' ' -f1)" == "$(sha "$WORK/v2.bin")" ]] && ok "the blob is v2 now" || fail "re-run upload content"

# ---- bounded memory: 64 MiB with 4 threads and 1 MiB chunks stays under 100 MiB RSS --------------------
head -c $((64 << 20)) /dev/urandom >"$WORK/m64.bin"
dp cp --chunk-size 1MB "$WORK/m64.bin" "$base/m64.bin"; expect_rc 0 "upload 64 MiB"
# The bound is for the product build. An ASan build adds shadow memory and a quarantine of freed
# blocks to every process, so there the same copy gets a bound that still catches unbounded growth.
limit_mib=100
if asan_built "$DATAPORT_CLI"; then limit_mib=400; fi
rss() {  # rss ARGS...: runs dataport, prints its peak RSS in KiB (and fails on a non-zero exit)
  python3 - "$DATAPORT_CLI" "$@" <<'PY'
import resource, subprocess, sys
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
if rc != 0: sys.exit(f"exit {rc}")
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
}
kib="$(rss cp --threads 4 --chunk-size 1MB "$base/m64.bin" "$WORK/m64.down")" && ok "64 MiB download ran (peak RSS ${kib} KiB)" || fail "64 MiB download failed: $kib"
[[ "${kib:-999999}" -lt $((limit_mib * 1024)) ]] && ok "download peak RSS < $limit_mib MiB" || fail "download peak RSS ${kib} KiB"
[[ "$(sha "$WORK/m64.down")" == "$(sha "$WORK/m64.bin")" ]] && ok "64 MiB download byte-identical" || fail "64 MiB bytes differ"
kib="$(rss cp --threads 4 --chunk-size 1MB --if-exists overwrite "$WORK/m64.bin" "$base/m64.bin")" && ok "64 MiB upload ran (peak RSS ${kib} KiB)" || fail "64 MiB upload failed: $kib"
[[ "${kib:-999999}" -lt $((limit_mib * 1024)) ]] && ok "upload peak RSS < $limit_mib MiB" || fail "upload peak RSS ${kib} KiB"
no_secret
finish
