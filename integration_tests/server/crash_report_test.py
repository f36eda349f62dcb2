"""A clownixd that crashes says so in its log: the signal and the stack, not just silence.

The clients of a clownixd that died see only "Socket closed"; its log (stderr) is where the cause
must be. Runs the real clownixd binary and sends it SIGSEGV, as a crash would raise it.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

CLOWNIXD = os.path.join(os.environ.get("TEST_SRCDIR", "."), "clownix", "server", "clownixd")


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(0.05)


class CrashReportTest(unittest.TestCase):
    def setUp(self):
        self.work_dir = tempfile.mkdtemp(prefix="clownix-crash.", dir="/tmp")
        self.log_path = os.path.join(self.work_dir, "clownixd.log")

    def tearDown(self):
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def test_a_crash_writes_its_signal_and_stack_to_the_log(self):
        with open(self.log_path, "wb") as log:
            server = subprocess.Popen([CLOWNIXD, "--work_dir", self.work_dir, "--nobackends"],
                                      stdout=log, stderr=log)
        try:
            wait_for(lambda: b"serving on" in open(self.log_path, "rb").read()
                     or server.poll() is not None, 30, "clownixd to serve")
            self.assertIsNone(server.poll(), open(self.log_path).read())
            server.send_signal(signal.SIGSEGV)
            status = server.wait(timeout=30)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
        text = open(self.log_path, errors="replace").read()
        self.assertNotEqual(status, 0, text)
        self.assertIn("*** SIGSEGV received", text)
        self.assertRegex(text, r"@\s+0x[0-9a-f]+", "a stack frame")


if __name__ == "__main__":
    unittest.main()
