"""The host's memory budget as a user meets it (issue 14): clownixd --vm_memory_budget_mib 600 with
real UML VMs, the real switch and the `clownix` CLI.

Eight tiny VMs of 128 MiB each cost 8 x 144 MiB (mem + 16 MiB for UML), about twice the budget:
the first four run, the other four stay DEFINED "waiting for memory", in the order they were
asked for; deleting two lets the next two boot; nothing is ever killed to make room; a VM larger
than the whole budget is refused (RESOURCE_EXHAUSTED). The control plane protects itself from the
OOM killer (clownixd and the switch at -500, VMs at +800), and a guest that eats its memory is
the one that suffers, never clownixd.
"""
import os
import unittest

import system_test
from system_test import wait_for

BUDGET = 600
MEM = 128
COST = MEM + 16
VMS = ["v%d" % i for i in range(1, 9)]


def oom_score_adj(pid):
    with open("/proc/%d/oom_score_adj" % pid) as f:
        return int(f.read())


def memory_cgroup(pid):
    """(directory, v2?) of the memory cgroup of process `pid`, or None."""
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if "memory" in controllers.split(","):
                return "/sys/fs/cgroup/memory" + path, False
            if controllers == "" and os.path.exists("/sys/fs/cgroup%s/memory.max" % path):
                return "/sys/fs/cgroup" + path, True
    return None


def has_cap_sys_resource(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) & (1 << 24))
    return False


