#!/usr/bin/env bash
# The main job: installs what is missing, builds clownix, starts clownixd on a work dir and
# brings up the demo network vm1 - lan1 - router - lan2 - vm2 (examples/demo.json). Runs until
# Ctrl-C, then shuts everything down. Usage: tools/run.sh [WORK_DIR] (default /tmp/clownix).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh

work_dir="${1:-${CLOWNIX_WORK_DIR:-/tmp/clownix}}"
bazel build -c opt //server:clownixd //clients/cli:clownix
bin="$(bazel info -c opt bazel-bin 2>/dev/null)"
mkdir -p "$work_dir/bin"
cp -f "$bin/server/clownixd" "$bin/clients/cli/clownix" "$work_dir/bin/"
export CLOWNIX_SERVER="unix:$work_dir/clownixd.sock"
clownix="$work_dir/bin/clownix"

"$work_dir/bin/clownixd" --work_dir "$work_dir" &
server_pid=$!
trap 'kill -TERM "$server_pid" 2>/dev/null; wait "$server_pid"' EXIT INT TERM
for _ in $(seq 100); do "$clownix" topo >/dev/null 2>&1 && break; sleep 0.1; done

echo "== applying the demo network (examples/demo.json)"
"$clownix" apply examples/demo.json
echo "== the topology"
"$clownix" topo
cat <<MSG

clownixd is running (pid $server_pid), work dir $work_dir.
Use the CLI against it:
  export CLOWNIX_SERVER=$CLOWNIX_SERVER
  $clownix vm ls
  $clownix watch
Press Ctrl-C to stop.
MSG
wait "$server_pid"
