#!/bin/bash
# Runs a Python test of this package with Debian's /usr/bin/python3 (python3-grpcio) and the
# generated clownix.v1 modules from //clients/python. Usage: run_python_test.sh TEST.py
set -euo pipefail
runfiles="${TEST_SRCDIR}/clownix"
export PYTHONPATH="$runfiles/clients/python${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 "$runfiles/clients/cli/$1"
