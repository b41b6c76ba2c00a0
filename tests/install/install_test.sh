#!/usr/bin/env bash
# install.find_package: `cmake --install` of an already built tree into a temporary prefix, then
# the consumer project (tests/install/consumer) configured with find_package(qgrad), built and
# run, and the same main.cpp compiled once more through `pkg-config --cflags --libs qgrad`.
# Usage: install_test.sh BUILD_DIR CONSUMER_DIR CXX
set -euo pipefail
BUILD="$1" CONSUMER="$2" CXX="$3"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cmake --install "$BUILD" --prefix "$WORK/prefix" >"$WORK/install.log"
echo "installed: $(find "$WORK/prefix" -type f | wc -l) files"

cmake -S "$CONSUMER" -B "$WORK/consumer" -DCMAKE_PREFIX_PATH="$WORK/prefix" -DCMAKE_CXX_COMPILER="$CXX" \
      -DCMAKE_BUILD_TYPE=Release >"$WORK/configure.log" || { cat "$WORK/configure.log"; exit 1; }
cmake --build "$WORK/consumer" >"$WORK/build.log" || { cat "$WORK/build.log"; exit 1; }
out="$("$WORK/consumer/consumer")"
echo "find_package consumer: $out"
[[ "$out" == "grad 2 -4 6, linear out shape [1, 2]" ]] || { echo "unexpected output"; exit 1; }

pc_dir="$(dirname "$(find "$WORK/prefix" -name qgrad.pc | head -1)")"
flags="$(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs qgrad)"
# shellcheck disable=SC2086  # the flags are words
"$CXX" "$CONSUMER/main.cpp" -o "$WORK/consumer_pc" $flags
out="$("$WORK/consumer_pc")"
echo "pkg-config consumer: $out"
[[ "$out" == "grad 2 -4 6, linear out shape [1, 2]" ]] || { echo "unexpected output"; exit 1; }
