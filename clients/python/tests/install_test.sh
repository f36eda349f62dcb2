#!/bin/bash
# Installs the package the way a user does, offline: pip (no index, no build isolation: Debian's
# setuptools and wheel) into a fresh venv that sees Debian's python3-grpcio and python3-protobuf,
# from a copy of the sources with no generated modules (the build must generate them). Then uses
# it from elsewhere: imports, the typed stubs, the two commands, and no top-level `proto`.
set -euo pipefail
runfiles="${TEST_SRCDIR}/clownix"
work="${TEST_TMPDIR}/install"
src="$work/src"
rm -rf "$work"
mkdir -p "$src/clients/python" "$src/proto/clownix/v1"
for f in README.md gen_stubs.sh pyproject.toml setup.py; do
  cp -L "$runfiles/clients/python/$f" "$src/clients/python/"
done
cp -rL "$runfiles/clients/python/clownix" "$src/clients/python/"
rm -rf "$src/clients/python/clownix/v1"
cp -L "$runfiles"/proto/clownix/v1/*.proto "$src/proto/clownix/v1/"

/usr/bin/python3 -m venv --system-site-packages "$work/venv"
"$work/venv/bin/python" -m pip install --no-index --no-build-isolation --no-cache-dir \
  --disable-pip-version-check --quiet "$src/clients/python"

cd "$work"
"$work/venv/bin/python" - <<'PY'
import os
import sys

import clownix
from clownix.v1 import machines_pb2_grpc, switch_pb2_grpc, topology_pb2, topology_pb2_grpc

package = os.path.dirname(clownix.__file__)
assert package.startswith(sys.prefix), package
for name in ("py.typed", "v1/topology_pb2.pyi", "v1/topology_pb2_grpc.pyi"):
    assert os.path.exists(os.path.join(package, name)), name
assert not os.path.exists(os.path.join(os.path.dirname(package), "proto")), "top-level proto"
assert topology_pb2.WatchResponse.__module__ == "clownix.v1.topology_pb2"
assert "proto" not in sys.modules
with clownix.Client("unix:/nonexistent/clownixd.sock", timeout=10) as client:
    try:
        client.get_topology()
        raise AssertionError("no server, yet the call succeeded")
    except clownix.UnavailableError:
        pass
print("imported", clownix.__version__, "from", package)
PY
"$work/venv/bin/clownix-watch-topology" --help | grep -q -- "--since"
"$work/venv/bin/clownix-create-network" --help | grep -q -- "--prefix"
status=0
"$work/venv/bin/clownix-create-network" --server localhost 2>"$work/err" || status=$?
[[ $status == 2 ]] && grep -q 'bad server address "localhost": no port' "$work/err"
echo "install_test: ok"
