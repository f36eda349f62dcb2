#!/usr/bin/python3
"""Scale benchmark (issue 14): N FRR routers in a grid running OSPF, from one topology file, beside
N busybox VMs with no routing, on one clownixd.

    sudo python3 tools/bench_scale.py [--sizes 25,50,100] [--runs 2] [--mem 96] [--out FILE]

Needs root (like clownixd's tests: a network namespace for the admin tap), the debian image
(tools/setup.sh) and the binaries built: `bazel build -c opt //clients/cli:clownix
//server:clownixd`. It starts its own clownixd on a fresh work dir under /tmp, inside its own
network namespace, and stops it at the end.

For each size N (a grid of R x C routers, R the largest divisor of N not above its square root)
and each run it writes one topology file (JSON, docs/topology.schema.json) and applies it with
`clownix apply FILE --wait`:

  ospf  r0..rN-1 (image debian, --mem MiB, admin: false): one LAN per grid edge (a /24 each,
        up to four per router), FRR's ospfd on each, point-to-point, hello --hello s, dead
        --dead s, SPF and LSA throttling short; four hosts h0..h3 (image tiny) on a LAN of their
        own behind the four corner routers (passive in OSPF). Everything is in the file: NIC
        addresses, sysctls, /etc/frr/daemons and frr.conf, a startup script that starts FRR.
  tiny  the same N machines, LANs, links and hosts, image tiny, no guest config: boot only.
  debian  r0..rN-1 as a user would add them: image debian, its default memory, the admin network,
        no LAN, no guest config: boot only (issue 11: 50 debian VMs ready in 60 s).

What it reports per run:
  ready      from `apply` to every VM running with its startup finished (`apply --wait` returns);
  converged  (ospf) from `apply` to every router having every prefix of the grid (every link
             LAN and every host LAN) in its kernel table: `clownix exec rN -- ip -4 route`,
             polled only once the router's startup is done (seen in `vm ls --json`, read every
             2 s), each router at most once a second, at most --pollers execs at once (a guest
             exec costs guest CPU that convergence needs), each router only until it is
             complete. Then one ping from h0 to h3 across the grid;
  memory     per router (and per tiny VM), from the VM's own host cgroup (vmm/cgroup_limits.h):
             memory.current and memory.peak, and the PSS of its processes (smaps_rollup, each
             address space once: UML's helpers share the main process's mm, kcmp says so);
             read once every router is complete (tiny: once every VM is ready, plus --settle s);
  clownixd and clownix-switchcore: CPU (utime+stime from /proc/PID/stat) used from `apply` to
             the end of the measurement, and VmRSS and PSS at the end;
  load       /proc/loadavg before and after.
Between runs everything is removed (`apply` of an empty file with --prune) and the benchmark
waits until no VM process of this clownixd is left. Prints Markdown tables (min / median / max).
"""
import argparse
import ctypes
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "bazel-bin")
MIB = 1 << 20
SYS_KCMP = 312  # x86_64
KCMP_VM = 1
libc = ctypes.CDLL(None, use_errno=True)


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def other_vms(work_dir):
    """How many UML VMs run on the host outside `work_dir` (other users of the shared machine)."""
    vms = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and read("/proc/%s/comm" % entry).strip() == "linux.uml":
            args = read("/proc/%s/cmdline" % entry).split("\0")
            key = tuple(a for a in args if a.startswith(("uml_dir=", "umid=")))
            if key and not any(work_dir in a for a in key):
                vms.add(key)
    return len(vms)


def cpu_seconds(pid):
    """utime+stime of `pid` (its threads included), in seconds."""
    stat = read("/proc/%d/stat" % pid)
    fields = stat[stat.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def group_cpu_seconds(pids):
    """CPU of `pids` and of the children they reaped (utime+stime+cutime+cstime): a VM's total,
    since every guest process is a host process that UML's main process reaps."""
    ticks = 0
    for pid in pids:
        stat = read("/proc/%d/stat" % pid)
        if stat:
            fields = stat[stat.rfind(")") + 2:].split()
            ticks += sum(int(fields[i]) for i in (11, 12, 13, 14))
    return ticks / os.sysconf("SC_CLK_TCK")


def status_kib(pid, field):
    for line in read("/proc/%d/status" % pid).splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def pss_kib(pids):
    """PSS summed over `pids`, each address space once (kcmp KCMP_VM)."""
    counted, total = [], 0
    for pid in pids:
        if any(libc.syscall(SYS_KCMP, pid, other, KCMP_VM, 0, 0) == 0 for other in counted):
            continue
        for line in read("/proc/%d/smaps_rollup" % pid).splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1])
                counted.append(pid)
                break
    return total


