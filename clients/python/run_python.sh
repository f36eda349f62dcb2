#!/bin/bash
# Runs a Python script of this package under Bazel with Debian's /usr/bin/python3 (Bazel 4.2.3's
# own Python rules would pick whatever python3 comes first on PATH, which may lack python3-grpcio)
# and the generated clownix.v1 modules on PYTHONPATH. Usage: run_python.sh SCRIPT [ARGS...]
set -euo pipefail
here="${TEST_SRCDIR:-${RUNFILES_DIR:-$0.runfiles}}/clownix/clients/python"
script="$1"
shift
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 "$here/$script" "$@"
