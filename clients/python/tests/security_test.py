"""The channel security rule: the cases of clients/common/channel_security_test.cc (the C++
clients' rule), so both languages read flags and variables alike; and a token really sent."""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import tempfile
import unittest
from typing import List, Optional

import grpc

import clownix
from clownix import security


class ChooseChannelSecurityTest(unittest.TestCase):
    ENV = {"CLOWNIX_CA": "/env/ca", "CLOWNIX_CERT": "/env/cert", "CLOWNIX_KEY": "/env/key",
           "CLOWNIX_TOKEN": "envtoken", "CLOWNIX_TOKEN_FILE": "/env/token"}

    def test_arguments_win_over_the_environment(self) -> None:
        chosen = security.choose_channel_security(ca="/flag/ca", environ=self.ENV)
        self.assertEqual(chosen, security.ChannelSecurity(
            ca="/flag/ca", cert="/env/cert", key="/env/key", token="envtoken", token_file=""))
        # A token file given as an argument wins over the token variable.
        chosen = security.choose_channel_security(token_file="/flag/token", environ=self.ENV)
        self.assertEqual((chosen.token, chosen.token_file), ("", "/flag/token"))

    def test_empty_variables_are_unset(self) -> None:
        chosen = security.choose_channel_security(environ={
            "CLOWNIX_CA": "", "CLOWNIX_TOKEN": "", "CLOWNIX_TOKEN_FILE": "/env/token"})
        self.assertEqual((chosen.ca, chosen.token, chosen.token_file), ("", "", "/env/token"))
        self.assertEqual(security.choose_channel_security(environ={}), security.ChannelSecurity())


class ChannelCredentialsTest(unittest.TestCase):
    def setUp(self) -> None:
        # Under /tmp: a unix socket path must stay under 108 bytes.
        self.dir = tempfile.mkdtemp(prefix="clownix-security.", dir="/tmp")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write(self, name: str, text: str) -> str:
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_plain_local_or_tls_with_or_without_a_token(self) -> None:
        credentials = security.channel_credentials
        self.assertIsNotNone(credentials("unix:/tmp/s.sock", security.ChannelSecurity()))
        self.assertIsNotNone(credentials("127.0.0.1:7311", security.ChannelSecurity()))
        self.assertIsNotNone(credentials("unix:/tmp/s.sock",
                                         security.ChannelSecurity(token="t0k3nt0k3nt0k3nt0k3n")))
        ca = self.write("ca.pem", "-----BEGIN CERTIFICATE-----\n")
        self.assertIsNotNone(credentials("lab.example:7311", security.ChannelSecurity(
            ca=ca, token="t0k3nt0k3nt0k3nt0k3n")))
        # A unix socket does not read the TLS files: they may name a remote server's.
        missing = security.ChannelSecurity(ca="/nonexistent/ca.pem")
        self.assertIsNotNone(credentials("unix:/tmp/s.sock", missing))
        with self.assertRaisesRegex(clownix.CredentialsError, "CA: /nonexistent/ca.pem"):
            credentials("lab.example:7311", missing)

    def test_refuses_half_a_pair_and_two_tokens(self) -> None:
        with self.assertRaisesRegex(clownix.CredentialsError, "give both"):
            security.channel_credentials("h:1", security.ChannelSecurity(cert="/c"))
        with self.assertRaises(ValueError):
            security.channel_credentials("h:1", security.ChannelSecurity(token="a",
                                                                         token_file="/t"))

    def test_a_token_file_gives_its_first_line(self) -> None:
        path = self.write("token", "  t0k3nt0k3nt0k3nt0k3n  \nrest\n")
        self.assertIsNotNone(security.channel_credentials(
            "h:1", security.ChannelSecurity(token_file=path)))
        with self.assertRaisesRegex(clownix.CredentialsError, "holds no token"):
            security.channel_credentials("h:1", security.ChannelSecurity(
                token_file=self.write("empty", "\n")))
        with self.assertRaisesRegex(clownix.CredentialsError, "token file: /nonexistent"):
            security.channel_credentials("h:1", security.ChannelSecurity(
                token_file="/nonexistent/token"))

    def test_the_client_sends_the_token(self) -> None:
        seen: List[Optional[str]] = []

        def handler(request: bytes, context: grpc.ServicerContext) -> bytes:
            seen.append(dict(context.invocation_metadata()).get("authorization"))
            return b""

        server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=2))
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
            "clownix.v1.Topology", {"DeleteLan": grpc.unary_unary_rpc_method_handler(handler)}),))
        socket = os.path.join(self.dir, "s.sock")
        server.add_insecure_port("unix:" + socket)
        server.start()
        try:
            with clownix.Client("unix:" + socket, environ={},
                                token="t0k3nt0k3nt0k3nt0k3n") as client:
                client.delete_lan("x")
            with clownix.Client("unix:" + socket, environ={"CLOWNIX_TOKEN": "env"}) as client:
                client.delete_lan("x")
            with clownix.Client("unix:" + socket, environ={}) as client:
                client.delete_lan("x")
        finally:
            server.stop(None)
        self.assertEqual(seen, ["Bearer t0k3nt0k3nt0k3nt0k3n", "Bearer env", None])


if __name__ == "__main__":
    unittest.main()
