"""A tiny 'training' script for the dataport job example.

Reads the titanic CSV (a downloaded input) and an image folder (a read-only mount), writes a
model through a read-write mount, a report to an upload output, metrics to ./outputs and
progress to ./logs (uploaded while the job runs).
"""
import argparse
import csv
import hashlib
import json
import os
import time
from collections import defaultdict

parser = argparse.ArgumentParser()
parser.add_argument("--titanic", required=True)
parser.add_argument("--images", required=True)
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--model", required=True)
parser.add_argument("--report", required=True)
args = parser.parse_args()

os.makedirs("outputs", exist_ok=True)
os.makedirs("logs", exist_ok=True)
log = open("logs/train.log", "a", buffering=1)

# The data: survival rate per passenger class.
survived, total = defaultdict(int), defaultdict(int)
with open(args.titanic, newline="") as f:
    rows = list(csv.DictReader(f))
for row in rows:
    total[row["Pclass"]] += 1
    survived[row["Pclass"]] += int(row["Survived"])
print(f"read {len(rows)} passengers from {args.titanic}")

# The images: read every file through the mount (streamed on first read).
images = []
for entry in sorted(os.scandir(args.images), key=lambda e: e.name):
    if entry.is_file():
        with open(entry.path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        images.append({"name": entry.name, "bytes": entry.stat().st_size, "sha256": digest})
print(f"read {len(images)} images from {args.images}")

rates = {}
for epoch in range(1, args.epochs + 1):
    rates = {k: round(survived[k] / total[k], 4) for k in sorted(total)}
    log.write(f"epoch {epoch}/{args.epochs}: survival rate by class {rates}\n")
    print(f"epoch {epoch}/{args.epochs} done", flush=True)
    time.sleep(1)

model = {"kind": "survival-rate-by-class", "rates": rates, "seed": os.environ.get("TRAIN_SEED")}
with open(os.path.join(args.model, "model.json"), "w") as f:
    json.dump(model, f, indent=2)
with open(os.path.join(args.report, "report.md"), "w") as f:
    f.write("# Titanic demo report\n\n")
    for k, v in rates.items():
        f.write(f"- class {k}: {v:.1%} survived ({total[k]} passengers)\n")
    f.write(f"\n{len(images)} images read through ro_mount\n")
with open(os.path.join(args.report, "images.json"), "w") as f:
    json.dump(images, f, indent=2)
with open("outputs/metrics.json", "w") as f:
    json.dump({"passengers": len(rows), "images": len(images), "rates": rates}, f)
log.write("training finished\n")
print("training finished; model, report, ./outputs and ./logs written")
