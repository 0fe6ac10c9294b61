#!/usr/bin/env bash
# test-clients.sh: real clients drive the runtime. containerd (through ctr) and Podman
# (with conmon) run a busybox image with RUNTIME as their OCI runtime, and every step
# checks what the client printed and its exit code.
#
#   scripts/test-clients.sh                          # jinn (target/debug/jinn, built if missing)
#   RUNTIME=/usr/sbin/runc scripts/test-clients.sh   # the same steps against runc
#
# Environment:
#   RUNTIME      the OCI runtime to test (default: ${CARGO_TARGET_DIR:-target}/debug/jinn)
#   CLIENTS      which clients to run: "containerd podman" (default), or one of them
#   ONLY         a regex: run only the steps whose name matches (setup steps always run)
#   KEEP=1       keep the temp dir (logs, state) even when everything passed
#   STEP_TIMEOUT seconds allowed to one client command (default 60)
#
# Needs root. When run as root and a client is missing, installs it with apt-get
# (containerd, podman, conmon, tmux, busybox-static, jq); if that is impossible, that
# client's steps are skipped (exit 0 with a clear message when nothing could run).
#
# Everything lives under one temp dir: containerd's config, root, state, socket and the
# shim's runtime root; Podman's containers.conf, storage (vfs), run root, tmp dir and
# runtime root. Both clients use cgroupfs without systemd and no network (ctr: no CNI;
# podman: --network=none). At the end every container is removed, containerd is stopped
# by its pid, leftover shims and conmons of this run are killed by pid, the cgroups and
# the few paths the clients hard-code (/run/containerd/{s,fifo},
# /var/lib/containers/cache) are removed when this run created them.
#
# Each step prints PASS/FAIL/SKIP; a failure shows the client's output and every runtime
# call made during the step (from a wrapper that logs argv and exit codes, with the tail
# of the runtime's own --log on failure). The last line is `N passed, M failed, K skipped`;
# the exit code is 1 when a step failed.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
clients_dir=$repo/scripts/clients

if [ "$(id -u)" -ne 0 ]; then
    echo "test-clients: needs root (containers, cgroups, mounts)" >&2
    exit 1
fi

