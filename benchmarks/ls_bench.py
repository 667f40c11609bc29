#!/usr/bin/env python3
"""Listing benchmark: time to the first entry versus total time for a recursive listing of a
20,000-blob Azurite folder, dataport ls against rclone lsf (azureblob backend via sas_url), the
contenders interleaved, medians over several rounds.

Usage: benchmarks/ls_bench.py [--blobs 20000] [--rounds 5] [--dataport build/dataport]"""
import argparse
import concurrent.futures
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_common as bc  # noqa: E402


def seed(azurite, container, count):
    bc.BlobClient(azurite).create_container(container)
    def worker(part):
        client = bc.BlobClient(azurite)
        for i in range(part, count, 8):
            client.put_blob(container, f"many/d{i % 50:02}/f{i:06}.bin", b"x" * (i % 17))
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(worker, range(8)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--blobs", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--dataport", default=os.path.join(bc.ROOT, "build/dataport"))
    ap.add_argument("--json", default="ls_bench.json")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="dataport-ls-bench.")
    azurite = bc.Azurite(os.path.join(work, "azurite"), in_memory=True)
    try:
        print(f"seeding {args.blobs} blobs into Azurite at {azurite.url} ...", flush=True)
        seed(azurite, "lsbench", args.blobs)
        env = dict(os.environ, AZURE_STORAGE_CONNECTION_STRING=(
            f"DefaultEndpointsProtocol=http;AccountName={bc.ACCOUNT};AccountKey={bc.WELL_KNOWN_KEY};"
            f"BlobEndpoint={azurite.url}/{bc.ACCOUNT};"))
        sas_url = f"{azurite.url}/{bc.ACCOUNT}?{bc.account_sas(azurite)}"
        contenders = {
            "dataport ls -R": [args.dataport, "ls", "-R",
                               f"{azurite.url}/{bc.ACCOUNT}/lsbench/many/"],
            "rclone lsf -R": ["rclone", "lsf", "-R", "--files-only", "--config", "/dev/null",
                              "--azureblob-sas-url", sas_url, ":azureblob:lsbench/many"],
        }
        results = {name: [] for name in contenders}
        for _ in range(args.rounds):
            for name, cmd in contenders.items():
                r = bc.run_measured(cmd, env=env)
                results[name].append(r)
        rows, payload = [], {"blobs": args.blobs, "rounds": args.rounds, "results": {}}
        for name, runs in results.items():
            summary = {k: bc.median([r[k] for r in runs]) for k in ("first_s", "wall_s", "cpu_s", "rss_mib")}
            summary["entries"] = runs[-1]["lines"]
            summary["wall_spread_s"] = [min(r["wall_s"] for r in runs), max(r["wall_s"] for r in runs)]
            payload["results"][name] = summary
            rows.append([name, summary["entries"], f"{summary['first_s']:.3f}", f"{summary['wall_s']:.2f}",
                         f"{summary['wall_spread_s'][0]:.2f}-{summary['wall_spread_s'][1]:.2f}",
                         f"{summary['cpu_s']:.2f}", f"{summary['rss_mib']:.0f}"])
        bc.print_table(f"Recursive listing of {args.blobs} blobs in Azurite (medians of {args.rounds})",
                       ["contender", "entries", "first entry s", "total s", "spread s", "CPU s", "peak RSS MiB"],
                       rows)
        bc.dump_json(args.json, payload)
        for name, summary in payload["results"].items():
            if summary["entries"] < args.blobs:
                print(f"WARNING: {name} listed {summary['entries']} entries, expected {args.blobs}")
    finally:
        azurite.stop()


if __name__ == "__main__":
    main()
