# Podman steps of scripts/test-clients.sh (sourced by it: uses its step machinery, $T,
# $RT, $rt_name, $CG_PODMAN). Podman with conmon, --runtime $RT, its own
# containers.conf and storage.conf, everything under $T/podman.

PD=$T/podman
mkdir -p "$PD"
# The containers.conf lines of docs/podman.md: Podman turns on what it does for runc
# and crun (JSON error logs from the runtime) by the runtime's *name*.
cat >"$PD/containers.conf" <<EOF
[containers]
netns = "none"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PD/events.log"
tmp_dir = "$PD/tmp"
volume_path = "$PD/volumes"
runtime = "$rt_name"
runtime_supports_json = ["crun", "runc", "kata", "runsc", "youki", "krun", "jinn"]

[engine.runtimes]
$rt_name = ["$RT"]
EOF
cat >"$PD/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$PD/root"
runroot = "$PD/runroot"
EOF
cat >"$PD/registries.conf" <<EOF
unqualified-search-registries = []
EOF
export CONTAINERS_CONF=$PD/containers.conf
export CONTAINERS_STORAGE_CONF=$PD/storage.conf
export CONTAINERS_REGISTRIES_CONF=$PD/registries.conf
# --runtime-flag root=…: the runtime's state goes under $PD, not /run/<runtime>.
PM=(podman --runtime "$RT" --runtime-flag "root=$PD/runtime-root" --network-config-dir "$PD/net"
    --cgroup-manager cgroupfs --events-backend file --tmpdir "$PD/tmp")
PIMG=localhost/jinn-busybox:latest
# No CAP_SYS_RESOURCE here: podman's default nofile of 1048576 cannot be set.
RUNARGS=(--network=none --cgroup-parent="$CG_PODMAN"
    --ulimit nofile=20000:20000 --ulimit nproc=32768:32768)

pm_setup() {
    x "${PM[@]}" import --change CMD=sh "$T/image/rootfs.tar" "$PIMG"
    want_rc 0 || return 1
    PODMAN_READY=1
    x "${PM[@]}" images --format '{{.Repository}}:{{.Tag}}'
    want_out "^$PIMG\$"
}

pm_status_is() { # pm_status_is NAME STATUS [EXITCODE]
    x "${PM[@]}" inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$1"
    want_out "^$2${3:+ $3}( |\$)"
}

pm_run_rm() {
    x "${PM[@]}" run --rm "${RUNARGS[@]}" "$PIMG" sh -c 'echo hello; echo to-stderr >&2; ulimit -n; exit 3'
    want_rc 3 && want_out '^hello$' && want_out '^to-stderr$' && want_out '^20000$' || return 1
    x "${PM[@]}" ps -a -q
    [ -z "$OUT" ] || fail "a container is left after run --rm"
}

pm_run_d() {
    x "${PM[@]}" run -d --name p-d "${RUNARGS[@]}" "$PIMG" sh -c "$LOOP"
    want_rc 0 || return 1
    pm_status_is p-d running
}

pm_exec() {
    x "${PM[@]}" exec p-d sh -c 'echo exec-ok; cat /proc/1/cmdline | tr "\0" " "; echo; exit 5'
    want_rc 5 && want_out '^exec-ok$' && want_out 'trap "exit 42" TERM'
}

pm_exec_t() {
    x "${PM[@]}" exec -t p-d sh -c 'tty; [ -t 1 ] && echo stdout-is-tty; exit 4'
    want_rc 4 && want_out '^/dev/pts/[0-9]+' && want_out 'stdout-is-tty'
}

pm_exec_user() {
    x "${PM[@]}" exec --user 1000:1000 -e FOO=bar -w /tmp p-d sh -c 'echo $(id -u):$(id -g) $FOO $(pwd)'
    want_rc 0 && want_out '^1000:1000 bar /tmp$'
}

