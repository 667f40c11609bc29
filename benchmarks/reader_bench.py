#!/usr/bin/env python3
"""Reader benchmark: starts Azurite, seeds a 1 GiB blob and 2000 x 500 KiB files, then runs
build/dataport_reader_bench scenarios next to `dataport cp` of the same blob.

Usage: benchmarks/reader_bench.py [--build build] [--size-mib 1024] [--small 2000]"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import ACCOUNT, WELL_KNOWN_KEY, Azurite, BlobClient, run_measured  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--small", type=int, default=2000)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="reader-bench-")
    az = Azurite(os.path.join(work, "azurite"), in_memory=True)
    try:
        client = BlobClient(az)
        client.create_container("bench")
        chunk = os.urandom(1 << 20)
        client.put_blob("bench", "big.bin", chunk * args.size_mib)
        small = os.urandom(500 * 1024)
        for i in range(args.small):
            client.put_blob("bench", f"small/{i:05d}.bin", small)
        env = dict(os.environ,
                   AZURE_STORAGE_CONNECTION_STRING=(
                       f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={WELL_KNOWN_KEY};"
                       f"BlobEndpoint={az.url}/{ACCOUNT};"),
                   DATAPORT_CACHE_DIR=os.path.join(work, "cache"))
        big = f"{az.url}/{ACCOUNT}/bench/big.bin"
        folder = f"{az.url}/{ACCOUNT}/bench/small"
        bench = os.path.join(args.build, "benchmarks", "dataport_reader_bench")
        rows = []

        def run(name, cmd, extra_env=None):
            e = dict(env, **(extra_env or {}))
            line = None
            if cmd[0] == bench:  # one run: the program reports its own MB/s and peak RSS
                import time
                t0 = time.perf_counter()
                out = subprocess.run(cmd, env=e, capture_output=True, text=True, check=True).stdout
                line = json.loads(out.strip().splitlines()[-1])
                m = {"wall_s": time.perf_counter() - t0, "rss_mib": line["peak_rss_mib"]}
            else:
                m = run_measured(cmd, env=e)
            rows.append((name, m, line))
            print(name, json.dumps({"wall_s": round(m["wall_s"], 2), "rss_mib": round(m["rss_mib"], 1),
                                    "result": line and {k: line[k] for k in
                                                        ("mb_per_s", "fetched_per_read", "peak_rss_mib")}}))

        run("dataport cp", [os.path.join(args.build, "dataport"), "cp", big, os.path.join(work, "cp.bin")])
        run("seq 64KiB", [bench, "seq", big, str(64 << 10)])
        run("seq 1MiB", [bench, "seq", big, str(1 << 20)])
        run("4 threads", [bench, "threads", big, str(1 << 20), "4"])
        run("random 64KiB", [bench, "random", big, str(64 << 10)])
        for tier in ("true", "false"):
            extra = {"DATASET_MOUNT_BLOCK_FILE_CACHE_ENABLED": tier, "DATASET_MOUNT_MEMORY_CACHE_SIZE": "0"}
            run(f"small x2 disk={tier} pass1", [bench, "small", folder, str(1 << 20), "8"], extra)
            run(f"small x2 disk={tier} pass2", [bench, "small", folder, str(1 << 20), "8"], extra)
    finally:
        az.stop()


if __name__ == "__main__":
    main()
