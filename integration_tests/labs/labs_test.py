"""The example labs (examples/labs/*), each brought up with `clownix lab up` against one real
clownixd with real UML VMs on the debian image, one lab after another: traffic must flow end to
end, then `clownix lab test` must find the running lab equal to its recorded signature
(_test/signature/, recorded from a real run), then `clownix lab down` removes it.

A failing `lab test` prints its unified diffs per machine in the failure message.
"""
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.environ.get("TEST_SRCDIR", "."), "clownix", "integration_tests",
                                "system"))
import system_test  # noqa: E402

LABS = os.path.join(system_test.RUNFILES, "examples", "labs")
# A lab's routing settles after its startups: how long traffic and `lab test` may wait for it.
CONVERGE_S = 120


class LabsTest(unittest.TestCase):
    """One clownixd for every lab: a lab's test brings it up and down again."""

    @classmethod
    def setUpClass(cls):
        cls.work_dir = tempfile.mkdtemp(prefix="cnx-labs.", dir="/tmp")
        cls.netns = system_test.Netns()
        cls.system = system_test.System(cls.work_dir, cls.netns)
        cls.system.start()
        images = cls.system.must("image", "ls")
        if "debian" not in images:
            raise AssertionError("the debian image is not built (bash tools/setup.sh): " + images)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.system.stop()
            system_test.wait_for(lambda: not system_test.processes_of(cls.work_dir), 30,
                                 "every process of the work dir to end")
        finally:
            for pid in system_test.processes_of(cls.work_dir):
                try:
                    os.killpg(pid, 9)
                except OSError:
                    pass
            cls.netns.close()
            shutil.rmtree(cls.work_dir, ignore_errors=True)

    def lab_dir(self, name):
        """A copy of examples/labs/NAME (runfiles are symlinks; the lab is read as a user's)."""
        path = os.path.join(self.work_dir, "labs", name)
        if not os.path.exists(path):
            shutil.copytree(os.path.join(LABS, name), path, symlinks=False)
        return path

    def exec_ok(self, vm, command, timeout=60):
        result = self.system.exec(vm, command, timeout=timeout)
        self.assertEqual(result.returncode, 0, "%s: %s failed: %s%s" % (
            vm, command, result.stdout, result.stderr))
        return result.stdout

    def wait_exec(self, vm, command, what, timeout=CONVERGE_S):
        """Runs `command` in `vm` until it succeeds (routing converging), or fails saying so."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.system.exec(vm, command)
            if result.returncode == 0:
                return result.stdout
            if time.monotonic() > deadline:
                self.fail("%s: %s within %ss: `%s` says: %s%s" % (
                    vm, what, timeout, command, result.stdout, result.stderr))
            time.sleep(1)

    def run_lab(self, name, check_traffic):
        """lab up, the lab's traffic check, lab test against the signature, lab down."""
        path = self.lab_dir(name)
        started = time.monotonic()
        up = self.system.cli("lab", "up", path, timeout=600)
        self.assertEqual(up.returncode, 0, "lab up %s: %s%s\n%s" % (
            name, up.stdout, up.stderr, self.system.log_text()))
        up_s = time.monotonic() - started
        try:
            check_traffic()
            tested = self.system.cli("lab", "test", path, "--timeout", "%ds" % CONVERGE_S,
                                     timeout=CONVERGE_S + 120)
            self.assertEqual(tested.returncode, 0, "lab test %s: the running lab differs from "
                             "its signature:\n%s%s" % (name, tested.stdout, tested.stderr))
            self.assertIn("match their recorded signatures", tested.stdout)
        finally:
            down = self.system.cli("lab", "down", path, timeout=300)
            self.assertEqual(down.returncode, 0, down.stdout + down.stderr)
        print("lab %s: up in %.1f s, checked and down after %.1f s" % (
            name, up_s, time.monotonic() - started), file=sys.stderr)
        self.assertEqual(self.system.vms(), {}, "lab down left VMs behind")

    def test_static(self):
        def traffic():
            out = self.wait_exec("h1", "ping -c 1 -W 2 10.1.2.10", "reach h2")
            self.assertIn("ttl=62", out)  # two routers on the way
        self.run_lab("static", traffic)

    def test_rip(self):
        def traffic():
            out = self.wait_exec("h1", "ping -c 1 -W 2 10.2.3.10", "reach h3 over RIP")
            self.assertIn("ttl=61", out)
        self.run_lab("rip", traffic)

    def test_ospf(self):
        def traffic():
            self.wait_exec("h1", "ping -c 1 -W 2 10.3.3.10", "reach h3 across two OSPF areas")
            self.assertIn("10.3.0.0/20", self.exec_ok("r3", "ip route show proto ospf"))
        self.run_lab("ospf", traffic)

    def test_bgp(self):
        def traffic():
            for address in ("192.168.2.1", "192.168.3.1"):
                self.wait_exec("r1", "ping -c 1 -W 2 -I 192.168.1.1 " + address,
                               "reach %s over eBGP" % address)
            # The direct link, not the two-AS path through r2.
            self.assertRegex(self.exec_ok("r1", "ip route show proto bgp"),
                             r"192\.168\.3\.0/24 .*via 10\.4\.13\.2 dev eth1")
        self.run_lab("bgp", traffic)

    def test_ipv6(self):
        def traffic():
            out = self.wait_exec("h1", "ping -6 -c 1 -W 2 2001:db8:2::10", "reach h2 over IPv6")
            self.assertIn("ttl=62", out)
            self.assertEqual(self.exec_ok("h1", "cat /sys/class/net/eth0/address").strip(),
                             "02:42:0a:05:01:10")
            self.assertIn("via fe80::42:aff:fe05:1202 dev eth1",
                          self.exec_ok("r1", "ip -6 route show 2001:db8:2::/64"))
        self.run_lab("ipv6", traffic)

    def test_shared(self):
        def traffic():
            out = self.wait_exec("h1", "curl -s --max-time 5 http://h2:8080/", "fetch h2's page")
            self.assertEqual(out, "hello from h2\n")
            self.assertEqual(self.exec_ok("r1", "cat /etc/lab/role"), "router\n")
            self.assertEqual(self.exec_ok("h2", "cat /etc/lab/role"), "host\n")
        self.run_lab("shared", traffic)

    def test_dep(self):
        def traffic():
            # Only there when the client's startup could fetch its configuration from the server.
            self.wait_exec("server", "ping -c 1 -W 2 10.7.9.1", "reach the client's address")
        self.run_lab("dep", traffic)

    def test_quagga(self):
        def traffic():
            self.wait_exec("h1", "ping -c 1 -W 2 10.8.2.10", "reach h2 through Quagga-style OSPF")
            self.assertIn("10.8.2.0/24", self.exec_ok("r1", "ip route show proto ospf"))
        self.run_lab("quagga", traffic)


if __name__ == "__main__":
    unittest.main(verbosity=2)
