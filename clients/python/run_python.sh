#!/bin/bash
# Runs Python from this package under Bazel with Debian's /usr/bin/python3 (Bazel 4.2.3's own
# Python rules would pick whatever python3 comes first on PATH, which may lack python3-grpcio),
# with the clownix package (sources and generated clownix.v1 side by side in the runfiles) on
# PYTHONPATH. Usage: run_python.sh SCRIPT [ARGS...] (SCRIPT relative to clients/python), or
# run_python.sh -m MODULE [ARGS...]: `bazel run //clients/python:run -- -m clownix.tools.X`.
set -euo pipefail
here="${TEST_SRCDIR:-${RUNFILES_DIR:-$0.runfiles}}/clownix/clients/python"
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
if [[ "${1:-}" == -m ]]; then
  exec /usr/bin/python3 "$@"
fi
script="$1"
shift
exec /usr/bin/python3 "$here/$script" "$@"
