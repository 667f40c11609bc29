#!/usr/bin/env python3
"""Transfer benchmark: `dataport cp` against its peers (curl, curl -Z, aria2c, rclone) on the same
data, in the same run, interleaved (A B C A B C ...), every output verified by sha256. Downloads
also run `dataport cp --no-direct-io` (page-cache writes; --no-buffered-row leaves it out).

Why it is built this way (see ../../shared/BENCHMARKING.md): client and server share two cores,
so the harness reports client CPU seconds and the server's CPU seconds beside throughput;
Azurite slows down as it ages, so it is started fresh per workload, warmed up once, and the
contenders are interleaved and summarised by median and spread.

Workloads (sizes multiplied by --scale; the small-file count too):
  big     1 file of 1 GiB
  medium  10 files of 100 MiB
  small   2000 files of 500 KiB in a folder tree (d00..d19/s0..s4/)
Servers: azurite (path-style URLs, a fresh process with --location on disk per workload),
         nginx (http, autoindex), nginx-https (same nginx, self-signed certificate).
Uploads (local -> Azurite): dataport cp, rclone copy, and curl -T (one Put Blob; big only).
Copies (Azurite container -> another container of the same account): dataport cp (server-side
copy), dataport cp --no-server-side-copy (streamed through dataport) and rclone copy (which
also copies server-side within one remote).

Usage:
  benchmarks/transfer_bench.py --dataport build-lead/dataport            # full run
  benchmarks/transfer_bench.py --scale 0.05 --rounds 1                   # smoke run
Units: MB/s = 10^6 bytes per second; MiB/s = 2^20 bytes per second; GiB = 2^30 bytes."""
import argparse
import base64
import hashlib
import json
import os
import platform
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_common as bc  # noqa: E402

MIB = 1 << 20
GIB = 1 << 30
CONTAINER = "bench"


def workload_files(name, scale):
    """[(relpath, size)] of one workload at the given scale."""
    if name == "big":
        return [("file.bin", max(1, int(GIB * scale)))]
    if name == "medium":
        return [(f"f{i:02}.bin", max(1, int(100 * MIB * scale))) for i in range(10)]
    if name == "small":
        count = max(10, round(2000 * scale))
        return [(f"d{i % 20:02}/s{i % 5}/f{i:05}.bin", 500 * 1024) for i in range(count)]
    raise SystemExit(f"unknown workload {name!r}: use big, medium, small")


def prepare_data(root, names, scale, fresh):
    """Writes random files under root/<workload>/ once (reused by later runs at the same scale,
    unless --fresh-data); returns {workload: {relpath: {size, sha256, md5}}}."""
    manifest_path = os.path.join(root, "manifest.json")
    manifest = {}
    if os.path.exists(manifest_path) and not fresh:
        with open(manifest_path) as f:
            manifest = json.load(f)
    for name in names:
        files = workload_files(name, scale)
        have = manifest.get(name, {})
        if len(have) == len(files) and all(
                os.path.exists(os.path.join(root, name, p)) and
                os.path.getsize(os.path.join(root, name, p)) == have.get(p, {}).get("size")
                for p, _ in files):
            continue
        print(f"generating {name}: {len(files)} files, {sum(s for _, s in files) / MIB:.0f} MiB "
              "of random bytes ...", flush=True)
        bc.remove_tree(os.path.join(root, name))
        entry = {}
        for rel, size in files:
            path = os.path.join(root, name, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            sha, md5, left = hashlib.sha256(), hashlib.md5(), size
            with open(path, "wb") as f:
                while left:
                    block = os.urandom(min(left, 8 * MIB))
                    f.write(block)
                    sha.update(block)
                    md5.update(block)
                    left -= len(block)
            entry[rel] = {"size": size, "sha256": sha.hexdigest(),
                          "md5": base64.b64encode(md5.digest()).decode()}
        manifest[name] = entry
        with open(manifest_path, "w") as f:
            json.dump(manifest, f)
    return manifest


def seed_azurite(azurite, name, files, data_root):
    client = bc.BlobClient(azurite)
    client.create_container(CONTAINER)
    big = [(rel, meta) for rel, meta in files.items() if meta["size"] > 32 * MIB]
    small = [(rel, meta) for rel, meta in files.items() if meta["size"] <= 32 * MIB]
    for rel, meta in big:
        bc.put_file_as_blocks(azurite, CONTAINER, f"{name}/{rel}", os.path.join(data_root, name, rel),
                              content_md5_b64=meta["md5"])

    def worker(part):
        c = bc.BlobClient(azurite)
        for rel, _ in small[part::8]:
            with open(os.path.join(data_root, name, rel), "rb") as f:
                c.put_blob(CONTAINER, f"{name}/{rel}", f.read())
    with bc.concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(worker, range(8)))


