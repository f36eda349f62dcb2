#!/usr/bin/env bash
# Installs every Debian package clownix needs to build, run and test. Idempotent: a
# second run installs nothing and takes about a second.
set -euo pipefail

packages=(
  # build: Bazel and the toolchain's libraries
  bazel-bootstrap bazel-rules-java default-jdk-headless pkg-config g++
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev nlohmann-json3-dev libgtest-dev libgmock-dev
  # run: UML, the reference switches, the default root filesystem
  user-mode-linux uml-utilities vde2 busybox-static e2fsprogs dropbear-bin
  iproute2 graphviz openssh-client
  # clients and tests
  python3-grpcio python3-protobuf clang libclang-rt-14-dev
  # the Python package: typed stubs (mypy-protobuf), its type check, its offline pip install
  mypy-protobuf mypy python3-setuptools python3-venv python3-wheel
  # checks in tools/test.sh: clang 14 for --config=clang and --config=tsan (bazel/clang, its TSAN
  # runtime in libclang-rt-14-dev), clang-format for tools/check_format.sh
  clang-14 clang-format
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
