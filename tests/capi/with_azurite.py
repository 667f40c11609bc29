#!/usr/bin/env python3
"""Runs a command against Azurite with a fresh container of test data, for the C ABI tests.

    with_azurite.py COMMAND ARGS...

Reads $DATAPORT_TEST_STATE/servers.json (the ctest `servers` fixture), sets
AZURE_STORAGE_CONNECTION_STRING for devstoreaccount1, uploads a small tree through the Python
binding (so DATAPORT_LIBRARY must name libdataport_c.so) and exports where it is:
  DP_CAPI_FOLDER       http URL of the folder (path style: <blob_url>/devstoreaccount1/<c>/tree)
  DP_CAPI_BLOB         URL of tree/data.bin (300,000 random bytes)
  DP_CAPI_BLOB_SIZE    its size
  DP_CAPI_BLOB_SHA256  its SHA-256 (hex); DP_CAPI_BLOB_FNV1A its 64-bit FNV-1a (hex)
  DP_CAPI_CONTAINER    the container's URL
then runs COMMAND with a fresh DATAPORT_CACHE_DIR, removes that folder and exits with COMMAND's
status.
"""
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import uuid

state = os.environ.get("DATAPORT_TEST_STATE")
if not state or not os.path.exists(os.path.join(state, "servers.json")):
    sys.exit("with_azurite.py: $DATAPORT_TEST_STATE/servers.json is missing: run through ctest "
             "(the servers fixture writes it)")
servers = json.load(open(os.path.join(state, "servers.json")))
blob_url = servers["azurite"]["blob_url"]
key = servers["azurite"]["accounts"]["devstoreaccount1"]
os.environ["AZURE_STORAGE_CONNECTION_STRING"] = (
    f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};"
    f"BlobEndpoint={blob_url}/devstoreaccount1;")
os.environ.setdefault("DATAPORT_RETRY_BASE_DELAY_MS", "10")
os.environ.setdefault("DATAPORT_RETRY_MAX_DELAY_MS", "50")
cache_dir = tempfile.mkdtemp(prefix="dataport-capi-cache-")
os.environ["DATAPORT_CACHE_DIR"] = cache_dir

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "examples", "python"))
import dataport  # noqa: E402

container = "capi" + uuid.uuid4().hex[:20]
base = f"{blob_url}/devstoreaccount1/{container}"
data = random.Random(7).randbytes(300_000)
with tempfile.TemporaryDirectory() as tmp:
    os.makedirs(os.path.join(tmp, "tree", "sub"))
    with open(os.path.join(tmp, "tree", "data.bin"), "wb") as f:
        f.write(data)
    with open(os.path.join(tmp, "tree", "small.txt"), "wb") as f:
        f.write(b"hello from dataport\n")
    with open(os.path.join(tmp, "tree", "sub", "inner.txt"), "wb") as f:
        f.write(b"inner\n")
    with dataport.Context() as ctx:
        summary = ctx.copy(os.path.join(tmp, "tree"), f"{base}/tree", recursive=True,
                           create_container=True)
    if summary["files_done"] != 3:
        sys.exit(f"with_azurite.py: upload of the test tree failed: {summary}")

os.environ["DP_CAPI_CONTAINER"] = base
os.environ["DP_CAPI_FOLDER"] = f"{base}/tree"
os.environ["DP_CAPI_BLOB"] = f"{base}/tree/data.bin"
os.environ["DP_CAPI_BLOB_SIZE"] = str(len(data))
os.environ["DP_CAPI_BLOB_SHA256"] = hashlib.sha256(data).hexdigest()
fnv = 14695981039346656037
for byte in data:
    fnv = ((fnv ^ byte) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
os.environ["DP_CAPI_BLOB_FNV1A"] = f"{fnv:016x}"
sys.stdout.flush()
try:
    code = subprocess.run(sys.argv[1:]).returncode
finally:
    shutil.rmtree(cache_dir, ignore_errors=True)
sys.exit(code if code >= 0 else 128 - code)
