#!/bin/bash
# Runs a whole-system Python test with Debian's /usr/bin/python3. Usage: run_test.sh SCRIPT
set -euo pipefail
runfiles="${TEST_SRCDIR}/clownix"
export PYTHONDONTWRITEBYTECODE=1
unset CLOWNIX_SERVER CLOWNIX_WORK_DIR
exec /usr/bin/python3 "$runfiles/integration_tests/system/$1" "${@:2}"