if [ -z "${RUNTIME:-}" ]; then
    target=${CARGO_TARGET_DIR:-$repo/target}
    case $target in /*) ;; *) target=$repo/$target ;; esac
    RUNTIME=$target/debug/jinn
    if [ ! -x "$RUNTIME" ]; then
        echo "test-clients: building jinn ($RUNTIME)"
        (cd "$repo" && cargo build -q -p jinn) || { echo "test-clients: cargo build failed" >&2; exit 1; }
    fi
fi
RUNTIME=$(readlink -f "$RUNTIME")
[ -x "$RUNTIME" ] || { echo "test-clients: RUNTIME=$RUNTIME is not executable" >&2; exit 1; }
rt_name=$(basename "$RUNTIME")
CLIENTS=${CLIENTS:-containerd podman}
ONLY=${ONLY:-}
TMO=${STEP_TIMEOUT:-60}
started_at=$(date +%s)

passed=0 failed=0 skipped=0 n=0
failed_names=()

# ---------------------------------------------------------------- packages

have_containerd() { command -v containerd >/dev/null && command -v ctr >/dev/null && command -v containerd-shim-runc-v2 >/dev/null; }
have_podman() { command -v podman >/dev/null && { command -v conmon >/dev/null || [ -x /usr/libexec/podman/conmon ]; }; }
have_tools() { command -v tmux >/dev/null && command -v script >/dev/null && command -v jq >/dev/null && [ -x /bin/busybox ]; }

want_client() { case " $CLIENTS " in *" $1 "*) return 0 ;; esac; return 1; }

install_missing() {
    local pkgs=()
    have_tools || pkgs+=(tmux bsdutils jq busybox-static)
    want_client containerd && ! have_containerd && pkgs+=(containerd)
    want_client podman && ! have_podman && pkgs+=(podman conmon)
    [ ${#pkgs[@]} -eq 0 ] && return 0
    echo "test-clients: installing ${pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if command -v apt-get >/dev/null; then
        apt-get update -qq >/dev/null 2>&1 || true
        apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1 ||
            echo "test-clients: apt-get install ${pkgs[*]} failed"
    else
        echo "test-clients: no apt-get to install ${pkgs[*]}"
    fi
}
install_missing

skip_all() {
    echo "SKIP  test-clients: $1"
    echo "test-clients: $passed passed, $failed failed, $((skipped + 1)) skipped"
    exit 0
}
have_tools || skip_all "tmux, script, jq or /bin/busybox missing and could not be installed"
run_containerd=0 run_podman=0
if want_client containerd; then
    if have_containerd; then run_containerd=1; else echo "SKIP  containerd: not installed and could not be installed"; skipped=$((skipped + 1)); fi
fi
if want_client podman; then
    if have_podman; then run_podman=1; else echo "SKIP  podman: not installed and could not be installed"; skipped=$((skipped + 1)); fi
fi
[ $((run_containerd + run_podman)) -gt 0 ] || skip_all "no client to run (CLIENTS=$CLIENTS)"

# ---------------------------------------------------------------- temp dir, wrapper

T=$(mktemp -d /tmp/jinn-clients.XXXXXX)
chmod 755 "$T"
mkdir -p "$T/bin" "$T/steps"
ARGVLOG=$T/runtime-calls.log
: >"$ARGVLOG"
sed -e "s|@REAL@|$RUNTIME|" -e "s|@LOG@|$ARGVLOG|" "$clients_dir/runtime-wrapper.sh" >"$T/bin/$rt_name"
chmod 755 "$T/bin/$rt_name"
RT=$T/bin/$rt_name

echo "test-clients: runtime $RUNTIME ($("$RUNTIME" --version 2>/dev/null | head -n 1))"
echo "test-clients: work dir $T; runtime calls logged in $ARGVLOG"

# Paths outside $T that the clients hard-code: removed at the end if this run made them.
pre_run_containerd=0 pre_varlib_containers=0 pre_varlib_cache=0
[ -e /run/containerd ] && pre_run_containerd=1
# Podman's `container cleanup` process calls `RUNTIME delete --force ID` without the
# --root given by --runtime-flag, so the runtime makes its default root (/run/<name>).
pre_run_rt=0
[ -e "/run/$rt_name" ] && pre_run_rt=1
[ -e /var/lib/containers ] && pre_varlib_containers=1
[ -e /var/lib/containers/cache ] && pre_varlib_cache=1
CG_NS=jinn-clients-$$          # ctr namespace; ctr puts tasks in cgroup /<namespace>/<id>
CG_PODMAN=/jinn-clients-podman-$$

# ---------------------------------------------------------------- step machinery

# x CMD...: runs a client command (stdin /dev/null, timeout), output in $OUT, code in $RC.
x() {
    echo "\$ $*"
    timeout -k 5 "$TMO" "$@" >"$T/last.out" 2>&1 </dev/null
    RC=$?
    OUT=$(cat "$T/last.out")
    [ -n "$OUT" ] && printf '%s\n' "$OUT" | sed 's/^/  | /'
    echo "  -> exit $RC"
    [ "$RC" -eq 124 ] && echo "  (timed out after ${TMO}s)"
    return 0
}
# xin INPUT CMD...: the same with INPUT on stdin.
xin() {
    local input=$1
    shift
    echo "\$ $* <<< $input"
    timeout -k 5 "$TMO" "$@" >"$T/last.out" 2>&1 <<<"$input"
    RC=$?
    OUT=$(cat "$T/last.out")
    [ -n "$OUT" ] && printf '%s\n' "$OUT" | sed 's/^/  | /'
    echo "  -> exit $RC"
    return 0
}
fail() { why=$1; return 1; }
want_rc() { [ "$RC" -eq "$1" ] || fail "exit code $RC, want $1"; }
want_rc_not0() { [ "$RC" -ne 0 ] || fail "exit code 0, want non-zero"; }
want_out() { grep -Eq -- "$1" <<<"$OUT" || fail "output does not match /$1/"; }
want_no_out() { ! grep -Eq -- "$1" <<<"$OUT" || fail "output matches /$1/"; }
# retry N CMD...: runs the step function CMD until it succeeds, N times 0.2 s apart.
retry() {
    local i=$1
    shift
    while :; do
        "$@" && return 0
        i=$((i - 1))
        [ "$i" -gt 0 ] || return 1
        sleep 0.2
    done
}

# step NAME FUNC [ARGS...]: runs FUNC, prints PASS or FAIL with the evidence.
step() {
    local name=$1
    shift
    if [ -n "$ONLY" ] && ! grep -Eq -- "$ONLY" <<<"$name"; then
        return 0
    fi
    n=$((n + 1))
    local log
    log=$T/steps/$(printf %02d "$n")-$(tr -c 'a-zA-Z0-9\n' _ <<<"$name" | head -c 60).log
    local mark
    mark=$(wc -l <"$ARGVLOG")
    why=""
    if "$@" >"$log" 2>&1; then
        echo "PASS  $name"
        passed=$((passed + 1))
    else
        echo "FAIL  $name: ${why:-failed}"
        failed=$((failed + 1))
        failed_names+=("$name")
        echo "      --- client commands (last 30 lines of $log)"
        tail -n 30 "$log" | sed 's/^/      /'
        echo "      --- runtime calls during the step (last 20)"
        tail -n +"$((mark + 1))" "$ARGVLOG" | tail -n 20 | sed 's/^/      /'
    fi
}
skip() {
    n=$((n + 1))
    echo "SKIP  $1: $2"
    skipped=$((skipped + 1))
}

# A shell snippet run inside a container: prints the first readable cgroup file among
# its arguments (v1 path, then v2 path).
CGREAD='cg() { for f in "$@"; do [ -r /sys/fs/cgroup/$f ] && { cat /sys/fs/cgroup/$f; return; }; done; echo "no $*"; }'

# A loop that exits 42 on SIGTERM: pid 1 ignores signals it has no handler for.
LOOP='trap "exit 42" TERM; while :; do sleep 0.2; done'

# ---------------------------------------------------------------- cleanup

cleanup() {
    set +e
    echo "test-clients: cleaning up"
    if [ "$run_podman" = 1 ] && [ -n "${PODMAN_READY:-}" ]; then
        timeout 60 "${PM[@]}" rm -af -t 0 >/dev/null 2>&1
        timeout 30 "${PM[@]}" system prune -f >/dev/null 2>&1
    fi
    if [ "$run_containerd" = 1 ] && [ -n "${CTR_PID:-}" ]; then
        for id in $(timeout 10 "${CTR[@]}" task ls -q 2>/dev/null); do
            timeout 10 "${CTR[@]}" task kill -s KILL "$id" >/dev/null 2>&1
            sleep 0.2
            timeout 10 "${CTR[@]}" task delete -f "$id" >/dev/null 2>&1
        done
        for id in $(timeout 10 "${CTR[@]}" containers ls -q 2>/dev/null); do
            timeout 10 "${CTR[@]}" containers rm "$id" >/dev/null 2>&1
        done
        kill "$CTR_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$CTR_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$CTR_PID" 2>/dev/null
    fi
    # Shims, conmons or container processes of this run still alive: by pid.
    local p
    for p in $(pgrep -f -- "$T" 2>/dev/null); do
        [ "$p" = $$ ] || kill -9 "$p" 2>/dev/null
    done
    # Mounts left under $T (the shim's rootfs, podman's shm), deepest first.
    findmnt -rn -o TARGET | grep -F "$T/" | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
    # Cgroups made for this run.
    local d
    for d in $(find /sys/fs/cgroup -depth -type d \( -name "$CG_NS" -o -name "$(basename "$CG_PODMAN")" \) 2>/dev/null); do
        # Processes still in them (a container whose client failed to remove it).
        find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u | while read -r p; do
            kill -9 "$p" 2>/dev/null
        done
        [ -f "$d/freezer.state" ] && echo THAWED >"$d/freezer.state" 2>/dev/null
    done
    sleep 0.2
    for d in $(find /sys/fs/cgroup -depth -type d \( -name "$CG_NS" -o -name "$(basename "$CG_PODMAN")" \) 2>/dev/null); do
        find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    if [ "$pre_run_containerd" = 0 ]; then
        rmdir /run/containerd/fifo /run/containerd/s /run/containerd 2>/dev/null
    fi
    [ "$pre_run_rt" = 0 ] && rmdir "/run/$rt_name" 2>/dev/null
    [ "$pre_varlib_cache" = 0 ] && rm -rf /var/lib/containers/cache
    [ "$pre_varlib_containers" = 0 ] && rmdir /var/lib/containers 2>/dev/null
    tmux -S "$T/tmux.sock" kill-server 2>/dev/null
    if [ "$failed" -eq 0 ] && [ "${KEEP:-0}" != 1 ]; then
        rm -rf "$T"
    else
        echo "test-clients: logs kept in $T"
    fi
    echo "test-clients: wall time $(($(date +%s) - started_at)) s"
    echo "test-clients: $passed passed, $failed failed, $skipped skipped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- the image

echo "test-clients: making the busybox image"
"$clients_dir/make-oci-image.sh" "$T/image" docker.io/library/jinn-busybox:latest >/dev/null ||
    { echo "test-clients: make-oci-image.sh failed" >&2; failed=$((failed + 1)); exit 1; }

# ================================================================ containerd

if [ "$run_containerd" = 1 ]; then
    . "$clients_dir/containerd-steps.sh"
fi

# ================================================================ podman

if [ "$run_podman" = 1 ]; then
    . "$clients_dir/podman-steps.sh"
fi

[ "$failed" -eq 0 ] || {
    echo "test-clients: failed: ${failed_names[*]}"
    exit 1
}
exit 0
