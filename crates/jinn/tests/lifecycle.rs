//! Lifecycle of a container through the runc CLI: `run`, `create`/`start`/`state`/
//! `kill`/`delete`, the state JSON and its status transitions
//! (creating → created → running → stopped), exit codes, pid files, `list`.
//!
//! Run against runc: `JINN_RUNTIME=/usr/sbin/runc cargo test -p jinn --test lifecycle`.

mod common;

use std::fs;
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(10);

/// Waits until `path` exists on the host (a marker written by the container).
#[track_caller]
fn wait_file(path: &Path) {
    let deadline = Instant::now() + WAIT;
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} did not appear",
            path.display()
        );
        sleep(Duration::from_millis(5));
    }
}

/// A bundle with a writable rootfs whose process loops until the host creates `<rootfs>/tmp/go`.
fn waiting_bundle() -> Bundle {
    let mut b = Bundle::new();
    b.set_readonly_root(false)
        .sh("touch /tmp/ready; while [ ! -e /tmp/go ]; do sleep 0.02; done; exit 7");
    b
}

fn sleeper_bundle() -> Bundle {
    let mut b = Bundle::new();
    b.set_args(&["sleep", "1000"]);
    b
}

#[test]
fn run_exits_zero_and_cleans_up() {
    let host = HostSnapshot::take();
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_args(&["true"]);
    let id = rt.new_id();
    let out = rt.run(&b, &id);
    assert_exit(&out, 0, "run true");
    assert!(
        rt.state(&id).is_none(),
        "run must delete the container after it exits"
    );
    assert_no_leftovers(&rt, &id, &b);
    host.assert_unchanged();
}

#[test]
fn run_returns_the_exit_code_of_the_process() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.sh("exit 42");
    let id = rt.new_id();
    assert_exit(&rt.run(&b, &id), 42, "run sh -c 'exit 42'");
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn run_passes_the_process_stdout_and_stderr_through() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.sh("echo to-stdout; echo to-stderr >&2");
    let id = rt.new_id();
    let out = rt.run(&b, &id);
    assert_success(&out, "run");
    assert_eq!(stdout(&out), "to-stdout\n");
    assert!(
        stderr(&out).contains("to-stderr"),
        "stderr: {}",
        stderr(&out)
    );
}

