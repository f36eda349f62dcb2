"""TopologyView: the topology as a watcher sees it, kept up to date from Watch items and
rendered as the text tables of `clownix topo`."""

from __future__ import annotations

from typing import Dict, List, Mapping, Sequence, Tuple, TypeVar

from clownix.v1 import resources_pb2
from clownix.v1 import topology_pb2

_T = TypeVar("_T")

_VM_STATES = {number: name[len("VM_STATE_"):].lower()
              for name, number in resources_pb2.VmState.items()}


def endpoint_text(endpoint: resources_pb2.Endpoint) -> str:
    """"vm1/eth1" or "tap:t0", as the CLI prints endpoints."""
    kind = endpoint.WhichOneof("kind")
    if kind == "nic":
        return "%s/eth%d" % (endpoint.nic.vm, endpoint.nic.index)
    if kind == "tap":
        return "tap:" + endpoint.tap
    return "?"


class TopologyView:
    """A snapshot replaces everything; each change of an event creates, updates or removes one
    object. Objects are the API's messages, by name (links by endpoint_text())."""

    def __init__(self) -> None:
        self.revision = 0
        self.vms: Dict[str, resources_pb2.Vm] = {}
        self.lans: Dict[str, resources_pb2.Lan] = {}
        self.taps: Dict[str, resources_pb2.Tap] = {}
        self.links: Dict[str, resources_pb2.Link] = {}

    def apply(self, item: topology_pb2.WatchResponse) -> bool:
        """Applies a WatchResponse (a single item from a Watch, or a whole batch). Returns True
        when the view changed (a heartbeat changes nothing)."""
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
                self._apply_change(change)
            self.revision = event.revision
            changed = True
        return changed

    def _apply_change(self, change: topology_pb2.Change) -> None:
        deleted = change.type == topology_pb2.Change.DELETED
        kind = change.WhichOneof("object")
        if kind == "vm":
            _put(self.vms, change.vm.name, change.vm, deleted)
        elif kind == "lan":
            _put(self.lans, change.lan.name, change.lan, deleted)
        elif kind == "tap":
            _put(self.taps, change.tap.name, change.tap, deleted)
        elif kind == "link":
            _put(self.links, endpoint_text(change.link.endpoint), change.link, deleted)

    def render(self) -> str:
        """The view as aligned text tables: VMs, LANs, taps (if any), links."""
        out = ["revision %d" % self.revision, ""]
        rows: List[Tuple[str, ...]] = [
            ("VM", "#", "STATE", "IMAGE", "MEM", "ADMIN-IP", "NICS", "LABELS")]
        for name in sorted(self.vms):
            vm = self.vms[name]
            state = _VM_STATES.get(vm.state, "unknown")
            if vm.state_reason:
                state += " (%s)" % vm.state_reason
            no_eth0 = vm.HasField("admin") and not vm.admin
            nics = " ".join("eth%d:%s" % (n.index, n.lan or "-") for n in vm.nics
                            if not (n.index == 0 and no_eth0)) or "-"
            rows.append((name, str(vm.number), state, vm.image or "-", "%dM" % vm.mem_mib,
                         _admin(vm), nics, _labels(vm.labels)))
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


def _put(table: Dict[str, _T], key: str, value: _T, deleted: bool) -> None:
    if not deleted:
        table[key] = value
    elif key in table:
        del table[key]


def _admin(vm: resources_pb2.Vm) -> str:
    """The ADMIN-IP cell, as the CLI's: "none" without the admin network (no eth0)."""
    if vm.HasField("admin") and not vm.admin:
        return "none"
    return vm.admin_ip or "-"


def _labels(labels: Mapping[str, str]) -> str:
    return ",".join("%s=%s" % kv for kv in sorted(labels.items())) or "-"


def _table(rows: Sequence[Sequence[str]]) -> List[str]:
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
