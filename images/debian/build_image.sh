#!/bin/bash
# Builds the clownix `debian` guest image (docs/images.md): Debian bookworm from packages.txt at the
# versions of packages.lock, with mmdebstrap (no loop mounts), the UML kernel's modules, busybox
# init and the guest files of guest/, into an ext4 image that is the same bit for bit on every
# machine with the same recipe. The result goes to IMAGE_DIR/debian-HASH/{rootfs.img,image.json},
# with IMAGE_DIR/debian a symlink to it, switched atomically; HASH is a sha256 over the recipe (this
# script, the package list and lock, the guest files, the agent, the UML kernel, SOURCE_DATE_EPOCH),
# so an unchanged recipe returns at once.
#
# Usage: build_image.sh [--image-dir DIR] [--cache-dir DIR] [--update-lock] [--force] [--print-hash]
#   --image-dir DIR  where images live (default /var/cache/clownix/images, clownixd --image_dir)
#   --cache-dir DIR  apt lists and .debs kept between builds, so a rebuild works offline
#                    (default /var/cache/clownix/apt)
#   --update-lock    build from the archive's current versions and rewrite packages.lock
#   --force          rebuild even when the image of this recipe exists
#   --print-hash     print the recipe hash and exit
# Needs root (mmdebstrap --mode=root, chroot) and, the first time, access to deb.debian.org.
# Exit status: 0 built or up to date; 2 usage; 3 no network and no cache; 1 any other failure.
set -euo pipefail
export LC_ALL=C.UTF-8
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
name=debian
image_dir=/var/cache/clownix/images
cache_dir=/var/cache/clownix/apt
update_lock=0 force=0 print_hash=0
while (($#)); do
  case $1 in
    --image-dir) image_dir=${2:?--image-dir needs a directory}; shift 2 ;;
    --cache-dir) cache_dir=${2:?--cache-dir needs a directory}; shift 2 ;;
    --update-lock) update_lock=1; shift ;;
    --force) force=1; shift ;;
    --print-hash) print_hash=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build_image: unknown argument \"$1\" (see --help)" >&2; exit 2 ;;
  esac
done

