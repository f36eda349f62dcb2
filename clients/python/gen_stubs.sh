#!/bin/sh
# Generates the clownix.v1 API modules into OUT/clownix/v1/ (OUT defaults to this directory, for
# an editable install): *_pb2.py and *_pb2_grpc.py from Debian's protoc and grpc_python_plugin
# (packages protobuf-compiler, protobuf-compiler-grpc) and, when protoc-gen-mypy is installed
# (package mypy-protobuf), their typed *.pyi stubs.
#
# The .proto files import each other as "proto/clownix/v1/x.proto", so protoc names the modules
# proto.clownix.v1.x_pb2; their imports are rewritten to clownix.v1.x_pb2, the package's own name.
# The serialized descriptors (the DESCRIPTOR line) keep their file names untouched.
#
#   gen_stubs.sh [OUT]   PROTOC=... overrides protoc; CLOWNIX_PROTO_ROOT=... the directory that
#                        holds proto/clownix/v1 (default: this repository's root);
#                        CLOWNIX_REQUIRE_PYI=1 fails without protoc-gen-mypy (the Bazel build).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=${CLOWNIX_PROTO_ROOT:-$here/../..}
protoc=${PROTOC:-protoc}
case $protoc in /*) ;; */*) protoc=$(pwd)/$protoc ;; esac
out=${1:-$here}
mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

set -- --python_out="$tmp" --grpc_python_out="$tmp" \
  --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin
typed=0
if ! command -v protoc-gen-mypy >/dev/null 2>&1; then
  if [ "${CLOWNIX_REQUIRE_PYI:-0}" = 1 ]; then
    echo "gen_stubs.sh: protoc-gen-mypy not found: install mypy-protobuf (tools/setup.sh)" >&2
    exit 1
  fi
else
  typed=1
  # protoc-gen-mypy reports each file it writes on stderr; only its errors matter.
  set -- "$@" --mypy_out=quiet:"$tmp" --mypy_grpc_out=quiet:"$tmp"
fi
(cd "$root" && "$protoc" --proto_path=. "$@" proto/clownix/v1/*.proto)

mkdir -p "$out/clownix/v1"
for file in "$tmp"/proto/clownix/v1/*; do
  sed -e '/^DESCRIPTOR = /!{
            s/\bproto\.clownix\.v1\b/clownix.v1/g
            s/\bproto_dot_clownix_dot_v1_dot_/clownix_dot_v1_dot_/g
          }' "$file" >"$out/clownix/v1/$(basename "$file")"
done
cat >"$out/clownix/v1/__init__.py" <<'INIT'
"""The clownix.v1 API, generated from proto/clownix/v1/*.proto: messages in resources_pb2,
services and their messages in topology_pb2, machines_pb2, switch_pb2, stubs in *_pb2_grpc."""
INIT
if [ "$typed" = 0 ]; then
  echo "gen_stubs.sh: protoc-gen-mypy not found (Debian package mypy-protobuf): no .pyi stubs" >&2
fi
