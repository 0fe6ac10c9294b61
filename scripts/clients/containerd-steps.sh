# containerd steps of scripts/test-clients.sh (sourced by it: uses its step machinery,
# $T, $RT, $CG_NS). A private containerd (own config, root, state, sockets under
# $T/containerd) driven through ctr with --runc-binary $RT.

C=$T/containerd
mkdir -p "$C"
cat >"$C/config.toml" <<EOF
version = 2
root = "$C/root"
state = "$C/state"
# No CRI plugin: no CNI, no Kubernetes settings needed for ctr.
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$C/containerd.sock"
[ttrpc]
  address = "$C/containerd.sock.ttrpc"
[debug]
  address = "$C/debug.sock"
EOF
CTR=(ctr -a "$C/containerd.sock" -n "$CG_NS")
IMG=docker.io/library/jinn-busybox:latest
# The shim runs the runtime with --root $C/runc-root/<namespace>.
RUNC_ROOT=$C/runc-root
RUNOPTS=(--runc-binary "$RT" --runc-root "$RUNC_ROOT" --fifo-dir "$C/fifo")
EXECOPTS=(--fifo-dir "$C/fifo")

ctr_setup() {
    echo "\$ containerd --config $C/config.toml &"
    containerd --config "$C/config.toml" >"$C/containerd.log" 2>&1 &
    CTR_PID=$!
    local i
    for i in $(seq 100); do
        "${CTR[@]}" version >/dev/null 2>&1 && break
        kill -0 "$CTR_PID" 2>/dev/null || { tail -n 20 "$C/containerd.log"; fail "containerd exited"; return 1; }
        sleep 0.1
    done
    x "${CTR[@]}" version
    want_rc 0 || return 1
    x "${CTR[@]}" images import "$T/image/image.oci.tar"
    want_rc 0 || return 1
    x "${CTR[@]}" images ls -q
    want_out "^$IMG\$"
}

ctr_run_rm() {
    x "${CTR[@]}" run --rm "${RUNOPTS[@]}" "$IMG" c-run sh -c 'echo hello from ctr; echo to-stderr >&2; exit 3'
    want_rc 3 && want_out '^hello from ctr$' && want_out '^to-stderr$'
}

ctr_run_stdin() {
    xin "line-from-stdin" "${CTR[@]}" run --rm "${RUNOPTS[@]}" "$IMG" c-stdin sh -c 'read l; echo "got $l"'
    want_rc 0 && want_out '^got line-from-stdin$'
}

ctr_run_d() {
    x "${CTR[@]}" run -d "${RUNOPTS[@]}" "$IMG" c-d sh -c "$LOOP"
    want_rc 0 || return 1
    x "${CTR[@]}" task ls
    want_out '^c-d +[0-9]+ +RUNNING'
}

ctr_exec() {
    x "${CTR[@]}" task exec "${EXECOPTS[@]}" --exec-id e1 c-d sh -c 'echo exec-ok $$; cat /proc/1/cmdline | tr "\0" " "; echo; exit 5'
    want_rc 5 && want_out '^exec-ok [0-9]+$' && want_out 'trap "exit 42" TERM'
}

ctr_exec_t() {
    # ctr wants a terminal on its own stdin: script(1) gives it one.
    x script -qefc "$(printf '%q ' "${CTR[@]}" task exec "${EXECOPTS[@]}" -t --exec-id e2 c-d sh -c 'tty; [ -t 0 ] && [ -t 1 ] && echo stdio-is-tty; exit 4')" /dev/null
    want_rc 4 && want_out '^/dev/pts/[0-9]+' && want_out 'stdio-is-tty'
}

ctr_ps() {
    local pid
    pid=$("${CTR[@]}" task ls | awk '$1 == "c-d" { print $2 }')
    x "${CTR[@]}" task ps c-d
    want_rc 0 && want_out "^$pid( |$)" && want_out '^PID'
}

ctr_state_is() { # ctr_state_is STATUS: `ctr task ls` and the runtime's own state agree
    x "${CTR[@]}" task ls
    want_out "^c-d +[0-9]+ +$1" || return 1
    x "$RUNTIME" --root "$RUNC_ROOT/$CG_NS" state c-d
    want_out "\"status\": *\"$(tr A-Z a-z <<<"$1")\""
}

ctr_pause() {
    x "${CTR[@]}" task pause c-d
    want_rc 0 || return 1
    ctr_state_is PAUSED
}

ctr_resume() {
    x "${CTR[@]}" task resume c-d
    want_rc 0 || return 1
    ctr_state_is RUNNING || return 1
    x "${CTR[@]}" task exec "${EXECOPTS[@]}" --exec-id e3 c-d echo after-resume
    want_rc 0 && want_out '^after-resume$'
}

ctr_metrics() {
    # The shim reads the container's cgroup itself (it finds it from the init's pid).
    x "${CTR[@]}" task metrics c-d
    want_rc 0 && want_out '^c-d ' && want_out 'pids\.current +[1-9]' && want_out 'memory\.usage'
}

