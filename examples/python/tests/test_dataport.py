"""Tests of the ctypes binding (and through it the C ABI) against Azurite."""
import ctypes
import hashlib
import io
import json
import os
import threading

import pytest

import dataport
from dataport import _lib


def test_version_matches_header():
    assert dataport.version() == "0.1.0"


def test_resolve_reports_blob_without_secrets(azurite):
    where = dataport.resolve(azurite["blob"])
    assert where["backend"] == "blob"
    assert where["container"] == azurite["container"].rsplit("/", 1)[1]
    assert where["path"] == "tree/data.bin"
    assert where["credential"] == "shared_key"
    key = os.environ["AZURE_STORAGE_CONNECTION_STRING"].split("AccountKey=")[1].split(";")[0]
    assert key not in json.dumps(where)


def test_stat_file_and_folder(azurite):
    info = dataport.stat(azurite["blob"])
    assert info["size"] == int(azurite["blob_size"]) and not info["is_directory"]
    assert info["etag"]
    assert dataport.stat(azurite["folder"])["is_directory"]


def test_ls_is_a_generator_with_names(azurite):
    entries = dataport.ls(azurite["folder"])
    assert iter(entries) is entries
    names = sorted((e["name"], e["is_directory"]) for e in entries)
    assert names == [("data.bin", False), ("small.txt", False), ("sub", True)]
    deep = sorted(e["name"] for e in dataport.ls(azurite["folder"], recursive=True))
    assert deep == ["data.bin", "small.txt", "sub/inner.txt"]


def test_ls_pages_lazily(azurite):
    with dataport.Context() as ctx:
        before = ctx.metrics()["counters"]["requests"]
        gen = ctx.ls(azurite["folder"], recursive=True, page_size=1)
        first = next(gen)
        after_first = ctx.metrics()["counters"]["requests"]
        rest = list(gen)
        after_all = ctx.metrics()["counters"]["requests"]
    assert first["name"] and len(rest) == 2
    assert after_first - before == 1            # one page for the first entry
    assert after_all - before >= 3              # later pages only when needed


def test_open_reads_exact_bytes_with_seek_and_tell(azurite):
    with dataport.open(azurite["blob"]) as f:
        data = f.read()
        assert hashlib.sha256(data).hexdigest() == azurite["blob_sha256"]
        f.seek(1000)
        assert f.tell() == 1000
        assert f.read(10) == data[1000:1010]
        f.seek(-5, io.SEEK_END)
        assert f.read() == data[-5:]
        assert f.read(10) == b""                 # past EOF: empty, not an error
    with dataport.open(azurite["blob"], buffering=0) as raw:
        assert isinstance(raw, io.RawIOBase)
        buffer = bytearray(4096)
        raw.seek(299_000)
        assert raw.readinto(buffer) == 1000       # short read at the end
        assert bytes(buffer[:1000]) == data[299_000:]
        assert raw.pread(400_000, 10) == b""      # read past EOF
    assert raw.closed


def test_closed_reader_is_an_error_not_a_crash(azurite):
    f = dataport.open(azurite["blob"], buffering=0)
    f.close()
    with pytest.raises(ValueError):
        f.read(10)
    handle = ctypes.c_void_p()
    with dataport.Context() as ctx:
        assert _lib.dataport_reader_open(ctx._h(), azurite["blob"].encode(), ctypes.byref(handle)) == 0
    # The context handle is gone; the reader keeps the runtime alive and still reads.
    buf = ctypes.create_string_buffer(16)
    got = ctypes.c_size_t()
    assert _lib.dataport_reader_read_at(handle, 0, buf, 16, ctypes.byref(got)) == 0 and got.value == 16
    _lib.dataport_reader_shutdown(handle)
    status = _lib.dataport_reader_read_at(handle, 0, buf, 16, ctypes.byref(got))
    assert status == dataport.InvalidArgument.code
    assert b"closed" in _lib.dataport_last_error()
    _lib.dataport_reader_close(handle)


def test_copy_download_with_progress(azurite, tmp_path):
    seen = []
    summary = dataport.copy(azurite["folder"], str(tmp_path / "out"), recursive=True,
                            progress=lambda p: seen.append(p))
    assert summary["files_done"] == 3 and summary["files_failed"] == 0
    data = (tmp_path / "out" / "data.bin").read_bytes()
    assert hashlib.sha256(data).hexdigest() == azurite["blob_sha256"]
    assert (tmp_path / "out" / "sub" / "inner.txt").read_bytes() == b"inner\n"
    assert seen and seen[-1]["bytes_done"] == summary["bytes"]