class Server:
    """clownixd on a fresh work dir, with its admin tap in a network namespace of its own."""

    def __init__(self, clownixd, clownix, extra_flags):
        self.clownix = clownix
        self.work_dir = tempfile.mkdtemp(prefix="cnx-bench-scale.", dir="/tmp")
        self.netns = subprocess.Popen(["unshare", "-n", "sleep", "86400"])
        self.wait(lambda: os.readlink("/proc/%d/ns/net" % self.netns.pid) !=
                  os.readlink("/proc/self/ns/net"), 10, "the namespace")
        self.log = open(os.path.join(self.work_dir, "clownixd.log"), "ab")
        # nsenter without -p execs clownixd in place: this pid is clownixd's.
        self.process = subprocess.Popen(
            ["nsenter", "-t", str(self.netns.pid), "-n", clownixd, "--work_dir", self.work_dir,
             "--ip_admin", "10.0.255.254", "--admin_tap", "cnxscale%d" % (os.getpid() % 1000)]
            + extra_flags, stdout=self.log, stderr=self.log)
        self.wait(lambda: self.cli("topo").returncode == 0, 60, "clownixd to serve")
        self.pid = self.process.pid
        if read("/proc/%d/comm" % self.pid).strip() != "clownixd":
            raise RuntimeError("pid %d is not clownixd" % self.pid)

    @staticmethod
    def wait(predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.2)
        raise RuntimeError("timed out waiting for " + what)

    def cli(self, *args, timeout=1800):
        """`clownix ARGS`; one that outlasts `timeout` is killed and fails (exit code None)."""
        command = [self.clownix, "--server", "unix:%s/clownixd.sock" % self.work_dir] + list(args)
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            return subprocess.CompletedProcess(command, None, e.stdout or "", e.stderr or "")

    def must(self, *args, timeout=1800):
        result = self.cli(*args, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError("clownix %s: %s%s" % (" ".join(args), result.stdout, result.stderr))
        return result.stdout

    def switchcore_pid(self):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            stat = read("/proc/%s/stat" % entry)
            if stat and stat[stat.rfind(")") + 2:].split()[1] == str(self.pid) and \
                    read("/proc/%s/comm" % entry).strip().startswith("clownix-switch"):
                return int(entry)
        return None

    def vm_cgroup_root(self):
        """The memory cgroup directory holding this clownixd's per-VM groups (OWN/clownix-HASH,
        vmm/cgroup_limits.h), and whether it is cgroup v2; (None, False) if there is none."""
        for line in read("/proc/%d/cgroup" % self.pid).splitlines():
            _, controllers, path = line.split(":", 2)
            if controllers == "" and os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
                own, v2 = "/sys/fs/cgroup" + path, True
            elif "memory" in controllers.split(","):
                own, v2 = "/sys/fs/cgroup/memory" + path, False
            else:
                continue
            for base in (own, os.path.dirname(own)):  # clownixd may have moved to OWN/clownixd
                groups = [d for d in os.listdir(base) if d.startswith("clownix-")] \
                    if os.path.isdir(base) else []
                for d in groups:  # several clownixd in one group: ours has our VMs' groups
                    if len(groups) == 1 or os.path.isdir(os.path.join(base, d, "r0")):
                        return os.path.join(base, d), v2
        return None, False

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=300)
        self.netns.kill()
        self.netns.wait()
        self.log.close()
        shutil.rmtree(self.work_dir, ignore_errors=True)


def grid_shape(n):
    rows = max(d for d in range(1, int(n ** 0.5) + 1) if n % d == 0)
    return rows, n // rows


