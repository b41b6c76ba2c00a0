#!/usr/bin/env bash
# Fetches the data sets the demos use into the data folder (default: data/ in the repository):
#   data/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
#   data/cifar10/  either cifar-10-batches-bin/ (official binary) or train/, test/ (JPEG folders)
# For each data set, in this order:
#   1. already there and valid            -> nothing to do
#   2. a local mirror ($QGRAD_DATA_MIRROR, laid out as mnist/*.gz and cifar10/cifar-10-binary.tar.gz
#      or cifar10/cifar-10-jpg.tar.gz)      -> copy/extract it, checksum first
#   3. the canonical public downloads      -> download, checksum, then put in place
# Every file is written under a temporary name and renamed only once verified, so an interrupted
# run never leaves a half-written file that looks complete. When all sources fail the script says
# which files to fetch, from where, and where to put them, and exits non-zero.
#
# Usage: scripts/fetch_data.sh [--data-dir DIR] [--only mnist|cifar10] [--offline]
#   --data-dir DIR   where to put the data (also $QGRAD_DATA_DIR); default <repo>/data
#   --only NAME      fetch one data set
#   --offline        never touch the network (mirror and existing files only)
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
DATA_DIR="${QGRAD_DATA_DIR:-$REPO/data}"
MIRROR="${QGRAD_DATA_MIRROR:-}"
ONLY=""
OFFLINE=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --data-dir) DATA_DIR="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --offline) OFFLINE=1; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "fetch_data: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$ONLY" in ""|mnist|cifar10) ;; *) echo "fetch_data: --only takes mnist or cifar10, got '$ONLY'" >&2; exit 2 ;; esac

MNIST_FILES=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)
# SHA-256 of the original files as published (yann.lecun.com, and the same bytes on the
# ossci-datasets mirror torchvision uses; torchvision lists their MD5s f68b3c2d..., d53e105e...,
# 9fb629c4..., ec29112d...).
declare -A MNIST_SHA256_ORIGINAL=(
  [train-images-idx3-ubyte.gz]=440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609
  [train-labels-idx1-ubyte.gz]=3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c
  [t10k-images-idx3-ubyte.gz]=8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6
  [t10k-labels-idx1-ubyte.gz]=f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6
)
# SHA-256 of the offline mirror's copies: the same pixels and labels, gzipped anew.
declare -A MNIST_SHA256_MIRROR=(
  [train-images-idx3-ubyte.gz]=db8f937d487057fb14a9f0fbe97f0bc8d311ab41b750d41e1ff37c43b9e55e19
  [train-labels-idx1-ubyte.gz]=51fc562b6747b666fbf6e84ce29d43c3cb5f9c388c664d43b33f02095313405a
  [t10k-images-idx3-ubyte.gz]=cfeddb84311ecf044fc6a5b0f6ee8a24d265d4e83e388400186eb114082f4209
  [t10k-labels-idx1-ubyte.gz]=e41c74e484045d39b462a7790a4af51301bd9b0b24f0154798d713ec68c45920
)
MNIST_URLS=(https://ossci-datasets.s3.amazonaws.com/mnist http://yann.lecun.com/exdb/mnist)

CIFAR_BIN=cifar-10-binary.tar.gz
CIFAR_BIN_URL=https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz
# The authors publish the MD5 c32a1d4ab5d03f1284b67883e8d87530; this is the SHA-256 of that file.
CIFAR_BIN_SHA256=c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd
CIFAR_JPG=cifar-10-jpg.tar.gz
CIFAR_JPG_SHA256=a53062b11fa33bfeec4e3e698555a32f7df9825641dfc4c93ad80af81a59250b
CIFAR_CLASSES=(airplane automobile bird cat deer dog frog horse ship truck)

say() { echo "fetch_data: $*"; }

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
  else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

# download URL DEST: to DEST, or fail quietly (the caller reports).
download() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --connect-timeout 15 --retry 1 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q --timeout=15 --tries=1 -O "$2" "$1"
  else
    say "neither curl nor wget is installed"; return 1
  fi
}

# --- MNIST ------------------------------------------------------------------------------------
mnist_valid() {  # FILE NAME: the file carries one of the known checksums
  [[ -f "$1" ]] || return 1
  local sum; sum="$(sha256_of "$1")"
  [[ "$sum" == "${MNIST_SHA256_ORIGINAL[$2]}" || "$sum" == "${MNIST_SHA256_MIRROR[$2]}" ]]
}

# get_mnist_file NAME: puts a verified copy at $DATA_DIR/mnist/NAME; returns 1 if no source worked.
get_mnist_file() {
  local name="$1" dest="$DATA_DIR/mnist/$1" tmp
  if mnist_valid "$dest" "$name"; then return 0; fi
  [[ -e "$dest" ]] && say "$dest does not match its checksum; fetching it again"
  tmp="$(mktemp "$DATA_DIR/mnist/.$name.XXXXXX")"
  if [[ -n "$MIRROR" && -f "$MIRROR/mnist/$name" ]]; then
    cp "$MIRROR/mnist/$name" "$tmp"
    if mnist_valid "$tmp" "$name"; then mv -f "$tmp" "$dest"; say "copied $name from $MIRROR"; return 0; fi
    say "$MIRROR/mnist/$name does not match its checksum; ignoring it"
  fi
  if [[ $OFFLINE -eq 0 ]]; then
    local base reached=0
    for base in "${MNIST_URLS[@]}"; do
      download "$base/$name" "$tmp" || continue
      reached=1
      if [[ "$(sha256_of "$tmp")" == "${MNIST_SHA256_ORIGINAL[$name]}" ]]; then
        mv -f "$tmp" "$dest"; say "downloaded $name from $base"; return 0
      fi
      say "$base/$name does not match its checksum; ignoring it"
    done
    if [[ $reached -eq 0 ]]; then
      say "no MNIST server could be reached; not trying the network for the other files"
      OFFLINE=1
    fi
  fi
  rm -f "$tmp"
  return 1
}

