"""Tests of `clownix capture`: the real clownix binary against an in-process Switch service that
streams a canned capture (clownixd's side has its own tests: server/capture_reactor_test). Covers
-w FILE, -w - (read by Debian's tshark when installed), a line per frame without -w, how the
target words become the request, exit codes and messages, and Ctrl-C."""

import concurrent.futures
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import threading
import unittest

import grpc

from clownix.v1 import resources_pb2
from clownix.v1 import switch_pb2
from clownix.v1 import switch_pb2_grpc
from clownix.v1 import topology_pb2
from clownix.v1 import topology_pb2_grpc

CLOWNIX = os.path.join(os.environ["TEST_SRCDIR"], "clownix", "clients", "cli", "clownix")
TSHARK = "/usr/bin/tshark"
DEADLINE = 20.0
TIME_NS = 1764900000123456789


def block(kind, body):
    return struct.pack("<II", kind, len(body) + 12) + body + struct.pack("<I", len(body) + 12)


def option(code, value):
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def shb():
    return block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(name):
    return block(1, struct.pack("<HHI", 1, 0, 65535) + option(2, name.encode()) +
                 option(9, b"\x09") + struct.pack("<I", 0))


def epb(interface, ts, frame, flags):
    return block(6, struct.pack("<IIIII", interface, ts >> 32, ts & 0xffffffff, len(frame),
                                len(frame)) + frame + b"\0" * (-len(frame) % 4) +
                 option(2, struct.pack("<I", flags)) + struct.pack("<I", 0))


def ping(src, dst):
    """An ICMP echo request from 10.9.1.src to 10.9.1.dst, seed MACs."""
    eth = bytes([2, 0, 0, dst, 0, 1, 2, 0, 0, src, 0, 1, 0x08, 0x00])
    ip = bytes([0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 1, 0, 0, 10, 9, 1, src, 10, 9, 1, dst])
    return eth + ip + bytes([8, 0, 0, 0, 0, 1, 0, 1]) + b"\0" * 18


class CannedSwitch(switch_pb2_grpc.SwitchServicer):
    """Capture: the header, two frames, then ends as `self.ending` says (or streams until the
    client cancels when it is "forever"). NOT_FOUND for vm "ghost"."""

    def __init__(self):
        self.requests = []
        self.ending = ("limit", None)
        self.cancelled = threading.Event()

    def Capture(self, request, context):
        self.requests.append(request)
        if request.WhichOneof("target") == "endpoint" and request.endpoint.nic.vm == "ghost":
            context.abort(grpc.StatusCode.NOT_FOUND, 'vm "ghost" does not exist')
        kind, _ = self.ending
        if kind == "forever":
            # Before the first frame: the client may have what it waits for and cancel before this
            # generator runs again. add_callback is False when the RPC has already ended.
            if not context.add_callback(self.cancelled.set):
                self.cancelled.set()
        yield switch_pb2.CaptureResponse(data=shb() + idb("a.eth1"))
        yield switch_pb2.CaptureResponse(
            data=epb(0, TIME_NS, ping(1, 2), 1) + epb(0, TIME_NS + 1000, ping(2, 1), 2),
            frames_written=2, frames_dropped=3)
        if kind == "forever":
            self.cancelled.wait(DEADLINE)
            return
        end = switch_pb2.CaptureEnd(reason=switch_pb2.CaptureEnd.FRAME_LIMIT,
                                    message="2 frames captured")
        if kind == "port down":
            end = switch_pb2.CaptureEnd(reason=switch_pb2.CaptureEnd.ENDPOINT_REMOVED,
                                        message='vm "a" was deleted')
        yield switch_pb2.CaptureResponse(frames_written=2, frames_dropped=3, end=end)
        if kind == "port down":
            context.abort(grpc.StatusCode.ABORTED, 'vm "a" was deleted')


class Lists(topology_pb2_grpc.TopologyServicer):
    def ListLans(self, request, context):
        return topology_pb2.ListLansResponse(lans=[resources_pb2.Lan(name="lan1")])

    def ListTaps(self, request, context):
        return topology_pb2.ListTapsResponse(taps=[resources_pb2.Tap(name="tap0")])


class CaptureVerbTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="clownix-cap-", dir="/tmp")
        self.addCleanup(shutil.rmtree, self.dir)
        self.switch = CannedSwitch()
        self.server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=8))
        switch_pb2_grpc.add_SwitchServicer_to_server(self.switch, self.server)
        topology_pb2_grpc.add_TopologyServicer_to_server(Lists(), self.server)
        self.address = "unix:" + os.path.join(self.dir, "s.sock")
        self.server.add_insecure_port(self.address)
        self.server.start()
        self.addCleanup(self.server.stop, None)
        self.file = (shb() + idb("a.eth1") + epb(0, TIME_NS, ping(1, 2), 1) +
                     epb(0, TIME_NS + 1000, ping(2, 1), 2))

    def run_cli(self, *args):
        return subprocess.run([CLOWNIX, "--server", self.address, "capture"] + list(args),
                              capture_output=True, timeout=DEADLINE)

    def test_writes_the_file_and_says_what_it_captured(self):
        path = os.path.join(self.dir, "a.pcapng")
        result = self.run_cli("a", "eth1", "-f", "icmp", "-c", "2", "-s", "128", "-d", "1.5",
                              "-w", path)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), self.file)
        self.assertEqual(result.stdout, b"")
        self.assertIn(b"2 frames captured, 3 lost by the switch (reader too slow)", result.stderr)
        self.assertIn(b"capture ended: 2 frames captured (FRAME_LIMIT)", result.stderr)
        request = self.switch.requests[-1]
        self.assertEqual((request.endpoint.nic.vm, request.endpoint.nic.index), ("a", 1))
        self.assertEqual((request.filter, request.max_frames, request.snaplen, request.duration_ms),
                         ("icmp", 2, 128, 1500))
        self.assertEqual(request.format, switch_pb2.CAPTURE_FORMAT_PCAPNG)

    def test_dash_writes_the_file_to_stdout(self):
        result = self.run_cli("a/eth1", "-w", "-", "--pcap")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, self.file)
        self.assertEqual(self.switch.requests[-1].format, switch_pb2.CAPTURE_FORMAT_PCAP)
        if os.access(TSHARK, os.X_OK):
            decoded = subprocess.run([TSHARK, "-n", "-r", "-", "-T", "fields", "-e",
                                      "frame.interface_name", "-e", "ip.src"],
                                     input=result.stdout, capture_output=True, timeout=DEADLINE)
            self.assertEqual(decoded.returncode, 0, decoded.stderr)
            self.assertEqual(decoded.stdout.decode().split(),
                             ["a.eth1", "10.9.1.1", "a.eth1", "10.9.1.2"])

    def test_without_w_a_line_per_frame(self):
        result = self.run_cli("a", "eth1")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.decode().splitlines()
        self.assertEqual(len(lines), 2, lines)
        self.assertRegex(lines[0], r"^\d\d:\d\d:\d\d\.123456789 a\.eth1 in  60 02:00:00:01:00:01 > "
                                   r"02:00:00:02:00:01 IPv4 10\.9\.1\.1 > 10\.9\.1\.2 ICMP echo")
        self.assertIn(" a.eth1 out 60 02:00:00:02:00:01 > 02:00:00:01:00:01 ", lines[1])

    def test_one_word_is_a_lan_or_a_tap(self):
        self.assertEqual(self.run_cli("lan1").returncode, 0)
        self.assertEqual(self.switch.requests[-1].lan, "lan1")
        self.assertEqual(self.run_cli("tap0").returncode, 0)
        self.assertEqual(self.switch.requests[-1].endpoint.tap, "tap0")
        self.assertEqual(self.run_cli("tap:tap0").returncode, 0)
        self.assertEqual(self.switch.requests[-1].endpoint.tap, "tap0")
        self.run_cli("lan9")
        self.assertEqual(self.switch.requests[-1].lan, "lan9")  # the server says it is unknown

    def test_an_error_exits_1_with_the_reason(self):
        self.switch.ending = ("port down", None)
        path = os.path.join(self.dir, "gone.pcapng")
        result = self.run_cli("a", "eth1", "-w", path)
        self.assertEqual(result.returncode, 1)
        self.assertIn(b'capture ended: vm "a" was deleted (ENDPOINT_REMOVED)', result.stderr)
        self.assertIn(b'clownix: vm "a" was deleted (ABORTED)', result.stderr)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), self.file)
        missing = self.run_cli("ghost", "eth1", "-w", os.path.join(self.dir, "ghost.pcapng"))
        self.assertEqual(missing.returncode, 1)
        self.assertIn(b'vm "ghost" does not exist (NOT_FOUND)', missing.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "ghost.pcapng")))
        usage = self.run_cli("a", "eth1", "-c", "many")
        self.assertEqual(usage.returncode, 2)

    def test_ctrl_c_ends_it_with_status_0(self):
        self.switch.ending = ("forever", None)
        path = os.path.join(self.dir, "live.pcapng")
        process = subprocess.Popen([CLOWNIX, "--server", self.address, "capture", "lan1", "-w",
                                    path], stderr=subprocess.PIPE)
        try:
            # Both chunks are in the file as soon as they come.
            deadline = threading.Event()
            for _ in range(int(DEADLINE * 100)):
                if os.path.exists(path) and os.path.getsize(path) == len(self.file):
                    break
                deadline.wait(0.01)
            self.assertEqual(os.path.getsize(path), len(self.file))
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=DEADLINE)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        self.assertEqual(process.returncode, 0, stderr)
        self.assertIn(b"2 frames captured, 3 lost", stderr)
        self.assertIn(b"capture ended: interrupted", stderr)
        self.assertTrue(self.switch.cancelled.wait(DEADLINE))


if __name__ == "__main__":
    unittest.main(verbosity=2)
