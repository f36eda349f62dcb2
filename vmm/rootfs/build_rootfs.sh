#!/bin/bash
# Builds the default clownix root filesystem (an ext2 image) without root privileges and
# reproducibly: busybox-static with relative applet links, dropbear, the project's init files, fixed
# timestamps, UUID and directory hash seed.
# Usage: build_rootfs.sh OUT.img INITTAB RCS AGENT CONSOLE_RELAY
set -euo pipefail
abs() { [[ $1 == /* ]] && echo "$1" || echo "$PWD/$1"; }
out=$(abs "$1") inittab=$(abs "$2") rcs=$(abs "$3") agent=$(abs "$4") relay=$(abs "$5")
busybox=/bin/busybox
[[ -x $busybox ]] || { echo "build_rootfs: $busybox missing (install busybox-static)" >&2; exit 1; }
mkfs=$(command -v mkfs.ext2 || echo /sbin/mkfs.ext2)

tree=$(mktemp -d)
trap 'chmod -R u+w "$tree"; rm -rf "$tree"' EXIT
cd "$tree"
mkdir -p bin sbin usr/bin usr/sbin etc/init.d etc/dropbear proc sys dev run tmp mnt root/.ssh var/log
install -m 0755 "$busybox" bin/busybox
# Every applet as a RELATIVE link: an absolute link to /bin/busybox would let a write through
# ROOT/sbin/init on the host side overwrite the host's busybox.
while read -r applet; do
  [[ $applet == bin/busybox ]] && continue
  [[ -e $applet || -L $applet ]] && continue
  depth=$(tr -cd / <<<"$applet" | wc -c)
  up=$(printf '../%.0s' $(seq 1 "$depth"))
  ln -s "${up}bin/busybox" "$applet"
done < <("$busybox" --list-full | sort)
# dropbear (ssh server) and dbclient, with the shared libraries they load (docs/uml-facts.md #18).
for bin in /usr/sbin/dropbear /usr/bin/dbclient; do
  [[ -x $bin ]] || { echo "build_rootfs: $bin missing (install dropbear-bin)" >&2; exit 1; }
  install -D -m 0755 "$bin" ".${bin}"
  ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | while read -r lib; do
    [[ -e ".$lib" ]] || install -D -m 0755 "$(readlink -f "$lib")" ".$lib"
  done
done
install -m 0644 "$inittab" etc/inittab
install -m 0755 "$rcs" etc/init.d/rcS
install -s -m 0755 "$agent" sbin/clownix-agent
install -s -m 0755 "$relay" sbin/clownix-console
printf 'root:x:0:0:root:/root:/bin/sh\n' >etc/passwd
printf 'root:x:0:\n' >etc/group
printf '/bin/sh\n' >etc/shells
printf 'clownix\n' >etc/hostname
chmod 0700 root root/.ssh
chmod 1777 tmp
find . -exec touch -h -d @0 {} +

rm -f "$out"
E2FSPROGS_FAKE_TIME=1 "$mkfs" -q -t ext2 -b 1024 -L clownix-root \
  -U 6c6f776e-6978-4000-8000-726f6f746673 \
  -E hash_seed=6c6f776e-6978-4000-8000-686173680000,root_owner=0:0 \
  -d "$tree" "$out" 16M
# mke2fs -d copies each file's ctime, which touch cannot set: pin them with debugfs.
find . -mindepth 1 | sed 's|^\.\(.*\)$|sif "\1" ctime 0|' >"$tree.debugfs"
echo 'sif / ctime 0' >>"$tree.debugfs"
E2FSPROGS_FAKE_TIME=1 debugfs -w -f "$tree.debugfs" "$out" >/dev/null 2>&1
rm -f "$tree.debugfs"