# In each router: the time (bash's $EPOCHREALTIME: the host's clock, UML reads it) when its kernel
# table first holds every prefix of /etc/scale-prefixes, into /run/scale-converged. It follows
# `ip monitor` with bash builtins only, so it costs no process per check: polling `ip route` once
# a second from the host or the guest would cost a fork/exec in UML (12-14 ms of CPU each) per
# router per second, CPU the routers' convergence needs.
WATCH = r"""#!/bin/bash
declare -A want have
while read -r p; do [ -n "$p" ] && want[$p]=1; done < /etc/scale-prefixes
found=0
note() {  # $1: a line of `ip route` or `ip monitor route`
  set -- $1
  if [ "$1" = Deleted ]; then
    [ -n "${want[$2]}" ] && [ -n "${have[$2]}" ] && { unset "have[$2]"; found=$((found - 1)); }
  elif [ -n "${want[$1]}" ] && [ -z "${have[$1]}" ]; then
    have[$1]=1; found=$((found + 1))
  fi
  if [ "$found" -ge "${#want[@]}" ]; then
    echo "$EPOCHREALTIME" > /run/scale-converged
    kill "$MON_PID" 2>/dev/null
    exit 0
  fi
}
coproc MON { exec ip -4 monitor route; }
# The table as it is now, read after the monitor runs so that no change falls in between.
while read -r line; do note "$line"; done < <(ip -4 route)
while read -r line <&"${MON[0]}"; do note "$line"; done
"""


# How a router starts FRR (--frr-start). "service": Debian's way, `systemctl start frr`:
# frrinit.sh (bash) starts watchfrr, which starts and watches each daemon of /etc/frr/daemons.
# "direct": zebra and ospfd started by hand, each daemonizing once it has read its own file and is
# ready (FRR's -d waits for that), as Kathara and Netkit labs often do: no bash init script, no
# watchfrr, staticd or vtysh.
FRR_START = {
    "service": "chown -R frr:frr /etc/frr\nchmod 640 /etc/frr/*.conf /etc/frr/daemons\n"
               "systemctl start frr\n",
    "direct": "chown -R frr:frr /etc/frr\nchmod 640 /etc/frr/*.conf\n"
              "install -d -o frr -g frr -m 755 /run/frr\n"
              "/usr/lib/frr/zebra -d -A 127.0.0.1 -s 90000000 -f /etc/frr/zebra.conf\n"
              "/usr/lib/frr/ospfd -d -A 127.0.0.1 -f /etc/frr/ospfd.conf\n",
}