class Runner:
    """Holds the settings of one benchmark run and collects every run record."""

    def __init__(self, args, workdir, manifest):
        self.args, self.workdir, self.manifest = args, workdir, manifest
        self.runs, self.failures = [], []

    def dataport_flags(self):
        flags = ["--json", "--progress", "none"]
        if self.args.dataport_threads:
            flags += ["--threads", str(self.args.dataport_threads)]
        if self.args.dataport_chunk_size:
            flags += ["--chunk-size", self.args.dataport_chunk_size]
        return flags + self.args.dataport_arg

    def record(self, rec):
        self.runs.append(rec)
        status = "ok" if rec["ok"] else "FAILED"
        print(f"  [{rec['direction']} {rec['server']} {rec['workload']}] round {rec['round'] + 1} "
              f"{rec['contender']:<28} {rec.get('wall_s') or 0:7.2f} s "
              f"{rec.get('mb_s') or 0:8.1f} MB/s  cpu {rec.get('cpu_s') or 0:6.2f} s  "
              f"rss {rec.get('rss_mib') or 0:6.0f} MiB  server cpu {rec.get('server_cpu_s') or 0:6.2f} s"
              f"  {status}", flush=True)
        if not rec["ok"]:
            print("    " + rec["error"].replace("\n", "\n    "), flush=True)
            self.failures.append(rec)
            if self.args.fail_fast:
                raise SystemExit("stopping at the first failure (--fail-fast)")

    def measure(self, cmd, env, server, base):
        """Runs one contender; base holds the identifying fields. Returns the record (not yet
        verified: ok means the command exited 0)."""
        rec = dict(base, cmd=bc.redact(" ".join(cmd)), ok=False, error=None)
        bc.settle_writeback(self.workdir)
        cpu0 = server.cpu_seconds()
        try:
            res = bc.run_child(cmd, env=env, timeout=self.args.timeout)
        except bc.ChildFailed as e:
            rec["error"] = str(e)
            return rec
        rec["server_cpu_s"] = server.cpu_seconds() - cpu0
        rec.update(wall_s=res["wall_s"], cpu_s=res["cpu_s"], rss_mib=res["rss_mib"],
                   mb_s=rec["bytes"] / 1e6 / res["wall_s"], mib_s=rec["bytes"] / MIB / res["wall_s"],
                   cpu_s_per_gib=res["cpu_s"] / (rec["bytes"] / GIB), ok=True)
        last = res["stdout"].strip().splitlines()[-1:] if res["stdout"].strip() else []
        if last and last[0].startswith("{"):
            try:
                rec["tool_summary"] = json.loads(last[0])
            except ValueError:
                pass
        return rec


