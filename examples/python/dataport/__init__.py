"""dataport for Python: a ctypes binding of the C ABI (libdataport_c.so, capi/include/dataport.h).

No compiled extension: the library is found through the DATAPORT_LIBRARY environment variable
(a path to libdataport_c.so), else next to this package, else by the loader's search path.

    import dataport
    dataport.resolve("azureml://datastores/workspaceblobstore/paths/data/x.csv")
    for entry in dataport.ls("wasbs://c@acct.blob.core.windows.net/folder"): print(entry["name"])
    with dataport.open("https://.../file.bin") as f: head = f.read(100)
    dataport.copy(src, dst, recursive=True, progress=lambda p: print(p["bytes_done"]))
    with dataport.Context() as ctx, ctx.mount(uri, "/mnt/data", mode="rw_mount") as m: ...

Module-level functions use one shared Context made on first use (settings from the environment);
make your own Context(options) for other settings. Errors raise dataport.Error subclasses with
`.code` (the pinned status) and `.message` (secrets redacted).
"""
from __future__ import annotations

import ctypes
import io
import json
import os
import threading
from typing import Any, Callable, Dict, Iterator, Optional

__all__ = [
    "Error", "InvalidArgument", "NotFound", "PermissionDenied", "AuthenticationFailed", "Changed",
    "AlreadyExists", "TransientExhausted", "Timeout", "NetworkError", "IOFailure", "Unsupported",
    "Cancelled", "NoSpace", "ProtocolError", "InternalError", "TLSError",
    "Context", "Reader", "Mount", "resolve", "stat", "ls", "open", "copy", "metrics", "version",
]


class Error(Exception):
    """A failed dataport call: `code` is the status (dataport.h DATAPORT_E_*), `message` the text."""

    code = -1

    def __init__(self, message: str, code: Optional[int] = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


def _error_class(name: str, code: int, bases=(Error,)):
    return type(name, bases, {"code": code, "__doc__": f"dataport status {code}."})


InvalidArgument = _error_class("InvalidArgument", 1, (Error, ValueError))
NotFound = _error_class("NotFound", 2, (Error, FileNotFoundError))
PermissionDenied = _error_class("PermissionDenied", 3, (Error, PermissionError))
AuthenticationFailed = _error_class("AuthenticationFailed", 4, (Error, PermissionError))
Changed = _error_class("Changed", 5)
AlreadyExists = _error_class("AlreadyExists", 6, (Error, FileExistsError))
TransientExhausted = _error_class("TransientExhausted", 7)
Timeout = _error_class("Timeout", 8, (Error, TimeoutError))
NetworkError = _error_class("NetworkError", 9, (Error, ConnectionError))
IOFailure = _error_class("IOFailure", 10, (Error, OSError))
Unsupported = _error_class("Unsupported", 11)
Cancelled = _error_class("Cancelled", 12)
NoSpace = _error_class("NoSpace", 13, (Error, OSError))
ProtocolError = _error_class("ProtocolError", 14)
InternalError = _error_class("InternalError", 15)
TLSError = _error_class("TLSError", 16)
_ERRORS = {cls.code: cls for cls in (
    InvalidArgument, NotFound, PermissionDenied, AuthenticationFailed, Changed, AlreadyExists,
    TransientExhausted, Timeout, NetworkError, IOFailure, Unsupported, Cancelled, NoSpace,
    ProtocolError, InternalError, TLSError)}


class _Progress(ctypes.Structure):
    _fields_ = [("files_known", ctypes.c_uint64), ("files_done", ctypes.c_uint64),
                ("files_failed", ctypes.c_uint64), ("files_skipped", ctypes.c_uint64),
                ("bytes_known", ctypes.c_uint64), ("bytes_done", ctypes.c_uint64),
                ("elapsed_ms", ctypes.c_uint64), ("listing_done", ctypes.c_int)]


_PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(_Progress), ctypes.c_void_p)


def _library_path() -> str:
    env = os.environ.get("DATAPORT_LIBRARY")
    if env:
        return env
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "libdataport_c.so")
    return here if os.path.exists(here) else "libdataport_c.so.0"


