"""Mount functions of the C ABI (dataport_mount & co.) through the Python binding, against Azurite.

Run by ctest `capi: mount` under tests/capi/with_azurite.py (DP_CAPI_* name the uploaded tree).
The mounts are served by threads of this very process; every test unmounts in its teardown.
"""
import ctypes
import errno
import hashlib
import json
import os
import random
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "examples", "python"))
import dataport  # noqa: E402
from dataport import _lib  # noqa: E402


@pytest.fixture(scope="module")
def azurite():
    if "DP_CAPI_FOLDER" not in os.environ:
        pytest.fail("run through ctest: tests/capi/with_azurite.py sets DP_CAPI_* (the test data)")
    return {k[len("DP_CAPI_"):].lower(): v for k, v in os.environ.items() if k.startswith("DP_CAPI_")}


@pytest.fixture
def mountpoint(tmp_path):
    """An empty folder; whatever happens in the test, nothing stays mounted on it."""
    path = tmp_path / "mnt"
    path.mkdir()
    yield str(path)
    if os.path.ismount(str(path)):
        subprocess.run(["umount", "-l", str(path)], check=False)
    assert not os.path.ismount(str(path))


@pytest.fixture
def ctx(tmp_path):
    with dataport.Context({"DATAPORT_CACHE_DIR": str(tmp_path / "cache")}) as context:
        yield context


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_ro_mount_reads_exact_bytes_and_lists(ctx, azurite, mountpoint):
    with ctx.mount(azurite["folder"], mountpoint) as m:
        assert m.is_mounted and os.path.ismount(mountpoint)
        assert sorted(os.listdir(mountpoint)) == ["data.bin", "small.txt", "sub"]
        assert os.listdir(os.path.join(mountpoint, "sub")) == ["inner.txt"]
        assert os.path.getsize(os.path.join(mountpoint, "data.bin")) == int(azurite["blob_size"])
        assert sha256_file(os.path.join(mountpoint, "data.bin")) == azurite["blob_sha256"]
        with open(os.path.join(mountpoint, "small.txt"), "rb") as f:
            assert f.read() == b"hello from dataport\n"
    assert not m.is_mounted and not os.path.ismount(mountpoint)


def test_ro_mount_refuses_writes_with_erofs(ctx, azurite, mountpoint):
    with ctx.mount(azurite["folder"], mountpoint, mode="ro_mount", preset="large-sequential",
                   block_mode=True, max_threads=4):
        with pytest.raises(OSError) as caught:
            open(os.path.join(mountpoint, "new.txt"), "wb")
        assert caught.value.errno == errno.EROFS
        with pytest.raises(OSError) as caught:
            os.remove(os.path.join(mountpoint, "small.txt"))
        assert caught.value.errno == errno.EROFS
        with pytest.raises(OSError) as caught:
            os.mkdir(os.path.join(mountpoint, "newdir"))
        assert caught.value.errno == errno.EROFS
        assert sha256_file(os.path.join(mountpoint, "data.bin")) == azurite["blob_sha256"]


