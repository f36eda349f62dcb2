#!/usr/bin/python3
"""clownix_watch: a live table of a clownixd topology (VMs, LANs, taps, links), resuming by
itself when the connection breaks.

    clownix_watch.py [--server ADDR] [--since R] [--selector S] [--json] [--until R]

On a terminal the table is redrawn in place on every change; otherwise it is printed after each
change. --json prints instead one JSON WatchResponse per snapshot or event, the same lines as
`clownix watch --json`.
"""

import argparse
import sys

import grpc

import clownix_client


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", help="clownixd address, unix:PATH or HOST:PORT (default: "
                        "$CLOWNIX_SERVER, $CLOWNIX_WORK_DIR/clownixd.sock, or %s)" %
                        clownix_client.DEFAULT_ADDRESS)
    parser.add_argument("--since", type=int, default=0,
                        help="resume after revision R (0: start with a snapshot)")
    parser.add_argument("--selector", default="", help="only changes to matching objects")
    parser.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    parser.add_argument("--until", type=int, default=0,
                        help="exit once revision R has been seen")
    parser.add_argument("--heartbeat-interval-ms", type=int, default=0)
    args = parser.parse_args(argv)

    try:
        client = clownix_client.Client(args.server)
    except ValueError as error:
        print("clownix_watch: %s" % error, file=sys.stderr)
        return 2
    view = clownix_client.TopologyView()
    redraw = sys.stdout.isatty() and not args.json
    try:
        for item in client.watch(since_revision=args.since, selector=args.selector,
                                 heartbeat_interval_ms=args.heartbeat_interval_ms):
            if item.HasField("heartbeat"):
                continue
            if args.json:
                print(clownix_client.to_json_line(item), flush=True)
            elif view.apply(item):
                if redraw:
                    sys.stdout.write("\x1b[H\x1b[2J")
                print(view.render(), flush=True)
                if not redraw:
                    print(flush=True)
            if args.until and client.last_revision >= args.until:
                return 0
    except grpc.RpcError as error:
        print("clownix_watch: %s (%s)" % (error.details(), error.code().name), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