rt_events_stats() {
    # What `ctr task metrics` reports, straight from the runtime on the shim's state.
    x "$RUNTIME" --root "$RUNC_ROOT/$CG_NS" events --stats c-d
    want_rc 0 || return 1
    jq -e '.type == "stats" and .id == "c-d" and .data.pids.current >= 1 and .data.memory.usage.usage > 0' <<<"$OUT" >/dev/null ||
        fail "not a stats event with pids.current >= 1 and memory.usage.usage > 0"
}

ctr_kill() {
    x "${CTR[@]}" task kill c-d
    want_rc 0 || return 1
    retry 25 ctr_task_stopped c-d
}

ctr_delete() {
    x "${CTR[@]}" task delete c-d
    # ctr prints the exit status of the task it deleted (the SIGTERM trap exits 42).
    want_rc 0 && want_out 'exit code 42' || return 1
    x "${CTR[@]}" task ls -q
    want_no_out '^c-d$' || return 1
    x "$RUNTIME" --root "$RUNC_ROOT/$CG_NS" list -q
    want_no_out '^c-d$' || return 1
    x "${CTR[@]}" containers rm c-d
    want_rc 0
}

# host_cgroup_file PID V1_CONTROLLER V1_FILE V2_FILE: prints a file of PID's cgroup,
# read on the host (ctr's default spec mounts no cgroupfs in the container).
host_cgroup_file() {
    local pid=$1 ctl=$2 f1=$3 f2=$4 path
    if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        path=$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup")
        cat "/sys/fs/cgroup$path/$f2"
    else
        path=$(awk -F: -v c="$ctl" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' "/proc/$pid/cgroup")
        cat "/sys/fs/cgroup/$ctl$path/$f1"
    fi
}

ctr_memory_limit() {
    x "${CTR[@]}" run -d "${RUNOPTS[@]}" --memory-limit 33554432 "$IMG" c-mem sleep 1000
    want_rc 0 || return 1
    local pid
    pid=$("${CTR[@]}" task ls | awk '$1 == "c-mem" { print $2 }')
    echo "\$ cat <cgroup of pid $pid>/memory limit"
    OUT=$(host_cgroup_file "$pid" memory memory.limit_in_bytes memory.max 2>&1)
    echo "  | $OUT"
    want_out '^33554432$' || return 1
    # 16 MiB fits; touching 64 MiB gets the process OOM-killed (no swap on the host:
    # with swap it would be swapped out instead, so only check when there is none).
    x "${CTR[@]}" task exec "${EXECOPTS[@]}" --exec-id dd16 c-mem dd if=/dev/zero of=/dev/null bs=16M count=1
    want_rc 0 || return 1
    if [ "$(awk '/SwapTotal/ { print $2 }' /proc/meminfo)" = 0 ]; then
        x "${CTR[@]}" task exec "${EXECOPTS[@]}" --exec-id dd64 c-mem dd if=/dev/zero of=/dev/null bs=64M count=1
        want_rc 137 || return 1
    fi
    x "${CTR[@]}" task kill -s KILL c-mem
    want_rc 0 || return 1
    retry 25 ctr_task_stopped c-mem || return 1
    x "${CTR[@]}" task delete c-mem
    x "${CTR[@]}" containers rm c-mem
    want_rc 0
}
ctr_task_stopped() {
    x "${CTR[@]}" task ls
    want_out "^$1 +[0-9]+ +STOPPED"
}

ctr_read_only() {
    x "${CTR[@]}" run --rm "${RUNOPTS[@]}" --read-only "$IMG" c-ro \
        sh -c 'grep " / " /proc/mounts; touch /new-file; echo touch=$?; [ -e /new-file ] || echo absent; exit 0'
    # (Checked on stdout: the one time this step failed, ctr had lost touch's stderr line.)
    want_rc 0 && want_out ' / [a-z]+ ro[ ,]' && want_out '^touch=1$' && want_out '^absent$'
}

step "containerd: start a private daemon, import the busybox OCI archive" ctr_setup
step "ctr run --rm: foreground stdout/stderr and exit code 3" ctr_run_rm
step "ctr run --rm: stdin reaches the container" ctr_run_stdin
step "ctr run -d: detached task is RUNNING" ctr_run_d
step "ctr task exec: output and exit code 5" ctr_exec
step "ctr task exec -t: a pty on stdio, exit code 4" ctr_exec_t
step "ctr task ps: lists the init's pid" ctr_ps
step "ctr task pause: PAUSED (ctr and runtime state)" ctr_pause
step "ctr task resume: RUNNING again, exec works" ctr_resume
step "ctr task metrics: cgroup stats" ctr_metrics
step "runtime events --stats on the shim's container" rt_events_stats
step "ctr task kill: SIGTERM stops the task" ctr_kill
step "ctr task delete: exit code 42 reported, task gone" ctr_delete
step "ctr run --memory-limit: cgroup limit, OOM kill above it" ctr_memory_limit
step "ctr run --read-only: rootfs is read-only" ctr_read_only
