"""A resumable watch of clownixd's topology.

A Watch is an iterator of single-item WatchResponses: a snapshot, one event, or a heartbeat. It
keeps its own cursor, `last_revision`: the revision of the last snapshot or event it returned.
When the stream breaks in a way that says "try again" (UNAVAILABLE: clownixd restarting or the
connection gone; CANCELLED: clownixd shutting down cancels its streams; RESOURCE_EXHAUSTED: the
watcher was dropped for reading too slowly; or the server ending the stream), it opens a new
stream with since_revision = last_revision, backing off from 0.1 s up to `max_backoff`. The
caller sees every change once, in order; if the server no longer holds that history, the new
stream starts with a snapshot (reason HISTORY_EXPIRED) that replaces everything seen so far.

The cursor survives the process: store `watch.last_revision`, and later resume with
`client.watch(since_revision=stored)`.
"""

from __future__ import annotations

import collections
import threading
from types import TracebackType
from typing import Any, Deque, Iterator, List, Optional, Type

import grpc
from google.protobuf import json_format

from clownix import errors
from clownix.v1 import topology_pb2
from clownix.v1 import topology_pb2_grpc

# Stream endings after which a Watch resumes. A Watch never cancels a call it still reads (only
# close() does, and then it stops), so CANCELLED comes from the server shutting down.
_RESUMABLE = frozenset((grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED,
                        grpc.StatusCode.RESOURCE_EXHAUSTED))

_FIRST_BACKOFF = 0.1


def split_watch_response(response: topology_pb2.WatchResponse) -> List[topology_pb2.WatchResponse]:
    """One WatchResponse per item, in stream order: the snapshot, then each event, then the
    heartbeat. The server batches freely; single items are what two watchers can compare."""
    items = []
    if response.HasField("snapshot"):
        items.append(topology_pb2.WatchResponse(snapshot=response.snapshot))
    for event in response.events:
        items.append(topology_pb2.WatchResponse(events=[event]))
    if response.HasField("heartbeat"):
        items.append(topology_pb2.WatchResponse(heartbeat=response.heartbeat))
    return items


def to_json_line(message: Any) -> str:
    """A protobuf message in the JSON mapping on one line: the format of `clownix watch --json`."""
    line: str = json_format.MessageToJson(message, indent=None)
    return line


class Watch(Iterator[topology_pb2.WatchResponse]):
    """Iterates over the topology's changes, resuming across broken streams (see the module's
    docstring). Made by Client.watch(); iterate it in one thread. close() may be called from any
    thread: it ends the iteration, waking a blocked `next()`. Use it as a context manager to close
    it on the way out.

    Raises CallError (see clownix.errors) for a failure it does not resume from, or for any
    failure when made with reconnect=False.
    """

    def __init__(self, stub: topology_pb2_grpc.TopologyStub, since_revision: int = 0,
                 selector: str = "", heartbeat_interval_ms: int = 0, reconnect: bool = True,
                 max_backoff: float = 5.0, omit_guest_config: bool = False) -> None:
        self._stub = stub
        self._selector = selector
        self._omit_guest_config = omit_guest_config
        self._heartbeat_interval_ms = heartbeat_interval_ms
        self._reconnect = reconnect
        self._max_backoff = max_backoff
        self._last_revision = since_revision
        self._reconnects = 0
        self._pending: Deque[topology_pb2.WatchResponse] = collections.deque()
        self._backoff = _FIRST_BACKOFF
        self._broken = False  # The last stream ended: back off before the next one.
        self._closed = threading.Event()
        self._lock = threading.Lock()  # Guards _call between close() and the reading thread.
        self._call: Any = None  # The open grpc stream, an iterator of WatchResponses.

    @property
    def last_revision(self) -> int:
        """The revision of the last snapshot or event returned (at first, `since_revision`):
        where the next stream resumes."""
        return self._last_revision

    @property
    def reconnects(self) -> int:
        """How many times a broken stream was reopened."""
        return self._reconnects

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def __iter__(self) -> Watch:
        return self

    def __next__(self) -> topology_pb2.WatchResponse:
        while True:
            if self._closed.is_set():
                self._end_call()
                raise StopIteration
            if self._pending:
                item = self._pending.popleft()
                if item.HasField("snapshot"):
                    self._last_revision = item.snapshot.topology.revision
                elif item.events:
                    self._last_revision = item.events[0].revision
                return item
            with self._lock:
                call = self._call
            if call is None:
                call = self._open_call()
                if call is None:
                    continue
            try:
                response = next(call)
            except StopIteration:
                # The server ended the stream: it is going away.
                self._stream_broke(None)
                continue
            except grpc.RpcError as error:
                self._stream_broke(error)
                continue
            self._backoff = _FIRST_BACKOFF
            self._pending.extend(split_watch_response(response))

    def close(self) -> None:
        """Ends the watch: the current stream is cancelled and iteration stops. Idempotent."""
        self._closed.set()
        self._end_call()

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 traceback: Optional[TracebackType]) -> None:
        self.close()

    def _open_call(self) -> Any:
        """Opens the next stream, after a backoff when the last one broke; None when closed in
        the meantime."""
        if self._broken:
            if self._closed.wait(self._backoff):
                return None
            self._backoff = min(self._backoff * 2, self._max_backoff)
            self._reconnects += 1
            self._broken = False
        request = topology_pb2.WatchRequest(since_revision=self._last_revision,
                                            label_selector=self._selector,
                                            heartbeat_interval_ms=self._heartbeat_interval_ms,
                                            omit_guest_config=self._omit_guest_config)
        with self._lock:
            if self._closed.is_set():
                return None
            self._call = self._stub.Watch(request)
            return self._call

    def _stream_broke(self, error: Optional[grpc.RpcError]) -> None:
        """After the stream ended (error None: the server closed it). Returns to resume, or ends
        the watch: StopIteration when closed, or when the server ended it and reconnect is off;
        the CallError for an error it does not resume from."""
        self._end_call()
        if self._closed.is_set():
            raise StopIteration
        resumable = error is None or error.code() in _RESUMABLE
        if not self._reconnect or not resumable:
            self._closed.set()
            if error is None:
                raise StopIteration
            raise errors.from_rpc_error(error) from error
        self._broken = True

    def _end_call(self) -> None:
        with self._lock:
            call, self._call = self._call, None
        if call is not None:
            call.cancel()
