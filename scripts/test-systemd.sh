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

echo "test-systemd: building jinn and the systemd test binary" >&2
$CARGO build -p jinn
testbin=$($CARGO test -p jinn --test systemd --no-run --message-format=json \
  | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") \
            and m["target"]["name"] == "systemd":
        print(m["executable"])
')
[ -n "$testbin" ] || { echo "test-systemd: no systemd test executable from cargo" >&2; exit 1; }
jinnbin=$(dirname "$(dirname "$testbin")")/jinn
[ -x "$jinnbin" ] || { echo "test-systemd: $jinnbin not built" >&2; exit 1; }

stagedir=${SD_STAGE_DIR:-$ROOT/target/systemd-vm}
mkdir -p "$stagedir"
stagedir=$(cd "$stagedir" && pwd -P)
case "$stagedir/" in
  "$ROOT"/*) ;;
  *) echo "test-systemd: SD_STAGE_DIR must be inside $ROOT (the VM shares only it)" >&2; exit 1 ;;
esac
stage() { ln -f "$1" "$stagedir/$2" 2>/dev/null || cp -f "$1" "$stagedir/$2"; echo "$stagedir/$2"; }
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
  case "$r" in
    jinn) path=$jinnbin ;;
    /*)   path=$r ;;
    *)    path=$(command -v "$r") || { echo "test-systemd: runtime $r not found" >&2; exit 1; } ;;
  esac
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

runner=${JINN_VM_RUNNER:-$ROOT/../shared/vm/run-in-vm.sh}
if [ ! -x "$runner" ]; then
  echo "test-systemd: the VM runner $runner is missing (set JINN_VM_RUNNER; it needs qemu-system-x86)" >&2
  exit 1
fi
echo "test-systemd: running in a VM with systemd ($runtimes)" >&2
start=$(date +%s.%N)
set +e
"$runner" "$cmd"
rc=$?
set -e
echo "test-systemd: exit $rc, wall time $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}') s" >&2
exit $rc
