"""Watch: resume after broken streams, the cursor, close(), and errors, against an in-process
Topology service that breaks its streams on purpose."""

# The fakes implement only the RPCs a test makes (gRPC answers UNIMPLEMENTED for the rest), while
# the generated servicers declare every RPC abstract.
# mypy: disable-error-code="abstract"

from __future__ import annotations

import threading
import unittest
from typing import Iterator, List, Sequence, Tuple

import grpc

import clownix
from clownix.v1 import resources_pb2
from clownix.v1 import topology_pb2
from clownix.v1 import topology_pb2_grpc

import fake_server

DEADLINE = 20.0


def event(revision: int) -> topology_pb2.Event:
    return topology_pb2.Event(revision=revision, changes=[topology_pb2.Change(
        type=topology_pb2.Change.CREATED, vm=resources_pb2.Vm(name="vm%d" % revision))])


def history(first: int, last: int) -> List[topology_pb2.Event]:
    return [event(r) for r in range(first, last + 1)]


class BreakingTopology(topology_pb2_grpc.TopologyServicer):
    """Serves a fixed history; each stream sends at most `per_stream` events after the resume
    point (two per message, to check that batching is undone) and then ends with `failure`, or
    waits until the client goes away when `hang` is set."""

    def __init__(self, events: Sequence[topology_pb2.Event], per_stream: int,
                 failure: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE,
                 hang: bool = False) -> None:
        self.events = events
        self.per_stream = per_stream
        self.failure = failure
        self.hang = hang
        self.requests: List[int] = []
        self.omit_guest_config: List[bool] = []
        self.streams_ended = threading.Semaphore(0)

    def Watch(self, request: topology_pb2.WatchRequest,
              context: grpc.ServicerContext) -> Iterator[topology_pb2.WatchResponse]:
        gone = threading.Event()
        context.add_callback(gone.set)
        context.add_callback(self.streams_ended.release)
        self.requests.append(request.since_revision)
        self.omit_guest_config.append(request.omit_guest_config)
        since = request.since_revision
        if since == 0:
            yield topology_pb2.WatchResponse(snapshot=topology_pb2.Snapshot(
                topology=resources_pb2.Network(revision=1),
                reason=topology_pb2.Snapshot.INITIAL))
            since = 1
        pending = [e for e in self.events if e.revision > since][:self.per_stream]
        for i in range(0, len(pending), 2):
            yield topology_pb2.WatchResponse(events=pending[i:i + 2])
        if self.hang:
            gone.wait()  # Until the client cancels the stream (or the server stops).
        if self.failure != grpc.StatusCode.OK:
            context.abort(self.failure, "stream broken on purpose")


def seen(item: topology_pb2.WatchResponse) -> List[Tuple[str, int]]:
    out = []
    if item.HasField("snapshot"):
        out.append(("snapshot", item.snapshot.topology.revision))
    out += [("event", e.revision) for e in item.events]
    return out


