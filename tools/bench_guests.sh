#!/bin/bash
# Benchmarks of the guest images, `debian` against `tiny` measured in the same run (issue 11;
# results in docs/benchmarks/vmm.md, "Images: tiny and debian"). One command per figure:
#
#   tools/bench_guests.sh boot  [RUNS]  Start -> agent-ready (vmm_tool bench): 1 VM RUNS times,
#                                       10 VMs 3 times, 50 VMs once; tiny and debian alternately
#   tools/bench_guests.sh pace  [RUNS]  boot pacing (issue 14): N debian VMs with at most K booting
#                                       at once (vmm_tool bench, BENCH_MAX_BOOTING=K; 0 = all at
#                                       once), for each K of PACE_K (default "1 2 3 4 6 8 0") and
#                                       N of PACE_VMS (default "10 50"), RUNS rounds (default 3),
#                                       the Ks in a rotating order; min/median/max of all-ready
#   tools/bench_guests.sh mem   [RUNS]  host memory (PSS) of an idle VM: tiny 64M, debian at
#                                       96M (its default), 64M and 128M, debian with the
#                                       console shell started on demand (a patched copy), and
#                                       both images with address randomization (-aslr: clownixd's
#                                       --vm_address_randomization; off by default)
#   tools/bench_guests.sh frr   [RUNS]  3 FRR routers running OSPF on one LAN: PSS per router at
#                                       the image's default, 80M and 64M, and at 80M with
#                                       address randomization
#   tools/bench_guests.sh iperf [RUNS]  iperf3 10 s between two debian guests, through
#                                       clownix-switchcore and through uml_switch, RUNS rounds
#                                       alternating; CPU of each part; a perf profile of round 1
#   tools/bench_guests.sh build         build_image.sh cold (empty apt cache), cached, offline
#                                       (no network: unshare -n), into /tmp/imgbench (removed
#                                       after); image size
#
# Every figure comes with the host's 1-minute load average at the time (the machine is shared):
# compare the ratios to tiny (or to uml_switch) of one run, not absolute figures across runs.
# Raw output goes to $OUT (default /tmp/bench_guests), one file per section, and a summary (min /
# median / max over the runs) is printed.
#
# Environment: BOOT_VMS (boot: the VM counts, default "1 10 50"), DEBIAN_IMAGE (default: what /var/cache/clownix/images/debian points to),
# BENCH_BIN (a directory of already built binaries: vmm_tool, guest_bench, clownix-switchcore,
# rootfs.img, libuml_xstate_fix.so; default: build them with -c opt in a Bazel output base of
# their own, so the shared server's cache is left alone).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

section=${1:-}
runs=${2:-}
OUT=${OUT:-/tmp/bench_guests}
mkdir -p "$OUT"
debian=$(readlink -f "${DEBIAN_IMAGE:-/var/cache/clownix/images/debian}")
[[ -f $debian/rootfs.img ]] && debian=$debian/rootfs.img
load() { cut -d' ' -f1 /proc/loadavg; }

binaries() {
  if [[ -n ${BENCH_BIN:-} ]]; then
    bin=$BENCH_BIN
    return
  fi
  # Copied out of bazel-bin: a rebuild of rootfs.img under running VMs would break their COW
  # files (docs/uml-facts.md #20).
  bin=$OUT/bin
  local base=${BENCH_OUTPUT_BASE:-/root/.cache/bazel-bench}
  bazel --output_base="$base" --max_idle_secs=900 build -c opt //vmm/tools:vmm_tool //vmm/rootfs \
    //vmm/xstate:libuml_xstate_fix.so //switchcore/bench:guest_bench //switchcore:clownix-switchcore \
    >"$OUT/build.log" 2>&1 || { tail -20 "$OUT/build.log" >&2; exit 1; }
  local b
  b=$(bazel --output_base="$base" info -c opt bazel-bin 2>/dev/null)
  rm -rf "$bin"
  mkdir -p "$bin/bench"
  cp "$b/vmm/tools/vmm_tool" "$b/vmm/rootfs/rootfs.img" "$b/vmm/xstate/libuml_xstate_fix.so" \
    "$b/switchcore/clownix-switchcore" "$bin/"
  cp "$b/switchcore/bench/guest_bench" "$bin/bench/"
  chmod 0444 "$bin/rootfs.img"
}

need_debian() {
  [[ -f $debian ]] || {
    echo "bench_guests: no debian image ($debian): bash tools/setup.sh builds it" >&2
    exit 1
  }
  debian_mem=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["default_mem_mib"])' \
    "$(dirname "$debian")/image.json")
}

