#!/usr/bin/env python3
"""Drives the C ABI through the Python ctypes binding (examples/python) for the secret sweep.

    capi_probe.py OUT_JSONL [resolve|stat|ls|read|download|upload]:URI[:LOCAL] ...

DATAPORT_LIBRARY names libdataport_c.so. Each step runs in one dataport.Context made from the
environment; its outcome is appended to OUT_JSONL as one JSON object: the result (resolve/stat
JSON, listed names, sha256 of bytes read) or the error (class, status code, the message from
dataport_last_error(), str() and repr() of the exception). Everything written here is scanned by
the sweep, so every error text of the C ABI is checked. Exit 0 when every step ran (a failing
call is an outcome, not a failure of the probe); 1 when the binding could not be loaded.
"""
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "examples", "python"))
import dataport  # noqa: E402


def step(ctx, kind, uri, local):
    if kind == "resolve":
        return ctx.resolve(uri)
    if kind == "stat":
        return ctx.stat(uri)
    if kind == "ls":
        return sorted(e["name"] for e in ctx.ls(uri, recursive=True))
    if kind == "read":
        with ctx.open(uri) as f:
            return {"sha256": hashlib.sha256(f.read()).hexdigest()}
    if kind in ("download", "upload"):
        src, dst = (uri, local) if kind == "download" else (local, uri)
        return ctx.copy(src, dst, recursive=True, create_container=True)
    raise SystemExit(f"capi_probe.py: unknown step kind '{kind}'")


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    with open(argv[1], "a", encoding="utf-8") as out:
        for spec in argv[2:]:
            kind, _, rest = spec.partition(":")
            uri, local = rest, None
            if kind in ("download", "upload"):
                uri, _, local = rest.rpartition(":")
            record = {"step": kind}
            try:
                with dataport.Context() as ctx:
                    record["result"] = step(ctx, kind, uri, local)
                record["ok"] = True
            except dataport.Error as e:
                record.update(ok=False, error=type(e).__name__, code=e.code, message=e.message,
                              text=str(e), repr=repr(e))
            out.write(json.dumps(record, default=str) + "\n")
            print(f"capi {kind}: {'ok' if record['ok'] else record['error']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
