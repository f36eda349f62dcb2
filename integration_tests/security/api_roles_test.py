"""The API lets in only who it should: the role matrix against the real clownixd.

clownixd runs with a TLS listener that requires client certificates (--listen 127.0.0.1:0, the
port the kernel picks; --tls_cert, --tls_key, --client_ca) and a tokens file with a viewer, an
operator and an admin. Certificates are made here with the openssl command line: a CA, a server
certificate for 127.0.0.1/localhost, a client certificate, and a client certificate from another
CA. Every RPC of every service the server lists through reflection is called with an empty
request under: no token, each role's token, a wrong token, a client certificate from the wrong
CA, no client certificate, and plaintext against the TLS port. The expected role of a method is
stated here from the issue's words (read-only calls: viewer; Exec and Console: admin; everything
else: operator), independently of server/api_roles.cc, and the status codes are asserted
exactly: a call a role may make ends as it does for admin on the owner-only unix socket.

Then the other listener rules (plaintext only on loopback, --socket_group with tokens, mutual TLS
without tokens, the refusals at start) and the clients (the `clownix` CLI with --ca, --cert,
--key and --token or their variables, the Python client).
"""

import os
import re
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest

RUNFILES = os.path.join(os.environ["TEST_SRCDIR"], "clownix")
CLOWNIXD = os.path.join(RUNFILES, "server", "clownixd")
CLOWNIX = os.path.join(RUNFILES, "clients", "cli", "clownix")
sys.path.insert(0, os.path.join(RUNFILES, "clients", "python"))
sys.path.insert(0, os.path.join(RUNFILES, "integration_tests", "security"))

import grpc  # noqa: E402
from google.protobuf import descriptor_pb2  # noqa: E402

import clownix  # noqa: E402
import reflection_pb2  # noqa: E402
import reflection_pb2_grpc  # noqa: E402

DEADLINE = 20.0
CALL_TIMEOUT = 10.0
C = grpc.StatusCode

# What the issue says each kind of call needs.
READ_ONLY_PREFIXES = ("Get", "List")
READ_ONLY_SERVICES = ("grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection",
                      "grpc.reflection.v1.ServerReflection")
ROOT_IN_GUESTS = ("/clownix.v1.Machines/Exec", "/clownix.v1.Machines/Console")
ROLES = ("viewer", "operator", "admin")


def expected_role(path):
    service, method = path[1:].split("/")
    if path in ROOT_IN_GUESTS:
        return "admin"
    if service in READ_ONLY_SERVICES or method == "Watch" or method.startswith(READ_ONLY_PREFIXES):
        return "viewer"
    return "operator"


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True,
                   timeout=60)


def make_certificates(directory):
    """ca.pem, server.{pem,key}, client.{pem,key}, and other-client.{pem,key} from other-ca."""
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca + ".key",
                "-out", ca + ".pem", "-days", "2", "-subj", "/CN=clownix test " + ca,
                cwd=directory)
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, ca, ext in (("server", "ca", ["-extfile", "server.ext"]),
                          ("client", "ca", []), ("other-client", "other-ca", [])):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out",
                name + ".csr", "-subj", "/CN=" + name, cwd=directory)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
                "-CAcreateserial", "-out", name + ".pem", "-days", "2", *ext, cwd=directory)


def read(path):
    with open(path, "rb") as f:
        return f.read()


class Clownixd:
    """clownixd on a fresh work dir with `args`; stopped by its pid."""

    def __init__(self, directory, name, args):
        self.work_dir = os.path.join(directory, name)
        self.socket = os.path.join(self.work_dir, "clownixd.sock")
        self.log_path = os.path.join(directory, name + ".log")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [CLOWNIXD, "--work_dir", self.work_dir, "--nobackends"] + list(args),
                stdout=log, stderr=log)
        self.port = 0
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            match = re.search(r"serving on .* port (\d+)|serving on ", self.log())
            if match:
                self.port = int(match.group(1) or 0)
                return
            if self.process.poll() is not None:
                raise AssertionError("clownixd exited with %d:\n%s" % (self.process.returncode,
                                                                      self.log()))
            time.sleep(0.02)
        raise AssertionError("clownixd did not serve within %ds:\n%s" % (DEADLINE, self.log()))

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def call(channel, method, token=None):
    """Calls `method` (a MethodDescriptorProto's path and streaming kinds) with an empty request;
    the status code: OK once a response came (a stream is then cancelled), else the error's."""
    path, client_streaming, server_streaming = method
    metadata = [("authorization", "Bearer " + token)] if token else None
    requests = iter([b""])
    try:
        if not client_streaming and not server_streaming:
            channel.unary_unary(path)(b"", timeout=CALL_TIMEOUT, metadata=metadata)
            return C.OK
        if client_streaming and not server_streaming:
            channel.stream_unary(path)(requests, timeout=CALL_TIMEOUT, metadata=metadata)
            return C.OK
        if server_streaming and not client_streaming:
            responses = channel.unary_stream(path)(b"", timeout=CALL_TIMEOUT, metadata=metadata)
        else:
            responses = channel.stream_stream(path)(requests, timeout=CALL_TIMEOUT,
                                                    metadata=metadata)
        try:
            next(responses)
            return C.OK
        except StopIteration:
            return responses.code()
        finally:
            responses.cancel()
    except grpc.RpcError as error:
        return error.code()


