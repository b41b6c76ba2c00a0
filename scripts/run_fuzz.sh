#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build (`make fuzz`, `make fuzz-smoke`) for SECONDS each,
# one after the other, from the seeds (scripts/fuzz_corpus.sh) plus the corpus earlier runs grew
# (BUILD/fuzz-corpus/<target>, kept between runs). A crash, sanitizer report, leak, timeout or
# out-of-memory stops that target with its input saved as BUILD/fuzz-artifacts/<target>-*; the
# script then exits 1 after the others ran. Prints executions and corpus size per target.
# Usage: scripts/run_fuzz.sh BUILD_DIR SECONDS [TARGET...]
set -uo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$1" SECONDS_EACH="$2"; shift 2
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(safetensors_fuzz int_model_fuzz idx_fuzz cifar_fuzz image_fuzz)
# One thread: the inputs are small, and a fuzzer wants every execution alike.
export QGRAD_NUM_THREADS=1 OMP_NUM_THREADS=1
# The targets write each input to a scratch file (fuzz/fuzz_util.h): in memory where possible.
if [[ -z "${TMPDIR:-}" && -d /dev/shm && -w /dev/shm ]]; then export TMPDIR=/dev/shm; fi

bash "$REPO/scripts/fuzz_corpus.sh" "$BUILD" "$BUILD/fuzz-seeds" || exit 1
mkdir -p "$BUILD/fuzz-artifacts"
failed=()
summary=()
for t in "${targets[@]}"; do
  mkdir -p "$BUILD/fuzz-corpus/$t"
  log="$BUILD/fuzz-artifacts/$t.log"
  echo "== $t: ${SECONDS_EACH}s"
  "$BUILD/fuzz/$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$BUILD/fuzz-artifacts/$t-" "$BUILD/fuzz-corpus/$t" "$BUILD/fuzz-seeds/$t" >"$log" 2>&1
  rc=$?
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)"
  corpus="$(ls "$BUILD/fuzz-corpus/$t" | wc -l)"
  if [[ $rc -ne 0 ]]; then
    failed+=("$t")
    summary+=("$t: FINDING after ${execs:-?} executions (exit $rc); see $log and $BUILD/fuzz-artifacts/$t-*")
    grep -m1 -A12 "ERROR: \|runtime error\|deadly signal\|Timeout\|out-of-memory" "$log"
  else
    summary+=("$t: ${execs:-?} executions in ${SECONDS_EACH}s, corpus $corpus files, no findings")
  fi
done
printf '%s\n' "${summary[@]}"
[[ ${#failed[@]} -eq 0 ]] || { echo "fuzz: findings in ${failed[*]}"; exit 1; }
