"""Client: each method's request and response, error mapping, and the context manager, against
in-process Topology, Machines and Switch services that record what they were asked."""

# The fakes implement only the RPCs a test makes (gRPC answers UNIMPLEMENTED for the rest), while
# the generated servicers declare every RPC abstract.
# mypy: disable-error-code="abstract"

from __future__ import annotations

import unittest
from typing import Any, Iterator, List, Tuple

import grpc

import clownix
from clownix.v1 import machines_pb2
from clownix.v1 import machines_pb2_grpc
from clownix.v1 import resources_pb2
from clownix.v1 import switch_pb2
from clownix.v1 import switch_pb2_grpc
from clownix.v1 import topology_pb2
from clownix.v1 import topology_pb2_grpc

import fake_server


class RecordingTopology(topology_pb2_grpc.TopologyServicer):
    """Each mutation gets the next revision; LAN "taken" exists already; GetTopology fails with
    `get_failure` when set."""

    def __init__(self) -> None:
        self.revision = 10
        self.calls: List[Tuple[str, Any]] = []
        self.get_failure = grpc.StatusCode.OK

    def _next(self, name: str, request: Any) -> int:
        self.calls.append((name, request))
        self.revision += 1
        return self.revision

    def CreateVm(self, request: topology_pb2.CreateVmRequest,
                 context: grpc.ServicerContext) -> topology_pb2.CreateVmResponse:
        revision = self._next("CreateVm", request)
        vm = resources_pb2.Vm()
        vm.CopyFrom(request.vm)
        vm.number = 3
        return topology_pb2.CreateVmResponse(vm=vm, revision=revision)

    def CreateLan(self, request: topology_pb2.CreateLanRequest,
                  context: grpc.ServicerContext) -> topology_pb2.CreateLanResponse:
        if request.lan.name == "taken":
            context.abort(grpc.StatusCode.ALREADY_EXISTS, 'lan "taken" already exists')
        return topology_pb2.CreateLanResponse(lan=request.lan,
                                              revision=self._next("CreateLan", request))

    def DeleteLan(self, request: topology_pb2.DeleteLanRequest,
                  context: grpc.ServicerContext) -> topology_pb2.MutationResponse:
        context.abort(grpc.StatusCode.NOT_FOUND, 'lan "%s" does not exist' % request.name)
        raise AssertionError("abort returns only by raising")

    def Connect(self, request: topology_pb2.ConnectRequest,
                context: grpc.ServicerContext) -> topology_pb2.MutationResponse:
        return topology_pb2.MutationResponse(revision=self._next("Connect", request))

    def Disconnect(self, request: topology_pb2.DisconnectRequest,
                   context: grpc.ServicerContext) -> topology_pb2.MutationResponse:
        return topology_pb2.MutationResponse(revision=self._next("Disconnect", request))

    def GetTopology(self, request: topology_pb2.GetTopologyRequest,
                    context: grpc.ServicerContext) -> resources_pb2.Network:
        if self.get_failure != grpc.StatusCode.OK:
            context.abort(self.get_failure, "no topology for you")
        self.calls.append(("GetTopology", request))
        return resources_pb2.Network(revision=self.revision,
                                     lans=[resources_pb2.Lan(name="lan1")])


class FakeMachines(machines_pb2_grpc.MachinesServicer):
    def Exec(self, request: machines_pb2.ExecRequest,
             context: grpc.ServicerContext) -> machines_pb2.ExecResponse:
        if request.vm != "vm1":
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, 'vm "%s" is not running'
                          % request.vm)
        return machines_pb2.ExecResponse(exit_code=7, output=request.command.encode())

    def Halt(self, request: machines_pb2.HaltRequest,
             context: grpc.ServicerContext) -> machines_pb2.VmResponse:
        return machines_pb2.VmResponse(vm=resources_pb2.Vm(
            name=request.vm, state=resources_pb2.VM_STATE_STOPPED), revision=request.timeout_ms)


    def ListImages(self, request: machines_pb2.ListImagesRequest,
                   context: grpc.ServicerContext) -> machines_pb2.ListImagesResponse:
        return machines_pb2.ListImagesResponse(
            images=[resources_pb2.Image(name="debian", default_mem_mib=96, min_mem_mib=64,
                                        contents=["frr 8.4.4-1.1~deb12u1"]),
                    resources_pb2.Image(name="tiny", is_default=True, default_mem_mib=64)],
            default_image="tiny", problems=["/images/x/image.json: field \"name\" is missing"])


