#!/bin/bash
# Builds one libFuzzer target with Debian's clang (-fsanitize=fuzzer,address,undefined): compiles
# every source, as many at once as there are cores, then links them with the system libraries'
# flags. Called by the clownix_fuzzer rule (fuzz.bzl) from the execution root.
# Usage: build_fuzzer.sh OUT BIN_DIR [-DDEFINE...] --srcs SOURCE... --libs LINKOPT...
set -euo pipefail
out=$1 bin_dir=$2
shift 2
defines=() srcs=() libs=()
list=defines
for arg in "$@"; do
  case $arg in
    --srcs) list=srcs ;;
    --libs) list=libs ;;
    *) declare -n into=$list; into+=("$arg"); unset -n into ;;
  esac
done
clang=$(command -v clang++-14 || command -v clang++ || true)
if [[ -z $clang ]]; then
  echo "build_fuzzer: clang++ not found (run tools/setup.sh)" >&2
  exit 1
fi
# vptr is left out: Debian's protobuf and Abseil carry no UBSan type information.
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize=vptr
  -fno-sanitize-recover=undefined -I. "-I$bin_dir" "${defines[@]}")
objects=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-objects.XXXXXX")
trap 'wait; rm -rf "$objects"' EXIT
max=$(nproc) running=0 failed=0
for i in "${!srcs[@]}"; do
  if ((running >= max)); then
    wait -n || failed=1
    running=$((running - 1))
  fi
  "$clang" "${flags[@]}" -c "${srcs[$i]}" -o "$objects/$i.o" &
  running=$((running + 1))
done
while ((running > 0)); do
  wait -n || failed=1
  running=$((running - 1))
done
((failed == 0)) || exit 1
"$clang" "${flags[@]}" "$objects"/*.o "${libs[@]}" -o "$out"