class MemoryBudgetTest(system_test.SystemTestCase):
    def server_args(self):
        # Boots one at a time: the order in which VMs ask is the order in which they boot.
        return ["--vm_memory_budget_mib", str(BUDGET), "--max_booting_vms", "2"]

    def states(self):
        return {name: (vm.get("state"), vm.get("stateReason", ""))
                for name, vm in self.system.vms().items()}

    def wait_states(self, want, timeout=180):
        """Waits until each VM of `want` is in its state ("RUNNING", "DEFINED", ...)."""
        def reached():
            states = self.states()
            return all(states.get(n, ("",))[0] == "VM_STATE_" + s for n, s in want.items())
        try:
            wait_for(reached, timeout, "states %s" % want)
        except AssertionError as e:
            raise AssertionError("%s\n%s\n%s" % (e, self.states(),
                                                 self.system.post_mortem(list(want)))) from None

    def test_what_does_not_fit_waits_and_boots_when_room_appears(self):
        self.apply({"vms": [{"name": n, "memMib": MEM, "image": "tiny"} for n in VMS]})
        running, waiting = VMS[:4], VMS[4:]
        self.wait_states({**{n: "RUNNING" for n in running}, **{n: "DEFINED" for n in waiting}})
        states = self.states()
        free = BUDGET - 4 * COST
        self.assertEqual(states["v5"][1],
                         "waiting for memory: %d MiB needed, %d MiB free" % (COST, free))
        for n in VMS[5:]:
            self.assertEqual(states[n][1], "waiting for memory: %d MiB needed, %d MiB free; "
                             "queued behind vm \"v5\"" % (COST, free))
        # They really do not run: no process, no pid file.
        for n in waiting:
            self.assertFalse(os.path.exists(os.path.join(self.work_dir, "uml", n, "pid")), n)
        topo = self.system.must("topo")
        self.assertIn("vm memory: %d of %d MiB used (4 VMs, 16 MiB each for UML), %d free" %
                      (4 * COST, BUDGET, free), topo)
        self.assertIn("waiting for memory: v5, v6, v7, v8", topo)
        show = self.system.must("vm", "show", "v1")
        self.assertRegex(show, r"host mem:  %d MiB charged, \d+ MiB used \(peak \d+\)" % COST)

        pids = {n: self.system.vm_pid(n) for n in running}
        self.system.must("vm", "rm", "v1", "v2")
        self.wait_states({"v3": "RUNNING", "v4": "RUNNING", "v5": "RUNNING", "v6": "RUNNING",
                          "v7": "DEFINED", "v8": "DEFINED"})
        # Nothing was killed to make room: v3 and v4 are the same processes.
        for n in ("v3", "v4"):
            self.assertEqual(self.system.vm_pid(n), pids[n])
        self.assertEqual(self.states()["v7"][1],
                         "waiting for memory: %d MiB needed, %d MiB free" % (COST, free))

        # Halting one lets the next boot too; starting it again makes it wait at the back.
        self.system.must("halt", "v3")
        self.wait_states({"v3": "STOPPED", "v7": "RUNNING", "v8": "DEFINED"})
        self.system.must("start", "v3")
        self.wait_states({"v3": "DEFINED", "v8": "DEFINED"})
        self.assertIn("queued behind vm \"v8\"", self.states()["v3"][1])

    def test_a_vm_larger_than_the_whole_budget_is_refused(self):
        result = self.system.cli("vm", "add", "huge", "--mem", "1024")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("RESOURCE_EXHAUSTED", result.stdout + result.stderr)
        self.assertIn("budget is %d MiB" % BUDGET, result.stdout + result.stderr)
        self.assertNotIn("huge", self.system.vms())
        # From a topology file too, and nothing of the file is applied.
        path = os.path.join(self.work_dir, "huge.json")
        with open(path, "w") as f:
            system_test.json.dump({"vms": [{"name": "ok", "memMib": 64},
                                           {"name": "huge", "memMib": 1024}]}, f)
        result = self.system.cli("apply", path)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("RESOURCE_EXHAUSTED", result.stdout + result.stderr)
        self.assertNotIn("huge", self.system.vms())

    def test_the_control_plane_is_the_oom_killers_last_choice(self):
        self.system.must("vm", "add", "a", "--mem", "64")
        self.system.wait_running(["a"])
        # Lowering it needs CAP_SYS_RESOURCE; without it (some containers) clownixd stays at 0
        # and says so in its log: the VMs still go first.
        control = -500 if has_cap_sys_resource(self.system.process.pid) else 0
        self.assertEqual(oom_score_adj(self.system.process.pid), control)
        self.assertEqual(oom_score_adj(self.system.switch_pid()), control)
        self.assertEqual(oom_score_adj(self.system.vm_pid("a")), 800)
        if control == 0:
            self.assertIn("the kernel may kill clownixd or the switch before a VM",
                          self.system.log_text())
        # A guest that eats all its memory: its own kernel's OOM killer ends the eater; the VM,
        # clownixd and the switch live on.
        clownixd_pid, switch_pid = self.system.process.pid, self.system.switch_pid()
        result = self.system.exec(
            "a", "i=0; x=y; while [ $i -lt 40 ]; do x=$x$x$x$x; i=$((i+1)); done", timeout=120)
        self.assertNotEqual(result.returncode, 0, "the eater should have been killed")
        self.system.wait_running(["a"])
        self.assertEqual(self.system.exec("a", "echo alive").stdout.strip(), "alive")
        self.assertIsNone(self.system.process.poll())
        self.assertEqual(self.system.process.pid, clownixd_pid)
        self.assertEqual(self.system.switch_pid(), switch_pid)


    def test_a_vm_the_host_oom_killer_takes_is_crashed_with_that_reason(self):
        self.system.must("vm", "add", "eater", "--mem", "128")
        self.system.wait_running(["eater"])
        cgroup = memory_cgroup(self.system.vm_pid("eater"))
        if cgroup is None:
            self.skipTest("VMs have no memory cgroup on this host")
        directory, v2 = cgroup
        # The host short of memory, as the VM sees it: its cgroup's limit just above what it
        # holds, then a guest process that fills the guest's RAM.
        usage = os.path.join(directory, "memory.current" if v2 else "memory.usage_in_bytes")
        with open(usage) as f:
            used = int(f.read())
        with open(os.path.join(directory, "memory.max" if v2 else "memory.limit_in_bytes"),
                  "w") as f:
            f.write(str(used + (20 << 20)))
        self.system.exec("eater", "x=y; i=0; while [ $i -lt 40 ]; do x=$x$x$x$x; i=$((i+1)); "
                         "done", timeout=120)
        wait_for(lambda: self.system.vms()["eater"].get("state") == "VM_STATE_CRASHED", 60,
                 "the VM to be reported crashed")
        self.assertRegex(self.system.vms()["eater"].get("stateReason", ""),
                         r"^killed by the host's out-of-memory killer \(\d+ process(es)? of its "
                         r"cgroup\); killed by signal 9")
        self.assertIsNone(self.system.process.poll(), "clownixd survived")
        self.assertTrue(self.system.cli_ok("topo"))


if __name__ == "__main__":
    unittest.main()