def download_contenders(server_kind, wl, files, base_url, cfgdir, runner, cert=None,
                        sas=None, sas_url=None):
    """[(name, argv)] for one download group. base_url is the workload folder's URL (no SAS)."""
    a = runner.args
    single = list(files) == ["file.bin"]
    q = f"?{sas}" if sas else ""
    rels = sorted(files)
    out = []
    dp = [a.dataport, "cp"] + ([f"{base_url}/file.bin"] if single else [f"{base_url}/", "-R"])
    out.append(("dataport cp", lambda d: dp + [d + "/"] + runner.dataport_flags()))
    if a.buffered_row:
        out.append(("dataport cp --no-direct-io",
                    lambda d: dp + [d + "/", "--no-direct-io"] + runner.dataport_flags()))
    tls_curl = ["--cacert", cert] if cert else []
    cfg = os.path.join(cfgdir, f"curl-{server_kind}-{wl}.cfg")

    def curl_cfg(dest):
        with open(cfg, "w") as f:
            for rel in rels:
                f.write(f'url = "{base_url}/{rel}{q}"\noutput = "{dest}/{rel}"\n')
        return cfg
    if single:
        out.append(("curl", lambda d: ["curl", "-sS", "-f"] + tls_curl +
                    ["-o", f"{d}/file.bin", f"{base_url}/file.bin{q}"]))
    else:
        out.append(("curl", lambda d: ["curl", "-sS", "-f", "--create-dirs"] + tls_curl +
                    ["-K", curl_cfg(d)]))
        out.append(("curl -Z 16", lambda d: ["curl", "-sS", "-f", "--create-dirs", "-Z",
                                             "--parallel-max", "16"] + tls_curl + ["-K", curl_cfg(d)]))
    if server_kind != "azurite":
        aria = ["aria2c", "-q", "-x16", "-s16", "--allow-overwrite=true",
                "--auto-file-renaming=false"] + ([f"--ca-certificate={cert}"] if cert else [])
        inp = os.path.join(cfgdir, f"aria2-{server_kind}-{wl}.txt")
        with open(inp, "w") as f:
            for rel in rels:
                f.write(f"{base_url}/{rel}\n  out={rel}\n")
        if single:
            out.append(("aria2c -x16 -s16", lambda d: aria + ["-d", d, "-o", "file.bin",
                                                            f"{base_url}/file.bin"]))
        else:
            out.append(("aria2c -x16 -s16 -j16", lambda d: aria + ["-j16", "-d", d, "-i", inp]))
    rc = ["rclone", "copy", "--config", "/dev/null", "-q", "--transfers", "16",
          "--multi-thread-streams", "8"]
    if server_kind == "azurite":
        src = f":azureblob:{CONTAINER}/{wl}" + ("/file.bin" if single else "")
        rc += ["--azureblob-sas-url", sas_url, src]
        out.append(("rclone copy", lambda d: rc + [d]))
        out.append(("rclone copy --ignore-checksum", lambda d: rc + ["--ignore-checksum", d]))
    else:
        rc += (["--ca-cert", cert] if cert else []) + ["--http-url", f"{base_url}/",
                                                      ":http:" + ("file.bin" if single else "")]
        out.append(("rclone copy (http)", lambda d: rc + [d]))
    return out


def run_download_group(runner, server, server_kind, wl, base_url, env, **kw):
    files = {rel: m["sha256"] for rel, m in runner.manifest[wl].items()}
    total = sum(m["size"] for m in runner.manifest[wl].values())
    cfgdir = os.path.join(runner.workdir, "cfg")
    os.makedirs(cfgdir, exist_ok=True)
    contenders = download_contenders(server_kind, wl, files, base_url, cfgdir, runner, **kw)
    base = {"direction": "download", "server": server_kind, "workload": wl, "bytes": total,
            "files": len(files)}

    def one(name, build, rnd, warmup=False):
        dest = os.path.join(runner.workdir, "dl", name.replace(" ", "_").replace("/", "_"))
        bc.remove_tree(dest)
        os.makedirs(dest)
        rec = runner.measure(build(dest), env, server, dict(base, contender=name, round=rnd))
        if rec["ok"]:
            problems = bc.verify_tree(dest, files)
            if problems:
                rec.update(ok=False, error="VERIFICATION FAILED: " + "; ".join(problems[:10]))
        bc.remove_tree(dest)
        if warmup:
            if not rec["ok"]:
                print(f"  warm-up with {name} failed: {rec['error']}", flush=True)
            return
        runner.record(rec)

    print(f"\n== download {wl} from {server_kind} ({len(files)} files, {total / MIB:.0f} MiB): "
          f"{', '.join(n for n, _ in contenders)}", flush=True)
    curl = next(c for c in contenders if c[0] == "curl")
    one(*curl, -1, warmup=True)
    time.sleep(runner.args.settle if server_kind == "azurite" else 0)
    for rnd, (name, build) in bc.interleave(runner.args.rounds, contenders):
        one(name, build, rnd)


