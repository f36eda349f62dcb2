#!/bin/bash
# Runs the graph integration tests with Debian's /usr/bin/python3; see graph_integration_test.py.
set -euo pipefail
runfiles="${TEST_SRCDIR}/clownix"
export PYTHONDONTWRITEBYTECODE=1
unset CLOWNIX_SERVER CLOWNIX_WORK_DIR
exec /usr/bin/python3 "$runfiles/integration_tests/graph/graph_integration_test.py" "$@"
