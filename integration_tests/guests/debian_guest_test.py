"""The `debian` image as lab users run it, against the real clownixd, clownix-switchcore and UML
VMs: FRR routing (OSPF, eBGP), IPv6, tcpdump, iperf3, kernel modules, the service shims.

Hosts run the `tiny` image beside Debian routers: one network, two images. The whole-system
harness (a clownixd per test on a work dir under /tmp, its network in a namespace the test makes)
is integration_tests/system/system_test.py's. The image must have been built by tools/setup.sh
(docs/images.md); without it every test fails saying so. Runs unsandboxed (BUILD), like the
system test: the VMs run as users of their own.
"""
import json
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.environ["TEST_SRCDIR"], "clownix", "integration_tests",
                                "system"))
from system_test import SystemTestCase, ping_ok, wait_for  # noqa: E402  (the harness)

# Fast OSPF timers (docs/debian-guest-facts.md): FRR's defaults take ~50 s to a route.
OSPF_INTERFACE = """interface {nic}
 ip ospf network point-to-point
 ip ospf hello-interval 1
 ip ospf dead-interval 3
 ip ospf retransmit-interval 1
"""
OSPF_ROUTER = """router ospf
 ospf router-id {router_id}
 timers throttle spf 0 50 500
 timers throttle lsa all 0
 timers lsa min-arrival 0
 network 172.16.0.0/16 area 0
 network 192.168.0.0/16 area 0
"""


def nic_link(vm, index, lan):
    return {"endpoint": {"nic": {"vm": vm, "index": index}}, "lan": lan}


def frr_config(name, body):
    return "frr defaults traditional\nhostname %s\nlog file /var/log/frr/frr.log\n!\n%s" % (
        name, body)


class DebianTestCase(SystemTestCase):
    def setUp(self):
        super().setUp()
        images = json.loads(self.system.must("image", "ls", "--json"))
        names = [image["name"] for image in images.get("images", [])]
        if "debian" not in names:
            self.fail("the debian image is not built (images here: %s): run bash tools/setup.sh"
                      % ", ".join(names))

    def slow(self, vm, command):
        """Runs a command that starts daemons: seconds on a quiet host, half a minute on a
        loaded one (FRR's start measured 34 s at load 12)."""
        result = self.system.cli("exec", vm, "--timeout", "180s", "--", command, timeout=240)
        self.assertEqual(result.returncode, 0, command + ": " + result.stdout + result.stderr)
        return result

    def configure(self, vm, *commands):
        # Each of Debian's programs costs a fork and exec in UML (12-14 ms quiet, far more on a
        # loaded host): more time than the harness's default 10 s.
        self.slow(vm, "; ".join(commands))

    def write_file(self, vm, path, text):
        # Through the agent, as a here-document with a quoted delimiter: nothing is expanded.
        self.configure(vm, "cat >%s <<'CLOWNIX_EOF'\n%sCLOWNIX_EOF" % (path, text))

    def start_frr(self, vm, daemons, config):
        """Turns `daemons` on in /etc/frr/daemons, writes frr.conf, starts FRR the way labs do."""
        self.configure(vm, *["sed -i 's/^%s=no/%s=yes/' /etc/frr/daemons" % (d, d)
                             for d in daemons])
        self.write_file(vm, "/etc/frr/frr.conf", frr_config(vm, config))
        self.slow(vm, "systemctl start frr")

    def vtysh(self, vm, command):
        result = self.system.exec(vm, "vtysh -c '%s'" % command)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return result.stdout


