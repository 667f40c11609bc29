#!/usr/bin/env bash
# Mount scenarios of docs/reliability.md with real FUSE mounts against Azurite, some through the
# fault proxy:
#  - a blob name longer than 255 bytes is hidden from readdir (the others are listed);
#  - an rw mount whose upload fails (proxy: 500 to every PUT of the blob): fsync/close report EIO
#    and the blob keeps its old bytes, also after the unmount retried and reported it;
#  - SIGTERM of a foreground rw mount holding a file whose upload failed at close: when the
#    faults stop the pending upload finishes at SIGTERM (the blob is whole); with every PUT still
#    failing it is reported and no blob appears;
#  - SIGTERM of a foreground rw mount while a program still holds a written file open: the mount
#    aborts the FUSE connection after DATASET_UNMOUNT_TIMEOUT_SECONDS, uploads what was written
#    (sha256 checked) and exits; the holder's next write fails with ENOTCONN.
source "$(dirname "$0")/lib.sh"
src_dir="${DATAPORT_SOURCE_DIR:?run through ctest}"
PROXY_PID=""
MOUNTS=()
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for m in "${MOUNTS[@]}"; do
    grep -qF " $m fuse" /proc/mounts && { fusermount3 -uz "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; }
  done
  [[ -n "$PROXY_PID" ]] && kill "$PROXY_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
export AZUREML_DATASET_HTTP_RETRY_COUNT=2

python3 "$src_dir/tests/fixtures/fault_proxy.py" --upstream "$AZ_URL" --port-file "$WORK/proxy.port" \
  >"$WORK/proxy.log" 2>&1 &
PROXY_PID=$!
for _ in $(seq 300); do [[ -s "$WORK/proxy.port" ]] && break; sleep 0.05; done
[[ -s "$WORK/proxy.port" ]] || { echo "FAIL: the fault proxy did not start: $(cat "$WORK/proxy.log")"; exit 1; }
PROXY="http://127.0.0.1:$(cat "$WORK/proxy.port")"
proxy_post() { python3 -c 'import sys, urllib.request as u; u.urlopen(u.Request(sys.argv[1], data=sys.argv[2].encode(), method="POST"), timeout=10).read()' "$PROXY/__proxy/$1" "$2"; }
via_proxy="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$KEY;BlobEndpoint=$PROXY/devstoreaccount1;"
sha() { sha256sum <"$1" | cut -d' ' -f1; }
mounted() { grep -qF " $1 fuse" /proc/mounts; }
newmp() { local m="$WORK/mnt$1"; mkdir -p "$m"; MOUNTS+=("$m"); echo "$m"; }
wait_started() { for _ in $(seq 300); do grep -q "Mount started." "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

c="mfault$RANDOM$RANDOM"
base="$AZ_URL/devstoreaccount1/$c"
printf 'fine\n' >"$WORK/ok.txt"
dp put --create-container "$WORK/ok.txt" "$base/h/ok.txt"; expect_rc 0 "seed"

# ---- a name longer than a POSIX file name is hidden from readdir -------------------------------
long="$(printf 'L%.0s' $(seq 300)).txt"
dp put "$WORK/ok.txt" "$base/h/$long"; expect_rc 0 "a blob with a 304-byte name"
ro="$(newmp ro)"
dp mount "$base/h" "$ro"; expect_rc 0 "ro mount"
[[ "$(ls -A "$ro")" == "ok.txt" ]] && ok "readdir lists ok.txt and hides the 304-byte name" || fail "readdir: $(ls -A "$ro" | head -c 200)"
dp unmount "$ro"; expect_rc 0 "unmount ro"

# ---- an upload that fails at fsync/close leaves the blob unchanged -----------------------------
head -c 300000 /dev/urandom >"$WORK/old.bin"
head -c 400000 /dev/urandom >"$WORK/new.bin"
dp put "$WORK/old.bin" "$base/rw/keep.bin"; expect_rc 0 "seed keep.bin"
proxy_post rules '[{"match": {"method": "PUT", "path_regex": "/rw/keep\\.bin"}, "action": {"status": 500, "body": "injected"}}]'
rw="$(newmp rw)"
AZURE_STORAGE_CONNECTION_STRING="$via_proxy" DATASET_UNMOUNT_TIMEOUT_SECONDS=20 \
  dp mount --rw "$PROXY/devstoreaccount1/$c/rw" "$rw"; expect_rc 0 "rw mount through the proxy"
set +e
python3 - "$rw/keep.bin" "$WORK/new.bin" >"$WORK/py.out" 2>&1 <<'PY'
import errno, os, sys
data = open(sys.argv[2], "rb").read()
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
os.write(fd, data)
failed = []
for name, call in (("fsync", lambda: os.fsync(fd)), ("close", lambda: os.close(fd))):
    try:
        call()
    except OSError as e:
        print(f"{name}: {errno.errorcode.get(e.errno, e.errno)}")
        if e.errno != errno.EIO:
            sys.exit(3)
        failed.append(name)
sys.exit(0 if "fsync" in failed else 2)
PY
r=$?; set -e
[[ $r == 0 ]] && ok "fsync reports EIO when the upload fails ($(tr '\n' ' ' <"$WORK/py.out"))" || { rc=$r; fail "fsync/close: $(cat "$WORK/py.out")"; }
dp cat "$base/rw/keep.bin"
[[ "$(sha "$WORK/out")" == "$(sha "$WORK/old.bin")" ]] && ok "the blob keeps its old bytes" || fail "the blob changed after a failed upload"
dp unmount "$rw"; [[ $rc != 137 ]] && ok "unmount with a file whose upload fails returns (exit $rc)" || fail "unmount killed"
mounted "$rw" && fail "still mounted" || ok "rw mount gone"
dp cat "$base/rw/keep.bin"
[[ "$(sha "$WORK/out")" == "$(sha "$WORK/old.bin")" ]] && ok "still the old bytes after the unmount" || fail "the blob changed at unmount"
proxy_post clear '{}'

# ---- SIGTERM with a dirty file -----------------------------------------------------------------
# A file whose upload failed at close stays dirty in the mount; SIGTERM must upload it within
# DATASET_UNMOUNT_TIMEOUT_SECONDS or report it.
head -c 2500000 /dev/urandom >"$WORK/dirty.src"
# sigterm_with_dirty_file FOLDER HEAL: foreground rw mount of FOLDER through the proxy, which fails
# every PUT under it; a program writes dirty.bin and closes it (the upload fails); with HEAL=yes
# the faults stop before SIGTERM. The mount's exit code is left in $rc.
sigterm_with_dirty_file() {
  local folder="$1" heal="$2" mp
  mp="$(newmp "$folder")"
  proxy_post rules "[{\"match\": {\"method\": \"PUT\", \"path_regex\": \"/$folder/\"}, \"action\": {\"status\": 500, \"body\": \"injected\"}}]"
  AZURE_STORAGE_CONNECTION_STRING="$via_proxy" DATASET_UNMOUNT_TIMEOUT_SECONDS=20 timeout -k 10 120 \
    "$DATAPORT_CLI" mount --foreground --rw "$PROXY/devstoreaccount1/$c/$folder" "$mp" \
    >"$WORK/fg.out" 2>"$WORK/fg.err" &
  local fgpid=$!
  PIDS+=("$fgpid")
  wait_started "$WORK/fg.out" && ok "foreground rw mount of $folder started" || fail "mount of $folder did not start: $(cat "$WORK/fg.err")"
  set +e
  timeout 60 python3 - "$mp/dirty.bin" "$WORK/dirty.src" >"$WORK/py.out" 2>&1 <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
view = memoryview(open(sys.argv[2], "rb").read())
while view:
    view = view[os.write(fd, view[:1 << 20]):]
try:
    os.close(fd)
    print("close: ok")
except OSError as e:
    print(f"close: errno {e.errno}")
PY
  local r=$?; set -e
  [[ $r == 0 ]] && ok "dirty.bin written in $folder ($(cat "$WORK/py.out"))" || fail "writer in $folder: $(cat "$WORK/py.out")"
  [[ "$heal" == yes ]] && proxy_post clear '{}'
  kill -TERM "$fgpid"
  set +e; wait "$fgpid"; rc=$?; set -e
  mounted "$mp" && fail "$folder still mounted after SIGTERM" || ok "$folder unmounted after SIGTERM"
}

sigterm_with_dirty_file dirty yes
[[ $rc != 124 && $rc != 137 ]] && ok "SIGTERM ends the mount (exit $rc), no hang" || fail "the mount did not stop on SIGTERM"
dp cat "$base/dirty/dirty.bin"; expect_rc 0 "the pending upload finished at SIGTERM"
[[ "$(sha "$WORK/out")" == "$(sha "$WORK/dirty.src")" ]] && ok "the blob is whole (sha256)" || fail "the blob differs from what was written"

sigterm_with_dirty_file failing no
[[ $rc != 124 && $rc != 137 ]] && ok "SIGTERM with a failing upload ends the mount (exit $rc)" || fail "the mount did not stop"
grep -qF "dirty.bin" "$WORK/fg.err" && ok "the failed pending upload is reported, naming the file" || fail "not reported: $(head -c 1500 "$WORK/fg.err")"
dp cat "$base/failing/dirty.bin"; expect_rc 1 "no blob appears when its upload failed"

# ---- SIGTERM while a program holds a written file open --------------------------------------------
# The lazy unmount cannot complete while the file is open; after DATASET_UNMOUNT_TIMEOUT_SECONDS the
# mount aborts its FUSE connection, uploads the staged bytes and exits.
mp="$(newmp held)"
DATASET_UNMOUNT_TIMEOUT_SECONDS=3 timeout -k 10 120 \
  "$DATAPORT_CLI" mount --foreground --rw "$base/held" "$mp" >"$WORK/held.out" 2>"$WORK/held.err" &
fgpid=$!
PIDS+=("$fgpid")
wait_started "$WORK/held.out" && ok "foreground rw mount (held) started" || fail "held mount did not start: $(cat "$WORK/held.err")"
rm -f "$WORK/held.ready" "$WORK/held.go"
timeout 120 python3 - "$mp/held.bin" "$WORK/dirty.src" "$WORK/held.ready" "$WORK/held.go" \
  >"$WORK/holder.out" 2>&1 <<'PY' &
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
view = memoryview(open(sys.argv[2], "rb").read())
while view:
    view = view[os.write(fd, view[:1 << 20]):]
open(sys.argv[3], "w").close()
while not os.path.exists(sys.argv[4]):
    time.sleep(0.05)
try:
    os.write(fd, b"more")
    print("late write: ok")
except OSError as e:
    print(f"late write: errno {e.errno}")
try:
    os.close(fd)
except OSError:
    pass
PY
holder=$!
PIDS+=("$holder")
for _ in $(seq 600); do [[ -e "$WORK/held.ready" ]] && break; sleep 0.05; done
[[ -e "$WORK/held.ready" ]] && ok "a program wrote held.bin and keeps it open" || fail "the holder did not write: $(cat "$WORK/holder.out")"
start=$SECONDS
kill -TERM "$fgpid"
set +e; wait "$fgpid"; rc=$?; set -e
took=$((SECONDS - start))
[[ $rc != 124 && $rc != 137 && $took -le 30 ]] && ok "SIGTERM with a file held open ends the mount in ${took}s (exit $rc)" || fail "the mount with a held file did not stop in time (exit $rc, ${took}s): $(tail -c 1500 "$WORK/held.err")"
grep -q "aborting the FUSE connection" "$WORK/held.err" && ok "the abort after DATASET_UNMOUNT_TIMEOUT_SECONDS is logged" || fail "no abort logged: $(tail -c 1500 "$WORK/held.err")"
touch "$WORK/held.go"
set +e; wait "$holder"; set -e
grep -q "late write: errno 107" "$WORK/holder.out" && ok "the holder's next write gets ENOTCONN" || fail "holder: $(cat "$WORK/holder.out")"
dp cat "$base/held/held.bin"; expect_rc 0 "the held file was uploaded at SIGTERM"
[[ "$(sha "$WORK/out")" == "$(sha "$WORK/dirty.src")" ]] && ok "the uploaded blob is what was written (sha256)" || fail "the held file's blob differs from what was written"
finish
