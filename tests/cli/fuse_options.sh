#!/usr/bin/env bash
# Mount options with real FUSE mounts against Azurite: allow_other (another user, `nobody`, gets
# EACCES without it and reads with it), a single-blob mount, --mode block / whole-file and
# --preset (bytes compared by SHA-256, bad values refused with a clear error), the thin
# dataport-mount binary, "Mount started." from the background mode and `dataport unmount`
# (also of a folder that is not mounted). Every mount is lazily unmounted on exit, pass or fail.
source "$(dirname "$0")/lib.sh"
[[ -e /dev/fuse ]] || { echo "FAIL: /dev/fuse missing"; exit 1; }
MOUNTS=()
cleanup() {
  for m in "${MOUNTS[@]}"; do fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
c="fuseopt$RANDOM$RANDOM"
base="$AZ_URL/devstoreaccount1/$c"
sha() { sha256sum <"$1" | cut -d' ' -f1; }
mounted() { grep -qF " $1 fuse" /proc/mounts; }
newmp() { local m="$WORK/mnt$1"; mkdir -p "$m"; MOUNTS+=("$m"); echo "$m"; }
export DATAPORT_CACHE_DIR="$WORK/cache"
MOUNT_BIN="$(dirname "$DATAPORT_CLI")/dataport-mount"
[[ -x "$MOUNT_BIN" ]] || { echo "FAIL: $MOUNT_BIN not built"; exit 1; }
# `nobody` must be able to reach the mountpoints: only the mount itself may refuse it.
chmod 755 "$WORK"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

mkdir -p "$WORK/src/sub"
head -c 2500000 /dev/urandom >"$WORK/src/one.bin"
head -c 40000 /dev/urandom >"$WORK/src/sub/two.bin"
dp cp -R --create-container "$WORK/src" "$base/data"; expect_rc 0 "seed the container"
one_sha="$(sha "$WORK/src/one.bin")"
two_sha="$(sha "$WORK/src/sub/two.bin")"

# ---- allow_other ---------------------------------------------------------------------------------
[[ "$(as_nobody stat -c %a "$WORK")" == 755 ]] && ok "nobody can reach the work folder" || fail "work folder not reachable"
plain="$(newmp plain)"
dp mount "$base/data" "$plain"; expect_rc 0 "mount without --allow-other"
expect_out "Mount started." "background mode reports Mount started."
set +e; out="$(as_nobody cat "$plain/one.bin" 2>&1 >/dev/null)"; r=$?; set -e
[[ $r != 0 && "$out" == *"ermission denied"* ]] && ok "nobody gets EACCES without --allow-other" || fail "nobody without allow_other: $r $out"
[[ "$(sha "$plain/one.bin")" == "$one_sha" ]] && ok "the owner reads the file" || fail "owner read"
other="$(newmp other)"
dp mount --allow-other "$base/data" "$other"; expect_rc 0 "mount with --allow-other"
grep -F " $other fuse" /proc/mounts | grep allow_other >/dev/null && ok "the kernel mount has allow_other" || fail "allow_other missing: $(grep -F " $other " /proc/mounts)"
set +e; got="$(as_nobody sha256sum "$other/one.bin" | cut -d' ' -f1)"; set -e
[[ "$got" == "$one_sha" ]] && ok "nobody reads byte-identical data with --allow-other" || fail "nobody with allow_other: '$got'"
set +e; as_nobody touch "$other/x" 2>/dev/null; r=$?; set -e
[[ $r != 0 ]] && ok "nobody still cannot write (read-only mount)" || fail "nobody wrote"
dp unmount "$plain"; expect_rc 0 "dataport unmount"
mounted "$plain" && fail "still mounted after dataport unmount" || ok "dataport unmount removed the mount"
dp unmount "$other"; expect_rc 0 "dataport unmount of the allow_other mount"

# ---- a single blob --------------------------------------------------------------------------------
single="$(newmp single)"
dp mount "$base/data/sub/two.bin" "$single"; expect_rc 0 "mount of one blob"
[[ "$(ls -A "$single")" == "two.bin" ]] && ok "the mount holds just that file" || fail "single listing: $(ls -A "$single")"
[[ "$(stat -c '%s %a' "$single/two.bin")" == "40000 444" ]] && ok "its size and mode" || fail "single stat: $(stat -c '%s %a' "$single/two.bin")"
[[ "$(sha "$single/two.bin")" == "$two_sha" ]] && ok "its bytes (sha256)" || fail "single content"
[[ ! -e "$single/one.bin" ]] && ok "siblings are not visible" || fail "sibling visible"
dp unmount "$single"; expect_rc 0 "unmount the single-blob mount"

# ---- --mode and --preset --------------------------------------------------------------------------
for flags in "--mode block" "--mode whole-file" "--preset large-sequential" "--preset small-files-epochs" "--mode whole-file --preset large-random"; do
  tag="$(echo "$flags" | tr -c 'a-z' '_')"
  m="$(newmp "$tag")"
  # shellcheck disable=SC2086
  dp mount $flags --cache-dir "$WORK/cache-$tag" "$base/data" "$m"; expect_rc 0 "mount $flags"
  [[ "$(sha "$m/one.bin")" == "$one_sha" && "$(sha "$m/sub/two.bin")" == "$two_sha" ]] && ok "$flags: bytes identical (sha256)" || fail "$flags: content differs"
  # A second read (cache warm) gives the same bytes.
  [[ "$(sha "$m/one.bin")" == "$one_sha" ]] && ok "$flags: second read identical" || fail "$flags: second read"
  dp unmount "$m"; expect_rc 0 "unmount ($flags)"
done
whole="$WORK/cache-__mode_whole_file_"
[[ -n "$(find "$whole" -type f -size +2000k 2>/dev/null | head -1)" ]] && ok "whole-file mode cached the whole file on disk" || fail "no whole-file cache entry under $whole: $(find "$whole" -type f 2>/dev/null | head -5)"
bad="$(newmp bad)"
dp mount --mode sideways "$base/data" "$bad"; expect_rc 2 "a bad --mode is refused"
expect_err "--mode must be 'block' or 'whole-file'" "the bad --mode is explained"
dp mount --preset warp-speed "$base/data" "$bad"; expect_rc 2 "a bad --preset is refused"
expect_err "large-sequential" "the known presets are listed"
mounted "$bad" && fail "a refused mount left a mount" || ok "nothing mounted after refused options"

# ---- dataport-mount -------------------------------------------------------------------------------
dm="$(newmp dm)"
set +e; timeout 120 "$MOUNT_BIN" "$base/data" "$dm" --mode whole-file >"$WORK/out" 2>"$WORK/err"; rc=$?; set -e
expect_rc 0 "dataport-mount in the background"
expect_out "Mount started." "dataport-mount reports Mount started."
[[ "$(sha "$dm/sub/two.bin")" == "$two_sha" ]] && ok "dataport-mount serves byte-identical data" || fail "dataport-mount content"
dp unmount "$dm"; expect_rc 0 "dataport unmount of a dataport-mount mount"
mounted "$dm" && fail "still mounted" || ok "dataport-mount mount gone"
set +e; timeout 60 "$MOUNT_BIN" "$base/data" >"$WORK/out" 2>"$WORK/err"; rc=$?; set -e
expect_rc 2 "dataport-mount without a mountpoint"
expect_err "usage: dataport-mount" "usage is printed"
dmrw="$(newmp dmrw)"
set +e; timeout 120 "$MOUNT_BIN" "$base/rw" "$dmrw" --rw >"$WORK/out" 2>"$WORK/err"; rc=$?; set -e
expect_rc 0 "dataport-mount --rw"
cp "$WORK/src/sub/two.bin" "$dmrw/copy.bin" && ok "write through dataport-mount --rw" || fail "write through dataport-mount"
dp cat "$base/rw/copy.bin"; [[ "$(sha "$WORK/out")" == "$two_sha" ]] && ok "the written file reached the blob (sha256)" || fail "dataport-mount --rw content"
dp unmount "$dmrw"; expect_rc 0 "unmount dataport-mount --rw"

# ---- dataport unmount of something that is not mounted --------------------------------------------
notm="$(newmp notmounted)"
dp unmount "$notm"; [[ $rc != 0 ]] && ok "unmount of a plain folder fails" || fail "unmount of a plain folder succeeded"
expect_err "cannot unmount" "the failure names the problem"
finish