def topology(n, ospf, mem, hello, dead, frr_start="service"):
    """The grid of `n` routers and its four corner hosts, as a clownix topology (a dict), and the
    prefixes every router must end up with."""
    rows, cols = grid_shape(n)
    nics = {i: [] for i in range(n)}  # router -> [(lan, cidr)] in NIC order
    lans, prefixes = [], []
    edges = [(r * cols + c, r * cols + c + 1) for r in range(rows) for c in range(cols - 1)] + \
        [(r * cols + c, (r + 1) * cols + c) for r in range(rows - 1) for c in range(cols)]
    for k, (a, b) in enumerate(edges):
        net = "10.%d.%d" % (1 + k // 256, k % 256)
        lans.append("l%d" % k)
        prefixes.append(net + ".0/24")
        nics[a].append(("l%d" % k, net + ".1/24"))
        nics[b].append(("l%d" % k, net + ".2/24"))
    corners = sorted({0, cols - 1, n - cols, n - 1})
    hosts = []
    for j, r in enumerate(corners):
        lans.append("e%d" % j)
        prefixes.append("10.200.%d.0/24" % j)
        nics[r].append(("e%d" % j, "10.200.%d.1/24" % j))
        hosts.append(("h%d" % j, "e%d" % j, "10.200.%d.2/24" % j, "10.200.%d.1" % j))

    vms, links = [], []
    for i in range(n):
        vm = {"name": "r%d" % i, "image": "debian" if ospf else "tiny", "admin": False,
              "nic_count": len(nics[i])}
        if ospf:
            vm["mem_mib"] = mem
        for index, (lan, _) in enumerate(nics[i]):
            links.append({"endpoint": {"nic": {"vm": vm["name"], "index": index}}, "lan": lan})
        if ospf:
            zebra = ["frr defaults traditional", "hostname r%d" % i,
                     "log file /var/log/frr/zebra.log", "!"]
            conf = ["frr defaults traditional", "hostname r%d" % i,
                    "log file /var/log/frr/ospfd.log", "!"]
            for index, (lan, _) in enumerate(nics[i]):
                if lan.startswith("e"):
                    continue
                conf += ["interface eth%d" % index, " ip ospf network point-to-point",
                         " ip ospf hello-interval %d" % hello, " ip ospf dead-interval %d" % dead,
                         " ip ospf retransmit-interval 2", "!"]
            conf += ["router ospf",
                     " ospf router-id 10.255.%d.%d" % ((i + 1) // 256, (i + 1) % 256),
                     " network 10.0.0.0/8 area 0", " timers throttle spf 50 200 2000",
                     " timers throttle lsa all 0", " timers lsa min-arrival 0"]
            conf += [" passive-interface eth%d" % index
                     for index, (lan, _) in enumerate(nics[i]) if lan.startswith("e")]
            conf += ["!"]
            vm["guest"] = {
                "sysctls": {"net.ipv4.ip_forward": "1", "net.ipv4.conf.all.rp_filter": "0",
                            "net.ipv4.conf.default.rp_filter": "0"},
                "addresses": [{"nic": index, "cidr": cidr}
                              for index, (_, cidr) in enumerate(nics[i])],
                "files": [
                    {"path": "/etc/frr/daemons", "text":
                     "zebra=yes\nospfd=yes\nvtysh_enable=yes\n"
                     'zebra_options="  -A 127.0.0.1 -s 90000000"\n'
                     'ospfd_options="   -A 127.0.0.1"\n'
                     # On a loaded host a daemon's start can outlast watchfrr's default 20 s,
                     # and watchfrr then kills it (examples/labs/README.md).
                     'watchfrr_options="-T 120"\n'},
                    # FRR's per-daemon configuration: each daemon reads its own file as it
                    # starts. With the integrated frr.conf, frrinit.sh's `vtysh -b` pushes it
                    # to the daemons instead, and on the loaded host that push broke now and then
                    # ("vtysh_flush: write error ... Broken pipe"), leaving a router without OSPF.
                    {"path": "/etc/frr/zebra.conf", "text": "\n".join(zebra) + "\n"},
                    {"path": "/etc/frr/ospfd.conf", "text": "\n".join(conf) + "\n"},
                    {"path": "/etc/scale-prefixes", "text": "\n".join(prefixes) + "\n"},
                    {"path": "/usr/local/bin/scale-watch", "text": WATCH, "mode": "0755"}],
                "startup": "setsid /usr/local/bin/scale-watch </dev/null >/dev/null 2>&1 &\n"
                           "rm -f /etc/frr/frr.conf\n" + FRR_START[frr_start]}
        vms.append(vm)
    for name, lan, cidr, gateway in hosts:
        vm = {"name": name, "image": "tiny", "admin": False, "nic_count": 1}
        if ospf:
            vm["guest"] = {"addresses": [{"nic": 0, "cidr": cidr}],
                           "startup": "ip route add default via %s\n" % gateway}
        vms.append(vm)
        links.append({"endpoint": {"nic": {"vm": name, "index": 0}}, "lan": lan})
    return {"vms": vms, "lans": [{"name": l} for l in lans], "links": links}, prefixes


def vm_states(server):
    """name -> (state, startup state) from `vm ls --json`."""
    result = server.cli("vm", "ls", "--json", timeout=60)
    if result.returncode != 0:
        return {}
    out = {}
    for vm in json.loads(result.stdout or "{}").get("vms", []):
        out[vm["name"]] = (vm.get("state", ""), vm.get("startup", {}).get("state", ""))
    return out


class Convergence:
    """Waits for every router's /run/scale-converged (WATCH), asked once its startup is done,
    and checks its kernel table from the host in the same exec."""

    def __init__(self, server, routers, prefixes, started, started_wall, pollers, interval):
        self.server, self.prefixes, self.started = server, set(prefixes), started
        self.interval = interval  # seconds between two execs in one router, at least
        self.started_wall = started_wall
        self.lock = threading.Lock()
        self.ready = {}           # router -> seconds from apply when its startup was seen done
        self.running = {}         # router -> seconds from apply when it was seen RUNNING
        self.complete = {}        # router -> seconds from apply when it had every prefix
        self.last_poll = {}       # router -> monotonic time of its last exec
        self.polls = 0
        self.busy = set()         # routers being polled now
        self.routers = set(routers)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.watch_states)] + \
            [threading.Thread(target=self.poll) for _ in range(pollers)]
        for t in self.threads:
            t.daemon = True
            t.start()

    def watch_states(self):
        while not self.stop.is_set() and len(self.ready) < len(self.routers):
            for name, (state, startup) in vm_states(self.server).items():
                if name not in self.routers:
                    continue
                with self.lock:
                    if state == "VM_STATE_RUNNING":  # booted: its agent answered
                        self.running.setdefault(name, time.monotonic() - self.started)
                    if startup in ("STATE_DONE", "STATE_FAILED"):
                        self.ready.setdefault(name, time.monotonic() - self.started)
            self.stop.wait(2)

    def next_router(self):
        with self.lock:
            now = time.monotonic()
            candidates = [r for r in self.ready if r not in self.complete and
                          now - self.last_poll.get(r, 0) >= self.interval and r not in self.busy]
            if not candidates:
                return None
            r = min(candidates, key=lambda r: self.last_poll.get(r, 0))
            self.busy.add(r)
            self.last_poll[r] = now
            return r

    def poll(self):
        while not self.stop.is_set() and len(self.complete) < len(self.routers):
            router = self.next_router()
            if router is None:
                self.stop.wait(0.1)
                continue
            out = self.server.cli("exec", router, "--timeout", "30s", "--",
                                  "cat /run/scale-converged 2>/dev/null; ip -4 route",
                                  timeout=60).stdout
            lines = out.splitlines()
            try:
                converged_at = float(lines[0]) - self.started_wall
            except (IndexError, ValueError):
                converged_at = None
            have = {line.split()[0] for line in lines if line.strip()}
            with self.lock:
                self.polls += 1
                self.busy.discard(router)
                if converged_at is not None and self.prefixes <= have:
                    self.complete[router] = converged_at

    def wait(self, deadline):
        while time.monotonic() < deadline and len(self.complete) < len(self.routers):
            time.sleep(0.5)
        self.stop.set()
        for t in self.threads:
            t.join()
        missing = self.routers - set(self.complete)
        if missing:
            out = self.server.cli("exec", sorted(missing)[0], "--", "ip -4 route; "
                                  "vtysh -c 'show ip ospf neighbor'", timeout=60).stdout
            print("%s:\n%s" % (sorted(missing)[0], out), file=sys.stderr)
            raise RuntimeError("not converged by the deadline: %d routers, e.g. %s" % (
                len(missing), " ".join(sorted(missing)[:10])))
        return max(self.complete.values())


