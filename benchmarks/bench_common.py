"""Shared pieces of dataport's benchmark harness: start Azurite, sign requests, generate SAS,
run a command while measuring wall time, time to first output line, CPU seconds and peak RSS.

Benchmark tooling only (stdlib Python); the product code under test is the dataport binary."""
import atexit
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
        self.args = [os.path.join(ROOT, "tools/azurite/node_modules/.bin/azurite-blob"),
                     "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
                     "--skipApiVersionCheck", "--loose", "--disableTelemetry", "--silent"]
        self.args += ["--inMemoryPersistence"] if in_memory else ["--location", workdir]
        self.log = open(os.path.join(workdir, "azurite.log"), "ab")
        self._start()

    def _start(self):
        env = dict(os.environ, AZURITE_ACCOUNTS=f"{ACCOUNT}:{WELL_KNOWN_KEY}")
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("Azurite did not start; see " + self.log.name)

    def restart(self):
        """Stops the service and starts it again on the same port and folder (an on-disk
        Azurite keeps its blobs). CPU seconds count from zero again."""
        self.stop()
        self._start()

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
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
        for attempt in (0, 1):
            try:
                self.conn.request(method, url, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # Azurite closes keep-alive connections idle for 5 s: reconnect once.
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt == 1:
                    raise
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
    (MiB, from GNU time's %M: ru_maxrss of a child forked from Python would include Python's
    own) and the output line count."""
    import tempfile
    with tempfile.NamedTemporaryFile(mode="r") as rss_file:
        wrapped = ["/usr/bin/time", "-f", "%M", "-o", rss_file.name] + list(cmd)
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, stdout=stdout_to, stderr=subprocess.PIPE, env=env)
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
        rss_lines = rss_file.read().strip().splitlines()
        rss_mib = int(rss_lines[-1]) / 1024.0 if rss_lines and rss_lines[-1].isdigit() else None
    return {"wall_s": wall, "first_s": first, "cpu_s": usage.ru_utime + usage.ru_stime,
            "rss_mib": rss_mib, "lines": lines}


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


# ---------------------------------------------------------------------------------------------
# Additions for transfer_bench.py: nginx launcher, process-tree CPU, a measured child runner that
# never deadlocks on pipes, interleaving, hashing, SAS redaction and the JSON result schema.
# ---------------------------------------------------------------------------------------------
import concurrent.futures  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402

RESULT_SCHEMA = "dataport-transfer-bench/1"
RESULT_SCHEMA_DOC = {
    "schema": "always " + RESULT_SCHEMA,
    "machine": "nproc, load average at start and end, kernel, tool versions",
    "args": "the command-line arguments of the run",
    "workloads": "name -> {files, bytes}",
    "runs": "one record per measured run: direction (download|upload), server, workload, "
            "contender, round, bytes, files, wall_s, mb_s (1e6 B/s), mib_s (2^20 B/s), cpu_s "
            "(client user+sys from wait4), rss_mib (client peak RSS from wait4), server_cpu_s "
            "(server process tree, /proc stat delta), ok, error, cmd (SAS signatures redacted), "
            "tool_summary (dataport --json output when available)",
    "summary": "one record per (direction, server, workload, contender): medians, spread, "
               "ratio_to_best_peer (MB/s over the best non-dataport median)",
}


def redact(text):
    """Hides SAS signatures and account keys in anything recorded or printed."""
    text = re.sub(r"(sig=)[^&\s\"']+", r"\1REDACTED", text)
    return re.sub(r"(AccountKey=)[^;\s\"']+", r"\1REDACTED", text)


def connection_string(azurite):
    return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={WELL_KNOWN_KEY};"
            f"BlobEndpoint={azurite.url}/{ACCOUNT};")


def _proc_cpu(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), int(fields[1])


def tree_cpu_seconds(root_pid):
    """User+system CPU seconds of root_pid and its live descendants (e.g. nginx's workers)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                pass
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(_proc_cpu(pid)[0] for pid in tree)


def make_self_signed_cert(workdir):
    """A self-signed certificate for 127.0.0.1 (SAN IP and DNS localhost); returns (cert, key)."""
    cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


class Nginx:
    """nginx serving data_root under /files/ (autoindex on) over http and https on free ports."""

    def __init__(self, workdir, data_root):
        os.makedirs(workdir, exist_ok=True)
        self.workdir = workdir
        self.http_port, self.https_port = free_port(), free_port()
        while self.https_port == self.http_port:
            self.https_port = free_port()
        self.cert, self.key = make_self_signed_cert(workdir)
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "nginx_bench.conf")) as f:
            conf = f.read()
        for token, value in {"@WORKDIR@": workdir, "@DATA_ROOT@": os.path.abspath(data_root),
                             "@HTTP_PORT@": str(self.http_port),
                             "@HTTPS_PORT@": str(self.https_port)}.items():
            conf = conf.replace(token, value)
        self.conf = os.path.join(workdir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.log = open(os.path.join(workdir, "nginx.out"), "wb")
        self.proc = subprocess.Popen(["nginx", "-c", self.conf, "-p", workdir], stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.http_port), 0.2).close()
                socket.create_connection(("127.0.0.1", self.https_port), 0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("nginx did not start; see " + self.log.name + " and "
                           + os.path.join(workdir, "error.log"))

    def url(self, https=False):
        return (f"https://127.0.0.1:{self.https_port}" if https
                else f"http://127.0.0.1:{self.http_port}") + "/files"

    def cpu_seconds(self):
        return tree_cpu_seconds(self.proc.pid)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


class ChildFailed(RuntimeError):
    """A measured command exited non-zero; carries the (redacted) command and its stderr tail."""

    def __init__(self, cmd, code, stderr_tail, stdout_tail):
        self.cmd, self.code, self.stderr_tail, self.stdout_tail = cmd, code, stderr_tail, stdout_tail
        super().__init__(f"exit {code}: {redact(' '.join(cmd))}\n{redact(stderr_tail)}")


GNU_TIME = "/usr/bin/time"


def settle_writeback(path):
    """Flushes the dirty pages of the file system that holds `path` (syncfs), so that a timed run
    does not pay for the writeback of the run before it: `dataport cp` of 1 GiB ranged from 414 to
    1372 MB/s within one mount_bench row without this. syncfs, not sync: sync would also wait on
    every FUSE mount, and a hung one would hang the harness."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        libc.syncfs(fd)
    finally:
        os.close(fd)


def run_child(cmd, env=None, cwd=None, timeout=1800, logdir=None):
    """Runs cmd with stdout/stderr in files (no pipe deadlocks), measures wall time and, through
    wait4, the child's user+sys CPU seconds. Returns a dict with wall_s, cpu_s, rss_mib and
    stdout (text, at most 1 MiB). Raises ChildFailed on a non-zero exit.

    Peak RSS: Linux keeps ru_maxrss across execve, so a child forked from this (large) Python
    process reports at least Python's RSS. The command therefore runs under GNU time (a small
    process that forks the tool itself); its %M is the tool's own peak RSS. Without
    /usr/bin/time, wait4's figure is used and is an upper bound."""
    import tempfile
    with tempfile.TemporaryFile(dir=logdir) as out, tempfile.TemporaryFile(dir=logdir) as err, \
            tempfile.NamedTemporaryFile(dir=logdir, mode="r") as rss_file:
        wrapped = ([GNU_TIME, "-f", "%M", "-o", rss_file.name] + list(cmd)
                   if os.access(GNU_TIME, os.X_OK) else list(cmd))
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env,
                                cwd=cwd, start_new_session=True)
        deadline = time.monotonic() + timeout
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                timed_out = True
                os.killpg(proc.pid, 9)  # the session holds only this command (and GNU time)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        stdout = out.read(1 << 20).decode(errors="replace")
        err.seek(0)
        stderr = err.read().decode(errors="replace")
        rss_mib = usage.ru_maxrss / 1024.0
        lines = rss_file.read().strip().splitlines()
        if wrapped[0] == GNU_TIME and lines and lines[-1].strip().isdigit():
            rss_mib = int(lines[-1]) / 1024.0
    if timed_out:
        raise ChildFailed(cmd, "timeout", f"killed after {timeout} s\n" + stderr[-3000:], stdout[-1000:])
    if proc.returncode != 0:
        raise ChildFailed(cmd, proc.returncode, stderr[-3000:], stdout[-1000:])
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "rss_mib": rss_mib, "stdout": stdout, "stderr": stderr[-3000:]}