def _load() -> ctypes.CDLL:
    lib = ctypes.CDLL(_library_path())
    c_char_pp = ctypes.POINTER(ctypes.c_char_p)
    vp, st = ctypes.c_void_p, ctypes.c_int
    sigs = {
        "dataport_version": (ctypes.c_char_p, []),
        "dataport_last_error": (ctypes.c_char_p, []),
        "dataport_status_name": (ctypes.c_char_p, [st]),
        "dataport_free_string": (None, [vp]),
        "dataport_context_create": (st, [ctypes.c_char_p, ctypes.POINTER(vp)]),
        "dataport_context_destroy": (None, [vp]),
        "dataport_resolve": (st, [vp, ctypes.c_char_p, ctypes.POINTER(vp)]),
        "dataport_stat": (st, [vp, ctypes.c_char_p, ctypes.POINTER(vp)]),
        "dataport_metrics": (st, [vp, ctypes.POINTER(vp)]),
        "dataport_list_open": (st, [vp, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(vp)]),
        "dataport_list_next": (st, [vp, ctypes.POINTER(vp)]),
        "dataport_list_close": (None, [vp]),
        "dataport_reader_open": (st, [vp, ctypes.c_char_p, ctypes.POINTER(vp)]),
        "dataport_reader_read_at": (st, [vp, ctypes.c_uint64, vp, ctypes.c_size_t,
                                         ctypes.POINTER(ctypes.c_size_t)]),
        "dataport_reader_size": (st, [vp, ctypes.POINTER(ctypes.c_uint64)]),
        "dataport_reader_close": (None, [vp]),
        "dataport_reader_shutdown": (None, [vp]),
        "dataport_copy": (st, [vp, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                               _PROGRESS_FN, vp, ctypes.POINTER(vp)]),
        "dataport_mount": (st, [vp, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                ctypes.POINTER(vp)]),
        "dataport_unmount": (st, [vp]),
        "dataport_mount_wait": (st, [vp, ctypes.POINTER(vp)]),
        "dataport_mount_is_mounted": (ctypes.c_int, [vp]),
        "dataport_mount_free": (None, [vp]),
    }
    del c_char_pp
    for name, (restype, argtypes) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


_lib = _load()


def version() -> str:
    """The loaded library's version string."""
    return _lib.dataport_version().decode()


def _check(status: int) -> None:
    if status != 0:
        message = _lib.dataport_last_error().decode("utf-8", "replace")
        raise _ERRORS.get(status, Error)(message, status)


def _take_string(pointer: ctypes.c_void_p) -> Optional[str]:
    if not pointer.value:
        return None
    try:
        return ctypes.string_at(pointer.value).decode("utf-8")
    finally:
        _lib.dataport_free_string(pointer)


def _options(options: Optional[Dict[str, Any]]) -> Optional[bytes]:
    return None if options is None else json.dumps(options).encode()