def vm_memory(server, names):
    """name -> (memory now MiB, peak MiB, PSS MiB, CPU s) from each VM's host cgroup (v2:
    memory.current and memory.peak; v1: memory.usage_in_bytes and memory.max_usage_in_bytes)."""
    root, v2 = server.vm_cgroup_root()
    out = {}
    if root is None:
        return out
    now_file, peak_file = ("memory.current", "memory.peak") if v2 else \
        ("memory.usage_in_bytes", "memory.max_usage_in_bytes")
    for name in names:
        group = os.path.join(root, name)
        pids = [int(p) for p in read(os.path.join(group, "cgroup.procs")).split()]
        current = read(os.path.join(group, now_file)).strip()
        peak = read(os.path.join(group, peak_file)).strip()
        if not current:
            continue
        out[name] = (int(current) / MIB, int(peak) / MIB if peak else float("nan"),
                     pss_kib(pids) / 1024, group_cpu_seconds(pids))
    return out


def remove_all(server, work):
    empty = os.path.join(work, "empty.json")
    with open(empty, "w") as f:
        json.dump({"vms": [], "lans": [], "links": []}, f)
    server.must("apply", empty, "--prune")
    root, _ = server.vm_cgroup_root()

    def gone():
        if vm_states(server):
            return False
        if root and os.path.isdir(root):
            return not any(read(os.path.join(root, d, "cgroup.procs")).strip()
                           for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
        return True
    server.wait(gone, 600, "every VM to be gone")


def run_once(server, work, n, kind, args):
    if kind == "debian":
        topo, prefixes = {"vms": [{"name": "r%d" % i, "image": "debian"} for i in range(n)]}, []
    else:
        topo, prefixes = topology(n, kind == "ospf", args.mem, args.hello, args.dead,
                                  args.frr_start)
    path = os.path.join(work, "%s-%d.json" % (kind, n))
    with open(path, "w") as f:
        json.dump(topo, f, indent=1)
    routers = ["r%d" % i for i in range(n)]
    switchcore = server.switchcore_pid()
    before = load()
    others = other_vms(server.work_dir)
    cpu0 = (cpu_seconds(server.pid), cpu_seconds(switchcore) if switchcore else 0.0)
    started, started_wall = time.monotonic(), time.time()
    apply = subprocess.Popen(
        [server.clownix, "--server", "unix:%s/clownixd.sock" % server.work_dir, "apply", path,
         "--wait", "--wait-timeout", "%ds" % args.timeout],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    conv = Convergence(server, routers, prefixes, started, started_wall, args.pollers,
                       args.poll_interval) \
        if kind == "ospf" else None
    out, _ = apply.communicate(timeout=args.timeout + 60)
    ready = time.monotonic() - started
    print("%d %s: every VM ready after %.1f s" % (n, kind, ready), file=sys.stderr, flush=True)
    if apply.returncode != 0:
        if conv:
            conv.stop.set()
        raise RuntimeError("apply --wait failed:\n" + out[-3000:])
    result = {"ready": ready, "converged": None, "ping": None}
    if conv:
        try:
            result["converged"] = conv.wait(time.monotonic() + args.converge_timeout)
        except RuntimeError as e:  # reported in the table, and the next run goes on
            print(e, file=sys.stderr, flush=True)
            result["failed"] = "%d of %d routers not converged" % (
                len(conv.routers) - len(conv.complete), len(conv.routers))
        result["polls"] = conv.polls
        result["last_ready"] = max(conv.ready.values(), default=None)
        result["last_running"] = max(conv.running.values(), default=None)
        result["router_times"] = {r: (conv.running.get(r), conv.ready.get(r), conv.complete.get(r))
                                  for r in routers}
        # The routers' times are their own clock's: check it is the host's (to the exec's
        # latency).
        before_exec = time.time()
        guest = server.cli("exec", "r0", "--", "date +%s.%N", timeout=60).stdout
        try:
            result["clock_ok"] = before_exec - 0.5 <= float(guest) <= time.time() + 0.5
        except ValueError:
            result["clock_ok"] = None
        ping = server.cli("exec", "h0", "--timeout", "30s", "--", "ping -c 3 -W 2 10.200.3.2",
                          timeout=60)
        result["ping"] = ping.returncode == 0
    else:
        time.sleep(args.settle)  # not for correctness: lets the guests go idle before reading
    mem = vm_memory(server, routers)
    switchcore = switchcore or server.switchcore_pid()
    result["cpu_clownixd"] = cpu_seconds(server.pid) - cpu0[0]
    result["cpu_switchcore"] = (cpu_seconds(switchcore) - cpu0[1]) if switchcore else float("nan")
    result["elapsed"] = time.monotonic() - started
    result["rss_clownixd"] = status_kib(server.pid, "VmRSS") / 1024
    result["pss_clownixd"] = pss_kib([server.pid]) / 1024
    result["rss_switchcore"] = status_kib(switchcore, "VmRSS") / 1024 if switchcore else 0
    result["pss_switchcore"] = pss_kib([switchcore]) / 1024 if switchcore else 0
    result["mem"] = mem
    result["load_before"], result["load_after"] = before, load()
    result["other_vms"] = (others, other_vms(server.work_dir))
    with open("/proc/meminfo") as f:
        result["meminfo"] = {l.split(":")[0]: int(l.split()[1]) for l in f if "kB" in l}
    remove_all(server, work)
    return result


def mmm(values, fmt="%.1f"):
    values = [v for v in values if v is not None and v == v]
    if not values:
        return "-"
    return " / ".join(fmt % v for v in (min(values), statistics.median(values), max(values)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="25,50,100", help="router counts, comma-separated")
    parser.add_argument("--runs", type=int, default=2, help="runs per size and kind")
    parser.add_argument("--kinds", default="ospf,tiny", help="ospf, tiny, debian, comma-separated")
    parser.add_argument("--mem", type=int, default=96, help="mem_mib of each router")
    parser.add_argument("--hello", type=int, default=2, help="OSPF hello interval (s)")
    parser.add_argument("--dead", type=int, default=8, help="OSPF dead interval (s)")
    parser.add_argument("--frr-start", choices=sorted(FRR_START), default="service",
                        help="how each router starts FRR (see FRR_START)")
    parser.add_argument("--pollers", type=int, default=4, help="route checks at once")
    parser.add_argument("--poll-interval", type=float, default=5,
                        help="seconds between two checks of one router (>= 1); the time "
                        "reported is the router's own, not the check's")
    parser.add_argument("--settle", type=float, default=10, help="tiny: idle time before memory")
    parser.add_argument("--timeout", type=int, default=3600, help="apply --wait's (s)")
    parser.add_argument("--converge-timeout", type=int, default=600,
                        help="from every VM ready to every route in every router (s)")
    parser.add_argument("--clownixd-flag", action="append", default=[],
                        help="extra clownixd flag, e.g. --clownixd-flag=--max_booting_vms=6")
    parser.add_argument("--clownix", default=os.path.join(BIN, "clients", "cli", "clownix"))
    parser.add_argument("--clownixd", default=os.path.join(BIN, "server", "clownixd"))
    parser.add_argument("--out", help="also write the tables and raw results to FILE(.json)")
    args = parser.parse_args()

    def terminate(signum, frame):  # stop clownixd and its VMs on the way out (finally)
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)
    server = Server(args.clownixd, args.clownix, args.clownixd_flag)
    work = os.path.join(server.work_dir, "bench")
    os.makedirs(work)
    results = []  # (n, kind, run, result)
    rows = []
    try:
        for n in [int(s) for s in args.sizes.split(",")]:
            for run in range(1, args.runs + 1):
                for kind in args.kinds.split(","):
                    r = run_once(server, work, n, kind, args)
                    results.append((n, kind, run, r))
                    mem = r["mem"].values()
                    row = ("| %d | %s | %d | %s | %.1f | %s | %s | %s | %s | %s | %s | %.1f / %.1f | "
                           "%.0f / %.0f | %s | %s | %d, %d |" % ((
                               n, kind, run, "%s / %s" % tuple(
                                   "%.0f" % r[k] if r.get(k) else "-"
                                   for k in ("last_running", "last_ready")), r["ready"],
                               "%.1f" % r["converged"] if r["converged"] else r.get("failed", "-"),
                               mmm([m[0] for m in mem]), mmm([m[1] for m in mem]),
                               mmm([m[2] for m in mem]),
                               mmm([m[3] for m in mem if len(m) > 3]),
                               {True: "ok", False: "FAILED", None: "-"}[r["ping"]],
                               r["cpu_clownixd"], r["cpu_switchcore"],
                               r["pss_clownixd"], r["pss_switchcore"],
                               r["load_before"], r["load_after"]) + tuple(r["other_vms"])))
                    rows.append(row)
                    print(row, flush=True)
                    if args.out:
                        with open(args.out + ".json", "w") as f:
                            json.dump(results, f, indent=1)
    finally:
        server.stop()
    lines = [
        "| N | VMs | run | last router booted / its startup seen done (s) | all ready (s) "
        "| every route in every router (s) | memory.current "
        "per router (MiB) | memory.peak (MiB) | PSS (MiB) | CPU s per VM (since its start) | ping h0→h3 | CPU s clownixd / "
        "switchcore | PSS MiB clownixd / switchcore | load before | load after | other VMs on the "
        "host before, after |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"] + rows + [""]
    lines += ["| N | VMs | runs | all ready (s) | converged (s) | memory.current per VM (MiB, "
              "medians) | PSS per VM (MiB, medians) | CPU s clownixd / switchcore (medians) |",
              "|---|---|---|---|---|---|---|---|"]
    for n in sorted({r[0] for r in results}):
        for kind in args.kinds.split(","):
            rs = [r for (m, k, _, r) in results if m == n and k == kind]
            if not rs:
                continue
            lines.append("| %d | %s | %d | %s | %s | %s | %s | %.1f / %.1f |" % (
                n, kind, len(rs), mmm([r["ready"] for r in rs]),
                mmm([r["converged"] for r in rs]),
                mmm([statistics.median([m[0] for m in r["mem"].values()]) for r in rs if r["mem"]]),
                mmm([statistics.median([m[2] for m in r["mem"].values()]) for r in rs if r["mem"]]),
                statistics.median([r["cpu_clownixd"] for r in rs]),
                statistics.median([r["cpu_switchcore"] for r in rs])))
    print("\n".join(lines))
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
