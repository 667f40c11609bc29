#!/usr/bin/env python3
"""Scans captured output for secrets (python3 stdlib only); used by tests/cli/secret_sweep.sh.

    scan.py SECRETS_FILE PATH...

SECRETS_FILE has one secret per line: `NAME<TAB>MODE<TAB>VALUE`, MODE `exact` or `fragments`.
Every regular file under each PATH is read as bytes and searched for each secret in every form
it could take when printed: as given, percent-encoded (upper- and lower-case hex), percent-decoded,
JSON-escaped. In `fragments` mode (high-entropy values: keys, signatures, tokens) any run of
2*W-1 = 31 or more characters of a form is found too (the aligned W-character windows are
searched), so a truncated or wrapped secret still counts. `exact` suits values with public parts
(a connection string: its AccountKey is listed separately as a fragments secret).

Prints one line per finding (file, secret name, form, offset: never the secret itself) and a
summary line "scanned N files, B bytes, S secrets in F forms"; exit 1 on any finding or when there
is nothing to scan (an empty sweep must not pass), 2 on bad input.
"""
import json
import os
import sys
import urllib.parse

WINDOW = 16


def forms_of(value):
    """The byte strings under which `value` could appear in output, with a label each."""
    forms = {"raw": value}
    upper = urllib.parse.quote(value, safe="")
    forms["percent-encoded"] = upper
    forms["percent-encoded-lower"] = "".join(
        part if i == 0 else part[:2].lower() + part[2:] for i, part in enumerate(upper.split("%")))
    forms["percent-decoded"] = urllib.parse.unquote(value)
    forms["json-escaped"] = json.dumps(value)[1:-1]
    forms["json-escaped-slash"] = json.dumps(value)[1:-1].replace("/", "\\/")
    out = {}
    for label, text in forms.items():
        data = text.encode("utf-8")
        if data not in out.values():
            out[label] = data
    return out


def needles(name, mode, value):
    """(secret name, form label, needle) for every string to search."""
    result = []
    for label, data in forms_of(value).items():
        result.append((name, label, data))
        if mode == "fragments" and len(data) >= 2 * WINDOW:
            for start in range(0, len(data) - WINDOW + 1, WINDOW):
                result.append((name, f"{label} fragment at {start}", data[start:start + WINDOW]))
    return result


def read_secrets(path):
    secrets = []
    with open(path, "r", encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            parts = line.split("\t", 2)
            if len(parts) != 3 or parts[1] not in ("exact", "fragments"):
                sys.exit(f"scan.py: {path}:{number}: expected NAME<TAB>exact|fragments<TAB>VALUE")
            if len(parts[2]) < 8:
                sys.exit(f"scan.py: {path}:{number}: secret '{parts[0]}' is shorter than 8 "
                         "characters: the sweep would not mean anything")
            secrets.append(tuple(parts))
    if not secrets:
        sys.exit(f"scan.py: {path} lists no secrets")
    return secrets


def files_under(paths):
    for path in paths:
        if os.path.isfile(path):
            yield path
        elif os.path.isdir(path):
            for root, _dirs, names in os.walk(path):
                for name in sorted(names):
                    full = os.path.join(root, name)
                    if os.path.isfile(full) and not os.path.islink(full):
                        yield full
        else:
            sys.exit(f"scan.py: {path} does not exist")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    secrets = read_secrets(sys.argv[1])
    all_needles = []
    for name, mode, value in secrets:
        all_needles.extend(needles(name, mode, value))
    files = 0
    total = 0
    findings = 0
    for path in files_under(sys.argv[2:]):
        with open(path, "rb") as f:
            data = f.read()
        files += 1
        total += len(data)
        reported = set()
        for name, label, needle in all_needles:
            at = data.find(needle)
            if at >= 0 and name not in reported:
                reported.add(name)
                findings += 1
                print(f"LEAK: {path}: secret '{name}' ({label}) at byte {at}")
    forms = len({(n, l) for n, l, _ in all_needles if "fragment" not in l})
    print(f"scanned {files} files, {total} bytes, {len(secrets)} secrets in {forms} forms "
          f"({len(all_needles)} needles): {findings} findings")
    if files == 0 or total == 0:
        print("FAIL: nothing was scanned")
        return 1
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