class Context:
    """A dataport runtime (I/O threads, connection pools, caches). Close it (or use `with`) to
    join its threads; readers made from it keep it alive until they are closed."""

    def __init__(self, options: Optional[Dict[str, Any]] = None):
        handle = ctypes.c_void_p()
        _check(_lib.dataport_context_create(_options(options), ctypes.byref(handle)))
        self._handle = handle

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle:
            _lib.dataport_context_destroy(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _h(self) -> ctypes.c_void_p:
        if not self._handle:
            raise InvalidArgument("this dataport.Context is closed", 1)
        return self._handle

    def _json_call(self, fn, *args) -> Any:
        out = ctypes.c_void_p()
        _check(fn(self._h(), *args, ctypes.byref(out)))
        return json.loads(_take_string(out))

    def resolve(self, uri: str) -> Dict[str, Any]:
        """Where `uri` points: backend, service_url, container, path, credential kind."""
        return self._json_call(_lib.dataport_resolve, uri.encode())

    def stat(self, uri: str) -> Dict[str, Any]:
        """Size, etag, last_modified, is_directory of a file or folder."""
        return self._json_call(_lib.dataport_stat, uri.encode())

    def metrics(self) -> Dict[str, Any]:
        """Counters and request latency percentiles of this context."""
        return self._json_call(_lib.dataport_metrics)

    def ls(self, uri: str, recursive: bool = False, page_size: Optional[int] = None
           ) -> Iterator[Dict[str, Any]]:
        """Yields the entries of a folder (dicts with name, path, size, is_directory, ...),
        fetching one service page at a time."""
        options: Dict[str, Any] = {"recursive": recursive}
        if page_size is not None:
            options["page_size"] = page_size
        handle = ctypes.c_void_p()
        _check(_lib.dataport_list_open(self._h(), uri.encode(), _options(options),
                                       ctypes.byref(handle)))
        try:
            while True:
                out = ctypes.c_void_p()
                _check(_lib.dataport_list_next(handle, ctypes.byref(out)))
                text = _take_string(out)
                if text is None:
                    return
                yield json.loads(text)
        finally:
            _lib.dataport_list_close(handle)

    def open(self, uri: str, mode: str = "rb", buffering: int = -1):
        """Opens a file for reading. mode "rb" only; buffering=0 gives the raw Reader, otherwise
        an io.BufferedReader around it."""
        if mode not in ("rb", "r"):
            raise InvalidArgument(f"dataport.open supports mode 'rb' only, not {mode!r}", 1)
        raw = Reader(self, uri)
        if mode == "r":
            return io.TextIOWrapper(io.BufferedReader(raw))
        return raw if buffering == 0 else io.BufferedReader(raw, buffer_size=1 << 20)

    def copy(self, source: str, destination: str,
             progress: Optional[Callable[[Dict[str, int]], Any]] = None, **options: Any
             ) -> Dict[str, Any]:
        """Copies a file or (recursive=True) a folder; returns the summary dict. `progress` is
        called with a dict of counters; returning True (or raising) cancels the copy. Options:
        recursive, threads, chunk_size, if_exists, verify_md5, direct_io, create_container, ..."""
        raised = []

        def trampoline(p, _user):
            try:
                c = p.contents
                value = {name: getattr(c, name) for name, _ in _Progress._fields_}
                value["listing_done"] = bool(value["listing_done"])
                return 1 if progress(value) else 0
            except BaseException as exc:  # cancel and re-raise in the caller's thread
                raised.append(exc)
                return 1

        callback = _PROGRESS_FN(trampoline) if progress else _PROGRESS_FN()
        out = ctypes.c_void_p()
        status = _lib.dataport_copy(self._h(), source.encode(), destination.encode(),
                                    _options(options), callback, None, ctypes.byref(out))
        message = _lib.dataport_last_error().decode("utf-8", "replace")
        summary_text = _take_string(out)
        if raised:
            raise raised[0]
        if status != 0:
            error = _ERRORS.get(status, Error)(message, status)
            error.summary = json.loads(summary_text) if summary_text else None
            raise error
        return json.loads(summary_text)

    def mount(self, uri: str, mountpoint: str, mode: str = "ro_mount", **options: Any
              ) -> "Mount":
        """Mounts `uri` on `mountpoint` (an existing empty folder) with FUSE and returns a Mount
        (a context manager: leaving it unmounts and waits, raising IOFailure if uploads were left
        pending). mode: "ro_mount" or "rw_mount". Options: allow_other, block_mode, preset,
        cache_dir, max_threads, fuse_options (list of -o options); read_write=True is the same as
        mode="rw_mount". The mount keeps serving if this Context is closed first."""
        options = dict(options)
        if "read_write" not in options or mode != "ro_mount":
            options["mode"] = mode
        return Mount(self, uri, mountpoint, options)


class Mount:
    """A FUSE mount served by this process (dataport_mount_session). Use it as a context manager,
    or call unmount() and wait() yourself; close() frees it (unmounting first if needed)."""

    def __init__(self, context: Context, uri: str, mountpoint: str,
                 options: Optional[Dict[str, Any]] = None):
        handle = ctypes.c_void_p()
        _check(_lib.dataport_mount(context._h(), uri.encode(), os.fsencode(mountpoint),
                                   _options(options), ctypes.byref(handle)))
        self._handle = handle
        self.uri = uri
        self.mountpoint = mountpoint

    def _h(self) -> ctypes.c_void_p:
        if not self._handle:
            raise InvalidArgument("this dataport.Mount is closed", 1)
        return self._handle

    @property
    def is_mounted(self) -> bool:
        return bool(self._handle) and _lib.dataport_mount_is_mounted(self._handle) == 1

    def unmount(self) -> None:
        """Asks for a lazy unmount and returns at once (wait() blocks until it is done)."""
        _check(_lib.dataport_unmount(self._h()))

    def wait(self) -> None:
        """Blocks until unmounted and the last uploads are done. Raises IOFailure with
        `.pending` (a list of {"path", "staging_file"}) when uploads were left pending."""
        out = ctypes.c_void_p()
        status = _lib.dataport_mount_wait(self._h(), ctypes.byref(out))
        message = _lib.dataport_last_error().decode("utf-8", "replace")
        text = _take_string(out)
        pending = json.loads(text) if text else []
        if status != 0:
            error = _ERRORS.get(status, Error)(message, status)
            error.pending = pending
            raise error

    def close(self) -> None:
        """Frees the session; unmounts and waits first if still mounted."""
        handle, self._handle = getattr(self, "_handle", None), None
        if handle:
            _lib.dataport_mount_free(handle)

    def __enter__(self) -> "Mount":
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self._handle:
                self.unmount()
                self.wait()
        finally:
            self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class Reader(io.RawIOBase):
    """A read-only, seekable binary file over dataport_reader (pinned to the version that was
    current at open; a later change raises Changed). Safe to read from several threads."""

    def __init__(self, context: Context, uri: str):
        super().__init__()
        handle = ctypes.c_void_p()
        _check(_lib.dataport_reader_open(context._h(), uri.encode(), ctypes.byref(handle)))
        self._handle = handle
        self._context = context  # keeps the Python object alive; the C side is refcounted
        self._position = 0
        size = ctypes.c_uint64()
        _check(_lib.dataport_reader_size(handle, ctypes.byref(size)))
        self._size = size.value
        self.name = uri

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        self._checkClosed()
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._checkClosed()
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._position = base + offset
        return self._position

    def pread(self, offset: int, length: int) -> bytes:
        """Reads up to `length` bytes at `offset` without moving the position."""
        buffer = bytearray(length)
        n = self._read_into(offset, buffer)
        return bytes(buffer[:n])

    def _read_into(self, offset: int, buffer) -> int:
        self._checkClosed()
        view = memoryview(buffer).cast("B")
        if len(view) == 0:
            return 0
        c_buffer = (ctypes.c_char * len(view)).from_buffer(view)
        got = ctypes.c_size_t()
        _check(_lib.dataport_reader_read_at(self._handle, offset, c_buffer, len(view),
                                            ctypes.byref(got)))
        return got.value

    def readinto(self, buffer) -> int:
        n = self._read_into(self._position, buffer)
        self._position += n
        return n

    def readall(self) -> bytes:
        chunks = []
        while True:
            chunk = self.read(max(1 << 20, self._size - self._position))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)

    def close(self) -> None:
        handle, self._handle = getattr(self, "_handle", None), None
        if handle:
            _lib.dataport_reader_close(handle)
        super().close()


_default_lock = threading.Lock()
_default: Optional[Context] = None


def default_context() -> Context:
    """The shared context used by the module-level functions (made on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Context()
        return _default


def resolve(uri: str) -> Dict[str, Any]:
    return default_context().resolve(uri)


def stat(uri: str) -> Dict[str, Any]:
    return default_context().stat(uri)


def ls(uri: str, recursive: bool = False) -> Iterator[Dict[str, Any]]:
    return default_context().ls(uri, recursive=recursive)


def open(uri: str, mode: str = "rb", buffering: int = -1):  # noqa: A001 (mirrors builtins.open)
    return default_context().open(uri, mode, buffering)


def copy(source: str, destination: str, progress=None, **options: Any) -> Dict[str, Any]:
    return default_context().copy(source, destination, progress=progress, **options)


def metrics() -> Dict[str, Any]:
    return default_context().metrics()
