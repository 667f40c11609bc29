#!/usr/bin/env python3
"""Mount benchmark: reading through `dataport mount` against `rclone mount` (--vfs-cache-mode off
and full) and against `dataport cp` of the same data, from one fresh server, in the same run,
interleaved (A B C D A B C D ...), every read verified by sha256.

Servers (--server): azurite (default; the blobs of one container; rclone's azureblob backend
through an account SAS URL) or nginx (the same files over http with autoindex; rclone's http
backend). Azurite is the bottleneck of every row here (3.5-5 CPU s per GiB served on the same
two cores), so its rows compare how little CPU each client takes from it; nginx costs a few
percent of a core, so its rows show what the FUSE layer and the reader themselves can do.

Rows (--rows, names or numbers):
  1 seq         dd if=MNT/big.bin of=/dev/null bs=1M (one sequential reader)
  2 quarters    4 Python threads, one shared fd, each reads one quarter with 1 MiB preads
  3 small       the small files read once by 16 Python threads (cold: fresh mount and cache)
  4 small-warm  the same files read a second time on the same mount (warm caches)
  5 list        os.scandir of the many-entry folder: time to the first entry and in total
  6 random      500 preads of 64 KiB at random offsets of big.bin (one thread, a fresh mount)
Data (sizes multiplied by --scale): big.bin of 1 GiB; 2000 x 500 KiB under small/ (count
scaled, min 20); 20,000 blobs of 0-16 bytes under many/ (count scaled, min 200).

Every mount run gets a fresh mountpoint and a fresh --cache-dir (cold), except row 4, which is
the second pass on row 3's mount. `dataport cp` is the download reference for rows 1-3. Row 6
is checked against the same reads of the local copy of big.bin (sha256 of the bytes read).

Contenders: `dataport mount` runs with the defaults (both cache tiers); `dataport mount (preset)`
with the scenario preset the platform recommends for the row (rows 1-4 only): large-sequential
(row 1), large-parallel (row 2), small-files-once (rows 3-4): block mode without the disk and RAM
tiers, so data read once costs no cache writes.

Usage:
  benchmarks/mount_bench.py --dataport build/dataport                   # full run
  benchmarks/mount_bench.py --dataport build/dataport --scale 0.05 --rounds 1   # smoke run
Units: MB/s = 10^6 bytes per second; MiB = 2^20 bytes; GiB = 2^30 bytes."""
import argparse
import concurrent.futures
import hashlib
import http.client
import json
import os
import platform
import random
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_common as bc  # noqa: E402

MIB = 1 << 20
GIB = 1 << 30
CONTAINER = "bench"
SMALL_SIZE = 500 * 1024
REQUEST = 1 << 20
RANDOM_SIZE, RANDOM_COUNT = 64 << 10, 500
ROWS = [("seq", "1 seq read (dd bs=1M)"),
        ("quarters", "2 4 threads x quarter"),
        ("small", "3 small files, 1st read"),
        ("small-warm", "4 small files, 2nd read"),
        ("list", "5 scandir"),
        ("random", "6 random 64 KiB reads")]
ROW_LABEL = dict(ROWS)
DP_MOUNT, DP_PRESET, RC_OFF, RC_FULL, DP_CP = (
    "dataport mount", "dataport mount (preset)", "rclone mount (vfs off)",
    "rclone mount (vfs full)", "dataport cp")
CONTENDERS = [DP_MOUNT, DP_PRESET, RC_OFF, RC_FULL, DP_CP]
DATAPORT_MOUNTS = (DP_MOUNT, DP_PRESET)
# The platform's recommended preset per row group (docs: the reference's scenarios).
PRESET_FOR_GROUP = {"seq": "large-sequential", "quarters": "large-parallel",
                    "small": "small-files-once"}
SCHEMA = "dataport-mount-bench/1"
SCHEMA_DOC = {
    "schema": "always " + SCHEMA,
    "machine": "nproc, load average at start and end, kernel, tool versions",
    "args": "the command-line arguments of the run",
    "data": "big (size, sha256), small (count, size each), list (entries)",
    "runs": "one record per measured run: row, contender, round, bytes, files, wall_s (the read "
            "alone for mounts, the whole process for dataport cp), first_s (row list: time to "
            "the first entry), rate (MB/s = 1e6 B/s, or entries/s for row list), mount_s (mount "
            "command until the mountpoint answers), mount_cpu_s (mount daemon user+sys during the "
            "read), mount_cpu_total_s (daemon CPU from start to unmount), reader_cpu_s (the "
            "reading process during the read; dataport cp: its whole CPU), client_cpu_s "
            "(mount_cpu_s + reader_cpu_s), rss_mib (mount daemon VmHWM after the read; dataport "
            "cp: its peak RSS), server_cpu_s (the server during the read), ok, error, cmd, mount_cmd "
            "(SAS signatures redacted), mount_log_tail (non-empty mount log), tool_summary",
    "summary": "one record per (row, contender): medians, spread, max RSS, and on the dataport "
               "mount record ratio_to_best_rclone and ratio_to_dataport_cp (rate over rate)",
}


