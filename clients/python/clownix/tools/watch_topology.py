"""clownix-watch-topology: a live table of a clownixd topology (VMs, LANs, taps, links), resuming
by itself when the connection breaks.

    clownix-watch-topology [--server ADDR] [--since R] [--selector S] [--json] [--until R]
                           [--ca F] [--cert F --key F] [--token T | --token_file F]
    python3 -m clownix.tools.watch_topology ...

On a terminal the table is redrawn in place on every change; otherwise it is printed after each
change. --json prints instead one JSON WatchResponse per snapshot or event, the same lines as
`clownix watch --json`.
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

import clownix
from clownix.tools import add_security_arguments


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the program; returns its exit status (2: bad arguments, 1: a call failed)."""
    parser = argparse.ArgumentParser(prog="clownix-watch-topology",
                                     description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", help="clownixd address, unix:PATH or HOST:PORT (default: "
                        "$CLOWNIX_SERVER, $CLOWNIX_WORK_DIR/clownixd.sock, or %s)" %
                        clownix.DEFAULT_ADDRESS)
    parser.add_argument("--since", type=int, default=0,
                        help="resume after revision R (0: start with a snapshot)")
    parser.add_argument("--selector", default="", help="only changes to matching objects")
    parser.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    parser.add_argument("--until", type=int, default=0,
                        help="exit once revision R has been seen")
    parser.add_argument("--heartbeat-interval-ms", type=int, default=0)
    add_security_arguments(parser)
    args = parser.parse_args(argv)

    try:
        client = clownix.Client(args.server, ca=args.ca, cert=args.cert, key=args.key,
                                token=args.token, token_file=args.token_file)
    except (clownix.AddressError, clownix.CredentialsError) as error:
        print("%s: %s" % (parser.prog, error), file=sys.stderr)
        return 2
    view = clownix.TopologyView()
    redraw = sys.stdout.isatty() and not args.json
    try:
        with client, client.watch(since_revision=args.since, selector=args.selector,
                                  heartbeat_interval_ms=args.heartbeat_interval_ms) as watch:
            for item in watch:
                if item.HasField("heartbeat"):
                    continue
                if args.json:
                    print(clownix.to_json_line(item), flush=True)
                elif view.apply(item):
                    if redraw:
                        sys.stdout.write("\x1b[H\x1b[2J")
                    print(view.render(), flush=True)
                    if not redraw:
                        print(flush=True)
                if args.until and watch.last_revision >= args.until:
                    return 0
    except clownix.CallError as error:
        print("%s: %s" % (parser.prog, error), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
