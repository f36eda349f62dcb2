"""Integration tests of clownix-graph against the real clownixd, the real `clownix` CLI and
Debian's graphviz.

Each test starts clownixd (//server:clownixd) with --work_dir in a fresh directory under /tmp (a
unix socket path must stay under 108 bytes, which Bazel's TEST_TMPDIR does not), changes the
topology with the CLI, runs clownix-graph and reads the SVG it writes with a real XML parser.
Waits are for a condition with a deadline; every process is stopped by its pid.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import xml.etree.ElementTree as ElementTree

RUNFILES = os.path.join(os.environ["TEST_SRCDIR"], "clownix")
CLOWNIXD = os.path.join(RUNFILES, "server", "clownixd")
CLOWNIX = os.path.join(RUNFILES, "clients", "cli", "clownix")
GRAPH = os.path.join(RUNFILES, "clients", "graph", "clownix-graph")

DEADLINE = 30.0
SVG_TEXT = "{http://www.w3.org/2000/svg}text"


def wait_for(predicate, what, timeout=DEADLINE):
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        last = predicate()
        if last:
            return last
        time.sleep(0.02)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def svg_texts(path):
    """The text of every <text> element of the SVG at `path`, parsed as XML; None if absent."""
    try:
        root = ElementTree.parse(path).getroot()
    except FileNotFoundError:
        return None
    return ["".join(element.itertext()) for element in root.iter(SVG_TEXT)]


def revision_in_title(texts):
    for text in texts or []:
        match = re.search(r"revision (\d+)", text)
        if match:
            return int(match.group(1))
    return None


class Server:
    """A clownixd process on a work dir; start() and stop() may be repeated (restart)."""

    def __init__(self, work_dir):
        self.work_dir = work_dir
        self.address = "unix:" + os.path.join(work_dir, "clownixd.sock")
        self.process = None
        self.log = open(os.path.join(work_dir, "clownixd.log"), "ab")

    def start(self):
        self.process = subprocess.Popen([CLOWNIXD, "--work_dir", self.work_dir, "--nobackends"],
                                        stdout=self.log, stderr=self.log)
        wait_for(lambda: self.process.poll() is not None or
                 subprocess.run([CLOWNIX, "--server", self.address, "topo"],
                                capture_output=True).returncode == 0, "clownixd to serve")
        if self.process.poll() is not None:
            raise AssertionError("clownixd exited with %d" % self.process.returncode)

    def stop(self, sig=signal.SIGTERM):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class GraphTestCase(unittest.TestCase):
    def setUp(self):
        self.work_dir = tempfile.mkdtemp(prefix="clownix-graph-", dir="/tmp")
        self.addCleanup(shutil.rmtree, self.work_dir, True)
        self.out_dir = os.path.join(self.work_dir, "picture")
        self.server = Server(self.work_dir)
        self.addCleanup(self.server.log.close)
        self.addCleanup(self.server.stop)
        self.server.start()

    def ok(self, *args):
        result = subprocess.run([CLOWNIX, "--server", self.server.address] + list(args),
                                capture_output=True, text=True, timeout=DEADLINE)
        self.assertEqual(result.returncode, 0, "clownix %s: %s" % (" ".join(args), result.stderr))
        return result.stdout

    def revision(self):
        return int(json.loads(self.ok("topo", "--json")).get("revision", "0"))

    def graph(self, *args):
        return subprocess.run([GRAPH, "--server", self.server.address, "--out", self.out_dir] +
                              list(args), capture_output=True, text=True, timeout=DEADLINE)

    def build_demo(self):
        """vm1 - lan1 - router - lan2 - vm2, a tap on lan2, an impaired link."""
        self.ok("lan", "add", "lan1")
        self.ok("lan", "add", "lan2", "--mode", "hub")
        self.ok("vm", "add", "vm1", "--nics", "2", "--label", "note=<a&b>\"q\"'")
        self.ok("vm", "add", "router", "--nics", "3", "--mem", "128", "--label", "role=router")
        self.ok("vm", "add", "vm2", "--nics", "2")
        self.ok("connect", "vm1", "eth1", "lan1")
        self.ok("connect", "router", "eth1", "lan1")
        self.ok("connect", "router", "eth2", "lan2")
        self.ok("connect", "vm2", "eth1", "lan2")
        self.ok("tap", "add", "t0")
        self.ok("connect", "tap:t0", "lan2")
        self.ok("impair", "vm2", "eth1", "--delay", "10ms", "--loss", "1")


class OnceTest(GraphTestCase):
    def test_writes_dot_and_valid_svg_naming_everything(self):
        self.build_demo()
        revision = self.revision()
        result = self.graph("--formats", "svg,png")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("revision %d" % revision, result.stdout)
        self.assertEqual(sorted(os.listdir(self.out_dir)),
                         ["topology.dot", "topology.png", "topology.svg"])
        texts = svg_texts(os.path.join(self.out_dir, "topology.svg"))
        joined = "\n".join(texts)
        for name in ("vm1", "vm2", "router", "lan1", "lan2", "t0", "eth1", "eth2"):
            self.assertIn(name, texts, joined)
        self.assertEqual(revision_in_title(texts), revision)
        self.assertIn("hub · 3 ports", joined)
        self.assertIn("tx/rx delay 10ms loss 1%", joined)
        # The user's label reaches the picture intact: escaped in DOT, unescaped by the parser.
        self.assertIn('note=<a&b>"q"\'', joined)
        # The legend.
        for state in ("defined", "booting", "running", "stopping", "stopped", "crashed"):
            self.assertIn(state, [t.strip() for t in texts])
        with open(os.path.join(self.out_dir, "topology.png"), "rb") as png:
            self.assertEqual(png.read(4), b"\x89PNG")

    def test_selector_draws_only_matching_objects(self):
        self.build_demo()
        result = self.graph("--selector", "role=router")
        self.assertEqual(result.returncode, 0, result.stderr)
        texts = svg_texts(os.path.join(self.out_dir, "topology.svg"))
        self.assertIn("router", texts)
        self.assertNotIn("vm1", texts)

    def test_no_server_is_a_clear_error(self):
        result = subprocess.run([GRAPH, "--server", "unix:/tmp/clownix-graph-nobody.sock",
                                 "--out", self.out_dir, "--timeout", "2s"],
                                capture_output=True, text=True, timeout=DEADLINE)
        self.assertEqual(result.returncode, 1)
        self.assertIn("is clownixd running there?", result.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.out_dir, "topology.svg")))

    def test_missing_dot_is_a_clear_error(self):
        result = self.graph("--dot", "clownix-graph-no-such-dot")
        self.assertEqual(result.returncode, 1)
        self.assertIn("install graphviz", result.stderr)

    def test_bad_address_is_a_usage_error(self):
        result = subprocess.run([GRAPH, "--server", "nowhere"], capture_output=True, text=True,
                                timeout=DEADLINE)
        self.assertEqual(result.returncode, 2)
        self.assertIn('bad server address "nowhere"', result.stderr)


class FollowTest(GraphTestCase):
    def start_follow(self, *args):
        self.log_path = os.path.join(self.work_dir, "graph.log")
        log = open(self.log_path, "w")
        self.addCleanup(log.close)
        process = subprocess.Popen([GRAPH, "--server", self.server.address, "--out",
                                    self.out_dir, "--follow"] + list(args),
                                   stdout=log, stderr=log)

        def stop():
            if process.poll() is None:
                process.kill()
            process.wait()
        self.addCleanup(stop)
        return process

    def svg(self):
        return svg_texts(os.path.join(self.out_dir, "topology.svg"))

    def wait_revision(self, revision):
        return wait_for(lambda: (revision_in_title(self.svg()) or 0) >= revision and self.svg(),
                        "the picture at revision %d" % revision)

    def read_log(self):
        with open(self.log_path) as f:
            return f.read()

    def test_follows_changes_and_resumes_after_a_restart(self):
        self.build_demo()
        process = self.start_follow()
        self.wait_revision(self.revision())

        # A reader that parses the SVG all along: renames are atomic, so it never sees half a file.
        errors = []
        reads = [0]
        stop_reader = threading.Event()

        def reader():
            while not stop_reader.is_set():
                try:
                    svg_texts(os.path.join(self.out_dir, "topology.svg"))
                    reads[0] += 1
                except ElementTree.ParseError as error:
                    errors.append(str(error))
        thread = threading.Thread(target=reader)
        thread.start()
        try:
            self.ok("vm", "add", "vm3", "--nics", "2")
            self.ok("connect", "vm3", "eth1", "lan1")
            texts = self.wait_revision(self.revision())
            self.assertIn("vm3", texts)
            self.assertIn("lan1", texts)
            self.ok("disconnect", "vm3", "eth1")
            self.ok("vm", "rm", "vm3")
            texts = self.wait_revision(self.revision())
            self.assertNotIn("vm3", texts)

            # The server goes away: the picture says so and keeps the last network.
            before = self.revision()
            self.server.stop()
            texts = wait_for(lambda: any("unreachable" in t for t in self.svg() or []) and
                             self.svg(), "the unreachable notice")
            self.assertEqual(revision_in_title(texts), before)
            self.assertIn("router", texts)

            # It comes back: the notice goes and new changes arrive through the resumed watch.
            self.server.start()
            wait_for(lambda: not any("unreachable" in t for t in self.svg()),
                     "the notice to clear")
            self.ok("lan", "add", "lan3")
            self.ok("vm", "add", "vm4", "--nics", "2")
            self.ok("connect", "vm4", "eth1", "lan3")
            texts = self.wait_revision(self.revision())
            for name in ("vm4", "lan3", "vm1", "router"):
                self.assertIn(name, texts)
        finally:
            stop_reader.set()
            thread.join()
        self.assertEqual(errors, [])
        self.assertGreater(reads[0], 0)
        log = self.read_log()
        self.assertIn("will resume after revision %d" % before, log)
        self.assertIn("following %s from revision %d" % (self.server.address, before), log)
        self.assertIsNone(process.poll())

        # SIGTERM ends it cleanly.
        process.terminate()
        self.assertEqual(process.wait(timeout=DEADLINE), 0)
        leftovers = [n for n in os.listdir(self.out_dir) if n.startswith(".")]
        self.assertEqual(leftovers, [])

    def test_a_burst_of_changes_is_debounced(self):
        process = self.start_follow("--debounce", "500ms")
        self.ok("lan", "add", "first")
        self.wait_revision(self.revision())
        rendered_before = self.read_log().count(" -> ")
        desired = {"lans": [{"name": "burst%d" % i} for i in range(40)]}
        path = os.path.join(self.work_dir, "burst.json")
        with open(path, "w") as f:
            json.dump(desired, f)
        self.ok("apply", path)
        texts = self.wait_revision(self.revision())
        self.assertIn("burst39", texts)
        # 40 revisions in well under a few seconds; at most one render per 500 ms. The bound is
        # loose so a slow machine does not fail it, and still far below one render per revision.
        renders = self.read_log().count(" -> ") - rendered_before
        self.assertLess(renders, 20, self.read_log())
        self.assertIsNone(process.poll())

    def test_waits_for_a_server_that_is_not_there_yet(self):
        self.server.stop()
        self.start_follow()
        wait_for(lambda: any("waiting for clownixd" in t for t in self.svg() or []),
                 "the waiting notice")
        self.server.start()
        self.ok("lan", "add", "late")
        texts = self.wait_revision(self.revision())
        self.assertIn("late", texts)
        self.assertFalse(any("waiting" in t for t in texts))


if __name__ == "__main__":
    unittest.main(verbosity=2)