class FakeSwitch(switch_pb2_grpc.SwitchServicer):
    def __init__(self) -> None:
        self.capture_requests: List[switch_pb2.CaptureRequest] = []

    def GetLanStats(self, request: switch_pb2.GetLanStatsRequest,
                    context: grpc.ServicerContext) -> switch_pb2.LanStats:
        return switch_pb2.LanStats(lan=request.lan)

    def Capture(self, request: switch_pb2.CaptureRequest,
                context: grpc.ServicerContext) -> Iterator[switch_pb2.CaptureResponse]:
        """Two chunks and an end; vm "gone" ends as a deleted VM does."""
        self.capture_requests.append(request)
        if request.filter == "bad":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, 'filter "bad": syntax error')
        yield switch_pb2.CaptureResponse(data=b"header")
        yield switch_pb2.CaptureResponse(data=b"frames", frames_written=2, frames_dropped=1)
        yield switch_pb2.CaptureResponse(
            frames_written=2, frames_dropped=1,
            end=switch_pb2.CaptureEnd(reason=switch_pb2.CaptureEnd.FRAME_LIMIT))
        if request.endpoint.nic.vm == "gone":
            context.abort(grpc.StatusCode.ABORTED, 'vm "gone" was deleted')


class ClientTest(unittest.TestCase):
    def setUp(self) -> None:
        self.topology = RecordingTopology()
        self.switch = FakeSwitch()
        self.address = fake_server.serve(
            self, (topology_pb2_grpc.add_TopologyServicer_to_server, self.topology),
            (machines_pb2_grpc.add_MachinesServicer_to_server, FakeMachines()),
            (switch_pb2_grpc.add_SwitchServicer_to_server, self.switch))
        self.client = clownix.Client(self.address, timeout=20)
        self.addCleanup(self.client.close)

    def test_mutations_send_what_they_say_and_return_revisions(self) -> None:
        self.assertEqual(self.client.create_lan("lan1", hub=True, labels={"a": "b"}), 11)
        response = self.client.create_vm("vm1", nic_count=2, mem_mib=64)
        self.assertEqual((response.vm.name, response.vm.number, response.revision),
                         ("vm1", 3, 12))
        self.assertEqual(self.client.connect_nic("vm1", 1, "lan1"), 13)
        self.assertEqual(self.client.connect_tap("t0", "lan1"), 14)
        self.assertEqual(self.client.disconnect_nic("vm1", 1), 15)
        self.assertEqual(self.client.disconnect_tap("t0"), 16)
        calls = self.topology.calls
        self.assertEqual([name for name, _ in calls],
                         ["CreateLan", "CreateVm", "Connect", "Connect", "Disconnect",
                          "Disconnect"])
        self.assertEqual(calls[0][1].lan, resources_pb2.Lan(
            name="lan1", mode=resources_pb2.LAN_MODE_HUB, labels={"a": "b"}))
        self.assertEqual((calls[1][1].vm.nic_count, calls[1][1].vm.mem_mib), (2, 64))
        self.assertFalse(calls[1][1].vm.HasField("admin"))  # the server's default
        self.assertEqual(clownix.endpoint_text(calls[2][1].endpoint), "vm1/eth1")
        self.assertEqual((calls[2][1].lan, calls[3][1].endpoint.tap), ("lan1", "t0"))
        self.assertEqual(clownix.endpoint_text(calls[4][1].endpoint), "vm1/eth1")

    def test_create_vm_without_the_admin_network(self) -> None:
        self.client.create_vm("vm2", admin=False)
        request = self.topology.calls[-1][1]
        self.assertTrue(request.vm.HasField("admin"))
        self.assertFalse(request.vm.admin)

    def test_images(self) -> None:
        self.client.create_vm("r1", image="debian")
        self.assertEqual(self.topology.calls[-1][1].vm.image, "debian")
        self.client.create_vm("h1")
        self.assertEqual(self.topology.calls[-1][1].vm.image, "")  # the server's default
        images = self.client.list_images()
        self.assertEqual([image.name for image in images.images], ["debian", "tiny"])
        self.assertEqual(images.default_image, "tiny")
        self.assertEqual(list(images.images[0].contents), ["frr 8.4.4-1.1~deb12u1"])
        self.assertEqual(len(images.problems), 1)

    def test_get_topology(self) -> None:
        network = self.client.get_topology("role=host")
        self.assertEqual([lan.name for lan in network.lans], ["lan1"])
        self.assertEqual(self.topology.calls[-1][1].label_selector, "role=host")

    def test_machines_and_switch(self) -> None:
        response = self.client.exec("vm1", "uname", timeout_ms=500)
        self.assertEqual((response.exit_code, response.output), (7, b"uname"))
        halted = self.client.halt_vm("vm1", timeout_ms=42)
        self.assertEqual((halted.vm.state, halted.revision), (resources_pb2.VM_STATE_STOPPED, 42))
        self.assertEqual(self.client.lan_stats("lan1").lan, "lan1")

    def test_capture(self) -> None:
        chunks = list(self.client.capture("vm1", 1, filter="icmp", max_frames=2, duration=1.5))
        self.assertEqual(b"".join(chunk.data for chunk in chunks), b"headerframes")
        self.assertEqual(chunks[-1].end.reason, switch_pb2.CaptureEnd.FRAME_LIMIT)
        request = self.switch.capture_requests[-1]
        self.assertEqual(clownix.endpoint_text(request.endpoint), "vm1/eth1")
        self.assertEqual((request.filter, request.max_frames, request.duration_ms),
                         ("icmp", 2, 1500))
        self.assertEqual(request.format, switch_pb2.CAPTURE_FORMAT_PCAPNG)
        list(self.client.capture(lan="lan1"))
        self.assertEqual(self.switch.capture_requests[-1].lan, "lan1")
        list(self.client.capture(tap="t0", pcap=True))
        self.assertEqual(self.switch.capture_requests[-1].endpoint.tap, "t0")
        self.assertEqual(self.switch.capture_requests[-1].format, switch_pb2.CAPTURE_FORMAT_PCAP)
        with self.assertRaises(clownix.InvalidArgumentError):
            list(self.client.capture("vm1", 1, filter="bad"))
        got = []
        with self.assertRaises(clownix.AbortedError):
            for chunk in self.client.capture("gone", 1):
                got.append(chunk)
        self.assertEqual(len(got), 3)  # every message came before the error

    def test_errors_map_to_the_hierarchy(self) -> None:
        with self.assertRaises(clownix.AlreadyExistsError) as exists:
            self.client.create_lan("taken")
        self.assertEqual(str(exists.exception), 'lan "taken" already exists (ALREADY_EXISTS)')
        self.assertIsInstance(exists.exception.__cause__, grpc.RpcError)
        with self.assertRaises(clownix.NotFoundError) as missing:
            self.client.delete_lan("blue")
        self.assertEqual(missing.exception.details, 'lan "blue" does not exist')
        with self.assertRaises(clownix.FailedPreconditionError):
            self.client.exec("vm2", "true")
        with self.assertRaises(clownix.CallError) as unimplemented:
            self.client.start_vm("vm1")  # FakeMachines has no Start.
        self.assertEqual(type(unimplemented.exception), clownix.CallError)
        self.assertEqual(unimplemented.exception.code, grpc.StatusCode.UNIMPLEMENTED)
        self.topology.get_failure = grpc.StatusCode.INTERNAL
        with self.assertRaises(clownix.ClownixError):
            self.client.get_topology()

    def test_raw_stubs_raise_grpc_errors(self) -> None:
        with self.assertRaises(grpc.RpcError) as caught:
            self.client.topology.DeleteLan(topology_pb2.DeleteLanRequest(name="x"))
        self.assertIsInstance(clownix.from_rpc_error(caught.exception), clownix.NotFoundError)

    def test_unreachable_server_is_unavailable(self) -> None:
        with clownix.Client("unix:/nonexistent/clownixd.sock", timeout=20) as client:
            with self.assertRaises(clownix.UnavailableError):
                client.get_topology()

    def test_context_manager_closes_the_channel(self) -> None:
        with clownix.Client(self.address, timeout=20) as client:
            client.get_topology()
        with self.assertRaises(ValueError):  # gRPC's error for a call on a closed channel.
            client.get_topology()


if __name__ == "__main__":
    unittest.main()
