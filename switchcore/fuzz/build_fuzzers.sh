#!/bin/bash
# Builds the libFuzzer targets with Debian's clang (-fsanitize=fuzzer,address,undefined).
# Usage: build_fuzzers.sh HANDSHAKE_OUT CTL_OUT SOURCE...   (run from the workspace root)
set -euo pipefail
handshake_out=$1 ctl_out=$2
shift 2
clang=$(command -v clang++-14 || command -v clang++)
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I.)
libs=$(pkg-config --libs absl_status absl_statusor absl_str_format absl_strings absl_hash \
  absl_raw_hash_set absl_flat_hash_map)
engine=() handshake=()
for f in "$@"; do
  case $f in
    *.h) ;;
    */fuzz/ctl_fuzzer.cc) ctl_main=$f ;;
    */fuzz/handshake_fuzzer.cc) handshake_main=$f ;;
    */daemon_protocol.cc|*/handshake.cc) handshake+=("$f"); engine+=("$f") ;;
    *.cc) engine+=("$f") ;;
  esac
done
"$clang" "${flags[@]}" "$handshake_main" "${handshake[@]}" $libs -o "$handshake_out"
"$clang" "${flags[@]}" "$ctl_main" "${engine[@]}" $libs -o "$ctl_out"