def test_rw_mount_write_lands_in_the_container(ctx, azurite, mountpoint, tmp_path):
    # A folder of its own (an rw mount may start on a folder that does not exist yet), so the
    # read-only tests keep seeing exactly the uploaded tree.
    folder = azurite["container"] + "/rw-write"
    data = random.Random(11).randbytes(2_500_000)
    with ctx.mount(folder, mountpoint, mode="rw_mount",
                   cache_dir=str(tmp_path / "mcache")) as m:
        with open(os.path.join(mountpoint, "written.bin"), "wb") as f:
            f.write(data)
        os.mkdir(os.path.join(mountpoint, "newdir"))
        with open(os.path.join(mountpoint, "newdir", "x.txt"), "wb") as f:
            f.write(b"x through the mount\n")
        assert m.is_mounted
    # Downloaded through a fresh context (nothing cached): the bytes are in the container.
    with dataport.Context() as fresh:
        out = tmp_path / "down.bin"
        fresh.copy(folder + "/written.bin", str(out))
        assert hashlib.sha256(out.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
        with fresh.open(folder + "/newdir/x.txt") as f:
            assert f.read() == b"x through the mount\n"


def test_read_write_flag_is_the_same_as_rw_mode(ctx, azurite, mountpoint):
    folder = azurite["container"] + "/rw-flag"
    with ctx.mount(folder, mountpoint, read_write=True):
        with open(os.path.join(mountpoint, "flag.txt"), "wb") as f:
            f.write(b"flag\n")
    with ctx.open(folder + "/flag.txt") as f:
        assert f.read() == b"flag\n"


def test_mount_outlives_its_context(azurite, mountpoint, tmp_path):
    context = dataport.Context({"DATAPORT_CACHE_DIR": str(tmp_path / "cache2")})
    m = context.mount(azurite["folder"], mountpoint)
    context.close()  # the handle is gone; the session keeps the runtime (I/O threads) alive
    try:
        assert sha256_file(os.path.join(mountpoint, "data.bin")) == azurite["blob_sha256"]
        assert sorted(os.listdir(mountpoint)) == ["data.bin", "small.txt", "sub"]
    finally:
        m.unmount()
        m.wait()
        m.close()
    assert not os.path.ismount(mountpoint)


def test_unmount_from_outside_ends_wait(ctx, azurite, mountpoint):
    m = ctx.mount(azurite["folder"], mountpoint)
    try:
        subprocess.run(["umount", "-l", mountpoint], check=True)
        m.wait()  # returns because the kernel let go, not because we asked
        assert not m.is_mounted
        m.wait()  # later calls return the same result at once
    finally:
        m.close()


def test_free_of_a_live_mount_unmounts(ctx, azurite, mountpoint):
    m = ctx.mount(azurite["folder"], mountpoint)
    assert os.path.ismount(mountpoint)
    m.close()
    assert not os.path.ismount(mountpoint)
    with pytest.raises(dataport.InvalidArgument, match="closed"):
        m.unmount()


# ---- bad input -----------------------------------------------------------------------------

def test_bad_mountpoints(ctx, azurite, tmp_path):
    with pytest.raises(dataport.InvalidArgument, match="does not exist"):
        ctx.mount(azurite["folder"], str(tmp_path / "missing"))
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "f").write_bytes(b"x")
    with pytest.raises(dataport.InvalidArgument, match="not empty"):
        ctx.mount(azurite["folder"], str(busy))
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(dataport.InvalidArgument, match="not a folder"):
        ctx.mount(azurite["folder"], str(tmp_path / "file"))
    with pytest.raises(dataport.InvalidArgument, match="empty string"):
        ctx.mount(azurite["folder"], "")


def test_missing_container_is_not_found(ctx, azurite, mountpoint):
    base = azurite["container"].rsplit("/", 1)[0]
    with pytest.raises(dataport.NotFound):
        ctx.mount(base + "/nosuchcontainer0000/tree", mountpoint)
    assert not os.path.ismount(mountpoint)


@pytest.mark.parametrize("options, needle", [
    ({"mode": "rw"}, "mode='rw' is unknown"),
    ({"mode": 1}, "'mode' must be a non-empty string"),
    ({"read_write": True, "mode": "ro_mount"}, "contradict"),
    ({"read_write": "yes"}, "'read_write' must be true or false"),
    ({"allow_other": 1}, "'allow_other' must be true or false"),
    ({"block_mode": None}, "'block_mode' must be true or false"),
    ({"preset": "fastest"}, "preset='fastest' is unknown: use one of large-sequential"),
    ({"cache_dir": ""}, "'cache_dir' must be a non-empty string"),
    ({"max_threads": 0}, "'max_threads' must be a number from 1 to 1024"),
    ({"max_threads": 2.5}, "'max_threads'"),
    ({"fuse_options": [1]}, "'fuse_options' must be a list"),
    ({"fuse_options": {}}, "'fuse_options' must be a list"),
    ({"readonly": True}, "unknown key 'readonly' in mount options"),
])
def test_bad_mount_options(ctx, azurite, mountpoint, options, needle):
    handle = ctypes.c_void_p(1234)
    status = _lib.dataport_mount(ctx._h(), azurite["folder"].encode(), mountpoint.encode(),
                                 json.dumps(options).encode(), ctypes.byref(handle))
    assert status == dataport.InvalidArgument.code
    assert not handle.value
    assert needle.encode() in _lib.dataport_last_error()
    assert not os.path.ismount(mountpoint)


