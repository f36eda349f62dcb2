"""A small Python client for clownixd, the clownix network emulator.

It needs only Debian's python3-grpcio and python3-protobuf, and Python stubs generated from
proto/clownix/v1 (see README.md: `gen_stubs.sh DIR`, then put DIR on PYTHONPATH).

    from clownix_client import Client, TopologyView

    client = Client("unix:/tmp/clownix/clownixd.sock")
    client.create_lan("lan1")
    client.create_vm("vm1", nic_count=2, labels={"role": "host"})
    client.connect_nic("vm1", 1, "lan1")

    view = TopologyView()
    for item in client.watch():          # resumes by itself across disconnects
        view.apply(item)
        print(view.render())

Errors are grpc.RpcError: e.code() is a grpc.StatusCode (NOT_FOUND, ALREADY_EXISTS, ...) and
e.details() the server's message.
"""

import os
import time

import grpc
from google.protobuf import json_format

from proto.clownix.v1 import machines_pb2
from proto.clownix.v1 import machines_pb2_grpc
from proto.clownix.v1 import resources_pb2
from proto.clownix.v1 import switch_pb2
from proto.clownix.v1 import switch_pb2_grpc
from proto.clownix.v1 import topology_pb2
from proto.clownix.v1 import topology_pb2_grpc

DEFAULT_ADDRESS = "unix:/tmp/clownix/clownixd.sock"

# Stream endings after which watch() resumes: the server is gone for now (UNAVAILABLE; clownixd
# shutting down cancels its streams, which arrives as CANCELLED: watch() never cancels a call it
# still reads), or it dropped a watcher that fell behind (RESOURCE_EXHAUSTED).
_RESUMABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED,
              grpc.StatusCode.RESOURCE_EXHAUSTED)


def default_address(environ=None):
    """The server address the `clownix` CLI would use: $CLOWNIX_SERVER, else the socket in
    $CLOWNIX_WORK_DIR, else unix:/tmp/clownix/clownixd.sock."""
    environ = os.environ if environ is None else environ
    if environ.get("CLOWNIX_SERVER"):
        return environ["CLOWNIX_SERVER"]
    if environ.get("CLOWNIX_WORK_DIR"):
        return "unix:" + environ["CLOWNIX_WORK_DIR"].rstrip("/") + "/clownixd.sock"
    return DEFAULT_ADDRESS


def grpc_target(address):
    """`unix:PATH`, an absolute PATH or `HOST:PORT` as a gRPC target; ValueError otherwise."""
    if address.startswith("unix:"):
        if len(address) == len("unix:"):
            raise ValueError('bad server address "%s": empty socket path' % address)
        return address
    if address.startswith("/"):
        return "unix:" + address
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError('bad server address "%s" (expected unix:PATH or HOST:PORT)' % address)
    return address


def endpoint_text(endpoint):
    """"vm1/eth1" or "tap:t0", as the CLI prints endpoints."""
    if endpoint.WhichOneof("kind") == "nic":
        return "%s/eth%d" % (endpoint.nic.vm, endpoint.nic.index)
    if endpoint.WhichOneof("kind") == "tap":
        return "tap:" + endpoint.tap
    return "?"


def split_watch_response(response):
    """One WatchResponse per item, in stream order: the snapshot, then each event, then the
    heartbeat. The server batches freely; items are what two watchers can compare."""
    items = []
    if response.HasField("snapshot"):
        items.append(topology_pb2.WatchResponse(snapshot=response.snapshot))
    for event in response.events:
        items.append(topology_pb2.WatchResponse(events=[event]))
    if response.HasField("heartbeat"):
        items.append(topology_pb2.WatchResponse(heartbeat=response.heartbeat))
    return items


def to_json_line(message):
    """The protobuf JSON mapping on one line (the format of `clownix watch --json`)."""
    return json_format.MessageToJson(message, indent=None)