def interleave(rounds, contenders):
    """Yields (round, contender) in the order A B C A B C ...: every round runs each contender
    once, so slow drift of the server (Azurite's garbage collection) hits all of them alike."""
    for r in range(rounds):
        for c in contenders:
            yield r, c


def sha256_file(path, bufsize=4 << 20):
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(bufsize)
        view = memoryview(buf)
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(view[:n])
    return h.hexdigest()


def list_tree(root):
    """Relative paths ('/'-separated) of every non-directory entry under root."""
    found = []
    for dirpath, _, files in os.walk(root):
        for name in files:
            found.append(os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/"))
    return sorted(found)


def verify_tree(root, expected, threads=2):
    """Checks that root holds exactly the files in expected ({relpath: sha256}) with those
    hashes. Returns a list of problems (empty when everything matches)."""
    found = set(list_tree(root))
    missing, unexpected = sorted(set(expected) - found), sorted(found - set(expected))
    problems = []
    if missing:
        problems.append(f"{len(missing)} of {len(expected)} files missing (e.g. {missing[:3]})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected files (e.g. {unexpected[:3]})")
    present = sorted(set(expected) & found)
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        digests = pool.map(lambda p: sha256_file(os.path.join(root, p)), present)
        for path, digest in zip(present, digests):
            if digest != expected[path]:
                problems.append(f"sha256 mismatch: {path} (got {digest[:16]}..., "
                                f"want {expected[path][:16]}...)")
    return problems


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)


_DISCARDED = []


