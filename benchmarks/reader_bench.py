#!/usr/bin/env python3
"""Reader benchmark (issue 4): readable_file through the library, no FUSE, against Azurite.

Starts Azurite (on-disk), seeds one big blob and N small files, then runs in interleaved rounds
(A B C A B C ...), each run with a fresh, empty cache folder (cold caches):
  dataport cp        download of the big blob to local disk (the reference: target >= 0.9x)
  curl               one GET of the big blob to /dev/null (the server-bound limit)
  seq 64KiB / 1MiB   build/benchmarks/dataport_reader_bench seq, default tiers (RAM + disk)
  seq 64KiB no tiers the same with DATASET_MOUNT_MEMORY_CACHE_SIZE=0, BLOCK_FILE_CACHE_ENABLED=false
  4 threads          four threads reading four quarters, 1 MiB requests
  random 64KiB       2000 random 64 KiB reads (dense: most blocks read several times), and 200
                     (sparse: the first touch of a block fetches only the pages read)
  small pass1/pass2  the small files read by 8 threads, twice on one cache folder, with and
                     without the disk tier (pass 2 should come from the cache)
Prints a table (median MB/s, spread, client CPU s, peak RSS, Azurite CPU s, storage bytes
fetched per byte read, ratio to dataport cp) and writes all runs as JSON. One untimed run reads
the big blob through the reader and checks its sha256 against the seeded bytes.

Azurite slows down as it ages (benchmarks/README.md: 1.1-1.5 GB/s for about a minute, then
0.35-0.55), so before every timed run it is restarted (on disk, its blobs stay) and warmed with
one untimed 256 MiB ranged GET: every row, `dataport cp` included, meets an equally young server.
--no-restart keeps one Azurite for the whole session (the old behaviour).

Usage: benchmarks/reader_bench.py [--build build] [--size-mib 1024] [--small 2000] [--rounds 2]
                                  [--json reader_bench.json]"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import (ACCOUNT, Azurite, BlobClient, account_sas,  # noqa: E402
                          connection_string, discard_tree, dump_json, print_table, run_measured,
                          settle_writeback, summarize)

NO_TIERS = {"DATASET_MOUNT_BLOCK_FILE_CACHE_ENABLED": "false", "DATASET_MOUNT_MEMORY_CACHE_SIZE": "0"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--small", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", default="reader_bench.json")
    ap.add_argument("--no-restart", action="store_true",
                    help="one Azurite for all runs (no restart and warm-up before each run)")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    dataport = os.path.join(build, "dataport")
    bench = os.path.join(build, "benchmarks", "dataport_reader_bench")
    work = tempfile.mkdtemp(prefix="reader-bench-", dir="/var/tmp")
    az = Azurite(os.path.join(work, "azurite"))
    try:
        client = BlobClient(az)
        client.create_container("bench")
        chunk = os.urandom(1 << 20)
        client.put_blob("bench", "big.bin", chunk * args.size_mib)
        expected = hashlib.sha256(chunk * args.size_mib).hexdigest()
        small = os.urandom(500 * 1024)
        for i in range(args.small):
            client.put_blob("bench", f"small/{i:05d}.bin", small)
        big_bytes = args.size_mib << 20
        small_bytes = args.small * len(small)
        env = dict(os.environ, AZURE_STORAGE_CONNECTION_STRING=connection_string(az))
        big = f"{az.url}/{ACCOUNT}/bench/big.bin"
        folder = f"{az.url}/{ACCOUNT}/bench/small"
        sas = account_sas(az)

        def cache_env(cache, extra=None):
            return dict(env, DATAPORT_CACHE_DIR=cache, **(extra or {}))

        # Untimed correctness check of the reader path.
        check = subprocess.run([bench, "seq", big, str(1 << 20)], capture_output=True, text=True,
                               check=True, env=dict(cache_env(os.path.join(work, "check")),
                                                    DATAPORT_BENCH_SHA256="1"))
        got = json.loads(check.stdout.strip().splitlines()[-1])["sha256"]
        if got != expected:
            raise SystemExit(f"reader returned wrong bytes: sha256 {got}, expected {expected}")
        print(f"verified: the reader's bytes of big.bin have the seeded sha256 ({expected[:16]}...)")
        subprocess.run(["curl", "-sS", "-f", "-o", "/dev/null", f"{big}?{sas}"], check=True)  # warm

        rows = [  # name, bytes, command builder(cache) -> (cmd, env), keeps cache for next row
            ("dataport cp", big_bytes,
             lambda c: ([dataport, "cp", "--progress", "none", big, os.path.join(c, "out.bin")],
                        cache_env(c))),
            ("curl (server limit)", big_bytes,
             lambda c: (["curl", "-sS", "-f", "-o", "/dev/null", f"{big}?{sas}"], env)),
            ("seq 64KiB", big_bytes, lambda c: ([bench, "seq", big, str(64 << 10)], cache_env(c))),
            ("seq 1MiB", big_bytes, lambda c: ([bench, "seq", big, str(1 << 20)], cache_env(c))),
            ("seq 64KiB no tiers", big_bytes,
             lambda c: ([bench, "seq", big, str(64 << 10)], cache_env(c, NO_TIERS))),
            ("4 threads 1MiB", big_bytes,
             lambda c: ([bench, "threads", big, str(1 << 20), "4"], cache_env(c))),
            ("random 64KiB x2000", 2000 * (64 << 10),
             lambda c: ([bench, "random", big, str(64 << 10)], cache_env(c))),
            ("random 64KiB x200", 200 * (64 << 10),
             lambda c: ([bench, "random", big, str(64 << 10), "200"], cache_env(c))),
        ]
        for tier in ("true", "false"):
            extra = {"DATASET_MOUNT_BLOCK_FILE_CACHE_ENABLED": tier,
                     "DATASET_MOUNT_MEMORY_CACHE_SIZE": "0"}
            for p in ("pass1", "pass2"):
                rows.append((f"small disk={tier} {p}", small_bytes,
                             lambda c, e=extra: ([bench, "small", folder, str(1 << 20), "8"],
                                                 cache_env(c, e))))
        runs = []
        for rnd in range(args.rounds):
            cache = None
            for name, nbytes, build_cmd in rows:
                if not name.endswith("pass2"):
                    if cache:
                        discard_tree(cache)
                    cache = tempfile.mkdtemp(dir=work)
                cmd, run_env = build_cmd(cache)
                if not args.no_restart:
                    az.restart()
                    subprocess.run(["curl", "-sS", "-f", "-o", "/dev/null", "-r", "0-268435455",
                                    f"{big}?{sas}"], check=True)
                settle_writeback(work)  # no run pays for the previous one's writeback
                az_before = az.cpu_seconds()
                with tempfile.TemporaryFile(mode="w+") as out:
                    m = run_measured(cmd, env=run_env, stdout_to=out)
                    out.seek(0)
                    lines = out.read().strip().splitlines()
                line = json.loads(lines[-1]) if cmd[0] == bench and lines else {}
                rec = {"row": name, "round": rnd, "bytes": nbytes, "wall_s": m["wall_s"],
                       "mb_s": nbytes / 1e6 / m["wall_s"], "cpu_s": m["cpu_s"],
                       "rss_mib": m["rss_mib"], "server_cpu_s": az.cpu_seconds() - az_before,
                       "fetched_per_read": line.get("fetched_per_read"),
                       "metrics": line.get("metrics")}
                runs.append(rec)
                print(f"round {rnd} {name:22s} {rec['mb_s']:8.1f} MB/s  cpu {rec['cpu_s']:.2f} s  "
                      f"rss {rec['rss_mib']:.0f} MiB  azurite {rec['server_cpu_s']:.2f} s", flush=True)
            discard_tree(cache)

        cp_median = summarize([r["mb_s"] for r in runs if r["row"] == "dataport cp"])[0]
        table, summary = [], []
        for name, _, _ in rows:
            mine = [r for r in runs if r["row"] == name]
            mb = summarize([r["mb_s"] for r in mine])
            s = {"row": name, "mb_s_median": mb[0], "mb_s_min": mb[1], "mb_s_max": mb[2],
                 "cpu_s": summarize([r["cpu_s"] for r in mine])[0],
                 "rss_mib": summarize([r["rss_mib"] for r in mine])[0],
                 "server_cpu_s": summarize([r["server_cpu_s"] for r in mine])[0],
                 "fetched_per_read": summarize([r["fetched_per_read"] for r in mine])[0],
                 "ratio_to_cp": mb[0] / cp_median if cp_median else None}
            summary.append(s)
            table.append([name, f"{mb[0]:.0f}", f"{mb[1]:.0f}-{mb[2]:.0f}", f"{s['cpu_s']:.2f}",
                          f"{s['rss_mib']:.0f}", f"{s['server_cpu_s']:.2f}",
                          "-" if s["fetched_per_read"] is None else f"{s['fetched_per_read']:.2f}",
                          f"{s['ratio_to_cp']:.2f}"])
        print_table(f"reader benchmark: {args.size_mib} MiB blob, {args.small} x 500 KiB, "
                    f"{args.rounds} rounds, cold caches",
                    ["row", "MB/s", "spread", "cpu s", "rss MiB", "azurite cpu s", "fetched/read",
                     "x cp"], table)
        dump_json(args.json, {"schema": "dataport-reader-bench/1", "args": vars(args),
                              "sha256_verified": expected, "runs": runs, "summary": summary,
                              "load": os.getloadavg()})
    finally:
        az.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
