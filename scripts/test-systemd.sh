#!/usr/bin/env bash
# The systemd cgroup driver tests (crates/jinn/tests/systemd.rs) with a real systemd.
#
#   scripts/test-systemd.sh                        # jinn
#   SD_RUNTIMES="jinn runc" scripts/test-systemd.sh  # jinn, then runc, in the same VM boot
#   scripts/test-systemd.sh -- kill_all            # extra arguments go to the test binary
#
# systemd does not run on the build host, so this boots the throw-away pure cgroup v2
# VM (../shared/vm/run-in-vm.sh) once, and in it:
#   1. starts systemd as pid 1 of a new pid namespace (`unshare --pid --fork
#      --mount-proc`, `container=other` so it behaves as in a container), with an empty
#      target as its only goal (--unit=jinn-test.target), logging to a file;
#   2. waits for its private socket /run/systemd/private;
#   3. runs the test binary inside systemd's pid and mount namespaces (`nsenter`): the
#      pids jinn hands to systemd must be pids in systemd's namespace.
# The binaries are staged under the repository ($SD_STAGE_DIR), which the VM shares.
#
# Knobs: SD_RUNTIMES (default: $JINN_RUNTIME if set, else jinn), SD_TEST_THREADS (2),
# SD_STAGE_DIR (target/systemd-vm), JINN_VM_RUNNER, VM_* (passed to run-in-vm.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$ROOT"
CARGO=${CARGO:-cargo}

[ "${1:-}" = -- ] && shift
extra=
[ $# -gt 0 ] && extra=$(printf ' %q' "$@")
runtimes=${SD_RUNTIMES:-${JINN_RUNTIME:-jinn}}
threads=${SD_TEST_THREADS:-2}

TAG=test-systemd
. scripts/vm-tests-lib.sh
build_test_binary systemd
use_stage_dir "${SD_STAGE_DIR:-$ROOT/target/systemd-vm}"
testbin=$(stage "$testbin" systemd-tests)
jinnbin=$(stage "$jinnbin" jinn)

# ---- the command run in the VM ----
cmd='set -u
mkdir -p /run/systemd/system
printf "[Unit]\nDescription=jinn tests\n" > /run/systemd/system/jinn-test.target
t0=$(date +%s.%N)
unshare --pid --fork --mount-proc env container=other /lib/systemd/systemd --system \
  --log-target=console --log-level=notice --unit=jinn-test.target > /tmp/systemd.log 2>&1 &
outer=$!
for i in $(seq 600); do [ -S /run/systemd/private ] && break; sleep 0.1; done
spid=$(pgrep -P $outer | head -n 1)
if [ ! -S /run/systemd/private ] || [ -z "$spid" ]; then
  echo "test-systemd: systemd did not start:"; cat /tmp/systemd.log; exit 1
fi
echo "=== systemd (pid $spid) up after $(awk -v s=$t0 -v e=$(date +%s.%N) "BEGIN{printf \"%.1f\", e-s}") s ==="
insd() { nsenter -t "$spid" -p -m -- "$@"; }
rc=0'
for r in $runtimes; do
  path=$(runtime_path "$r")
  q=$(printf '%q' "$path")
  cmd+="
echo; echo \"=== systemd tests with $q ===\"
s=\$(date +%s.%N)
insd env JINN_SYSTEMD_VM=1 JINN_RUNTIME=$q $(printf '%q' "$testbin") --test-threads=$threads$extra || rc=1
echo \"=== $q: \$(awk -v s=\$s -v e=\$(date +%s.%N) 'BEGIN{printf \"%.1f\", e-s}') s ===\""
done
cmd+='
left=$(insd systemctl list-units --all --no-legend "*-*.scope" 2>/dev/null | grep -v "^ *init.scope" || true)
[ -z "$left" ] || { echo "test-systemd: units left behind:"; echo "$left"; rc=1; }
[ $rc = 0 ] || { echo "--- systemd log (tail) ---"; tail -n 40 /tmp/systemd.log; }
exit $rc'

runner=$(vm_runner)
echo "test-systemd: running in a VM with systemd ($runtimes)" >&2
start=$(date +%s.%N)
set +e
"$runner" "$cmd"
rc=$?
set -e
echo "test-systemd: exit $rc, wall time $(seconds_since "$start") s" >&2
exit $rc
