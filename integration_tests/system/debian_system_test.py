"""The whole-system tests that make sense for every image (system_test.py), on the `debian` image:
the demo network and the admin network, hot-plug, reboot, exec, console, power, adoption after a
clownixd restart, a switch restart. Every VM of these tests boots `debian` (built by
tools/setup.sh, docs/images.md); system_test.py runs the same tests on `tiny`.
"""
import copy
import json
import unittest

import system_test


class OnDebian:
    """Mixed in before a test class of system_test.py: its VMs boot the debian image."""

    def setUp(self):
        super().setUp()
        images = json.loads(self.system.must("image", "ls", "--json"))
        names = [image["name"] for image in images.get("images", [])]
        if "debian" not in names:
            self.fail("the debian image is not built (images here: %s): run bash tools/setup.sh"
                      % ", ".join(names))

    def apply(self, network):
        network = copy.deepcopy(network)
        for vm in network.get("vms", []):
            vm.setdefault("image", "debian")
        return super().apply(network)


class DebianDemoNetworkTest(OnDebian, system_test.DemoNetworkTest):
    pass


class DebianMachinesTest(OnDebian, system_test.MachinesTest):
    pass


class DebianAdminNetworkTest(OnDebian, system_test.AdminNetworkTest):
    pass


if __name__ == "__main__":
    unittest.main(verbosity=2)
