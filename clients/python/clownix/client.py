"""Client: a connection to clownixd with a method per common call."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Iterator, Mapping, Optional, Type

import grpc

from clownix import address as _address
from clownix import errors
from clownix import security as _security
from clownix.v1 import machines_pb2
from clownix.v1 import machines_pb2_grpc
from clownix.v1 import resources_pb2
from clownix.v1 import switch_pb2
from clownix.v1 import switch_pb2_grpc
from clownix.v1 import topology_pb2
from clownix.v1 import topology_pb2_grpc
from clownix.watch import Watch

# What Exec and Halt take when timeout_ms is 0 (machines.proto).
_DEFAULT_TIMEOUT_MS = 10000


class Client:
    """A connection to clownixd. Use it as a context manager, or call close().

    `address` is `unix:PATH`, `/PATH` or `HOST:PORT`; without one it is found as the `clownix`
    CLI finds it (see clownix.address: $CLOWNIX_SERVER, else $CLOWNIX_WORK_DIR's socket, else
    unix:/tmp/clownix/clownixd.sock; `environ` replaces os.environ there). A bad address raises
    AddressError. `ca`, `cert`, `key`, `token` and `token_file` secure the channel as the CLI's
    --ca, --cert, --key, --token and --token_file do, with the same variables
    (clownix.security: $CLOWNIX_CA, $CLOWNIX_CERT, $CLOWNIX_KEY, $CLOWNIX_TOKEN,
    $CLOWNIX_TOKEN_FILE); unusable ones raise CredentialsError. Connecting is lazy: an
    unreachable server shows as UnavailableError on the first call.

    Each method makes one call, bounded by `timeout` seconds, and raises a CallError subclass
    (clownix.errors) when it fails. The raw stubs `topology`, `machines` and `switch` are there
    for everything else; they raise grpc.RpcError. A Client may be used from several threads.
    """

    def __init__(self, address: Optional[str] = None, *, timeout: float = 60.0,
                 environ: Optional[Mapping[str, str]] = None, ca: Optional[str] = None,
                 cert: Optional[str] = None, key: Optional[str] = None,
                 token: Optional[str] = None, token_file: Optional[str] = None) -> None:
        self.address = _address.choose_server_address(address, environ)
        self.timeout = timeout
        target = _address.grpc_target(self.address)
        security = _security.choose_channel_security(ca=ca, cert=cert, key=key, token=token,
                                                     token_file=token_file, environ=environ)
        self.channel = grpc.secure_channel(target,
                                           _security.channel_credentials(target, security))
        self.topology = topology_pb2_grpc.TopologyStub(self.channel)
        self.machines = machines_pb2_grpc.MachinesStub(self.channel)
        self.switch = switch_pb2_grpc.SwitchStub(self.channel)

    def close(self) -> None:
        """Closes the channel; watches and calls still running on it end with an error."""
        self.channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 traceback: Optional[TracebackType]) -> None:
        self.close()

    def _unary(self, method: Any, request: Any, timeout: Optional[float] = None) -> Any:
        try:
            return method(request, timeout=self.timeout if timeout is None else timeout)
        except grpc.RpcError as error:
            raise errors.from_rpc_error(error) from error

    # Topology. Mutations return the revision they got, or the response that carries it.

    def create_vm(self, name: str, *, mem_mib: int = 0, nic_count: int = 0,
                  labels: Optional[Mapping[str, str]] = None, admin: Optional[bool] = None,
                  image: str = "") -> topology_pb2.CreateVmResponse:
        """Defines a VM (and boots it when clownixd has a VM runtime). 0 means the server's
        default (for mem_mib, the image's). `admin=False`: no admin network (the guest has no
        eth0; eth1.. stay the lab NICs); None: the server's default. `image`: the image it boots
        ("debian", see list_images()); "": the server's default. An unknown image raises
        NotFoundError naming the images there are. Returns the response: `.vm` (with its
        number, admin IP, `admin` and `image`), `.revision`."""
        vm = resources_pb2.Vm(name=name, mem_mib=mem_mib, nic_count=nic_count,
                              labels=labels or {}, image=image)
        if admin is not None:
            vm.admin = admin
        response: topology_pb2.CreateVmResponse = self._unary(
            self.topology.CreateVm, topology_pb2.CreateVmRequest(vm=vm))
        return response

    def delete_vm(self, name: str) -> int:
        """Deletes a VM (stopping it) and its links; returns the revision."""
        return self._mutation(self.topology.DeleteVm, topology_pb2.DeleteVmRequest(name=name))

    def create_lan(self, name: str, *, hub: bool = False,
                   labels: Optional[Mapping[str, str]] = None) -> int:
        """Creates a LAN, a learning switch (or a hub); returns the revision."""
        lan = resources_pb2.Lan(name=name, labels=labels or {},
                                mode=resources_pb2.LAN_MODE_HUB if hub else
                                resources_pb2.LAN_MODE_SWITCH)
        return self._mutation(self.topology.CreateLan, topology_pb2.CreateLanRequest(lan=lan))

    def delete_lan(self, name: str) -> int:
        """Deletes a LAN and its links; returns the revision."""
        return self._mutation(self.topology.DeleteLan, topology_pb2.DeleteLanRequest(name=name))

    def create_tap(self, name: str, *, labels: Optional[Mapping[str, str]] = None) -> int:
        """Creates a host tap interface; returns the revision."""
        tap = resources_pb2.Tap(name=name, labels=labels or {})
        return self._mutation(self.topology.CreateTap, topology_pb2.CreateTapRequest(tap=tap))

    def delete_tap(self, name: str) -> int:
        """Deletes a tap; returns the revision."""
        return self._mutation(self.topology.DeleteTap, topology_pb2.DeleteTapRequest(name=name))

    def connect_nic(self, vm: str, index: int, lan: str) -> int:
        """Plugs the VM's eth`index` into `lan`; returns the revision."""
        return self._mutation(self.topology.Connect,
                              topology_pb2.ConnectRequest(endpoint=_nic(vm, index), lan=lan))

    def connect_tap(self, tap: str, lan: str) -> int:
        """Plugs a tap into `lan`; returns the revision."""
        return self._mutation(self.topology.Connect, topology_pb2.ConnectRequest(
            endpoint=resources_pb2.Endpoint(tap=tap), lan=lan))

    def disconnect_nic(self, vm: str, index: int) -> int:
        """Unplugs the VM's eth`index`; returns the revision."""
        return self._mutation(self.topology.Disconnect,
                              topology_pb2.DisconnectRequest(endpoint=_nic(vm, index)))

    def disconnect_tap(self, tap: str) -> int:
        """Unplugs a tap; returns the revision."""
        return self._mutation(self.topology.Disconnect, topology_pb2.DisconnectRequest(
            endpoint=resources_pb2.Endpoint(tap=tap)))

    def get_topology(self, selector: str = "") -> resources_pb2.Network:
        """The whole topology at one revision, or only the objects matching a label selector
        (`key=value,key!=value,...`)."""
        network: resources_pb2.Network = self._unary(
            self.topology.GetTopology, topology_pb2.GetTopologyRequest(label_selector=selector))
        return network

    def watch(self, since_revision: int = 0, *, selector: str = "",
              heartbeat_interval_ms: int = 0, reconnect: bool = True,
              max_backoff: float = 5.0, omit_guest_config: bool = False) -> Watch:
        """A Watch (clownix.watch) of the topology after `since_revision`; 0 starts with a
        snapshot of everything. Iterate it; it resumes by itself across broken streams unless
        reconnect is False, and `watch.last_revision` is where to resume another time. With
        omit_guest_config, VMs come without their guest config (files and scripts)."""
        return Watch(self.topology, since_revision=since_revision, selector=selector,
                     heartbeat_interval_ms=heartbeat_interval_ms, reconnect=reconnect,
                     max_backoff=max_backoff, omit_guest_config=omit_guest_config)

    # Machines.

    def exec(self, vm: str, command: str, *, timeout_ms: int = 0) -> machines_pb2.ExecResponse:
        """Runs `command` with /bin/sh -c in the VM, for at most `timeout_ms` (0: 10 s). Returns
        the ExecResponse (`.exit_code`, `.output`)."""
        deadline = self.timeout + (timeout_ms or _DEFAULT_TIMEOUT_MS) / 1000.0
        response: machines_pb2.ExecResponse = self._unary(
            self.machines.Exec,
            machines_pb2.ExecRequest(vm=vm, command=command, timeout_ms=timeout_ms), deadline)
        return response

    def start_vm(self, vm: str) -> machines_pb2.VmResponse:
        """Boots a stopped VM; returns the VmResponse (`.vm`, `.revision`)."""
        response: machines_pb2.VmResponse = self._unary(self.machines.Start,
                                                        machines_pb2.StartRequest(vm=vm))
        return response

    def halt_vm(self, vm: str, *, timeout_ms: int = 0) -> machines_pb2.VmResponse:
        """Shuts a VM down, killing it after `timeout_ms` (0: 10 s); returns the VmResponse."""
        deadline = self.timeout + (timeout_ms or _DEFAULT_TIMEOUT_MS) / 1000.0
        response: machines_pb2.VmResponse = self._unary(
            self.machines.Halt, machines_pb2.HaltRequest(vm=vm, timeout_ms=timeout_ms), deadline)
        return response

    def reboot_vm(self, vm: str) -> machines_pb2.VmResponse:
        """Reboots a VM; returns the VmResponse."""
        response: machines_pb2.VmResponse = self._unary(self.machines.Reboot,
                                                        machines_pb2.RebootRequest(vm=vm))
        return response

    def list_images(self) -> machines_pb2.ListImagesResponse:
        """The images VMs boot: `.images` (each with name, description, is_default, size_bytes,
        allocated_bytes, default_mem_mib, min_mem_mib, contents, recipe_hash), `.default_image`,
        and `.problems`, the images left out as broken."""
        response: machines_pb2.ListImagesResponse = self._unary(
            self.machines.ListImages, machines_pb2.ListImagesRequest())
        return response

    # Switch.

    def lan_stats(self, lan: str) -> switch_pb2.LanStats:
        """The LAN's counters, as `clownix stats` shows them."""
        stats: switch_pb2.LanStats = self._unary(self.switch.GetLanStats,
                                                    switch_pb2.GetLanStatsRequest(lan=lan))
        return stats

    def capture(self, vm: str = "", nic: int = 0, *, tap: str = "", lan: str = "",
                filter: str = "", snaplen: int = 0, max_frames: int = 0,
                duration: float = 0.0, pcap: bool = False) -> Iterator[switch_pb2.CaptureResponse]:
        """A live packet capture of VM `vm`'s NIC `nic` (eth<nic>), of `tap`, or of a whole `lan`:
        yields the Switch.Capture messages as they come. Their `.data`, concatenated, is a pcapng
        file (classic pcap with `pcap=True`, one endpoint only); `.frames_written` and
        `.frames_dropped` (lost by the switch: the reader was too slow) are running totals; the
        last one has `.end` (why it ended). `filter` is in tcpdump's syntax; `snaplen` 0 keeps
        whole frames; `max_frames` and `duration` (seconds) end it (0: no limit). Leaving the
        loop early cancels the capture. A capture ended by the server (the VM deleted, its port
        gone, the switch restarted) raises the matching clownix error after its last message;
        so do the errors before it starts (clownix.InvalidArgumentError for a bad filter, ...).

            with open("a.pcapng", "wb") as f:
                for chunk in client.capture("vm1", 1, filter="icmp", max_frames=10):
                    f.write(chunk.data)
        """
        request = switch_pb2.CaptureRequest(
            filter=filter, snaplen=snaplen, max_frames=max_frames,
            duration_ms=int(duration * 1000),
            format=switch_pb2.CAPTURE_FORMAT_PCAP if pcap else switch_pb2.CAPTURE_FORMAT_PCAPNG)
        if lan:
            request.lan = lan
        elif tap:
            request.endpoint.tap = tap
        else:
            request.endpoint.CopyFrom(_nic(vm, nic))
        call = self.switch.Capture(request)
        try:
            for response in call:
                yield response
        except grpc.RpcError as error:
            raise errors.from_rpc_error(error) from error
        finally:
            call.cancel()  # a no-op once the call is over

    def _mutation(self, method: Any, request: Any) -> int:
        response = self._unary(method, request)
        revision: int = response.revision
        return revision


def _nic(vm: str, index: int) -> resources_pb2.Endpoint:
    return resources_pb2.Endpoint(nic=resources_pb2.NicRef(vm=vm, index=index))