def run_upload_group(runner, wl, data_root):
    a = runner.args
    meta = runner.manifest[wl]
    files = {rel: m["sha256"] for rel, m in meta.items()}
    total = sum(m["size"] for m in meta.values())
    single = list(files) == ["file.bin"]
    az = bc.Azurite(os.path.join(runner.workdir, f"azurite-up-{wl}"))
    try:
        sas = bc.account_sas(az)
        env = dict(os.environ, AZURE_STORAGE_CONNECTION_STRING=bc.connection_string(az))
        src = os.path.join(data_root, wl)
        acct = f"{az.url}/{bc.ACCOUNT}"

        def dataport(c):
            return ([a.dataport, "cp", f"{src}/file.bin", f"{acct}/{c}/file.bin"] if single else
                    [a.dataport, "cp", f"{src}/", f"{acct}/{c}/", "-R"]) + runner.dataport_flags()

        def rclone(c):
            return ["rclone", "copy", "--config", "/dev/null", "-q", "--transfers", "16",
                    "--multi-thread-streams", "8", "--azureblob-sas-url", f"{acct}?{sas}",
                    f"{src}/file.bin" if single else src, f":azureblob:{c}"]
        contenders = [("dataport cp", dataport), ("rclone copy", rclone)]
        if single:
            contenders.append(("curl -T (one Put Blob)", lambda c: [
                "curl", "-sS", "-f", "-o", "/dev/null", "-T", f"{src}/file.bin", "-H",
                "x-ms-blob-type: BlockBlob", f"{acct}/{c}/file.bin?{sas}"]))
        print(f"\n== upload {wl} to azurite ({len(files)} files, {total / MIB:.0f} MiB): "
              f"{', '.join(n for n, _ in contenders)}", flush=True)
        run_into_containers(runner, az, sas, env, contenders, "upload", wl, files, total)
    finally:
        az.stop()
        bc.remove_tree(os.path.join(runner.workdir, f"azurite-up-{wl}"))


def run_copy_group(runner, az, wl, sas, env):
    """Remote -> remote inside one Azurite account: the seeded workload folder into a fresh
    container per run; every copy verified (GET + sha256 of every blob) after all runs."""
    a = runner.args
    meta = runner.manifest[wl]
    files = {rel: m["sha256"] for rel, m in meta.items()}
    total = sum(m["size"] for m in meta.values())
    single = list(files) == ["file.bin"]
    acct = f"{az.url}/{bc.ACCOUNT}"
    src = f"{acct}/{CONTAINER}/{wl}"

    def dataport(extra):
        def build(c):
            return ([a.dataport, "cp", f"{src}/file.bin", f"{acct}/{c}/file.bin"] if single else
                    [a.dataport, "cp", f"{src}/", f"{acct}/{c}/", "-R"]) + extra + runner.dataport_flags()
        return build

    def rclone(c):
        return ["rclone", "copy", "--config", "/dev/null", "-q", "--transfers", "16",
                "--azureblob-sas-url", f"{acct}?{sas}",
                f":azureblob:{CONTAINER}/{wl}" + ("/file.bin" if single else ""), f":azureblob:{c}"]
    contenders = [("dataport cp (server-side)", dataport([])),
                  ("dataport cp --no-server-side-copy", dataport(["--no-server-side-copy"])),
                  ("rclone copy (server-side)", rclone)]
    print(f"\n== copy {wl} azurite -> azurite ({len(files)} files, {total / MIB:.0f} MiB): "
          f"{', '.join(n for n, _ in contenders)}", flush=True)
    run_into_containers(runner, az, sas, env, contenders, "copy", wl, files, total)


def run_into_containers(runner, az, sas, env, contenders, direction, wl, files, total):
    """Runs the contenders interleaved, each into a fresh Azurite container, then verifies every
    container (GET + sha256 of every blob, after all runs so it never competes with one) and
    records the runs."""
    client = bc.BlobClient(az)
    pending = []
    for rnd, (name, build) in bc.interleave(runner.args.rounds, contenders):
        container = f"{direction}-{wl}-{len(pending):03d}"
        client.create_container(container)
        base = {"direction": direction, "server": "azurite", "workload": wl, "bytes": total,
                "files": len(files), "contender": name, "round": rnd, "container": container}
        pending.append(runner.measure(build(container), env, az, base))
    print(f"  verifying ({direction}: GET + sha256 of every blob) ...", flush=True)
    for rec in pending:
        if rec["ok"]:
            problems = bc.verify_container(az, sas, rec["container"], files)
            if problems:
                rec.update(ok=False, error="VERIFICATION FAILED: " + "; ".join(problems[:10]))
        runner.record(rec)


