#!/usr/bin/env bash
# Installs every Debian package clownix needs to build, run and test, then builds the `debian`
# guest image (images/debian, docs/images.md) into /var/cache/clownix/images. Idempotent: a
# second run installs and builds nothing and takes about a second.
# Exit status: 0 all done; 3 the packages are in place but the debian image could not be built
# (no network access on a first build: the message says so, and everything that uses the `tiny`
# image works); anything else, a package could not be installed.
set -euo pipefail

packages=(
  # build: Bazel and the toolchain's libraries
  bazel-bootstrap bazel-rules-java default-jdk-headless pkg-config g++
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev nlohmann-json3-dev libgtest-dev libgmock-dev libyaml-cpp-dev
  # run: UML, the reference switches, the default root filesystem
  user-mode-linux uml-utilities vde2 busybox-static e2fsprogs dropbear-bin
  iproute2 graphviz openssh-client
  # the debian guest image: built from Debian packages by images/debian/build_image.sh
  mmdebstrap
  # packet capture: libpcap compiles filters (clownixd) and runs them (the switch); tshark reads
  # captures in the tests
  libpcap-dev tshark
  # clients and tests
  python3-grpcio python3-protobuf clang libclang-rt-14-dev python3-jsonschema python3-yaml
  # the Python package: typed stubs (mypy-protobuf), its type check, its offline pip install
  mypy-protobuf mypy python3-setuptools python3-venv python3-wheel
  # checks in tools/test.sh: clang 14 for --config=clang and --config=tsan (bazel/clang, its TSAN
  # runtime in libclang-rt-14-dev), clang-format for tools/check_format.sh
  clang-14 clang-format
  # clownix-web (clients/web): Boost.Beast's headers; node runs its npm packages' installer and
  # its browser tests, which drive Debian's chromium
  libboost-dev nodejs chromium
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

# clownix-web's npm packages (xterm.js for the page, playwright-core for its browser tests), pinned
# by clients/web/package-lock.json, installed outside the repository; again only when the lockfile
# changes.
web_cache=/var/cache/clownix/web
web_src="$(dirname "$0")/../clients/web"
web_want="$(cat "$web_src/package.json" "$web_src/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [[ ! -d "$web_cache/node_modules" || "$(cat "$web_cache/installed.sha256" 2>/dev/null)" != "$web_want" ]]; then
  echo "setup: installing clownix-web's npm packages into $web_cache" >&2
  # Debian's npm, unless node came with its own.
  command -v npm >/dev/null || DEBIAN_FRONTEND=noninteractive ${SUDO-} apt-get install -y -qq \
    --no-install-recommends npm >/dev/null
  mkdir -p "$web_cache"
  cp "$web_src/package.json" "$web_src/package-lock.json" "$web_cache/"
  (cd "$web_cache" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$web_want" >"$web_cache/installed.sha256"
fi

# The debian guest image: built once per machine, again only when its recipe changes (0.1 s
# otherwise). It needs network access the first time; without it the tiny image still works.
if ! bash "$(dirname "$0")/../images/debian/build_image.sh"; then
  echo "setup: the debian guest image is not built (see above); the tiny image works" >&2
  exit 3
fi
