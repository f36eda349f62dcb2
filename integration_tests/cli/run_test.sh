#!/bin/bash
# Runs the CLI integration tests with Debian's /usr/bin/python3 (python3-grpcio) and the
# generated clownix.v1 Python modules; see cli_integration_test.py.
set -euo pipefail
runfiles="${TEST_SRCDIR}/clownix"
export PYTHONPATH="$runfiles/clients/python${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
unset CLOWNIX_SERVER CLOWNIX_WORK_DIR
exec /usr/bin/python3 "$runfiles/integration_tests/cli/cli_integration_test.py" "$@"
