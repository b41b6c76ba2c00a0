#!/usr/bin/env bash
# Installs what qgrad needs from the system package manager. Idempotent: packages already
# present are left alone, and with --if-missing nothing runs at all when everything is there.
#   --cross   also the aarch64 cross compiler and qemu-user, for the NEON kernel tests
#             (scripts/test_neon_qemu.sh; CI always runs them)
#   --fuzz    also clang, libFuzzer and LLVM's OpenMP runtime, for the fuzz targets (fuzz/,
#             `make fuzz`, `make fuzz-smoke`; CI runs the smoke run)
#   Debian/Ubuntu: apt-get (as root, or through sudo)
#   macOS:         prints the Homebrew line to run
# Not installed here (optional): libdnnl-dev, which adds oneDNN's int8 matmul as a baseline
# column to `make bench-kernels` (bench/onednn/); nothing else uses it.
set -euo pipefail

DEBIAN_PACKAGES=(g++ make cmake pkg-config libopenblas-dev catch2 nlohmann-json3-dev libcli11-dev libstb-dev libjpeg62-turbo-dev zlib1g-dev
                 python3-dev pybind11-dev python3-numpy python3-pytest
                 python3-nbclient python3-ipykernel python3-matplotlib)
CROSS_PACKAGES=(g++-aarch64-linux-gnu qemu-user)
FUZZ_PACKAGES=(clang libfuzzer-14-dev libomp-dev)
BREW_LINE="brew install cmake pkg-config openblas catch2@2 nlohmann-json cli11 stb jpeg-turbo zlib libomp pybind11 numpy jupyter matplotlib"

quiet=0
for arg in "$@"; do
  case "$arg" in
    --if-missing) quiet=1 ;;
    --cross) DEBIAN_PACKAGES+=("${CROSS_PACKAGES[@]}") ;;
    --fuzz) DEBIAN_PACKAGES+=("${FUZZ_PACKAGES[@]}") ;;
    *) echo "install_deps: unknown argument '$arg' (known: --if-missing, --cross, --fuzz)" >&2; exit 2 ;;
  esac
done

if [[ "$(uname -s)" == "Darwin" ]]; then
  echo "qgrad: on macOS install the dependencies with Homebrew:"
  echo "  $BREW_LINE"
  exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "qgrad: no apt/dpkg here. Install with your package manager: a C++20 compiler with OpenMP," >&2
  echo "  CMake >= 3.20, pkg-config, OpenBLAS (cblas), Catch2 v2, nlohmann/json, CLI11, stb, libjpeg, zlib," >&2
  echo "  Python 3 headers, pybind11, NumPy and pytest (for the Python package), nbclient," >&2
  echo "  ipykernel and matplotlib (to run the notebooks)." >&2
  exit 0
fi

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  [[ $quiet == 1 ]] || echo "qgrad: all dependencies are installed."
  exit 0
fi

echo "qgrad: installing missing packages: ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "qgrad: not root and no sudo. As root run:  apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
