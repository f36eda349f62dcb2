"""Where the client finds clownixd: the rule every clownix client follows (the C++ home of it is
clients/common/server_address.h; docs/cli.md), so a script and the CLI run in one shell reach the
same server. The names match: choose_server_address, grpc_target, server_target.

The address is the one given (`--server ADDR`), else $CLOWNIX_SERVER, else the socket in
$CLOWNIX_WORK_DIR (`unix:$CLOWNIX_WORK_DIR/clownixd.sock`), else
`unix:/tmp/clownix/clownixd.sock`; empty values count as unset. An address is `unix:PATH`, an
absolute socket PATH (taken as `unix:PATH`), or `HOST:PORT`.
"""

from __future__ import annotations

import os
import re
from typing import Mapping, Optional

from clownix.errors import AddressError

DEFAULT_ADDRESS = "unix:/tmp/clownix/clownixd.sock"

_DIGITS = re.compile(r"[0-9]+")


def choose_server_address(address: Optional[str] = None,
                          environ: Optional[Mapping[str, str]] = None) -> str:
    """The address to use: `address` if non-empty, else from `environ` (default os.environ) by
    the rule above. Does not check its form; see grpc_target()."""
    if address:
        return address
    env = os.environ if environ is None else environ
    if env.get("CLOWNIX_SERVER"):
        return env["CLOWNIX_SERVER"]
    work_dir = env.get("CLOWNIX_WORK_DIR")
    if work_dir:
        while len(work_dir) > 1 and work_dir.endswith("/"):
            work_dir = work_dir[:-1]
        return "unix:" + work_dir + ("" if work_dir == "/" else "/") + "clownixd.sock"
    return DEFAULT_ADDRESS


def grpc_target(address: str) -> str:
    """The gRPC target for `address` (`unix:PATH`, `/PATH` or `HOST:PORT`).

    Raises AddressError (a ValueError), quoting the address, when it is none of those."""

    def bad(why: str) -> AddressError:
        return AddressError('bad server address "%s": %s (expected unix:PATH or HOST:PORT)' %
                            (address, why))

    if address.startswith("unix:"):
        if address == "unix:":
            raise bad("empty socket path")
        return address
    if address.startswith("/"):
        return "unix:" + address
    host, colon, port = address.rpartition(":")
    if not colon:
        raise bad("no port")
    if not _DIGITS.fullmatch(port) or not 0 < int(port) <= 65535:
        raise bad("port must be 1..65535")
    if not host:
        raise bad("no host")
    return address


def server_target(address: Optional[str] = None,
                  environ: Optional[Mapping[str, str]] = None) -> str:
    """grpc_target(choose_server_address(address, environ)): the target `clownix --server
    address` would connect to. Raises AddressError."""
    return grpc_target(choose_server_address(address, environ))
