#!/usr/bin/env bash
# Runs every test and check of clownix, offline, after installing the Debian packages it needs
# (tools/setup.sh):
#   1. `bazel test //...`: unit tests, fuzzers for a bounded time, and the whole-system tests with
#      real clownixd, clownix-switchcore and UML VMs. Extra arguments go to this `bazel test`.
#   2. thread-safety: everything compiled with clang -Wthread-safety -Werror (--config=clang,
#      .bazelrc), so every ABSL_GUARDED_BY / ABSL_EXCLUSIVE_LOCKS_REQUIRED contract holds.
#   3. tsan: the C++ tests again under ThreadSanitizer (--config=tsan): server, vmm with its UML
#      VMs, switchcore, the clients, and the integration tests running clownixd under TSAN.
#   4. format: every C++ file as .clang-format says (tools/check_format.sh).
# Each test of 1 and 3 counts as one result, 2 and 4 as one each; every step runs even if an
# earlier one failed. Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
# 3: only the debian guest image could not be built (setup said why): the tests of that image
# fail, saying so, and every other test runs.
bash tools/setup.sh || { rc=$?; ((rc == 3)) || exit 1; }

log=$(mktemp /tmp/clownix-test.XXXXXX.log)
trap 'rm -f "$log"' EXIT
passed=0 failed=0 status=0

# run_tests NAME BAZEL_ARGS...: `bazel test`, each test one result. A failure before any test ran
# (a build or analysis error) counts as one failed result.
run_tests() {
  local name=$1 start=$SECONDS
  shift
  echo
  echo "=== ${name}: bazel test $*"
  bazel test "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local p f
  p=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log")
  f=$(grep -cE '^//[^ ]+ +(FAILED|TIMEOUT|NO STATUS|INCOMPLETE)' "$log")
  if ((rc != 0)); then
    status=1
    ((f == 0)) && f=1
  fi
  passed=$((passed + p)) failed=$((failed + f))
  echo "=== ${name}: ${p} passed, ${f} failed in $((SECONDS - start))s"
}

# check NAME COMMAND...: one result for the whole command.
check() {
  local name=$1 start=$SECONDS
  shift
  echo
  echo "=== ${name}: $*"
  if "$@"; then
    passed=$((passed + 1))
    echo "=== ${name} PASSED in $((SECONDS - start))s"
  else
    failed=$((failed + 1)) status=1
    echo "=== ${name} FAILED in $((SECONDS - start))s"
  fi
}

run_tests tests --test_output=errors //... "$@"

# Builds only the objects (compilation_outputs): the analysis is a compiler pass, linking adds
# nothing to it. Its own output directory (bazel/clang/BUILD.bazel says why).
check thread-safety \
  bazel build --config=clang --keep_going --output_groups=compilation_outputs //...

# Only tests and what they need are built (--build_tests_only). The fuzzers (tagged "fuzz": clang
# ASAN builds of their own, bazel/fuzz/fuzz.bzl) and the Python client have no threads of ours for
# TSAN to watch; the whole-system test passes under TSAN too but takes six minutes there
# (bazel test --config=tsan //integration_tests/system:system_test). Its runs on the debian image
# and the guest tests drive the same clownixd code with a slower guest: they run once, in step 1;
# so do the tests tagged "no_tsan" (labs of debian guests: the clownixd paths they take are the
# apply, watch and exec paths the tests here cover).
run_tests tsan --config=tsan --test_output=errors --keep_going --build_tests_only \
  --test_tag_filters=-fuzz,-no_tsan -- \
  //bazel/tsan/... //server/... //vmm/... //switchcore/... \
  //clients/... -//clients/python/... //integration_tests/... \
  -//integration_tests/system:system_test -//integration_tests/system:debian_system_test \
  -//integration_tests/guests:debian_guest_test

check format bash tools/check_format.sh

echo
echo "${passed} passed, ${failed} failed"
exit "$status"
