//! `exec`: a new process in a running container sees the container's namespaces and
//! cgroup, gets the flags' settings, and passes its exit code back.
//!
//! Run against runc: `JINN_RUNTIME=/usr/sbin/runc cargo test -p jinn --test exec`.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);

/// A running container (sleeping) and its id.
fn running(rt: &Runtime) -> (Bundle, String) {
    let mut b = Bundle::new();
    b.set_readonly_root(false).set_args(&["sleep", "1000"]);
    b.save();
    let id = rt.new_id();
    assert_success(&rt.create(&b, &id), "create");
    assert_success(&rt.start(&id), "start");
    (b, id)
}

fn exec(rt: &Runtime, id: &str, extra: &[&str], cmd: &[&str]) -> std::process::Output {
    let mut args = vec!["exec"];
    args.extend_from_slice(extra);
    args.push(id);
    args.extend_from_slice(cmd);
    rt.cmd(&args)
}

#[test]
fn exec_sees_the_namespaces_and_cgroup_of_the_init() {
    let rt = Runtime::new();
    let (b, id) = running(&rt);
    let script = "for n in pid mnt net uts ipc cgroup; do \
                  [ \"$(readlink /proc/self/ns/$n)\" = \"$(readlink /proc/1/ns/$n)\" ] || echo differ $n; done; \
                  [ \"$(cat /proc/self/cgroup)\" = \"$(cat /proc/1/cgroup)\" ] || echo differ cgroup-path; \
                  echo done";
    let out = exec(&rt, &id, &[], &["sh", "-c", script]);
    assert_success(&out, "exec");
    assert_eq!(stdout(&out), "done\n");
    assert_success(&rt.delete_force(&id), "delete --force");
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn exec_passes_the_exit_code_back() {
    let rt = Runtime::new();
    let (_b, id) = running(&rt);
    assert_exit(
        &exec(&rt, &id, &[], &["sh", "-c", "exit 42"]),
        42,
        "exec exit 42",
    );
    assert_exit(
        &exec(&rt, &id, &[], &["sh", "-c", "kill -TERM $$"]),
        128 + 15,
        "exec killed by SIGTERM",
    );
    assert_success(&rt.delete_force(&id), "delete --force");
}

#[test]
fn exec_flags_user_env_cwd() {
    let rt = Runtime::new();
    let (b, id) = running(&rt);
    std::fs::create_dir_all(b.rootfs().join("work")).unwrap();
    let out = exec(
        &rt,
        &id,
        &[
            "-u",
            "1000:1001",
            "-g",
            "5",
            "-e",
            "FOO=bar",
            "--cwd",
            "/work",
        ],
        &["sh", "-c", "id -u; id -g; id -G; echo $FOO; pwd"],
    );
    assert_success(&out, "exec with flags");
    assert_eq!(stdout(&out), "1000\n1001\n1001 5\nbar\n/work\n");
    assert_success(&rt.delete_force(&id), "delete --force");
}

#[test]
fn exec_with_a_process_file() {
    let rt = Runtime::new();
    let (b, id) = running(&rt);
    let process = json!({
        "terminal": false,
        "user": {"uid": 0, "gid": 0},
        "args": ["sh", "-c", "echo $GREETING from $(pwd)"],
        "env": ["PATH=/bin", "GREETING=hi"],
        "cwd": "/bin"
    });
    let file = b.path().join("process.json");
    std::fs::write(&file, process.to_string()).unwrap();
    let out = exec(&rt, &id, &["--process", file.to_str().unwrap()], &[]);
    assert_success(&out, "exec --process");
    assert_eq!(stdout(&out), "hi from /bin\n");
    assert_success(&rt.delete_force(&id), "delete --force");
}

#[test]
fn exec_leaks_no_fd_of_the_runtime() {
    let rt = Runtime::new();
    let (_b, id) = running(&rt);
    // ls opens the directory itself: fds 0, 1, 2 and ls's own 3.
    let out = exec(&rt, &id, &[], &["ls", "/proc/self/fd"]);
    assert_success(&out, "exec ls /proc/self/fd");
    assert_eq!(
        stdout(&out).split_whitespace().collect::<Vec<_>>(),
        ["0", "1", "2", "3"]
    );
    assert_success(&rt.delete_force(&id), "delete --force");
}

#[test]
fn exec_detached_writes_the_pid_file() {
    let rt = Runtime::new();
    let (b, id) = running(&rt);
    let pid_file = b.path().join("exec.pid");
    let out = exec(
        &rt,
        &id,
        &["-d", "--pid-file", pid_file.to_str().unwrap()],
        &["sleep", "100"],
    );
    assert_success(&out, "exec -d");
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let init_pid = rt.state(&id).unwrap()["pid"].as_i64().unwrap();
    let ns = |p: i64| std::fs::read_link(format!("/proc/{p}/ns/pid")).unwrap();
    assert_eq!(
        ns(pid as i64),
        ns(init_pid),
        "the exec process is in the container's pid namespace"
    );
    assert_success(&rt.delete_force(&id), "delete --force");
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap()
                .contains(") Z"),
        "delete --force killed the exec process too"
    );
}

#[test]
fn exec_into_a_stopped_container_fails() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_args(&["true"]);
    b.save();
    let id = rt.new_id();
    assert_success(&rt.create(&b, &id), "create");
    assert_success(&rt.start(&id), "start");
    rt.wait_status(&id, "stopped", WAIT);
    let out = exec(&rt, &id, &[], &["true"]);
    // runc's exec fails with 255 (its setup errors), and jinn matches it.
    assert_exit(&out, 255, "exec into a stopped container");
    if rt.is_jinn() {
        assert_one_error_line(&out, &["stopped"]);
    }
    assert_success(&rt.delete(&id), "delete");
}

#[test]
fn exec_bad_input_changes_nothing() {
    let rt = Runtime::new();
    let (b, id) = running(&rt);
    let cases: [(&[&str], &[&str], &str); 3] = [
        (&[], &["no-such-program"], "no-such-program"),
        (&["-u", "nobody"], &["true"], "--user"),
        (
            &["--process", "/no/such/process.json"],
            &[],
            "/no/such/process.json",
        ),
    ];
    for (flags, cmd, needle) in cases {
        let out = exec(&rt, &id, flags, cmd);
        assert_failure(&out, &format!("exec {flags:?} {cmd:?}"));
        if rt.is_jinn() {
            assert_one_error_line(&out, &[needle]);
        }
        assert_eq!(rt.status(&id).as_deref(), Some("running"));
    }
    let bad = b.path().join("bad.json");
    std::fs::write(&bad, "{\"args\": \"not a list\"}").unwrap();
    let out = exec(&rt, &id, &["--process", bad.to_str().unwrap()], &[]);
    assert_failure(&out, "exec --process with bad JSON");
    if rt.is_jinn() {
        assert_one_error_line(&out, &["args"]);
    }
    let out = rt.cmd(&["exec", "no-such-container", "true"]);
    assert_failure(&out, "exec into a container that does not exist");
    assert_success(&rt.delete_force(&id), "delete --force");
    assert_no_leftovers(&rt, &id, &b);
}
