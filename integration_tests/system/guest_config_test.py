"""Machines configured by the topology file alone (issue 16): a YAML file with each VM's files,
sysctls, NIC addresses and startup script, applied with `clownix apply --wait` against a real
clownixd, its switch and real UML VMs (tiny image), then checked from inside the guests. No
`exec` is needed to make the network route.

r1 routes between lan1 (h1, 10.61.1.0/24) and lan2 (h2, 10.61.2.0/24).
"""
import json
import os
import unittest

import system_test

NETWORK = """\
# yaml-language-server: $schema=docs/topology.schema.json
vms:
  - name: r1
    nic_count: 3
    guest:
      sysctls: {net.ipv4.ip_forward: "1"}
      addresses:
        - {nic: 1, cidr: 10.61.1.1/24}
        - {nic: 2, cidr: 10.61.2.1/24}
      files:
        - path: /etc/motd
          text: |
            r1, configured by its topology file
        - {path: /usr/local/bin/hello, text: "#!/bin/sh\\necho hello from $(hostname)\\n", mode: "0755"}
      startup: |
        hello
        echo routing: $(cat /proc/sys/net/ipv4/ip_forward)
  - name: h1
    nic_count: 2
    guest:
      addresses: [{nic: 1, cidr: 10.61.1.2/24}]
      startup: ip route add default via 10.61.1.1
  - name: h2
    nic_count: 2
    guest:
      addresses: [{nic: 1, cidr: 10.61.2.2/24}]
      startup: ip route add default via 10.61.2.1
lans: [{name: lan1}, {name: lan2}]
links:
  - {endpoint: {nic: {vm: r1, index: 1}}, lan: lan1}
  - {endpoint: {nic: {vm: r1, index: 2}}, lan: lan2}
  - {endpoint: {nic: {vm: h1, index: 1}}, lan: lan1}
  - {endpoint: {nic: {vm: h2, index: 1}}, lan: lan2}
"""


class GuestConfigTest(system_test.SystemTestCase):
    def write(self, name, text):
        path = os.path.join(self.work_dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def vm(self, name):
        return json.loads(self.system.must("vm", "show", name, "--json"))

    def test_a_yaml_file_brings_up_a_routed_network_that_needs_no_exec(self):
        result = self.system.cli("apply", self.write("net.yaml", NETWORK), "--wait",
                                 timeout=300)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        for vm in ("r1", "h1", "h2"):
            self.assertRegex(result.stdout, r"\n%s\s+running\s+ready\s+0\n" % vm, result.stdout)
        r1 = self.vm("r1")
        self.assertEqual(r1["startup"]["state"], "STATE_DONE")
        self.assertEqual(r1["startup"]["output"], "hello from r1\nrouting: 1\n")
        self.assertEqual(self.system.exec("r1", "cat /etc/motd").stdout,
                         "r1, configured by its topology file\n")
        # Routed end to end by what the file says, through r1.
        ok, ping = system_test.ping_ok(self.system, "h1", "10.61.2.2")
        self.assertTrue(ok, ping.stdout + ping.stderr)
        self.assertIn("ttl=63", ping.stdout)

        # Every boot applies it again and reports again.
        self.system.must("reboot", "h1")
        again = self.system.cli("apply", self.write("net2.yaml", NETWORK), "--wait",
                                timeout=300)
        self.assertEqual(again.returncode, 0, again.stdout + again.stderr)
        ok, ping = system_test.ping_ok(self.system, "h1", "10.61.2.2")
        self.assertTrue(ok, ping.stdout + ping.stderr)

    def test_a_failed_startup_is_visible_and_apply_wait_says_so(self):
        path = self.write("bad.yaml", """\
vms:
  - name: b1
    guest:
      sysctls: {net.ipv4.no_such_knob: "1"}
      startup: |
        echo trying
        exit 4
""")
        result = self.system.cli("apply", path, "--wait", timeout=300)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertRegex(result.stdout, r"\nb1\s+running\s+startup failed\s+4\n")
        self.assertIn("clownix setup: sysctl net.ipv4.no_such_knob", result.stdout)
        self.assertIn("trying", result.stdout)
        self.assertIn("1 VM(s) not ready", result.stderr)
        b1 = self.vm("b1")
        self.assertEqual(b1["state"], "VM_STATE_RUNNING")
        self.assertEqual(b1["startup"]["state"], "STATE_FAILED")
        self.assertEqual(b1["startup"]["exitCode"], 4)

        # Fixed in the file: without --restart the plan says it waits for the next boot; with it,
        # the VM is restarted and its new startup succeeds.
        fixed = self.write("fixed.yaml", """\
vms:
  - name: b1
    guest:
      startup: echo fixed
""")
        planned = self.system.cli("apply", fixed, "--dry-run")
        self.assertIn("guest (at its next boot: restart it to apply now)", planned.stdout)
        result = self.system.cli("apply", fixed, "--restart", "--wait", timeout=300)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertRegex(result.stdout, r"RESTART\s+vm\s+b1\s+to apply its new guest config\s+ok")
        self.assertRegex(result.stdout, r"\nb1\s+running\s+ready\s+0\n")
        self.assertEqual(self.vm("b1")["startup"]["output"], "fixed\n")

    def test_a_bad_guest_config_names_the_file_line_and_field_and_creates_nothing(self):
        path = self.write("typo.yaml", """\
vms:
  - name: t1
    nic_count: 2
    guest:
      addresses: [{nic: 1, cidr: 10.61.9.1}]
""")
        result = self.system.cli("apply", path)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn('vm "t1": guest.addresses[0].cidr: "10.61.9.1" needs a prefix length',
                      result.stdout + result.stderr)
        self.assertEqual(self.system.vms(), {})

    def test_connect_returns_once_the_nic_exists_in_the_guest_with_its_addresses(self):
        self.write("c.yaml", """\
vms:
  - name: c1
    nic_count: 2
    guest:
      addresses: [{nic: 1, cidr: 10.61.5.1/24}, {nic: 1, cidr: 10.61.6.1/24}]
lans: [{name: lan5}]
""")
        self.system.must("apply", os.path.join(self.work_dir, "c.yaml"), "--wait")
        # Each time: connect, then at once a command that needs the NIC and its address.
        for attempt in range(5):
            self.system.must("connect", "c1", "1", "lan5")
            shown = self.system.exec("c1", "ip -4 addr show eth1")
            self.assertEqual(shown.returncode, 0, "attempt %d: %s" % (attempt, shown.stderr))
            self.assertIn("inet 10.61.5.1/24", shown.stdout, "attempt %d" % attempt)
            self.assertIn("inet 10.61.6.1/24", shown.stdout, "attempt %d" % attempt)
            self.system.must("disconnect", "c1", "1")
            gone = self.system.exec("c1", "test -e /sys/class/net/eth1")
            self.assertNotEqual(gone.returncode, 0, "attempt %d: eth1 still there" % attempt)


if __name__ == "__main__":
    unittest.main()
