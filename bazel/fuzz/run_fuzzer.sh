#!/bin/bash
# Runs one libFuzzer target for a bounded time from its checked-in seed corpus (every seed is run
# first, so each is a regression test too). A crash, leak, timeout or sanitizer report fails the
# test and leaves the reproducer in the test's outputs (bazel-testlogs/.../test.outputs).
# Usage: run_fuzzer.sh FUZZER SECONDS MAX_LEN DICT SEED...   DICT may be "" (none). FUZZ_SECONDS in
# the environment overrides SECONDS (`bazel test --test_env=FUZZ_SECONDS=600 --test_timeout=700
# //server:apply_fuzzer_test` fuzzes for ten minutes).
set -euo pipefail
fuzzer=$1 seconds=${FUZZ_SECONDS:-$2} max_len=$3 dict=$4
shift 4
out=${TEST_UNDECLARED_OUTPUTS_DIR:-${TEST_TMPDIR:-/tmp}}
work=$(mktemp -d "${TEST_TMPDIR:-/tmp}/fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
corpus=$work/corpus log=$work/log
mkdir "$corpus"
if (($# > 0)); then cp "$@" "$corpus"/; fi
name=$(basename "$fuzzer")
echo "== $name for ${seconds}s from $# seeds"
status=0
options=(-max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048)
if [[ -n $dict ]]; then options+=(-dict="$dict"); fi
options+=(-artifact_prefix="$out/$name-" -print_final_stats=1)
"$fuzzer" "${options[@]}" "$corpus" >"$log" 2>&1 || status=$?
# libFuzzer logs a line per new input; the end holds the stats, or the report and its stack.
if ((status == 0)); then tail -15 "$log"; else tail -200 "$log"; fi
exit "$status"
