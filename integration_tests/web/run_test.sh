#!/bin/bash
# Runs a browser test with node's test runner and the setup's npm packages (tools/setup.sh).
# Usage: run_test.sh SCRIPT
set -euo pipefail
runfiles="${TEST_SRCDIR}/clownix"
export NODE_PATH=/var/cache/clownix/web/node_modules
if [[ ! -d "$NODE_PATH/playwright-core" ]]; then
  echo "run_test.sh: $NODE_PATH/playwright-core is missing: run tools/setup.sh" >&2
  exit 1
fi
unset CLOWNIX_SERVER CLOWNIX_WORK_DIR
exec /usr/bin/node --test --test-reporter=spec "$runfiles/integration_tests/web/$1"
