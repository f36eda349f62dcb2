"""How the client secures its channel to clownixd: the rule every clownix client follows (the C++
home of it is clients/common/channel_security.h; docs/cli.md), so a script and the CLI run in one
shell with the same settings reach the server alike. The names match: choose_channel_security,
channel_credentials.

    setting     argument    variable            what
    CA          ca          CLOWNIX_CA          PEM file of the CA that signed clownixd's cert
    client cert cert        CLOWNIX_CERT        PEM file, for clownixd --client_ca
    client key  key         CLOWNIX_KEY         its private key, PEM file
    token       token       CLOWNIX_TOKEN       sent as "authorization: Bearer TOKEN"
    token file  token_file  CLOWNIX_TOKEN_FILE  a file whose first line is the token

An argument wins over its variable; a token or token file argument wins over both variables;
empty values count as unset. A HOST:PORT address is reached over TLS when a CA or a client
certificate is set, in plaintext otherwise (clownixd serves plaintext only on loopback); a unix:
socket is always plaintext (the kernel guards it), so the TLS settings may stay set for a remote
server while a local socket is used. The token, when set, goes with every call on either.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Mapping, Optional

import grpc

from clownix.errors import CredentialsError

_MAX_FILE_BYTES = 1 << 20


@dataclasses.dataclass(frozen=True)
class ChannelSecurity:
    """The settings above; empty strings are unset."""

    ca: str = ""
    cert: str = ""
    key: str = ""
    token: str = ""
    token_file: str = ""


def choose_channel_security(ca: Optional[str] = None, cert: Optional[str] = None,
                            key: Optional[str] = None, token: Optional[str] = None,
                            token_file: Optional[str] = None,
                            environ: Optional[Mapping[str, str]] = None) -> ChannelSecurity:
    """The arguments, completed from `environ` (default os.environ) by the rule above."""
    env = os.environ if environ is None else environ
    chosen_token = token or ""
    chosen_token_file = token_file or ""
    if not chosen_token and not chosen_token_file:
        chosen_token = env.get("CLOWNIX_TOKEN") or ""
        if not chosen_token:
            chosen_token_file = env.get("CLOWNIX_TOKEN_FILE") or ""
    return ChannelSecurity(ca=ca or env.get("CLOWNIX_CA") or "",
                           cert=cert or env.get("CLOWNIX_CERT") or "",
                           key=key or env.get("CLOWNIX_KEY") or "",
                           token=chosen_token, token_file=chosen_token_file)


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(_MAX_FILE_BYTES + 1)
    except OSError as error:
        raise CredentialsError("%s: %s: %s" % (what, path, error.strerror)) from error
    if len(data) > _MAX_FILE_BYTES:
        raise CredentialsError("%s: %s is larger than %d bytes" % (what, path, _MAX_FILE_BYTES))
    return data


def channel_credentials(target: str, security: ChannelSecurity) -> grpc.ChannelCredentials:
    """The credentials for `target` (a gRPC target, see clownix.address.grpc_target): TLS or
    local (plaintext), with the token as call credentials. Reads the files it names. Raises
    CredentialsError for a certificate without a key (or the reverse), both a token and a token
    file, an empty token file, or a file that cannot be read."""
    if bool(security.cert) != bool(security.key):
        raise CredentialsError("a client certificate needs its key and the reverse: give both "
                               "cert and key ($CLOWNIX_CERT and $CLOWNIX_KEY)")
    if security.token and security.token_file:
        raise CredentialsError("give a token or a token file, not both")
    token = security.token
    if security.token_file:
        lines = _read(security.token_file, "token file").decode(errors="replace").split("\n")
        token = lines[0].strip()
        if not token:
            raise CredentialsError("token file %s holds no token" % security.token_file)
    unix_socket = target.startswith("unix:")
    credentials: grpc.ChannelCredentials
    if not unix_socket and (security.ca or security.cert):
        credentials = grpc.ssl_channel_credentials(
            root_certificates=_read(security.ca, "CA") if security.ca else None,
            private_key=_read(security.key, "client key") if security.key else None,
            certificate_chain=_read(security.cert, "client certificate") if security.cert
            else None)
    else:
        # Local credentials are plaintext on the wire, like an insecure channel, but let gRPC
        # send call credentials (the token); LOCAL_TCP also refuses to connect off loopback.
        credentials = grpc.local_channel_credentials(
            grpc.LocalConnectionType.UDS if unix_socket else grpc.LocalConnectionType.LOCAL_TCP)
    if not token:
        return credentials
    return grpc.composite_channel_credentials(credentials,
                                              grpc.access_token_call_credentials(token))
