"""Packet capture as a user runs it (issue 12): `clownix capture` against a real clownixd, its real
clownix-switchcore and real UML VMs, with Debian's tshark reading what it writes, live through a
pipe or from a file.

Two VMs a and b (tiny image) with eth1 on lan1, addressed 10.9.1.1 and 10.9.1.2; b also has eth2
on lan2. Every capture is a `clownix capture` process this test starts and ends (by its pid).
"""
import os
import signal
import subprocess
import time
import unittest

import system_test
from system_test import CLOWNIX, wait_for

TSHARK = "/usr/bin/tshark"
# frame.packet_flags_direction as tshark prints pcapng's epb_flags direction bits.
INBOUND, OUTBOUND = "0x00000001", "0x00000002"
# Fields tshark prints for each frame, in this order.
FIELDS = ["frame.interface_name", "frame.packet_flags_direction", "eth.src", "eth.dst",
          "eth.type", "arp.opcode", "ip.src", "ip.dst", "icmp.type"]


def tshark_frames(path_or_stdin, input_bytes=None):
    """The frames of a capture file as dicts of FIELDS; raises if tshark cannot read it."""
    argv = [TSHARK, "-n", "-r", path_or_stdin, "-T", "fields", "-E", "separator=|",
            "-E", "occurrence=f"]
    for field in FIELDS:
        argv += ["-e", field]
    result = subprocess.run(argv, input=input_bytes, capture_output=True, timeout=60)
    if result.returncode != 0:
        raise AssertionError("tshark could not read the capture: %s" %
                             result.stderr.decode(errors="replace"))
    frames = []
    for line in result.stdout.decode().splitlines():
        values = line.split("|")
        frames.append(dict(zip(FIELDS, values + [""] * (len(FIELDS) - len(values)))))
    return frames


def icmp(frames, kind):
    """ICMP echo requests (kind 8) or replies (kind 0) among `frames`."""
    return [f for f in frames if f["icmp.type"] == str(kind)]


