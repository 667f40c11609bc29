#!/usr/bin/env bash
# The main job: installs what is missing, builds dataport, starts a local Azurite on 127.0.0.1,
# seeds a sample dataset (titanic.csv in container `data` of the emulator account
# `azuremlexampledata`, as in the platform's examples, and 8 small generated images), runs the
# example command job examples/job/job.yaml on it (ro_mount + download inputs, rw_mount + upload
# outputs, ./outputs, live ./logs), lists where everything landed, then shows resolve/ls/stat/cat
# and cp round trips.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh"
build="${DATAPORT_BUILD_DIR:-$here/build}"
echo "== building dataport in $build =="
"$here/scripts/build.sh" "$build" >/dev/null
dp="$build/dataport"
work="$(mktemp -d /tmp/dataport-demo.XXXXXX)"
example_key="$(printf 'azuremlexampledata-demo-key-0123456789' | base64 -w0)"
well_known="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"

echo "== starting Azurite on 127.0.0.1:$port (data in $work/azurite) =="
AZURITE_ACCOUNTS="devstoreaccount1:$well_known;azuremlexampledata:$example_key" \
  "$here/tools/azurite/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$port" \
  --location "$work/azurite" --skipApiVersionCheck --loose --disableTelemetry --silent \
  >"$work/azurite.log" 2>&1 &
azurite_pid=$!
trap 'kill $azurite_pid 2>/dev/null || true; wait $azurite_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
  sleep 0.1
done

cat >"$work/workspace.yaml" <<YAML
subscription_id: 00000000-0000-0000-0000-000000000000
resource_group: demo-rg
workspace_name: demo-ws
default_datastore: workspaceblobstore
accounts:
  azuremlexampledata:
    service_url: http://127.0.0.1:$port/azuremlexampledata
    credentials: {account_key: "$example_key"}
  devstoreaccount1:
    service_url: http://127.0.0.1:$port/devstoreaccount1
    credentials: {account_key: "$well_known"}
datastores:
  workspaceblobstore:
    type: azure_blob
    account_name: devstoreaccount1
    container_name: azureml
    service_url: http://127.0.0.1:$port/devstoreaccount1
    credentials: {account_key: "$well_known"}
  exampledata:
    type: azure_blob
    account_name: azuremlexampledata
    container_name: data
    service_url: http://127.0.0.1:$port/azuremlexampledata
    credentials: {account_key: "$example_key"}
data_assets:
  titanic:
    versions:
      "1": {type: uri_file, path: "azureml://datastores/exampledata/paths/titanic.csv"}
YAML
export DATAPORT_WORKSPACE="$work/workspace.yaml"
uri="wasbs://data@azuremlexampledata.blob.core.windows.net/titanic.csv"

run() { echo "\$ dataport $*"; "$dp" "$@"; }
echo "== seeding the sample dataset =="
run --log-level info put --create-container "$here/examples/data/titanic.csv" "$uri"
echo "== seeding 8 small images (generated PNGs) =="
python3 - "$work/images" <<'PY'
import os, struct, sys, zlib
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
for i in range(8):
    w = h = 32
    raw = b"".join(b"\x00" + b"".join(bytes(((x * 8 + i * 29) % 256, (y * 8) % 256, (i * 31) % 256))
                                      for x in range(w)) for y in range(h))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    with open(os.path.join(out, f"passenger_{i + 1}.png"), "wb") as f:
        f.write(png)
PY
run cp --progress none -R "$work/images" azureml://datastores/exampledata/paths/images

echo "== running the example job: dataport job run examples/job/job.yaml =="
job_name="titanic_demo_$(date -u +%Y%m%d_%H%M%S)"
run job run --name "$job_name" "$here/examples/job/job.yaml"
run_uri="azureml://datastores/workspaceblobstore/paths/ExperimentRun/dcid.$job_name/"
echo "== where everything landed =="
run ls -R -l "$run_uri"
run ls -R -l "azureml://datastores/workspaceblobstore/paths/azureml/$job_name/"
run ls -R -l "azureml://datastores/workspaceblobstore/paths/reports/$job_name/"
run cat "azureml://datastores/workspaceblobstore/paths/reports/$job_name/report.md"
run cat "${run_uri}outputs/metrics.json"; echo
run cat "${run_uri}logs/train.log"
"$dp" cat "azureml://datastores/workspaceblobstore/paths/reports/$job_name/images.json" >"$work/images.json"
python3 - "$work/images.json" "$work/images" <<'PY' ||
import hashlib, json, os, sys
seen = {i["name"]: i["sha256"] for i in json.load(open(sys.argv[1]))}
local = {n: hashlib.sha256(open(os.path.join(sys.argv[2], n), "rb").read()).hexdigest()
         for n in os.listdir(sys.argv[2])}
assert seen == local, (seen, local)
PY
  { echo "== FAILED: the images the job read through ro_mount differ from the seeded ones ==" >&2; exit 1; }
echo "== ok: the job read every image byte-identical through the mount =="

echo "== resolve, ls, stat, cat =="
run resolve "$uri"
run resolve azureml:titanic:1
run ls -l "wasbs://data@azuremlexampledata.blob.core.windows.net/"
run stat azureml://datastores/exampledata/paths/titanic.csv
run cat --length 200 azureml:titanic@latest; echo
"$dp" cat "$uri" >"$work/titanic.copy.csv"
cmp -s "$work/titanic.copy.csv" "$here/examples/data/titanic.csv" ||
  { echo "== FAILED: the blob read back differs from the source ==" >&2; exit 1; }

echo "== download and upload with cp =="
mkdir -p "$work/outputs"
for i in 1 2 3; do head -c $((i * 3000000)) /dev/urandom >"$work/outputs/model-part$i.bin"; done
echo "accuracy: 0.83" >"$work/outputs/metrics.txt"
run cp --progress none -R --create-container "$work/outputs" azureml://datastores/workspaceblobstore/paths/runs/demo/outputs/
run ls -R -l azureml://datastores/workspaceblobstore/paths/runs/demo/
run cp --progress none -R azureml://datastores/workspaceblobstore/paths/runs/demo/outputs "$work/downloaded"
run cp --progress none azureml:titanic:1 "$work/downloaded/"
for f in "$work"/outputs/*; do
  cmp -s "$f" "$work/downloaded/$(basename "$f")" ||
    { echo "== FAILED: $(basename "$f") differs after the round trip ==" >&2; exit 1; }
done
cmp -s "$work/downloaded/titanic.csv" "$here/examples/data/titanic.csv" ||
  { echo "== FAILED: titanic.csv differs after download ==" >&2; exit 1; }
echo "== ok: every file read back through dataport is byte-identical to its source =="
echo "   (work folder: $work)"
