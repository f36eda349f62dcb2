"""The whole system as a user runs it: clownixd with real UML VMs, the real clownix-switchcore,
the `clownix` CLI and real gRPC.

Every test brings up its own clownixd on a fresh work dir under /tmp, inside a network namespace
that the test makes (held by a child process, so it vanishes with it; Bazel's sandbox gives no
/run/netns for `ip netns add`): its switch, its taps (the admin tap with the host's admin
address, and the seed's num_tap taps) and its VMs all live there, and nothing is sent to any
address outside this machine. At the end of each test the server is stopped and the test checks
that nothing is left behind: no process of the work dir, no socket, no tap.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

RUNFILES = os.path.join(os.environ.get("TEST_SRCDIR", "."), "clownix")
CLOWNIXD = os.path.join(RUNFILES, "server", "clownixd")
CLOWNIX = os.path.join(RUNFILES, "clients", "cli", "clownix")
IP_ADMIN = "10.0.255.254"


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))


def tail(path, size):
    """The last `size` characters of a file, or why there are none."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - size))
            return f.read().decode(errors="replace")
    except OSError as e:
        return "(%s)" % e


def cmdlines_of(work_dir):
    """{pid: command line} of processes whose command line mentions the work dir."""
    found = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if work_dir.encode() in cmdline:
            found[int(pid)] = cmdline
    return found


def processes_of(work_dir):
    """Pids of processes of the work dir (VMs, switch, server)."""
    return list(cmdlines_of(work_dir))


class Netns:
    """A network namespace held by a sleeping child: gone when the child is."""

    def __init__(self):
        self.process = subprocess.Popen(["unshare", "-n", "sleep", "3600"])
        wait_for(lambda: os.readlink("/proc/%d/ns/net" % self.process.pid) !=
                 os.readlink("/proc/self/ns/net"), 10, "the namespace")
        self.pid = self.process.pid

    def run(self, *argv, timeout=60):
        return subprocess.run(["nsenter", "-t", str(self.pid), "-n"] + list(argv),
                              capture_output=True, text=True, timeout=timeout)

    def close(self):
        self.process.kill()
        self.process.wait()


