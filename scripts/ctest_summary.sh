#!/usr/bin/env bash
# Runs ctest in a build folder, then prints one line saying which tests were skipped and why,
# grouped by area (the test name's prefix) and reason (the first line of the test's output that
# says "skip"), e.g.
#   skipped: 10 e2e (no MNIST: run `make data` or set QGRAD_DATA_MIRROR), 1 cuda (no CUDA device: ...)
# CTest lists skipped tests (exit code 77) by name only; their output is in
# Testing/Temporary/LastTest.log. Tests pytest skipped inside a python.* test count too. Exits
# with ctest's status.
# Usage: scripts/ctest_summary.sh BUILD_DIR [ctest arguments...]
set -uo pipefail
BUILD="$1"; shift
cd "$BUILD" || exit 2
ctest "$@" 2>&1 | tee ctest_output.log
status=${PIPESTATUS[0]}
python3 - ctest_output.log Testing/Temporary/LastTest.log <<'PY'
import collections, os, re, sys
listing, log = (open(p, errors="replace").read() if os.path.exists(p) else "" for p in sys.argv[1:3])
skipped = re.findall(r"^\s*\d+ - (.+?) \(Skipped\)$", listing, re.M)
outputs = {m.group(1): m.group(2) for m in re.finditer(
    r"^\d+/\d+ Test: (.+?)\n.*?^Output:\n-+\n(.*?)<end of output>", log, re.M | re.S)}
groups = collections.Counter()
for name in skipped:
    lines = [l.strip() for l in outputs.get(name, "").splitlines() if l.strip()]
    reason = next((l for l in lines if "skip" in l.lower()), lines[0] if lines else "no reason printed")
    groups[(name.split(".")[0], re.sub(r"^skip\w*:?\s*", "", reason, flags=re.I))] += 1
# pytest's own skips inside a passing python.* test (run with -rs: "SKIPPED [n] file:line: reason").
for n, reason in re.findall(r"^SKIPPED \[(\d+)\] [^:]+:\d+: (.*)$", log, re.M):
    groups[("python", reason)] += int(n)
if not groups:
    print("skipped: none")
    sys.exit(0)
print("skipped: " + ", ".join(f"{n} {area} ({reason})" for (area, reason), n in groups.most_common()))
PY
exit "$status"