# ---------------------------------------------------------------------------------------------
# The reader child: `mount_bench.py _reader MODE ...` runs one read pattern and writes a JSON
# result (its own wall and CPU seconds for the read alone, optional sha256s) to --out.
# ---------------------------------------------------------------------------------------------
def reader_main(argv):
    import resource
    ap = argparse.ArgumentParser(prog="mount_bench.py _reader")
    ap.add_argument("mode", choices=["ranges", "files", "scandir", "random"])
    ap.add_argument("path", help="file (ranges), list of files (files) or folder (scandir)")
    ap.add_argument("--parts", type=int, default=1)
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--hash", action="store_true")
    ap.add_argument("--count", type=int, default=RANDOM_COUNT)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)

    def cpu():
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return ru.ru_utime + ru.ru_stime
    result = {}
    if a.mode == "files":
        with open(a.path) as f:
            paths = [line.rstrip("\n") for line in f if line.strip()]
    cpu0, t0 = cpu(), time.perf_counter()
    if a.mode == "ranges":
        fd = os.open(a.path, os.O_RDONLY)
        size = os.fstat(fd).st_size
        bounds = [size * k // a.parts for k in range(a.parts + 1)]

        def part(k):
            buf = bytearray(REQUEST)
            view = memoryview(buf)
            h = hashlib.sha256() if a.hash else None
            off, end = bounds[k], bounds[k + 1]
            while off < end:
                n = os.preadv(fd, [view[:min(REQUEST, end - off)]], off)
                if n <= 0:
                    raise EOFError(f"short read at offset {off} of {size}")
                if h:
                    h.update(view[:n])
                off += n
            return h.hexdigest() if h else None
        with concurrent.futures.ThreadPoolExecutor(a.parts) as pool:
            result["part_sha256"] = list(pool.map(part, range(a.parts)))
        os.close(fd)
        result["bytes"], result["files"] = size, 1
    elif a.mode == "files":
        def one(path):
            buf = bytearray(REQUEST)
            view = memoryview(buf)
            h = hashlib.sha256() if a.hash else None
            total = 0
            fd = os.open(path, os.O_RDONLY)
            try:
                while True:
                    n = os.readv(fd, [view])
                    if not n:
                        break
                    if h:
                        h.update(view[:n])
                    total += n
            finally:
                os.close(fd)
            return total, (h.hexdigest() if h else None)
        with concurrent.futures.ThreadPoolExecutor(a.threads) as pool:
            done = list(pool.map(one, paths))
        result["bytes"], result["files"] = sum(n for n, _ in done), len(done)
        if a.hash:
            result["sha256"] = {p: d for p, (_, d) in zip(paths, done)}
    elif a.mode == "random":
        digest = random_reads(a.path, a.count, a.seed, a.hash)
        result["bytes"], result["files"] = a.count * RANDOM_SIZE, 1
        if a.hash:
            result["sha256"] = digest
    else:
        names, first = [], None
        with os.scandir(a.path) as it:
            for entry in it:
                if first is None:
                    first = time.perf_counter() - t0
                names.append(entry.name)
        result.update(first_s=first, names=names, entries=len(names), bytes=0, files=len(names))
    result["wall_s"], result["cpu_s"] = time.perf_counter() - t0, cpu() - cpu0
    with open(a.out, "w") as f:
        json.dump(result, f)


# ---------------------------------------------------------------------------------------------
# Data: generated once per scale under WORKDIR/data-scale<F>/ and reused; seeded into Azurite.
# ---------------------------------------------------------------------------------------------
def data_shape(scale):
    return {"big_size": max(MIB, int(GIB * scale)),
            "small_count": max(20, round(2000 * scale)),
            "list_count": max(200, round(20000 * scale))}


def range_sha256(path, start, end):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(start)
        left = end - start
        while left:
            block = f.read(min(left, 8 * MIB))
            h.update(block)
            left -= len(block)
    return h.hexdigest()


def random_reads(path, count, seed, want_hash):
    """`count` preads of RANDOM_SIZE at offsets drawn from Random(seed); the sha256 of the bytes
    read, in order (when asked)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        rng = random.Random(seed)
        buf = bytearray(RANDOM_SIZE)
        view = memoryview(buf)
        h = hashlib.sha256() if want_hash else None
        for _ in range(count):
            off = rng.randrange(0, size - RANDOM_SIZE + 1)
            n = os.preadv(fd, [view], off)
            if n != RANDOM_SIZE:
                raise EOFError(f"short read at offset {off} of {size}: {n} bytes")
            if h:
                h.update(view)
        return h.hexdigest() if h else None
    finally:
        os.close(fd)


def list_content(i):
    return b"x" * (i % 17)


def prepare_data(root, scale, fresh):
    """Random big.bin and small/fNNNNN.bin under root (reused unless --fresh-data); returns the
    manifest {big: {size, sha256, md5, parts: {"1": [...], "4": [...]}}, small: {rel: sha256},
    list_count}."""
    shape = data_shape(scale)
    path = os.path.join(root, "manifest.json")
    if os.path.exists(path) and not fresh:
        with open(path) as f:
            manifest = json.load(f)
        big = os.path.join(root, "big.bin")
        if (manifest.get("shape") == shape and os.path.exists(big)
                and os.path.getsize(big) == shape["big_size"]
                and all(os.path.exists(os.path.join(root, rel)) for rel in manifest["small"])):
            return manifest
    bc.remove_tree(root)
    os.makedirs(os.path.join(root, "small"))
    size = shape["big_size"]
    print(f"generating data: big.bin {size / MIB:.0f} MiB + {shape['small_count']} x 500 KiB "
          "of random bytes ...", flush=True)
    md5, left = hashlib.md5(), size
    with open(os.path.join(root, "big.bin"), "wb") as f:
        while left:
            block = os.urandom(min(left, 8 * MIB))
            f.write(block)
            md5.update(block)
            left -= len(block)
    big = os.path.join(root, "big.bin")
    parts = {str(n): [range_sha256(big, size * k // n, size * (k + 1) // n) for k in range(n)]
             for n in (4,)}
    parts["1"] = [bc.sha256_file(big)]
    small = {}
    for i in range(shape["small_count"]):
        rel = f"small/f{i:05}.bin"
        block = os.urandom(SMALL_SIZE)
        with open(os.path.join(root, rel), "wb") as f:
            f.write(block)
        small[rel] = hashlib.sha256(block).hexdigest()
    import base64
    manifest = {"shape": shape,
                "big": {"size": size, "sha256": parts["1"][0], "parts": parts,
                        "md5": base64.b64encode(md5.digest()).decode()},
                "small": small, "list_count": shape["list_count"]}
    with open(path, "w") as f:
        json.dump(manifest, f)
    return manifest


def write_listing_files(root, manifest):
    """The many/ folder as files under the served root (nginx), made once per data folder."""
    folder = os.path.join(root, "many")
    marker = os.path.join(folder, ".complete")
    if os.path.exists(marker):
        return
    os.makedirs(folder, exist_ok=True)
    for i in range(manifest["list_count"]):
        with open(os.path.join(folder, f"f{i:06}.bin"), "wb") as f:
            f.write(list_content(i))
    open(marker, "w").close()


def seed(az, root, manifest):
    t0 = time.time()
    client = bc.BlobClient(az)
    client.create_container(CONTAINER)
    bc.put_file_as_blocks(az, CONTAINER, "big.bin", os.path.join(root, "big.bin"),
                          content_md5_b64=manifest["big"]["md5"])
    small = sorted(manifest["small"])
    count = manifest["list_count"]

    def worker(part):
        c = bc.BlobClient(az)
        for rel in small[part::8]:
            with open(os.path.join(root, rel), "rb") as f:
                c.put_blob(CONTAINER, rel, f.read())
        for i in range(part, count, 8):
            c.put_blob(CONTAINER, f"many/f{i:06}.bin", list_content(i))
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(worker, range(8)))
    print(f"seeded in {time.time() - t0:.0f} s", flush=True)


# ---------------------------------------------------------------------------------------------
# Mounts
# ---------------------------------------------------------------------------------------------
ACTIVE = []  # started MountSessions, unmounted on exit


def proc_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def pids_with_arg(arg, first):
    """Processes whose argv holds `first` and, later, exactly `arg` (`pgrep -f` on the
    mountpoint, without regex pitfalls)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if first in argv and arg in argv and proc_alive(int(entry)):
            found.append(int(entry))
    return found


def vm_hwm_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def lazy_unmount(path):
    cmd = ["umount", "-l", path] if os.geteuid() == 0 else ["fusermount3", "-u", "-z", path]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def sweep_stale_mounts(under):
    """Lazily unmounts anything mounted below `under` (left by an interrupted earlier run)."""
    with open("/proc/mounts") as f:
        points = [line.split()[1].replace("\\040", " ") for line in f]
    for p in points:
        if p.startswith(under.rstrip("/") + "/"):
            print(f"unmounting stale mount {p}", flush=True)
            lazy_unmount(p)


class MountSession:
    """One dataport or rclone mount of the container on a fresh mountpoint and cache folder."""

    def __init__(self, bench, contender, tag, group):
        self.b, self.contender, self.tag, self.group = bench, contender, tag, group
        w = bench.args.workdir
        self.mnt = os.path.join(w, "mnt", tag)
        self.cache = os.path.join(w, "cache", tag)
        self.log = os.path.join(w, "logs", tag + ".log")
        self.pid, self.proc, self.mount_s, self.cmd = None, None, None, []
        self.fuse_dev, self.hung = None, False  # the FUSE connection; a read on it timed out

    def start(self):
        a = self.b.args
        bc.discard_tree(self.cache)
        for path in (self.log, self.log + ".out"):
            if os.path.exists(path):
                os.remove(path)
        os.makedirs(self.mnt, exist_ok=True)
        os.makedirs(os.path.dirname(self.log), exist_ok=True)
        t0 = time.perf_counter()
        if self.contender in DATAPORT_MOUNTS:
            preset = (["--preset", PRESET_FOR_GROUP[self.group]] if self.contender == DP_PRESET
                      else [])
            self.cmd = [a.dataport, "mount", self.b.container_url, self.mnt, "--cache-dir",
                        self.cache, "--log-file", self.log] + preset + a.mount_arg
            ACTIVE.append(self)
            p = subprocess.run(self.cmd, env=self.b.env, capture_output=True, text=True,
                               timeout=120, stdin=subprocess.DEVNULL)
            if p.returncode != 0:
                raise RuntimeError(f"dataport mount failed ({p.returncode}): {p.stderr.strip()}")
            pids = pids_with_arg(self.mnt, "mount")
            if len(pids) != 1:
                raise RuntimeError(f"cannot identify the dataport mount daemon (pids {pids})")
            self.pid = pids[0]
        else:
            mode = "off" if self.contender == RC_OFF else "full"
            if self.b.sas_url:
                remote = ["--azureblob-sas-url", self.b.sas_url, f":azureblob:{CONTAINER}"]
            else:
                remote = ["--http-url", self.b.container_url + "/", ":http:"]
            self.cmd = ["rclone", "mount", "--config", "/dev/null", "--read-only"] + remote + [
                        self.mnt, "--vfs-cache-mode", mode, "--cache-dir", self.cache,
                        "--log-file", self.log, "--log-level", "NOTICE"]
            ACTIVE.append(self)
            with open(self.log + ".out", "wb") as out:
                self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=out,
                                             stderr=subprocess.STDOUT, start_new_session=True)
            self.pid = self.proc.pid
        deadline = time.monotonic() + 60
        while not os.path.ismount(self.mnt):
            if not proc_alive(self.pid):
                raise RuntimeError(f"{self.contender} exited before the mount answered: "
                                   f"{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.contender}: the mount did not answer within 60 s")
            time.sleep(0.02)
        self.mount_s = time.perf_counter() - t0
        self.fuse_dev = os.stat(self.mnt).st_dev  # now, while the daemon answers

    def abort(self):
        """Aborts the FUSE connection (fusectl): every request on it fails at once, so readers
        stuck in the kernel waiting for a hung daemon can die, and the mount can be detached
        without a stat of it (which would hang too). Returns a description."""
        self.hung = True
        if self.fuse_dev is None:
            return "no FUSE connection recorded"
        path = f"/sys/fs/fuse/connections/{os.minor(self.fuse_dev)}/abort"
        try:
            with open(path, "w") as f:
                f.write("1")
            return f"aborted the FUSE connection ({path})"
        except OSError as e:
            return f"could not abort the FUSE connection ({path}): {e}"

    def cpu(self):
        return bc.tree_cpu_seconds(self.pid)

    def alive(self):
        return proc_alive(self.pid)

    def log_tail(self, limit=1500):
        text = ""
        for path in (self.log, self.log + ".out"):
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    text += f.read()
        return bc.redact(text.strip()[-limit:])

    def stop(self):
        """Unmounts, waits for the daemon to end (TERM, then KILL after 20 s), removes the cache.
        Returns a problem description or None."""
        problem = None
        if self in ACTIVE:
            ACTIVE.remove(self)
        if self.hung:  # a stat of the mountpoint could hang: detach it without asking
            lazy_unmount(self.mnt)
        elif os.path.ismount(self.mnt):
            if self.contender in DATAPORT_MOUNTS:
                try:
                    p = subprocess.run([self.b.args.dataport, "unmount", self.mnt],
                                       capture_output=True, text=True, timeout=60)
                    if p.returncode != 0:
                        problem = f"dataport unmount failed ({p.returncode}): {p.stderr.strip()}"
                except (OSError, subprocess.TimeoutExpired) as e:
                    problem = f"dataport unmount failed: {e}"
                if os.path.ismount(self.mnt):
                    lazy_unmount(self.mnt)
            else:
                lazy_unmount(self.mnt)
        if self.pid:
            deadline = time.monotonic() + 20
            while proc_alive(self.pid) and time.monotonic() < deadline:
                if self.proc:
                    self.proc.poll()
                time.sleep(0.05)
            if proc_alive(self.pid):
                problem = (problem or "") + f" {self.contender} daemon still alive 20 s after " \
                    "unmount: SIGTERM"
                for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
                    try:
                        os.kill(self.pid, sig)
                    except ProcessLookupError:
                        break
                    deadline = time.monotonic() + wait
                    while proc_alive(self.pid) and time.monotonic() < deadline:
                        if self.proc:
                            self.proc.poll()
                        time.sleep(0.05)
            if self.proc:
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    pass
        bc.discard_tree(self.cache)
        try:
            os.rmdir(self.mnt)
        except OSError:
            pass
        return problem


