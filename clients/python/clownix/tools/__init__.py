"""Small programs built on the client, each runnable as `python3 -m clownix.tools.NAME` and
installed as a command: watch_topology (clownix-watch-topology), create_network
(clownix-create-network)."""

from __future__ import annotations

import argparse


def add_security_arguments(parser: argparse.ArgumentParser) -> None:
    """--ca, --cert, --key, --token and --token_file, as the `clownix` CLI has them (defaults:
    $CLOWNIX_CA, $CLOWNIX_CERT, $CLOWNIX_KEY, $CLOWNIX_TOKEN, $CLOWNIX_TOKEN_FILE)."""
    parser.add_argument("--ca", help="TLS: the CA that signed clownixd's certificate (a HOST:PORT "
                        "server is reached over TLS when --ca or --cert is set)")
    parser.add_argument("--cert", help="TLS: client certificate (PEM), with --key")
    parser.add_argument("--key", help="TLS: the client certificate's key (PEM)")
    parser.add_argument("--token", help="API token, sent as \"authorization: Bearer TOKEN\"")
    parser.add_argument("--token_file", "--token-file", dest="token_file",
                        help="file whose first line is the API token")
