"""From inside real guests, every way out we could think of, against the real clownixd,
clownix-switchcore and UML VMs (vmm/vm_confinement.h says what keeps each one shut): each attempt
fails, and the host, clownixd and the other VMs stay healthy meanwhile.

The whole-system harness (a clownixd per test on a work dir under /tmp, its network in a namespace
the test makes) is integration_tests/system/system_test.py's. Runs unsandboxed (BUILD): the VMs run
as users of their own, which bazel's sandbox (a user namespace mapping root alone) does not have.
"""
import glob
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.environ["TEST_SRCDIR"], "clownix", "integration_tests",
                                "system"))
import system_test  # noqa: E402  (the harness lives there)
from system_test import SystemTestCase, wait_for  # noqa: E402

VM_UID_BASE = 2100000000
NETWORK = {
    "lans": [{"name": "lana"}, {"name": "lanb"}],
    "vms": [
        {"name": "attacker", "nic_count": 2},
        {"name": "peer", "nic_count": 2},
        {"name": "b1", "nic_count": 2},
        {"name": "b2", "nic_count": 2},
    ],
    "links": [
        {"endpoint": {"nic": {"vm": "attacker", "index": 1}}, "lan": "lana"},
        {"endpoint": {"nic": {"vm": "peer", "index": 1}}, "lan": "lana"},
        {"endpoint": {"nic": {"vm": "b1", "index": 1}}, "lan": "lanb"},
        {"endpoint": {"nic": {"vm": "b2", "index": 1}}, "lan": "lanb"},
    ],
}
ADDRESSES = {"attacker": "192.168.10.1", "peer": "192.168.10.2", "b1": "192.168.20.1",
             "b2": "192.168.20.2"}


def proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


