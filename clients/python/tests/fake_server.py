"""An in-process gRPC server on a unix socket under /tmp, for tests that need clownixd's services
without clownixd (the real one is used in integration_tests/cli)."""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import tempfile
import unittest
from typing import Any

import grpc


def serve(test: unittest.TestCase, *add_servicers: Any) -> str:
    """Starts a server with the given (add_XServicer_to_server, servicer) pairs; returns its
    address. Stopped and removed when the test ends."""
    # A unix socket path must stay under 108 bytes, which Bazel's TEST_TMPDIR may not.
    directory = tempfile.mkdtemp(prefix="clownix-py-", dir="/tmp")
    test.addCleanup(shutil.rmtree, directory)
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=4))
    for add, servicer in add_servicers:
        add(servicer, server)
    address = "unix:" + os.path.join(directory, "s.sock")
    server.add_insecure_port(address)
    server.start()
    test.addCleanup(server.stop, None)
    return address
