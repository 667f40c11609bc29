#!/usr/bin/env bash
# dataport mltable ls / yaml / download against Azurite (two accounts), byte-exact; malformed
# MLTable files exit 2 with the file and line.
source "$(dirname "$0")/lib.sh"
SECOND=dataportsecond
KEY2="$(json '["azurite"]["accounts"]["dataportsecond"]')"
c1="mltcli$RANDOM$RANDOM"; c2="mltcli$RANDOM$RANDOM"
cat >"$WORK/ws.yaml" <<YAML
accounts:
  devstoreaccount1:
    service_url: $AZ_URL/devstoreaccount1
    credentials: {account_key: "$KEY"}
  $SECOND:
    service_url: $AZ_URL/$SECOND
    credentials: {account_key: "$KEY2"}
YAML
head -c 3000000 /dev/urandom >"$WORK/big.bin"
printf 'a,b\n1,2\n' >"$WORK/t.csv"
dp --workspace "$WORK/ws.yaml" put --create-container "$WORK/big.bin" "wasbs://$c1@devstoreaccount1.blob.core.windows.net/imgs/big.bin"; expect_rc 0 "seed account 1"
dp --workspace "$WORK/ws.yaml" put "$WORK/t.csv" "wasbs://$c1@devstoreaccount1.blob.core.windows.net/imgs/skip.txt"; expect_rc 0 "seed a decoy"
dp --workspace "$WORK/ws.yaml" put --create-container "$WORK/t.csv" "wasbs://$c2@$SECOND.blob.core.windows.net/tables/2024-01.csv"; expect_rc 0 "seed account 2"
dp --workspace "$WORK/ws.yaml" put "$WORK/t.csv" "wasbs://$c2@$SECOND.blob.core.windows.net/tables/2024-02.csv"; expect_rc 0 "seed account 2 again"
mkdir -p "$WORK/table/local"
printf 'local file\n' >"$WORK/table/local/readme.txt"
cat >"$WORK/table/MLTable" <<YAML
# two accounts and a local file
paths:
  - pattern: wasbs://$c1@devstoreaccount1.blob.core.windows.net/imgs/*.bin
  - pattern: wasbs://$c2@$SECOND.blob.core.windows.net/tables/2024-0[1-9].csv
  - file: ./local/readme.txt
transformations:
  - read_delimited: {delimiter: ','}
YAML

dp --workspace "$WORK/ws.yaml" mltable ls "$WORK/table"; expect_rc 0 "mltable ls"
expected="devstoreaccount1/$c1/imgs/big.bin
$SECOND/$c2/tables/2024-01.csv
$SECOND/$c2/tables/2024-02.csv
_local$WORK/table/local/readme.txt"
[[ "$(cat "$WORK/out")" == "$expected" ]] && ok "ls prints the layout paths in order" || fail "ls layout paths"

dp --workspace "$WORK/ws.yaml" mltable ls --json "$WORK/table/MLTable"; expect_rc 0 "mltable ls --json"
python3 - "$WORK/out" "$c1" "$c2" <<'PY' && ok "ls --json rows carry uri, size and etag" || fail "ls --json content"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 4, rows
big = rows[0]
assert big["relative_path"] == f"devstoreaccount1/{sys.argv[2]}/imgs/big.bin", big
assert big["uri"] == f"wasbs://{sys.argv[2]}@devstoreaccount1.blob.core.windows.net/imgs/big.bin", big
assert big["size"] == 3000000 and big["etag"], big
assert rows[1]["uri"].startswith(f"wasbs://{sys.argv[3]}@dataportsecond."), rows[1]
PY

dp --workspace "$WORK/ws.yaml" mltable yaml "$WORK/table"; expect_rc 0 "mltable yaml"
diff <(sed -n '1p;5,6p' "$WORK/out") <(sed -n '1p;5,6p' "$WORK/table/MLTable") >/dev/null && ok "other lines kept byte for byte" || fail "other lines changed"
expect_out "  - pattern: ./devstoreaccount1/$c1/imgs/*.bin" "pattern rewritten to the layout"
expect_out "  - file: ./_local$WORK/table/local/readme.txt" "relative file rewritten to the layout"

dp --workspace "$WORK/ws.yaml" mltable download "$WORK/table" "$WORK/dl"; expect_rc 0 "mltable download"
cmp -s "$WORK/dl/devstoreaccount1/$c1/imgs/big.bin" "$WORK/big.bin" && ok "downloaded blob identical" || fail "downloaded blob differs"
[[ "$(sha256sum <"$WORK/dl/$SECOND/$c2/tables/2024-02.csv")" == "$(sha256sum <"$WORK/t.csv")" ]] && ok "second account's file identical" || fail "second account's file differs"
cmp -s "$WORK/dl/_local$WORK/table/local/readme.txt" "$WORK/table/local/readme.txt" && ok "local file identical" || fail "local file differs"
[[ ! -e "$WORK/dl/devstoreaccount1/$c1/imgs/skip.txt" ]] && ok "the decoy is not downloaded" || fail "decoy downloaded"
dp --workspace "$WORK/ws.yaml" mltable yaml "$WORK/table"; cmp -s "$WORK/out" "$WORK/dl/MLTable" && ok "the downloaded MLTable is the rewritten copy" || fail "MLTable copy differs"
dp mltable ls "$WORK/dl"; expect_rc 0 "the downloaded copy evaluates locally"
[[ "$(wc -l <"$WORK/out")" == 4 ]] && ok "it names the four downloaded files" || fail "downloaded copy lists wrong files"

# malformed files: exit 2, file and line
printf 'paths:\n  - file: ./a.csv\n  - files: ./b.csv\n' >"$WORK/bad1"
dp mltable ls "$WORK/bad1"; expect_rc 2 "unknown path kind"
expect_err "$WORK/bad1:3: unknown path kind 'files'" "names file and line"
printf 'type: mltable\n' >"$WORK/bad2"
dp mltable ls "$WORK/bad2"; expect_rc 2 "no paths"
expect_err "$WORK/bad2:1: no 'paths:'" "no paths names the file"
printf 'paths:\n  - pattern: ./x/[a-.csv\n' >"$WORK/bad3"
dp mltable ls "$WORK/bad3"; expect_rc 2 "bad pattern"
expect_err "$WORK/bad3:2: pattern './x/[a-.csv': bad pattern" "bad pattern names file and line"
printf 'paths: [\n' >"$WORK/bad4"
dp mltable yaml "$WORK/bad4"; expect_rc 2 "not YAML"
expect_err_re "bad4:[0-9]+:[0-9]+: the MLTable file is not valid YAML" "YAML error has line and column"
dp mltable ls "$WORK/nope"; expect_rc 1 "missing MLTable"
expect_err "does not exist" "missing MLTable says so"
no_secret "$KEY2"
finish
