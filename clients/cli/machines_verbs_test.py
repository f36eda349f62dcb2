"""Tests of `clownix exec`, `console`, the power verbs and `stats`: the real clownix binary
against in-process Machines and Switch services (a test double for the VM runtime, which clownixd may not have
here). Covers exit-code propagation, raw-mode console on a pseudo-terminal with the Ctrl-]
escape and terminal restore, and the piped console."""

import concurrent.futures
import fcntl
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
import unittest

import grpc

from clownix.v1 import machines_pb2
from clownix.v1 import machines_pb2_grpc
from clownix.v1 import resources_pb2
from clownix.v1 import switch_pb2
from clownix.v1 import switch_pb2_grpc

CLOWNIX = os.path.join(os.environ["TEST_SRCDIR"], "clownix", "clients", "cli", "clownix")
DEADLINE = 20.0


class EchoMachines(machines_pb2_grpc.MachinesServicer):
    """Exec: runs nothing, answers from the command text. Console: greets, then echoes input
    upper-cased, and records everything it received."""

    def __init__(self):
        self.console_vm = None
        self.console_input = b""
        self.console_sizes = []  # (rows, columns) of each request that carried a window size
        self.console_done = threading.Event()
        self.exec_requests = []

    def Exec(self, request, context):
        self.exec_requests.append(request)
        if request.vm != "vm1":
            context.abort(grpc.StatusCode.NOT_FOUND, 'vm "%s" does not exist' % request.vm)
        code = int(request.command.split()[-1]) if request.command.startswith("exit") else 0
        return machines_pb2.ExecResponse(exit_code=code,
                                         output=("ran: %s\n" % request.command).encode())

    def Console(self, request_iterator, context):
        first = next(request_iterator)
        self.console_vm = first.vm
        if first.HasField("window_size"):
            self.console_sizes.append((first.window_size.rows, first.window_size.columns))
        yield machines_pb2.ConsoleResponse(output=b"login: ")
        try:
            for request in request_iterator:
                if request.HasField("window_size"):
                    self.console_sizes.append(
                        (request.window_size.rows, request.window_size.columns))
                self.console_input += request.input
                yield machines_pb2.ConsoleResponse(output=request.input.upper())
        finally:
            self.console_done.set()

    def Halt(self, request, context):
        return machines_pb2.VmResponse(
            vm=resources_pb2.Vm(name=request.vm, state=resources_pb2.VM_STATE_STOPPING),
            revision=7)


class FixedSwitch(switch_pb2_grpc.SwitchServicer):
    def GetLanStats(self, request, context):
        if request.lan != "lan1":
            context.abort(grpc.StatusCode.NOT_FOUND, 'lan "%s" does not exist' % request.lan)
        nic = resources_pb2.Endpoint(nic=resources_pb2.NicRef(vm="vm1", index=1))
        return switch_pb2.LanStats(lan="lan1", ports=[
            switch_pb2.PortStats(endpoint=nic, mac="02:00:00:01:00:01", up=True, rx_frames=10,
                                 rx_bytes=1500, tx_frames=12, tx_bytes=1800,
                                 drops_queue_full=2, drops_impairment=1),
            switch_pb2.PortStats(endpoint=resources_pb2.Endpoint(tap="t0")),
        ])


class MachinesVerbsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="clownix-mv-", dir="/tmp")
        self.addCleanup(shutil.rmtree, self.dir)
        self.service = EchoMachines()
        self.server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=8))
        machines_pb2_grpc.add_MachinesServicer_to_server(self.service, self.server)
        switch_pb2_grpc.add_SwitchServicer_to_server(FixedSwitch(), self.server)
        self.address = "unix:" + os.path.join(self.dir, "m.sock")
        self.server.add_insecure_port(self.address)
        self.server.start()
        self.addCleanup(self.server.stop, None)

    def run_cli(self, *args, stdin=None):
        return subprocess.run([CLOWNIX, "--server", self.address] + list(args),
                              capture_output=True, input=stdin, timeout=DEADLINE)

    def test_exec_exits_with_the_remote_code_and_prints_output(self):
        result = self.run_cli("exec", "vm1", "--timeout", "5s", "--", "exit", "3")
        self.assertEqual(result.returncode, 3)
        self.assertEqual(result.stdout, b"ran: exit 3\n")
        request = self.service.exec_requests[-1]
        self.assertEqual(request.command, "exit 3")
        self.assertEqual(request.timeout_ms, 5000)
        ok = self.run_cli("exec", "vm1", "--", "ls", "-l", "/")
        self.assertEqual(ok.returncode, 0)
        self.assertEqual(self.service.exec_requests[-1].command, "ls -l /")
        missing = self.run_cli("exec", "ghost", "--", "true")
        self.assertEqual(missing.returncode, 255)
        self.assertIn(b'vm "ghost" does not exist (NOT_FOUND)', missing.stderr)

    def test_halt_prints_the_new_state(self):
        result = self.run_cli("halt", "vm1", "--timeout", "2s")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, b"vm1: stopping at revision 7\n")

    def test_stats_table(self):
        result = self.run_cli("stats", "lan1")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.decode().splitlines(), [
            "PORT      MAC                LINK  RX-FRAMES  RX-BYTES  TX-FRAMES  TX-BYTES  "
            "DROPS(MAL/QUEUE/IMP)",
            "vm1/eth1  02:00:00:01:00:01  up    10         1500      12         1800      0/2/1",
            "tap:t0    -                  down  0          0         0          0         0/0/0",
        ])
        missing = self.run_cli("stats", "nope")
        self.assertEqual(missing.returncode, 1)
        self.assertIn(b'lan "nope" does not exist (NOT_FOUND)', missing.stderr)

    def test_piped_console_sends_input_and_prints_output(self):
        result = self.run_cli("console", "vm1", "--linger", "300ms", stdin=b"uname\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, b"login: UNAME\n")
        self.assertEqual(self.service.console_vm, "vm1")
        self.assertEqual(self.service.console_input, b"uname\n")

    def test_interactive_console_raw_mode_and_escape(self):
        master, slave = pty.openpty()
        self.addCleanup(os.close, master)
        before = termios.tcgetattr(slave)
        process = subprocess.Popen([CLOWNIX, "--server", self.address, "console", "vm1"],
                                   stdin=slave, stdout=slave, stderr=slave, close_fds=True)
        try:
            seen = self.read_until(master, b"login: ")
            self.assertIn(b"Escape: Ctrl-]", seen)
            # Raw mode: no echo, no line buffering, Ctrl-C is a byte, not a signal.
            attrs = termios.tcgetattr(slave)
            self.assertEqual(attrs[3] & (termios.ECHO | termios.ICANON | termios.ISIG), 0)
            os.write(master, b"ab\x03")
            self.read_until(master, b"AB\x03")
            os.write(master, b"cd\x1dignored")
            self.assertEqual(process.wait(timeout=DEADLINE), 0)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        self.assertTrue(self.service.console_done.wait(DEADLINE))
        self.assertEqual(self.service.console_input, b"ab\x03cd")
        self.assertEqual(termios.tcgetattr(slave), before)
        os.close(slave)

    def test_interactive_console_sends_the_terminal_size_and_follows_it(self):
        master, slave = pty.openpty()
        self.addCleanup(os.close, master)
        self.addCleanup(os.close, slave)
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        process = subprocess.Popen([CLOWNIX, "--server", self.address, "console", "vm1"],
                                   stdin=slave, stdout=slave, stderr=slave, close_fds=True)
        try:
            self.read_until(master, b"login: ")
            self.assertEqual(self.service.console_sizes, [(30, 100)])
            # The terminal is not the process's controlling one, so the kernel would not signal
            # it: send the SIGWINCH a terminal emulator's resize causes.
            fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
            process.send_signal(signal.SIGWINCH)
            end = time.monotonic() + DEADLINE
            while self.service.console_sizes != [(30, 100), (50, 160)]:
                self.assertLess(time.monotonic(), end, self.service.console_sizes)
                time.sleep(0.05)
            # The same size again (a SIGWINCH with no change) sends nothing.
            process.send_signal(signal.SIGWINCH)
            os.write(master, b"x")
            self.read_until(master, b"X")
            self.assertEqual(self.service.console_sizes, [(30, 100), (50, 160)])
            os.write(master, b"\x1d")
            self.assertEqual(process.wait(timeout=DEADLINE), 0)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()

    def read_until(self, fd, wanted):
        data = b""
        end = time.monotonic() + DEADLINE
        while wanted not in data:
            remaining = end - time.monotonic()
            self.assertGreater(remaining, 0, "waiting for %r, got %r" % (wanted, data))
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                data += os.read(fd, 4096)
        return data


if __name__ == "__main__":
    unittest.main(verbosity=2)
