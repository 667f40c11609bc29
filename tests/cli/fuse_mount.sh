#!/usr/bin/env bash
# `dataport mount` against Azurite with real FUSE mounts (runs as root in CI; /dev/fuse).
# ro: find/stat/cat/cmp by SHA-256, cp -r out, a Python reader (os.scandir, seeks, random reads),
# remote overwrite while open (old bytes or ESTALE, never a mix; a new open after the TTL sees the
# new data), another user gets EACCES without --allow-other, unmount while a file is being read,
# SIGTERM, clear errors for a missing container and a missing or non-empty mountpoint; a web
# folder (nginx) whose files are opened by name before any listing.
# rw: create/write/append/random write/truncate/mkdir/rename/unlink/rmdir, read back at once
# through the mount and through REST. Every mount is lazily unmounted on exit, pass or fail.
source "$(dirname "$0")/lib.sh"
[[ -e /dev/fuse ]] || { echo "FAIL: /dev/fuse missing"; exit 1; }
MOUNTS=()
cleanup() {
  for m in "${MOUNTS[@]}"; do fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  [[ -n "${READER_PID:-}" ]] && kill "$READER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
c="fuse$RANDOM$RANDOM"
base="$AZ_URL/devstoreaccount1/$c"
sha() { sha256sum <"$1" | cut -d' ' -f1; }
mounted() { grep -qF " $1 fuse" /proc/mounts; }
newmp() { local m="$WORK/mnt$1"; mkdir -p "$m"; MOUNTS+=("$m"); echo "$m"; }
export DATAPORT_CACHE_DIR="$WORK/cache"

# ---- seed the container through the library (dataport cp) ----------------------------------------
mkdir -p "$WORK/src/sub/deeper" "$WORK/src/ü dir"
head -c 5000000 /dev/urandom >"$WORK/src/big.bin"
head -c 300000 /dev/urandom >"$WORK/src/sub/a.bin"
: >"$WORK/src/empty.bin"
head -c 12345 /dev/urandom >"$WORK/src/sub/deeper/b.bin"
head -c 777 /dev/urandom >"$WORK/src/ü dir/c d.txt"
head -c 3000000 /dev/urandom >"$WORK/src/over.bin"
dp cp -R --create-container "$WORK/src" "$base/data"; expect_rc 0 "seed the container"
tree_sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }

# ---- clear errors before mounting ----------------------------------------------------------------
mp="$(newmp err)"
dp mount "$AZ_URL/devstoreaccount1/nosuch$RANDOM" "$mp"; [[ $rc != 0 ]] && ok "missing container fails (exit $rc)" || fail "missing container mounted"
expect_err_re "container.*(not exist|not found)|ContainerNotFound" "missing container is named in the error"
mounted "$mp" && fail "a failed mount left a mount behind" || ok "nothing mounted after the failure"
dp mount "$base/data" "$WORK/does-not-exist"; [[ $rc != 0 ]] && ok "missing mountpoint fails" || fail "missing mountpoint"
expect_err "does not exist" "missing mountpoint is explained"
mkdir -p "$WORK/full" && touch "$WORK/full/x"
dp mount "$base/data" "$WORK/full"; [[ $rc != 0 ]] && ok "non-empty mountpoint fails" || fail "non-empty mountpoint"
expect_err "not empty" "non-empty mountpoint is explained"

# ---- ro_mount --------------------------------------------------------------------------------------
ro="$(newmp ro)"
DATASET_MOUNT_ATTRIBUTE_CACHE_TTL=1000 dp mount "$base/data" "$ro"; expect_rc 0 "ro mount in the background"
expect_out "Mount started." "the mount reports it started"
mounted "$ro" && ok "the kernel mount exists when the command returns" || fail "not mounted"
[[ "$(cd "$ro" && find . -type f | sort)" == "$(cd "$WORK/src" && find . -type f | sort)" ]] && ok "find lists every file" || fail "find differs"
[[ "$(tree_sums "$ro")" == "$(tree_sums "$WORK/src")" ]] && ok "every file reads back byte-identical (sha256)" || fail "content differs"
cmp "$ro/big.bin" "$WORK/src/big.bin" && ok "cmp of the big file" || fail "cmp big file"
[[ "$(stat -c '%s %a' "$ro/sub/a.bin")" == "300000 444" ]] && ok "stat: size and mode 0444" || fail "stat file: $(stat -c '%s %a' "$ro/sub/a.bin")"
[[ "$(stat -c '%a' "$ro/sub")" == "555" ]] && ok "folders are 0555" || fail "folder mode"
cp -r "$ro/." "$WORK/copied" && [[ "$(tree_sums "$WORK/copied")" == "$(tree_sums "$WORK/src")" ]] && ok "cp -r out" || fail "cp -r out"
if touch "$ro/new" 2>/dev/null; then fail "wrote into a read-only mount"; else ok "writes are refused on ro"; fi
if python3 - "$ro" "$WORK/src" <<'PY'
import os, random, sys
mnt, src = sys.argv[1], sys.argv[2]
names = sorted(e.name for e in os.scandir(mnt))
assert names == sorted(os.listdir(src)), (names, os.listdir(src))
for e in os.scandir(mnt):
    assert e.is_dir() == os.path.isdir(os.path.join(src, e.name))
