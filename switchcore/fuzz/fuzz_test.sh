#!/bin/bash
# Runs each libFuzzer target for a bounded time (FUZZ_SECONDS, default 20) from its seed corpus.
# A crash, leak or sanitizer report fails the test and leaves the reproducer in the test's outputs.
set -euo pipefail
seconds=${FUZZ_SECONDS:-20}
out=${TEST_UNDECLARED_OUTPUTS_DIR:-${TEST_TMPDIR:-/tmp}}
for pair in "$1:$3" "$2:$4"; do
  fuzzer=${pair%%:*} seeds=${pair#*:}
  name=$(basename "$fuzzer")
  corpus=$(mktemp -d "${TEST_TMPDIR:-/tmp}/corpus.XXXXXX")
  cp "$seeds"/* "$corpus"/ 2>/dev/null || true
  echo "== $name for ${seconds}s"
  "$fuzzer" -max_total_time="$seconds" -max_len=70000 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$out/$name-" -print_final_stats=1 "$corpus" 2>&1 | tail -20
  rm -rf "$corpus"
done