say() { echo "build_image[$name]: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# Every input of the image. The timestamp of every file, the file system's UUID and hash seed and
# mke2fs's clock all derive from SOURCE_DATE_EPOCH (2025-01-01), so it is part of the recipe.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1735689600}
suite=bookworm
mirror=http://deb.debian.org/debian
security_mirror=http://deb.debian.org/debian-security
agent=$repo/vmm/rootfs/guest/clownix_agent.cc
relay=$repo/vmm/rootfs/guest/clownix_console.cc
kernel=/usr/bin/linux.uml
[[ -x $kernel ]] || die "$kernel missing (install user-mode-linux: bash tools/setup.sh)"
kver=$("$kernel" --version 2>/dev/null | head -n 1)
modules=/usr/lib/uml/modules/$kver
[[ -d $modules ]] || die "$modules missing: the UML kernel $kver has no modules directory"
[[ -f $agent ]] || die "$agent missing"
[[ -f $relay ]] || die "$relay missing"

recipe_hash() {
  {
    echo "suite $suite $mirror $security_mirror"
    echo "SOURCE_DATE_EPOCH $SOURCE_DATE_EPOCH"
    echo "kernel $kver $(dpkg-query -W -f='${Version}' user-mode-linux 2>/dev/null || true)"
    local f
    for f in build_image.sh packages.txt packages.lock $(cd "$here" && find guest -type f | sort); do
      [[ -f $here/$f ]] || continue
      echo "file $f $(sha256sum <"$here/$f" | cut -d' ' -f1) $(stat -c %a "$here/$f")"
    done
    echo "file agent $(sha256sum <"$agent" | cut -d' ' -f1)"
    echo "file console relay $(sha256sum <"$relay" | cut -d' ' -f1)"
    echo "compiler $(g++ --version 2>/dev/null | head -n 1)"
  } | sha256sum | cut -d' ' -f1
}

hash=$(recipe_hash)
if ((print_hash)); then echo "$hash"; exit 0; fi
version_dir=$name-${hash:0:16}

# Points IMAGE_DIR/debian at DIR (a name inside IMAGE_DIR) with one rename(2): a reader sees the old
# image or the new one, never a missing or half-written one.
switch_link() {
  local tmp_link="$image_dir/.$name.link.$$"
  ln -sfn "$1" "$tmp_link"
  mv -T "$tmp_link" "$image_dir/$name"
}

up_to_date() {
  [[ -f $image_dir/$version_dir/image.json && -f $image_dir/$version_dir/rootfs.img ]] || return 1
  if [[ $(readlink "$image_dir/$name" 2>/dev/null) != "$version_dir" ]]; then
    switch_link "$version_dir"
  fi
  return 0
}

if ((!force && !update_lock)) && up_to_date; then
  say "up to date: $image_dir/$name -> $version_dir"
  exit 0
fi

[[ $(id -u) -eq 0 ]] || die "must run as root (mmdebstrap --mode=root, chroot)"
command -v mmdebstrap >/dev/null || die "mmdebstrap missing (apt-get install mmdebstrap)"
for tool in mke2fs debugfs e2fsck strip python3 g++; do
  command -v "$tool" >/dev/null || die "$tool missing"
done

mkdir -p "$image_dir" "$cache_dir/archives" "$cache_dir/lists"
chmod 0755 "$image_dir"
# One build at a time per image directory; a second caller waits, then finds the image built.
exec 9>"$image_dir/.$name.lock"
flock 9
if ((!force && !update_lock)) && up_to_date; then
  say "up to date (built meanwhile): $image_dir/$name -> $version_dir"
  exit 0
fi

start=$SECONDS
# What an interrupted build left in the image directory (its output is moved in whole or not).
rm -rf "$image_dir/.$name"-*.?????? "$image_dir/.$name.link".*
work=$(mktemp -d "${TMPDIR:-/var/tmp}/clownix-image.XXXXXX")
out_tmp=
cleanup() {
  # The tree holds absolute symlinks: never follow them out of it while removing.
  rm -rf --one-file-system "$work"
  [[ -z $out_tmp ]] || rm -rf "$out_tmp"
}
trap cleanup EXIT
tree=$work/tree
# The recipe as hashed: later edits of the working tree do not leak into this build.
mkdir -p "$work/recipe"
cp -a "$here/guest" "$here/packages.txt" "$work/recipe/"
[[ -f $here/packages.lock ]] && cp -a "$here/packages.lock" "$work/recipe/"
cp -a "$agent" "$work/recipe/clownix_agent.cc"
cp -a "$relay" "$work/recipe/clownix_console.cc"
if [[ $(recipe_hash) != "$hash" ]]; then die "the recipe changed while the build started: run it again"; fi

# Online (deb.debian.org answers) the apt lists are fetched fresh; offline a build can still work
# from the lists and .debs the last one left in the cache directory.
online=0
if timeout 10 bash -c 'exec 3<>/dev/tcp/deb.debian.org/80' 2>/dev/null; then online=1; fi
have_lists=0
compgen -G "$cache_dir/lists/*_InRelease" >/dev/null && have_lists=1
if ((!online)); then
  if ((update_lock || !have_lists)); then
    cat >&2 <<MSG
build_image[$name]: ERROR: no network access: deb.debian.org cannot be reached and the apt cache
  ($cache_dir) holds no package lists from an earlier build, so the Debian image cannot be built.
  The \`tiny\` image (built by Bazel) still works: VMs that do not ask for \`debian\` run as before.
  Build this image later, with network access: bash $here/build_image.sh
MSG
    exit 3
  fi
  say "no network access: building offline from the apt cache in $cache_dir"
fi

# The lock pins every package through apt preferences (priority > 1000 also pins the essential
# set mmdebstrap installs before --include). A pinned version the archive no longer offers (the
# mirror keeps only the current one) matches nothing, so apt takes the archive's: the build goes
# on and the difference is reported below.
lock=$here/packages.lock
mkdir -p "$work/etc"
: >"$work/etc/preferences"
if ((!update_lock)) && [[ -f $lock ]]; then
  awk '!/^#/ && NF == 2 {
         printf "Package: %s\nPin: version %s\nPin-Priority: 1001\n\n", $1, $2
       }' "$work/recipe/packages.lock" >"$work/etc/preferences"
fi
mapfile -t want < <(sed 's/#.*//' "$work/recipe/packages.txt" | awk 'NF {print $1}')
((${#want[@]})) || die "packages.txt lists no package"

mm_args=(
  --mode=root --variant=apt --format=directory
  # Without it apt picks usrmerge, which pulls in perl (+48 MiB).
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
  --include="$(IFS=,; echo "${want[*]}")"
  --aptopt='APT::Install-Recommends "false"'
  --aptopt='Acquire::Retries "2"'
  --aptopt='Acquire::http::Timeout "30"'
  # Neither documentation, manual pages nor translations (licences stay).
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-include=/usr/share/locale/locale.alias'
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/lintian/*'
  --dpkgopt='path-exclude=/usr/share/bug/*'
  --dpkgopt='path-exclude=/usr/share/vim/vim*/doc/*'
  --setup-hook="mkdir -p \"\$1/etc/apt/preferences.d\" \"\$1/var/cache/apt/archives\" \"\$1/var/lib/apt/lists\""
  --setup-hook="cp '$work/etc/preferences' \"\$1/etc/apt/preferences.d/clownix-lock.pref\""
  --setup-hook="sync-in $cache_dir/archives /var/cache/apt/archives/"
  # Keep what was downloaded: the customize hook copies it back to the cache.
  --skip=essential/unlink
  --customize-hook="sync-out /var/cache/apt/archives $cache_dir/archives"
  --customize-hook="sync-out /var/lib/apt/lists $cache_dir/lists"
  --customize-hook="rm -f \"\$1/etc/apt/preferences.d/clownix-lock.pref\""
)
if ((!online)); then
  mm_args+=(--skip=update --setup-hook="sync-in $cache_dir/lists /var/lib/apt/lists/")
fi
sources="deb $mirror $suite main
deb $mirror $suite-updates main
deb $security_mirror $suite-security main"

say "building $version_dir ($( ((online)) && echo online || echo offline)): mmdebstrap of $suite"
if ! mmdebstrap "${mm_args[@]}" "$suite" "$tree" - <<<"$sources" >"$work/mmdebstrap.log" 2>&1; then
  tail -n 30 "$work/mmdebstrap.log" >&2
  if grep -qE "Could not resolve|Temporary failure resolving|Failed to fetch|Unable to connect" \
    "$work/mmdebstrap.log"; then
    say "ERROR: the Debian archive could not be reached (network access is needed for a first build);"
    say "the \`tiny\` image still works."
    exit 3
  fi
  die "mmdebstrap failed (log above)"
fi
say "mmdebstrap done in $((SECONDS - start)) s"

in_tree() { chroot "$tree" /usr/bin/env -i PATH=/usr/sbin:/usr/bin "$@"; }

# What is installed, "package version" per line: the lock's format and image.json's contents.
in_tree dpkg-query -W -f='${Package} ${Version}\n' | sort >"$work/installed"
if ((update_lock)); then
  {
    echo "# Generated by build_image.sh --update-lock: every package of the debian image at its version."
    cat "$work/installed"
  } >"$lock.tmp"
  mv "$lock.tmp" "$lock"
  say "wrote $lock ($(wc -l <"$work/installed") packages)"
  hash=$(recipe_hash)
  version_dir=$name-${hash:0:16}
elif [[ -f $lock ]]; then
  if ! diff <(grep -v '^#' "$work/recipe/packages.lock") "$work/installed" >"$work/lock.diff"; then
    {
      echo
      echo "################################################################################"
      echo "WARNING: the debian image differs from images/debian/packages.lock."
      echo "The archive no longer has some pinned versions (Debian's mirror keeps only the"
      echo "current ones), or packages.txt changed. Built with ('<' lock, '>' installed):"
      grep '^[<>]' "$work/lock.diff" | sed 's/^/  /'
      echo "image.json lists the versions really installed. To pin them, refresh the lock and"
      echo "commit it:  sudo bash images/debian/build_image.sh --update-lock"
      echo "################################################################################"
      echo
    } >&2
  fi
else
  say "WARNING: no packages.lock: built from the archive's current versions;"
  say "create the lock with: sudo bash images/debian/build_image.sh --update-lock"
fi

# The guest's iptables is the legacy one: nf_tables works only for the bridge family here.
for t in iptables ip6tables; do
  in_tree update-alternatives --quiet --set "$t" "/usr/sbin/$t-legacy"
done

# Nothing packaged starts by itself: no rc links (the guest's init starts what /etc/rc2.d holds,
# and `systemctl enable` puts there).
find "$tree/etc" -maxdepth 2 -path "$tree/etc/rc[0-6S].d/*" \( -name 'S*' -o -name 'K*' \) -delete

# put SRC DEST MODE: installs a guest file; the tree holds absolute symlinks, so the destination
# is removed first and never written through.
put() {
  local dest=$tree$2
  mkdir -p "$(dirname "$dest")"
  rm -f "$dest"
  install -m "$3" "$1" "$dest"
}
# link TARGET DEST: a relative symbolic link (an absolute one would point into the host).
link() {
  mkdir -p "$(dirname "$tree$2")"
  rm -f "$tree$2"
  ln -s "$1" "$tree$2"
}
g=$work/recipe/guest
put "$g/inittab" /etc/inittab 0644
put "$g/rcS" /etc/init.d/rcS 0755
put "$g/rc.services" /etc/init.d/rc.services 0755
put "$g/rc.shutdown" /etc/init.d/rc.shutdown 0755
put "$g/systemctl" /usr/bin/systemctl 0755
put "$g/frr/daemons" /etc/frr/daemons 0640
put "$g/frr/frr.conf" /etc/frr/frr.conf 0640
in_tree chown frr:frr /etc/frr/daemons /etc/frr/frr.conf
put "$g/profile.sh" /etc/profile.d/clownix.sh 0644
# The console's login shell starts at every boot, and Debian's /etc/profile and /root/.profile
# each run a dynamic binary (`id -u`, `mesg n`): a fork + exec under UML, tens of ms of host CPU.
# bash's EUID tells root apart without one (dash and ash still run `id`); `mesg n` only keeps
# other local users from writing to the terminal, and a guest has only root.
sed -i 's/"$(id -u)"/"${EUID:-$(id -u)}"/' "$tree/etc/profile"
sed -i '/^mesg n /d' "$tree/root/.profile"
grep -q 'EUID:-$(id -u)' "$tree/etc/profile" && ! grep -q '^mesg' "$tree/root/.profile" ||
  die "Debian's /etc/profile or /root/.profile changed: update the edits above"
put "$g/fstab" /etc/fstab 0644
# What rcS copies onto the kernel's devtmpfs with one `cp -a` (a command each would cost a fork
# under UML): the mount points of devpts and /dev/shm, the tun node, the /proc/self/fd links.
# And the config disk's mount point, so that rcS need not make it.
dev=$tree/usr/lib/clownix/dev
rm -rf "$dev"
mkdir -p "$dev/pts" "$dev/shm" "$dev/net" "$tree/mnt/clownix_config_fs"
mknod -m 0666 "$dev/net/tun" c 10 200
ln -s /proc/self/fd "$dev/fd"
ln -s /proc/self/fd/0 "$dev/stdin"
ln -s /proc/self/fd/1 "$dev/stdout"
ln -s /proc/self/fd/2 "$dev/stderr"
put "$g/modprobe.conf" /etc/modprobe.d/clownix.conf 0644
put "$g/dig" /usr/bin/dig 0755
# The agent (vmm/agent_protocol.h): the tiny image's program, static, built here as Bazel builds it
# there. It runs each command by /bin/sh, which here is Debian's dash with Debian's tools.
g++ -std=c++17 -O2 -Wall -static -s -o "$work/clownix-agent" "$work/recipe/clownix_agent.cc" ||
  die "the guest agent did not compile"
put "$work/clownix-agent" /usr/sbin/clownix-agent 0755
# The console relay (vmm/console_flow.h), the same way: the console's bash runs under it.
g++ -std=c++17 -O2 -Wall -static -s -o "$work/clownix-console" "$work/recipe/clownix_console.cc" ||
  die "the console relay did not compile"
put "$work/clownix-console" /usr/sbin/clownix-console 0755
# busybox init and the power applets, which Debian without systemd or sysvinit lacks.
for applet in init halt reboot poweroff; do
  [[ -e $tree/usr/sbin/$applet ]] || link ../bin/busybox "/usr/sbin/$applet"
done
[[ -e $tree/usr/sbin/init ]] && [[ $(readlink "$tree/usr/sbin/init") == ../bin/busybox ]] ||
  die "/usr/sbin/init is not busybox in the image"
rm -f "$tree/etc/hostname" "$tree/etc/resolv.conf" "$tree/etc/hosts"
echo clownix >"$tree/etc/hostname"
: >"$tree/etc/resolv.conf"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$tree/etc/hosts"
mkdir -p "$tree/etc/dropbear" "$tree/root/.ssh" "$tree/etc/clownix"
chmod 0700 "$tree/root" "$tree/root/.ssh"
# Leftovers that differ from build to build or are of no use in the guest.
rm -rf "$tree"/var/cache/debconf/*-old "$tree"/var/lib/dpkg/*-old "$tree"/var/cache/apt/*.bin \
  "$tree"/var/log/apt/* "$tree"/var/log/*.log

# The UML kernel's modules: networking (ipv6, bridge, 8021q, vrf, mpls, dummy, tun, veth, vxlan,
# netfilter, qdiscs), the libraries and crypto they use; stripped of debug information.
mdst=$tree/usr/lib/modules/$kver
rm -rf "$mdst"
mkdir -p "$mdst/kernel/drivers"
cp -a "$modules"/modules.builtin "$modules"/modules.builtin.modinfo "$modules"/modules.order "$mdst/"
cp -a "$modules/kernel/net" "$modules/kernel/lib" "$modules/kernel/crypto" "$mdst/kernel/"
cp -a "$modules/kernel/drivers/net" "$mdst/kernel/drivers/"
find "$mdst" -name '*.ko' -exec strip --strip-debug {} +
in_tree depmod "$kver"  # the image's own kmod: the host needs none
for m in ipv6 bridge 8021q nf_tables vrf mpls_router dummy tun veth vxlan; do
  grep -q "/$m.ko:" "$mdst/modules.dep" || die "module $m missing from the image"
done

# Every timestamp pinned; mke2fs with a fixed UUID, hash seed, owner and clock; its lazy inode
# table and journal initialisation off (or every guest's COW file grows ~2 MiB as the kernel
# zeroes them at first mount).
find "$tree" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
tree_mib=$(du -s --block-size=1M --apparent-size "$tree" | cut -f1)
fs_mib=$(((tree_mib * 13 / 10 + 512 + 63) / 64 * 64))
out_tmp=$(mktemp -d "$image_dir/.$version_dir.XXXXXX")
img=$out_tmp/rootfs.img
E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH mke2fs -q -t ext4 -L clownix-debian \
  -U 6c6f776e-6978-4000-8000-646562696e00 \
  -E hash_seed=6c6f776e-6978-4000-8000-686173680001,root_owner=0:0,lazy_itable_init=0,lazy_journal_init=0 \
  -J size=8 -d "$tree" "$img" "${fs_mib}M" >/dev/null || { rm -rf "$out_tmp"; die "mke2fs failed"; }
# mke2fs -d copies each file's ctime, atime and crtime, which touch cannot all set: pin them.
(cd "$tree" && find . -mindepth 1) | sed 's|^\.\(.*\)$|\1|' | awk -v t="$SOURCE_DATE_EPOCH" '
  { q = "\"" $0 "\""
    printf "sif %s ctime @%s\nsif %s atime @%s\nsif %s crtime @%s\n", q, t, q, t, q, t }
  END { printf "sif / ctime @%s\nsif / atime @%s\nsif / crtime @%s\n", t, t, t }' >"$work/pin.debugfs"
E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH debugfs -w -f "$work/pin.debugfs" "$img" >/dev/null 2>"$work/debugfs.err" ||
  { rm -rf "$out_tmp"; die "debugfs failed: $(head -n 3 "$work/debugfs.err")"; }
e2fsck -fn "$img" >"$work/fsck.log" 2>&1 || { cat "$work/fsck.log" >&2; rm -rf "$out_tmp"; die "the new image does not check clean"; }
chmod 0444 "$img"

build_seconds=$((SECONDS - start))
python3 - "$out_tmp/image.json.tmp" "$work/installed" "$hash" "$build_seconds" <<'PY'
import json, sys
path, installed, recipe_hash, seconds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
contents = [line.strip() for line in open(installed) if line.strip()]
image = {
    "name": "debian",
    "description": "Debian 12 (bookworm) with FRR, tcpdump, iperf3, iptables, dnsmasq, nginx, ssh",
    "root_fs": "rootfs.img",
    "default_mem_mib": 96,
    "min_mem_mib": 64,
    "contents": contents,
    "recipe_hash": recipe_hash,
    "build_seconds": seconds,
}
with open(path, "w") as f:
    json.dump(image, f, indent=1)
    f.write("\n")
PY
chmod 0644 "$out_tmp/image.json.tmp"
mv "$out_tmp/image.json.tmp" "$out_tmp/image.json"
chmod 0755 "$out_tmp"

# Into place: the versioned directory by one rename, then the name by one more. A directory of
# the same recipe (a --force or --update-lock rebuild) is replaced only after the switch.
previous=$(readlink "$image_dir/$name" 2>/dev/null || true)
if [[ -e $image_dir/$version_dir ]]; then
  mv -T "$image_dir/$version_dir" "$image_dir/.$version_dir.old.$$"
fi
mv -T "$out_tmp" "$image_dir/$version_dir"
out_tmp=
switch_link "$version_dir"
rm -rf "$image_dir/.$version_dir.old.$$"
# Older versions go, except the one just replaced: VMs started on it keep their backing file.
for d in "$image_dir/$name"-*; do
  [[ -d $d ]] || continue
  b=$(basename "$d")
  [[ $b == "$version_dir" || $b == "$previous" ]] || rm -rf "$d"
done

# Keep only the .debs of this image in the cache.
in_tree dpkg-query -W -f='${Package}_${Version}_${Architecture}.deb\n' | sed 's/:/%3a/g' | sort >"$work/debs"
for f in "$cache_dir"/archives/*.deb; do
  [[ -e $f ]] || continue
  grep -qxF "$(basename "$f")" "$work/debs" || rm -f "$f"
done

final=$image_dir/$version_dir/rootfs.img
say "built $image_dir/$name -> $version_dir in ${build_seconds} s: $(wc -l <"$work/installed")" \
  "packages; rootfs.img $(du -m --apparent-size "$final" | cut -f1) MiB," \
  "$(du -m "$final" | cut -f1) MiB allocated, sha256 $(sha256sum "$final" | cut -d' ' -f1)"
