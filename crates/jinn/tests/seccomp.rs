//! seccomp in real containers: errno rules, exec processes under the same filter, a
//! profile denying what a runtime needs late, NOTIFY with an agent, Podman's default
//! profile, and bad profiles refused at create with nothing left behind.
//!
//! Run against runc: `JINN_RUNTIME=/usr/sbin/runc cargo test -p jinn --test seccomp`.

mod common;

use std::os::unix::net::UnixListener;

use common::*;
use serde_json::{json, Value};

fn bundle_with(seccomp: Value, script: &str) -> Bundle {
    let mut b = Bundle::new();
    b.set("/linux/seccomp", seccomp)
        .set_readonly_root(false)
        .sh(script);
    b.save();
    b
}

fn errno_rule(names: &[&str], errno: u32) -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": names, "action": "SCMP_ACT_ERRNO", "errnoRet": errno}]
    })
}

#[test]
fn mkdir_denied_with_eperm_and_with_another_errno() {
    let rt = Runtime::new();
    for (errno, text) in [
        (1, "Operation not permitted"),
        (18, "Invalid cross-device link"),
    ] {
        let b = bundle_with(
            errno_rule(&["mkdir", "mkdirat"], errno),
            "mkdir /tmp/x 2>&1; grep Seccomp: /proc/self/status",
        );
        let id = rt.new_id();
        let out = rt.run(&b, &id);
        assert_success(&out, "run under a seccomp profile");
        let s = stdout(&out);
        assert!(s.contains(text), "errno {errno}: {s}");
        assert!(s.contains("Seccomp:\t2"), "{s}");
        assert_no_leftovers(&rt, &id, &b);
    }
}

#[test]
fn exec_processes_get_the_same_filter() {
    let rt = Runtime::new();
    let b = bundle_with(errno_rule(&["mkdir", "mkdirat"], 18), "sleep 100");
    let id = rt.new_id();
    assert_success(&rt.create(&b, &id), "create");
    assert_success(&rt.start(&id), "start");
    let out = rt.cmd(&["exec", &id, "sh", "-c", "mkdir /tmp/y 2>&1; true"]);
    assert_success(&out, "exec");
    assert!(
        stdout(&out).contains("Invalid cross-device link"),
        "{}",
        stdout(&out)
    );
    assert_success(&rt.delete_force(&id), "delete --force");
}

#[test]
fn a_profile_denying_what_the_runtime_needs_late_still_starts() {
    let rt = Runtime::new();
    let b = bundle_with(errno_rule(&["getcwd", "close_range"], 1), "echo started");
    let id = rt.new_id();
    let out = rt.run(&b, &id);
    assert_success(&out, "run with getcwd and close_range denied");
    assert_eq!(stdout(&out), "started\n");
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn notify_reaches_the_agent_and_the_container_sees_its_answer() {
    let rt = Runtime::new();
    if rt.is_runc() {
        // runc installs the filter before its own last steps, so its init's calls reach
        // the agent too and this one-answer agent leaves it waiting; jinn installs the
        // filter right before execve (see the ordering rule).
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("agent.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let seccomp = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "listenerPath": sock,
        "listenerMetadata": "jinn-test",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
    });
    let b = bundle_with(seccomp, "mkdir /tmp/n 2>&1; echo done");
    // The agent: takes the state and the fd, answers the one notification with EXDEV.
    let agent = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let (state, fds) = jinn_seccomp::agent::receive_state(&conn).unwrap();
        let fd = fds.into_iter().next().expect("the listener fd");
        let n = jinn_seccomp::agent::receive(&fd).unwrap();
        jinn_seccomp::agent::respond(&fd, n.id, 0, libc_exdev()).unwrap();
        state
    });
    let id = rt.new_id();
    let out = rt.run(&b, &id);
    assert_success(&out, "run with a NOTIFY rule");
    assert!(
        stdout(&out).contains("Invalid cross-device link"),
        "{}",
        stdout(&out)
    );
    let state = agent.join().unwrap();
    assert_eq!(state.metadata.as_deref(), Some("jinn-test"));
    assert_eq!(state.fds, ["seccompFd"]);
    assert_eq!(state.state["id"], id.as_str());
    assert_no_leftovers(&rt, &id, &b);
}

fn libc_exdev() -> i32 {
    18
}

#[test]
fn podmans_default_profile_runs_a_busybox_workload() {
    let path = "/usr/share/containers/seccomp.json";
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!("skipped: {path} is missing (containers-common)");
        return;
    };
    let raw: Value = serde_json::from_str(&text).unwrap();
    // The moby format's arch- and capability-conditional entries, resolved for x86_64
    // and the default capabilities of the bundle (as podman does before calling the
    // runtime).
    let caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
    let x86 = |v: &Value| {
        v.as_array().is_none_or(|a| {
            a.iter()
                .any(|x| matches!(x.as_str(), Some("amd64" | "x86_64" | "x32" | "x86" | "386")))
        })
    };
    let all_held = |v: &Value| {
        v.as_array()
            .map(|a| a.iter().all(|c| caps.contains(&c.as_str().unwrap_or(""))))
    };
    let mut syscalls = Vec::new();
    for s in raw["syscalls"].as_array().unwrap() {
        let (inc, exc) = (&s["includes"], &s["excludes"]);
        if !x86(&inc["arches"]) || all_held(&inc["caps"]) == Some(false) {
            continue;
        }
        if all_held(&exc["caps"]) == Some(true) {
            continue;
        }
        let mut e = json!({"names": s["names"], "action": s["action"]});
        for k in ["args", "errnoRet"] {
            if let Some(v) = s.get(k).filter(|v| !v.is_null()) {
                e[k] = v.clone();
            }
        }
        syscalls.push(e);
    }
    let mut profile = json!({
        "defaultAction": raw["defaultAction"],
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": syscalls,
    });
    if let Some(r) = raw.get("defaultErrnoRet") {
        profile["defaultErrnoRet"] = r.clone();
    }
    let rt = Runtime::new();
    let b = bundle_with(
        profile,
        "set -e; echo hello; ls / >/dev/null; mkdir /tmp/w; echo data > /tmp/w/f; cat /tmp/w/f; \
         rm -r /tmp/w; sleep 0.01; grep Seccomp: /proc/self/status",
    );
    let id = rt.new_id();
    let out = rt.run(&b, &id);
    assert_success(&out, "busybox under podman's default profile");
    assert_eq!(stdout(&out), "hello\ndata\nSeccomp:\t2\n");
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn bad_profiles_fail_at_create_and_leave_nothing() {
    let rt = Runtime::new();
    let cases = [
        (
            "unknown action",
            json!({"defaultAction": "SCMP_ACT_FOO"}),
            "defaultAction",
        ),
        (
            "bad operator",
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["personality"],
                "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_FOO"}]}]}),
            "op",
        ),
        (
            "bad arch",
            json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_NOPE"]}),
            "architectures",
        ),
    ];
    for (what, seccomp, field) in cases {
        let b = bundle_with(seccomp, "true");
        let id = rt.new_id();
        let out = rt.create(&b, &id);
        assert_failure(&out, what);
        if rt.is_jinn() {
            assert_one_error_line(&out, &["linux.seccomp", field]);
        }
        assert_no_leftovers(&rt, &id, &b);
    }
}
