"""A Kathará lab run unchanged (issue 16): `clownix lab up DIR` against a real clownixd and real
UML VMs on the debian image. The lab, written by the test in Kathará's format:

  h1 --A-- r1 --B-- r2 --C-- h2        A 10.1.1.0/24, B 10.1.2.0/24, C 10.1.3.0/24

r1 routes with FRR (its own /etc/frr/frr.conf, `systemctl start frr`); r2 is a Quagga-style
router (/etc/quagga/daemons and zebra.conf, `/etc/init.d/quagga start`) that clownix runs on FRR.
lab.dep makes the hosts wait for the routers. Checked: the waves, every startup, traffic end to end
through both routers, a MAC and an exec line from lab.conf, shared/ at /shared, `lab status`, a
refusal that creates nothing when a name belongs to something else, and `lab down`.
"""
import json
import os
import unittest

import system_test

LAB = {
    "lab.conf": """\
LAB_DESCRIPTION="two routers, two hosts"
LAB_AUTHOR="clownix tests"
r1[0]="A"
r1[1]="B"
r1[image]="kathara/frr"
r2[0]="B"
r2[1]="C"
r2[image]="kathara/quagga"
h1[0]="A/02:42:0a:01:01:02"
h1[exec]="echo exec line ran > /tmp/exec-ran"
h2[0]="C"
h2[env]="GATEWAY=10.1.3.1"
""",
    "lab.dep": "h1: r1 r2\nh2: r1 r2\n",
    "shared.startup": "echo shared startup of $(hostname) > /tmp/shared-ran\n",
    "shared/lab-note": "shared with every machine\n",
    "r1.startup": """\
ip addr add 10.1.1.1/24 dev eth0
ip addr add 10.1.2.1/24 dev eth1
systemctl start frr
""",
    "r1/etc/frr/frr.conf": """\
log file /var/log/frr/frr.log informational
ip route 10.1.3.0/24 10.1.2.2
""",
    "r2.startup": """\
ip addr add 10.1.2.2/24 dev eth0
ip addr add 10.1.3.1/24 dev eth1
/etc/init.d/quagga start
""",
    "r2/etc/quagga/daemons": "zebra=yes\n",
    "r2/etc/quagga/zebra.conf": """\
hostname r2
password zebra
ip route 10.1.1.0/24 10.1.2.1
""",
    "h1.startup": "ip addr add 10.1.1.2/24 dev eth0\nip link set eth0 up\n"
                  "ip route add default via 10.1.1.1\n",
    "h2.startup": "ip addr add 10.1.3.2/24 dev eth0\nip link set eth0 up\n"
                  "ip route add default via $GATEWAY\n",
}


class KatharaLabTest(system_test.SystemTestCase):
    def setUp(self):
        super().setUp()
        images = json.loads(self.system.must("image", "ls", "--json"))
        names = [image["name"] for image in images.get("images", [])]
        if "debian" not in names:
            self.fail("the debian image is not built (images here: %s): run bash tools/setup.sh"
                      % ", ".join(names))
        self.lab = os.path.join(self.work_dir, "twohops")
        for path, text in LAB.items():
            full = os.path.join(self.lab, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(text)

    def diagnostics(self):
        """Each machine's addresses, routes, FRR's routes and startup output."""
        text = ""
        for vm in ("h1", "r1", "r2", "h2"):
            shown = json.loads(self.system.must("vm", "show", vm, "--json"))
            probe = self.system.exec(
                vm, "ip -br addr; ip route; vtysh -c 'show ip route' 2>&1 | tail -8", timeout=60)
            text += "\n--- %s: %s\nstartup: %s\n%s" % (
                vm, probe.stdout + probe.stderr, json.dumps(shown.get("startup")),
                json.dumps(shown.get("nics")))
        return text

    def topology(self):
        return json.loads(self.system.must("topo", "--json"))

    def test_a_kathara_lab_comes_up_routes_end_to_end_and_goes_down(self):
        # A LAN the lab needs, not the lab's: refused, nothing created.
        self.system.must("lan", "add", "b")
        refused = self.system.cli("lab", "up", self.lab, timeout=60)
        self.assertEqual(refused.returncode, 1, refused.stdout + refused.stderr)
        self.assertIn('lan "b" (no lab)', refused.stderr)
        self.assertIn("nothing was created", refused.stderr)
        self.assertEqual([lan["name"] for lan in self.topology().get("lans", [])], ["b"])
        self.assertNotIn("vms", self.topology())
        self.system.must("lan", "rm", "b")

        up = self.system.cli("lab", "up", self.lab, "--wait-timeout", "8m", timeout=600)
        self.assertEqual(up.returncode, 0, up.stdout + up.stderr + self.system.log_text())
        self.assertIn("wave 1 of 2 (r1 r2)", up.stdout)
        self.assertIn("wave 2 of 2 (h1 h2)", up.stdout)
        for vm in ("r1", "r2", "h1", "h2"):
            self.assertRegex(up.stdout, r"\n%s\s+running\s+ready\s+0\s" % vm, up.stdout)
        # The Quagga lab's rewrite is said, with its line.
        self.assertIn('r2.startup:3: "/etc/init.d/quagga start" becomes', up.stderr)

        # End to end through both routers, by what the lab's files say.
        last = [None]

        def pings():
            ok, last[0] = system_test.ping_ok(self.system, "h1", "10.1.3.2")
            return ok

        try:
            system_test.wait_for(pings, 180, "h1 to reach h2 through r1 and r2")
        except AssertionError:
            raise AssertionError(last[0].stdout + self.diagnostics())
        self.assertIn("ttl=62", last[0].stdout)
        trace = self.system.exec("h2", "ping -c 2 -W 2 10.1.1.2")
        self.assertEqual(trace.returncode, 0, trace.stdout + trace.stderr)

        # lab.conf's MAC, exec line and env; shared.startup and shared/.
        self.assertIn("02:42:0a:01:01:02", self.system.exec("h1", "cat /sys/class/net/eth0/address")
                      .stdout)
        self.assertEqual(self.system.exec("h1", "cat /tmp/exec-ran").stdout, "exec line ran\n")
        self.assertEqual(self.system.exec("h2", "cat /tmp/shared-ran").stdout,
                         "shared startup of h2\n")
        self.assertEqual(self.system.exec("h2", "cat /shared/lab-note").stdout,
                         "shared with every machine\n")
        # Kathará's conventions: forwarding on, FRR's files owned by frr.
        self.assertEqual(self.system.exec("r1", "cat /proc/sys/net/ipv4/ip_forward").stdout, "1\n")
        self.assertEqual(self.system.exec("r1", "stat -c '%U %a' /etc/frr/frr.conf").stdout,
                         "frr 640\n")

        status = self.system.must("lab", "status", self.lab)
        self.assertIn("LAB_DESCRIPTION: two routers, two hosts", status)
        self.assertRegex(status, r"\nr1\s+running\s+done\s+debian\s+eth0:a eth1:b\n")

        down = self.system.cli("lab", "down", self.lab, timeout=300)
        self.assertEqual(down.returncode, 0, down.stdout + down.stderr)
        self.assertIn("deleted 4 VM(s), 0 tap(s), 3 LAN(s)", down.stdout)
        topology = self.topology()
        self.assertNotIn("vms", topology)
        self.assertNotIn("lans", topology)


if __name__ == "__main__":
    unittest.main()
