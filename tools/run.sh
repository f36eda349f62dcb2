#!/usr/bin/env bash
# The main job: installs what is missing, builds clownix, starts clownixd with the embedded
# default root filesystem, and brings up the demo network
#
#     vm1 (192.168.1.1) -- lan1 -- router -- lan2 -- vm2 (192.168.2.1)
#
# then shows vm1 pinging vm2 through the router, and the host reaching the VMs over the admin
# network. clownixd runs in a network namespace of its own (so do its switch, taps and VMs):
# nothing touches the host's interfaces. Runs until Ctrl-C, then shuts everything down.
# Usage: tools/run.sh [WORK_DIR]   (default /tmp/clownix)
set -euo pipefail
cd "$(dirname "$0")/.."
# 3: only the debian guest image could not be built (no network?): the demo runs on tiny.
bash tools/setup.sh || { rc=$?; ((rc == 3)) || exit "$rc"; }

work_dir="${1:-${CLOWNIX_WORK_DIR:-/tmp/clownix}}"
netns="clownix-demo"
ip_admin="198.18.255.254"

echo "== building (offline, Debian's Bazel)"
bazel build //server:clownixd //clients/cli:clownix //clients/graph:clownix-graph \
  //clients/web:clownix-web 2>&1 | tail -1
bin="$(bazel info bazel-bin 2>/dev/null)"
clownix="$bin/clients/cli/clownix"
export CLOWNIX_SERVER="unix:$work_dir/clownixd.sock"

server_pid=""
cleanup() {
  trap - EXIT INT TERM
  echo
  echo "== shutting down"
  [[ -n "$graph_pid" ]] && kill -TERM "$graph_pid" 2>/dev/null && wait "$graph_pid" 2>/dev/null
  [[ -n "$web_pid" ]] && kill -TERM "$web_pid" 2>/dev/null && wait "$web_pid" 2>/dev/null
  [[ -n "$server_pid" ]] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  ip netns del "$netns" 2>/dev/null || true
  echo "stopped."
}
graph_pid=""
web_pid=""
trap cleanup EXIT INT TERM

mkdir -p "$work_dir"
ip netns del "$netns" 2>/dev/null || true
ip netns add "$netns"
ip -n "$netns" link set lo up

echo "== starting clownixd in netns $netns (work dir $work_dir, host admin address $ip_admin)"
# nsenter, not `ip netns exec`: that one mounts a sysfs of the namespace's own over /sys, which
# hides the cgroup file systems clownixd puts each VM's limits in (docs/security.md).
nsenter --net="/run/netns/$netns" "$bin/server/clownixd" --work_dir "$work_dir" \
  --ip_admin "$ip_admin" \
  2>"$work_dir/clownixd.log" &
server_pid=$!
for _ in $(seq 200); do "$clownix" topo >/dev/null 2>&1 && break; sleep 0.1; done

# Each machine is configured by the file itself (addresses, forwarding, routes: its "guest"
# section); --wait returns once every VM runs and its startup has finished.
echo "== applying the demo network (examples/demo.json), configured by the file alone"
"$clownix" apply examples/demo.json --wait
"$clownix" vm ls

echo "== vm1 pings vm2 through the router"
"$clownix" exec vm1 -- ping -c 3 192.168.2.1
"$clownix" exec vm1 -- traceroute -n -w 1 192.168.2.1
echo "== the host (netns $netns) reaches every VM on the admin network"
for ip in 198.18.0.1 198.18.0.2 198.18.0.3; do
  ip netns exec "$netns" busybox ping -c 1 -W 2 "$ip" | grep -E "bytes from|packet loss"
done
echo "== switch counters of lan1"
"$clownix" stats lan1

if [[ -x "$bin/clients/graph/clownix-graph" ]]; then
  "$bin/clients/graph/clownix-graph" --follow --out "$work_dir/graph" 2>>"$work_dir/graph.log" &
  graph_pid=$!
  echo "== the graph (re-rendered on every change): $work_dir/graph/topology.svg"
fi

# The dashboard (docs/web.md): the topology live and a console per VM, on loopback only.
web_listen="${CLOWNIX_WEB_LISTEN:-127.0.0.1:8420}"
"$bin/clients/web/clownix-web" --listen "$web_listen" >>"$work_dir/web.log" 2>&1 &
web_pid=$!
echo "== the dashboard: http://$web_listen/   (clownix-web, log $work_dir/web.log)"

cat <<MSG

clownix is running: clownixd pid $server_pid, work dir $work_dir.
Open http://$web_listen/ in a browser (click a VM for its console). Or, from another terminal:
  export CLOWNIX_SERVER=$CLOWNIX_SERVER
  alias clownix=$clownix
  clownix topo
  clownix watch
  clownix console vm1            (Ctrl-] to leave)
  clownix impair vm1 eth1 --delay 50ms --loss 5
  clownix exec vm1 -- ping -c 3 192.168.2.1
  sudo ip netns exec $netns ssh -i $work_dir/id_rsa root@198.18.0.1
Press Ctrl-C to stop everything.
MSG
wait "$server_pid"
