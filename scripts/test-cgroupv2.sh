#!/usr/bin/env bash
# The cgroup v2 tests (crates/jinn/tests/cgroupv2.rs) on a pure cgroup v2 system.
#
#   scripts/test-cgroupv2.sh                     # jinn
#   V2_RUNTIMES="jinn runc" scripts/test-cgroupv2.sh   # jinn, then runc, in the same VM boot
#   scripts/test-cgroupv2.sh -- kill_all         # extra arguments go to the test binary
#
# Builds the jinn binary and the cgroupv2 test binary (`cargo build -p jinn`,
# `cargo test -p jinn --test cgroupv2 --no-run`), then:
#   - on a pure cgroup v2 host (/sys/fs/cgroup is cgroup2): runs the test binary here;
#   - otherwise (v1 or hybrid host): boots a throw-away pure-v2 QEMU VM with
#     run-in-vm.sh and runs the test binary there, once per runtime, in one boot.
# The VM sees the host's / read-only and the repository read-write, so both
# binaries are staged under the repository ($V2_STAGE_DIR) first.
#
# Knobs:
#   V2_RUNTIMES    runtimes to test: "jinn", "runc", "crun" or absolute paths
#                  (default: $JINN_RUNTIME if set, else jinn)
#   V2_VM=auto|1|0 auto: a VM only when the host is not pure v2; 1: always; 0: never
#   JINN_VM_RUNNER run-in-vm.sh (default: ../shared/vm/run-in-vm.sh next to the repo)
#   V2_STAGE_DIR   where binaries are staged (default: target/cgroupv2-vm; must be
#                  inside the repository)
#   V2_TEST_THREADS  test threads (default 2)
#   V2_RUNNER_CGROUP in the VM, the cgroup the tests (and so the runtimes) run in
#                  (default /jinn-tests.slice/runner.scope, like a runtime started by
#                  a service on a systemd host; empty: the VM's root cgroup)
#   VM_*           passed to run-in-vm.sh (VM_SMP, VM_MEM, VM_TIMEOUT, ...)
# Containers need root: run as root (on the host, or it is root inside the VM anyway).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$ROOT"
CARGO=${CARGO:-cargo}

[ "${1:-}" = -- ] && shift
extra=
[ $# -gt 0 ] && extra=$(printf ' %q' "$@")
runtimes=${V2_RUNTIMES:-${JINN_RUNTIME:-jinn}}
threads=${V2_TEST_THREADS:-2}

TAG=test-cgroupv2
. scripts/vm-tests-lib.sh
build_test_binary cgroupv2

pure_v2=0
[ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] && pure_v2=1
use_vm=${V2_VM:-auto}
if [ "$use_vm" = auto ]; then
  if [ "$pure_v2" = 1 ]; then use_vm=0; else use_vm=1; fi
fi

# ---- stage the binaries (the VM only shares the repository read-write) ----
if [ "$use_vm" = 1 ]; then
  use_stage_dir "${V2_STAGE_DIR:-$ROOT/target/cgroupv2-vm}"
  testbin=$(stage "$testbin" cgroupv2-tests)
  jinnbin=$(stage "$jinnbin" jinn)
fi

# ---- the command: one run of the test binary per runtime ----
cmd="rc=0"
runner_cg=${V2_RUNNER_CGROUP-/jinn-tests.slice/runner.scope}
if [ "$use_vm" = 1 ] && [ -n "$runner_cg" ]; then
  d=$(printf '%q' "/sys/fs/cgroup/${runner_cg#/}")
  cmd+="; mkdir -p $d && echo \$\$ > $d/cgroup.procs || exit 1"
fi
for r in $runtimes; do
  path=$(runtime_path "$r")
  q=$(printf '%q' "$path")
  cmd+="; echo; echo \"=== cgroupv2 tests with $q (\$(stat -fc %T /sys/fs/cgroup)) ===\""
  cmd+="; s=\$(date +%s.%N)"
  cmd+="; JINN_CGROUPV2_VM=$use_vm JINN_RUNTIME=$q $(printf '%q' "$testbin") --test-threads=$threads$extra || rc=1"
  cmd+="; echo \"=== $q: \$(awk -v s=\$s -v e=\$(date +%s.%N) 'BEGIN{printf \"%.1f\", e-s}') s ===\""
done
cmd+="; exit \$rc"

start=$(date +%s.%N)
if [ "$use_vm" = 1 ]; then
  runner=$(vm_runner)
  echo "test-cgroupv2: running in a pure cgroup v2 VM ($runtimes)" >&2
  set +e
  "$runner" "$cmd"
  rc=$?
  set -e
else
  echo "test-cgroupv2: pure cgroup v2 host, running here ($runtimes)" >&2
  set +e
  bash -c "$cmd"
  rc=$?
  set -e
fi
echo "test-cgroupv2: exit $rc, wall time $(seconds_since "$start") s" >&2
exit $rc