class OspfTriangleTest(DebianTestCase):
    """r1, r2, r3 in a triangle; h1 behind r1, h2 behind r3 (tiny hosts)."""

    def setUp(self):
        super().setUp()
        routers = [{"name": r, "image": "debian", "nic_count": 4} for r in ("r1", "r2", "r3")]
        hosts = [{"name": h, "nic_count": 2} for h in ("h1", "h2")]
        self.apply({
            "vms": routers + hosts,
            "lans": [{"name": n} for n in ("l12", "l23", "l13", "lh1", "lh2")],
            "links": [nic_link("r1", 1, "l12"), nic_link("r2", 1, "l12"),
                      nic_link("r2", 2, "l23"), nic_link("r3", 1, "l23"),
                      nic_link("r1", 2, "l13"), nic_link("r3", 2, "l13"),
                      nic_link("r1", 3, "lh1"), nic_link("h1", 1, "lh1"),
                      nic_link("r3", 3, "lh2"), nic_link("h2", 1, "lh2")]})
        self.system.wait_running(["r1", "r2", "r3", "h1", "h2"])
        addresses = {
            "r1": {"eth1": "172.16.12.1/24", "eth2": "172.16.13.1/24", "eth3": "192.168.1.254/24"},
            "r2": {"eth1": "172.16.12.2/24", "eth2": "172.16.23.2/24"},
            "r3": {"eth1": "172.16.23.3/24", "eth2": "172.16.13.3/24", "eth3": "192.168.3.254/24"},
        }
        for router, nics in addresses.items():
            commands = ["sysctl -qw net.ipv4.ip_forward=1"]
            for nic, address in nics.items():
                commands += ["ip addr add %s dev %s" % (address, nic), "ip link set %s up" % nic]
            self.configure(router, *commands)
            config = "".join(OSPF_INTERFACE.format(nic=nic) for nic in ("eth1", "eth2"))
            router_id = "%s.%s.%s.%s" % ((router[1],) * 4)
            self.start_frr(router, ["ospfd"], config + OSPF_ROUTER.format(router_id=router_id))
        self.configure("h1", "ip addr add 192.168.1.1/24 dev eth1", "ip link set eth1 up",
                       "ip route add default via 192.168.1.254")
        self.configure("h2", "ip addr add 192.168.3.1/24 dev eth1", "ip link set eth1 up",
                       "ip route add default via 192.168.3.254")

    def hops(self):
        trace = self.system.exec("h1", "traceroute -n -w 1 -q 1 192.168.3.1")
        return [h for h in re.findall(r"^\s*\d+\s+(\S+)", trace.stdout, re.M)]

    def test_routes_converge_and_a_cut_link_reroutes_over_the_third_router(self):
        started = time.monotonic()
        wait_for(lambda: "192.168.3.0/24" in self.vtysh("r1", "show ip route ospf"), 90,
                 "r1 to learn h2's LAN over OSPF")
        converged = time.monotonic() - started
        # The kernel has it too, from zebra.
        route = self.system.exec("r1", "ip route show 192.168.3.0/24").stdout
        self.assertIn("proto ospf", route)
        ok, result = ping_ok(self.system, "h1", "192.168.3.1")
        self.assertTrue(ok, result.stdout + result.stderr)
        self.assertEqual(self.hops(), ["192.168.1.254", "172.16.13.3", "192.168.3.1"])

        # Cut r1-r3: the way round goes through r2.
        self.system.must("disconnect", "r1", "eth2")
        cut = time.monotonic()
        wait_for(lambda: ping_ok(self.system, "h1", "192.168.3.1", count=1, wait=1)[0] and
                 self.hops() == ["192.168.1.254", "172.16.12.2", "172.16.23.3", "192.168.3.1"],
                 90, "h1 to reach h2 through r2")
        rerouted = time.monotonic() - cut
        print("\nOSPF: first convergence %.1f s after FRR start; reroute %.1f s after the cut"
              % (converged, rerouted), file=sys.stderr)
        # And back when the link returns: the NIC is plugged in again (a new eth2, as the cut
        # unplugged it), its address set, and OSPF takes it up from its interface configuration.
        self.system.must("connect", "r1", "eth2", "l13")
        wait_for(lambda: self.system.exec("r1", "ip link show eth2").returncode == 0, 30,
                 "eth2 back in r1")
        self.configure("r1", "ip addr add 172.16.13.1/24 dev eth2", "ip link set eth2 up")
        wait_for(lambda: self.hops() == ["192.168.1.254", "172.16.13.3", "192.168.3.1"], 90,
                 "the direct path back")