pm_run_it() {
    # A real terminal: tmux runs `podman run -it`, keys are typed into it.
    local tm=(tmux -S "$T/tmux.sock")
    rm -f "$PD/it.rc"
    echo "\$ tmux: $(printf '%q ' "${PM[@]}") run -it --rm ... sh"
    "${tm[@]}" new-session -d -x 100 -y 30 -s it \
        "$(printf '%q ' "${PM[@]}" run -it --rm --name p-it "${RUNARGS[@]}" "$PIMG" sh); echo \$? > $PD/it.rc; sleep 30"
    local i
    for i in $(seq 50); do
        "${tm[@]}" capture-pane -p -t it | grep -q '^/ #' && break
        sleep 0.2
    done
    "${tm[@]}" send-keys -t it 'echo pty-$((6*7)); tty; stty size' Enter
    for i in $(seq 25); do
        "${tm[@]}" capture-pane -p -t it | grep -q '^30 100' && break
        sleep 0.2
    done
    "${tm[@]}" send-keys -t it 'exit 7' Enter
    for i in $(seq 50); do
        [ -s "$PD/it.rc" ] && break
        sleep 0.2
    done
    OUT=$("${tm[@]}" capture-pane -p -t it)
    printf '%s\n' "$OUT" | sed 's/^/  | /'
    "${tm[@]}" kill-session -t it
    RC=$(cat "$PD/it.rc" 2>/dev/null || echo none)
    echo "  -> exit $RC"
    want_out '^pty-42' && want_out '^/dev/pts/[0-9]+' && want_out '^30 100' || return 1
    [ "$RC" = 7 ] || fail "podman run -it exit code $RC, want 7"
}

pm_pause() {
    x "${PM[@]}" pause p-d
    want_rc 0 || return 1
    pm_status_is p-d paused
}

pm_unpause() {
    x "${PM[@]}" unpause p-d
    want_rc 0 || return 1
    pm_status_is p-d running || return 1
    x "${PM[@]}" exec p-d echo after-unpause
    want_rc 0 && want_out '^after-unpause$'
}

pm_stats() {
    x "${PM[@]}" stats --no-stream --format '{{.Name}} mem={{.MemUsage}} pids={{.PIDs}}' p-d
    want_rc 0 && want_out '^p-d mem=[0-9.]+[kMG]?B / [0-9.]+[kMG]?B pids=[1-9]'
}

pm_top() {
    x "${PM[@]}" top p-d
    want_rc 0 && want_out '^USER +PID' && want_out '^root +1 +0 .*trap'
}

pm_update() {
    x "${PM[@]}" update --memory 100m p-d
    want_rc 0 || return 1
    x "${PM[@]}" exec p-d sh -c "$CGREAD; cg memory/memory.limit_in_bytes memory.max"
    want_rc 0 && want_out '^104857600$'
}

pm_stop() {
    x "${PM[@]}" stop -t 10 p-d
    want_rc 0 || return 1
    pm_status_is p-d exited 42 || return 1
    x "${PM[@]}" rm p-d
    want_rc 0
}

pm_kill() {
    x "${PM[@]}" run -d --name p-kill "${RUNARGS[@]}" "$PIMG" sleep 1000
    want_rc 0 || return 1
    x "${PM[@]}" kill p-kill
    want_rc 0 || return 1
    x "${PM[@]}" wait p-kill
    want_rc 0 && want_out '^137$' || return 1
    pm_status_is p-kill exited 137
}

pm_rm_f() {
    x "${PM[@]}" run -d --name p-rm "${RUNARGS[@]}" "$PIMG" sleep 1000
    want_rc 0 || return 1
    x "${PM[@]}" rm -f -t 0 p-rm p-kill
    want_rc 0 || return 1
    x "${PM[@]}" ps -a -q
    [ -z "$OUT" ] || fail "containers left after rm -f"
}