class System:
    """clownixd on a work dir, with the admin network in a namespace; restartable."""

    def __init__(self, work_dir, netns, extra_args=()):
        self.work_dir = work_dir
        self.netns = netns
        self.extra_args = list(extra_args)
        self.address = "unix:%s/clownixd.sock" % work_dir
        self.log = open(os.path.join(work_dir, "clownixd.log"), "ab")
        self.process = None
        self.killed = False  # by kill9 or terminate, on purpose
        self.admin_tap = "cnx%d" % (os.getpid() % 100000)

    def start(self):
        # nsenter joins the namespace and execs clownixd: the pid stays the one we hold.
        self.process = subprocess.Popen(
            ["nsenter", "-t", str(self.netns.pid), "-n", CLOWNIXD, "--work_dir", self.work_dir,
             "--ip_admin", IP_ADMIN, "--admin_tap", self.admin_tap, "--num_tap", "1"] +
            self.extra_args,
            stdout=self.log, stderr=self.log)
        self.killed = False
        wait_for(lambda: self.process.poll() is not None or self.cli_ok("topo"), 60,
                 "clownixd to serve")
        if self.process.poll() is not None:
            raise AssertionError("clownixd exited: " + self.log_text())

    def log_text(self):
        return tail(os.path.join(self.work_dir, "clownixd.log"), 4000)

    def stop(self):
        """Ends clownixd; fails, with its log, if it had ended on its own (a crash, a sanitizer)."""
        try:
            if self.process and self.process.poll() is not None and not self.killed:
                raise AssertionError("clownixd had exited by itself (status %d): %s" % (
                    self.process.returncode, self.log_text()))
            if self.process and self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                self.process.wait(timeout=60)
        finally:
            self.log.close()

    def kill9(self):
        self.process.kill()
        self.process.wait()
        self.killed = True

    def terminate(self, timeout=60):
        """SIGTERM, as a test step: returns clownixd's exit status."""
        self.process.send_signal(signal.SIGTERM)
        self.killed = True
        return self.process.wait(timeout=timeout)

    def cli(self, *args, timeout=120):
        return subprocess.run([CLOWNIX, "--server", self.address] + list(args),
                              capture_output=True, text=True, timeout=timeout)

    def cli_ok(self, *args):
        return self.cli(*args).returncode == 0

    def must(self, *args, timeout=120):
        result = self.cli(*args, timeout=timeout)
        if result.returncode != 0:
            raise AssertionError("clownix %s failed (%d): %s%s" % (
                " ".join(args), result.returncode, result.stdout, result.stderr))
        return result.stdout

    def topology(self):
        return json.loads(self.must("topo", "--json"))

    def vms(self):
        return {vm["name"]: vm for vm in self.topology().get("vms", [])}

    def wait_running(self, names, timeout=120):
        def all_running():
            vms = self.vms()
            return all(vms.get(n, {}).get("state") == "VM_STATE_RUNNING" for n in names)
        try:
            wait_for(all_running, timeout, "VMs %s to run" % ",".join(names))
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, self.post_mortem(names))) from None

    def post_mortem(self, names):
        """The state of each VM of `names` not running, its logs' tails and clownixd.log's."""
        parts = []
        try:
            vms = self.vms()
        except (AssertionError, ValueError) as e:
            vms = {}
            parts.append("--- topo failed: %s" % e)
        for name in names:
            vm = vms.get(name, {})
            if vm.get("state") == "VM_STATE_RUNNING":
                continue
            parts.append("--- vm %s: %s (%s)" % (name, vm.get("state", "absent"),
                                                 vm.get("stateReason", "")))
            for log in ("uml.log", "console.log"):
                parts.append("--- %s of %s:\n%s" % (log, name, tail(
                    os.path.join(self.work_dir, "vms", name, log), 2000)))
        parts.append("--- clownixd.log:\n" + self.log_text())
        return "\n".join(parts)

    def links(self):
        out = {}
        for link in self.topology().get("links", []):
            endpoint = link["endpoint"]
            if "nic" in endpoint:
                key = "%s/eth%d" % (endpoint["nic"]["vm"], endpoint["nic"].get("index", 0))
            else:
                key = "tap:" + endpoint["tap"]
            out[key] = link
        return out

    def exec(self, vm, command, timeout=60):
        return self.cli("exec", vm, "--", command, timeout=timeout)

    def vm_pid(self, vm):
        with open(os.path.join(self.work_dir, "uml", vm, "pid")) as f:
            return int(f.read().strip())

    def switch_pid(self):
        for pid, cmdline in cmdlines_of(self.work_dir).items():
            if b"clownix-switchcore" in cmdline:
                return pid
        return None


def ping_ok(system, vm, address, count=3, wait=2):
    result = system.exec(vm, "ping -c %d -W %d %s" % (count, wait, address))
    return result.returncode == 0 and " 0% packet loss" in result.stdout, result


class SystemTestCase(unittest.TestCase):
    def server_args(self):
        """Extra clownixd flags of a test class."""
        return []

    def setUp(self):
        self.work_dir = tempfile.mkdtemp(prefix="cnx.", dir="/tmp")
        self.netns = Netns()
        self.system = System(self.work_dir, self.netns, self.server_args())
        self.system.start()

    def tearDown(self):
        try:
            self.system.stop()
            # Nothing left behind: no VM, switch or server process, no socket, no admin tap.
            wait_for(lambda: not processes_of(self.work_dir), 30,
                     "every process of the work dir to end")
            self.assertFalse(os.path.exists(os.path.join(self.work_dir, "clownixd.sock")))
            self.assertNotEqual(self.netns.run("ip", "link", "show", self.system.admin_tap)
                                .returncode, 0, "the admin tap outlived clownixd")
        finally:
            for pid in processes_of(self.work_dir):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
            self.netns.close()
            # clownixd's log goes with the test's outputs (bazel-testlogs/.../test.outputs).
            outputs = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR")
            if outputs:
                shutil.copyfile(os.path.join(self.work_dir, "clownixd.log"),
                                os.path.join(outputs, "clownixd.%s.log" % self.id().split(".")[-1]))
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def apply(self, network):
        path = os.path.join(self.work_dir, "topology.json")
        with open(path, "w") as f:
            json.dump(network, f)
        return self.system.must("apply", path, timeout=300)

    def configure(self, vm, *commands):
        result = self.system.exec(vm, "; ".join(commands))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def bring_up_demo(self):
        """The demo, configured by its own file (addresses, forwarding, routes): no exec."""
        self.system.must("apply", os.path.join(RUNFILES, "examples", "demo.json"), "--wait",
                         timeout=300)