class BgpTest(DebianTestCase):
    def test_two_ases_establish_a_session_and_exchange_prefixes(self):
        self.apply({
            "vms": [{"name": r, "image": "debian", "nic_count": 2} for r in ("as1", "as2")],
            "lans": [{"name": "peering"}],
            "links": [nic_link("as1", 1, "peering"), nic_link("as2", 1, "peering")]})
        self.system.wait_running(["as1", "as2"])
        sides = {"as1": (65001, "172.16.0.1", "172.16.0.2", 65002, "198.51.100.1/24"),
                 "as2": (65002, "172.16.0.2", "172.16.0.1", 65001, "203.0.113.1/24")}
        for vm, (asn, mine, peer, peer_asn, prefix) in sides.items():
            # A prefix of its own on a dummy interface: the dummy module loads on demand.
            self.configure(vm, "ip addr add %s/24 dev eth1" % mine, "ip link set eth1 up",
                           "ip link add lan0 type dummy", "ip addr add %s dev lan0" % prefix,
                           "ip link set lan0 up")
            network = re.sub(r"\.1/24$", ".0/24", prefix)
            self.start_frr(vm, ["bgpd"], (
                "router bgp {asn}\n bgp router-id {mine}\n no bgp ebgp-requires-policy\n"
                " neighbor {peer} remote-as {peer_asn}\n neighbor {peer} timers connect 2\n"
                " address-family ipv4 unicast\n  network {network}\n exit-address-family\n"
            ).format(asn=asn, mine=mine, peer=peer, peer_asn=peer_asn, network=network))

        def established():
            summary = json.loads(self.vtysh("as1", "show bgp summary json"))
            peer = summary.get("ipv4Unicast", {}).get("peers", {}).get("172.16.0.2", {})
            return peer.get("state") == "Established" and peer.get("pfxRcd", 0) >= 1
        wait_for(established, 120, "the eBGP session with one prefix received")
        self.assertIn("BGP state = Established", self.vtysh("as2", "show bgp neighbors 172.16.0.1"))
        wait_for(lambda: "proto bgp" in self.system.exec(
            "as1", "ip route show 203.0.113.0/24").stdout, 30, "as1's kernel route to as2")
        wait_for(lambda: "proto bgp" in self.system.exec(
            "as2", "ip route show 198.51.100.0/24").stdout, 30, "as2's kernel route to as1")
        result = self.system.exec("as1", "ping -c 2 -W 2 -I 198.51.100.1 203.0.113.1")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("198.51.100.0/24", self.vtysh("as2", "show ip bgp"))


