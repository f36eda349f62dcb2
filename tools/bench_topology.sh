#!/usr/bin/env bash
# Reproduces the clownixd figures of docs/benchmarks.md: durable mutations/s and latency with 1, 8
# and 32 clients at 100 and 10,000 objects (peer: Health/Check, a unary call that touches no
# disk, measured in the same run), and watch delivery latency to 100 watchers at 1,000 and
# 10,000 events/s. Optimised build; clownixd runs with --nobackends (the topology alone).
# Usage: tools/bench_topology.sh [--seconds N]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
bazel build -c opt //server:clownixd //server/bench:topology_bench
bin="$(bazel info -c opt bazel-bin 2>/dev/null)"
"$bin/server/bench/topology_bench" --clownixd "$bin/server/clownixd" "$@" 2> >(grep -v ' INFO ' >&2)