#[test]
fn run_exit_code_is_128_plus_signal_when_the_process_kills_itself() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    // Without a pid namespace: pid 1 of a namespace cannot SIGKILL itself.
    b.remove_namespace("pid").sh("kill -9 $$");
    let id = rt.new_id();
    assert_exit(&rt.run(&b, &id), 137, "run sh -c 'kill -9 $$'");
    assert_no_leftovers(&rt, &id, &b);

    b.sh("kill -USR1 $$");
    let id = rt.new_id();
    assert_exit(&rt.run(&b, &id), 128 + 10, "run sh -c 'kill -USR1 $$'");
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn run_exit_code_is_137_when_killed_from_outside() {
    let rt = Runtime::new();
    let b = sleeper_bundle();
    b.save();
    let id = rt.new_id();
    let running = rt.spawn(&["run", "--bundle", b.path_str(), &id]);
    rt.wait_status(&id, "running", WAIT);
    assert_success(&rt.kill(&id, "KILL"), "kill KILL");
    let out = running.wait(WAIT);
    assert_exit(&out, 137, "foreground run killed with SIGKILL");
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn state_json_and_status_transitions() {
    let host = HostSnapshot::take();
    let rt = Runtime::new();
    let mut b = waiting_bundle();
    b.set("/annotations", json!({ "org.jinn.test": "yes" }));
    let id = rt.new_id();
    assert_success(&rt.create(&b, &id), "create");

    let st = rt.state(&id).expect("state after create");
    assert_eq!(st["status"], "created");
    assert_eq!(st["id"], id.as_str());
    assert!(
        st["ociVersion"].as_str().is_some_and(|v| !v.is_empty()),
        "ociVersion: {st}"
    );
    assert_eq!(
        st["bundle"],
        b.path_str(),
        "bundle is the absolute bundle path"
    );
    assert_eq!(st["annotations"]["org.jinn.test"], "yes");
    // runc's extra fields, which tools parse too.
    assert_eq!(st["rootfs"], b.rootfs().to_str().unwrap());
    let created = st["created"].as_str().unwrap_or_default();
    assert!(
        created.len() >= 20 && created.as_bytes()[4] == b'-' && created.as_bytes()[10] == b'T',
        "created is RFC 3339: {created:?}"
    );
    assert!(st.get("owner").is_some(), "owner field: {st}");
    let pid = st["pid"].as_u64().expect("pid while created");
    assert!(pid > 1);
    assert!(
        Path::new(&format!("/proc/{pid}")).exists(),
        "pid {pid} of a created container is alive"
    );
    // The user process has not started yet.
    assert!(
        !b.rootfs().join("tmp/ready").exists(),
        "process ran before start"
    );

    assert_success(&rt.start(&id), "start");
    wait_file(&b.rootfs().join("tmp/ready"));
    let st = rt.state(&id).expect("state after start");
    assert_eq!(st["status"], "running");
    assert_eq!(st["pid"].as_u64(), Some(pid), "start keeps the pid");

    fs::write(b.rootfs().join("tmp/go"), "").unwrap();
    rt.wait_status(&id, "stopped", WAIT);
    assert_eq!(rt.state(&id).unwrap()["id"], id.as_str());

    assert_success(&rt.delete(&id), "delete a stopped container");
    assert!(rt.state(&id).is_none(), "state after delete must fail");
    assert_no_leftovers(&rt, &id, &b);
    host.assert_unchanged();
}

#[test]
fn creating_is_the_status_given_to_create_runtime_hooks() {
    let rt = Runtime::new();
    let mut b = sleeper_bundle();
    // The hook runs on the host with the state JSON on its stdin.
    let hook_out = b.path().join("hook-state.json");
    b.push(
        "/hooks/createRuntime",
        json!({ "path": "/bin/sh", "args": ["sh", "-c", format!("cat > {}", hook_out.display())] }),
    );
    let id = rt.new_id();
    assert_success(&rt.create(&b, &id), "create");
    let hook_state: Value =
        serde_json::from_str(&fs::read_to_string(&hook_out).expect("createRuntime hook ran"))
            .expect("hook stdin is the state JSON");
    assert_eq!(hook_state["status"], "creating");
    assert_eq!(hook_state["id"], id.as_str());
    assert_eq!(hook_state["bundle"], b.path_str());
    assert!(
        hook_state["pid"].as_u64().is_some_and(|p| p > 0),
        "{hook_state}"
    );
    assert_eq!(rt.status(&id).as_deref(), Some("created"));
    assert_success(&rt.delete_force(&id), "delete --force");
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn create_writes_the_pid_file() {
    let rt = Runtime::new();
    let b = sleeper_bundle();
    b.save();
    let id = rt.new_id();
    rt.track(&id);
    let pid_file = b.path().join("container.pid");
    let out = rt.cmd(&[
        "create",
        "--bundle",
        b.path_str(),
        "--pid-file",
        pid_file.to_str().unwrap(),
        &id,
    ]);
    assert_success(&out, "create --pid-file");
    let written = fs::read_to_string(&pid_file).expect("pid file written");
    let st = rt.state(&id).unwrap();
    assert_eq!(
        written.trim().parse::<u64>().ok(),
        st["pid"].as_u64(),
        "pid file {written:?}"
    );
    assert_success(&rt.delete_force(&id), "delete --force");
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn run_detached_returns_while_the_container_runs() {
    let host = HostSnapshot::take();
    let rt = Runtime::new();
    let b = sleeper_bundle();
    b.save();
    let id = rt.new_id();
    let pid_file = b.path().join("run.pid");
    let started = Instant::now();
    let out = rt.cmd(&[
        "run",
        "-d",
        "--pid-file",
        pid_file.to_str().unwrap(),
        "--bundle",
        b.path_str(),
        &id,
    ]);
    assert_success(&out, "run -d");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "run -d must not wait for the process"
    );
    let st = rt.state(&id).unwrap();
    assert_eq!(st["status"], "running");
    let written = fs::read_to_string(&pid_file).expect("pid file written by run -d");
    assert_eq!(written.trim().parse::<u64>().ok(), st["pid"].as_u64());

    assert_success(&rt.kill(&id, "KILL"), "kill KILL");
    rt.wait_status(&id, "stopped", WAIT);
    assert_success(&rt.delete(&id), "delete");
    assert_no_leftovers(&rt, &id, &b);
    host.assert_unchanged();
}

#[test]
fn list_shows_containers_in_all_formats() {
    let rt = Runtime::new();
    // An empty root lists nothing.
    let out = rt.cmd(&["list", "-q"]);
    assert_success(&out, "list -q on an empty root");
    assert_eq!(stdout(&out).trim(), "");
    let out = rt.cmd(&["list", "--format", "json"]);
    assert_success(&out, "list --format json on an empty root");
    let v: Value = serde_json::from_slice(&out.stdout).expect("list --format json is JSON");
    assert!(v.is_null() || v == json!([]), "empty list: {v}");

    let b = sleeper_bundle();
    let a = rt.new_id();
    let c = rt.new_id();
    assert_success(&rt.create(&b, &a), "create a");
    assert_success(&rt.create(&b, &c), "create c");
    assert_success(&rt.start(&c), "start c");

    let out = rt.cmd(&["list", "-q"]);
    assert_success(&out, "list -q");
    let mut ids: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    ids.sort();
    assert_eq!(ids, vec![a.clone(), c.clone()]);

    let out = rt.cmd(&["list"]);
    assert_success(&out, "list");
    let table = stdout(&out);
    let mut lines = table.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    let row = |id: &str| {
        rows.iter()
            .find(|r| r[0] == id)
            .unwrap_or_else(|| panic!("{id} in {table}"))
    };
    assert_eq!(row(&a)[2], "created");
    assert_eq!(row(&c)[2], "running");
    assert_eq!(row(&a)[3], b.path_str());

    let out = rt.cmd(&["list", "--format", "json"]);
    assert_success(&out, "list --format json");
    let v: Value = serde_json::from_slice(&out.stdout).expect("list --format json is JSON");
    let arr = v.as_array().expect("a JSON array");
    assert_eq!(arr.len(), 2);
    for e in arr {
        for k in [
            "ociVersion",
            "id",
            "pid",
            "status",
            "bundle",
            "rootfs",
            "created",
            "owner",
        ] {
            assert!(e.get(k).is_some(), "list entry lacks {k}: {e}");
        }
        let want = if e["id"] == a.as_str() {
            "created"
        } else {
            "running"
        };
        assert_eq!(e["status"], want);
    }

    for id in [&a, &c] {
        assert_success(&rt.delete_force(id), "delete --force");
        assert_no_leftovers(&rt, id, &b);
    }
}

#[test]
fn kill_accepts_signal_names_and_numbers() {
    let rt = Runtime::new();
    let b = sleeper_bundle();
    b.save();
    for sig in ["KILL", "SIGKILL", "9"] {
        let id = rt.new_id();
        assert_success(
            &rt.cmd(&["run", "-d", "--bundle", b.path_str(), &id]),
            "run -d",
        );
        assert_success(&rt.kill(&id, sig), &format!("kill {sig}"));
        rt.wait_status(&id, "stopped", WAIT);
        assert_success(&rt.delete(&id), "delete");
        assert_no_leftovers(&rt, &id, &b);
    }
}

#[test]
fn kill_without_a_signal_sends_sigterm() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_readonly_root(false)
        .sh("trap 'exit 3' TERM; touch /tmp/ready; while :; do sleep 0.02; done");
    b.save();
    let id = rt.new_id();
    let running = rt.spawn(&["run", "--bundle", b.path_str(), &id]);
    wait_file(&b.rootfs().join("tmp/ready"));
    assert_success(&rt.cmd(&["kill", &id]), "kill (default signal)");
    // The TERM trap ran: SIGKILL would give 137.
    assert_exit(
        &running.wait(WAIT),
        3,
        "run after kill with the default signal",
    );
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn kill_all_signals_every_process_of_the_container() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_readonly_root(false)
        .sh("sleep 1000 & sleep 1000 & touch /tmp/ready; wait");
    let id = rt.new_id();
    assert_success(&rt.create(&b, &id), "create");
    assert_success(&rt.start(&id), "start");
    wait_file(&b.rootfs().join("tmp/ready"));
    assert_success(&rt.cmd(&["kill", "--all", &id, "KILL"]), "kill --all KILL");
    rt.wait_status(&id, "stopped", WAIT);
    // Every process is gone, not only pid 1.
    let deadline = Instant::now() + WAIT;
    while !processes_inside(b.path_str()).is_empty() {
        assert!(Instant::now() < deadline, "processes survived kill --all");
        sleep(Duration::from_millis(10));
    }
    assert_success(&rt.delete(&id), "delete");
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn create_then_start_runs_the_process_once() {
    let rt = Runtime::new();
    let b = waiting_bundle();
    let id = rt.new_id();
    assert_success(&rt.create(&b, &id), "create");
    assert_success(&rt.start(&id), "start");
    fs::write(b.rootfs().join("tmp/go"), "").unwrap();
    rt.wait_status(&id, "stopped", WAIT);
    assert_success(&rt.delete(&id), "delete");
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn spec_writes_a_runnable_default_config() {
    let rt = Runtime::new();
    let mut b = Bundle::from_runtime_spec(&rt);
    // Before our edit (terminal=false), `spec` writes the runc defaults.
    let raw: Value = serde_json::from_str(&fs::read_to_string(b.config_path()).unwrap()).unwrap();
    assert_eq!(raw["process"]["terminal"], true);
    assert_eq!(raw["process"]["args"], json!(["sh"]));
    assert_eq!(raw["root"]["path"], "rootfs");
    b.sh("echo spec-ok");
    let id = rt.new_id();
    let out = rt.run(&b, &id);
    assert_success(&out, "run a bundle made by spec");
    assert_eq!(stdout(&out), "spec-ok\n");
    assert_no_leftovers(&rt, &id, &b);

    // `spec` refuses to overwrite an existing config.json.
    let again = rt.cmd(&["spec", "--bundle", b.path_str()]);
    assert_failure(&again, "spec over an existing config.json");
}

#[test]
fn foreground_run_forwards_signals_to_the_container() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    // pid 1 gets only the signals it has a handler for: trap TERM and exit 7 on it.
    b.set_readonly_root(false)
        .sh("trap 'exit 7' TERM; touch /tmp/ready; while true; do sleep 0.05; done");
    b.save();
    let ready = b.rootfs().join("tmp/ready");
    let id = rt.new_id();
    let running = rt.spawn(&["run", "--bundle", b.path_str(), &id]);
    wait_file(&ready);
    // SIGTERM to the runtime process itself, which must pass it on.
    let status = std::process::Command::new("kill")
        .args(["-TERM", &running.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = running.wait(WAIT);
    assert_exit(
        &out,
        7,
        "run whose container exits 7 on the forwarded SIGTERM",
    );
    assert_no_leftovers(&rt, &id, &b);
}
