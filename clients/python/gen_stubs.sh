#!/bin/sh
# Generates the Python modules of the clownix.v1 API into DIR (default: ./gen) with Debian's
# protoc and grpc_python_plugin (packages protobuf-compiler, protobuf-compiler-grpc):
#   clients/python/gen_stubs.sh /tmp/clownix-py && PYTHONPATH=/tmp/clownix-py:clients/python ...
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "${1:-gen}"
out=$(cd "${1:-gen}" && pwd)
cd "$root"
exec protoc --proto_path=. --python_out="$out" --grpc_python_out="$out" \
  --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin proto/clownix/v1/*.proto
