#!/bin/bash
# Writes the image.json of the built-in image `tiny` (server/image_manifest.proto): what
# build_rootfs.sh puts into rootfs.img, as the Debian packages it copies from (busybox-static,
# dropbear-bin and the libraries dropbear loads) and their versions on this machine, and a hash of
# the recipe (the build script, the guest files and those versions).
# Usage: image_json.sh OUT.json BUILD_ROOTFS_SH GUEST_FILE...
set -euo pipefail
out=$1
shift
packages=(busybox-static dropbear-bin)
# dropbear's shared libraries, by the package that ships each (as build_rootfs.sh finds them).
for bin in /usr/sbin/dropbear /usr/bin/dbclient; do
  [[ -x $bin ]] || { echo "image_json: $bin missing (install dropbear-bin)" >&2; exit 1; }
  while read -r lib; do
    owner=$(dpkg-query -S "$lib" 2>/dev/null || dpkg-query -S "$(readlink -f "$lib")" 2>/dev/null) ||
      { echo "image_json: no package ships $lib" >&2; exit 1; }
    packages+=("${owner%%:*}")
  done < <(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}')
done
mapfile -t contents < <(printf '%s\n' "${packages[@]}" | sort -u |
  xargs dpkg-query -W -f='${Package} ${Version}\n')
contents+=("clownix-agent (vmm/rootfs/guest/clownix_agent.cc)")
contents+=("clownix-console (vmm/rootfs/guest/clownix_console.cc)")
hash=$( (cat "$@"; printf '%s\n' "${contents[@]}") | sha256sum | cut -d' ' -f1)
{
  printf '{\n  "name": "tiny",\n'
  printf '  "description": "busybox, dropbear and the clownix agent: the smallest, fastest guest (IPv4 only, no routing daemons)",\n'
  printf '  "root_fs": "rootfs.img",\n  "default_mem_mib": 64,\n  "min_mem_mib": 48,\n'
  printf '  "contents": ['
  sep=""
  for item in "${contents[@]}"; do printf '%s\n    "%s"' "$sep" "$item"; sep=","; done
  printf '\n  ],\n  "recipe_hash": "%s"\n}\n' "$hash"
} >"$out"
