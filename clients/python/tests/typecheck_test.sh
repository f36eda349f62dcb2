#!/bin/bash
# Type-checks the package, its generated stubs and its tests with Debian's mypy (strict; the
# settings are pyproject.toml's [tool.mypy]).
set -euo pipefail
here="${TEST_SRCDIR}/clownix/clients/python"
cd "$here"
export MYPYPATH="$here/tests"
exec /usr/bin/python3 -m mypy --config-file pyproject.toml --cache-dir "${TEST_TMPDIR}/mypy" \
  clownix tests/*.py