# Summaries: python over the key=value lines of the raw files.
summarize() {
  python3 - "$@" <<'PY'
import collections, re, statistics, sys

def kv(line):
    return dict(re.findall(r"(\w+)=(\S+)", line))

def mmm(values, fmt="%.1f"):
    v = sorted(values)
    if not v:
        return "-"
    return "/".join(fmt % x for x in (v[0], statistics.median_low(v), v[-1]))

def loads(rows):
    v = sorted(float(r["load"]) for r in rows)
    return "%.1f–%.1f" % (v[0], v[-1]) if v else "-"

kind, path = sys.argv[1], sys.argv[2]
rows = [kv(l) for l in open(path) if "=" in l and not l.startswith("#")]
if kind == "boot":
    groups = collections.defaultdict(list)
    for r in rows:
        if "p50_s" in r:
            groups[(int(r["vms"]), r["image"])].append(r)
    print("| VMs | image | runs | load | all ready s | p50 s | p90 s | max s | pss MiB/VM | "
          "host CPU s/VM | ratio debian/tiny (p50, same round) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (n, image) in sorted(groups, key=lambda k: (k[0], k[1] != "tiny")):
        g = groups[(n, image)]
        ratio = "-"
        if image == "debian":
            tiny = {r["round"]: float(r["p50_s"]) for r in groups.get((n, "tiny"), [])}
            rs = [float(r["p50_s"]) / tiny[r["round"]] for r in g if r["round"] in tiny]
            ratio = mmm(rs, "%.2f")
        print("| %d | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            n, image, len(g), loads(g), mmm([float(r["all_ready_s"]) for r in g], "%.2f"),
            mmm([float(r["p50_s"]) for r in g], "%.2f"), mmm([float(r["p90_s"]) for r in g], "%.2f"),
            mmm([float(r["max_s"]) for r in g], "%.2f"), mmm([float(r["pss_mib"]) for r in g]),
            mmm([float(r["children_cpu_s_per_vm"]) for r in g if "children_cpu_s_per_vm" in r],
                "%.2f"), ratio))
elif kind == "pace":
    groups = collections.defaultdict(list)
    for r in rows:
        if "all_ready_s" in r:
            groups[(int(r["vms"]), r["image"], int(r["max_booting"]))].append(r)
    print("| VMs | image | at most booting (0: all) | runs | load | all ready s | p50 Start->ready s | "
          "host CPU s per VM | failed |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (n, image, k) in sorted(groups, key=lambda g: (g[0], g[1], g[2] or 10**6)):
        g = groups[(n, image, k)]
        print("| %d | %s | %d | %d | %s | %s | %s | %s | %s |" % (
            n, image, k, len(g), loads(g), mmm([float(r["all_ready_s"]) for r in g], "%.1f"),
            mmm([float(r["p50_s"]) for r in g], "%.2f"),
            mmm([float(r["children_cpu_s_per_vm"]) for r in g if "children_cpu_s_per_vm" in r],
                "%.2f"), sum(int(r["failed"]) for r in g)))
elif kind in ("mem", "frr"):
    phase_rows = collections.defaultdict(list)
    config = None
    for line in open(path):
        if line.startswith("## config="):
            config = kv(line)["config"]
            continue
        r = kv(line)
        if line.startswith("mem ") and config:
            phase_rows[(config, r["phase"])].append(r)
        if line.startswith("frr ") and config:
            phase_rows[(config, "converge")].append(r)
    print("| config | phase | VMs measured | load | PSS MiB | of it guest RAM | linux.uml files | "
          "guest used | guest page cache | guest anon | guest slab (reclaimable) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (config, phase), g in phase_rows.items():
        if phase == "converge":
            continue
        f = lambda k: mmm([float(r[k]) for r in g])
        print("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s (%s) |" % (
            config, phase, len(g), loads(g), f("pss_mib"), f("pss_guest_ram_mib"),
            f("pss_file_mib"), f("guest_used_mib"), f("guest_cached_mib"), f("guest_anon_mib"),
            f("guest_slab_mib"), f("guest_slab_reclaimable_mib")))
    for (config, phase), g in phase_rows.items():
        if phase == "converge":
            print("%s: FRR started in %s s; OSPF converged (%s) %s s after the first start "
                  "(load %s)" % (config, mmm([float(r["frr_started_s"]) for r in g]),
                                 ",".join(r.get("converged", "?") for r in g),
                                 mmm([float(r["converged_s"]) for r in g]), loads(g)))
elif kind == "iperf":
    groups = collections.defaultdict(list)
    for r in rows:
        if "mbit_s" in r:
            groups[r["switch"]].append(r)
    print("| switch | runs | load | Mbit/s | retransmits | sender VM CPU % | receiver VM CPU % | "
          "switch CPU % | host busy % (of 200) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, g in sorted(groups.items()):
        f = lambda k: mmm([float(r[k]) for r in g], "%.0f")
        print("| %s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
            name, len(g), loads(g), f("mbit_s"), f("retransmits"), f("cpu_sender_pct"),
            f("cpu_receiver_pct"), f("cpu_switch_pct"), f("host_busy_pct")))
    core = {r["round"]: float(r["mbit_s"]) for r in groups.get("switchcore", [])}
    uml = {r["round"]: float(r["mbit_s"]) for r in groups.get("uml_switch", [])}
    ratios = [core[k] / uml[k] for k in core if k in uml and uml[k] > 0]
    print("switchcore / uml_switch, same round: %s (min/median/max)" % mmm(ratios, "%.2f"))
PY
}

boot() {
  binaries
  need_debian
  local raw=$OUT/boot-${BOOT_VMS:-1 10 50}.txt round=0
  raw=${raw// /_}
  : >"$raw"
  local n reps r
  for n in ${BOOT_VMS:-1 10 50}; do
    case $n in 1) reps=${runs:-5} ;; 10) reps=3 ;; 50) reps=1 ;; esac
    for ((r = 0; r < reps; r++)); do
      round=$((round + 1))
      local order=(tiny debian)
      ((round % 2)) || order=(debian tiny)
      local image
      for image in "${order[@]}"; do
        local rootfs=$bin/rootfs.img mem=64
        [[ $image == debian ]] && rootfs=$debian mem=$debian_mem
        local l
        l=$(load)
        "$bin/vmm_tool" bench "$OUT/vmm_work" "$rootfs" "$bin/libuml_xstate_fix.so" "$n" "$mem" \
          >"$OUT/boot.one" 2>>"$OUT/boot.err" || echo "# vmm_tool bench $image $n failed" >>"$raw"
        echo "image=$image round=$round load=$l mem=$mem $(tr '\n' ' ' <"$OUT/boot.one")" |
          tee -a "$raw"
      done
    done
  done
  summarize boot "$raw"
}

