#!/usr/bin/env bash
# docs/reliability.md cites, for every scenario, the ctest name of the test that proves it. This
# test keeps those citations true:
#  1. every name in the last ("Test") column of the document's tables is a test in this build's
#     `ctest -N` list (names listed in tests/cli/reliability_pending_names.txt may be missing:
#     they are being written elsewhere; the lead empties that file after merging). A name ending
#     in '*' matches any test starting with the rest. Every row cites at least one test.
#  2. no TEST_CASE name contains ';' — catch_discover_tests splits such a name into fragments
#     that never run. Checked in the sources (string literals, also across lines) and in the
#     names the built test executables report (--list-test-names-only).
# The checker first proves on synthetic input that it catches both kinds of mistake.
set -euo pipefail
: "${DATAPORT_CLI:?run through ctest (DATAPORT_CLI names the dataport binary)}"
source_dir="${DATAPORT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"

# The build directory this test runs from: the first parent of the CLI holding CMakeCache.txt.
build_dir="$(dirname "$DATAPORT_CLI")"
while [[ ! -f "$build_dir/CMakeCache.txt" && "$build_dir" != "/" ]]; do build_dir="$(dirname "$build_dir")"; done
[[ -f "$build_dir/CMakeCache.txt" ]] || { echo "FAIL: no CMakeCache.txt above $DATAPORT_CLI" >&2; exit 1; }

work="$(mktemp -d /tmp/dataport-names.XXXXXX)"
trap 'rm -rf "$work"' EXIT
(cd "$build_dir" && ctest -N) | sed -nE 's/^ *Test +#[0-9]+: (.*)$/\1/p' >"$work/ctest-names.txt"
[[ -s "$work/ctest-names.txt" ]] || { echo "FAIL: ctest -N in $build_dir listed no tests" >&2; exit 1; }
# A tree configured without the fuzz-regression replays (scripts/test.sh's ASan+UBSan tree: its
# fuzz stage runs every committed input under ASan+UBSan instead) satisfies `fuzz-regression*`.
if grep -qx 'DATAPORT_BUILD_FUZZ_REPLAY:BOOL=OFF' "$build_dir/CMakeCache.txt"; then
  echo "fuzz-regression: (replayed by scripts/fuzz.sh in this configuration)" >>"$work/ctest-names.txt"
fi
find "$build_dir/tests" -maxdepth 1 -type f -perm -u+x \( -name 'unit_*' -o -name 'integration_*' \) \
  | sort >"$work/executables.txt"
while read -r exe; do
  "$exe" --list-test-names-only 2>/dev/null | sed "s|^|$(basename "$exe"): |" >>"$work/reported-names.txt" || true
done <"$work/executables.txt"
touch "$work/reported-names.txt"

cat >"$work/check.py" <<'PY'
"""check.py DOC CTEST_NAMES PENDING REPORTED_NAMES TESTS_DIR: prints problems, exits 1 if any."""
import pathlib
import re
import sys

NAME = re.compile(r"`([^`]+)`")
LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
CASE = re.compile(r"\b(?:TEST_CASE|TEMPLATE_TEST_CASE|SCENARIO)\s*\(")


def cited_rows(doc_text):
    """(line number, [names]) for each body row of a table whose last header cell says Test."""
    rows, in_test_table, header_seen = [], False, False
    for number, line in enumerate(doc_text.splitlines(), 1):
        if not line.startswith("|"):
            in_test_table, header_seen = False, False
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not header_seen:
            header_seen, in_test_table = True, "test" in cells[-1].lower()
            continue
        if not in_test_table or set(cells[-1]) <= set("-: "):
            continue
        rows.append((number, NAME.findall(cells[-1])))
    return rows


def doc_problems(doc_text, names, pending):
    problems, cited = [], 0
    for number, cited_names in cited_rows(doc_text):
        if not cited_names:
            problems.append(f"docs/reliability.md:{number}: a row without a test")
        for name in cited_names:
            cited += 1
            if name.endswith("*"):
                found = any(n.startswith(name[:-1]) for n in names)
            else:
                found = name in names
            if not found and name not in pending:
                problems.append(f"docs/reliability.md:{number}: `{name}` is not a ctest test of "
                                "this build (ctest -N); fix the name or add the test")
    if cited == 0:
        problems.append("docs/reliability.md cites no test at all (no table with a Test column?)")
    return problems


def source_case_names(text):
    """Names of TEST_CASE(...) in C++ source: adjacent string literals at the start, joined."""
    out = []
    for match in CASE.finditer(text):
        pos, parts = match.end(), []
        while True:
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            literal = LITERAL.match(text, pos)
            if not literal:
                break
            parts.append(literal.group(1))
            pos = literal.end()
        if parts:
            out.append("".join(parts))
    return out


def semicolon_problems(sources, reported):
    problems = []
    for path, text in sources:
        for name in source_case_names(text):
            if ";" in name:
                problems.append(f"{path}: TEST_CASE name contains ';' (ctest splits it and the "
                                f"test never runs): {name!r}")
    for name in reported:
        if ";" in name:
            problems.append(f"a built test reports a name containing ';': {name!r}")
    return problems


def self_test():
    doc = ("| Scenario | How | Test |\n|---|---|---|\n| a | b | `x: real` |\n"
           "| c | d | `x: invented` |\n| e | f | none |\n| g | h | `y: pending` |\n"
           "| i | j | `x: re*` |\n")
    found = doc_problems(doc, {"x: real"}, {"y: pending"})
    assert len(found) == 2 and "invented" in found[0] and "without a test" in found[1], found
    assert doc_problems("no table", set(), set()), "a document citing nothing must fail"
    src = ('TEST_CASE("fine - name") {}\nTEST_CASE(\n    "split over "\n    "two; lines") {}\n'
           'TEST_CASE("ok", "[tag;x]") {}\n')
    found = semicolon_problems([("t.cpp", src)], ["exe: a;b", "exe: ok"])
    assert len(found) == 2 and "two; lines" in found[0] and "a;b" in found[1], found


def main():
    self_test()
    doc, ctest_names, pending, reported, tests_dir = sys.argv[1:6]
    names = set(pathlib.Path(ctest_names).read_text().splitlines())
    pending_names = {line.strip() for line in pathlib.Path(pending).read_text().splitlines()
                     if line.strip() and not line.startswith("#")}
    problems = doc_problems(pathlib.Path(doc).read_text(), names, pending_names)
    waiting = [n for n in sorted(pending_names) if n not in names and
               not (n.endswith("*") and any(m.startswith(n[:-1]) for m in names))]
    sources = [(str(p), p.read_text(errors="replace"))
               for p in sorted(pathlib.Path(tests_dir).rglob("*"))
               if p.suffix in (".cpp", ".hpp", ".h", ".cc") and p.is_file()]
    problems += semicolon_problems(sources, pathlib.Path(reported).read_text().splitlines())
    for name in waiting:
        print(f"note: `{name}` is cited but not in this build yet (allowed by "
              "tests/cli/reliability_pending_names.txt)")
    for p in problems:
        print("FAIL - " + p)
    print(f"{len(names)} tests in ctest -N, {len(sources)} test sources scanned, "
          f"{len(problems)} problems")
    return 1 if problems else 0


sys.exit(main())
PY

python3 "$work/check.py" "$source_dir/docs/reliability.md" "$work/ctest-names.txt" \
  "$source_dir/tests/cli/reliability_pending_names.txt" "$work/reported-names.txt" \
  "$source_dir/tests"
