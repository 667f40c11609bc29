"""An fsspec filesystem over dataport, so fsspec-based code (pandas, pyarrow, dask) can read
azureml://, abfss://, wasbs:// and https:// URIs through dataport's resolver and caches.

    import fsspec, dataport.fs   # importing registers the protocols
    with fsspec.open("azureml://datastores/ds/paths/data.csv") as f: ...
    pandas.read_csv("abfss://fs@acct.dfs.core.windows.net/data.csv")

Read-only: put/rm raise NotImplementedError. Paths are full URIs (the protocol is kept), because
dataport resolves URIs itself.
"""
from __future__ import annotations

import fsspec
from fsspec.spec import AbstractFileSystem

from . import Context, NotFound, default_context

PROTOCOLS = ("azureml", "abfs", "abfss", "wasb", "wasbs", "dataport")


class DataportFileSystem(AbstractFileSystem):
    protocol = PROTOCOLS
    root_marker = ""

    def __init__(self, context: Context | None = None, **kwargs):
        super().__init__(**kwargs)
        self._context = context or default_context()

    @classmethod
    def _strip_protocol(cls, path):
        # dataport needs the whole URI; only "dataport::" style prefixes would be removed.
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = path.rstrip("/")
        if path.startswith("dataport://"):
            path = path[len("dataport://"):]
        return path

    @staticmethod
    def _entry(uri: str, info: dict) -> dict:
        return {"name": uri, "size": info.get("size", 0),
                "type": "directory" if info.get("is_directory") else "file",
                "etag": info.get("etag"), "last_modified": info.get("last_modified")}

    def ls(self, path, detail=True, **kwargs):
        path = self._strip_protocol(path)
        entries = [self._entry(f"{path}/{e['name']}", e) for e in self._context.ls(path)]
        if not entries:
            info = self.info(path)
            if info["type"] == "file":
                entries = [info]
        return entries if detail else [e["name"] for e in entries]

    def info(self, path, **kwargs):
        path = self._strip_protocol(path)
        try:
            return self._entry(path, self._context.stat(path))
        except NotFound as error:
            raise FileNotFoundError(path) from error

    def _open(self, path, mode="rb", block_size=None, autocommit=True, cache_options=None,
              **kwargs):
        if mode != "rb":
            raise NotImplementedError("dataport's fsspec filesystem is read-only")
        return self._context.open(self._strip_protocol(path), "rb")

    def cat_file(self, path, start=None, end=None, **kwargs):
        with self._context.open(self._strip_protocol(path), "rb", buffering=0) as f:
            size = f.size
            start = 0 if start is None else (start if start >= 0 else size + start)
            end = size if end is None else (end if end >= 0 else size + end)
            return f.pread(start, max(0, end - start))


for _protocol in PROTOCOLS:
    fsspec.register_implementation(_protocol, DataportFileSystem, clobber=True)