local = open(os.path.join(src, "big.bin"), "rb").read()
rng = random.Random(7)
with open(os.path.join(mnt, "big.bin"), "rb", buffering=0) as f:
    for _ in range(200):
        off = rng.randrange(0, len(local)); n = rng.randrange(1, 300000)
        f.seek(off); got = f.read(n)
        assert got == local[off:off + n], ("mismatch at", off, n)
    f.seek(-10, os.SEEK_END); assert f.read() == local[-10:]
    assert f.read(5) == b""
PY
then ok "python scandir, seek and random reads"; else fail "python reader"; fi

# another user: no allow_other → EACCES (the work folder is opened up first, so only the mount
# itself can refuse)
chmod 755 "$WORK"
if command -v setpriv >/dev/null; then
  set +e; out="$(setpriv --reuid=nobody --regid=nogroup --clear-groups ls "$ro" 2>&1)"; r=$?; set -e
  [[ $r != 0 && "$out" == *"ermission denied"* ]] && ok "another user gets EACCES without --allow-other" || fail "other user: $r $out"
fi

# remote overwrite while open: old bytes or ESTALE, never a mix; a new open after the TTL is new
head -c 3000000 /dev/urandom >"$WORK/over2.bin"
python3 - "$ro/over.bin" "$WORK/src/over.bin" "$WORK/over2.bin" "$DATAPORT_CLI" "$base/data/over.bin" <<'PY' >"$WORK/out" 2>"$WORK/err"
import errno, subprocess, sys, time
path, old_path, new_path, cli, uri = sys.argv[1:]
old = open(old_path, "rb").read(); new = open(new_path, "rb").read()
with open(path, "rb", buffering=0) as f:
    first = f.read(65536)
    assert first == old[:65536]
    subprocess.run([cli, "cp", "--if-exists", "overwrite", new_path, uri], check=True, capture_output=True)
    try:
        f.seek(2500000); rest = f.read(400000)
        assert rest == old[2500000:2900000], "mixed versions"
        print("old bytes")
    except OSError as e:
        assert e.errno == errno.ESTALE, e
        print("ESTALE")
time.sleep(2.5)
with open(path, "rb") as f:
    assert f.read() == new, "new open after the TTL did not see the new data"
print("new data after TTL")
PY
r=$?; [[ $r == 0 ]] && ok "overwrite while open: $(head -1 "$WORK/out" 2>/dev/null), then $(tail -1 "$WORK/out")" || { rc=$r; fail "overwrite while open"; }

# unmount while a file is being read does not hang
python3 -c "import sys,time; f=open(sys.argv[1],'rb'); f.read(1000); print('open', flush=True); time.sleep(60)" "$ro/big.bin" >"$WORK/reader.out" &
READER_PID=$!
for _ in $(seq 50); do grep -q open "$WORK/reader.out" 2>/dev/null && break; sleep 0.1; done
start=$(date +%s)
dp unmount "$ro"; expect_rc 0 "unmount while a file is open"
(( $(date +%s) - start < 10 )) && ok "unmount returned promptly" || fail "unmount was slow"
mounted "$ro" && fail "still mounted after unmount" || ok "mount gone"
kill "$READER_PID" 2>/dev/null || true; wait "$READER_PID" 2>/dev/null || true; READER_PID=""

# foreground mode and SIGTERM
fg="$(newmp fg)"
timeout 60 "$DATAPORT_CLI" mount --foreground "$base/data" "$fg" >"$WORK/fg.out" 2>"$WORK/fg.err" &
fgpid=$!
for _ in $(seq 100); do grep -q "Mount started." "$WORK/fg.out" 2>/dev/null && break; sleep 0.1; done
cmp "$fg/sub/a.bin" "$WORK/src/sub/a.bin" && ok "foreground mount serves reads" || fail "foreground read"
kill -TERM "$fgpid"; set +e; wait "$fgpid"; r=$?; set -e
[[ $r == 0 ]] && ok "SIGTERM unmounts cleanly (exit 0)" || { rc=$r; fail "SIGTERM exit"; }
mounted "$fg" && fail "still mounted after SIGTERM" || ok "mount gone after SIGTERM"

