"""clownix: a Python client of clownixd, the clownix network emulator.

    import clownix

    with clownix.Client() as client:          # the server the `clownix` CLI would use
        client.create_lan("lan1")
        client.create_vm("vm1", nic_count=2, labels={"role": "host"})
        client.connect_nic("vm1", 1, "lan1")

        view = clownix.TopologyView()
        with client.watch() as watch:          # resumes by itself across disconnects
            for item in watch:
                if view.apply(item):
                    print(view.render())

The generated API is clownix.v1 (resources_pb2, topology_pb2, machines_pb2, switch_pb2 and their
*_pb2_grpc stubs). Failed calls raise clownix.CallError subclasses (clownix.errors).
"""

from clownix.address import DEFAULT_ADDRESS
from clownix.address import choose_server_address
from clownix.address import grpc_target
from clownix.address import server_target
from clownix.client import Client
from clownix.errors import AbortedError
from clownix.errors import AddressError
from clownix.errors import AlreadyExistsError
from clownix.errors import CallError
from clownix.errors import ClownixError
from clownix.errors import CredentialsError
from clownix.errors import DeadlineExceededError
from clownix.errors import FailedPreconditionError
from clownix.errors import InvalidArgumentError
from clownix.errors import NotFoundError
from clownix.errors import PermissionDeniedError
from clownix.errors import ResourceExhaustedError
from clownix.errors import UnauthenticatedError
from clownix.errors import UnavailableError
from clownix.errors import from_rpc_error
from clownix.security import ChannelSecurity
from clownix.security import channel_credentials
from clownix.security import choose_channel_security
from clownix.view import TopologyView
from clownix.view import endpoint_text
from clownix.watch import Watch
from clownix.watch import split_watch_response
from clownix.watch import to_json_line

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_ADDRESS",
    "AbortedError",
    "AddressError",
    "AlreadyExistsError",
    "CallError",
    "ChannelSecurity",
    "Client",
    "ClownixError",
    "CredentialsError",
    "DeadlineExceededError",
    "FailedPreconditionError",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "TopologyView",
    "UnauthenticatedError",
    "UnavailableError",
    "Watch",
    "channel_credentials",
    "choose_channel_security",
    "choose_server_address",
    "endpoint_text",
    "from_rpc_error",
    "grpc_target",
    "server_target",
    "split_watch_response",
    "to_json_line",
]
