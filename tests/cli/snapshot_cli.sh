#!/usr/bin/env bash
# dataport snapshot: the JSON report (files, totals, ignored count, biggest items), the human
# report, .amlignore over .gitignore, limits from flags and settings with the platform's messages.
source "$(dirname "$0")/lib.sh"
code="$WORK/code"
mkdir -p "$code/src" "$code/data" "$code/node_modules/pkg" "$code/outputs"
printf 'print("train")\n' >"$code/src/train.py"
printf 'def f():\n    return 1\n' >"$code/src/util.py"
head -c 200000 /dev/urandom >"$code/data/big.bin"
head -c 1000 /dev/urandom >"$code/data/small.bin"
printf 'x' >"$code/node_modules/pkg/index.js"
printf 'y' >"$code/outputs/old.txt"
printf 'node_modules/\n/outputs/\n*.pyc\n' >"$code/.amlignore"
printf '*.py\n' >"$code/.gitignore"   # unused: .amlignore wins
printf 'z' >"$code/src/cache.pyc"

dp snapshot --json "$code"; expect_rc 0 "snapshot --json within the limits"
python3 - "$WORK/out" "$code" <<'PY' && ok "JSON lists the included files, totals, ignored count, biggest items" || fail "snapshot JSON content"
import json, os, sys
d = json.load(open(sys.argv[1])); root = sys.argv[2]
names = [f["path"] for f in d["files"]]
assert names == [".amlignore", ".gitignore", "data/big.bin", "data/small.bin", "src/train.py", "src/util.py"], names
for f in d["files"]:
    assert f["size"] == os.path.getsize(os.path.join(root, f["path"])), f
assert d["file_count"] == 6
assert d["total_bytes"] == sum(f["size"] for f in d["files"])
assert d["ignored_count"] == 3, d["ignored_count"]  # node_modules/, outputs/, src/cache.pyc
assert d["ignore_files"] == [".amlignore"]
assert d["biggest_files"][0] == {"path": "data/big.bin", "size": 200000}
assert d["biggest_folders"][0]["path"] == "data" and d["biggest_folders"][0]["size"] == 201000
assert d["limits"] == {"max_bytes": 300 * 1024 * 1024, "max_files": 2000}
assert d["within_limits"] is True and "error" not in d
PY

dp snapshot "$code"; expect_rc 0 "human report"
expect_out "data/big.bin" "human report lists files"
expect_out "Biggest files:" "human report shows the biggest files"
expect_out "6 files" "human report shows the file count"
expect_out "3 entries ignored" "human report shows the ignored count"

dp snapshot --json --max-files 5 "$code"; expect_rc 1 "--max-files below the count fails"
expect_err "While attempting to take snapshot of $code" "file-count error names the folder"
expect_err "Your project exceeds the file limit of 5." "platform's file-count message"
expect_err ".amlignore" "the error hints at .amlignore"
python3 -c "import json,sys; d=json.load(open('$WORK/out')); assert d['within_limits'] is False and 'exceeds the file limit' in d['error']" \
  && ok "the JSON report is still printed, with the error" || fail "JSON on a limit error"

head -c 2200000 /dev/zero >"$code/data/zeros.bin"
dp snapshot --max-size-mb 2 "$code"; expect_rc 1 "--max-size-mb below the total fails"
python3 - "$WORK/err" "$code" <<'PY' && ok "platform's size message, exact lines" || fail "size message lines"
import sys
lines = open(sys.argv[1]).read().splitlines()
assert lines[0] == "dataport: error: While attempting to take snapshot of " + sys.argv[2], lines[0]
assert lines[1] == "Your total snapshot size exceeds the limit of 2.0 MB", lines[1]
PY
AZUREML_SNAPSHOT_MAX_SIZE_MB=3 dp snapshot "$code"; expect_rc 0 "AZUREML_SNAPSHOT_MAX_SIZE_MB raises the limit"
dp --set AZUREML_SNAPSHOT_MAX_SIZE_MB=2 snapshot "$code"; expect_rc 1 "--set lowers it"
AZUREML_SNAPSHOT_MAX_SIZE_MB=2 dp snapshot --max-size-mb 3 "$code"; expect_rc 0 "the flag wins over the setting"
AZUREML_SNAPSHOT_MAX_FILES=lots dp snapshot "$code"; expect_rc 2 "a bad setting is refused"
expect_err "AZUREML_SNAPSHOT_MAX_FILES" "the error names the setting"

dp snapshot "$WORK/missing"; expect_rc 2 "a missing folder is refused"
expect_err "does not exist" "the error says the folder does not exist"
dp snapshot --max-files 0 "$code"; expect_rc 2 "--max-files 0 is a usage error"
finish