class Capture:
    """One `clownix capture ...` process writing a capture file (or piping into tshark)."""

    def __init__(self, system, work_dir, *args, name="capture"):
        self.path = os.path.join(work_dir, name + ".pcapng")
        self.stderr_path = os.path.join(work_dir, name + ".stderr")
        self.stderr = open(self.stderr_path, "wb")
        self.process = subprocess.Popen(
            [CLOWNIX, "--server", system.address, "capture"] + list(args) + ["-w", self.path],
            stdout=subprocess.DEVNULL, stderr=self.stderr)
        # The file header is written as soon as the capture runs in the switch.
        wait_for(lambda: self.process.poll() is not None or
                 (os.path.exists(self.path) and os.path.getsize(self.path) > 0), 30,
                 "the capture to start")

    def frames(self):
        return tshark_frames(self.path)

    def wait(self, timeout=60):
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            self.stderr.close()
        return code

    def interrupt(self):
        """Ctrl-C, as a user ends a capture; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        return self.wait()

    def message(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if not self.stderr.closed:
            self.stderr.close()


class CaptureTest(system_test.SystemTestCase):
    def setUp(self):
        super().setUp()
        self.captures = []
        self.apply({
            "vms": [{"name": "a", "nic_count": 2}, {"name": "b", "nic_count": 3}],
            "lans": [{"name": "lan1"}, {"name": "lan2"}],
            "links": [{"endpoint": {"nic": {"vm": "a", "index": 1}}, "lan": "lan1"},
                      {"endpoint": {"nic": {"vm": "b", "index": 1}}, "lan": "lan1"},
                      {"endpoint": {"nic": {"vm": "b", "index": 2}}, "lan": "lan2"}]})
        self.system.wait_running(["a", "b"])
        self.configure("b", "ip addr add 10.9.1.2/24 dev eth1", "ip link set eth1 up")
        self.mac = {vm: self.guest_mac(vm, "eth1") for vm in ("a", "b")}

    def tearDown(self):
        for capture in self.captures:
            capture.kill()
        super().tearDown()

    def capture(self, *args, name="capture"):
        capture = Capture(self.system, self.work_dir, *args, name=name)
        self.captures.append(capture)
        return capture

    def guest_mac(self, vm, nic):
        result = self.system.exec(vm, "cat /sys/class/net/%s/address" % nic)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout.strip()

    def configure_a(self):
        self.configure("a", "ip addr add 10.9.1.1/24 dev eth1", "ip link set eth1 up")

    def ping(self, count=2):
        ok, result = system_test.ping_ok(self.system, "a", "10.9.1.2", count=count)
        self.assertTrue(ok, result.stdout + result.stderr)

    def test_a_ping_captured_live_through_a_pipe_decodes_as_echo_request_and_reply(self):
        self.configure_a()
        # Live: the CLI writes the file to stdout, tshark reads it from the pipe as it comes.
        raw = os.path.join(self.work_dir, "live.pcapng")
        decoded = os.path.join(self.work_dir, "live.txt")
        argv = " ".join([CLOWNIX, "--server", self.system.address, "capture", "a", "eth1",
                         "-f", "icmp", "-c", "4", "-w", "-"])
        fields = " ".join("-e " + f for f in FIELDS)
        pipeline = subprocess.Popen(
            ["/bin/sh", "-c", "%s | tee %s | %s -n -l -r - -T fields -E separator='|' "
             "-E occurrence=f %s > %s" % (argv, raw, TSHARK, fields, decoded)],
            stderr=subprocess.PIPE, start_new_session=True)
        try:
            wait_for(lambda: os.path.exists(raw) and os.path.getsize(raw) > 0, 30,
                     "the capture's header in the pipe")
            self.ping(count=2)
            # Two echo requests out of a's eth1 and two replies into it: -c 4 ends the capture.
            pipeline.wait(timeout=60)
        finally:
            if pipeline.poll() is None:
                os.killpg(pipeline.pid, signal.SIGKILL)
                pipeline.wait()
        errors = pipeline.stderr.read().decode()
        pipeline.stderr.close()
        self.assertEqual(pipeline.returncode, 0, errors)
        with open(decoded) as f:
            frames = [dict(zip(FIELDS, line.rstrip("\n").split("|"))) for line in f]
        self.assertEqual(len(frames), 4, frames)
        requests, replies = icmp(frames, 8), icmp(frames, 0)
        self.assertEqual(len(requests), 2, frames)
        self.assertEqual(len(replies), 2, frames)
        for f in requests:
            self.assertEqual((f["ip.src"], f["ip.dst"]), ("10.9.1.1", "10.9.1.2"))
            self.assertEqual((f["eth.src"], f["eth.dst"]), (self.mac["a"], self.mac["b"]))
            self.assertEqual(f["frame.packet_flags_direction"], INBOUND, "a sent it")
        for f in replies:
            self.assertEqual((f["ip.src"], f["ip.dst"]), ("10.9.1.2", "10.9.1.1"))
            self.assertEqual((f["eth.src"], f["eth.dst"]), (self.mac["b"], self.mac["a"]))
            self.assertEqual(f["frame.packet_flags_direction"], OUTBOUND, "sent to a")
        self.assertTrue(all(f["frame.interface_name"] == "a.eth1" for f in frames), frames)

    def test_filters_let_through_exactly_what_they_should(self):
        self.configure_a()
        # Filtered captures and one of everything, of the same port, at once.
        everything = self.capture("a", "eth1", name="everything")
        only_icmp = self.capture("a", "eth1", "-f", "icmp", name="icmp")
        not_arp = self.capture("a", "eth1", "-f", "not arp", name="not_arp")
        host_b = self.capture("a", "eth1", "-f", "host 10.9.1.2 and icmp", name="host_b")
        host_other = self.capture("a", "eth1", "-f", "host 10.9.1.77", name="host_other")
        self.ping(count=3)
        # Everything a sent and got: its ARP exchange and six ICMP frames.
        wait_for(lambda: len(icmp(everything.frames(), 8)) == 3 and
                 len(icmp(everything.frames(), 0)) == 3, 30, "the unfiltered capture")
        for capture in (everything, only_icmp, not_arp, host_b, host_other):
            self.assertEqual(capture.interrupt(), 0, capture.message())
        all_frames = everything.frames()
        arp = [f for f in all_frames if f["eth.type"] == "0x0806"]
        self.assertGreaterEqual(len(arp), 2, all_frames)  # at least one request and its reply
        self.assertEqual(len(only_icmp.frames()), 6)
        self.assertTrue(all(f["icmp.type"] in ("0", "8") for f in only_icmp.frames()))
        self.assertEqual(len(not_arp.frames()), len(all_frames) - len(arp))
        self.assertFalse([f for f in not_arp.frames() if f["eth.type"] == "0x0806"])
        self.assertEqual(len(host_b.frames()), 6)
        self.assertEqual(host_other.frames(), [])

    def test_a_lan_capture_shows_every_ports_frames_with_their_port(self):
        self.configure_a()
        lan = self.capture("lan1", name="lan1")
        self.ping(count=2)
        wait_for(lambda: len(icmp(lan.frames(), 0)) == 2, 30, "the replies in the LAN capture")
        self.assertEqual(lan.interrupt(), 0, lan.message())
        frames = lan.frames()
        # Each frame once, from the port that sent it.
        for f in icmp(frames, 8):
            self.assertEqual((f["frame.interface_name"], f["eth.src"]), ("a.eth1", self.mac["a"]))
        for f in icmp(frames, 0):
            self.assertEqual((f["frame.interface_name"], f["eth.src"]), ("b.eth1", self.mac["b"]))
        self.assertEqual(len(icmp(frames, 8)), 2, frames)
        self.assertEqual({f["frame.interface_name"] for f in frames}, {"a.eth1", "b.eth1"})

    def test_a_capture_started_before_the_vm_boots_shows_its_first_frames(self):
        self.system.must("halt", "a", timeout=120)
        wait_for(lambda: self.system.vms()["a"]["state"] != "VM_STATE_RUNNING", 60, "a halted")
        capture = self.capture("a", "eth1")
        self.system.must("start", "a")
        self.system.wait_running(["a"])
        # The tiny guest sends nothing on eth1 until it is up: its first frame is the ARP request
        # of the first ping.
        self.configure_a()
        self.ping(count=1)
        wait_for(lambda: icmp(capture.frames(), 0), 30, "the reply in the capture")
        self.assertEqual(capture.interrupt(), 0, capture.message())
        sent = [f for f in capture.frames() if f["frame.packet_flags_direction"] == INBOUND]
        self.assertTrue(sent, capture.frames())
        first = sent[0]
        self.assertEqual((first["eth.src"], first["eth.type"], first["arp.opcode"]),
                         (self.mac["a"], "0x0806", "1"), sent)

    def test_a_bad_filter_is_refused_with_libpcaps_message(self):
        result = self.system.cli("capture", "a", "eth1", "-f", "icmp and and", "-w",
                                 os.path.join(self.work_dir, "bad.pcapng"))
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("INVALID_ARGUMENT", result.stderr)
        self.assertIn("syntax error", result.stderr)  # libpcap's own words
        result = self.system.cli("capture", "nosuchvm", "eth1", "-w", "-")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("NOT_FOUND", result.stderr)
        self.assertIn("nosuchvm", result.stderr)

    def test_the_stream_ends_cleanly_when_the_vm_is_deleted(self):
        self.configure_a()
        capture = self.capture("a", "eth1")
        self.ping(count=1)
        wait_for(lambda: icmp(capture.frames(), 0), 30, "the reply in the capture")
        self.system.must("vm", "rm", "a", timeout=120)
        code = capture.wait(timeout=60)
        self.assertNotEqual(code, 0, "a capture whose port went away is not a success")
        self.assertRegex(capture.message(), r"(?i)port|deleted|went away")  # says why it ended
        # Ended, and the file is whole: tshark reads every frame.
        self.assertEqual(len(icmp(capture.frames(), 8)), 1)

    def test_a_switch_restart_ends_the_capture_and_a_new_one_works(self):
        self.configure_a()
        capture = self.capture("a", "eth1", name="before")
        self.ping(count=1)
        wait_for(lambda: icmp(capture.frames(), 0), 30, "the reply in the capture")
        switch = self.system.switch_pid()
        self.assertIsNotNone(switch)
        os.kill(switch, signal.SIGKILL)  # the switch this test's clownixd started
        self.assertNotEqual(capture.wait(timeout=60), 0)
        self.assertRegex(capture.message(), r"(?i)switch")
        self.assertEqual(len(icmp(capture.frames(), 8)), 1, "the frames before stay readable")
        # The restarted switch forwards again, and captures again.
        wait_for(lambda: system_test.ping_ok(self.system, "a", "10.9.1.2", count=1, wait=1)[0],
                 60, "traffic through the restarted switch")
        after = self.capture("a", "eth1", "-f", "icmp", "-c", "2", name="after")
        self.ping(count=1)
        self.assertEqual(after.wait(timeout=60), 0, after.message())
        self.assertEqual(len(after.frames()), 2)

    def test_limits_end_the_capture_by_count_and_by_duration(self):
        self.configure_a()
        started = time.monotonic()
        timed = self.capture("a", "eth1", "-d", "2", name="timed")
        self.assertEqual(timed.wait(timeout=30), 0, timed.message())
        self.assertGreaterEqual(time.monotonic() - started, 2)
        self.assertEqual(timed.frames(), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
