"""Unit tests of clownix_client: addresses, the topology view, and watch's resume logic against
an in-process Topology service that breaks its streams on purpose (the real clownixd is used in
integration_tests/cli)."""

import concurrent.futures
import os
import shutil
import tempfile
import threading
import unittest

import grpc

import clownix_client
from proto.clownix.v1 import resources_pb2
from proto.clownix.v1 import topology_pb2
from proto.clownix.v1 import topology_pb2_grpc


def vm_change(kind, name, state=resources_pb2.VM_STATE_DEFINED):
    return topology_pb2.Change(type=kind, vm=resources_pb2.Vm(name=name, state=state))


def event(revision, *changes):
    return topology_pb2.Event(revision=revision, changes=changes)


class AddressTest(unittest.TestCase):
    def test_default_address_precedence(self):
        self.assertEqual(clownix_client.default_address({"CLOWNIX_SERVER": "unix:/a",
                                                         "CLOWNIX_WORK_DIR": "/w"}), "unix:/a")
        self.assertEqual(clownix_client.default_address({"CLOWNIX_WORK_DIR": "/w/"}),
                         "unix:/w/clownixd.sock")
        self.assertEqual(clownix_client.default_address({}), "unix:/tmp/clownix/clownixd.sock")

    def test_grpc_target(self):
        self.assertEqual(clownix_client.grpc_target("/s.sock"), "unix:/s.sock")
        self.assertEqual(clownix_client.grpc_target("unix:/s.sock"), "unix:/s.sock")
        self.assertEqual(clownix_client.grpc_target("localhost:7000"), "localhost:7000")
        for bad in ("localhost", "unix:", "host:0", "host:x", ":80"):
            with self.assertRaises(ValueError, msg=bad):
                clownix_client.grpc_target(bad)


class SplitAndViewTest(unittest.TestCase):
    def test_split_keeps_order(self):
        response = topology_pb2.WatchResponse(
            snapshot=topology_pb2.Snapshot(topology=resources_pb2.Network(revision=3)),
            events=[event(4), event(5)],
            heartbeat=topology_pb2.Heartbeat(revision=5))
        items = clownix_client.split_watch_response(response)
        self.assertEqual(len(items), 4)
        self.assertTrue(items[0].HasField("snapshot"))
        self.assertEqual([i.events[0].revision for i in items[1:3]], [4, 5])
        self.assertTrue(items[3].HasField("heartbeat"))

    def test_view_applies_snapshot_and_changes(self):
        view = clownix_client.TopologyView()
        network = resources_pb2.Network(revision=2, vms=[resources_pb2.Vm(name="old")],
                                        lans=[resources_pb2.Lan(name="lan1")])
        view.apply(topology_pb2.WatchResponse(snapshot=topology_pb2.Snapshot(topology=network)))
        self.assertEqual(set(view.vms), {"old"})
        link = resources_pb2.Link(
            endpoint=resources_pb2.Endpoint(nic=resources_pb2.NicRef(vm="vm1", index=1)),
            lan="lan1", up=True)
        changed = view.apply(topology_pb2.WatchResponse(events=[
            event(3, vm_change(topology_pb2.Change.CREATED, "vm1")),
            event(4, vm_change(topology_pb2.Change.UPDATED, "vm1",
                               resources_pb2.VM_STATE_RUNNING),
                  topology_pb2.Change(type=topology_pb2.Change.CREATED, link=link)),
            event(5, vm_change(topology_pb2.Change.DELETED, "old")),
        ]))
        self.assertTrue(changed)
        self.assertEqual(view.revision, 5)
        self.assertEqual(set(view.vms), {"vm1"})
        self.assertEqual(view.vms["vm1"].state, resources_pb2.VM_STATE_RUNNING)
        self.assertIn("vm1/eth1", view.links)
        text = view.render()
        self.assertIn("revision 5", text)
        self.assertIn("running", text)
        self.assertIn("vm1/eth1  lan1  up", text)
        self.assertFalse(view.apply(topology_pb2.WatchResponse(
            heartbeat=topology_pb2.Heartbeat(revision=5))))