def test_copy_direct_io_option(azurite, tmp_path):
    for direct in (True, False):
        out = tmp_path / f"direct-{direct}.bin"
        summary = dataport.copy(azurite["blob"], str(out), direct_io=direct)
        assert summary["files_done"] == 1
        assert hashlib.sha256(out.read_bytes()).hexdigest() == azurite["blob_sha256"]
    with pytest.raises(dataport.InvalidArgument, match="direct_io"):
        dataport.copy(azurite["blob"], str(tmp_path / "bad.bin"), direct_io="yes")
    assert not (tmp_path / "bad.bin").exists()


def test_copy_cancelled_by_progress_callback(azurite, tmp_path):
    with pytest.raises(dataport.Cancelled) as caught:
        dataport.copy(azurite["folder"], str(tmp_path / "c"), recursive=True,
                      progress=lambda p: True, progress_interval_ms=0)
    assert caught.value.code == 12
    assert caught.value.summary["cancelled"] is True


def test_copy_callback_exception_propagates(azurite, tmp_path):
    def boom(_):
        raise RuntimeError("from the callback")
    with pytest.raises(RuntimeError, match="from the callback"):
        dataport.copy(azurite["blob"], str(tmp_path / "x.bin"), progress=boom, progress_interval_ms=0)


def test_errors_are_typed_with_message_and_code(azurite, tmp_path):
    with pytest.raises(dataport.NotFound) as caught:
        dataport.stat(azurite["folder"] + "/missing.bin")
    assert caught.value.code == 2 and "missing.bin" in caught.value.message
    assert isinstance(caught.value, FileNotFoundError)
    with pytest.raises(dataport.AlreadyExists):
        dataport.copy(azurite["blob"], str(tmp_path / "a.bin"))
        dataport.copy(azurite["blob"], str(tmp_path / "a.bin"))


def test_metrics_counts_requests(azurite):
    with dataport.Context() as ctx:
        ctx.stat(azurite["blob"])
        m = ctx.metrics()
    assert m["counters"]["requests"] >= 1
    assert set(m["request_latency_us"]) >= {"p50", "p99"}


# ---- bad input -----------------------------------------------------------------------------

def test_null_handles_and_outputs():
    out = ctypes.c_void_p()
    assert _lib.dataport_resolve(None, b"/tmp", ctypes.byref(out)) == 1
    assert b"NULL" in _lib.dataport_last_error()
    assert _lib.dataport_stat(None, None, None) == 1
    assert _lib.dataport_metrics(None, ctypes.byref(out)) == 1 and not out.value
    assert _lib.dataport_list_next(None, ctypes.byref(out)) == 1
    got = ctypes.c_size_t(7)
    assert _lib.dataport_reader_read_at(None, 0, None, 10, ctypes.byref(got)) == 1 and got.value == 0
    assert _lib.dataport_reader_size(None, None) == 1
    assert _lib.dataport_context_create(None, None) == 1
    assert _lib.dataport_copy(None, None, None, None, dataport._PROGRESS_FN(), None, None) == 1
    # NULL-safe frees.
    _lib.dataport_context_destroy(None)
    _lib.dataport_list_close(None)
    _lib.dataport_reader_close(None)
    _lib.dataport_reader_shutdown(None)
    _lib.dataport_free_string(None)
    assert _lib.dataport_status_name(2) == b"not_found"
    assert _lib.dataport_status_name(999) == b"unknown"


@pytest.mark.parametrize("options, needle", [
    (b"{not json", b"not valid JSON"),
    (b"[1, 2]", b"JSON object"),
    (b'{"NO_SUCH_SETTING": 1}', b"NO_SUCH_SETTING"),
    (b'{"DATAPORT_CHUNK_SIZE": "lots"}', b"DATAPORT_CHUNK_SIZE"),
    (b'{"io_threads": 0}', b"io_threads"),
    (b'{"DATAPORT_RETRY_BASE_DELAY_MS": 5000, "DATAPORT_RETRY_MAX_DELAY_MS": 10}', b"DELAY"),
])
def test_bad_context_options(options, needle):
    handle = ctypes.c_void_p(1234)
    assert _lib.dataport_context_create(options, ctypes.byref(handle)) == 1
    assert not handle.value
    assert needle in _lib.dataport_last_error()


def test_good_context_options_and_success_clears_error():
    _lib.dataport_context_create(b"{bad", None)
    with dataport.Context({"DATAPORT_CHUNK_SIZE": "4MiB", "io_threads": 1,
                           "DATAPORT_TLS_VERIFY": True}) as ctx:
        assert _lib.dataport_last_error() == b""
        assert ctx.resolve("/tmp")["backend"] == "local"


def test_unknown_copy_and_list_keys(azurite, tmp_path):
    with pytest.raises(dataport.InvalidArgument, match="unknown key 'recursiv'"):
        dataport.copy(azurite["folder"], str(tmp_path), recursiv=True)
    with pytest.raises(dataport.InvalidArgument, match="if_exists"):
        dataport.copy(azurite["blob"], str(tmp_path / "f"), if_exists="sometimes")
    with dataport.Context() as ctx:
        handle = ctypes.c_void_p()
        assert _lib.dataport_list_open(ctx._h(), azurite["folder"].encode(), b'{"depth": 2}',
                                       ctypes.byref(handle)) == 1
        assert b"unknown key 'depth'" in _lib.dataport_last_error()