def summarize(runner):
    groups = {}
    for r in runner.runs:
        groups.setdefault((r["direction"], r["server"], r["workload"]), {}).setdefault(
            r["contender"], []).append(r)
    summary = []
    for (direction, server, wl), by_name in groups.items():
        rows = []
        for name, runs in by_name.items():
            ok = [r for r in runs if r["ok"]]
            med, lo, hi = bc.summarize([r["mb_s"] for r in ok])
            rows.append({"direction": direction, "server": server, "workload": wl,
                         "contender": name, "runs": len(runs), "ok_runs": len(ok),
                         "median_mb_s": med, "min_mb_s": lo, "max_mb_s": hi,
                         "median_mib_s": bc.median([r["mib_s"] for r in ok]),
                         "median_wall_s": bc.median([r["wall_s"] for r in ok]),
                         "median_cpu_s": bc.median([r["cpu_s"] for r in ok]),
                         "median_cpu_s_per_gib": bc.median([r["cpu_s_per_gib"] for r in ok]),
                         "max_rss_mib": max([r["rss_mib"] for r in ok], default=None),
                         "median_server_cpu_s": bc.median([r["server_cpu_s"] for r in ok])})
        peers = [r["median_mb_s"] for r in rows
                 if not r["contender"].startswith("dataport") and r["median_mb_s"]]
        best = max(peers, default=None)
        curl = next((r["median_mb_s"] for r in rows if r["contender"] == "curl"), None)
        for r in rows:
            r["ratio_to_best_peer"] = r["median_mb_s"] / best if best and r["median_mb_s"] else None
            r["ratio_to_curl"] = r["median_mb_s"] / curl if curl and r["median_mb_s"] else None
        summary += rows
    return summary


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def print_summary(summary, rounds):
    seen = []
    for s in summary:
        key = (s["direction"], s["server"], s["workload"])
        if key not in seen:
            seen.append(key)
    for key in seen:
        rows = [s for s in summary if (s["direction"], s["server"], s["workload"]) == key]
        table = []
        for s in rows:
            failed = s["runs"] - s["ok_runs"]
            table.append([s["contender"] + (f"  [FAILED {failed}/{s['runs']}]" if failed else ""),
                          fmt(s["median_mb_s"], ".0f"), fmt(s["median_mib_s"], ".0f"),
                          f"{fmt(s['min_mb_s'], '.0f')}-{fmt(s['max_mb_s'], '.0f')}",
                          fmt(s["median_cpu_s"], ".2f"), fmt(s["median_cpu_s_per_gib"], ".2f"),
                          fmt(s["max_rss_mib"], ".0f"), fmt(s["median_server_cpu_s"], ".2f"),
                          fmt(s["ratio_to_best_peer"], ".2f")])
        direction, server, wl = key
        where = {"download": "from", "upload": "to"}.get(direction, "inside")
        bc.print_table(f"{direction} {wl} {where} {server} "
                       f"(median of {rounds}; MB/s = 10^6 B/s, MiB/s = 2^20 B/s)",
                       ["contender", "MB/s", "MiB/s", "spread MB/s", "CPU s", "CPU s/GiB",
                        "peak RSS MiB", "server CPU s", "x best peer"], table)
        dp = next((s for s in rows if s["contender"].startswith("dataport")), None)
        if dp and server == "azurite" and direction == "download" and dp["ratio_to_curl"]:
            print(f"dataport / server-bound limit (curl single stream): {dp['ratio_to_curl']:.2f}")


