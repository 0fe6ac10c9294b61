# Shared by scripts/test-cgroupv2.sh and scripts/test-systemd.sh (sourced, not run):
# build a jinn integration test binary, stage binaries where the VM sees them, resolve
# runtime names. The caller sets ROOT (the repository), CARGO and TAG (its name, for
# messages).

# build_test_binary TEST: `cargo build -p jinn` and `cargo test -p jinn --test TEST
# --no-run`; sets $testbin (the test executable) and $jinnbin (the jinn binary of the
# same target directory: <target>/debug/deps/TEST-… -> <target>/debug/jinn).
build_test_binary() {
  echo "$TAG: building jinn and the $1 test binary" >&2
  $CARGO build -p jinn
  testbin=$($CARGO test -p jinn --test "$1" --no-run --message-format=json \
    | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") \
            and m["target"]["name"] == sys.argv[1]:
        print(m["executable"])
' "$1")
  [ -n "$testbin" ] || { echo "$TAG: no $1 test executable from cargo" >&2; exit 1; }
  jinnbin=$(dirname "$(dirname "$testbin")")/jinn
  [ -x "$jinnbin" ] || { echo "$TAG: $jinnbin not built" >&2; exit 1; }
}

# use_stage_dir DIR: makes DIR (which must lie inside the repository: the VM shares
# only that, read-write) the place `stage` copies to; sets $stagedir.
use_stage_dir() {
  mkdir -p "$1"
  stagedir=$(cd "$1" && pwd -P)
  case "$stagedir/" in
    "$ROOT"/*) ;;
    *) echo "$TAG: the stage directory $1 must be inside $ROOT (the VM shares only it)" >&2; exit 1 ;;
  esac
}

# stage SRC NAME: a hard link (or copy) of SRC in $stagedir; prints its path.
stage() {
  local dst="$stagedir/$2"
  ln -f "$1" "$dst" 2>/dev/null || cp -f "$1" "$dst"
  echo "$dst"
}

# runtime_path NAME: jinn (the binary under test), an absolute path, or a command name.
runtime_path() {
  case "$1" in
    jinn) echo "$jinnbin" ;;
    /*)   echo "$1" ;;
    *)    command -v "$1" || { echo "$TAG: runtime $1 not found" >&2; exit 1; } ;;
  esac
}

# vm_runner: the path of run-in-vm.sh ($JINN_VM_RUNNER or ../shared/vm next to the
# repository); exits with a message when it is missing.
vm_runner() {
  local runner=${JINN_VM_RUNNER:-$ROOT/../shared/vm/run-in-vm.sh}
  if [ ! -x "$runner" ]; then
    echo "$TAG: the VM runner $runner is missing (set JINN_VM_RUNNER; it needs qemu-system-x86)" >&2
    exit 1
  fi
  echo "$runner"
}

# seconds_since START (a `date +%s.%N` value), one decimal.
seconds_since() {
  awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}'
}