def test_last_error_is_thread_local(azurite):
    ready = threading.Event()
    results = {}

    def other():
        assert _lib.dataport_context_create(b"{bad", None) == 1
        ready.set()
        results["other"] = _lib.dataport_last_error()

    _lib.dataport_status_name(0)
    with dataport.Context() as ctx:
        ctx.resolve("/tmp")
        t = threading.Thread(target=other)
        t.start()
        t.join()
        assert _lib.dataport_last_error() == b""
    assert b"output pointer is NULL" in results["other"]


def test_concurrent_calls_from_many_threads(azurite):
    expected = hashlib.sha256(dataport.open(azurite["blob"]).read()).hexdigest()
    errors = []
    with dataport.Context() as ctx:
        shared = ctx.open(azurite["blob"], buffering=0)

        def work(i):
            try:
                for _ in range(5):
                    assert ctx.stat(azurite["blob"])["size"] == int(azurite["blob_size"])
                    assert len(list(ctx.ls(azurite["folder"]))) == 3
                    with ctx.open(azurite["blob"]) as f:
                        assert hashlib.sha256(f.read()).hexdigest() == expected
                    off = (i * 7919) % 299_000
                    assert shared.pread(off, 1000) == shared.pread(off, 1000)
                    with pytest.raises(dataport.NotFound):
                        ctx.stat(azurite["folder"] + f"/nope{i}")
            except Exception as exc:  # reported in the main thread
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        shared.close()
    assert not errors, errors


def test_fsspec_filesystem_reads_blobs(azurite):
    import fsspec  # Debian python3-fsspec (scripts/setup.sh): required, a missing one fails
    import dataport.fs  # noqa: F401  (registers the protocols)
    fs = dataport.fs.DataportFileSystem()
    names = sorted(fs.ls(azurite["folder"], detail=False))
    assert [n.rsplit("/", 1)[1] for n in names] == ["data.bin", "small.txt", "sub"]
    assert fs.info(azurite["blob"])["size"] == int(azurite["blob_size"])
    assert fs.cat_file(azurite["folder"] + "/small.txt") == b"hello from dataport\n"
    assert fs.cat_file(azurite["blob"], start=10, end=20) == dataport.open(azurite["blob"]).read()[10:20]
    with pytest.raises(FileNotFoundError):
        fs.info(azurite["folder"] + "/missing")
    # Through fsspec's registry, as pandas would: wasb:// form of the same container.
    container = azurite["container"].rsplit("/", 1)[1]
    with fsspec.open(f"wasb://{container}@devstoreaccount1.blob.core.windows.net/tree/small.txt", "rb") as f:
        assert f.read() == b"hello from dataport\n"


def test_fsspec_reads_azureml_and_abfss_uris(azurite, tmp_path):
    """fsspec-based code reads azureml:// (through a workspace datastore) and abfss:// (through the
    workspace's accounts map) URIs; both point at the Azurite container here."""
    import fsspec
    import dataport.fs  # noqa: F401
    service = azurite["container"].rsplit("/", 1)[0]          # <blob_url>/devstoreaccount1
    container = azurite["container"].rsplit("/", 1)[1]
    key = os.environ["AZURE_STORAGE_CONNECTION_STRING"].split("AccountKey=")[1].split(";")[0]
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(f"""
datastores:
  capistore:
    type: azure_blob
    account_name: devstoreaccount1
    container_name: {container}
    protocol: http
    service_url: {service}
    credentials: {{account_key: "{key}"}}
accounts:
  devstoreaccount1:
    service_url: {service}
    credentials: {{account_key: "{key}"}}
""")
    expected = hashlib.sha256(dataport.open(azurite["blob"]).read()).hexdigest()
    with dataport.Context({"workspace": str(workspace)}) as ctx:
        uris = ["azureml://datastores/capistore/paths/tree",
                f"abfss://{container}@devstoreaccount1.dfs.core.windows.net/tree"]
        for base in uris:
            with fsspec.open(f"{base}/data.bin", "rb", context=ctx) as f:
                assert hashlib.sha256(f.read()).hexdigest() == expected, base
            fs, path = fsspec.core.url_to_fs(base, context=ctx)
            assert isinstance(fs, dataport.fs.DataportFileSystem)
            names = sorted(n.rsplit("/", 1)[1] for n in fs.ls(path, detail=False))
            assert names == ["data.bin", "small.txt", "sub"], base
            assert fs.cat_file(f"{path}/small.txt") == b"hello from dataport\n"
