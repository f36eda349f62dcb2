#!/bin/bash
# Runs a Python test of this package with Debian's /usr/bin/python3 (it has python3-grpcio) and
# the generated modules beside it on PYTHONPATH. Usage: run_python_test.sh SCRIPT
set -euo pipefail
here="${TEST_SRCDIR}/clownix/integration_tests/server"
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 "$here/$1"
