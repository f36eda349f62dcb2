"""The topology file schema: docs/topology.schema.json is what the proto generates today, and it
accepts the examples and what `clownix topo --json` prints, and refuses unknown fields.

Regenerate after a change to resources.proto:
  bazel build //clients/cli:topology_schema_json &&
  cp bazel-bin/clients/cli/topology.schema.json docs/topology.schema.json
"""
import json
import os
import sys
import unittest

import jsonschema
import yaml

RUNFILES = os.path.join(os.environ["TEST_SRCDIR"], "clownix")


def read(path):
    with open(os.path.join(RUNFILES, path), encoding="utf-8") as f:
        return f.read()


class TopologySchemaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.schema = json.loads(read("docs/topology.schema.json"))
        jsonschema.Draft7Validator.check_schema(cls.schema)
        cls.validator = jsonschema.Draft7Validator(cls.schema)

    def errors(self, document):
        return [e.message for e in self.validator.iter_errors(document)]

    def test_checked_in_schema_is_the_generated_one(self):
        self.assertEqual(
            read("docs/topology.schema.json"), read("clients/cli/topology.schema.json"),
            "docs/topology.schema.json is stale: " + __doc__.split("\n\n")[1].strip())

    def test_examples_are_valid(self):
        self.assertEqual(self.errors(json.loads(read("examples/demo.json"))), [])
        self.assertEqual(self.errors(yaml.safe_load(read("examples/demo.yaml"))), [])

    def test_yaml_file_names_its_schema(self):
        self.assertTrue(read("examples/demo.yaml").startswith(
            "# yaml-language-server: $schema=../docs/topology.schema.json\n"))

    def test_printed_topology_is_valid(self):
        # What `clownix topo --json` prints: JSON names, 64-bit integers as strings, output-only
        # fields.
        printed = {
            "revision": "12",
            "vms": [{"name": "r1", "number": 1, "memMib": 64, "nicCount": 2, "state":
                     "VM_STATE_RUNNING", "adminIp": "198.18.0.1", "admin": True, "image": "tiny",
                     "labels": {"role": "router"},
                     "nics": [{"index": 0, "mac": "02:00:00:01:00:00", "linkUp": True}]}],
            "lans": [{"name": "lan1", "mode": "LAN_MODE_HUB"}],
            "taps": [{"name": "t0", "lan": "lan1"}],
            "links": [{"endpoint": {"nic": {"vm": "r1", "index": 1}}, "lan": "lan1", "up": True,
                       "toLan": {"delayUs": 1000, "lossPercent": 2.5, "rateKbps": "1000"}}],
        }
        self.assertEqual(self.errors(printed), [])

    def test_unknown_field_is_refused(self):
        errors = self.errors(yaml.safe_load("vms:\n  - name: vm1\n    nics2: 3\n"))
        self.assertEqual(len(errors), 1)
        self.assertIn("'nics2' was unexpected", errors[0])
        self.assertTrue(self.errors({"lans": [{"name": "a", "mode": "HUB"}]}))
        self.assertTrue(self.errors({"vms": [{"nic_count": "two"}]}))

    def test_oneof_takes_one_member(self):
        self.assertTrue(self.errors({"links": [{"endpoint": {"tap": "t0", "nic": {"vm": "a"}}}]}))
        self.assertEqual(self.errors({"links": [{"endpoint": {"tap": "t0"}}]}), [])

    def test_fields_are_described_by_their_proto_comments(self):
        vm = self.schema["definitions"]["clownix.v1.Vm"]["properties"]
        self.assertTrue(vm["nic_count"]["description"].startswith("Number of NICs including"))
        self.assertEqual(vm["nicCount"], vm["nic_count"])
        self.assertTrue(vm["number"]["readOnly"])
        self.assertNotIn("readOnly", vm["name"])
        impairment = self.schema["definitions"]["clownix.v1.Impairment"]["properties"]
        # One comment over several fields describes each of them.
        self.assertTrue(impairment["reorder_percent"]["description"].startswith("Percentages"))
        lan = self.schema["definitions"]["clownix.v1.Lan"]["properties"]
        self.assertIn("LAN_MODE_HUB (Every frame to every other port)", lan["mode"]["description"])

    def test_every_field_is_described(self):
        # Fields of resources.proto without a comment today; a new one must have one.
        uncommented = {"clownix.v1.Lan.labels", "clownix.v1.Tap.labels", "clownix.v1.Link.lan",
                       "clownix.v1.NicRef.vm", "clownix.v1.NicRef.index"}
        for name, definition in [("clownix.v1.Network", self.schema)] + list(
                self.schema["definitions"].items()):
            for field, prop in definition["properties"].items():
                if f"{name}.{field}" not in uncommented:
                    self.assertTrue(prop.get("description"), f"{name}.{field} has no description")

if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
