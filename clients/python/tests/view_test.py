"""TopologyView and the helpers that split and print watch items."""

from __future__ import annotations

import json
import unittest

import clownix
from clownix.v1 import resources_pb2
from clownix.v1 import topology_pb2


def vm_change(kind: topology_pb2.Change.Type.ValueType, name: str,
              state: resources_pb2.VmState.ValueType = resources_pb2.VM_STATE_DEFINED
              ) -> topology_pb2.Change:
    return topology_pb2.Change(type=kind, vm=resources_pb2.Vm(name=name, state=state))


def event(revision: int, *changes: topology_pb2.Change) -> topology_pb2.Event:
    return topology_pb2.Event(revision=revision, changes=changes)


class SplitTest(unittest.TestCase):
    def test_split_keeps_order(self) -> None:
        response = topology_pb2.WatchResponse(
            snapshot=topology_pb2.Snapshot(topology=resources_pb2.Network(revision=3)),
            events=[event(4), event(5)],
            heartbeat=topology_pb2.Heartbeat(revision=5))
        items = clownix.split_watch_response(response)
        self.assertEqual(len(items), 4)
        self.assertTrue(items[0].HasField("snapshot"))
        self.assertEqual([i.events[0].revision for i in items[1:3]], [4, 5])
        self.assertTrue(items[3].HasField("heartbeat"))

    def test_json_line(self) -> None:
        line = clownix.to_json_line(topology_pb2.WatchResponse(events=[event(7)]))
        self.assertNotIn("\n", line)
        self.assertEqual(json.loads(line), {"events": [{"revision": "7"}]})


class TopologyViewTest(unittest.TestCase):
    def test_applies_snapshot_and_changes(self) -> None:
        view = clownix.TopologyView()
        network = resources_pb2.Network(revision=2, vms=[resources_pb2.Vm(name="old")],
                                        lans=[resources_pb2.Lan(name="lan1")])
        view.apply(topology_pb2.WatchResponse(snapshot=topology_pb2.Snapshot(topology=network)))
        self.assertEqual(set(view.vms), {"old"})
        link = resources_pb2.Link(
            endpoint=resources_pb2.Endpoint(nic=resources_pb2.NicRef(vm="vm1", index=1)),
            lan="lan1", up=True)
        changed = view.apply(topology_pb2.WatchResponse(events=[
            event(3, vm_change(topology_pb2.Change.CREATED, "vm1")),
            event(4, vm_change(topology_pb2.Change.UPDATED, "vm1",
                               resources_pb2.VM_STATE_RUNNING),
                  topology_pb2.Change(type=topology_pb2.Change.CREATED, link=link)),
            event(5, vm_change(topology_pb2.Change.DELETED, "old"),
                  vm_change(topology_pb2.Change.DELETED, "never-seen")),
        ]))
        self.assertTrue(changed)
        self.assertEqual(view.revision, 5)
        self.assertEqual(set(view.vms), {"vm1"})
        self.assertEqual(view.vms["vm1"].state, resources_pb2.VM_STATE_RUNNING)
        self.assertIn("vm1/eth1", view.links)
        text = view.render()
        self.assertIn("revision 5", text)
        self.assertIn("running", text)
        self.assertIn("vm1/eth1  lan1  up", text)
        self.assertFalse(view.apply(topology_pb2.WatchResponse(
            heartbeat=topology_pb2.Heartbeat(revision=5))))

    def test_a_snapshot_replaces_everything(self) -> None:
        view = clownix.TopologyView()
        view.apply(topology_pb2.WatchResponse(events=[
            event(3, vm_change(topology_pb2.Change.CREATED, "vm1"))]))
        view.apply(topology_pb2.WatchResponse(snapshot=topology_pb2.Snapshot(
            topology=resources_pb2.Network(revision=9, taps=[resources_pb2.Tap(name="t0")]),
            reason=topology_pb2.Snapshot.HISTORY_EXPIRED)))
        self.assertEqual((view.revision, set(view.vms), set(view.taps)), (9, set(), {"t0"}))
        self.assertIn("t0   -    -", view.render())

    def test_admin_column_as_the_cli_shows_it(self) -> None:
        view = clownix.TopologyView()
        view.apply(topology_pb2.WatchResponse(snapshot=topology_pb2.Snapshot(
            topology=resources_pb2.Network(revision=1, vms=[
                resources_pb2.Vm(name="a", number=1, admin=True, admin_ip="10.0.0.1",
                                 image="debian"),
                resources_pb2.Vm(name="b", number=2, admin=False, nics=[
                    resources_pb2.Nic(index=0), resources_pb2.Nic(index=1, lan="lan1")]),
                resources_pb2.Vm(name="c", number=3)]))))
        lines = view.render().splitlines()
        self.assertRegex(next(l for l in lines if l.startswith("a ")), r"\sdebian\s.*\s10\.0\.0\.1\s")
        self.assertRegex(next(l for l in lines if l.startswith("b ")), r"\snone\s+eth1:lan1\s")
        self.assertRegex(next(l for l in lines if l.startswith("c ")), r"\s-\s")

    def test_endpoint_text(self) -> None:
        self.assertEqual(clownix.endpoint_text(resources_pb2.Endpoint(tap="t0")), "tap:t0")
        self.assertEqual(clownix.endpoint_text(resources_pb2.Endpoint()), "?")


if __name__ == "__main__":
    unittest.main()
