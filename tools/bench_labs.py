#!/usr/bin/python3
"""Benchmark of a 10-router OSPF lab (issue 16): the time from `clownix lab up` to every startup
finished and every OSPF adjacency Full, beside the time to boot the same 10 VMs with no startup.

    sudo python3 tools/bench_labs.py [--runs 3] [--routers 10] [--out FILE]

Needs root (like clownixd's tests: a network namespace for the admin tap), the debian image
(tools/setup.sh) and the binaries built: `bazel build //clients/cli:clownix //server:clownixd`.
It starts its own clownixd on a fresh work dir under /tmp, inside its own network namespace, and
stops it at the end. Each run alternates the two labs (generated under the work dir, in Kathará's
format):

  ospf   r0..r9 in a ring, one LAN per link, FRR's ospfd on every link (point-to-point, hello 2 s,
         dead 8 s), mem 96, each started by its r*.startup (`systemctl start frr`)
  boot   the same ten machines, NICs and memory, no startup and no files

and prints a Markdown table: min / median / max of each phase and the host's load (uptime) before
and after each run. The machines are polled with `clownix exec ... vtysh` at most once a second
each, only until they are Full with both ring neighbours.
"""
import argparse
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


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


class Server:
    """clownixd on a fresh work dir, with its admin tap in a network namespace of its own."""

    def __init__(self, clownixd, clownix):
        self.clownix = clownix
        self.work_dir = tempfile.mkdtemp(prefix="cnx-bench-labs.", dir="/tmp")
        self.netns = subprocess.Popen(["unshare", "-n", "sleep", "86400"])
        self.wait(lambda: os.readlink("/proc/%d/ns/net" % self.netns.pid) !=
                  os.readlink("/proc/self/ns/net"), 10, "the namespace")
        self.log = open(os.path.join(self.work_dir, "clownixd.log"), "ab")
        self.process = subprocess.Popen(
            ["nsenter", "-t", str(self.netns.pid), "-n", clownixd, "--work_dir", self.work_dir,
             "--ip_admin", "10.0.255.254", "--admin_tap", "cnxbench%d" % (os.getpid() % 1000)],
            stdout=self.log, stderr=self.log)
        self.wait(lambda: self.cli("topo").returncode == 0, 60, "clownixd to serve")

    @staticmethod
    def wait(predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.2)
        raise RuntimeError("timed out waiting for " + what)

    def cli(self, *args, timeout=900):
        return subprocess.run([self.clownix, "--server", "unix:%s/clownixd.sock" % self.work_dir]
                              + list(args), capture_output=True, text=True, timeout=timeout)

    def must(self, *args, timeout=900):
        result = self.cli(*args, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError("clownix %s: %s%s" % (" ".join(args), result.stdout, result.stderr))
        return result.stdout

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=120)
        self.netns.kill()
        self.netns.wait()
        self.log.close()
        shutil.rmtree(self.work_dir, ignore_errors=True)


def write_lab(path, routers, ospf):
    """The ring lab at `path`: with OSPF and startups, or bare (same machines, NICs, memory)."""
    os.makedirs(path)
    conf = ['LAB_DESCRIPTION="%d routers in a ring%s"' % (routers, ", OSPF" if ospf else "")]
    for i in range(routers):
        prev = (i - 1) % routers
        conf += ['r%d[0]="l%d"' % (i, i), 'r%d[1]="l%d"' % (i, prev),
                 'r%d[image]="kathara/frr"' % i, 'r%d[mem]="96"' % i]
        if not ospf:
            continue
        with open(os.path.join(path, "r%d.startup" % i), "w") as f:
            f.write("ip link set eth0 up\nip link set eth1 up\n"
                    "ip address add 10.10.%d.1/24 dev eth0\n"
                    "ip address add 10.10.%d.2/24 dev eth1\n"
                    "systemctl start frr\n" % (i, prev))
        frr = os.path.join(path, "r%d" % i, "etc", "frr")
        os.makedirs(frr)
        with open(os.path.join(frr, "daemons"), "w") as f:
            f.write('zebra=yes\nospfd=yes\nvtysh_enable=yes\n'
                    'zebra_options="  -A 127.0.0.1 -s 90000000"\n'
                    'ospfd_options="   -A 127.0.0.1"\nwatchfrr_options="-T 120"\n')
        with open(os.path.join(frr, "frr.conf"), "w") as f:
            f.write("frr defaults traditional\nhostname r%d\nlog file /var/log/frr/frr.log\n" % i)
            for eth in ("eth0", "eth1"):
                f.write("interface %s\n ip ospf network point-to-point\n"
                        " ip ospf hello-interval 2\n ip ospf dead-interval 8\n!\n" % eth)
            f.write("router ospf\n ospf router-id 10.10.255.%d\n network 10.10.0.0/16 area 0\n!\n"
                    % (i + 1))
    with open(os.path.join(path, "lab.conf"), "w") as f:
        f.write("\n".join(conf) + "\n")


