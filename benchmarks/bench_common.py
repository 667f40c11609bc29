"""Shared pieces of dataport's benchmark harness: start Azurite, sign requests, generate SAS,
run a command while measuring wall time, time to first output line, CPU seconds and peak RSS.

Benchmark tooling only (stdlib Python); the product code under test is the dataport binary."""
import base64
import datetime
import hashlib
import hmac
import http.client
import json
import os
import socket
import statistics
import subprocess
import time
import urllib.parse

WELL_KNOWN_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
                  "K1SZFPTOtr/KBHBeksoGMGw==")
ACCOUNT = "devstoreaccount1"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Azurite:
    """An Azurite blob service on a free loopback port, in its own temporary folder."""

    def __init__(self, workdir, in_memory=False):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        os.makedirs(workdir, exist_ok=True)
        args = [os.path.join(ROOT, "tools/azurite/node_modules/.bin/azurite-blob"),
                "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
                "--skipApiVersionCheck", "--loose", "--disableTelemetry", "--silent"]
        args += ["--inMemoryPersistence"] if in_memory else ["--location", workdir]
        env = dict(os.environ, AZURITE_ACCOUNTS=f"{ACCOUNT}:{WELL_KNOWN_KEY}")
        self.log = open(os.path.join(workdir, "azurite.log"), "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("Azurite did not start; see " + self.log.name)

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def _rfc1123_now():
    return datetime.datetime.utcnow().strftime("%a, %d %b %Y %H:%M:%S GMT")


class BlobClient:
    """Minimal Shared Key client used to seed data (keep-alive, one connection per instance)."""

    def __init__(self, azurite):
        self.port = azurite.port
        self.key = base64.b64decode(WELL_KNOWN_KEY)
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def request(self, method, path, query=None, body=b"", headers=None):
        query = query or {}
        headers = dict(headers or {})
        headers["x-ms-date"] = _rfc1123_now()
        headers["x-ms-version"] = "2021-08-06"
        length = str(len(body)) if body else ""
        canon_headers = "".join(f"{k}:{v}\n" for k, v in sorted(
            (k.lower(), v) for k, v in headers.items() if k.lower().startswith("x-ms-")))
        quoted = urllib.parse.quote(f"/{ACCOUNT}{path}")
        canon_resource = f"/{ACCOUNT}{quoted}" + "".join(
            f"\n{k}:{v}" for k, v in sorted(query.items()))
        string_to_sign = "\n".join([method, "", "", length, "", headers.get("Content-Type", ""),
                                    "", "", "", "", "", ""]) + "\n" + canon_headers + canon_resource
        sig = base64.b64encode(hmac.new(self.key, string_to_sign.encode(), hashlib.sha256).digest())
        headers["Authorization"] = f"SharedKey {ACCOUNT}:{sig.decode()}"
        url = quoted + ("?" + urllib.parse.urlencode(query) if query else "")
        self.conn.request(method, url, body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status >= 300 and not (resp.status == 409 and method == "PUT" and "restype" in query):
            raise RuntimeError(f"{method} {path}: {resp.status} {data[:200]!r}")
        return resp.status, data

    def create_container(self, name):
        self.request("PUT", f"/{name}", {"restype": "container"})

    def put_blob(self, container, name, data):
        self.request("PUT", f"/{container}/{name}", body=data,
                     headers={"x-ms-blob-type": "BlockBlob", "Content-Type": ""})


def account_sas(azurite, hours=4):
    """An account SAS (all services' blob permissions) for peers such as rclone."""
    expiry = (datetime.datetime.utcnow() + datetime.timedelta(hours=hours)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    fields = {"sv": "2021-08-06", "ss": "b", "srt": "sco", "sp": "rwdlac", "se": expiry,
              "spr": "https,http"}
    string_to_sign = "\n".join([ACCOUNT, fields["sp"], fields["ss"], fields["srt"], "",
                                fields["se"], "", fields["spr"], fields["sv"], "", ""])
    sig = base64.b64encode(hmac.new(base64.b64decode(WELL_KNOWN_KEY), string_to_sign.encode(),
                                    hashlib.sha256).digest()).decode()
    fields["sig"] = sig
    return urllib.parse.urlencode(fields)


def run_measured(cmd, env=None, stdout_to=subprocess.PIPE):
    """Runs cmd; returns wall seconds, seconds to the first stdout line, CPU seconds, peak RSS
    (MiB) and the output line count."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout_to, stderr=subprocess.PIPE, env=env)
    first = None
    lines = 0
    if stdout_to == subprocess.PIPE:
        for _ in proc.stdout:
            if first is None:
                first = time.perf_counter() - start
            lines += 1
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return {"wall_s": wall, "first_s": first, "cpu_s": usage.ru_utime + usage.ru_stime,
            "rss_mib": usage.ru_maxrss / 1024.0, "lines": lines}


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def print_table(title, columns, rows):
    print(f"\n{title}")
    widths = [max(len(str(c)), *(len(str(r[i])) for r in rows)) for i, c in enumerate(columns)]
    print("  ".join(str(c).ljust(w) for c, w in zip(columns, widths)))
    for r in rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths)))


def dump_json(path, payload):
    with open(path, "w") as f:
        json.dump(payload, f, indent=2)
    print(f"\nJSON written to {path}")
