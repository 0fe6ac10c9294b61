//! File descriptors: stdio passes through, `--preserve-fds N` passes fds 3..3+N,
//! socket activation (`LISTEN_FDS`/`LISTEN_PID`) as runc does it, and nothing else of the
//! runtime's reaches the container (checked against an allow-list of /proc/self/fd).
//!
//! Run against runc: `JINN_RUNTIME=/usr/sbin/runc cargo test -p jinn --test fds`.

mod common;

use std::process::Command;

use common::*;

/// Run the runtime under `sh -c` so that fds 3 and 4 can be opened for it first; `env`
/// is put in the runtime's environment (for LISTEN_PID, `$$` becomes the runtime's pid,
/// as the shell execs it).
fn run_with_fds(
    rt: &Runtime,
    b: &Bundle,
    id: &str,
    flags: &str,
    env: &str,
) -> std::process::Output {
    rt.track(id);
    let cmd = format!(
        "exec 3<{cfg} 4<{cfg}; {env} exec {rt} --root {root} run {flags} --bundle {b} {id}",
        cfg = b.config_path().display(),
        rt = rt.path().display(),
        root = rt.root().display(),
        b = b.path_str(),
    );
    Command::new("sh").args(["-c", &cmd]).output().unwrap()
}

#[test]
fn preserve_fds_passes_exactly_the_next_n() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    // ls opens its own directory fd: 0, 1, 2, the preserved ones, then ls's.
    b.sh("ls /proc/self/fd | tr '\\n' ' '; head -c 1 <&3");
    b.save();
    let id = rt.new_id();
    let out = run_with_fds(&rt, &b, &id, "--preserve-fds 1", "");
    assert_success(&out, "run --preserve-fds 1");
    // fd 3 kept (and reads config.json, whose first byte is `{`); the runtime's fd 4
    // closed (the 4 listed is ls's own directory fd).
    assert_eq!(stdout(&out), "0 1 2 3 4 {");
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn without_preserve_fds_only_stdio_reaches_the_container() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.sh("ls /proc/self/fd | tr '\\n' ' '");
    b.save();
    let id = rt.new_id();
    let out = run_with_fds(&rt, &b, &id, "", "");
    assert_success(&out, "run");
    // 0, 1, 2 and ls's own directory fd: the runtime's fds 3 and 4 are gone.
    assert_eq!(stdout(&out), "0 1 2 3 ");
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn socket_activation_passes_listen_fds_first() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.sh("echo LISTEN_FDS=$LISTEN_FDS LISTEN_PID=$LISTEN_PID; ls /proc/self/fd | tr '\\n' ' '");
    b.save();
    let id = rt.new_id();
    let out = run_with_fds(&rt, &b, &id, "", "LISTEN_FDS=2 LISTEN_PID=$$");
    assert_success(&out, "run with LISTEN_FDS=2");
    let text = stdout(&out);
    assert!(text.starts_with("LISTEN_FDS=2 LISTEN_PID=1\n"), "{text}");
    assert!(
        text.contains("0 1 2 3 4 5 "),
        "fds 3 and 4 passed on: {text}"
    );
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn listen_fds_for_another_pid_are_ignored() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.sh("echo LISTEN_FDS=$LISTEN_FDS; ls /proc/self/fd | tr '\\n' ' '");
    b.save();
    let id = rt.new_id();
    let out = run_with_fds(&rt, &b, &id, "", "LISTEN_FDS=2 LISTEN_PID=1");
    assert_success(&out, "run with LISTEN_FDS for another process");
    assert_eq!(stdout(&out), "LISTEN_FDS=\n0 1 2 3 ");
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn preserve_fds_beyond_the_callers_fds_is_refused() {
    let rt = Runtime::new();
    if !rt.is_jinn() {
        return; // runc passes on whatever holds those numbers, its own fds included
    }
    let mut b = Bundle::new();
    b.sh("ls /proc/self/fd");
    b.save();
    let id = rt.new_id();
    // The caller opened 3 and 4 only: 5 and 6 would be jinn's own fds.
    let out = run_with_fds(&rt, &b, &id, "--preserve-fds 4", "");
    assert_exit(&out, 1, "run --preserve-fds 4 with two fds open");
    assert!(
        stderr(&out).contains("fd 5 is not open"),
        "{}",
        stderr(&out)
    );
    assert_no_leftovers(&rt, &id, &b);
}
