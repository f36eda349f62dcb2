"""Integration tests of the `clownix` CLI and the Python client against the real clownixd.

Each test class starts clownixd (//server:clownixd) with --work_dir in a fresh directory under
/tmp (a unix socket path must stay under 108 bytes, which Bazel's TEST_TMPDIR does not), drives
it with the real `clownix` binary and the Python client, and stops it by its pid.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

RUNFILES = os.path.join(os.environ["TEST_SRCDIR"], "clownix")
CLOWNIXD = os.path.join(RUNFILES, "server", "clownixd")
CLOWNIX = os.path.join(RUNFILES, "clients", "cli", "clownix")
PYTHON_DIR = os.path.join(RUNFILES, "clients", "python")
sys.path.insert(0, PYTHON_DIR)

import clownix  # noqa: E402
from clownix.v1 import topology_pb2  # noqa: E402
from google.protobuf import json_format  # noqa: E402

DEADLINE = 30.0


def wait_for(predicate, what, timeout=DEADLINE):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


class Server:
    """A clownixd process on a work dir; start() and stop() may be repeated (restart)."""

    def __init__(self, work_dir):
        self.work_dir = work_dir
        self.socket = os.path.join(work_dir, "clownixd.sock")
        self.address = "unix:" + self.socket
        self.process = None
        self.log = open(os.path.join(work_dir, "clownixd.log"), "ab")

    def start(self):
        # The topology alone: these tests create VMs by the dozen and never boot them. The images
        # are the built-in tiny and those of the work dir's images/, not the host's.
        self.image_dir = os.path.join(self.work_dir, "images")
        self.process = subprocess.Popen([CLOWNIXD, "--work_dir", self.work_dir, "--nobackends",
                                         "--image_dir", self.image_dir],
                                        stdout=self.log, stderr=self.log)
        wait_for(lambda: self.process.poll() is not None or
                 subprocess.run([CLOWNIX, "--server", self.address, "topo"],
                                capture_output=True).returncode == 0, "clownixd to serve")
        if self.process.poll() is not None:
            raise AssertionError("clownixd exited with %d; log:\n%s" % (
                self.process.returncode, self.read_log()))

    def stop(self, sig=signal.SIGTERM):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def read_log(self):
        with open(os.path.join(self.work_dir, "clownixd.log"), "rb") as f:
            return f.read().decode(errors="replace")


class ServerTestCase(unittest.TestCase):
    def setUp(self):
        self.work_dir = tempfile.mkdtemp(prefix="clownix-it-", dir="/tmp")
        self.addCleanup(shutil.rmtree, self.work_dir, True)
        self.server = Server(self.work_dir)
        self.addCleanup(self.server.log.close)
        self.addCleanup(self.server.stop)
        self.server.start()
        self.background = []
        self.addCleanup(self.stop_background)

    def stop_background(self):
        for process in self.background:
            if process.poll() is None:
                process.kill()
            process.wait()

    def cli(self, *args, check=None, stdin=None):
        """Runs clownix; `check` = expected exit code (None: don't check). Returns the result."""
        result = subprocess.run([CLOWNIX, "--server", self.server.address] + list(args),
                                capture_output=True, text=True, input=stdin, timeout=DEADLINE)
        if check is not None:
            self.assertEqual(result.returncode, check,
                             "clownix %s\nstdout: %s\nstderr: %s" % (
                                 " ".join(args), result.stdout, result.stderr))
        return result

    def ok(self, *args):
        return self.cli(*args, check=0).stdout

    def topology(self):
        return json.loads(self.ok("topo", "--json"))

    def write(self, content, name="net.json"):
        path = os.path.join(self.work_dir, name)
        with open(path, "w") as f:
            f.write(content if isinstance(content, str) else json.dumps(content))
        return path

    def revision(self):
        return int(self.topology().get("revision", "0"))

    def spawn(self, argv):
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        self.background.append(process)
        return process


def parse_watch_lines(text):
    """JSON lines of `clownix watch --json` (or clownix-watch-topology --json) as
    WatchResponses."""
    items = []
    for line in text.splitlines():
        item = topology_pb2.WatchResponse()
        json_format.Parse(line, item)
        items.append(item)
    return items


def event_revisions(items):
    return [e.revision for item in items for e in item.events]


class RoundTripTest(ServerTestCase):
    def test_lan_vm_tap_connect_ls_topo(self):
        self.assertIn("created lan lan1", self.ok("lan", "add", "lan1", "--label", "color=blue"))
        self.ok("lan", "add", "lan2", "--mode", "hub")
        out = self.ok("vm", "add", "vm1", "--nics", "3", "--mem", "96", "--label", "role=router",
                      "--label", "zone=a")
        self.assertIn("created vm vm1 (#1", out)
        self.ok("vm", "add", "vm2", "--nics", "2")
        self.ok("tap", "add", "t0")
        self.assertIn("connected vm1/eth1 to lan1", self.ok("connect", "vm1", "eth1", "lan1"))
        self.ok("connect", "vm1", "2", "lan2")
        self.ok("connect", "vm2/eth1", "lan1")
        self.ok("connect", "tap:t0", "lan2")

        vms = self.ok("vm", "ls")
        self.assertRegex(vms, r"(?m)^NAME\s+#\s+STATE\s+IMAGE\s+MEM\s+ADMIN-IP\s+NICS\s+LABELS$")
        self.assertRegex(vms, r"(?m)^vm1\s+1\s+\S+\s+tiny\s+96M\s+.*eth1:lan1 eth2:lan2\s+"
                              r"role=router,zone=a$")
        self.assertRegex(vms, r"(?m)^vm2\s+2\s+")
        selected = self.ok("vm", "ls", "--selector", "role=router")
        self.assertIn("vm1", selected)
        self.assertNotIn("vm2", selected)
        self.assertNotIn("vm1", self.ok("vm", "ls", "--selector", "!role"))
        lans = self.ok("lan", "ls")
        self.assertRegex(lans, r"(?m)^lan1\s+switch\s+vm1/eth1 vm2/eth1\s+color=blue$")
        self.assertRegex(lans, r"(?m)^lan2\s+hub\s+tap:t0 vm1/eth2\s+-$")
        self.assertRegex(self.ok("tap", "ls"), r"(?m)^t0\s+lan2\s+-$")
        self.assertIn("eth2", self.ok("vm", "show", "vm1"))

        topo = self.topology()
        self.assertEqual(int(topo["revision"]), 9)
        self.assertEqual(sorted(v["name"] for v in topo["vms"]), ["vm1", "vm2"])
        links = sorted((json.dumps(l["endpoint"], sort_keys=True), l["lan"])
                       for l in topo["links"])
        self.assertIn(('{"nic": {"index": 1, "vm": "vm1"}}', "lan1"), links)
        self.assertIn(('{"tap": "t0"}', "lan2"), links)
        self.assertIn("revision 9", self.ok("topo"))

        self.ok("impair", "vm1", "eth1", "--delay", "20ms", "--loss", "2.5%",
                "--direction", "to-lan")
        shown = self.ok("impair", "vm1/eth1")
        self.assertIn("to-lan:   delay=20ms loss=2.5%", shown)
        self.assertIn("from-lan: -", shown)

        self.ok("disconnect", "vm1", "eth1")
        self.ok("disconnect", "tap:t0")
        self.ok("vm", "rm", "vm1", "vm2")
        self.ok("tap", "rm", "t0")
        self.ok("lan", "rm", "lan1", "lan2")
        topo = self.topology()
        self.assertFalse(topo.get("vms") or topo.get("lans") or topo.get("links"))

    def test_errors_name_the_thing_and_change_nothing(self):
        self.ok("lan", "add", "lan1")
        self.ok("vm", "add", "vm1", "--nics", "2")
        self.ok("connect", "vm1", "eth1", "lan1")
        before = self.revision()
        cases = [
            (("lan", "add", "lan1"), "ALREADY_EXISTS", "lan1"),
            (("connect", "vm1", "eth1", "lan1"), "FAILED_PRECONDITION", "vm1/eth1"),
            (("connect", "ghost", "eth1", "lan1"), "NOT_FOUND", "ghost"),
            (("connect", "vm1", "eth1", "nolan"), "NOT_FOUND", "nolan"),
            (("lan", "rm", "lan1"), "FAILED_PRECONDITION", "lan1"),
            (("vm", "add", "Bad_Name"), "INVALID_ARGUMENT", "Bad_Name"),
            (("vm", "add", "big", "--mem", "100000"), "INVALID_ARGUMENT", ""),
            (("vm", "rm", "ghost"), "NOT_FOUND", "ghost"),
            (("disconnect", "tap:nope"), "NOT_FOUND", "nope"),
        ]
        for args, code, name in cases:
            result = self.cli(*args, check=1)
            self.assertRegex(result.stderr, r"^clownix: .*\(%s\)" % code, args)
            self.assertIn(name, result.stderr, args)
            self.assertEqual(result.stdout, "", args)
        self.assertEqual(self.revision(), before)
        usage = self.cli("connect", "vm1", check=2)
        self.assertIn("missing NIC", usage.stderr)
        self.assertEqual(self.cli("exec", "vm1", "--", "true").returncode, 255)

    def test_unreachable_server(self):
        result = subprocess.run([CLOWNIX, "--server", "unix:" + self.work_dir + "/none.sock",
                                 "vm", "ls"], capture_output=True, text=True, timeout=DEADLINE)
        self.assertEqual(result.returncode, 1)
        self.assertIn("UNAVAILABLE", result.stderr)
        self.assertIn("is clownixd running", result.stderr)

    def test_server_from_environment(self):
        env = dict(os.environ, CLOWNIX_WORK_DIR=self.work_dir)
        env.pop("CLOWNIX_SERVER", None)
        result = subprocess.run([CLOWNIX, "lan", "add", "envlan"], capture_output=True,
                                text=True, env=env, timeout=DEADLINE)
        self.assertEqual(result.returncode, 0, result.stderr)
        env = dict(os.environ, CLOWNIX_SERVER=self.server.address)
        result = subprocess.run([CLOWNIX, "lan", "ls"], capture_output=True, text=True,
                                env=env, timeout=DEADLINE)
        self.assertIn("envlan", result.stdout)


class ApplyTest(ServerTestCase):
    NETWORK = {
        "lans": [{"name": "lan1"}, {"name": "lan2", "labels": {"tier": "core"}}],
        "vms": [{"name": "vm1", "nicCount": 2}, {"name": "r1", "nicCount": 3,
                                                  "labels": {"role": "router"}},
                {"name": "vm2", "nicCount": 2}],
        "links": [{"endpoint": {"nic": {"vm": "vm1", "index": 1}}, "lan": "lan1"},
                  {"endpoint": {"nic": {"vm": "r1", "index": 1}}, "lan": "lan1"},
                  {"endpoint": {"nic": {"vm": "r1", "index": 2}}, "lan": "lan2"},
                  {"endpoint": {"nic": {"vm": "vm2", "index": 1}}, "lan": "lan2",
                   "toLan": {"delayUs": 5000}}],
    }

    def test_dry_run_then_apply_then_nothing(self):
        path = self.write(self.NETWORK)
        before = self.revision()
        plan = self.ok("apply", path, "--dry-run")
        self.assertRegex(plan, r"(?m)^ACTION\s+KIND\s+NAME\s+DETAIL\s+STATUS$")
        self.assertRegex(plan, r"(?m)^CREATE\s+vm\s+r1\s+.*planned$")
        self.assertRegex(plan, r"(?m)^CONNECT\s+link\s+vm2/eth1\s+.*planned$")
        planned = plan.count(" planned\n")
        self.assertGreaterEqual(planned, 9)  # 2 LANs, 3 VMs, 4 links (+ the impairment).
        self.assertIn("dry run: %d change(s) planned" % planned, plan)
        self.assertEqual(self.revision(), before)

        applied = self.ok("apply", path)
        self.assertEqual(applied.count(" ok r"), planned, applied)
        self.assertIn("%d of %d change(s) applied" % (planned, planned), applied)
        topo = self.topology()
        self.assertEqual(sorted(v["name"] for v in topo["vms"]), ["r1", "vm1", "vm2"])
        self.assertEqual(len(topo["links"]), 4)
        delayed = [l for l in topo["links"] if l["endpoint"].get("nic", {}).get("vm") == "vm2"]
        self.assertEqual(delayed[0]["toLan"]["delayUs"], 5000)

        self.assertIn("nothing to do", self.ok("apply", path))
        # What `topo --json` prints is a valid topology file, and applying it changes nothing.
        round_trip = self.write(self.ok("topo", "--json"), "topo.json")
        self.assertIn("nothing to do", self.ok("apply", round_trip))

    def test_prune(self):
        self.ok("apply", self.write(self.NETWORK))
        self.ok("lan", "add", "extra")
        small = {"lans": [{"name": "lan1"}], "vms": [{"name": "vm1", "nicCount": 2}],
                 "links": [{"endpoint": {"nic": {"vm": "vm1", "index": 1}}, "lan": "lan1"}]}
        path = self.write(small, "small.json")
        plan = self.ok("apply", path, "--prune", "--dry-run")
        self.assertRegex(plan, r"(?m)^DELETE\s+lan\s+extra\b")
        self.assertRegex(plan, r"(?m)^DELETE\s+vm\s+r1\b")
        self.ok("apply", path, "--prune")
        topo = self.topology()
        self.assertEqual([v["name"] for v in topo["vms"]], ["vm1"])
        self.assertEqual([l["name"] for l in topo["lans"]], ["lan1"])

    def test_file_errors(self):
        missing = self.cli("apply", os.path.join(self.work_dir, "missing.json"), check=1)
        self.assertIn("cannot read", missing.stderr)
        self.assertIn("missing.json", missing.stderr)
        typo = self.cli("apply", self.write('{"vms": [{"name": "a", "nics": 2}]}', "typo.json"),
                        check=1)
        self.assertIn("typo.json", typo.stderr)
        self.assertIn("nics", typo.stderr)
        broken = self.cli("apply", self.write('{"vms": [', "broken.json"), check=1)
        self.assertIn("broken.json", broken.stderr)
        bad = self.cli("apply", self.write({"links": [{"endpoint": {"tap": "nope"},
                                                       "lan": "nolan"}]}, "bad.json"), check=1)
        self.assertIn("INVALID_ARGUMENT", bad.stderr)
        self.assertEqual(self.revision(), 0)

    def test_stdin(self):
        result = self.cli("apply", "-", stdin=json.dumps({"lans": [{"name": "piped"}]}), check=0)
        self.assertIn("ok r1", result.stdout)


class WatchTest(ServerTestCase):
    def mutate(self, prefix, count=5):
        revisions = []
        for i in range(count):
            out = self.ok("lan", "add", "%s%d" % (prefix, i))
            revisions.append(int(out.rsplit(" ", 1)[1]))
        return revisions

    def test_since_shows_exactly_the_missed_events(self):
        self.mutate("a", 3)
        r = self.revision()
        missed = self.mutate("b", 5)
        self.assertEqual(missed, list(range(r + 1, r + 6)))
        out = self.ok("watch", "--since", str(r), "--until", str(r + 5), "--json")
        items = parse_watch_lines(out)
        self.assertFalse(any(i.HasField("snapshot") for i in items))
        self.assertEqual(event_revisions(items), missed)
        names = [c.lan.name for i in items for e in i.events for c in e.changes]
        self.assertEqual(names, ["b%d" % i for i in range(5)])
        human = self.ok("watch", "--since", str(r), "--until", str(r + 5))
        self.assertEqual(len(human.splitlines()), 5)
        self.assertRegex(human.splitlines()[0], r"^r%d \d\d:\d\d:\d\d\.\d{3} created lan b0 "
                                                r"\(switch\)$" % (r + 1))

    def test_guest_configs_come_whole_unless_omitted(self):
        self.mutate("a", 1)  # so that the VM comes in an event, not in the first snapshot
        r = self.revision()
        self.ok("apply", self.write({"vms": [{"name": "g1", "guest": {
            "startup": "echo configured", "sysctls": {"net.ipv4.ip_forward": "1"}}}]},
            "guest.json"))
        until = str(self.revision())
        whole = parse_watch_lines(self.ok("watch", "--since", str(r), "--until", until, "--json"))
        omitted = parse_watch_lines(self.ok("watch", "--since", str(r), "--until", until, "--json",
                                            "--omit-guest-config"))
        for items, has_guest in ((whole, True), (omitted, False)):
            vms = [c.vm for i in items for e in i.events for c in e.changes if c.HasField("vm")]
            self.assertEqual([vm.name for vm in vms], ["g1"])
            self.assertEqual(vms[0].HasField("guest"), has_guest)
            self.assertEqual(vms[0].guest.startup, "echo configured" if has_guest else "")
        # The config is still the VM's: `vm show` reads it.
        self.assertIn("startup script (1 line)", self.ok("vm", "show", "g1"))

    def test_from_zero_starts_with_a_snapshot(self):
        self.mutate("a", 2)
        items = parse_watch_lines(self.ok("watch", "--json", "--until", "2"))
        self.assertTrue(items[0].HasField("snapshot"))
        self.assertEqual(items[0].snapshot.topology.revision, 2)
        self.assertEqual(items[0].snapshot.reason, topology_pb2.Snapshot.INITIAL)
        self.assertEqual(len(items), 1)

    def test_live_watch_sees_each_mutation(self):
        watcher = self.spawn([CLOWNIX, "--server", self.server.address, "watch", "--json",
                              "--until", "6"])
        first = watcher.stdout.readline()
        self.assertTrue(parse_watch_lines(first)[0].HasField("snapshot"))
        revisions = self.mutate("l", 6)
        out, err = watcher.communicate(timeout=DEADLINE)
        self.assertEqual(watcher.returncode, 0, err)
        self.assertEqual(event_revisions(parse_watch_lines(out)), revisions)

    def test_cli_watch_says_where_to_resume_when_the_server_goes(self):
        watcher = self.spawn([CLOWNIX, "--server", self.server.address, "watch"])
        self.assertIn("snapshot (initial)", watcher.stdout.readline())
        self.mutate("a", 3)
        wait_for(lambda: "created lan a2" in watcher.stdout.readline(), "the third event")
        self.server.stop(signal.SIGKILL)
        out, err = watcher.communicate(timeout=DEADLINE)
        self.assertEqual(watcher.returncode, 1, err)
        self.assertIn("resume with: clownix watch --since 3", err)
        self.server.start()
        self.mutate("b", 2)
        resumed = self.ok("watch", "--since", "3", "--until", "5")
        self.assertEqual([line.split(" ", 2)[2] for line in resumed.splitlines()],
                         ["created lan b0 (switch)", "created lan b1 (switch)"])

    def test_selector(self):
        self.ok("lan", "add", "red", "--label", "color=red")
        self.ok("lan", "add", "blue", "--label", "color=blue")
        self.ok("lan", "add", "red2", "--label", "color=red")
        out = self.ok("watch", "--since", "0", "--selector", "color=red", "--json",
                      "--until", "3")
        snapshot = parse_watch_lines(out)[0].snapshot.topology
        self.assertEqual(sorted(l.name for l in snapshot.lans), ["red", "red2"])

    def test_python_watcher_sees_the_same_sequence_as_the_cli(self):
        until = 13  # create_network makes 2 LANs, 3 VMs and 4 links: 9 mutations.
        self.ok("lan", "add", "pre1")
        self.ok("lan", "add", "pre2")
        self.ok("lan", "add", "pre3")
        self.ok("lan", "add", "pre4")
        cli = self.spawn([CLOWNIX, "--server", self.server.address, "watch", "--json",
                          "--since", "2", "--until", str(until)])
        py = self.spawn(["/usr/bin/python3", "-m", "clownix.tools.watch_topology",
                         "--server", self.server.address, "--json", "--since", "2",
                         "--until", str(until)])
        table = self.spawn(["/usr/bin/python3", "-m", "clownix.tools.watch_topology",
                            "--server", self.server.address, "--until", str(until)])
        created = subprocess.run(["/usr/bin/python3", "-m", "clownix.tools.create_network",
                                  "--server", self.server.address],
                                 capture_output=True, text=True, timeout=DEADLINE)
        self.assertEqual(created.returncode, 0, created.stderr)
        self.assertEqual(len(created.stdout.splitlines()), 9)
        cli_out, cli_err = cli.communicate(timeout=DEADLINE)
        py_out, py_err = py.communicate(timeout=DEADLINE)
        self.assertEqual(cli.returncode, 0, cli_err)
        self.assertEqual(py.returncode, 0, py_err)
        table_out, table_err = table.communicate(timeout=DEADLINE)
        self.assertEqual(table.returncode, 0, table_err)
        renders = table_out.split("revision ")[1:]
        # The first table is the snapshot: taken after the 4 "pre" LANs, maybe later.
        self.assertGreaterEqual(int(renders[0].split("\n")[0]), 4)
        last = renders[-1]
        self.assertEqual(int(last.split("\n")[0]), until)
        self.assertRegex(last, r"(?m)^router\s+\d+\s+\S+\s+tiny\s+64M\s+.*eth1:lan1 eth2:lan2\s+"
                               r"role=router$")
        self.assertRegex(last, r"(?m)^vm2/eth1\s+lan2\s+(up|down)$")
        cli_items = parse_watch_lines(cli_out)
        py_items = parse_watch_lines(py_out)
        self.assertEqual(event_revisions(cli_items), list(range(3, until + 1)))
        self.assertEqual(cli_items, py_items)
        topo = self.topology()
        self.assertEqual(sorted(v["name"] for v in topo["vms"]), ["router", "vm1", "vm2"])

    def test_python_watch_resumes_across_server_restarts(self):
        client = clownix.Client(self.server.address)
        self.addCleanup(client.close)
        watch = client.watch(max_backoff=0.2)
        self.addCleanup(watch.close)
        seen = []
        done = threading.Event()
        snapshot_seen = threading.Event()
        errors = []

        def read():
            try:
                for item in watch:
                    if item.HasField("snapshot"):
                        seen.append(("snapshot", item.snapshot.topology.revision))
                        snapshot_seen.set()
                    for e in item.events:
                        seen.append(("event", e.revision))
                    if watch.last_revision >= 12:
                        break
            except Exception as error:  # Reported by the assertions below.
                errors.append(error)
            finally:
                done.set()

        thread = threading.Thread(target=read, daemon=True)
        thread.start()
        self.assertTrue(snapshot_seen.wait(DEADLINE))
        self.mutate("a", 4)
        wait_for(lambda: len(seen) >= 5, "the first four events")
        self.server.stop(signal.SIGTERM)
        self.server.start()
        self.mutate("b", 4)
        wait_for(lambda: len(seen) >= 9 or errors, "the events after a clean restart")
        self.server.stop(signal.SIGKILL)
        self.server.start()
        self.mutate("c", 4)
        self.assertTrue(done.wait(DEADLINE), "watcher did not see revision 12: %s" % seen)
        thread.join(DEADLINE)
        self.assertEqual(errors, [])
        self.assertEqual(seen, [("snapshot", 0)] + [("event", r) for r in range(1, 13)])
        self.assertGreaterEqual(watch.reconnects, 2)


class ImagesTest(ServerTestCase):
    def add_image(self, name, default_mem=96, min_mem=80):
        """An image as the image build leaves it: NAME -> NAME-HASH/{image.json,rootfs.img}."""
        version = os.path.join(self.server.image_dir, name + "-0123abcd")
        os.makedirs(version)
        with open(os.path.join(version, "rootfs.img"), "wb") as f:
            f.truncate(8 << 20)
        with open(os.path.join(version, "image.json"), "w") as f:
            json.dump({"name": name, "description": "the %s image" % name,
                       "root_fs": "rootfs.img", "default_mem_mib": default_mem,
                       "min_mem_mib": min_mem, "contents": ["frr 8.4.4-1.1~deb12u1"],
                       "recipe_hash": "0123abcd", "build_seconds": 61}, f)
        os.symlink(name + "-0123abcd", os.path.join(self.server.image_dir, name))

    def test_list_images_and_refuse_an_unknown_one_over_grpc(self):
        listed = json.loads(self.ok("image", "ls", "--json"))
        self.assertEqual(listed["defaultImage"], "tiny")
        tiny = [image for image in listed["images"] if image["name"] == "tiny"]
        self.assertEqual(len(tiny), 1, listed)
        self.assertTrue(tiny[0]["isDefault"])
        self.assertEqual(tiny[0]["defaultMemMib"], 64)
        self.assertTrue(any(item.startswith("busybox-static ") for item in tiny[0]["contents"]))
        self.assertRegex(self.ok("image", "ls"), r"(?m)^tiny\s+\*\s+\d+M\s+64M \(min 48M\)\s")

        refused = self.cli("vm", "add", "v1", "--image", "gentoo", check=1)
        self.assertIn('image "gentoo" does not exist; the images are: tiny', refused.stderr)
        self.assertIn("(NOT_FOUND)", refused.stderr)
        with clownix.Client(self.server.address, timeout=DEADLINE) as client:
            self.assertIn("tiny", [image.name for image in client.list_images().images])
            with self.assertRaises(clownix.NotFoundError) as error:
                client.create_vm("v1", image="gentoo")
            self.assertIn("the images are: tiny", str(error.exception))
            created = client.create_vm("v1").vm
            self.assertEqual((created.image, created.mem_mib), ("tiny", 64))

    def test_an_image_built_while_clownixd_runs_is_there_at_once(self):
        self.ok("vm", "add", "h1")
        self.add_image("lab")
        self.assertRegex(self.ok("image", "ls"), r"(?m)^lab\s+8M\s+96M \(min 80M\)\s+the lab")
        self.assertIn("frr 8.4.4-1.1~deb12u1", self.ok("image", "show", "lab"))
        self.assertIn("created vm r1 (#2, defined, lab, 96 MiB",
                      self.ok("vm", "add", "r1", "--image", "lab"))
        self.assertRegex(self.ok("vm", "ls"), r"(?m)^r1\s+2\s+defined\s+lab\s+96M\s")
        small = self.cli("vm", "add", "r2", "--image", "lab", "--mem", "64", check=1)
        self.assertIn("(INVALID_ARGUMENT)", small.stderr)
        self.assertIn("80", small.stderr)

        # Topology files: "image" changes a stopped VM's image; an unknown one fails its item.
        path = os.path.join(self.work_dir, "net.json")
        with open(path, "w") as f:
            json.dump({"vms": [{"name": "h1", "image": "lab"}]}, f)
        self.assertRegex(self.ok("apply", path, "--dry-run"),
                         r"(?m)^UPDATE\s+vm\s+h1\s+image tiny -> lab, mem_mib 64 -> 96\s+planned$")
        self.ok("apply", path)
        self.assertEqual(self.topology()["vms"][0]["image"], "lab")
        with open(path, "w") as f:
            json.dump({"vms": [{"name": "h1", "image": "gentoo"}]}, f)
        # The dry run says beforehand which item would fail, and why.
        dry = self.cli("apply", path, "--dry-run", check=1)
        self.assertRegex(dry.stdout, r"NOT_FOUND: vm \"h1\": image \"gentoo\" does not exist")
        self.assertIn("1 plan item(s) would fail", dry.stderr)
        self.assertEqual(self.topology()["vms"][0]["image"], "lab")
        failed = self.cli("apply", path, check=1)
        self.assertRegex(failed.stdout, r"NOT_FOUND: vm \"h1\": image \"gentoo\" does not exist")

        # A restart keeps each VM's image.
        self.server.stop()
        self.server.start()
        self.assertEqual({v["name"]: v["image"] for v in self.topology()["vms"]},
                         {"h1": "lab", "r1": "lab"})


class MachinesWithoutRuntimeTest(ServerTestCase):
    def test_exec_console_and_power_report_the_state(self):
        self.ok("vm", "add", "vm1")
        result = self.cli("exec", "vm1", "--", "uname", "-a")
        self.assertEqual(result.returncode, 255)
        self.assertIn("FAILED_PRECONDITION", result.stderr)
        self.assertIn("vm1", result.stderr)
        console = self.cli("console", "vm1", stdin="ls\n")
        self.assertEqual(console.returncode, 1)
        self.assertIn("FAILED_PRECONDITION", console.stderr)
        self.assertEqual(self.cli("exec", "ghost", "--", "true").returncode, 255)
        self.assertIn("NOT_FOUND", self.cli("halt", "ghost", check=1).stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
