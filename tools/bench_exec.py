#!/usr/bin/env python3
"""What one `clownix exec VM -- true` costs the host: the guest agent's work per command.

Starts its own clownixd (tools/bench_scale.py's Server: a fresh work dir, the admin tap in a
network namespace of its own), boots one idle VM of each image in turn (no admin network), and
runs ROUNDS x 20 execs of `true` (or --command) one after another into it. Prints, per round,
the VM's host CPU per exec (utime+stime of its processes and of the guest processes its UML
reaped, from /proc) and the wall time per exec, with the VM's idle CPU and the load average for
scale; then each image's median against the last image's (the peer: tiny by default), measured
in the same run.

    bazel build -c opt //clients/cli:clownix //server:clownixd
    python3 tools/bench_exec.py [--rounds 3] [--images debian,tiny] [--command 'true']
"""
import argparse
import os
import signal
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_scale  # noqa: E402  (the Server and the /proc readers)

EXECS_PER_ROUND = 20


def startup_finished(server, name):
    """Whether `name` has booted and its (empty) startup has finished; raises if it failed."""
    _, startup = bench_scale.vm_states(server).get(name, ("", ""))
    if startup == "STATE_FAILED":
        raise RuntimeError(name + ": its startup failed: " + server.cli("vm", "show", name).stdout)
    return startup == "STATE_DONE"


def measure(server, image, rounds, command):
    """[(host CPU s, wall s) per exec] for each round."""
    name = "exec-" + image
    server.must("vm", "add", name, "--image", image, "--no-admin")
    bench_scale.Server.wait(lambda: startup_finished(server, name), 300, name + " to boot")
    root, _ = server.vm_cgroup_root()
    pids = [int(p) for p in bench_scale.read(os.path.join(root, name, "cgroup.procs")).split()]
    idle_start = bench_scale.group_cpu_seconds(pids)
    time.sleep(5)
    idle_ms_per_s = (bench_scale.group_cpu_seconds(pids) - idle_start) / 5 * 1000
    results = []
    for round_index in range(rounds):
        cpu_start, wall_start = bench_scale.group_cpu_seconds(pids), time.monotonic()
        for _ in range(EXECS_PER_ROUND):
            server.must("exec", name, "--", command)
        cpu = (bench_scale.group_cpu_seconds(pids) - cpu_start) / EXECS_PER_ROUND
        wall = (time.monotonic() - wall_start) / EXECS_PER_ROUND
        print("%-7s round %d: %6.1f ms host CPU per exec, %6.1f ms wall per exec "
              "(idle VM: %.1f ms CPU per s), load %s"
              % (image, round_index + 1, cpu * 1000, wall * 1000, idle_ms_per_s,
                 bench_scale.load()), flush=True)
        results.append((cpu, wall))
    server.must("vm", "rm", name)
    # Gone before the next image boots (or clownixd stops): its processes would share the CPU.
    group = os.path.join(root, name, "cgroup.procs")
    bench_scale.Server.wait(lambda: not bench_scale.read(group).strip(), 60, name + " to end")
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--images", default="debian,tiny")
    parser.add_argument("--command", default="true", help="the command each exec runs")
    parser.add_argument("--clownix", default=os.path.join(bench_scale.BIN, "clients", "cli",
                                                          "clownix"))
    parser.add_argument("--clownixd", default=os.path.join(bench_scale.BIN, "server", "clownixd"))
    args = parser.parse_args()

    def terminate(signum, _frame):  # end as on Ctrl-C: the VMs, clownixd and namespace go
        raise KeyboardInterrupt("signal %d" % signum)

    signal.signal(signal.SIGTERM, terminate)
    server = bench_scale.Server(args.clownixd, args.clownix, [])
    try:
        medians = {}
        for image in args.images.split(","):
            results = measure(server, image, args.rounds, args.command)
            medians[image] = (statistics.median(c for c, _ in results),
                              statistics.median(w for _, w in results))
        peer = args.images.split(",")[-1]
        for image, (cpu, wall) in medians.items():
            print("%-7s median: %6.1f ms host CPU (%.2fx %s), %6.1f ms wall (%.2fx %s) per exec"
                  % (image, cpu * 1000, cpu / medians[peer][0], peer, wall * 1000,
                     wall / medians[peer][1], peer))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