class Client:
    """A connection to clownixd with a method per common call. The stubs (`topology`,
    `machines`, `switch`) are there for everything else."""

    def __init__(self, address=None, timeout=60.0):
        self.address = address or default_address()
        self.timeout = timeout
        self.channel = grpc.insecure_channel(grpc_target(self.address))
        self.topology = topology_pb2_grpc.TopologyStub(self.channel)
        self.machines = machines_pb2_grpc.MachinesStub(self.channel)
        self.switch = switch_pb2_grpc.SwitchStub(self.channel)
        # The revision of the last snapshot or event watch() yielded: where it resumes.
        self.last_revision = 0
        # How many times watch() reconnected.
        self.reconnects = 0

    def close(self):
        self.channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # Mutations; each returns the revision it got.

    def create_lan(self, name, hub=False, labels=None):
        lan = resources_pb2.Lan(name=name, labels=labels or {},
                                mode=resources_pb2.LAN_MODE_HUB if hub else
                                resources_pb2.LAN_MODE_SWITCH)
        return self.topology.CreateLan(topology_pb2.CreateLanRequest(lan=lan),
                                       timeout=self.timeout).revision

    def create_vm(self, name, mem_mib=0, nic_count=0, labels=None):
        """Defines a VM (and boots it when the server has a VM runtime); returns the
        CreateVmResponse (`.vm`, `.revision`)."""
        vm = resources_pb2.Vm(name=name, mem_mib=mem_mib, nic_count=nic_count,
                              labels=labels or {})
        return self.topology.CreateVm(topology_pb2.CreateVmRequest(vm=vm),
                                      timeout=self.timeout)

    def create_tap(self, name, labels=None):
        tap = resources_pb2.Tap(name=name, labels=labels or {})
        return self.topology.CreateTap(topology_pb2.CreateTapRequest(tap=tap),
                                       timeout=self.timeout).revision

    def connect_nic(self, vm, index, lan):
        endpoint = resources_pb2.Endpoint(nic=resources_pb2.NicRef(vm=vm, index=index))
        return self.topology.Connect(topology_pb2.ConnectRequest(endpoint=endpoint, lan=lan),
                                     timeout=self.timeout).revision

    def connect_tap(self, tap, lan):
        endpoint = resources_pb2.Endpoint(tap=tap)
        return self.topology.Connect(topology_pb2.ConnectRequest(endpoint=endpoint, lan=lan),
                                     timeout=self.timeout).revision

    def delete_vm(self, name):
        return self.topology.DeleteVm(topology_pb2.DeleteVmRequest(name=name),
                                      timeout=self.timeout).revision

    def delete_lan(self, name):
        return self.topology.DeleteLan(topology_pb2.DeleteLanRequest(name=name),
                                       timeout=self.timeout).revision

    def get_topology(self, selector=""):
        return self.topology.GetTopology(topology_pb2.GetTopologyRequest(label_selector=selector),
                                         timeout=self.timeout)

    def exec(self, vm, command, timeout_ms=0):
        """Runs `command` in the VM; returns the ExecResponse (exit_code, output)."""
        deadline = self.timeout + (timeout_ms or 10000) / 1000.0
        return self.machines.Exec(
            machines_pb2.ExecRequest(vm=vm, command=command, timeout_ms=timeout_ms),
            timeout=deadline)

    def lan_stats(self, lan):
        return self.switch.GetLanStats(switch_pb2.GetLanStatsRequest(lan=lan),
                                       timeout=self.timeout)

    # The watch, with resume.

    def watch(self, since_revision=0, selector="", heartbeat_interval_ms=0, reconnect=True,
              max_backoff=5.0, stop=None):
        """Yields the topology's changes as single-item WatchResponses (a snapshot, an event or
        a heartbeat; see split_watch_response), forever.

        Starts after `since_revision` (0: with a snapshot of everything). When the stream breaks
        (server restarted or network gone: UNAVAILABLE or CANCELLED; a watcher dropped for
        falling behind: RESOURCE_EXHAUSTED; or the server ending the stream) and
        `reconnect` is true, it reconnects with since_revision = the last revision it yielded,
        so the caller sees every change exactly once, or, if the server no longer has that
        history, a fresh snapshot (reason HISTORY_EXPIRED) to start over from. Backs off from
        0.1 s up to `max_backoff` between attempts. Other errors are raised as grpc.RpcError.
        `stop`, a threading.Event, ends the generator when set (checked before each item)."""
        self.last_revision = since_revision
        backoff = 0.1
        while stop is None or not stop.is_set():
            request = topology_pb2.WatchRequest(since_revision=self.last_revision,
                                                label_selector=selector,
                                                heartbeat_interval_ms=heartbeat_interval_ms)
            call = self.topology.Watch(request)
            try:
                for response in call:
                    backoff = 0.1
                    for item in split_watch_response(response):
                        if stop is not None and stop.is_set():
                            return
                        if item.HasField("snapshot"):
                            self.last_revision = item.snapshot.topology.revision
                        elif item.events:
                            self.last_revision = item.events[0].revision
                        yield item
            except grpc.RpcError as error:
                if not reconnect or error.code() not in _RESUMABLE:
                    raise
            finally:
                call.cancel()
            if not reconnect:
                return
            self.reconnects += 1
            time.sleep(backoff)
            backoff = min(backoff * 2, max_backoff)