def test_bad_mode_through_python(ctx, azurite, mountpoint):
    with pytest.raises(dataport.InvalidArgument, match="ro_mount"):
        ctx.mount(azurite["folder"], mountpoint, mode="readonly")


def test_invalid_json_and_null_arguments(ctx, azurite, mountpoint):
    handle = ctypes.c_void_p()
    folder, mp = azurite["folder"].encode(), mountpoint.encode()
    assert _lib.dataport_mount(ctx._h(), folder, mp, b"{mode:", ctypes.byref(handle)) == 1
    assert b"not valid JSON" in _lib.dataport_last_error()
    assert _lib.dataport_mount(ctx._h(), folder, mp, b'"rw_mount"', ctypes.byref(handle)) == 1
    assert b"JSON object" in _lib.dataport_last_error()
    assert _lib.dataport_mount(None, folder, mp, None, ctypes.byref(handle)) == 1
    assert b"dataport_context handle is NULL" in _lib.dataport_last_error()
    assert _lib.dataport_mount(ctx._h(), None, mp, None, ctypes.byref(handle)) == 1
    assert b"uri is NULL" in _lib.dataport_last_error()
    assert _lib.dataport_mount(ctx._h(), folder, None, None, ctypes.byref(handle)) == 1
    assert b"mountpoint is NULL" in _lib.dataport_last_error()
    assert _lib.dataport_mount(ctx._h(), folder, mp, None, None) == 1
    assert b"output pointer is NULL" in _lib.dataport_last_error()
    assert not handle.value and not os.path.ismount(mountpoint)
    assert _lib.dataport_unmount(None) == 1
    assert b"dataport_mount_session handle is NULL" in _lib.dataport_last_error()
    out = ctypes.c_void_p(99)
    assert _lib.dataport_mount_wait(None, ctypes.byref(out)) == 1 and not out.value
    assert _lib.dataport_mount_is_mounted(None) == 0
    _lib.dataport_mount_free(None)  # NULL-safe


def test_wait_reports_ok_with_empty_pending_list(ctx, azurite, mountpoint):
    handle = ctypes.c_void_p()
    folder = azurite["container"] + "/rw-wait"
    assert _lib.dataport_mount(ctx._h(), folder.encode(), mountpoint.encode(),
                               b'{"mode": "rw_mount"}', ctypes.byref(handle)) == 0
    try:
        assert _lib.dataport_mount_is_mounted(handle) == 1
        assert _lib.dataport_unmount(handle) == 0
        assert _lib.dataport_unmount(handle) == 0  # a second request is a no-op
        out = ctypes.c_void_p()
        assert _lib.dataport_mount_wait(handle, ctypes.byref(out)) == 0
        assert dataport._take_string(out) == "[]"
        assert _lib.dataport_mount_wait(handle, None) == 0
        assert _lib.dataport_mount_is_mounted(handle) == 0
    finally:
        _lib.dataport_mount_free(handle)


def test_unsupported_without_fuse(ctx, azurite, mountpoint):
    """Selected only in a build with DATAPORT_BUILD_FUSE=OFF (see tests/capi/CMakeLists.txt)."""
    with pytest.raises(dataport.Unsupported, match="without FUSE support"):
        ctx.mount(azurite["folder"], mountpoint)
    assert _lib.dataport_unmount(None) == dataport.Unsupported.code
    assert _lib.dataport_mount_wait(None, None) == dataport.Unsupported.code
    assert _lib.dataport_mount_is_mounted(None) == 0
    _lib.dataport_mount_free(None)