def served_methods(channel):
    """(path, client_streaming, server_streaming) of every method of every service the server
    lists through reflection."""
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)

    def reflect(**request):
        responses = list(stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(**request)]), timeout=CALL_TIMEOUT))
        return responses[0]

    services = [s.name for s in reflect(list_services="").list_services_response.service]
    methods = []
    for service in services:
        package, _, name = service.rpartition(".")
        found = False
        response = reflect(file_containing_symbol=service)
        for raw in response.file_descriptor_response.file_descriptor_proto:
            proto = descriptor_pb2.FileDescriptorProto.FromString(raw)
            for described in proto.service:
                if proto.package == package and described.name == name:
                    found = True
                    for m in described.method:
                        methods.append(("/%s/%s" % (service, m.name), m.client_streaming,
                                        m.server_streaming))
        assert found, "reflection does not describe " + service
    return services, methods


class Fixture(unittest.TestCase):
    """A directory with certificates and a tokens file."""

    @classmethod
    def setUpClass(cls):
        # Under /tmp: unix socket paths must stay under 108 bytes.
        cls.dir = tempfile.mkdtemp(prefix="clownix-sec.", dir="/tmp")
        make_certificates(cls.dir)
        cls.tokens = {role: secrets.token_hex(24) for role in ROLES}
        cls.tokens_file = os.path.join(cls.dir, "tokens")
        with open(cls.tokens_file, "w") as f:
            f.write("# ROLE NAME TOKEN\n")
            for role in ROLES:
                f.write("%s %s-holder %s\n" % (role, role, cls.tokens[role]))
        os.chmod(cls.tokens_file, 0o600)
        cls.servers = []

    @classmethod
    def tearDownClass(cls):
        for server in cls.servers:
            server.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def start(cls, name, args):
        server = Clownixd(cls.dir, name, args)
        cls.servers.append(server)
        return server

    @classmethod
    def path(cls, name):
        return os.path.join(cls.dir, name)

    @classmethod
    def tls_channel(cls, port, client="client", ca="ca"):
        credentials = grpc.ssl_channel_credentials(
            root_certificates=read(cls.path(ca + ".pem")),
            private_key=read(cls.path(client + ".key")) if client else None,
            certificate_chain=read(cls.path(client + ".pem")) if client else None)
        return grpc.secure_channel("127.0.0.1:%d" % port, credentials)