def tool_versions(dataport):
    versions = {}
    for name, cmd in {"curl": ["curl", "--version"], "rclone": ["rclone", "version"],
                      "aria2c": ["aria2c", "--version"], "nginx": ["nginx", "-v"],
                      "dataport": [dataport, "--version"]}.items():
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            versions[name] = ((p.stdout or p.stderr).strip().splitlines() or [""])[0]
        except OSError as e:
            versions[name] = f"unavailable: {e}"
    return versions


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--dataport", default=os.path.join(bc.ROOT, "build/dataport"))
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every size (and the small-file count)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workloads", default="big,medium,small")
    ap.add_argument("--servers", default="azurite,nginx,nginx-https")
    ap.add_argument("--https-workloads", default="big",
                    help="workloads also run over nginx-https (default big; 'all' for every one)")
    ap.add_argument("--upload-workloads", default="big,medium,small", help="'' for no uploads")
    ap.add_argument("--copy-workloads", default="big,medium,small",
                    help="remote -> remote copies inside Azurite ('' for none)")
    ap.add_argument("--dataport-threads", type=int)
    ap.add_argument("--dataport-chunk-size")
    ap.add_argument("--dataport-arg", action="append", default=[],
                    help="extra argument for every dataport cp (repeatable)")
    ap.add_argument("--no-buffered-row", dest="buffered_row", action="store_false",
                    help="downloads: leave out the `dataport cp --no-direct-io` row")
    ap.add_argument("--workdir", default="/var/tmp/dataport-transfer-bench",
                    help="on local disk; data is generated here once and reused")
    ap.add_argument("--fresh-data", action="store_true")
    ap.add_argument("--settle", type=float, default=3.0, help="seconds to let Azurite settle after warm-up")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per run")
    ap.add_argument("--fail-fast", action="store_true")
    ap.add_argument("--json", default="transfer_bench.json")
    args = ap.parse_args()
    if not os.access(args.dataport, os.X_OK):
        raise SystemExit(f"dataport binary not found at {args.dataport}: build it or pass --dataport PATH")
    args.dataport = os.path.abspath(args.dataport)
    wls = [w for w in args.workloads.split(",") if w]
    servers = [s for s in args.servers.split(",") if s]
    for s in servers:
        if s not in ("azurite", "nginx", "nginx-https"):
            raise SystemExit(f"unknown server {s!r}: use azurite, nginx, nginx-https")
    https_wls = wls if args.https_workloads == "all" else [w for w in args.https_workloads.split(",") if w]
    up_wls = [w for w in args.upload_workloads.split(",") if w in wls]
    copy_wls = [w for w in args.copy_workloads.split(",") if w in wls]

    started = time.time()
    data_root = os.path.join(args.workdir, f"data-scale{args.scale:g}")
    os.makedirs(data_root, exist_ok=True)
    manifest = prepare_data(data_root, wls, args.scale, args.fresh_data)
    runner = Runner(args, args.workdir, manifest)
    payload = {"schema": bc.RESULT_SCHEMA, "schema_doc": bc.RESULT_SCHEMA_DOC,
               "machine": {"nproc": os.cpu_count(), "load_start": os.getloadavg(),
                           "kernel": platform.release(), "tools": tool_versions(args.dataport)},
               "args": vars(args),
               "workloads": {w: {"files": len(manifest[w]),
                                 "bytes": sum(m["size"] for m in manifest[w].values())} for w in wls}}

    def save():
        payload["runs"], payload["summary"] = runner.runs, summarize(runner)
        payload["machine"]["load_end"] = os.getloadavg()
        payload["elapsed_s"] = time.time() - started
        with open(args.json, "w") as f:
            json.dump(payload, f, indent=2)

    nginx = None
    if any(s.startswith("nginx") for s in servers):
        nginx = bc.Nginx(os.path.join(args.workdir, "nginx"), data_root)
    try:
        for wl in wls:
            if "azurite" in servers:
                az_dir = os.path.join(args.workdir, f"azurite-dl-{wl}")
                bc.remove_tree(az_dir)
                az = bc.Azurite(az_dir)
                try:
                    print(f"\nseeding {wl} into Azurite at {az.url} ...", flush=True)
                    seed_azurite(az, wl, manifest[wl], data_root)
                    sas = bc.account_sas(az)
                    env = dict(os.environ, AZURE_STORAGE_CONNECTION_STRING=bc.connection_string(az))
                    run_download_group(runner, az, "azurite", wl, f"{az.url}/{bc.ACCOUNT}/{CONTAINER}/{wl}",
                                       env, sas=sas, sas_url=f"{az.url}/{bc.ACCOUNT}?{sas}")
                    if wl in copy_wls:
                        save()
                        run_copy_group(runner, az, wl, sas, env)
                finally:
                    az.stop()
                    bc.remove_tree(az_dir)
                save()
            if "nginx" in servers:
                run_download_group(runner, nginx, "nginx", wl, f"{nginx.url()}/{wl}", dict(os.environ))
                save()
            if "nginx-https" in servers and wl in https_wls:
                run_download_group(runner, nginx, "nginx-https", wl, f"{nginx.url(https=True)}/{wl}",
                                   dict(os.environ, SSL_CERT_FILE=nginx.cert), cert=nginx.cert)
                save()
            if wl in up_wls:
                run_upload_group(runner, wl, data_root)
                save()
    finally:
        if nginx:
            nginx.stop()
        bc.remove_tree(os.path.join(args.workdir, "dl"))
        save()
    print_summary(payload["summary"], args.rounds)
    print(f"\nJSON written to {args.json}; elapsed {time.time() - started:.0f} s; "
          f"load average now {os.getloadavg()[0]:.1f} (nproc {os.cpu_count()})")
    if runner.failures:
        print(f"\n{len(runner.failures)} FAILED RUN(S):")
        for r in runner.failures:
            print(f"- {r['direction']} {r['server']} {r['workload']} {r['contender']} round "
                  f"{r['round'] + 1}: {r['error']}")
        sys.exit(1)


if __name__ == "__main__":
    main()