pm_limits() {
    x "${PM[@]}" run --rm "${RUNARGS[@]}" --memory 64m --pids-limit 50 --cpus 0.5 "$PIMG" sh -c "$CGREAD
        echo mem=\$(cg memory/memory.limit_in_bytes memory.max)
        echo pids=\$(cg pids/pids.max pids.max)
        echo cpu=\$(cg cpu/cpu.cfs_quota_us cpu.max)"
    want_rc 0 && want_out '^mem=67108864$' && want_out '^pids=50$' && want_out '^cpu=50000( 100000)?$'
}

pm_read_only() {
    x "${PM[@]}" run --rm "${RUNARGS[@]}" --read-only "$PIMG" sh -c 'touch /new-file && echo wrote-root; touch /tmp/f && echo wrote-tmp; exit 0'
    want_rc 0 && want_out 'Read-only file system' && want_no_out '^wrote-root$' && want_out '^wrote-tmp$'
}

pm_user() {
    x "${PM[@]}" run --rm "${RUNARGS[@]}" --user 1000:1000 "$PIMG" sh -c 'echo $(id -u):$(id -g); grep CapEff /proc/self/status; touch /root/x 2>&1; exit 0'
    want_rc 0 && want_out '^1000:1000$' && want_out 'CapEff:\s+0+$' && want_out 'Permission denied'
}

pm_cap_drop() {
    x "${PM[@]}" run --rm "${RUNARGS[@]}" --cap-drop CHOWN "$PIMG" sh -c 'grep CapEff /proc/self/status; touch /tmp/f; chown 1000 /tmp/f && echo chowned; exit 0'
    want_rc 0 && want_out 'Operation not permitted' && want_no_out '^chowned$' || return 1
    # CAP_CHOWN is bit 0: the effective set must be even.
    local capeff
    capeff=$(awk '/CapEff/ { print $2 }' <<<"$OUT")
    [ $((0x$capeff & 1)) -eq 0 ] || fail "CapEff $capeff still has CAP_CHOWN"
}

pm_seccomp() {
    cat >"$PD/seccomp.json" <<'EOF'
{
  "defaultAction": "SCMP_ACT_ALLOW",
  "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  "syscalls": [
    { "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1 }
  ]
}
EOF
    x "${PM[@]}" run --rm "${RUNARGS[@]}" --security-opt "seccomp=$PD/seccomp.json" "$PIMG" sh -c 'grep "^Seccomp:" /proc/self/status; mkdir /tmp/d && echo made-dir; touch /tmp/f && echo touched; exit 0'
    want_rc 0 && want_out '^Seccomp:\s+2$' && want_out 'Operation not permitted' && want_no_out '^made-dir$' && want_out '^touched$'
}

step "podman: import the busybox rootfs as an image" pm_setup
step "podman run --rm: stdout/stderr, ulimit, exit code 3, nothing left" pm_run_rm
step "podman run -d: container is running" pm_run_d
step "podman exec: output and exit code 5" pm_exec
step "podman exec -t: a pty, exit code 4" pm_exec_t
step "podman exec --user -e -w" pm_exec_user
step "podman run -it through a pty (tmux): typed input, window size, exit 7" pm_run_it
step "podman pause: paused" pm_pause
step "podman unpause: running again, exec works" pm_unpause
step "podman stats --no-stream: memory and pids" pm_stats
step "podman top: the container's processes" pm_top
step "podman update --memory: new limit in the cgroup" pm_update
step "podman stop: SIGTERM, exit code 42" pm_stop
step "podman kill: SIGKILL, exit code 137" pm_kill
step "podman rm -f: running container removed" pm_rm_f
step "podman run --memory --pids-limit --cpus: cgroup limits" pm_limits
step "podman run --read-only: / read-only, /tmp writable" pm_read_only
step "podman run --user 1000:1000: ids, no capabilities" pm_user
step "podman run --cap-drop CHOWN: chown refused" pm_cap_drop
step "podman run --security-opt seccomp=profile: mkdir refused" pm_seccomp