class Ipv6AndToolsTest(DebianTestCase):
    """a - r - b, all Debian: IPv6 across a router, tcpdump, iperf3, modules, services."""

    def setUp(self):
        super().setUp()
        self.apply({
            "vms": [{"name": n, "image": "debian", "nic_count": 3} for n in ("a", "r", "b")],
            "lans": [{"name": "la"}, {"name": "lb"}],
            "links": [nic_link("a", 1, "la"), nic_link("r", 1, "la"),
                      nic_link("r", 2, "lb"), nic_link("b", 1, "lb")]})
        self.system.wait_running(["a", "r", "b"])

    def setup_ipv6(self):
        self.configure("a", "ip link set eth1 up", "ip -6 addr add 2001:db8:1::1/64 dev eth1 nodad",
                       "ip -6 route add 2001:db8:2::/64 via 2001:db8:1::254")
        self.configure("r", "sysctl -qw net.ipv6.conf.all.forwarding=1", "ip link set eth1 up",
                       "ip link set eth2 up", "ip -6 addr add 2001:db8:1::254/64 dev eth1 nodad",
                       "ip -6 addr add 2001:db8:2::254/64 dev eth2 nodad")
        self.configure("b", "ip link set eth1 up", "ip -6 addr add 2001:db8:2::1/64 dev eth1 nodad",
                       "ip -6 route add 2001:db8:1::/64 via 2001:db8:2::254")

    def test_ipv6_addresses_and_ping6_across_a_router(self):
        self.setup_ipv6()
        # Every NIC has its link-local address, as on any Linux with IPv6.
        wait_for(lambda: "inet6 fe80::" in self.system.exec("a", "ip -6 addr show eth1").stdout,
                 30, "a link-local address on a's eth1")
        result = self.system.exec("a", "ping -6 -c 3 -W 2 2001:db8:2::1")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertRegex(result.stdout, r"(ttl|hlim)=63")  # one router on the way

    def test_tcpdump_in_a_guest_sees_a_ping(self):
        self.configure("a", "ip addr add 192.168.10.1/24 dev eth1", "ip link set eth1 up")
        self.configure("r", "ip addr add 192.168.10.254/24 dev eth1", "ip link set eth1 up")
        self.configure("r", "rm -f /tmp/cap; nohup tcpdump -n -l -i eth1 -c 2 icmp "
                       "</dev/null >/tmp/cap 2>/tmp/cap.err &")
        wait_for(lambda: "listening on eth1" in self.system.exec("r", "cat /tmp/cap.err").stdout,
                 30, "tcpdump to listen")
        ok, result = ping_ok(self.system, "a", "192.168.10.254", count=1)
        self.assertTrue(ok, result.stdout + result.stderr)
        wait_for(lambda: self.system.exec("r", "pgrep -x tcpdump").returncode != 0, 30,
                 "tcpdump to end after two packets")
        captured = self.system.exec("r", "cat /tmp/cap").stdout
        self.assertRegex(captured, r"192\.168\.10\.1 > 192\.168\.10\.254: ICMP echo request")
        self.assertRegex(captured, r"192\.168\.10\.254 > 192\.168\.10\.1: ICMP echo reply")

    def test_iperf3_between_two_guests(self):
        self.configure("a", "ip addr add 192.168.10.1/24 dev eth1", "ip link set eth1 up")
        self.configure("r", "ip addr add 192.168.10.254/24 dev eth1", "ip link set eth1 up")
        self.slow("r", "iperf3 -s -D")
        wait_for(lambda: ":5201 " in self.system.exec("r", "ss -ltn").stdout, 30,
                 "the iperf3 server to listen")
        result = self.slow("a", "iperf3 -c 192.168.10.254 -t 3 -J")
        received = json.loads(result.stdout)["end"]["sum_received"]
        self.assertGreater(received["bytes"], 0, received)
        print("\niperf3 a -> r through clownix-switchcore: %.0f Mbit/s"
              % (received["bits_per_second"] / 1e6), file=sys.stderr)

    def test_kernel_modules_load_on_demand(self):
        self.configure("a", "ip link add br0 type bridge", "ip link set eth1 master br0",
                       "ip link add link eth1 name eth1.10 type vlan id 10",
                       "ip link add vrf1 type vrf table 10", "ip link add d0 type dummy",
                       "ip link add v0 type veth peer name v1", "ip tuntap add tap9 mode tap",
                       "modprobe mpls_router", "iptables -t nat -A POSTROUTING -j MASQUERADE")
        modules = self.system.exec("a", "cat /proc/modules").stdout
        for module in ("bridge", "8021q", "vrf", "dummy", "veth", "tun", "mpls_router"):
            self.assertRegex(modules, r"(?m)^%s " % module)

    def test_services_start_with_systemctl_and_service_and_enabled_ones_come_back(self):
        self.slow("a", "service frr start")
        self.assertEqual(self.system.exec("a", "service frr status").returncode, 0)
        self.slow("a", "systemctl stop frr")
        self.assertNotEqual(self.system.exec("a", "systemctl is-active frr").returncode, 0)
        # Enabled: started at every boot.
        self.slow("a", "systemctl enable nginx")
        self.system.must("reboot", "a")
        self.system.wait_running(["a"], timeout=180)
        wait_for(lambda: self.system.exec("a", "curl -sf http://127.0.0.1/").returncode == 0, 120,
                 "nginx after the reboot")
        self.assertEqual(self.system.exec("a", "systemctl is-active nginx").returncode, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
