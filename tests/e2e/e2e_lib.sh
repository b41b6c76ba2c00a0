# Shared by the end-to-end tests (sourced, not run): finds MNIST or skips, makes a temporary
# folder that is removed on exit, and counts failed expectations.
#   source e2e_lib.sh; require_mnist_mirror; expect "what" test ...; ...; finish
# MNIST's .gz files are taken from $QGRAD_DATA_MIRROR/mnist when it is set, else from the
# repository's data/mnist (where `make data` and `make demo` put them). A test exits 77 (CTest's
# SKIP_RETURN_CODE) when neither holds them, 1 when an expectation failed, 0 otherwise. A relative
# QGRAD_DATA_MIRROR is taken relative to the working directory, which CMake sets to the repository
# root (as for `make demo`).
set -uo pipefail
E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
failures=0

require_mnist_mirror() {  # sets MNIST to the folder holding MNIST's .gz files, or exits 77
  local mirror="${QGRAD_DATA_MIRROR:-$E2E_DIR/../../data}"
  if [[ ! -f "$mirror/mnist/t10k-labels-idx1-ubyte.gz" ]]; then
    echo "skipped: no MNIST (run make data or set QGRAD_DATA_MIRROR)"
    exit 77
  fi
  MNIST="$(cd "$mirror/mnist" && pwd)"
}

expect() {  # expect DESCRIPTION COMMAND...: the command must succeed
  local what="$1"; shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; failures=$((failures + 1)); fi
}

# run_logged NAME COMMAND...: runs the command with stdout in $WORK/NAME.out and stderr in
# $WORK/NAME.err; sets rc. A failing run's output is shown, so the CTest log explains it.
run_logged() {
  local name="$1"; shift
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
  rc=$?
  echo "ran: $* (exit $rc)"
  if [[ $rc -ne 0 ]]; then sed 's/^/  stderr: /' "$WORK/$name.err" | head -5; fi
}

json_get() {  # json_get FILE KEY: prints a top-level value of a JSON file exactly as Python reprs it
  python3 -c 'import json, sys; print(repr(json.load(open(sys.argv[1]))[sys.argv[2]]))' "$1" "$2"
}

finish() {
  if [[ $failures -gt 0 ]]; then
    echo "$failures expectation(s) failed"
    exit 1
  fi
  echo "all expectations met"
  exit 0
}
