"""The Python client finds the server exactly where the `clownix` CLI does: for each combination
of --server, $CLOWNIX_SERVER and $CLOWNIX_WORK_DIR, the real CLI (no server listening) names the
target it tried, or rejects the address, and server_target() must agree.

The CLI binary comes from Bazel's runfiles (//clients/cli:clownix) or $CLOWNIX_CLI."""

from __future__ import annotations

import os
import re
import subprocess
import unittest
from typing import Dict, List, Optional

import clownix

DEADLINE = 20.0
_TRIED = re.compile(r"is clownixd running at (.*)\? \(choose the server")
_BAD = re.compile(r"clownix: (bad server address .*)")


def cli_path() -> Optional[str]:
    if os.environ.get("CLOWNIX_CLI"):
        return os.environ["CLOWNIX_CLI"]
    if os.environ.get("TEST_SRCDIR"):
        return os.path.join(os.environ["TEST_SRCDIR"], "clownix", "clients", "cli", "clownix")
    return None


# (--server, $CLOWNIX_SERVER, $CLOWNIX_WORK_DIR); None: not given. No server listens at any.
CASES = [
    (None, None, None),
    (None, None, "/nonexistent/w"),
    (None, None, "/nonexistent/w//"),
    (None, None, "/"),
    (None, None, "rel/dir"),
    (None, "", "/nonexistent/w"),
    (None, "unix:/nonexistent/s.sock", "/nonexistent/w"),
    (None, "/nonexistent/s.sock", None),
    ("", "unix:/nonexistent/s.sock", None),
    ("unix:/nonexistent/flag.sock", "unix:/nonexistent/s.sock", "/nonexistent/w"),
    ("/nonexistent/flag.sock", None, None),
    ("127.0.0.1:1", None, None),
    ("localhost", None, None),
    ("unix:", None, None),
    ("host:0", None, None),
    ("host:65536", None, None),
    ("host:http", None, None),
    (None, ":7000", None),
    (None, "nohost", "/nonexistent/w"),
]


class CliParityTest(unittest.TestCase):
    def test_same_target_or_same_error_as_the_cli(self) -> None:
        cli = cli_path()
        if cli is None or not os.access(cli, os.X_OK):
            self.skipTest("no clownix CLI (set CLOWNIX_CLI)")
        for flag, server, work_dir in CASES:
            with self.subTest(flag=flag, server=server, work_dir=work_dir):
                env: Dict[str, str] = {k: v for k, v in os.environ.items()
                                       if k not in ("CLOWNIX_SERVER", "CLOWNIX_WORK_DIR")}
                if server is not None:
                    env["CLOWNIX_SERVER"] = server
                if work_dir is not None:
                    env["CLOWNIX_WORK_DIR"] = work_dir
                try:
                    expected = clownix.server_target(flag, env)
                except clownix.AddressError as error:
                    expected = str(error)
                if expected == clownix.DEFAULT_ADDRESS and os.path.exists(
                        expected[len("unix:"):]):
                    self.skipTest("a clownixd may be listening at the default address")
                args: List[str] = [cli, "--timeout", "2s"]
                if flag is not None:
                    args += ["--server", flag]
                result = subprocess.run(args + ["topo"], env=env, capture_output=True,
                                        text=True, timeout=DEADLINE)
                said = _TRIED.search(result.stderr) or _BAD.search(result.stderr)
                self.assertIsNotNone(said, result.stderr)
                assert said is not None
                self.assertEqual(said.group(1), expected)


if __name__ == "__main__":
    unittest.main()
