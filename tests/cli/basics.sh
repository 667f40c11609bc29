#!/usr/bin/env bash
# dataport resolve / ls / stat / cat / put against Azurite, nginx and local files, byte-exact.
source "$(dirname "$0")/lib.sh"
c="cli$RANDOM$RANDOM"
base="$AZ_URL/devstoreaccount1/$c"
head -c 5000000 /dev/urandom >"$WORK/big.bin"
printf 'hello dataport\n' >"$WORK/small.txt"

dp put --create-container "$WORK/big.bin" "$base/dir/big.bin"; expect_rc 0 "put a 5 MB file"
# In a URL, a name's space, '#', '%' and '+' are percent-encoded; listings show the decoded name.
enc='small%20file%20%C3%BC%23%25%2B.txt'
dp put "$WORK/small.txt" "$base/dir/sub/$enc"; expect_rc 0 "put a file whose name needs encoding"
dp put "$WORK/small.txt" "$base/dir/sub/raw#name.txt"; expect_rc 2 "a raw '#' in a URL is refused, not truncated"
expect_err "%23" "the message says how to encode it"
dp put "$WORK/small.txt" "$base/top.txt"; expect_rc 0 "put at the container root"

dp cat "$base/dir/big.bin"; expect_rc 0 "cat the 5 MB blob"
[[ "$(sha256sum <"$WORK/out")" == "$(sha256sum <"$WORK/big.bin")" ]] && ok "cat is byte-identical" || fail "cat bytes differ"
dp cat --offset 4194000 --length 5000 "$base/dir/big.bin"; expect_rc 0 "cat a range across a chunk edge"
[[ "$(sha256sum <"$WORK/out")" == "$(tail -c +4194001 "$WORK/big.bin" | head -c 5000 | sha256sum)" ]] && ok "range bytes identical" || fail "range bytes differ"
dp cat "$base/dir/sub/$enc"; expect_rc 0 "cat the unicode name"
cmp -s "$WORK/out" "$WORK/small.txt" && ok "unicode name round-trips" || fail "unicode name content differs"

dp ls "$base/"; expect_rc 0 "ls one level"
expect_out "dir/" "ls shows the virtual directory"
expect_out "top.txt" "ls shows the top-level blob"
grep -q "big.bin" "$WORK/out" && fail "one-level ls must not descend" || ok "one-level ls does not descend"
dp ls -R --json "$base/dir"; expect_rc 0 "ls -R --json"
python3 - "$WORK/out" <<'PY' && ok "ls --json is NDJSON with names and sizes" || fail "ls --json content"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
names = sorted(r["name"] for r in rows)
assert names == ["big.bin", "sub/small file ü#%+.txt"], names
assert [r["size"] for r in rows if r["name"] == "big.bin"] == [5000000]
PY
dp ls -l "$base/dir/big.bin"; expect_rc 0 "ls of a single blob"
expect_out "5000000" "ls -l of a blob shows its size"

dp -v stat "$base/dir/big.bin"; expect_rc 0 "stat -v"
expect_err_re "HEAD http://[^ ]*/dir/big\.bin -> 200 \(0 body bytes\) in [0-9]+ ms" "-v logs each request with status and milliseconds"
dp stat --json "$base/dir/big.bin"; expect_rc 0 "stat --json"
python3 -c "import json,sys; d=json.load(open('$WORK/out')); assert d['size']==5000000 and d['etag'] and not d['is_directory']" && ok "stat fields" || fail "stat fields"
dp stat --json "$base/dir"; expect_rc 0 "stat of a virtual directory"
expect_out '"is_directory":true' "stat reports the directory"

dp resolve "wasbs://$c@devstoreaccount1.blob.core.windows.net/dir/big.bin"; expect_rc 0 "resolve wasbs"
expect_out '"credential": "shared_key"' "resolve names the credential kind"
expect_out "$AZ_URL/devstoreaccount1" "resolve uses the connection string's endpoint"
no_secret

# nginx (read only, https with the test CA)
mkdir -p "$NGINX_ROOT/$c" && cp "$WORK/big.bin" "$NGINX_ROOT/$c/big.bin"
dp cat "$NGINX_URL/files/$c/big.bin"; expect_rc 0 "cat from nginx"
cmp -s "$WORK/out" "$WORK/big.bin" && ok "nginx bytes identical" || fail "nginx bytes differ"
HTTPS_URL="$(json '["nginx"]["https_url"]')"
DATAPORT_CA_FILE="$CA_FILE" dp stat --json "$HTTPS_URL/files/$c/big.bin"; expect_rc 0 "stat over https with the test CA"
dp stat "$HTTPS_URL/files/$c/big.bin"; expect_rc 1 "https without the CA is refused"
expect_err "certificate" "the TLS error names the certificate problem"

# local
dp cat "$WORK/small.txt"; expect_rc 0 "cat a local file"
cmp -s "$WORK/out" "$WORK/small.txt" && ok "local bytes identical" || fail "local bytes differ"
finish