# Boot pacing: the total time to boot N VMs against K, the number allowed to boot at once.
pace() {
  binaries
  need_debian
  local ks=(${PACE_K:-1 2 3 4 6 8 0}) raw=$OUT/pace.txt n r i
  : >"$raw"
  for ((r = 1; r <= ${runs:-3}; r++)); do
    for n in ${PACE_VMS:-10 50}; do
      # Rotate the order of the Ks from round to round, so that a slow period of the shared
      # machine does not always hit the same K.
      for ((i = 0; i < ${#ks[@]}; i++)); do
        local k=${ks[$(((i + r - 1) % ${#ks[@]}))]} l
        l=$(load)
        BENCH_MAX_BOOTING=$k "$bin/vmm_tool" bench "$OUT/vmm_work" "$debian" \
          "$bin/libuml_xstate_fix.so" "$n" "$debian_mem" >"$OUT/pace.one" 2>>"$OUT/pace.err" ||
          echo "# vmm_tool bench debian $n K=$k failed" >>"$raw"
        echo "image=debian round=$r load=$l load_after=$(load) $(tr '\n' ' ' <"$OUT/pace.one")" |
          tee -a "$raw"
      done
    done
  done
  summarize pace "$raw"
}

# A copy of the debian image whose console shell starts when someone presses Enter on the console
# (busybox init's askfirst) instead of at boot: what the shell costs an idle VM.
askfirst_image() {
  local img=$OUT/debian-askfirst.img
  cp --sparse=always "$debian" "$img"
  debugfs -R 'cat /etc/inittab' "$img" 2>/dev/null |
    sed 's|^tty0::respawn:|tty0::askfirst:|' >"$OUT/inittab.askfirst"
  debugfs -w -R 'rm /etc/inittab' "$img" >/dev/null 2>&1
  debugfs -w -R "write $OUT/inittab.askfirst /etc/inittab" "$img" >/dev/null 2>&1
  chmod 0444 "$img"
  echo "$img"
}

mem() {
  binaries
  need_debian
  local raw=$OUT/mem.txt askfirst r
  askfirst=$(askfirst_image)
  : >"$raw"
  for ((r = 1; r <= ${runs:-3}; r++)); do
    local c
    for c in "tiny 64 $bin/rootfs.img" "debian $debian_mem $debian" "debian 64 $debian" \
      "debian 128 $debian" "debian-askfirst $debian_mem $askfirst" \
      "tiny-aslr 64 $bin/rootfs.img --aslr" "debian-aslr $debian_mem $debian --aslr"; do
      set -- $c
      echo "## config=$1@$2M round=$r" >>"$raw"
      "$bin/bench/guest_bench" --mode=mem --work="$OUT/guest_work" --root_fs="$3" ${4:-} \
        --xstate_so="$bin/libuml_xstate_fix.so" --mem="$2" \
        --processes=$((r == 1)) 2>&1 | tee -a "$raw"
    done
  done
  summarize mem "$raw"
}

frr() {
  binaries
  need_debian
  local raw=$OUT/frr.txt r
  : >"$raw"
  for ((r = 1; r <= ${runs:-2}; r++)); do
    local c
    for c in "debian $debian_mem" "debian 80" "debian 64" "debian-aslr 80 --aslr"; do
      set -- $c
      echo "## config=$1@$2M round=$r" >>"$raw"
      "$bin/bench/guest_bench" --mode=frr --work="$OUT/guest_work" --root_fs="$debian" ${3:-} \
        --xstate_so="$bin/libuml_xstate_fix.so" --mem="$2" \
        --processes=$((r == 1)) 2>&1 | tee -a "$raw" || echo "# frr $1 at $2M failed" | tee -a "$raw"
    done
  done
  summarize frr "$raw"
}

iperf() {
  binaries
  need_debian
  local raw=$OUT/iperf.txt
  mkdir -p "$OUT/perf"
  "$bin/bench/guest_bench" --mode=iperf --work="$OUT/guest_work" --root_fs="$debian" \
    --xstate_so="$bin/libuml_xstate_fix.so" --mem="$debian_mem" --rounds="${runs:-5}" \
    --seconds=10 --perf_dir="$OUT/perf" 2>&1 | tee "$raw"
  summarize iperf "$raw"
  local f
  for f in "$OUT"/perf/*.data; do
    [[ -f $f ]] || continue
    echo "== where the CPU went during the $(basename "$f" .data) run (perf, whole host) =="
    perf report -i "$f" --stdio --no-children -g none --sort comm,dso 2>/dev/null | grep -v '^#' |
      grep '%' | head -12
    perf report -i "$f" --stdio --no-children -g none --comm linux.uml --sort sym 2>/dev/null |
      grep -v '^#' | grep '%' | head -15
  done | tee "$OUT/perf.txt"
}

build() {
  local dir=/tmp/imgbench raw=$OUT/build.txt
  rm -rf "$dir"
  : >"$raw"
  local kind
  for kind in cold cached offline; do
    local l t0 t1 rc=0
    l=$(load)
    [[ $kind == cold ]] && rm -rf "$dir/apt"
    t0=$(date +%s.%N)
    if [[ $kind == offline ]]; then
      unshare -n bash images/debian/build_image.sh --image-dir "$dir/images" --cache-dir "$dir/apt" \
        --force >"$OUT/build-$kind.log" 2>&1 || rc=$?
    else
      bash images/debian/build_image.sh --image-dir "$dir/images" --cache-dir "$dir/apt" --force \
        >"$OUT/build-$kind.log" 2>&1 || rc=$?
    fi
    t1=$(date +%s.%N)
    local img
    img=$(readlink -f "$dir/images/debian")/rootfs.img
    printf 'build kind=%s load=%s seconds=%.1f status=%d apparent_mib=%.0f allocated_mib=%.0f apt_cache_mib=%.0f\n' \
      "$kind" "$l" "$(echo "$t1 - $t0" | bc)" "$rc" \
      "$(echo "$(stat -c %s "$img" 2>/dev/null || echo 0) / 1048576" | bc -l)" \
      "$(echo "$(du -k "$img" 2>/dev/null | cut -f1 || echo 0) / 1024" | bc -l)" \
      "$(echo "$(du -sk "$dir/apt" 2>/dev/null | cut -f1 || echo 0) / 1024" | bc -l)" | tee -a "$raw"
  done
  local l t0 t1
  l=$(load)
  t0=$(date +%s.%N)
  bash images/debian/build_image.sh --image-dir "$dir/images" --cache-dir "$dir/apt" \
    >"$OUT/build-unchanged.log" 2>&1
  t1=$(date +%s.%N)
  printf 'build kind=unchanged load=%s seconds=%.1f\n' "$l" "$(echo "$t1 - $t0" | bc)" | tee -a "$raw"
  rm -rf "$dir"
}

case $section in
  boot | pace | mem | frr | iperf | build) "$section" ;;
  summary) summarize "$2" "$3" ;;  # again, from a raw file: summary boot|pace|mem|frr|iperf FILE
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
