"""clownix-create-network: builds a small network on clownixd with the Python client:

    vm1 (eth1) -- lan1 -- (eth1) router (eth2) -- lan2 -- (eth1) vm2

    clownix-create-network [--server ADDR] [--prefix P] [--ca F] [--cert F --key F] [--token T]
    python3 -m clownix.tools.create_network ...

Every name gets the prefix P (default empty), so several copies can live side by side. Prints
each step with the revision it got; exits 1 with the server's message if a step fails.
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional, Tuple

import clownix
from clownix.tools import add_security_arguments


def create(client: clownix.Client, prefix: str = "") -> List[Tuple[str, int]]:
    """Creates the network, printing each step; returns the (step, revision) pairs."""
    steps = []

    def step(text: str, revision: int) -> None:
        steps.append((text, revision))
        print("%-40s revision %d" % (text, revision), flush=True)

    for lan in ("lan1", "lan2"):
        step("create lan " + prefix + lan, client.create_lan(prefix + lan))
    for name, nics, role in (("vm1", 2, "host"), ("router", 3, "router"), ("vm2", 2, "host")):
        response = client.create_vm(prefix + name, nic_count=nics, labels={"role": role})
        step("create vm %s (#%d)" % (response.vm.name, response.vm.number), response.revision)
    for vm, index, lan in (("vm1", 1, "lan1"), ("router", 1, "lan1"), ("router", 2, "lan2"),
                           ("vm2", 1, "lan2")):
        step("connect %s%s/eth%d %s%s" % (prefix, vm, index, prefix, lan),
             client.connect_nic(prefix + vm, index, prefix + lan))
    return steps


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the program; returns its exit status (2: bad arguments, 1: a step failed)."""
    parser = argparse.ArgumentParser(prog="clownix-create-network",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", help="clownixd address, unix:PATH or HOST:PORT")
    parser.add_argument("--prefix", default="", help="prefix for every name")
    add_security_arguments(parser)
    args = parser.parse_args(argv)
    try:
        client = clownix.Client(args.server, ca=args.ca, cert=args.cert, key=args.key,
                                token=args.token, token_file=args.token_file)
    except (clownix.AddressError, clownix.CredentialsError) as error:
        print("%s: %s" % (parser.prog, error), file=sys.stderr)
        return 2
    with client:
        try:
            create(client, args.prefix)
        except clownix.CallError as error:
            print("%s: %s" % (parser.prog, error), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
