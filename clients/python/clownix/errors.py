"""The exceptions this package raises.

Every one is a ClownixError. A call that clownixd (or the connection to it) failed raises a
CallError carrying the gRPC status code and the server's message, or the subclass for the codes
clownixd uses to say what went wrong (its house style: INVALID_ARGUMENT for input that can
never work, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION for the wrong state, UNAVAILABLE for a
transient failure, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED; UNAUTHENTICATED and PERMISSION_DENIED
when the call's token is missing or its role too weak; ABORTED when what a capture watched went
away). The original grpc.RpcError is the
exception's __cause__. Calls made through the raw stubs (Client.topology, .machines, .switch)
raise grpc.RpcError as gRPC does; from_rpc_error() converts one.

    try:
        client.create_lan("lan1")
    except clownix.AlreadyExistsError:
        pass
"""

from __future__ import annotations

from typing import Dict, Type

import grpc


class ClownixError(Exception):
    """Base class of every error raised by the clownix package."""


class AddressError(ClownixError, ValueError):
    """A server address that is neither unix:PATH, /PATH nor HOST:PORT."""


class CredentialsError(ClownixError, ValueError):
    """TLS files or a token that cannot be used: a certificate without its key, a file that
    cannot be read, an empty token file (clownix.security)."""


class CallError(ClownixError):
    """A call to clownixd failed. `code` is the grpc.StatusCode, `details` the server's message
    (it names the offending object: `lan "blue" does not exist`)."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__("%s (%s)" % (details, code.name))
        self.code = code
        self.details = details


class InvalidArgumentError(CallError):
    """INVALID_ARGUMENT: the request can never work as written (a bad name, a bad value)."""


class NotFoundError(CallError):
    """NOT_FOUND: an object the request names does not exist."""


class AlreadyExistsError(CallError):
    """ALREADY_EXISTS: an object with that name exists."""


class FailedPreconditionError(CallError):
    """FAILED_PRECONDITION: the object is in the wrong state for this (e.g. a VM not running)."""


class UnavailableError(CallError):
    """UNAVAILABLE: clownixd is not reachable or not ready for now; retrying may work."""


class DeadlineExceededError(CallError):
    """DEADLINE_EXCEEDED: the call's timeout ran out."""


class ResourceExhaustedError(CallError):
    """RESOURCE_EXHAUSTED: a limit was reached (or a watcher fell too far behind)."""


class AbortedError(CallError):
    """ABORTED: what the call was about went away meanwhile (a captured VM deleted, its port
    gone)."""


class UnauthenticatedError(CallError):
    """UNAUTHENTICATED: the call needs a token (or a known one): see the message for the role."""


class PermissionDeniedError(CallError):
    """PERMISSION_DENIED: the token's role is too weak; the message names the role needed."""


_BY_CODE: Dict[grpc.StatusCode, Type[CallError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.ABORTED: AbortedError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
}


def from_rpc_error(error: grpc.RpcError) -> CallError:
    """The CallError (or subclass) for a failed gRPC call. Raise it `from error`."""
    # A failed call's exception is also a grpc.Call with code() and details(); an RpcError that
    # is not (gRPC does not raise those for calls) counts as UNKNOWN.
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = (error.details() if hasattr(error, "details") else None) or str(error)
    return _BY_CODE.get(code, CallError)(code, details)
