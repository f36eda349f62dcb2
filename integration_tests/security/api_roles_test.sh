#!/bin/bash
# Runs api_roles_test.py with Debian's /usr/bin/python3 (python3-grpcio), with the generated
# reflection modules beside it and the clownix Python package on PYTHONPATH, and none of the
# clients' variables set. Usage: api_roles_test.sh api_roles_test.py
set -euo pipefail
runfiles="${TEST_SRCDIR}/clownix"
here="$runfiles/integration_tests/security"
export PYTHONPATH="$here:$runfiles/clients/python${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
unset CLOWNIX_SERVER CLOWNIX_WORK_DIR CLOWNIX_CA CLOWNIX_CERT CLOWNIX_KEY CLOWNIX_TOKEN \
  CLOWNIX_TOKEN_FILE
exec /usr/bin/python3 "$here/$1"