class GuestEscapeTest(SystemTestCase):
    def setUp(self):
        super().setUp()
        # The log says what the host let clownixd confine: everything, here.
        self.assertNotIn("less confined than they should be", self.system.log_text())
        self.apply(NETWORK)
        self.system.wait_running(list(ADDRESSES))
        for vm, address in ADDRESSES.items():
            self.configure(vm, "ip addr add %s/24 dev eth1" % address, "ip link set eth1 up")

    def guest(self, vm, command, timeout=60):
        """Runs `command` in `vm`; returns its output (the exit status is the caller's concern)."""
        result = self.system.exec(vm, command, timeout=timeout)
        return result.stdout + result.stderr

    def assert_healthy(self, skip=()):
        """The host forks, clownixd answers, and every VM but `skip` runs commands and its
        neighbour answers its ping."""
        subprocess.run(["true"], check=True, timeout=10)
        vms = self.system.vms()
        for vm in ADDRESSES:
            if vm in skip:
                continue
            self.assertEqual(vms[vm]["state"], "VM_STATE_RUNNING", vms[vm])
            self.assertIn("alive", self.guest(vm, "echo alive", timeout=30))
        ok, result = system_test.ping_ok(self.system, "b1", ADDRESSES["b2"])
        self.assertTrue(ok, result.stdout + result.stderr)

    def test_each_vm_is_a_user_of_its_own_without_capabilities(self):
        vms = self.system.vms()
        for vm in ADDRESSES:
            status = proc_status(self.system.vm_pid(vm))
            uid = str(VM_UID_BASE + int(vms[vm]["number"]))
            self.assertEqual(status["Uid"].split(), [uid] * 4, vm)
            self.assertEqual(status["Gid"].split(), [uid] * 4, vm)
            self.assertEqual(status["CapEff"], "0000000000000000", vm)
            self.assertEqual(status["NoNewPrivs"], "1", vm)
            self.assertEqual(status.get("Groups", "").split(), [], vm)

    def test_hostfs_reaches_nothing_of_the_host(self):
        secret = os.path.join(self.work_dir, "host-secret")
        with open(secret, "w") as f:
            f.write("host secret\n")
        os.chmod(secret, 0o644)  # Readable by any user: only the confinement stops a guest.
        hops = "/.." * 12
        for option in ["", "-o /", "-o /etc", "-o %s/etc" % hops, "-o %s/root" % hops,
                       "-o %s%s" % (hops, self.work_dir), "-o %s" % self.work_dir,
                       "-o %s/proc/1/root" % hops, "-o %s/dev" % hops]:
            with self.subTest(option=option):
                mounted = self.system.exec(
                    "attacker", "rm -rf /mnt/h; mkdir /mnt/h && mount -t hostfs none /mnt/h " +
                    option)
                listing = self.guest("attacker", "ls -a /mnt/h 2>/dev/null | grep -v '^\\.\\.*$'")
                self.assertEqual(listing.strip(), "", listing)
                taken = self.guest(
                    "attacker", "cat /mnt/h/passwd /mnt/h/shadow /mnt/h/host-secret "
                    "/mnt/h/clownixd.log /mnt/h/id_rsa 2>&1; echo x > /mnt/h/escaped; "
                    "mkdir /mnt/h/escaped-dir; ln -s / /mnt/h/escaped-link; true")
                if mounted.returncode == 0:
                    self.guest("attacker", "umount /mnt/h")
                for leaked in ["root:", "host secret", "PRIVATE KEY"]:
                    self.assertNotIn(leaked, taken)
        leftovers = [p for p in glob.glob("/tmp/escaped*") + glob.glob("/escaped*") +
                     glob.glob(os.path.join(self.work_dir, "escaped*"))]
        self.assertEqual(leftovers, [])
        self.assert_healthy()

    def test_a_fork_bomb_and_a_memory_hog_starve_nobody_else(self):
        # The fork bomb: every guest process is a host process under UML; its cgroup caps them.
        # At the lowest priority, so that the guest's agent still answers now and then.
        self.assertIn("lit", self.guest(
            "attacker", "sh -c 'renice -n 19 -p $$ >/dev/null; b() { b | b & }; b' </dev/null "
            ">/dev/null 2>&1 & echo lit"))
        # The memory hog: peer fills its tmpfs and its memory as far as it goes.
        self.guest("peer", "(mkdir -p /tmp/hog && mount -t tmpfs none /tmp/hog && "
                   "dd if=/dev/zero of=/tmp/hog/fill bs=1M count=512; "
                   "tail /dev/zero) >/dev/null 2>&1 & echo started")
        try:
            pids = self.cgroup_value("attacker", "pids", "pids.current")
            if pids is not None:
                pids_max = self.cgroup_value("attacker", "pids", "pids.max")
                seen = [0]

                def grown():
                    seen.append(self.cgroup_value("attacker", "pids", "pids.current"))
                    return seen[-1] >= min(pids_max, 150)
                try:
                    wait_for(grown, 90, "the fork bomb to grow")
                except AssertionError:
                    raise AssertionError("the fork bomb grew to %d host tasks at most" % max(seen))
                self.assertLessEqual(self.cgroup_value("attacker", "pids", "pids.current"),
                                     pids_max)
            # The others, clownixd and the host go on.
            self.assert_healthy(skip=("attacker", "peer"))
        finally:
            # The bombed VM may not answer any more: halt ends it from outside (poweroff, then
            # the kernel's halt, then SIGKILL), which always works.
            self.system.must("halt", "attacker", "--timeout", "4s")
        self.assert_healthy(skip=("attacker", "peer"))

    def cgroup_value(self, vm, controller, name):
        """An integer control file of `vm`'s cgroup (v1 layout), None where there is none."""
        pid = self.system.vm_pid(vm)
        with open("/proc/%d/cgroup" % pid) as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                if controller in controllers.split(","):
                    file = "/sys/fs/cgroup/%s%s/%s" % (controller, path, name)
                    if not os.path.exists(file):
                        return None
                    with open(file) as value:
                        text = value.read().strip()
                    return 1 << 62 if text == "max" else int(text)
        return None

    def test_a_broadcast_storm_on_one_lan_leaves_the_other_forwarding(self):
        before = self.lan_rx("lana")
        # Echo requests as fast as the guest can send them, every one an Ethernet broadcast
        # (the neighbour entry says so): the switch floods each to every port of lana.
        out = self.guest("attacker", "arp -i eth1 -s 192.168.10.77 ff:ff:ff:ff:ff:ff && for i in 1 2 3 4 5 6 7 8; do "
                         "ping -q -i 0.001 -s 1000 192.168.10.77 >/dev/null 2>&1 & done; "
                         "sleep 1; pidof ping")
        self.assertRegex(out, r"\d", "the flooders did not start: " + out)
        deadline = time.monotonic() + 60
        while self.lan_rx("lana") - before < 20000:
            self.assertLess(time.monotonic(), deadline, "the storm did not rage: %d frames" %
                            (self.lan_rx("lana") - before))
            time.sleep(0.5)
        for _ in range(5):
            ok, result = system_test.ping_ok(self.system, "b1", ADDRESSES["b2"], count=5)
            self.assertTrue(ok, result.stdout + result.stderr)
        self.assertGreater(self.lan_rx("lana") - before, 20000)
        self.assert_healthy(skip=("attacker",))

    def lan_rx(self, lan):
        stats = json.loads(self.system.must("stats", lan, "--json"))
        return sum(int(p.get("rxFrames", 0)) for p in stats.get("ports", []))


if __name__ == "__main__":
    unittest.main(verbosity=2)
