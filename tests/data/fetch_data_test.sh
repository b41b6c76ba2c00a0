#!/usr/bin/env bash
# Exercises scripts/fetch_data.sh (MNIST only, never the network): copying from the mirror named
# by QGRAD_DATA_MIRROR, doing nothing the second time, replacing a damaged file, refusing a mirror
# file with a wrong checksum, and failing with download instructions when no source has the data.
# Without QGRAD_DATA_MIRROR the repository's data/ (filled by `make data`, the mirror's layout)
# serves as the mirror; exits 77 (CTest's "skipped") when neither holds mnist/*.gz.
#   usage: fetch_data_test.sh path/to/fetch_data.sh
set -uo pipefail
FETCH="$1"
MIRROR="${QGRAD_DATA_MIRROR:-$(dirname "$FETCH")/../data}"
if [[ ! -f "$MIRROR/mnist/t10k-labels-idx1-ubyte.gz" ]]; then
  echo "skipped: no MNIST (run make data or set QGRAD_DATA_MIRROR)"
  exit 77
fi
MIRROR="$(cd "$MIRROR" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
failures=0
expect() {  # expect DESCRIPTION COMMAND...: the command must succeed
  local what="$1"; shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; failures=$((failures + 1)); fi
}

out="$(QGRAD_DATA_MIRROR="$MIRROR" bash "$FETCH" --data-dir "$WORK/data" --only mnist --offline 2>&1)"; rc=$?
expect "copy from the mirror succeeds" test $rc -eq 0
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
  expect "$f is a byte-exact copy" cmp -s "$MIRROR/mnist/$f" "$WORK/data/mnist/$f"
done
expect "no temporary files are left behind" test -z "$(find "$WORK/data" -name '.*')"

out="$(QGRAD_DATA_MIRROR="$MIRROR" bash "$FETCH" --data-dir "$WORK/data" --only mnist --offline 2>&1)"; rc=$?
expect "a second run succeeds" test $rc -eq 0
expect "a second run copies nothing" bash -c '! grep -q copied <<<"$1"' _ "$out"

head -c 1000 "$MIRROR/mnist/t10k-images-idx3-ubyte.gz" > "$WORK/data/mnist/t10k-images-idx3-ubyte.gz"
out="$(QGRAD_DATA_MIRROR="$MIRROR" bash "$FETCH" --data-dir "$WORK/data" --only mnist --offline 2>&1)"; rc=$?
expect "a damaged file is fetched again" test $rc -eq 0
expect "the damaged file is reported" grep -q "does not match its checksum; fetching it again" <<<"$out"
expect "the damaged file is replaced" cmp -s "$MIRROR/mnist/t10k-images-idx3-ubyte.gz" "$WORK/data/mnist/t10k-images-idx3-ubyte.gz"

mkdir -p "$WORK/bad_mirror/mnist"
cp "$MIRROR"/mnist/*.gz "$WORK/bad_mirror/mnist/"
printf 'x' >> "$WORK/bad_mirror/mnist/train-labels-idx1-ubyte.gz"
out="$(QGRAD_DATA_MIRROR="$WORK/bad_mirror" bash "$FETCH" --data-dir "$WORK/fresh" --only mnist --offline 2>&1)"; rc=$?
expect "a mirror file with the wrong checksum makes the run fail" test $rc -ne 0
expect "the bad mirror file is named" grep -q "bad_mirror/mnist/train-labels-idx1-ubyte.gz does not match its checksum" <<<"$out"
expect "the good files were still copied" test -f "$WORK/fresh/mnist/train-images-idx3-ubyte.gz"
expect "the bad file was not put in place" test ! -e "$WORK/fresh/mnist/train-labels-idx1-ubyte.gz"

out="$(QGRAD_DATA_MIRROR= bash "$FETCH" --data-dir "$WORK/empty" --only mnist --offline 2>&1)"; rc=$?
expect "no source at all fails" test $rc -ne 0
expect "the failure says what to download" grep -q "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz" <<<"$out"
expect "the failure says where to put it" grep -q "in $WORK/empty/mnist/" <<<"$out"

echo "$failures failure(s)"
[[ $failures -eq 0 ]]
