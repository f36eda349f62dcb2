#!/bin/bash
# Runs the labs test with Debian's /usr/bin/python3 (system_test.py comes from
# //integration_tests/system). Usage: run_test.sh SCRIPT
set -euo pipefail
runfiles="${TEST_SRCDIR}/clownix"
export PYTHONDONTWRITEBYTECODE=1
unset CLOWNIX_SERVER CLOWNIX_WORK_DIR
exec /usr/bin/python3 "$runfiles/integration_tests/labs/$1" "${@:2}"