# ---- a web folder (nginx autoindex, read only): files opened by name before any listing ---------
# The mount checks whether a file "x" is also a folder "x/" by listing "x/"; nginx answers 404
# there, which once made every file opened by name (no ls first) vanish with ENOENT.
wdir="mount-web-$RANDOM$RANDOM"
mkdir -p "$NGINX_ROOT/$wdir/sub"
head -c 3000000 /dev/urandom >"$NGINX_ROOT/$wdir/sub/w.bin"
head -c 5000 /dev/urandom >"$NGINX_ROOT/$wdir/sub/v.bin"
web=$(newmp web)
dp mount "$NGINX_URL/files/$wdir" "$web"; expect_rc 0 "mount of a web folder"
cmp "$web/sub/w.bin" "$NGINX_ROOT/$wdir/sub/w.bin" && ok "web mount: a file opened by name first reads its exact bytes" || fail "web mount: open by name"
cmp "$web/sub/v.bin" "$NGINX_ROOT/$wdir/sub/v.bin" && ok "web mount: a second file by name" || fail "web mount: second file"
[[ ! -e "$web/sub/nothing.bin" ]] && ok "web mount: an absent name is ENOENT" || fail "web mount: absent name exists"
# The second name looked up in a folder lists it once; the names after it come from that listing
# (a web store's paths once carried a leading '/' that its listing lacked: nothing matched, and
# every file opened by name cost a HEAD and a folder check besides its GET).
access="$DATAPORT_TEST_STATE/logs/nginx-access.log"
n=$(grep -cE "\"GET /files/$wdir/sub/v\.bin/ " "$access" || true)
[[ $n == 0 ]] && ok "web mount: the file looked up after the folder listing cost no folder check" || fail "web mount: $n folder checks for v.bin"
# The listing has no ETags: the open asks for v.bin's (one HEAD), to pin its version.
n=$(grep -cE "\"HEAD /files/$wdir/sub/v\.bin " "$access" || true)
[[ $n == 1 ]] && ok "web mount: one stat for v.bin (its open asks for the ETag)" || fail "web mount: $n stats of v.bin"
cat "$web/sub/v.bin" >/dev/null
n=$(grep -cE "\"HEAD /files/$wdir/sub/v\.bin " "$access" || true)
[[ $n == 1 ]] && ok "web mount: a second open of v.bin uses the ETag it learned" || fail "web mount: $n stats of v.bin after a second open"
n=$(grep -cE "\"GET /files/$wdir/sub/ " "$access" || true)
[[ $n == 1 ]] && ok "web mount: the folder was listed once" || fail "web mount: the folder was listed $n times"
[[ "$(ls "$web/sub" | tr '\n' ' ')" == "v.bin w.bin " ]] && ok "web mount: the folder lists its files" || fail "web mount: listing $(ls "$web/sub")"
# mtimes from Last-Modified (a stat) or the index's date column (minutes), never 1970
for f in w.bin v.bin; do
  d=$(( $(stat -c %Y "$web/sub/$f") - $(stat -c %Y "$NGINX_ROOT/$wdir/sub/$f") ))
  (( d > -60 && d < 60 )) && ok "web mount: $f has the server's mtime" || fail "web mount: $f mtime off by $d s"
done
dp unmount "$web"; expect_rc 0 "unmount the web folder"
rm -rf "${NGINX_ROOT:?}/$wdir"

# ---- rw_mount --------------------------------------------------------------------------------------
rw="$(newmp rw)"
dp mount --rw "$base/rw" "$rw"; expect_rc 0 "rw mount of a new folder"
cp "$WORK/src/big.bin" "$rw/big.bin" && cmp "$rw/big.bin" "$WORK/src/big.bin" && ok "write then read back through the mount" || fail "rw write/read"
dp cat "$base/rw/big.bin"; [[ "$(sha "$WORK/out")" == "$(sha "$WORK/src/big.bin")" ]] && ok "written file reads back through REST" || fail "REST read back"
printf 'hello' >"$rw/small.txt" && printf ' world' >>"$rw/small.txt"
dp cat "$base/rw/small.txt"; [[ "$(cat "$WORK/out")" == "hello world" ]] && ok "append uploads the whole file" || fail "append: $(cat "$WORK/out")"
python3 - "$rw/big.bin" <<'PY' && ok "random write with fsync" || fail "random write"
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.pwrite(fd, b"XYZ", 1000000); os.fsync(fd); os.close(fd)
PY
cp "$WORK/src/big.bin" "$WORK/expect.bin"; printf 'XYZ' | dd of="$WORK/expect.bin" bs=1 seek=1000000 conv=notrunc status=none
dp cat "$base/rw/big.bin"; [[ "$(sha "$WORK/out")" == "$(sha "$WORK/expect.bin")" ]] && ok "random write reached the blob" || fail "random write content"
mkdir "$rw/d" && printf 'x' >"$rw/d/x.txt" && ok "mkdir and a file in it" || fail "mkdir"
mv "$rw/d/x.txt" "$rw/d/y.txt" && [[ "$(cat "$rw/d/y.txt")" == x && ! -e "$rw/d/x.txt" ]] && ok "rename a file" || fail "rename"
truncate -s 2 "$rw/small.txt"; dp cat "$base/rw/small.txt"; [[ "$(cat "$WORK/out")" == "he" ]] && ok "truncate" || fail "truncate"
if rmdir "$rw/d" 2>/dev/null; then fail "rmdir of a non-empty folder"; else ok "rmdir of a non-empty folder fails"; fi
rm "$rw/d/y.txt" && rmdir "$rw/d" && [[ ! -e "$rw/d" ]] && ok "unlink and rmdir" || fail "unlink/rmdir"
dp ls -R "$base/rw"; [[ "$(sort "$WORK/out" | tr '\n' ' ')" == "big.bin small.txt " ]] && ok "REST listing matches" || fail "REST listing"
dp unmount "$rw"; expect_rc 0 "unmount rw"
finish
