#!/bin/bash
# Runs a guest test with Debian's /usr/bin/python3 and none of the clients' variables set.
# Usage: run_test.sh SCRIPT [unittest arguments]
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
unset CLOWNIX_SERVER CLOWNIX_WORK_DIR CLOWNIX_CA CLOWNIX_CERT CLOWNIX_KEY CLOWNIX_TOKEN \
  CLOWNIX_TOKEN_FILE
exec /usr/bin/python3 "${TEST_SRCDIR}/clownix/integration_tests/guests/$1" "${@:2}"
