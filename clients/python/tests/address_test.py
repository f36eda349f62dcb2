"""The server address rule: the cases of clients/common/server_address_test.cc (the C++ clients'
rule), and more; address_cli_parity_test.py checks the Python rule against the real CLI."""

from __future__ import annotations

import unittest
import unittest.mock

import clownix
from clownix import address


class ChooseServerAddressTest(unittest.TestCase):
    def test_precedence(self) -> None:
        choose = address.choose_server_address
        self.assertEqual(choose("unix:/a", {"CLOWNIX_SERVER": "unix:/b",
                                            "CLOWNIX_WORK_DIR": "/c"}), "unix:/a")
        self.assertEqual(choose("", {"CLOWNIX_SERVER": "unix:/b", "CLOWNIX_WORK_DIR": "/c"}),
                         "unix:/b")
        self.assertEqual(choose(None, {"CLOWNIX_SERVER": "", "CLOWNIX_WORK_DIR": "/c"}),
                         "unix:/c/clownixd.sock")
        self.assertEqual(choose(None, {"CLOWNIX_WORK_DIR": "/c/"}), "unix:/c/clownixd.sock")
        self.assertEqual(choose(None, {}), clownix.DEFAULT_ADDRESS)
        self.assertEqual(choose("", {"CLOWNIX_SERVER": "", "CLOWNIX_WORK_DIR": ""}),
                         "unix:/tmp/clownix/clownixd.sock")

    def test_work_dir_slashes(self) -> None:
        choose = address.choose_server_address
        self.assertEqual(choose(None, {"CLOWNIX_WORK_DIR": "/w//"}), "unix:/w/clownixd.sock")
        self.assertEqual(choose(None, {"CLOWNIX_WORK_DIR": "/"}), "unix:/clownixd.sock")
        self.assertEqual(choose(None, {"CLOWNIX_WORK_DIR": "//"}), "unix:/clownixd.sock")
        self.assertEqual(choose(None, {"CLOWNIX_WORK_DIR": "rel"}), "unix:rel/clownixd.sock")

    def test_defaults_to_the_process_environment(self) -> None:
        with unittest.mock.patch.dict("os.environ", {"CLOWNIX_SERVER": "unix:/from-env"}):
            self.assertEqual(address.choose_server_address(), "unix:/from-env")
            self.assertEqual(clownix.Client().address, "unix:/from-env")


class GrpcTargetTest(unittest.TestCase):
    def test_forms(self) -> None:
        self.assertEqual(address.grpc_target("unix:/tmp/x.sock"), "unix:/tmp/x.sock")
        self.assertEqual(address.grpc_target("/tmp/x.sock"), "unix:/tmp/x.sock")
        self.assertEqual(address.grpc_target("localhost:7000"), "localhost:7000")
        self.assertEqual(address.grpc_target("[::1]:7000"), "[::1]:7000")
        self.assertEqual(address.grpc_target("h:65535"), "h:65535")

    def test_errors_name_the_address_and_why(self) -> None:
        cases = {
            "localhost": "no port",
            "unix:": "empty socket path",
            "host:0": "port must be 1..65535",
            "host:65536": "port must be 1..65535",
            "host:http": "port must be 1..65535",
            "host:": "port must be 1..65535",
            "host:\u0665": "port must be 1..65535",  # A digit to str.isdigit(), not to the CLI.
            ":7000": "no host",
        }
        for bad, why in cases.items():
            with self.assertRaises(clownix.AddressError, msg=bad) as caught:
                address.grpc_target(bad)
            self.assertEqual(str(caught.exception), 'bad server address "%s": %s (expected '
                             "unix:PATH or HOST:PORT)" % (bad, why))
            self.assertIsInstance(caught.exception, ValueError)

    def test_client_rejects_a_bad_address(self) -> None:
        with self.assertRaises(clownix.AddressError):
            clownix.Client("localhost")

    def test_resolve(self) -> None:
        self.assertEqual(address.server_target(None, {"CLOWNIX_WORK_DIR": "/w"}),
                         "unix:/w/clownixd.sock")
        self.assertEqual(address.server_target("/s"), "unix:/s")


if __name__ == "__main__":
    unittest.main()
