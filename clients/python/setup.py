"""Builds the clownix package (metadata in pyproject.toml). The one thing pyproject.toml cannot
say: build_py also generates clownix/v1/ (the API modules and their typed stubs) into the build
directory with gen_stubs.sh, from the .proto files of the checkout this directory is part of."""

import os
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildPyWithApi(build_py):
    """build_py, then the generated clownix.v1 modules into the same build directory."""

    def run(self) -> None:
        super().run()
        if not self.dry_run:
            subprocess.run(["sh", os.path.join(HERE, "gen_stubs.sh"), self.build_lib],
                           check=True)


setup(cmdclass={"build_py": BuildPyWithApi})