def all_full(server, routers, deadline):
    """Returns when every router has both ring neighbours Full; raises past `deadline`."""
    pending = set("r%d" % i for i in range(routers))
    lock = threading.Lock()

    def poll(vm):
        while time.monotonic() < deadline:
            started = time.monotonic()
            out = server.cli("exec", vm, "--timeout", "30s", "--",
                             "vtysh -c 'show ip ospf neighbor'", timeout=60).stdout
            if out.count(" Full/") >= 2:
                with lock:
                    pending.discard(vm)
                return
            time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))

    threads = [threading.Thread(target=poll, args=(vm,)) for vm in sorted(pending)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if pending:
        raise RuntimeError("not Full by the deadline: " + " ".join(sorted(pending)))


def run_once(server, lab, routers, ospf):
    before = load()
    started = time.monotonic()
    server.must("lab", "up", lab, "--wait-timeout", "15m")
    up = time.monotonic() - started
    full = None
    if ospf:
        all_full(server, routers, started + 900)
        full = time.monotonic() - started
    after = load()
    server.must("lab", "down", lab)
    return up, full, before, after


def summary(values):
    return "%.1f / %.1f / %.1f" % (min(values), statistics.median(values), max(values))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--routers", type=int, default=10)
    parser.add_argument("--clownix", default=os.path.join(BIN, "clients", "cli", "clownix"))
    parser.add_argument("--clownixd", default=os.path.join(BIN, "server", "clownixd"))
    parser.add_argument("--out", help="also write the table to this file")
    args = parser.parse_args()

    server = Server(args.clownixd, args.clownix)
    rows = []
    ospf_up, ospf_full, boot_up = [], [], []
    try:
        labs = os.path.join(server.work_dir, "labs")
        write_lab(os.path.join(labs, "ospf"), args.routers, True)
        write_lab(os.path.join(labs, "boot"), args.routers, False)
        for run in range(1, args.runs + 1):
            for name in ("ospf", "boot"):
                up, full, before, after = run_once(server, os.path.join(labs, name),
                                                   args.routers, name == "ospf")
                if name == "ospf":
                    ospf_up.append(up)
                    ospf_full.append(full)
                else:
                    boot_up.append(up)
                row = "| %d | %s | %.1f | %s | %s | %s |" % (
                    run, name, up, "%.1f" % full if full else "-", before, after)
                rows.append(row)
                print(row, flush=True)
    finally:
        server.stop()
    lines = [
        "| run | lab | lab up returned (s) | all OSPF Full (s) | load before | load after |",
        "|---|---|---|---|---|---|"] + rows + [
        "",
        "| %d routers, min / median / max over %d runs | seconds |" % (args.routers, args.runs),
        "|---|---|",
        "| no startup: `lab up` to every VM running, startup done | %s |" % summary(boot_up),
        "| OSPF: `lab up` to every startup finished | %s |" % summary(ospf_up),
        "| OSPF: `lab up` to every adjacency Full | %s |" % summary(ospf_full)]
    print("\n".join(lines))
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
