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
# Two layouts, one VM boot each (SD_LAYOUTS, default "v2 hybrid"):
#   v2      the VM's pure cgroup v2 hierarchy at /sys/fs/cgroup;
#   hybrid  systemd's hybrid layout: a tmpfs at /sys/fs/cgroup with the named v1
#           hierarchy `name=systemd` at systemd/ and the cgroup2 tree at unified/
#           (the tests read the cgroup files under unified/: JINN_TEST_CGROUP2_ROOT).
#           The VM's kernel has cgroup_no_v1=all, so v1 *controllers* cannot be
#           mounted: the limits live in the unified tree, as on a hybrid host whose
#           controllers all moved to v2. A host with v1 controllers under systemd
#           is not covered.
#
# On the v2 layout (and with no extra arguments) it then starts a user manager
# (`systemd --user`) for uid 54321 and runs crates/jinn/tests/systemd_user.rs (rootless
# --systemd-cgroup, jinn only) from a cgroup that user owns.
#
# Knobs: SD_RUNTIMES (default: $JINN_RUNTIME if set, else jinn), SD_LAYOUTS, SD_TEST_THREADS
# (2), SD_STAGE_DIR (target/systemd-vm), JINN_VM_RUNNER, VM_* (passed to run-in-vm.sh).
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
build_test_binary systemd_user
use_stage_dir "${SD_STAGE_DIR:-$ROOT/target/systemd-vm}"
usertestbin=$(stage "$testbin" systemd-user-tests)
build_test_binary systemd
testbin=$(stage "$testbin" systemd-tests)
jinnbin=$(stage "$jinnbin" jinn)

# ---- the command run in the VM, for layout $1 ----
vm_command() {
cmd='set -u
'
if [ "$1" = hybrid ]; then
  cmd+='umount /sys/fs/cgroup || exit 1
mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
mkdir -p /sys/fs/cgroup/systemd /sys/fs/cgroup/unified
mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd
mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
cg2root=/sys/fs/cgroup/unified
'
else
  cmd+='cg2root=/sys/fs/cgroup
'
fi
cmd+='mkdir -p /run/systemd/system
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
  if [ "$1" = hybrid ] && [ "$r" != jinn ]; then
    # runc 1.1 refuses `unified` on a v1/hybrid host and expects v1 controllers, which
    # this VM's kernel (cgroup_no_v1=all) cannot mount.
    echo "test-systemd: hybrid layout: $r skipped (it needs v1 controllers)" >&2
    continue
  fi
  path=$(runtime_path "$r")
  q=$(printf '%q' "$path")
  cmd+="
echo; echo \"=== systemd tests ($1) with $q ===\"
s=\$(date +%s.%N)
insd env JINN_SYSTEMD_VM=1 JINN_TEST_CGROUP2_ROOT=\$cg2root JINN_RUNTIME=$q $(printf '%q' "$testbin") --test-threads=$threads$extra || rc=1
echo \"=== $q: \$(awk -v s=\$s -v e=\$(date +%s.%N) 'BEGIN{printf \"%.1f\", e-s}') s ===\""
done
if [ "$1" = v2 ] && [ -z "$extra" ]; then
  # Rootless: a user manager (systemd --user) for uid 54321, started as a service of
  # the system's systemd with the controllers the stock user@.service delegates (not
  # user@54321.service itself: that one needs PAM and logind). `systemd --user` wants
  # a passwd entry (written to the VM's throw-away /etc) and its XDG_RUNTIME_DIR. The
  # tests run in a cgroup the user owns (a service of its manager holding `sleep`),
  # as a user's shell would: its manager moves the containers' inits from there into
  # their scopes. runc is not run here (its rootless systemd support is not tested).
  cmd+='
echo; echo "=== rootless systemd tests (v2, user manager for uid 54321) ==="
s=$(date +%s.%N)
echo "jinn-sd-user:x:54321:54321::/run/user/54321:/bin/sh" >> /etc/passwd
echo "jinn-sd-user:x:54321:" >> /etc/group
mkdir -p /run/user/54321 /run/systemd/user && chown 54321:54321 /run/user/54321 && chmod 700 /run/user/54321
printf "[Unit]\nDescription=jinn tests\n" > /run/systemd/user/jinn-test.target
asuser() { insd setpriv --reuid=54321 --regid=54321 --clear-groups -- env XDG_RUNTIME_DIR=/run/user/54321 "$@"; }
insd systemd-run --quiet --uid=54321 --gid=54321 -p Delegate="pids memory cpu" -p Type=notify \
  --slice=user-54321.slice --unit=jinn-user-54321.service \
  --setenv=XDG_RUNTIME_DIR=/run/user/54321 --setenv=HOME=/run/user/54321 \
  /lib/systemd/systemd --user --unit=jinn-test.target || rc=1
for i in $(seq 300); do [ -S /run/user/54321/systemd/private ] && break; sleep 0.1; done
if asuser systemd-run --user --quiet --unit=jinn-tests-holder.service sleep infinity; then
  holder=$(asuser systemctl --user show -p ControlGroup --value jinn-tests-holder.service)
  echo "user manager up after $(awk -v s=$s -v e=$(date +%s.%N) "BEGIN{printf \"%.1f\", e-s}") s; tests in $holder"
  insd sh -c "echo \$\$ > /sys/fs/cgroup$holder/cgroup.procs && exec env JINN_SYSTEMD_VM=1 \
    JINN_SYSTEMD_USER_XDG=/run/user/54321 JINN_RUNTIME='"$(printf '%q' "$jinnbin")"' \
    '"$(printf '%q' "$usertestbin")"' --test-threads='"$threads"'" || rc=1
  left=$(asuser systemctl --user list-units --all --no-legend "*.scope" 2>/dev/null | grep -v "^ *init.scope" || true)
  [ -z "$left" ] || { echo "test-systemd: user units left behind:"; echo "$left"; rc=1; }
  asuser systemctl --user stop jinn-tests-holder.service
else
  echo "test-systemd: the user manager for uid 54321 did not start:"
  insd systemctl status --no-pager jinn-user-54321.service; rc=1
fi
insd systemctl stop jinn-user-54321.service
echo "=== rootless: $(awk -v s=$s -v e=$(date +%s.%N) "BEGIN{printf \"%.1f\", e-s}") s ==="'
fi
cmd+='
left=$(insd systemctl list-units --all --no-legend "*-*.scope" 2>/dev/null | grep -v "^ *init.scope" || true)
[ -z "$left" ] || { echo "test-systemd: units left behind:"; echo "$left"; rc=1; }
[ $rc = 0 ] || { echo "--- systemd log (tail) ---"; tail -n 40 /tmp/systemd.log; }
exit $rc'
}

runner=$(vm_runner)
layouts=${SD_LAYOUTS:-v2 hybrid}
rc=0
for layout in $layouts; do
  case "$layout" in
    v2) enable=1 ;;
    hybrid) enable=0 ;;
    *) echo "test-systemd: unknown layout $layout (v2, hybrid)" >&2; exit 1 ;;
  esac
  vm_command "$layout"
  echo "test-systemd: running in a VM with systemd, $layout layout ($runtimes)" >&2
  start=$(date +%s.%N)
  set +e
  VM_CGROUP_ENABLE=${VM_CGROUP_ENABLE:-$enable} "$runner" "$cmd"
  one=$?
  set -e
  echo "test-systemd: $layout: exit $one, wall time $(seconds_since "$start") s" >&2
  [ $one = 0 ] || rc=1
done
exit $rc
