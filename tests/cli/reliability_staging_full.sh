#!/usr/bin/env bash
# rw mount whose staging disk fills up (a 4 MB tmpfs as --cache-dir): the write fails with ENOSPC,
# close reports EIO, nothing is uploaded (a new blob stays absent, an existing one keeps its bytes,
# checked by SHA-256), truncating to 0 clears the error, and at unmount the incomplete file is
# reported as pending and kept in the staging folder. Every mount and the tmpfs are removed on
# exit, pass or fail.
source "$(dirname "$0")/lib.sh"
[[ -e /dev/fuse ]] || { echo "FAIL: /dev/fuse missing"; exit 1; }
MP="$WORK/mnt"
SMALL="$WORK/small-disk"
MOUNT_PID=""
cleanup() {
  fusermount3 -u -z "$MP" 2>/dev/null || umount -l "$MP" 2>/dev/null || true
  if [[ -n "$MOUNT_PID" ]]; then
    # The serving process ends once the kernel lets go (bounded: its unmount timeout is 5 s).
    for _ in $(seq 300); do kill -0 "$MOUNT_PID" 2>/dev/null || break; sleep 0.1; done
    kill -TERM "$MOUNT_PID" 2>/dev/null || true
    wait "$MOUNT_PID" 2>/dev/null || true
  fi
  umount -l "$SMALL" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
c="stagefull$RANDOM$RANDOM"
base="$AZ_URL/devstoreaccount1/$c"
sha() { sha256sum <"$1" | cut -d' ' -f1; }
mounted() { grep -qF " $1 fuse" /proc/mounts; }

mkdir -p "$MP" "$SMALL" "$WORK/src"
mount -t tmpfs -o size=4m,mode=700 tmpfs "$SMALL" || { echo "FAIL: cannot mount a tmpfs (needs root)"; exit 1; }
head -c 1000000 /dev/urandom >"$WORK/src/keep.bin"
dp cp --create-container "$WORK/src/keep.bin" "$base/data/keep.bin"; expect_rc 0 "seed keep.bin"
keep_sha="$(sha "$WORK/src/keep.bin")"

# Foreground mount in the background of this script, so its exit code and log can be checked.
DATASET_UNMOUNT_TIMEOUT_SECONDS=5 timeout 200 "$DATAPORT_CLI" mount --foreground --rw \
  --cache-dir "$SMALL" --log-file "$WORK/mount.log" "$base/data" "$MP" >"$WORK/mount.out" 2>&1 &
MOUNT_PID=$!
for _ in $(seq 600); do grep -q "Mount started." "$WORK/mount.out" 2>/dev/null && break; kill -0 "$MOUNT_PID" 2>/dev/null || break; sleep 0.1; done
mounted "$MP" && ok "rw mount with the cache on a 4 MB tmpfs" || { fail "mount did not start: $(cat "$WORK/mount.out")"; exit 1; }

# write_big PATH: writes 8 MB in 256 KiB pieces; prints "<write errno name> <close errno name>".
write_big() {
  python3 - "$1" <<'PY'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
piece = os.urandom(256 * 1024)
werr = "none"
try:
    for _ in range(32):
        os.write(fd, piece)
except OSError as e:
    werr = errno.errorcode.get(e.errno, str(e.errno))
try:
    os.close(fd)
    cerr = "ok"
except OSError as e:
    cerr = errno.errorcode.get(e.errno, str(e.errno))
print(werr, cerr)
PY
}

# An existing blob overwritten with more than fits: EIO at close, the blob keeps its bytes.
out="$(write_big "$MP/keep.bin")"
[[ "$out" == "ENOSPC EIO" ]] && ok "overwrite: write gets ENOSPC, close gets EIO" || fail "overwrite: got '$out'"
dp cat "$base/data/keep.bin"; expect_rc 0 "keep.bin still readable through REST"
[[ "$(sha "$WORK/out")" == "$keep_sha" ]] && ok "keep.bin unchanged (sha256)" || fail "keep.bin changed"

# Truncating to 0 clears the error: a small rewrite uploads.
printf 'small and complete' >"$MP/keep.bin" && ok "rewrite after truncation closes cleanly" || fail "rewrite after truncation"
dp cat "$base/data/keep.bin"; [[ "$(cat "$WORK/out")" == "small and complete" ]] && ok "the rewrite reached the blob" || fail "rewrite content: $(head -c 100 "$WORK/out")"

# A new file that does not fit: EIO at close, no blob appears.
out="$(write_big "$MP/new.bin")"
[[ "$out" == "ENOSPC EIO" ]] && ok "new file: write gets ENOSPC, close gets EIO" || fail "new file: got '$out'"
dp cat "$base/data/new.bin"; [[ $rc != 0 ]] && ok "new.bin was not uploaded" || fail "new.bin exists remotely ($(wc -c <"$WORK/out") bytes)"
expect_err_re "not found|BlobNotFound|does not exist" "REST says new.bin does not exist"

# Unmount: the incomplete file is reported as pending and stays staged; the process exits 1.
dp unmount "$MP"; expect_rc 0 "unmount"
set +e; wait "$MOUNT_PID"; r=$?; set -e; MOUNT_PID=""
[[ $r == 1 ]] && ok "the mount process exits 1: uploads were left" || { rc=$r; fail "mount exit code $r"; }
grep -q "not uploaded: 'new.bin'" "$WORK/mount.log" && ok "new.bin is reported as pending" || fail "pending report: $(tail -5 "$WORK/mount.log")"
grep -q "not uploaded: 'keep.bin'" "$WORK/mount.log" && fail "keep.bin reported pending after its clean rewrite" || ok "keep.bin is not pending"
staged="$(grep -o "not uploaded: 'new.bin' (data kept in [^;)]*" "$WORK/mount.log" | sed 's/.*data kept in //')"
[[ -n "$staged" && -s "$staged" && "$staged" == "$SMALL"/* ]] && ok "the staged data is kept in the staging folder" || fail "staging file '$staged' missing"
dp cat "$base/data/new.bin"; [[ $rc != 0 ]] && ok "new.bin still absent after unmount" || fail "new.bin uploaded at unmount"
finish
