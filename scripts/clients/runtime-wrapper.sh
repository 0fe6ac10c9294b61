#!/usr/bin/env bash
# Stand-in for the OCI runtime that the clients call: logs the command line, runs the
# real runtime, logs its exit code (and, on failure, the tail of its stderr for the
# commands whose stderr is not the container's, and of the runtime's --log file), and
# exits with that code. test-clients.sh copies it to BIN/<runtime's name>
# (Podman decides things by the runtime's name) with the two placeholders filled in.
#
# It waits for the runtime instead of exec'ing it so that the exit code can be logged;
# the clients only call the runtime in detached forms (create, start, exec -d, kill,
# delete, state, pause, resume, ps, update, events --stats), where the extra parent
# changes nothing: stdio, the console socket and --preserve-fds fds are inherited, and
# the container's init is re-parented to the shim's or conmon's subreaper as before.
real=@REAL@
log=@LOG@
start=${EPOCHREALTIME/./}
# One write per line: concurrent calls must not interleave.
line=$(printf '%q ' "$(basename "$real")" "$@")
printf '%s [%s] %s\n' "$(date +%T.%3N)" "$$" "$line" >>"$log"
# The subcommand: the first word that is neither a global flag nor its value.
sub=
skip=0
for a in "$@"; do
    if [ "$skip" = 1 ]; then skip=0; continue; fi
    case $a in
    --root | --log | --log-format | --criu | --rootless) skip=1 ;;
    -*) ;;
    *) sub=$a; break ;;
    esac
done
case $sub in
start | delete | kill | state | pause | resume | update | ps | list)
    # Commands whose stderr reaches no container: keep it for the log too.
    errf=$(mktemp)
    "$real" "$@" 2>"$errf"
    rc=$?
    if [ -s "$errf" ]; then
        cat "$errf" >&2
    fi
    ;;
*)
    "$real" "$@"
    rc=$?
    ;;
esac
end=${EPOCHREALTIME/./}
printf '%s [%s]   -> exit %s (%d ms)\n' "$(date +%T.%3N)" "$$" "$rc" $(((end - start) / 1000)) >>"$log"
if [ "$rc" -ne 0 ]; then
    if [ -n "${errf:-}" ] && [ -s "$errf" ]; then
        printf '%s\n' "$(tail -n 5 "$errf" | sed 's/^/    stderr: /')" >>"$log"
    fi
    # The runtime's own log (containerd's shim and conmon pass --log FILE).
    runtime_log=
    prev=
    for a in "$@"; do
        case $a in
        --log=*) runtime_log=${a#--log=} ;;
        esac
        [ "$prev" = --log ] && runtime_log=$a
        prev=$a
    done
    if [ -n "$runtime_log" ] && [ -f "$runtime_log" ]; then
        tail_lines=$(tail -n 5 "$runtime_log" | sed "s/^/    $(basename "$real") log: /")
        printf '%s\n' "$tail_lines" >>"$log"
    fi
fi
[ -n "${errf:-}" ] && rm -f "$errf"
exit "$rc"
