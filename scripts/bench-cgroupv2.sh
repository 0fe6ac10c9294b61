#!/usr/bin/env bash
# scripts/bench.py on a pure cgroup v2 system: here on a pure v2 host, otherwise in the
# throw-away QEMU VM of ../shared/vm (as make test-cgroupv2 does).
#
#   scripts/bench-cgroupv2.sh [bench.py options]      # e.g. -n 10
#
# In the VM, the repository is a 9p share without page cache (cache=none): a binary run
# from it is read from the host on every start, which made jinn (staged there) look 3x
# slower than runc and crun (from the host's /, cached). So jinn, runc and crun are all
# copied into the guest's tmpfs first, and every runtime starts from memory.
# Knobs: V2_VM=auto|1|0 as in scripts/test-cgroupv2.sh; VM_* go to run-in-vm.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$ROOT"
TAG=bench-cgroupv2
. scripts/vm-tests-lib.sh
args=$(printf ' %q' "$@")
pure_v2() { [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; }

case "${V2_VM:-auto}" in
  0) use_vm=0 ;;
  1) use_vm=1 ;;
  *) if pure_v2; then use_vm=0; else use_vm=1; fi ;;
esac

if [ "$use_vm" = 0 ]; then
  pure_v2 || { echo "bench-cgroupv2: this host is not pure cgroup v2 (V2_VM=0)" >&2; exit 1; }
  exec python3 scripts/bench.py $args
fi

RUNNER=$(vm_runner)
# Inside the guest: binaries to /usr/local/sbin (the overlay's tmpfs layer, first in
# PATH). The guest script lives in the shared repository (target/ is git-ignored).
mkdir -p target/bench-cgroupv2
cat > target/bench-cgroupv2/guest.sh <<EOF
set -e
mkdir -p /usr/local/sbin
cp target/release/jinn /usr/local/sbin/jinn
for rt in runc crun; do
  p=\$(command -v \$rt || true)
  [ -z "\$p" ] || cp "\$p" /usr/local/sbin/\$rt
done
echo "bench-cgroupv2: kernel \$(uname -r), controllers: \$(cat /sys/fs/cgroup/cgroup.controllers)"
exec python3 scripts/bench.py --jinn /usr/local/sbin/jinn$args
EOF
VM_TIMEOUT=${VM_TIMEOUT:-1500} exec "$RUNNER" sh target/bench-cgroupv2/guest.sh