class DemoNetworkTest(SystemTestCase):
    def test_vm1_pings_vm2_through_the_router_and_traceroute_shows_the_hop(self):
        self.bring_up_demo()
        ok, result = ping_ok(self.system, "vm1", "192.168.2.1")
        self.assertTrue(ok, result.stdout + result.stderr)
        self.assertIn("ttl=63", result.stdout)  # one router on the way
        trace = self.system.exec("vm1", "traceroute -n -w 2 192.168.2.1")
        hops = re.findall(r"^\s*(\d+)\s+(\S+)", trace.stdout, re.M)
        self.assertEqual([h[1] for h in hops], ["192.168.1.254", "192.168.2.1"], trace.stdout)
        # Links report what the switch saw, and the counters moved.
        links = wait_for(lambda: (lambda l: l if all(x.get("up") for x in l.values()) else None)(
            self.system.links()), 10, "all links up")
        self.assertEqual(len(links), 4)
        stats = json.loads(self.system.must("stats", "lan1", "--json"))
        rx = sum(int(p.get("rxFrames", 0)) for p in stats.get("ports", []))
        self.assertGreater(rx, 0, stats)

    def test_the_host_reaches_every_vm_on_the_admin_network_and_sshes_in(self):
        self.bring_up_demo()
        for vm, address in (("vm1", "10.0.0.1"), ("router", "10.0.0.2"), ("vm2", "10.0.0.3")):
            self.assertEqual(self.system.vms()[vm]["adminIp"], address)
            result = self.netns.run("busybox", "ping", "-c", "2", "-W", "2", address)
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        # ssh as root with the key clownixd generated (the guest's agent starts dropbear for the
        # connection), twice: the first connection also makes the guest's host key.
        for attempt in range(2):
            result = self.netns.run(
                "ssh", "-i", os.path.join(self.work_dir, "id_rsa"), "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=20", "root@10.0.0.3", "hostname")
            self.assertEqual((result.returncode, result.stdout), (0, "vm2\n"),
                             "ssh %d: %s" % (attempt, result.stderr))

    def test_the_admin_network_covers_only_the_admin_addresses(self):
        # X.Y.0.0/16, not the seed's /8: a 10.x lab address that no LAN of the VM holds is not
        # sent out of eth0 (where the host or another VM could answer it), it is unreachable.
        self.bring_up_demo()
        self.assertIn("inet 10.0.0.1/16", self.system.exec("vm1", "ip -4 addr show eth0").stdout)
        route = self.system.exec("vm1", "ip route get 10.5.0.2")
        self.assertNotEqual(route.returncode, 0, route.stdout)
        self.assertIn("unreachable", route.stderr.lower() + route.stdout.lower())
        self.assertFalse(ping_ok(self.system, "vm1", "10.5.0.2", count=1, wait=1)[0])

    def test_a_seed_tap_joins_a_lan_and_the_host_side_pings_a_vm(self):
        self.bring_up_demo()
        self.assertIn("tap0", [t["name"] for t in self.system.topology().get("taps", [])])
        self.system.must("connect", "tap:tap0", "lan1")
        wait_for(lambda: self.system.links().get("tap:tap0", {}).get("up"), 10, "tap0 up")
        for argv in (("ip", "addr", "add", "192.168.1.100/24", "dev", "tap0"),
                     ("ip", "link", "set", "tap0", "up")):
            result = self.netns.run(*argv)
            self.assertEqual(result.returncode, 0, result.stderr)
        result = self.netns.run("busybox", "ping", "-c", "2", "-W", "2", "192.168.1.1")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        stats = json.loads(self.system.must("stats", "lan1", "--json"))
        taps = [p for p in stats["ports"] if p.get("endpoint", {}).get("tap") == "tap0"]
        self.assertEqual(len(taps), 1, stats)
        self.assertGreaterEqual(int(taps[0].get("txFrames", 0)), 2)
        self.system.must("disconnect", "tap:tap0")
        self.assertNotIn("tap:tap0", self.system.links())

    def test_a_vm_killed_with_sigkill_is_crashed_and_its_links_go_down(self):
        self.bring_up_demo()
        pid = self.system.vm_pid("vm2")
        os.kill(pid, signal.SIGKILL)
        vm = wait_for(lambda: (lambda v: v if v["state"] == "VM_STATE_CRASHED" else None)(
            self.system.vms()["vm2"]), 30, "vm2 to be CRASHED")
        # clownixd saw the exit itself (it reaps the VM, so it knows the signal), not a failed
        # probe later on.
        self.assertIn("signal 9", vm.get("stateReason", ""))
        wait_for(lambda: not self.system.links()["vm2/eth1"].get("up"), 10, "vm2/eth1 down")
        # The whole process group is gone, helpers included.
        wait_for(lambda: not any(b"umid=vm2" in cmdline
                                 for cmdline in cmdlines_of(self.work_dir).values()), 10,
                 "vm2's processes to end")
        # And it boots again on request.
        self.system.must("start", "vm2")
        self.system.wait_running(["vm2"])

    def test_switchcore_killed_with_sigkill_comes_back_and_traffic_resumes(self):
        self.bring_up_demo()
        self.assertTrue(ping_ok(self.system, "vm1", "192.168.2.1")[0])
        old = self.system.switch_pid()
        self.assertIsNotNone(old)
        vm_pids = {vm: self.system.vm_pid(vm) for vm in ("vm1", "router", "vm2")}
        os.kill(old, signal.SIGKILL)
        wait_for(lambda: (self.system.switch_pid() or old) != old, 30, "a new switch")
        wait_for(lambda: ping_ok(self.system, "vm1", "192.168.2.1", count=1, wait=1)[0], 30,
                 "the ping to resume")
        # No VM was touched.
        self.assertEqual(vm_pids, {vm: self.system.vm_pid(vm) for vm in vm_pids})

    def test_clownixd_killed_with_sigkill_restarts_and_adopts_the_running_vms(self):
        self.bring_up_demo()
        vm_pids = {vm: self.system.vm_pid(vm) for vm in ("vm1", "router", "vm2")}
        revision = self.system.topology()["revision"]
        self.system.kill9()
        self.system.start()
        # Same VMs, same processes, nothing lost or duplicated.
        self.assertEqual(vm_pids, {vm: self.system.vm_pid(vm) for vm in vm_pids})
        self.assertGreaterEqual(int(self.system.topology()["revision"]), int(revision))
        self.system.wait_running(list(vm_pids))
        self.assertEqual(sorted(self.system.vms()), sorted(vm_pids))
        wait_for(lambda: ping_ok(self.system, "vm1", "192.168.2.1", count=1, wait=1)[0], 20,
                 "vm1 to reach vm2 again")
        result = self.netns.run("busybox", "ping", "-c", "1", "-W", "2", "10.0.0.3")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)