def discard_tree(path):
    """Moves `path` aside (a rename, next to it) and deletes it when the benchmark exits.

    Deleting between runs penalises the next run on this VM: its ext4 has no journal, and without
    one the kernel's inode allocator skips every inode freed in the last 60 s (360 s while its
    inode-table block is dirty), looking each up in the buffer cache (ext4 recently_deleted()). Thousands of cache files removed before a run
    made each file the next contender created cost a scan past all of them: 27 % of the dataport
    mount daemon's CPU in the small-files row went there (perf, stop 12). Real training nodes
    start with an empty cache disk, and ext4 with a journal (the default) skips no inodes."""
    if not os.path.lexists(path):
        return
    parent = os.path.join(os.path.dirname(os.path.abspath(path)), ".discarded")
    os.makedirs(parent, exist_ok=True)
    aside = os.path.join(parent, f"{os.path.basename(path)}-{os.getpid()}-{len(_DISCARDED)}")
    os.rename(path, aside)
    if not _DISCARDED:
        atexit.register(remove_discarded)
    _DISCARDED.append(aside)


def remove_discarded():
    """Deletes what discard_tree() moved aside (also registered to run at exit)."""
    while _DISCARDED:
        aside = _DISCARDED.pop()
        shutil.rmtree(aside, ignore_errors=True)
        try:
            os.rmdir(os.path.dirname(aside))
        except OSError:
            pass


def summarize(values):
    """median, min, max of the non-None values (None when there are none)."""
    values = [v for v in values if v is not None]
    if not values:
        return None, None, None
    return statistics.median(values), min(values), max(values)


def put_file_as_blocks(azurite, container, name, path, block_size=8 << 20, threads=4,
                       content_md5_b64=None):
    """Seeds one big blob from a local file: parallel Put Block, then Put Block List (setting
    the blob's Content-MD5 when given, so MD5-checking peers such as rclone verify it)."""
    size = os.path.getsize(path)
    count = max(1, (size + block_size - 1) // block_size)
    ids = [base64.b64encode(f"block-{i:08d}".encode()).decode() for i in range(count)]

    def worker(part):
        client = BlobClient(azurite)
        with open(path, "rb") as f:
            for i in range(part, count, threads):
                f.seek(i * block_size)
                client.request("PUT", f"/{container}/{name}",
                               {"comp": "block", "blockid": ids[i]}, body=f.read(block_size))
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads)))
    body = ("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>"
            + "".join(f"<Latest>{i}</Latest>" for i in ids) + "</BlockList>").encode()
    headers = {"x-ms-blob-content-md5": content_md5_b64} if content_md5_b64 else {}
    BlobClient(azurite).request("PUT", f"/{container}/{name}", {"comp": "blocklist"}, body=body,
                                headers=headers)


def list_blob_names(azurite, container, prefix=""):
    """Every blob name in container under prefix (List Blobs, following markers)."""
    client, names, marker = BlobClient(azurite), [], ""
    while True:
        query = {"restype": "container", "comp": "list", "maxresults": "5000"}
        if prefix:
            query["prefix"] = prefix
        if marker:
            query["marker"] = marker
        _, data = client.request("GET", f"/{container}", query)
        text = data.decode()
        names += [html_unescape(n) for n in re.findall(r"<Name>(.*?)</Name>", text)]
        m = re.search(r"<NextMarker>(.+?)</NextMarker>", text)
        if not m:
            return names
        marker = html_unescape(m.group(1))


def html_unescape(text):
    import html
    return html.unescape(text)


def blob_sha256(azurite, sas, container, name, conn=None):
    """Streams one blob (GET with the account SAS) through sha256; returns the hex digest."""
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", azurite.port, timeout=120)
    try:
        conn.request("GET", urllib.parse.quote(f"/{ACCOUNT}/{container}/{name}") + "?" + sas)
        resp = conn.getresponse()
        h = hashlib.sha256()
        while True:
            chunk = resp.read(4 << 20)
            if not chunk:
                break
            h.update(chunk)
        if resp.status != 200:
            raise RuntimeError(f"GET {container}/{name}: HTTP {resp.status}")
        return h.hexdigest()
    finally:
        if own:
            conn.close()


def verify_container(azurite, sas, container, expected, threads=3):
    """Checks that container holds exactly the blobs in expected ({name: sha256}) with those
    contents. Returns a list of problems (empty when everything matches)."""
    found = set(list_blob_names(azurite, container))
    missing, unexpected = sorted(set(expected) - found), sorted(found - set(expected))
    problems = []
    if missing:
        problems.append(f"{len(missing)} of {len(expected)} blobs missing (e.g. {missing[:3]})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected blobs (e.g. {unexpected[:3]})")
    present = sorted(set(expected) & found)

    def worker(part):
        conn = http.client.HTTPConnection("127.0.0.1", azurite.port, timeout=120)
        bad = []
        for n in present[part::threads]:
            digest = blob_sha256(azurite, sas, container, n, conn)
            if digest != expected[n]:
                bad.append(f"sha256 mismatch: {container}/{n}")
        conn.close()
        return bad
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for bad in pool.map(worker, range(threads)):
            problems += bad
    return problems
