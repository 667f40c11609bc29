#!/usr/bin/env bash
# The FUSE daemon under valgrind memcheck (issue 8, "Sanitizers and leaks"): `dataport mount
# --rw --foreground` runs under `valgrind --tool=memcheck --leak-check=full` while a short
# workload lists the mount, reads every file (SHA-256 compared), writes one file (read back
# through REST), then SIGTERM unmounts it. Passes only with "ERROR SUMMARY: 0 errors" and no
# definitely lost bytes. Label `valgrind`: the ASan pass skips it (valgrind cannot run ASan
# binaries).
source "$(dirname "$0")/lib.sh"
[[ -e /dev/fuse ]] || { echo "FAIL: /dev/fuse missing"; exit 1; }
command -v valgrind >/dev/null || { echo "FAIL: valgrind missing (apt-get install valgrind)"; exit 1; }
if asan_built "$DATAPORT_CLI"; then
  echo "FAIL: $DATAPORT_CLI is built with AddressSanitizer, which valgrind cannot run: use a normal build"
  exit 1
fi
MP="$WORK/mnt"
VG_PID=""
cleanup() {
  fusermount3 -u -z "$MP" 2>/dev/null || umount -l "$MP" 2>/dev/null || true
  [[ -n "$VG_PID" ]] && kill -KILL "$VG_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
sha() { sha256sum <"$1" | cut -d' ' -f1; }
tree_sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
c="vg$RANDOM$RANDOM"
base="$AZ_URL/devstoreaccount1/$c"
mkdir -p "$WORK/src/sub" "$MP"
head -c 3000000 /dev/urandom >"$WORK/src/big.bin"
head -c 200000 /dev/urandom >"$WORK/src/sub/a.bin"
printf 'hello\n' >"$WORK/src/sub/b.txt"
head -c 150000 /dev/urandom >"$WORK/new.bin"
dp cp -R --create-container "$WORK/src" "$base/data"; expect_rc 0 "seed the container"

export DATAPORT_CACHE_DIR="$WORK/cache"
start=$(date +%s)
valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
  --num-callers=30 --error-exitcode=99 --log-file="$WORK/valgrind.log" \
  "$DATAPORT_CLI" mount --rw --foreground --log-file "$WORK/mount.log" "$base/data" "$MP" \
  >"$WORK/mount.out" 2>"$WORK/mount.err" &
VG_PID=$!
for _ in $(seq 1200); do  # up to 120 s: memcheck makes start-up 20-50 times slower
  grep -q "Mount started." "$WORK/mount.out" 2>/dev/null && break
  kill -0 "$VG_PID" 2>/dev/null || break
  sleep 0.1
done
grep -q "Mount started." "$WORK/mount.out" && ok "mount started under valgrind ($(( $(date +%s) - start )) s)" || {
  rc=$?; cp "$WORK/mount.err" "$WORK/err"; fail "mount did not start under valgrind"; tail -30 "$WORK/valgrind.log"; finish; exit 1; }

[[ "$(cd "$MP" && find . -type f | sort)" == "$(cd "$WORK/src" && find . -type f | sort)" ]] && ok "list the mount" || fail "listing differs"
[[ "$(tree_sums "$MP")" == "$(tree_sums "$WORK/src")" ]] && ok "every file reads back identical (sha256)" || fail "content differs"
cp "$WORK/new.bin" "$MP/sub/new.bin" && ok "write one file" || fail "write"
[[ "$(sha "$MP/sub/new.bin")" == "$(sha "$WORK/new.bin")" ]] && ok "the written file reads back through the mount" || fail "written file differs"

kill -TERM "$VG_PID"
set +e; wait "$VG_PID"; r=$?; set -e
VG_PID=""
[[ $r == 0 ]] && ok "daemon exits 0 under valgrind after SIGTERM" || { rc=$r; cp "$WORK/mount.err" "$WORK/err"; fail "daemon exit $r (99 = valgrind found errors)"; }
grep -qF " $MP fuse" /proc/mounts && fail "still mounted" || ok "unmounted"
dp cat "$base/data/sub/new.bin"; expect_rc 0 "the written file is in the container"
[[ "$(sha "$WORK/out")" == "$(sha "$WORK/new.bin")" ]] && ok "written file uploaded intact (sha256)" || fail "uploaded bytes differ"

summary="$(grep -E "ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable|no leaks are possible" "$WORK/valgrind.log" | sed 's/^==[0-9]*== *//')"
echo "$summary" | sed 's/^/  valgrind: /'
grep -qE "ERROR SUMMARY: 0 errors" "$WORK/valgrind.log" && ok "memcheck: 0 errors" || { fail "memcheck errors"; grep -A30 -m3 -E "^==[0-9]+== (Invalid|Conditional|Syscall|Mismatched|[0-9,]+ bytes in)" "$WORK/valgrind.log" | head -120; }
if grep -q "no leaks are possible" "$WORK/valgrind.log" || grep -qE "definitely lost: 0 bytes in 0 blocks" "$WORK/valgrind.log"; then
  ok "memcheck: definitely lost: 0 bytes"
else
  fail "memcheck: definitely lost bytes"
fi
(( $(date +%s) - start < 150 )) && ok "run under valgrind took $(( $(date +%s) - start )) s" || fail "valgrind run too slow ($(( $(date +%s) - start )) s)"
finish