class BreakingTopology(topology_pb2_grpc.TopologyServicer):
    """Serves a fixed history of events; each stream sends `per_stream` events after the resume
    point and then fails with `failure`."""

    def __init__(self, history, per_stream, failure=grpc.StatusCode.UNAVAILABLE):
        self.history = history
        self.per_stream = per_stream
        self.failure = failure
        self.requests = []

    def Watch(self, request, context):
        self.requests.append(request.since_revision)
        since = request.since_revision
        if since == 0:
            yield topology_pb2.WatchResponse(snapshot=topology_pb2.Snapshot(
                topology=resources_pb2.Network(revision=1),
                reason=topology_pb2.Snapshot.INITIAL))
            since = 1
        pending = [e for e in self.history if e.revision > since][:self.per_stream]
        if pending:
            # Two events per message, to check that batching is undone.
            for i in range(0, len(pending), 2):
                yield topology_pb2.WatchResponse(events=pending[i:i + 2])
        context.abort(self.failure, "stream broken on purpose")


class WatchResumeTest(unittest.TestCase):
    def serve(self, servicer):
        self.dir = tempfile.mkdtemp(prefix="clownix-py-", dir="/tmp")
        self.addCleanup(shutil.rmtree, self.dir)
        server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=4))
        topology_pb2_grpc.add_TopologyServicer_to_server(servicer, server)
        address = "unix:" + os.path.join(self.dir, "s.sock")
        server.add_insecure_port(address)
        server.start()
        self.addCleanup(server.stop, None)
        return address

    def test_resumes_from_last_revision_without_gap_or_duplicate(self):
        history = [event(r, vm_change(topology_pb2.Change.CREATED, "vm%d" % r))
                   for r in range(2, 12)]
        servicer = BreakingTopology(history, per_stream=3)
        client = clownix_client.Client(self.serve(servicer))
        seen = []
        for item in client.watch(max_backoff=0.2):
            if item.HasField("snapshot"):
                seen.append(("snapshot", item.snapshot.topology.revision))
            for e in item.events:
                seen.append(("event", e.revision))
            if client.last_revision >= 11:
                break
        client.close()
        self.assertEqual(seen, [("snapshot", 1)] + [("event", r) for r in range(2, 12)])
        self.assertEqual(servicer.requests, [0, 4, 7, 10])
        self.assertEqual(client.reconnects, 3)

    def test_resumes_after_the_server_cancels_or_sheds_the_stream(self):
        for failure in (grpc.StatusCode.CANCELLED, grpc.StatusCode.RESOURCE_EXHAUSTED):
            history = [event(r) for r in range(2, 6)]
            servicer = BreakingTopology(history, per_stream=2, failure=failure)
            client = clownix_client.Client(self.serve(servicer))
            revisions = []
            for item in client.watch(since_revision=1, max_backoff=0.1):
                revisions += [e.revision for e in item.events]
                if client.last_revision >= 5:
                    break
            client.close()
            self.assertEqual(revisions, [2, 3, 4, 5], failure)
            self.assertEqual(servicer.requests, [1, 3], failure)

    def test_starts_from_since_revision(self):
        history = [event(r) for r in range(2, 6)]
        servicer = BreakingTopology(history, per_stream=10)
        client = clownix_client.Client(self.serve(servicer))
        revisions = []
        for item in client.watch(since_revision=3):
            revisions += [e.revision for e in item.events]
            if client.last_revision >= 5:
                break
        client.close()
        self.assertEqual(revisions, [4, 5])
        self.assertEqual(servicer.requests[0], 3)

    def test_other_errors_are_raised(self):
        servicer = BreakingTopology([], per_stream=0, failure=grpc.StatusCode.INVALID_ARGUMENT)
        client = clownix_client.Client(self.serve(servicer))
        with self.assertRaises(grpc.RpcError) as caught:
            for _ in client.watch(since_revision=1):
                pass
        client.close()
        self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)

    def test_stop_event_ends_the_generator(self):
        history = [event(r) for r in range(2, 100)]
        servicer = BreakingTopology(history, per_stream=4)
        client = clownix_client.Client(self.serve(servicer))
        stop = threading.Event()
        count = 0
        for _ in client.watch(stop=stop, max_backoff=0.1):
            count += 1
            if count == 6:
                stop.set()
        client.close()
        self.assertEqual(count, 6)


if __name__ == "__main__":
    unittest.main()