def rtt_ms(output):
    # busybox: "round-trip min/avg/max = 0.1/0.2/0.3 ms"; iputils: "rtt min/avg/max/mdev = ...".
    match = re.search(r"min/avg/max(?:/mdev)? = [\d.]+/([\d.]+)/", output)
    return float(match.group(1)) if match else None


class MachinesTest(SystemTestCase):
    """Two VMs a and b with three NICs each; eth1 of both on lan1."""

    def setUp(self):
        super().setUp()
        self.apply({
            "vms": [{"name": "a", "nic_count": 3}, {"name": "b", "nic_count": 3}],
            "lans": [{"name": "lan1"}, {"name": "lan2"}],
            "links": [{"endpoint": {"nic": {"vm": v, "index": 1}}, "lan": "lan1"}
                      for v in ("a", "b")]})
        self.system.wait_running(["a", "b"])
        self.configure("a", "ip addr add 10.9.1.1/24 dev eth1", "ip link set eth1 up")
        self.configure("b", "ip addr add 10.9.1.2/24 dev eth1", "ip link set eth1 up")

    def test_connect_hot_plugs_a_nic_into_a_running_vm_and_disconnect_unplugs_it(self):
        pids = {vm: self.system.vm_pid(vm) for vm in ("a", "b")}
        for vm in ("a", "b"):
            self.system.must("connect", vm, "eth2", "lan2")
        wait_for(lambda: all(self.system.links().get(k, {}).get("up")
                             for k in ("a/eth2", "b/eth2")), 30, "the new links up")
        self.configure("a", "ip addr add 10.9.2.1/24 dev eth2", "ip link set eth2 up")
        self.configure("b", "ip addr add 10.9.2.2/24 dev eth2", "ip link set eth2 up")
        ok, result = ping_ok(self.system, "a", "10.9.2.2")
        self.assertTrue(ok, result.stdout + result.stderr)
        self.assertEqual(pids, {vm: self.system.vm_pid(vm) for vm in pids}, "a VM was rebooted")
        self.system.must("disconnect", "a", "eth2")
        self.assertNotIn("a/eth2", self.system.links())
        wait_for(lambda: self.system.exec("a", "ip link show eth2").returncode != 0, 30,
                 "eth2 to leave vm a")
        self.assertFalse(ping_ok(self.system, "b", "10.9.2.1", count=1, wait=1)[0])

    def test_a_hot_plugged_nic_comes_back_after_a_reboot(self):
        self.system.must("connect", "a", "eth2", "lan2")
        self.system.must("connect", "b", "eth2", "lan2")
        wait_for(lambda: self.system.exec("a", "ip link show eth2").returncode == 0, 30,
                 "eth2 in vm a")
        reply = self.system.must("reboot", "a")
        self.assertIn("booting", reply)
        self.system.wait_running(["a"], timeout=60)
        # The kernel came back with its boot NICs; clownix plugs eth2 in again.
        wait_for(lambda: self.system.exec("a", "ip link show eth2").returncode == 0, 30,
                 "eth2 back in vm a after the reboot")
        self.configure("a", "ip addr add 10.9.2.1/24 dev eth2", "ip link set eth2 up")
        self.configure("b", "ip addr add 10.9.2.2/24 dev eth2", "ip link set eth2 up")
        ok, result = ping_ok(self.system, "a", "10.9.2.2")
        self.assertTrue(ok, result.stdout + result.stderr)

    def test_impairments_change_rtt_and_loss_as_configured(self):
        ok, result = ping_ok(self.system, "a", "10.9.1.2", count=5)
        self.assertTrue(ok, result.stdout)
        base = rtt_ms(result.stdout)
        self.system.must("impair", "a/eth1", "--delay", "40ms")
        self.assertEqual(self.system.links()["a/eth1"]["toLan"]["delayUs"], 40000)
        delayed = self.system.exec("a", "ping -c 5 -W 3 10.9.1.2")
        self.assertEqual(delayed.returncode, 0, delayed.stdout)
        # 40 ms each way on a's link: no round trip can be shorter than 80 ms (a floor: a busy
        # machine only adds time, so no upper bound and nothing relative to `base`).
        self.assertGreaterEqual(rtt_ms(delayed.stdout), 79, "base %s ms: %s" % (
            base, delayed.stdout))
        self.system.must("impair", "a/eth1", "--clear")
        self.system.must("impair", "a/eth1", "--loss", "100")
        lossy = self.system.exec("a", "ping -c 3 -W 1 10.9.1.2")
        self.assertIn("100% packet loss", lossy.stdout)
        self.system.must("impair", "a/eth1", "--clear")
        self.assertTrue(ping_ok(self.system, "a", "10.9.1.2")[0])

    def test_exec_returns_exit_codes_and_output_and_times_out(self):
        result = self.system.exec("a", "echo out; echo err >&2; exit 3")
        self.assertEqual(result.returncode, 3)
        self.assertIn("out", result.stdout)
        self.assertIn("err", result.stdout + result.stderr)
        slow = self.system.cli("exec", "a", "--timeout", "2s", "--", "sleep 30")
        self.assertNotEqual(slow.returncode, 0)
        self.assertIn("DEADLINE_EXCEEDED", slow.stderr)
        # The guest killed it: a new command runs at once.
        self.assertEqual(self.system.exec("a", "true", timeout=20).returncode, 0)

    def test_console_carries_input_and_output(self):
        marker = "console-check-%d" % os.getpid()
        result = subprocess.run(
            [CLOWNIX, "--server", self.system.address, "console", "a", "--linger", "3s"],
            input="\necho %s-$((6*7))\n" % marker, capture_output=True, text=True, timeout=60)
        self.assertIn("%s-42" % marker, result.stdout, result.stderr)

    def test_halt_start_and_reboot(self):
        pid = self.system.vm_pid("a")
        self.system.must("halt", "a")
        vm = self.system.vms()["a"]
        self.assertEqual(vm["state"], "VM_STATE_STOPPED")
        self.assertFalse(any(b"umid=a " in c for c in cmdlines_of(self.work_dir).values()))
        self.system.must("start", "a")
        self.system.wait_running(["a"])
        self.assertNotEqual(self.system.vm_pid("a"), pid)
        pid = self.system.vm_pid("a")
        self.system.must("reboot", "a")
        self.system.wait_running(["a"], timeout=60)
        self.assertEqual(self.system.vm_pid("a"), pid, "a reboot happens in place")
        self.assertEqual(self.system.exec("a", "true").returncode, 0)
        # clownixd's log tells the VM's life: halted, started again, rebooted in place.
        with open(os.path.join(self.work_dir, "clownixd.log"), errors="replace") as log:
            states = re.findall(r'vm "a": (VM_STATE_\w+)', log.read())
        changes = [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]
        self.assertEqual(changes[-5:], ["VM_STATE_STOPPED", "VM_STATE_BOOTING", "VM_STATE_RUNNING",
                                        "VM_STATE_BOOTING", "VM_STATE_RUNNING"], states)

    def test_sigterm_with_a_command_running_stops_everything_promptly(self):
        running = subprocess.Popen(
            [CLOWNIX, "--server", self.system.address, "exec", "a", "--timeout", "120s", "--",
             "touch /run/sigterm-test; sleep 100"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: self.system.exec("a", "test -e /run/sigterm-test").returncode == 0, 60,
                 "the command to run in the guest")
        self.assertEqual(self.system.terminate(), 0)
        _, err = running.communicate(timeout=30)
        # The command ended because its VM was stopped (clownixd stops the VMs first so that it
        # drains at once), not because its 120 s timeout ran out.
        self.assertNotEqual(running.returncode, 0)
        self.assertNotIn("DEADLINE_EXCEEDED", err)
        self.assertIn("UNAVAILABLE", err)
        self.assertRegex(err, r"vm a\b.*ended")
        wait_for(lambda: not processes_of(self.work_dir), 30, "every process to end")

    def test_bad_requests_are_refused_and_change_nothing(self):
        revision = int(self.system.topology()["revision"])
        for args, code in ((("vm", "add", "Bad Name"), "INVALID_ARGUMENT"),
                           (("vm", "add", "c", "--mem", "16"), "INVALID_ARGUMENT"),
                           (("vm", "add", "c", "--nics", "9"), "INVALID_ARGUMENT"),
                           (("vm", "add", "a"), "ALREADY_EXISTS"),
                           (("connect", "a", "eth1", "lan2"), "FAILED_PRECONDITION"),
                           (("connect", "a", "eth7", "lan2"), "NOT_FOUND"),
                           (("lan", "rm", "lan1"), "FAILED_PRECONDITION"),
                           (("exec", "nope", "--", "true"), "NOT_FOUND")):
            result = self.system.cli(*args)
            self.assertNotEqual(result.returncode, 0, args)
            self.assertIn(code, result.stderr, args)
        self.assertEqual(int(self.system.topology()["revision"]), revision)
        self.assertEqual(sorted(self.system.vms()), ["a", "b"])


class AdminNetworkTest(SystemTestCase):
    """clownixd --noadmin_default: "lab" (nothing said) has no admin network, "host" asks for it;
    eth1 of both on lan1."""

    def server_args(self):
        return ["--noadmin_default"]

    def links_of(self, vm):
        """Interface names in the guest, from `ip link`."""
        result = self.system.exec(vm, "ip link")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return set(re.findall(r"^\d+: ([^:@]+)[:@]", result.stdout, re.M))

    def check_lab_and_host(self):
        self.assertEqual(self.links_of("lab"), {"lo", "eth1"})
        self.assertEqual(self.links_of("host"), {"lo", "eth0", "eth1"})
        vms = self.system.vms()
        self.assertIs(vms["lab"].get("admin"), False, vms["lab"])
        self.assertNotIn("adminIp", vms["lab"])
        self.assertIs(vms["host"].get("admin"), True, vms["host"])
        self.assertEqual(vms["host"]["adminIp"], "10.0.0.2")
        # The host reaches "host" on the admin network; "lab" is not there, and cannot reach it.
        result = self.netns.run("busybox", "ping", "-c", "1", "-W", "2", "10.0.0.2")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertNotEqual(self.netns.run("busybox", "ping", "-c", "1", "-W", "1", "10.0.0.1")
                            .returncode, 0)
        self.assertFalse(ping_ok(self.system, "lab", "10.0.0.2", count=1, wait=1)[0])
        # eth1 keeps its number and its MAC, and carries the lab's traffic.
        lab_eth1 = self.system.exec("lab", "cat /sys/class/net/eth1/address").stdout.strip()
        self.assertEqual(lab_eth1, "02:00:00:01:00:01")
        self.assertTrue(ping_ok(self.system, "lab", "10.9.1.2")[0])

    def test_a_vm_without_the_admin_network_has_no_eth0_and_exec_console_eth1_still_work(self):
        self.apply({
            "vms": [{"name": "lab", "nic_count": 2},
                    {"name": "host", "nic_count": 2, "admin": True}],
            "lans": [{"name": "lan1"}],
            "links": [{"endpoint": {"nic": {"vm": v, "index": 1}}, "lan": "lan1"}
                      for v in ("lab", "host")]})
        self.system.wait_running(["lab", "host"])
        self.configure("lab", "ip addr add 10.9.1.1/24 dev eth1", "ip link set eth1 up")
        self.configure("host", "ip addr add 10.9.1.2/24 dev eth1", "ip link set eth1 up")
        self.check_lab_and_host()
        self.assertIn("none (no admin network", self.system.must("vm", "show", "lab"))
        # The guest booted without complaining about its missing eth0; its console works.
        with open(os.path.join(self.work_dir, "vms", "lab", "console.log"), "rb") as f:
            boot = f.read().decode(errors="replace")
        self.assertNotIn("eth0", boot)
        marker = "console-check-%d" % os.getpid()
        result = subprocess.run(
            [CLOWNIX, "--server", self.system.address, "console", "lab", "--linger", "3s"],
            input="\necho %s-$((6*7))\n" % marker, capture_output=True, text=True, timeout=60)
        self.assertIn("%s-42" % marker, result.stdout, result.stderr)

        # clownixd killed and restarted: both adopted as they are.
        vm_pids = {vm: self.system.vm_pid(vm) for vm in ("lab", "host")}
        self.system.kill9()
        self.system.start()
        self.assertEqual(vm_pids, {vm: self.system.vm_pid(vm) for vm in vm_pids})
        self.system.wait_running(list(vm_pids))
        self.check_lab_and_host()

        # The admin network changes only while the VM is down, and is there from its next boot.
        self.system.must("halt", "lab")
        self.apply({"vms": [{"name": "lab", "nic_count": 2, "admin": True}],
                    "lans": [{"name": "lan1"}],
                    "links": [{"endpoint": {"nic": {"vm": "lab", "index": 1}}, "lan": "lan1"}]})
        self.system.must("start", "lab")
        self.system.wait_running(["lab"])
        self.assertEqual(self.links_of("lab"), {"lo", "eth0", "eth1"})
        self.assertEqual(self.system.vms()["lab"]["adminIp"], "10.0.0.1")
        wait_for(lambda: self.netns.run("busybox", "ping", "-c", "1", "-W", "1", "10.0.0.1")
                 .returncode == 0, 30, "lab on the admin network")


class PartialFailureTest(SystemTestCase):
    """A bulk dir (the seed's --bulk_dir) whose kernel fails for one VM: the real linux.uml for
    every other, a kernel that exits at once for the VM named "broken"."""

    def server_args(self):
        self.bulk = tempfile.mkdtemp(prefix="cnx-bulk.", dir="/tmp")
        self.addCleanup(shutil.rmtree, self.bulk, True)
        with open(os.path.join(self.bulk, "linux"), "w") as f:
            f.write('#!/bin/sh\ncase " $* " in *" umid=broken "*) echo "no kernel for broken" >&2;'
                    ' exit 3;; esac\nexec /usr/bin/linux.uml "$@"\n')
        os.chmod(os.path.join(self.bulk, "linux"), 0o755)
        os.symlink(os.path.join(RUNFILES, "vmm", "rootfs", "rootfs.img"),
                   os.path.join(self.bulk, "rootfs.img"))
        return ["--bulk_dir", self.bulk]

    def test_one_vm_failing_to_boot_neither_blocks_nor_undoes_the_others(self):
        plan = self.apply({
            "vms": [{"name": n, "nic_count": 2} for n in ("good1", "broken", "good2")],
            "lans": [{"name": "lan1"}],
            "links": [{"endpoint": {"nic": {"vm": n, "index": 1}}, "lan": "lan1"}
                      for n in ("good1", "broken", "good2")]})
        self.assertIn("7 of 7", plan)
        self.system.wait_running(["good1", "good2"])
        broken = wait_for(lambda: (lambda v: v if v["state"] == "VM_STATE_CRASHED" else None)(
            self.system.vms()["broken"]), 30, "broken to be CRASHED")
        self.assertTrue(broken.get("stateReason"), broken)
        self.assertEqual(sorted(self.system.vms()), ["broken", "good1", "good2"])
        self.configure("good1", "ip addr add 10.9.1.1/24 dev eth1", "ip link set eth1 up")
        self.configure("good2", "ip addr add 10.9.1.2/24 dev eth1", "ip link set eth1 up")
        self.assertTrue(ping_ok(self.system, "good1", "10.9.1.2")[0])


class ScaleTest(SystemTestCase):
    def test_twenty_vms_on_five_lans_from_one_apply_all_ping_their_neighbours(self):
        network = {"vms": [], "lans": [], "links": []}
        for lan in range(5):
            network["lans"].append({"name": "lan%d" % lan})
            for k in range(4):
                name = "v%d-%d" % (lan, k)
                network["vms"].append({"name": name, "nic_count": 2, "mem_mib": 48})
                network["links"].append(
                    {"endpoint": {"nic": {"vm": name, "index": 1}}, "lan": "lan%d" % lan})
        plan = self.apply(network)
        self.assertIn("45 of 45", plan)
        names = [vm["name"] for vm in network["vms"]]
        self.system.wait_running(names, timeout=240)
        for lan in range(5):
            for k in range(4):
                self.configure("v%d-%d" % (lan, k),
                               "ip addr add 172.16.%d.%d/24 dev eth1" % (lan, k + 1),
                               "ip link set eth1 up")
        # Each VM pings the next one on its LAN, all at once.
        pings = []
        for lan in range(5):
            for k in range(4):
                target = "172.16.%d.%d" % (lan, (k + 1) % 4 + 1)
                pings.append(subprocess.Popen(
                    [CLOWNIX, "--server", self.system.address, "exec", "v%d-%d" % (lan, k), "--",
                     "ping -c 2 -W 3 " + target], stdout=subprocess.PIPE, text=True))
        failures = []
        for p in pings:
            out, _ = p.communicate(timeout=120)
            if p.returncode != 0:
                failures.append(out)
        self.assertEqual(failures, [])
        # LANs are isolated: v0-0 cannot reach v1-0's address (no router between them).
        self.assertFalse(ping_ok(self.system, "v0-0", "172.16.1.1", count=1, wait=1)[0])


if __name__ == "__main__":
    unittest.main(verbosity=2)
