#!/usr/bin/env bash
# Runs every test of clownix: installs the Debian packages it needs (tools/setup.sh), builds
# offline with Bazel and runs `bazel test //...` (unit tests, fuzzers for a bounded time, and the
# whole-system tests with real clownixd, clownix-switchcore and UML VMs). Extra arguments go to
# `bazel test`. Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh || exit 1

log=$(mktemp /tmp/clownix-test.XXXXXX.log)
trap 'rm -f "$log"' EXIT
bazel test --test_output=errors //... "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log")
failed=$(grep -cE '^//[^ ]+ +(FAILED|TIMEOUT|NO STATUS|INCOMPLETE)' "$log")
echo
echo "${passed} passed, ${failed} failed"
exit "$status"