class RoleMatrixTest(Fixture):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.start("tls", [
            "--listen", "127.0.0.1:0", "--tls_cert", cls.path("server.pem"),
            "--tls_key", cls.path("server.key"), "--client_ca", cls.path("ca.pem"),
            "--tokens_file", cls.tokens_file])
        assert cls.server.port > 0, cls.server.log()
        # The owner-only socket trusts its callers: it lists what is served and gives, as admin,
        # the outcome each call has once let through.
        cls.unix = grpc.insecure_channel("unix:" + cls.server.socket)
        cls.services, cls.methods = served_methods(cls.unix)
        cls.baseline = {m[0]: call(cls.unix, m) for m in cls.methods}

    @classmethod
    def tearDownClass(cls):
        cls.unix.close()
        super().tearDownClass()

    def assert_matrix(self, channel, token, expect):
        """Calls every method; `expect(path)` is the code each must end with."""
        got = {m[0]: call(channel, m, token) for m in self.methods}
        wanted = {m[0]: expect(m[0]) for m in self.methods}
        self.assertEqual(got, wanted)

    def test_every_served_service_is_in_the_matrix(self):
        for expected in ("clownix.v1.Topology", "clownix.v1.Machines", "clownix.v1.Switch",
                         "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"):
            self.assertIn(expected, self.services)
        # Topology 16, Machines 5, Switch 1, Health 2, reflection 1 today.
        self.assertGreaterEqual(len(self.methods), 25)
        # Admin's calls get past the authorizer: none ends UNAUTHENTICATED or PERMISSION_DENIED.
        for path, code in self.baseline.items():
            self.assertNotIn(code, (C.UNAUTHENTICATED, C.PERMISSION_DENIED, C.UNIMPLEMENTED),
                             path)

    def test_each_role_gets_its_calls_and_is_denied_the_others(self):
        order = {role: i for i, role in enumerate(ROLES)}
        with self.tls_channel(self.server.port) as channel:
            for role in ROLES:
                with self.subTest(role=role):
                    self.assert_matrix(
                        channel, self.tokens[role],
                        lambda path: (self.baseline[path]
                                      if order[role] >= order[expected_role(path)]
                                      else C.PERMISSION_DENIED))

    def test_no_token_or_a_wrong_token_is_unauthenticated(self):
        with self.tls_channel(self.server.port) as channel:
            for token in (None, "wrong" + secrets.token_hex(16),
                          self.tokens["admin"][:-1] + "x"):
                with self.subTest(token=token):
                    self.assert_matrix(channel, token, lambda path: C.UNAUTHENTICATED)

    def test_the_wrong_client_certificate_or_none_never_gets_in(self):
        for client, ca in (("other-client", "ca"), (None, "ca")):
            with self.subTest(client=client), self.tls_channel(self.server.port, client,
                                                               ca) as channel:
                self.assert_matrix(channel, self.tokens["admin"], lambda path: C.UNAVAILABLE)

    def test_plaintext_against_tls_never_gets_in(self):
        with grpc.insecure_channel("127.0.0.1:%d" % self.server.port) as channel:
            self.assert_matrix(channel, self.tokens["admin"], lambda path: C.UNAVAILABLE)

    def test_a_token_is_checked_on_the_unix_socket_too(self):
        exec_method = ("/clownix.v1.Machines/Exec", False, False)
        self.assertEqual(call(self.unix, exec_method, self.tokens["operator"]),
                         C.PERMISSION_DENIED)
        self.assertEqual(call(self.unix, exec_method, "wrong" + secrets.token_hex(16)),
                         C.UNAUTHENTICATED)
        self.assertEqual(call(self.unix, exec_method, self.tokens["admin"]),
                         self.baseline["/clownix.v1.Machines/Exec"])

    def test_messages_name_the_method_and_the_role_needed(self):
        with self.tls_channel(self.server.port) as channel:
            method = channel.unary_unary("/clownix.v1.Machines/Exec")
            with self.assertRaises(grpc.RpcError) as caught:
                method(b"", timeout=CALL_TIMEOUT,
                       metadata=[("authorization", "Bearer " + self.tokens["operator"])])
            self.assertEqual(caught.exception.details(),
                             '/clownix.v1.Machines/Exec needs role admin; the token of '
                             '"operator-holder" has role operator')
            with self.assertRaises(grpc.RpcError) as caught:
                method(b"", timeout=CALL_TIMEOUT)
            self.assertIn("needs a token with role admin", caught.exception.details())

    def cli(self, *args, env=None):
        return subprocess.run([CLOWNIX, "--server", "127.0.0.1:%d" % self.server.port] +
                              list(args), capture_output=True, text=True, timeout=DEADLINE,
                              env=env)

    def test_the_cli_with_ca_cert_key_and_token(self):
        tls = ["--ca", self.path("ca.pem"), "--cert", self.path("client.pem"),
               "--key", self.path("client.key")]
        result = self.cli(*tls, "--token", self.tokens["operator"], "lan", "add", "cli-lan")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("created lan cli-lan", result.stdout)
        result = self.cli(*tls, "--token", self.tokens["viewer"], "lan", "rm", "cli-lan")
        self.assertEqual(result.returncode, 1)
        self.assertIn("needs role operator", result.stderr)
        self.assertIn("(PERMISSION_DENIED)", result.stderr)
        result = self.cli(*tls, "lan", "ls")
        self.assertEqual(result.returncode, 1)
        self.assertIn("(UNAUTHENTICATED)", result.stderr)
        # The same from the environment, the token from a file.
        token_file = self.path("viewer-token")
        with open(token_file, "w") as f:
            f.write(self.tokens["viewer"] + "\n")
        env = dict(os.environ, CLOWNIX_CA=self.path("ca.pem"), CLOWNIX_CERT=self.path(
            "client.pem"), CLOWNIX_KEY=self.path("client.key"), CLOWNIX_TOKEN_FILE=token_file)
        env.pop("CLOWNIX_TOKEN", None)
        result = self.cli("lan", "ls", env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("cli-lan", result.stdout)
        # Without a client certificate the server does not let the connection in.
        result = self.cli("--ca", self.path("ca.pem"), "--token", self.tokens["admin"], "lan",
                          "ls")
        self.assertEqual(result.returncode, 1)
        self.assertIn("(UNAVAILABLE)", result.stderr)

    def test_the_python_client_with_ca_cert_key_and_token(self):
        settings = dict(ca=self.path("ca.pem"), cert=self.path("client.pem"),
                        key=self.path("client.key"), environ={})
        with clownix.Client("127.0.0.1:%d" % self.server.port, token=self.tokens["operator"],
                            **settings) as client:
            self.assertGreater(client.create_lan("py-lan"), 0)
        with clownix.Client("127.0.0.1:%d" % self.server.port, token=self.tokens["viewer"],
                            **settings) as client:
            self.assertIn("py-lan", [lan.name for lan in client.get_topology().lans])
            with self.assertRaises(clownix.PermissionDeniedError):
                client.delete_lan("py-lan")


class ListenerRulesTest(Fixture):
    def test_plaintext_loopback_and_the_group_socket_need_tokens(self):
        group = os.getegid()
        server = self.start("plain", ["--insecure_listen", "127.0.0.1:0", "--socket_group",
                                      str(group), "--tokens_file", self.tokens_file])
        self.assertGreater(server.port, 0)
        st = os.stat(server.socket)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        self.assertEqual(st.st_gid, group)
        get = ("/clownix.v1.Topology/GetTopology", False, False)
        create = ("/clownix.v1.Topology/CreateLan", False, False)
        for target in ("127.0.0.1:%d" % server.port, "unix:" + server.socket):
            with self.subTest(target=target), grpc.insecure_channel(target) as channel:
                self.assertEqual(call(channel, get), C.UNAUTHENTICATED)
                self.assertEqual(call(channel, get, self.tokens["viewer"]), C.OK)
                self.assertEqual(call(channel, create, self.tokens["viewer"]),
                                 C.PERMISSION_DENIED)
                # Past the authorizer: an empty LAN name is refused by the service.
                self.assertEqual(call(channel, create, self.tokens["operator"]),
                                 C.INVALID_ARGUMENT)

    def test_mutual_tls_without_tokens_makes_certificate_holders_admin(self):
        server = self.start("mtls", [
            "--listen", "127.0.0.1:0", "--tls_cert", self.path("server.pem"),
            "--tls_key", self.path("server.key"), "--client_ca", self.path("ca.pem")])
        exec_method = ("/clownix.v1.Machines/Exec", False, False)
        with self.tls_channel(server.port) as channel:
            self.assertEqual(call(channel, exec_method), C.INVALID_ARGUMENT)
            self.assertEqual(call(channel, exec_method, self.tokens["admin"]),
                             C.UNAUTHENTICATED)
        with self.tls_channel(server.port, "other-client") as channel:
            self.assertEqual(call(channel, exec_method), C.UNAVAILABLE)

    def refused(self, args, status, message):
        result = subprocess.run([CLOWNIXD, "--work_dir", self.path("refused"), "--nobackends"] +
                                args, capture_output=True, text=True, timeout=DEADLINE)
        self.assertEqual(result.returncode, status, result.stderr)
        self.assertIn(message, result.stderr)

    def test_unsafe_listeners_are_refused_at_start(self):
        tls = ["--tls_cert", self.path("server.pem"), "--tls_key", self.path("server.key")]
        self.refused(["--insecure_listen", "0.0.0.0:0"], 2, "is not a loopback address")
        self.refused(["--listen", "127.0.0.1:0"], 2, "give --tls_cert and --tls_key")
        self.refused(["--listen", "0.0.0.0:0"] + tls, 2, "anyone who reaches it in as admin")
        self.refused(["--socket_group", "no-such-group-clownix"], 1, "no such group")
        loose = self.path("loose-tokens")
        shutil.copy(self.tokens_file, loose)
        os.chmod(loose, 0o640)
        self.refused(["--tokens_file", loose], 1, "has mode 0640")
        bad = self.path("bad-tokens")
        with open(bad, "w") as f:
            f.write("viewer alice\n")
        os.chmod(bad, 0o600)
        self.refused(["--tokens_file", bad], 1, bad + ":1: expected ROLE NAME TOKEN")


if __name__ == "__main__":
    unittest.main()
