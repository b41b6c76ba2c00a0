#!/usr/bin/env bash
# Installs what qgrad needs from the system package manager. Idempotent: packages already
# present are left alone, and with --if-missing nothing runs at all when everything is there.
#   Debian/Ubuntu: apt-get (as root, or through sudo)
#   macOS:         prints the Homebrew line to run
set -euo pipefail

DEBIAN_PACKAGES=(g++ make cmake pkg-config libopenblas-dev catch2 nlohmann-json3-dev libstb-dev zlib1g-dev)
BREW_LINE="brew install cmake pkg-config openblas catch2@2 nlohmann-json stb zlib libomp"

if [[ "$(uname -s)" == "Darwin" ]]; then
  echo "qgrad: on macOS install the dependencies with Homebrew:"
  echo "  $BREW_LINE"
  exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "qgrad: no apt/dpkg here. Install with your package manager: a C++20 compiler with OpenMP," >&2
  echo "  CMake >= 3.20, pkg-config, OpenBLAS (cblas), Catch2 v2, nlohmann/json, stb, zlib." >&2
  exit 0
fi

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  [[ "${1:-}" == "--if-missing" ]] || echo "qgrad: all dependencies are installed."
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