class WatchTest(unittest.TestCase):
    def client(self, servicer: BreakingTopology) -> clownix.Client:
        address = fake_server.serve(
            self, (topology_pb2_grpc.add_TopologyServicer_to_server, servicer))
        client = clownix.Client(address, timeout=DEADLINE)
        self.addCleanup(client.close)
        return client

    def test_resumes_from_last_revision_without_gap_or_duplicate(self) -> None:
        servicer = BreakingTopology(history(2, 11), per_stream=3)
        got: List[Tuple[str, int]] = []
        with self.client(servicer).watch(max_backoff=0.2) as watch:
            for item in watch:
                got += seen(item)
                if watch.last_revision >= 11:
                    break
        self.assertEqual(got, [("snapshot", 1)] + [("event", r) for r in range(2, 12)])
        self.assertEqual(servicer.requests, [0, 4, 7, 10])
        self.assertEqual(watch.reconnects, 3)
        self.assertTrue(watch.closed)

    def test_every_stream_asks_for_what_the_watch_was_made_with(self) -> None:
        for omit in (False, True):
            servicer = BreakingTopology(history(2, 5), per_stream=2)
            with self.client(servicer).watch(since_revision=1, max_backoff=0.1,
                                             omit_guest_config=omit) as watch:
                for _ in watch:
                    if watch.last_revision >= 5:
                        break
            self.assertEqual(servicer.omit_guest_config, [omit, omit])

    def test_resumes_after_the_server_cancels_sheds_or_ends_the_stream(self) -> None:
        for failure in (grpc.StatusCode.CANCELLED, grpc.StatusCode.RESOURCE_EXHAUSTED,
                        grpc.StatusCode.OK):
            servicer = BreakingTopology(history(2, 5), per_stream=2, failure=failure)
            revisions: List[int] = []
            with self.client(servicer).watch(since_revision=1, max_backoff=0.1) as watch:
                for item in watch:
                    revisions += [e.revision for e in item.events]
                    if watch.last_revision >= 5:
                        break
            self.assertEqual(revisions, [2, 3, 4, 5], failure)
            self.assertEqual(servicer.requests, [1, 3], failure)

    def test_the_cursor_resumes_a_later_watch(self) -> None:
        servicer = BreakingTopology(history(2, 9), per_stream=100, hang=True)
        client = self.client(servicer)
        first: List[Tuple[str, int]] = []
        with client.watch() as watch:
            for item in watch:
                first += seen(item)
                if watch.last_revision >= 4:
                    break
            stored = watch.last_revision
        self.assertEqual(stored, 4)
        second: List[Tuple[str, int]] = []
        with client.watch(since_revision=stored) as watch:
            self.assertEqual(watch.last_revision, 4)
            for item in watch:
                second += seen(item)
                if watch.last_revision >= 9:
                    break
        self.assertEqual(first + second, [("snapshot", 1)] + [("event", r) for r in range(2, 10)])
        self.assertEqual(servicer.requests, [0, 4])

    def test_other_errors_are_raised_as_call_errors(self) -> None:
        servicer = BreakingTopology([], per_stream=0, failure=grpc.StatusCode.INVALID_ARGUMENT)
        watch = self.client(servicer).watch(since_revision=1)
        with self.assertRaises(clownix.InvalidArgumentError) as caught:
            for _ in watch:
                pass
        self.assertEqual(caught.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(caught.exception.details, "stream broken on purpose")
        self.assertIsInstance(caught.exception.__cause__, grpc.RpcError)
        self.assertTrue(watch.closed)
        self.assertEqual(list(watch), [])

    def test_without_reconnect_the_first_break_ends_it(self) -> None:
        servicer = BreakingTopology(history(2, 5), per_stream=2)
        watch = self.client(servicer).watch(since_revision=1, reconnect=False)
        with self.assertRaises(clownix.UnavailableError):
            for _ in watch:
                pass
        self.assertEqual(watch.last_revision, 3)
        ended = BreakingTopology(history(2, 5), per_stream=2, failure=grpc.StatusCode.OK)
        watch = self.client(ended).watch(since_revision=1, reconnect=False)
        self.assertEqual([e.revision for item in watch for e in item.events], [2, 3])

    def test_close_inside_the_loop_ends_it(self) -> None:
        servicer = BreakingTopology(history(2, 99), per_stream=4)
        count = 0
        watch = self.client(servicer).watch(max_backoff=0.1)
        for _ in watch:
            count += 1
            if count == 6:
                watch.close()
        self.assertEqual(count, 6)
        self.assertTrue(servicer.streams_ended.acquire(timeout=DEADLINE))

    def test_close_from_another_thread_wakes_a_blocked_reader(self) -> None:
        servicer = BreakingTopology(history(2, 3), per_stream=10, hang=True)
        watch = self.client(servicer).watch(since_revision=1)
        revisions: List[int] = []
        got_both = threading.Event()
        done = threading.Event()

        def read() -> None:
            for item in watch:
                revisions.extend(e.revision for e in item.events)
                if len(revisions) == 2:
                    got_both.set()
            done.set()

        threading.Thread(target=read, daemon=True).start()
        # The reader then blocks in next(): the stream sends nothing more.
        self.assertTrue(got_both.wait(DEADLINE))
        watch.close()
        self.assertTrue(done.wait(DEADLINE))
        self.assertTrue(servicer.streams_ended.acquire(timeout=DEADLINE))
        self.assertEqual(servicer.requests, [1])


if __name__ == "__main__":
    unittest.main()