_VM_STATES = {v: k[len("VM_STATE_"):].lower() for k, v in resources_pb2.VmState.items()}


class TopologyView:
    """The topology as a watcher sees it: a snapshot replaces everything, each change updates or
    removes one object. `apply()` takes the items Client.watch() yields."""

    def __init__(self):
        self.revision = 0
        self.vms = {}
        self.lans = {}
        self.taps = {}
        self.links = {}  # endpoint_text -> Link

    def apply(self, item):
        """Applies a WatchResponse (any number of items). Returns True when the view changed."""
        changed = False
        if item.HasField("snapshot"):
            network = item.snapshot.topology
            self.vms = {vm.name: vm for vm in network.vms}
            self.lans = {lan.name: lan for lan in network.lans}
            self.taps = {tap.name: tap for tap in network.taps}
            self.links = {endpoint_text(link.endpoint): link for link in network.links}
            self.revision = network.revision
            changed = True
        for event in item.events:
            for change in event.changes:
                kind = change.WhichOneof("object")
                obj = getattr(change, kind)
                table, key = {
                    "vm": (self.vms, lambda o: o.name),
                    "lan": (self.lans, lambda o: o.name),
                    "tap": (self.taps, lambda o: o.name),
                    "link": (self.links, lambda o: endpoint_text(o.endpoint)),
                }[kind]
                if change.type == topology_pb2.Change.DELETED:
                    table.pop(key(obj), None)
                else:
                    table[key(obj)] = obj
            self.revision = event.revision
            changed = True
        return changed

    def render(self):
        """The view as aligned text tables: VMs, LANs, taps, links."""
        out = ["revision %d" % self.revision, ""]
        rows = [("VM", "#", "STATE", "MEM", "ADMIN-IP", "NICS", "LABELS")]
        for name in sorted(self.vms):
            vm = self.vms[name]
            state = _VM_STATES.get(vm.state, "unknown")
            if vm.state_reason:
                state += " (%s)" % vm.state_reason
            nics = " ".join("eth%d:%s" % (n.index, n.lan or "-") for n in vm.nics) or "-"
            rows.append((name, str(vm.number), state, "%dM" % vm.mem_mib, vm.admin_ip or "-",
                         nics, _labels(vm.labels)))
        out += _table(rows) + [""]
        rows = [("LAN", "MODE", "LABELS")]
        for name in sorted(self.lans):
            lan = self.lans[name]
            mode = "hub" if lan.mode == resources_pb2.LAN_MODE_HUB else "switch"
            rows.append((name, mode, _labels(lan.labels)))
        out += _table(rows) + [""]
        if self.taps:
            rows = [("TAP", "LAN", "LABELS")]
            for name in sorted(self.taps):
                tap = self.taps[name]
                rows.append((name, tap.lan or "-", _labels(tap.labels)))
            out += _table(rows) + [""]
        rows = [("ENDPOINT", "LAN", "LINK")]
        for key in sorted(self.links):
            link = self.links[key]
            rows.append((key, link.lan, "up" if link.up else "down"))
        out += _table(rows)
        return "\n".join(out)


def _labels(labels):
    return ",".join("%s=%s" % kv for kv in sorted(labels.items())) or "-"


def _table(rows):
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