# ---------------------------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------------------------
def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class Bench:
    def __init__(self, args, manifest, server, data_root):
        """`server`: a bench_common.Azurite (the container) or bench_common.Nginx (the files)."""
        self.args, self.manifest, self.data_root = args, manifest, data_root
        self.az = server if isinstance(server, bc.Azurite) else None
        self.server = server
        self.runs, self.failures = [], []
        if self.az:
            self.container_url = f"{server.url}/{bc.ACCOUNT}/{CONTAINER}"
            self.sas_url = f"{server.url}/{bc.ACCOUNT}?{bc.account_sas(server)}"
            self.env = dict(os.environ,
                            AZURE_STORAGE_CONNECTION_STRING=bc.connection_string(server))
        else:
            self.container_url, self.sas_url = server.url(), None
            self.env = dict(os.environ)
        self.tmp = os.path.join(args.workdir, "tmp")
        os.makedirs(self.tmp, exist_ok=True)
        self.seq = 0

    # ---- bookkeeping --------------------------------------------------------------------
    def record(self, rec):
        self.runs.append(rec)
        rate = rec.get("rate")
        unit = "entries/s" if rec["row"] == "list" else "MB/s"
        first = f"  first {rec['first_s']:.3f} s" if rec.get("first_s") is not None else ""
        print(f"  [{rec['row']}] round {rec['round'] + 1} {rec['contender']:<24} "
              f"{rec.get('wall_s') or 0:7.2f} s {rate or 0:9.1f} {unit:<9}{first}  "
              f"mount cpu {fmt(rec.get('mount_cpu_s'), '.2f'):>5}  reader cpu "
              f"{fmt(rec.get('reader_cpu_s'), '.2f'):>5}  rss {fmt(rec.get('rss_mib'), '.0f'):>4} MiB"
              f"  server cpu {fmt(rec.get('server_cpu_s'), '.2f'):>5}  "
              f"{'ok' if rec['ok'] else 'FAILED'}", flush=True)
        if rec.get("mount_log_tail"):
            print("    mount log: " + rec["mount_log_tail"][-600:].replace("\n", "\n      "))
        if not rec["ok"]:
            print("    " + str(rec["error"]).replace("\n", "\n    "), flush=True)
            self.failures.append(rec)
            if self.args.fail_fast:
                raise SystemExit("stopping at the first failure (--fail-fast)")

    def server_ok(self):
        """Eight ranged GETs of 8 MiB spread over big.bin, in parallel (as `dataport cp` reads
        it), return the seeded bytes. After rclone's aborted reads, Azurite served a lone 1 MiB
        range correctly but answered parallel large ranges with more bytes than asked for."""
        size, piece = self.manifest["big"]["size"], 8 * MIB
        offsets = sorted({min(k * size // 8, max(0, size - piece)) for k in range(8)})

        def check(offset):
            n = min(piece, size - offset)
            with open(os.path.join(self.data_root, "big.bin"), "rb") as f:
                f.seek(offset)
                expected = f.read(n)
            status, data = bc.BlobClient(self.az).request(
                "GET", f"/{CONTAINER}/big.bin",
                headers={"x-ms-range": f"bytes={offset}-{offset + n - 1}"})
            return status == 206 and data == expected

        try:
            with concurrent.futures.ThreadPoolExecutor(len(offsets)) as pool:
                return all(pool.map(check, offsets))
        except (OSError, RuntimeError, http.client.HTTPException):
            return False

    def recover_server(self, after):
        """After a failed run: if Azurite no longer serves big.bin correctly (rclone's aborted
        reads have left it answering HTTP 500 for that blob), restart it on the same port and
        folder so the runs after it measure the client, not a broken server. (nginx serves
        files from disk: nothing to recover.)"""
        if not self.az or self.server_ok():
            return
        print(f"    Azurite no longer serves big.bin after {after}'s failed run: restarting it",
              flush=True)
        self.az.restart()
        time.sleep(self.args.settle)
        if not self.server_ok():
            raise SystemExit("Azurite still fails after a restart; see "
                             f"{self.az.log.name}")

    def base(self, row, contender, rnd):
        m = self.manifest
        if row in ("seq", "quarters"):
            nbytes, files = m["big"]["size"], 1
        elif row in ("small", "small-warm"):
            nbytes, files = len(m["small"]) * SMALL_SIZE, len(m["small"])
        elif row == "random":
            nbytes, files = RANDOM_COUNT * RANDOM_SIZE, 1
        else:
            nbytes, files = 0, m["list_count"]
        return {"row": row, "contender": contender, "round": rnd, "bytes": nbytes, "files": files,
                "ok": False, "error": None}

    def reader(self, mode, path, out_name, **kw):
        self.seq += 1
        out = os.path.join(self.tmp, f"{out_name}-{self.seq}.json")
        cmd = [sys.executable, os.path.abspath(__file__), "_reader", mode, path, "--out", out]
        for k, v in kw.items():
            if v is True:
                cmd.append("--" + k)
            elif v is not None and v is not False:
                cmd += ["--" + k, str(v)]
        return cmd, out

    def files_list(self, paths):
        self.seq += 1
        path = os.path.join(self.tmp, f"files-{self.seq}.txt")
        with open(path, "w") as f:
            f.write("".join(p + "\n" for p in paths))
        return path

    # ---- one measured read on a mount ---------------------------------------------------
    def measure_on_mount(self, session, rec, cmd, out=None):
        rec["cmd"] = bc.redact(" ".join(cmd))
        if not session.alive():
            rec["error"] = f"{session.contender} daemon is gone before the read (crashed?)"
            return None
        bc.settle_writeback(self.args.workdir)
        cpu0, az0 = session.cpu(), self.server.cpu_seconds()
        try:
            res = bc.run_child(cmd, env=self.env, timeout=self.args.timeout, logdir=self.tmp)
        except bc.ChildFailed as e:
            rec["error"] = str(e)
            if e.code == "timeout":  # the reader may be stuck in the kernel on a hung daemon
                rec["error"] += "\n" + session.abort()
            if not session.alive():
                rec["error"] += f"\n{session.contender} daemon is gone (crashed?)"
            return None
        rec["mount_cpu_s"] = session.cpu() - cpu0
        rec["server_cpu_s"] = self.server.cpu_seconds() - az0
        rec["rss_mib"] = vm_hwm_mib(session.pid)
        if not session.alive():
            rec["error"] = f"{session.contender} daemon is gone after the read (crashed?)"
            return None
        result = None
        if out:
            with open(out) as f:
                result = json.load(f)
            os.remove(out)
            rec.update(wall_s=result["wall_s"], reader_cpu_s=result["cpu_s"],
                       reader_process_cpu_s=res["cpu_s"])
        else:
            rec.update(wall_s=res["wall_s"], reader_cpu_s=res["cpu_s"])
        rec["client_cpu_s"] = rec["mount_cpu_s"] + rec["reader_cpu_s"]
        rec["ok"] = True
        return res if out is None else result

    def verify(self, cmd, out):
        """Runs an untimed hashing reader; returns its result or raises RuntimeError."""
        try:
            bc.run_child(cmd, env=self.env, timeout=self.args.timeout, logdir=self.tmp)
        except bc.ChildFailed as e:
            raise RuntimeError(f"verification read failed: {e}")
        with open(out) as f:
            result = json.load(f)
        os.remove(out)
        return result

    def run_mount(self, group, contender, rnd, rows):
        """One fresh mount: the timed read(s) of the group, an untimed verifying read, unmount."""
        session = MountSession(self, contender, f"{group}-{slug(contender)}-r{rnd + 1}", group)
        m = self.manifest
        recs = []
        try:
            session.start()
        except Exception as e:  # noqa: BLE001 - reported as the run's failure
            problem = session.stop()
            for row in rows:
                rec = self.base(row, contender, rnd)
                rec.update(error=f"mount failed: {e}" + (f"; {problem}" if problem else ""),
                           mount_cmd=bc.redact(" ".join(session.cmd)))
                self.record(rec)
            return
        try:
            big = os.path.join(session.mnt, "big.bin")
            if group in ("seq", "quarters"):
                rec = self.base(group, contender, rnd)
                recs.append(rec)
                if group == "seq":
                    res = self.measure_on_mount(session, rec, ["dd", f"if={big}", "of=/dev/null",
                                                               "bs=1M"])
                    if res:
                        got = re.search(r"^(\d+) bytes", res["stderr"], re.M)
                        if not got or int(got.group(1)) != m["big"]["size"]:
                            rec.update(ok=False, error=f"dd read {got and got.group(1)} bytes, "
                                       f"want {m['big']['size']}: {res['stderr'][-300:]}")
                    parts, want = 1, m["big"]["parts"]["1"]
                else:
                    cmd, out = self.reader("ranges", big, "quarters", parts=4)
                    self.measure_on_mount(session, rec, cmd, out)
                    parts, want = 4, m["big"]["parts"]["4"]
                if rec["ok"]:
                    cmd, out = self.reader("ranges", big, "verify", parts=parts, hash=True)
                    got = self.verify(cmd, out)["part_sha256"]
                    bad = [k for k in range(parts) if got[k] != want[k]]
                    if bad:
                        rec.update(ok=False, error="VERIFICATION FAILED: sha256 mismatch in "
                                   + ", ".join(f"part {k + 1}/{parts}" for k in bad))
            elif group == "small":
                rels = sorted(m["small"])
                listing = self.files_list([os.path.join(session.mnt, r) for r in rels])
                for row in ("small", "small-warm"):
                    if row == "small-warm" and "small-warm" not in rows:
                        break
                    rec = self.base(row, contender, rnd)
                    recs.append(rec)
                    cmd, out = self.reader("files", listing, row, threads=16)
                    result = self.measure_on_mount(session, rec, cmd, out)
                    if result and result["bytes"] != rec["bytes"]:
                        rec.update(ok=False, error=f"read {result['bytes']} bytes, want {rec['bytes']}")
                    if not rec["ok"]:
                        break
                if all(r["ok"] for r in recs):
                    cmd, out = self.reader("files", listing, "verify", threads=16, hash=True)
                    got = self.verify(cmd, out)["sha256"]
                    bad = [r for r in rels if got.get(os.path.join(session.mnt, r)) != m["small"][r]]
                    if bad:
                        for rec in recs:
                            rec.update(ok=False, error=f"VERIFICATION FAILED: {len(bad)} of "
                                       f"{len(rels)} files differ (e.g. {bad[:3]})")
                os.remove(listing)
            elif group == "random":
                rec = self.base("random", contender, rnd)
                recs.append(rec)
                cmd, out = self.reader("random", big, "random", count=RANDOM_COUNT, seed=rnd + 1)
                self.measure_on_mount(session, rec, cmd, out)
                if rec["ok"]:
                    cmd, out = self.reader("random", big, "verify", count=RANDOM_COUNT,
                                           seed=rnd + 1, hash=True)
                    got = self.verify(cmd, out)["sha256"]
                    want = random_reads(os.path.join(self.data_root, "big.bin"), RANDOM_COUNT,
                                        rnd + 1, True)
                    if got != want:
                        rec.update(ok=False, error="VERIFICATION FAILED: the random reads' sha256 "
                                   f"{got[:16]}... differs from the local file's {want[:16]}...")
            else:  # list
                rec = self.base("list", contender, rnd)
                recs.append(rec)
                folder = os.path.join(session.mnt, "many")
                cmd, out = self.reader("scandir", folder, "list")
                result = self.measure_on_mount(session, rec, cmd, out)
                if result:
                    rec["first_s"] = result["first_s"]
                    count = m["list_count"]
                    want = {f"f{i:06}.bin" for i in range(count)}
                    got = result["names"]
                    if len(got) != count or set(got) != want:
                        missing, extra = sorted(want - set(got)), sorted(set(got) - want)
                        rec.update(ok=False, error=f"VERIFICATION FAILED: listed {len(got)} "
                                   f"entries, want {count}; missing {missing[:3]}, "
                                   f"unexpected {extra[:3]}, duplicates {len(got) - len(set(got))}")
                    else:  # read a sample of the listed blobs (untimed)
                        sample = sorted(set(range(0, count, max(1, count // 100))) | {count - 1})
                        listing = self.files_list([os.path.join(folder, f"f{i:06}.bin")
                                                   for i in sample])
                        cmd, out = self.reader("files", listing, "verify", threads=8, hash=True)
                        got = self.verify(cmd, out)["sha256"]
                        bad = [i for i in sample if got.get(os.path.join(folder, f"f{i:06}.bin"))
                               != hashlib.sha256(list_content(i)).hexdigest()]
                        os.remove(listing)
                        if bad:
                            rec.update(ok=False, error=f"VERIFICATION FAILED: {len(bad)} of "
                                       f"{len(sample)} sampled entries differ (e.g. f{bad[0]:06}.bin)")
        except Exception as e:  # noqa: BLE001 - a harness error is this run's failure
            if not recs:
                recs.append(self.base(rows[0], contender, rnd))
            for rec in recs:
                if rec["ok"] or not rec["error"]:
                    rec.update(ok=False, error=f"{type(e).__name__}: {e}")
        finally:
            total_cpu = session.cpu() if session.alive() else None
            log_tail = session.log_tail()
            problem = session.stop()
        for rec in recs:
            if rec["row"] not in rows:  # row 4 alone: the first pass is its untimed warm-up
                continue
            rec.update(mount_s=session.mount_s, mount_cpu_total_s=total_cpu,
                       mount_cmd=bc.redact(" ".join(session.cmd)))
            if log_tail:
                rec["mount_log_tail"] = log_tail
            if problem:
                rec["unmount_problem"] = problem
                print(f"    WARNING: {problem}", flush=True)
            if rec["ok"] and rec.get("wall_s"):
                rec["rate"] = (rec["files"] if rec["row"] == "list" else rec["bytes"] / 1e6) \
                    / rec["wall_s"]
                if rec["row"] != "list":
                    rec["mb_s"] = rec["rate"]
            self.record(rec)

    def run_cp(self, group, rnd):
        """`dataport cp` of the group's data into a fresh local folder, then sha256 of every file."""
        a, m = self.args, self.manifest
        rec = self.base(group, DP_CP, rnd)
        dest = os.path.join(a.workdir, "dl", f"{group}-r{rnd + 1}")
        bc.discard_tree(dest)
        os.makedirs(dest)
        if group == "small":
            cmd = [a.dataport, "cp", f"{self.container_url}/small/", dest + "/", "-R"]
            want = {rel.split("/", 1)[1]: sha for rel, sha in m["small"].items()}
        else:
            cmd = [a.dataport, "cp", f"{self.container_url}/big.bin", dest + "/"]
            want = {"big.bin": m["big"]["sha256"]}
        cmd += ["--json", "--progress", "none"]
        rec["cmd"] = bc.redact(" ".join(cmd))
        bc.settle_writeback(a.workdir)
        az0 = self.server.cpu_seconds()
        try:
            res = bc.run_child(cmd, env=self.env, timeout=a.timeout, logdir=self.tmp)
            rec.update(server_cpu_s=self.server.cpu_seconds() - az0, wall_s=res["wall_s"],
                       client_cpu_s=res["cpu_s"], rss_mib=res["rss_mib"], ok=True)
            last = res["stdout"].strip().splitlines()[-1:]
            if last and last[0].startswith("{"):
                try:
                    rec["tool_summary"] = json.loads(last[0])
                except ValueError:
                    pass
            problems = bc.verify_tree(dest, want)
            if problems:
                rec.update(ok=False, error="VERIFICATION FAILED: " + "; ".join(problems[:5]))
            else:
                rec["rate"] = rec["mb_s"] = rec["bytes"] / 1e6 / rec["wall_s"]
        except bc.ChildFailed as e:
            rec["error"] = str(e)
        bc.discard_tree(dest)
        self.record(rec)


# ---------------------------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------------------------
def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def summarize(runs, rows_order):
    out = []
    for row in rows_order:
        recs = [r for r in runs if r["row"] == row]
        names = [c for c in CONTENDERS if any(r["contender"] == c for r in recs)]
        rows = []
        for name in names:
            mine = [r for r in recs if r["contender"] == name]
            ok = [r for r in mine if r["ok"]]
            med, lo, hi = bc.summarize([r.get("rate") for r in ok])

            def m(key):
                return bc.median([r.get(key) for r in ok])
            rows.append({"row": row, "contender": name, "runs": len(mine), "ok_runs": len(ok),
                         "unit": "entries/s" if row == "list" else "MB/s",
                         "median_rate": med, "min_rate": lo, "max_rate": hi,
                         "median_wall_s": m("wall_s"), "median_first_s": m("first_s"),
                         "median_mount_cpu_s": m("mount_cpu_s"),
                         "median_reader_cpu_s": m("reader_cpu_s"),
                         "median_client_cpu_s": m("client_cpu_s"),
                         "max_rss_mib": max([r["rss_mib"] for r in ok if r.get("rss_mib")],
                                            default=None),
                         "median_server_cpu_s": m("server_cpu_s"),
                         "median_mount_s": m("mount_s")})
        rclone = [r["median_rate"] for r in rows
                  if r["contender"].startswith("rclone") and r["median_rate"]]
        cp = next((r["median_rate"] for r in rows if r["contender"] == DP_CP), None)
        for r in rows:
            r["ratio_to_best_rclone"] = r["ratio_to_dataport_cp"] = None
            if r["contender"] in DATAPORT_MOUNTS and r["median_rate"]:
                if rclone:
                    r["ratio_to_best_rclone"] = r["median_rate"] / max(rclone)
                if cp:
                    r["ratio_to_dataport_cp"] = r["median_rate"] / cp
        out += rows
    return out


def print_summary(summary, args, manifest):
    table = []
    for s in summary:
        failed = s["runs"] - s["ok_runs"]
        table.append([ROW_LABEL[s["row"]], s["contender"] + (f" [FAILED {failed}/{s['runs']}]"
                                                             if failed else ""),
                      fmt(s["median_rate"], ".0f") + (" ent/s" if s["row"] == "list" else ""),
                      (f"{s['min_rate']:.0f}-{s['max_rate']:.0f}" if s["ok_runs"] else "-"),
                      fmt(s["median_wall_s"], ".2f"), fmt(s["median_first_s"], ".3f"),
                      fmt(s["median_mount_cpu_s"], ".2f"), fmt(s["median_reader_cpu_s"], ".2f"),
                      fmt(s["median_client_cpu_s"], ".2f"), fmt(s["max_rss_mib"], ".0f"),
                      fmt(s["median_server_cpu_s"], ".2f"), fmt(s["median_mount_s"], ".2f"),
                      fmt(s["ratio_to_best_rclone"], ".2f"), fmt(s["ratio_to_dataport_cp"], ".2f")])
    big = manifest["big"]["size"]
    bc.print_table(
        f"Mount benchmark ({args.server}; median of {args.rounds}; big.bin {big / MIB:.0f} MiB, "
        f"{len(manifest['small'])} x 500 KiB, {manifest['list_count']} entries; "
        "MB/s = 10^6 B/s; CPU in seconds)",
        ["row", "contender", "MB/s", "spread", "wall s", "first s", "mount CPU", "reader CPU",
         "client CPU", "RSS MiB", "server CPU", "mount s", "x best rclone", "x dataport cp"],
        table)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "_reader":
        return reader_main(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--dataport", default=os.path.join(bc.ROOT, "build/dataport"))
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiplies the big file's size and the small/listing counts")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rows", default=",".join(r for r, _ in ROWS),
                    help="comma list of seq,quarters,small,small-warm,list,random (or 1-6)")
    ap.add_argument("--contenders", default="all",
                    help="comma list of: dataport-mount, dataport-mount-preset, rclone-off, "
                         "rclone-full, dataport-cp")
    ap.add_argument("--mount-arg", action="append", default=[],
                    help="extra argument for every dataport mount, e.g. --mount-arg=--preset=... "
                         "(repeatable)")
    ap.add_argument("--workdir", default="/var/tmp/dataport-mount-bench")
    ap.add_argument("--fresh-data", action="store_true")
    ap.add_argument("--server", choices=("azurite", "nginx"), default="azurite",
                    help="where the data is served from (see above)")
    ap.add_argument("--settle", type=float, default=3.0, help="seconds Azurite rests after seeding")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per read")
    ap.add_argument("--fail-fast", action="store_true")
    ap.add_argument("--json", default="mount_bench.json")
    args = ap.parse_args()
    if not os.access(args.dataport, os.X_OK):
        raise SystemExit(f"dataport binary not found at {args.dataport}: build it or pass --dataport PATH")
    args.dataport = os.path.abspath(args.dataport)
    args.workdir = os.path.abspath(args.workdir)
    by_number = {str(i + 1): name for i, (name, _) in enumerate(ROWS)}
    rows = []
    for r in (x.strip() for x in args.rows.split(",") if x.strip()):
        r = by_number.get(r, r)
        if r not in ROW_LABEL:
            raise SystemExit(f"unknown row {r!r}: use {', '.join(n for n, _ in ROWS)} or 1-6")
        rows.append(r)
    rows = [r for r, _ in ROWS if r in rows]
    contenders = CONTENDERS if args.contenders == "all" else [
        c for c in CONTENDERS if slug(c).replace("-mount-vfs", "") in
        [x.strip() for x in args.contenders.split(",")]]
    if not contenders:
        raise SystemExit("no contender selected: use dataport-mount, dataport-mount-preset, "
                         "rclone-off, rclone-full, dataport-cp")

    def stop_on_signal(sig, _frame):
        raise KeyboardInterrupt(f"signal {sig}")
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGHUP, stop_on_signal)

    started = time.time()
    os.makedirs(args.workdir, exist_ok=True)
    sweep_stale_mounts(os.path.join(args.workdir, "mnt"))
    bc.remove_tree(os.path.join(args.workdir, "logs"))  # the logs of this run only
    data_root = os.path.join(args.workdir, f"data-scale{args.scale:g}")
    manifest = prepare_data(data_root, args.scale, args.fresh_data)
    from transfer_bench import tool_versions
    payload = {"schema": SCHEMA, "schema_doc": SCHEMA_DOC,
               "machine": {"nproc": os.cpu_count(), "load_start": os.getloadavg(),
                           "kernel": platform.release(), "tools": {
                               k: v for k, v in tool_versions(args.dataport).items()
                               if k in ("dataport", "rclone")}},
               "args": vars(args),
               "data": {"big": {"size": manifest["big"]["size"],
                                "sha256": manifest["big"]["sha256"]},
                        "small": {"count": len(manifest["small"]), "size_each": SMALL_SIZE},
                        "list": {"entries": manifest["list_count"]}},
               "runs": [], "summary": []}
    az, nginx, bench = None, None, None

    def save():
        if bench:
            payload["runs"], payload["summary"] = bench.runs, summarize(bench.runs, rows)
        payload["machine"]["load_end"] = os.getloadavg()
        payload["elapsed_s"] = time.time() - started
        with open(args.json, "w") as f:
            json.dump(payload, f, indent=2)

    try:
        if args.server == "nginx":
            if "list" in rows:
                write_listing_files(data_root, manifest)
            nginx = bc.Nginx(os.path.join(args.workdir, "nginx"), data_root)
            print(f"nginx serves {data_root} at {nginx.url()}", flush=True)
            bench = Bench(args, manifest, nginx, data_root)
        else:
            az_dir = os.path.join(args.workdir, "azurite")
            bc.remove_tree(az_dir)
            az = bc.Azurite(az_dir)
            print(f"seeding Azurite at {az.url}: big.bin, {len(manifest['small'])} small files, "
                  f"{manifest['list_count']} listing blobs (8 threads) ...", flush=True)
            seed(az, data_root, manifest)
            time.sleep(args.settle)
            bench = Bench(args, manifest, az, data_root)
        groups = [("seq", ["seq"]), ("quarters", ["quarters"]),
                  ("small", [r for r in rows if r in ("small", "small-warm")]), ("list", ["list"]),
                  ("random", ["random"])]
        for group, group_rows in groups:
            group_rows = [r for r in group_rows if r in rows]
            if not group_rows:
                continue
            cp_applies = group in ("seq", "quarters") or "small" in group_rows
            names = [c for c in contenders if (c != DP_CP or cp_applies) and
                     (c != DP_PRESET or group in PRESET_FOR_GROUP)]
            print(f"\n== {', '.join(ROW_LABEL[r] for r in group_rows)}: {', '.join(names)}",
                  flush=True)
            for rnd, name in bc.interleave(args.rounds, names):
                failed_before = len(bench.failures)
                if name == DP_CP:
                    bench.run_cp(group, rnd)
                else:
                    bench.run_mount(group, name, rnd, group_rows)
                if len(bench.failures) > failed_before:
                    bench.recover_server(name)
            save()
    except KeyboardInterrupt as e:
        print(f"\ninterrupted ({str(e) or 'Ctrl-C'}): unmounting and stopping the server ...",
              flush=True)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise SystemExit(130)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for session in list(ACTIVE):
            try:
                session.stop()
            except Exception as e:  # noqa: BLE001 - cleanup goes on
                print(f"cleanup: {session.mnt}: {e}", file=sys.stderr)
        sweep_stale_mounts(os.path.join(args.workdir, "mnt"))
        if az:
            az.stop()
        if nginx:
            nginx.stop()
        bc.remove_tree(os.path.join(args.workdir, "azurite"))
        bc.remove_tree(os.path.join(args.workdir, "dl"))
        bc.remove_tree(os.path.join(args.workdir, "cache"))
        save()
    print_summary(payload["summary"], args, manifest)
    print(f"\nJSON written to {args.json}; elapsed {time.time() - started:.0f} s; load average "
          f"now {os.getloadavg()[0]:.1f} (nproc {os.cpu_count()}); mount logs in "
          f"{os.path.join(args.workdir, 'logs')}")
    if bench and bench.failures:
        print(f"\n{len(bench.failures)} FAILED RUN(S):")
        for r in bench.failures:
            print(f"- {ROW_LABEL[r['row']]} / {r['contender']} round {r['round'] + 1}: {r['error']}")
        sys.exit(1)


if __name__ == "__main__":
    main()
