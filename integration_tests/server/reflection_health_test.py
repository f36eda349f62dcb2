"""Server reflection and health, as grpcurl or any language's tooling would use them.

Lists the services clownixd serves, then asks reflection to describe each one (with the files it
depends on), and checks that every listed service resolves to a service descriptor with methods.
Then calls grpc.health.v1.Health/Check. Runs against the real clownixd binary.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402
from google.protobuf import descriptor_pb2, descriptor_pool  # noqa: E402

import reflection_pb2  # noqa: E402
import reflection_pb2_grpc  # noqa: E402
from proto.grpc.health.v1 import health_pb2  # noqa: E402

CLOWNIXD = os.path.join(os.environ.get("TEST_SRCDIR", "."), "clownix", "server", "clownixd")


class ReflectionAndHealthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work_dir = tempfile.mkdtemp(prefix="clownix-refl.", dir="/tmp")
        cls.server = subprocess.Popen([CLOWNIXD, "--work_dir", cls.work_dir, "--nobackends"])
        cls.channel = grpc.insecure_channel("unix:" + cls.work_dir + "/clownixd.sock")
        grpc.channel_ready_future(cls.channel).result(timeout=20)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.send_signal(signal.SIGTERM)
        cls.server.wait(timeout=20)
        shutil.rmtree(cls.work_dir)

    def reflect(self, **request):
        stub = reflection_pb2_grpc.ServerReflectionStub(self.channel)
        responses = list(stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(**request)]), timeout=10))
        self.assertEqual(len(responses), 1)
        return responses[0]

    def test_every_listed_service_is_described(self):
        listed = [s.name for s in self.reflect(list_services="").list_services_response.service]
        for expected in ("clownix.v1.Topology", "clownix.v1.Machines", "clownix.v1.Switch",
                         "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"):
            self.assertIn(expected, listed)
        for service in listed:
            with self.subTest(service=service):
                pool = descriptor_pool.DescriptorPool()
                pending = [self.reflect(file_containing_symbol=service)]
                added = set()
                files = []
                while pending:
                    response = pending.pop()
                    self.assertFalse(response.HasField("error_response"),
                                     response.error_response.error_message)
                    for raw in response.file_descriptor_response.file_descriptor_proto:
                        proto = descriptor_pb2.FileDescriptorProto.FromString(raw)
                        if proto.name in added:
                            continue
                        added.add(proto.name)
                        files.append(proto)
                        for dep in proto.dependency:
                            if dep not in added:
                                pending.append(self.reflect(file_by_filename=dep))
                # Dependencies first, as a descriptor pool needs them.
                while files:
                    for proto in files:
                        if all(self._in_pool(pool, d) for d in proto.dependency):
                            pool.Add(proto)
                            files.remove(proto)
                            break
                    else:
                        self.fail("unresolvable dependencies for " + service)
                descriptor = pool.FindServiceByName(service)
                self.assertGreater(len(descriptor.methods), 0)

    @staticmethod
    def _in_pool(pool, name):
        try:
            pool.FindFileByName(name)
            return True
        except KeyError:
            return False

    def test_topology_methods_are_all_there(self):
        response = self.reflect(file_containing_symbol="clownix.v1.Topology")
        names = set()
        for raw in response.file_descriptor_response.file_descriptor_proto:
            proto = descriptor_pb2.FileDescriptorProto.FromString(raw)
            for service in proto.service:
                if service.name == "Topology":
                    names = {m.name for m in service.method}
        self.assertTrue({"CreateVm", "DeleteVm", "GetVm", "ListVms", "CreateLan", "DeleteLan",
                         "ListLans", "CreateTap", "DeleteTap", "Connect", "Disconnect",
                         "GetTopology", "Watch", "Apply"} <= names, names)

    def test_health_check_says_serving(self):
        check = self.channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString)
        response = check(health_pb2.HealthCheckRequest(service=""), timeout=10)
        self.assertEqual(response.status, health_pb2.HealthCheckResponse.SERVING)


if __name__ == "__main__":
    unittest.main()