fetch_mnist() {
  mkdir -p "$DATA_DIR/mnist"
  local name missing=()
  for name in "${MNIST_FILES[@]}"; do
    get_mnist_file "$name" || missing+=("$name")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then say "MNIST ready in $DATA_DIR/mnist"; return 0; fi
  {
    say "could not get MNIST. Download these files:"
    for name in "${missing[@]}"; do
      echo "    ${MNIST_URLS[0]}/$name   (or ${MNIST_URLS[1]}/$name)"
    done
    echo "  and put them, still gzipped, in $DATA_DIR/mnist/"
    echo "  (or set QGRAD_DATA_MIRROR to a folder holding mnist/<those files>, then rerun make data)."
  } >&2
  return 1
}

# --- CIFAR-10 ---------------------------------------------------------------------------------
cifar_binary_present() {
  local f d="$DATA_DIR/cifar10/cifar-10-batches-bin"
  for f in data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch; do
    [[ -f "$d/$f.bin" && "$(wc -c < "$d/$f.bin")" -eq 30730000 ]] || return 1
  done
}

cifar_jpg_present() {
  local split c want
  for split in train test; do
    [[ $split == train ]] && want=5000 || want=1000
    for c in "${CIFAR_CLASSES[@]}"; do
      [[ -d "$DATA_DIR/cifar10/$split/$c" ]] || return 1
      [[ "$(find "$DATA_DIR/cifar10/$split/$c" -name '*.jpg' | wc -l)" -eq $want ]] || return 1
    done
  done
}

# extract ARCHIVE DIR...: unpacks into a scratch folder beside the data, then moves each named
# top-level DIR into $DATA_DIR/cifar10 (replacing an incomplete one) once the whole archive is out.
extract_cifar() {
  local archive="$1"; shift
  local scratch d
  scratch="$(mktemp -d "$DATA_DIR/cifar10/.extract.XXXXXX")"
  if ! tar -xzf "$archive" -C "$scratch"; then rm -rf "$scratch"; say "could not extract $archive"; return 1; fi
  for d in "$@"; do
    if [[ ! -d "$scratch/$d" ]]; then rm -rf "$scratch"; say "$archive has no $d/ folder"; return 1; fi
  done
  for d in "$@"; do
    rm -rf "$DATA_DIR/cifar10/$d"
    mv "$scratch/$d" "$DATA_DIR/cifar10/$d"
  done
  rm -rf "$scratch"
}

# verified_copy SRC SHA256 DEST: copies (or downloads, when SRC is a URL) and checks the sum.
verified_copy() {
  local src="$1" sum="$2" dest="$3"
  if [[ "$src" == http* ]]; then download "$src" "$dest" || return 1
  else cp "$src" "$dest" || return 1; fi
  [[ "$(sha256_of "$dest")" == "$sum" ]] || { say "$src does not match its checksum; ignoring it"; return 1; }
}

fetch_cifar10() {
  mkdir -p "$DATA_DIR/cifar10"
  if cifar_binary_present || cifar_jpg_present; then say "CIFAR-10 ready in $DATA_DIR/cifar10"; return 0; fi
  local tmp; tmp="$(mktemp "$DATA_DIR/cifar10/.archive.XXXXXX")"
  local ok=1
  if [[ -n "$MIRROR" && -f "$MIRROR/cifar10/$CIFAR_BIN" ]] && verified_copy "$MIRROR/cifar10/$CIFAR_BIN" "$CIFAR_BIN_SHA256" "$tmp"; then
    extract_cifar "$tmp" cifar-10-batches-bin && ok=0
  elif [[ -n "$MIRROR" && -f "$MIRROR/cifar10/$CIFAR_JPG" ]] && verified_copy "$MIRROR/cifar10/$CIFAR_JPG" "$CIFAR_JPG_SHA256" "$tmp"; then
    extract_cifar "$tmp" train test && ok=0
  elif [[ $OFFLINE -eq 0 ]] && verified_copy "$CIFAR_BIN_URL" "$CIFAR_BIN_SHA256" "$tmp"; then
    extract_cifar "$tmp" cifar-10-batches-bin && ok=0
  fi
  rm -f "$tmp"
  if [[ $ok -eq 0 ]]; then say "CIFAR-10 ready in $DATA_DIR/cifar10"; return 0; fi
  {
    say "could not get CIFAR-10. Download"
    echo "    $CIFAR_BIN_URL   (162 MB, sha256 $CIFAR_BIN_SHA256)"
    echo "  and unpack it in $DATA_DIR/cifar10/ so that $DATA_DIR/cifar10/cifar-10-batches-bin/data_batch_1.bin exists"
    echo "  (or set QGRAD_DATA_MIRROR to a folder holding cifar10/$CIFAR_BIN or cifar10/$CIFAR_JPG, then rerun make data)."
  } >&2
  return 1
}

status=0
if [[ -z "$ONLY" || "$ONLY" == mnist ]]; then fetch_mnist || status=1; fi
if [[ -z "$ONLY" || "$ONLY" == cifar10 ]]; then fetch_cifar10 || status=1; fi
exit $status
